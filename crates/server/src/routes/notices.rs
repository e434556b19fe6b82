//! The notice ledger over HTTP: send a service message of a declared kind to an audience, list
//! what was sent, and answer both ways who received a notice (and who was skipped and why) and
//! what one person received. Also the customers' service-message contacts the operator keeps.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ombud_app::notices::{LIST_MAX, Sending};
use ombud_store::model::{Role, SubjectId, TenantId};
use ombud_store::notices::{Audience, Delivery, DeliveryStatus, Notice, NoticeId};
use serde::{Deserialize, Serialize};

const SENDERS: &[Role] = &[Role::Admin, Role::Dpo];
const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

/// Who a notice goes to: exactly one of the four.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    /// The service-message contacts of these customer tenants (operator only).
    pub tenants: Option<Vec<String>>,
    /// `true`: the contacts of every customer tenant (operator only).
    pub customers: Option<bool>,
    /// Everyone holding data of this category (or one beneath it).
    pub category: Option<String>,
    /// These subjects, at most 10,000.
    pub subjects: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    /// A notice kind of the policy (`[[notice_kind]]`).
    pub kind: String,
    /// The subject line: one line, 1 to 200 characters.
    pub subject: String,
    /// The message, 1 to 50,000 characters. Opt-out kinds get a line saying how to stop them.
    pub body: String,
    pub audience: AudienceBody,
}

/// One person's line, with the address shown masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub subject: SubjectId,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    /// The address used, masked (`a…@example.com`).
    pub address: Option<String>,
    pub queued_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl From<Delivery> for DeliveryView {
    fn from(line: Delivery) -> Self {
        DeliveryView {
            subject: line.subject,
            status: line.status,
            reason: line.reason,
            address: line.to.map(|to| to.masked()),
            queued_at: line.queued_at,
            sent_at: line.sent_at,
            attempts: line.attempts,
            last_error: line.last_error,
        }
    }
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub erased: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeDetail {
    #[serde(flatten)]
    pub notice: Notice,
    pub body: String,
    pub counts: Counts,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeList {
    /// Newest first.
    pub notices: Vec<Notice>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub notice: Notice,
    pub delivery: DeliveryView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceivedList {
    /// Oldest first.
    pub notices: Vec<Received>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// A subject of the operator's tenant, with an email address.
    pub subject: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactList {
    pub contacts: Vec<SubjectId>,
}

/// The audience named in a body: exactly one way of naming it.
pub fn audience(body: AudienceBody) -> Result<Audience, ApiError> {
    let named = [
        body.tenants.is_some(),
        body.customers.is_some(),
        body.category.is_some(),
        body.subjects.is_some(),
    ]
    .iter()
    .filter(|n| **n)
    .count();
    if named != 1 {
        return Err(ApiError::invalid(
            "audience",
            "name the audience one way: {\"tenants\": [ids]}, {\"customers\": true}, {\"category\": key} or {\"subjects\": [ids]}",
        ));
    }
    Ok(match body {
        AudienceBody {
            tenants: Some(t), ..
        } => Audience::Tenants(super::parse_ids::<TenantId>("audience.tenants", &t)?),
        AudienceBody {
            customers: Some(true),
            ..
        } => Audience::Customers,
        AudienceBody {
            customers: Some(false),
            ..
        } => {
            return Err(ApiError::invalid(
                "audience.customers",
                "`customers` is `true` or left out",
            ));
        }
        AudienceBody {
            category: Some(c), ..
        } => Audience::Category(c.trim().to_owned()),
        AudienceBody {
            subjects: Some(s), ..
        } => {
            if s.len() > LIST_MAX {
                return Err(ApiError::invalid(
                    "audience.subjects",
                    format!(
                        "a list holds at most {LIST_MAX} subjects; name a larger audience by category"
                    ),
                ));
            }
            Audience::Subjects(super::parse_ids::<SubjectId>("audience.subjects", &s)?)
        }
        AudienceBody { .. } => unreachable!("one way of naming the audience was counted"),
    })
}

fn notice_id(text: &str) -> Result<NoticeId, ApiError> {
    text.parse()
        .map(NoticeId)
        .map_err(|_| ApiError::NotFound("no notice with that id".into()))
}

#[utoipa::path(post, path = "/api/v1/notices", summary = "Send a service notice", description = "Sends a message of one of the policy's notice kinds to an audience (customers' contacts, people holding a category, named people). Mandatory kinds reach everyone; opt-out kinds skip who unsubscribed or objected, and carry a one-click unsubscribe link. The ledger records who was sent it and who was skipped, and why.", tag = "notices", security(("api_key" = [])), request_body = NoticeBody,
    responses((status = 201, description = "Queued for everyone the kind reaches; the rest skipped with the reason", body = Notice),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (unknown kind, audience, empty text); `field` names it; nothing is sent", body = Problem, content_type = "application/problem+json")))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NoticeBody>,
) -> Result<(StatusCode, Json<Notice>), ApiError> {
    caller.require_decider(SENDERS, state.operator, "send a notice")?;
    let sending = Sending {
        kind: body.kind.trim().to_owned(),
        subject: body.subject,
        body: body.body,
        audience: audience(body.audience)?,
    };
    let (operator, tenant, actor, now) = (
        state.operator,
        caller.tenant,
        caller.actor(),
        state.clock.now(),
    );
    let notice = state
        .call(move |store, policy| {
            ombud_app::notices::send(store, policy, operator, tenant, sending, &actor, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(notice)))
}

#[utoipa::path(get, path = "/api/v1/notices", summary = "The notice ledger", description = "The notices sent, with their kind and how many were queued and skipped.", tag = "notices", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's notices, newest first, with how many were queued and skipped", body = NoticeList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<NoticeList>, ApiError> {
    caller.require(READERS, "read the notice ledger")?;
    let tenant = caller.tenant;
    let notices = state.store(move |store| store.notices(tenant)).await?;
    Ok(Json(NoticeList { notices }))
}

#[utoipa::path(get, path = "/api/v1/notices/{id}", summary = "One notice", description = "A notice with its text and a line per person: queued, sent, skipped (and why) or failed; addresses masked.", tag = "notices", security(("api_key" = [])),
    params(("id" = String, Path, description = "The notice's id")),
    responses((status = 200, description = "The notice, its text, and every person of its audience: sent, queued, failed or skipped and why", body = NoticeDetail),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notice in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NoticeDetail>, ApiError> {
    caller.require(READERS, "read the notice ledger")?;
    let (id, tenant) = (notice_id(&id)?, caller.tenant);
    let (found, lines) = state
        .store(move |store| {
            Ok((
                store.notice(tenant, id)?,
                store.notice_deliveries(tenant, id)?,
            ))
        })
        .await?;
    let (notice, body) =
        found.ok_or_else(|| ApiError::NotFound("no notice with that id".into()))?;
    let mut counts = Counts::default();
    for line in &lines {
        *match line.status {
            DeliveryStatus::Queued => &mut counts.queued,
            DeliveryStatus::Sent => &mut counts.sent,
            DeliveryStatus::Failed => &mut counts.failed,
            DeliveryStatus::Skipped => &mut counts.skipped,
            DeliveryStatus::Erased => &mut counts.erased,
        } += 1;
    }
    Ok(Json(NoticeDetail {
        notice,
        body,
        counts,
        deliveries: lines.into_iter().map(DeliveryView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/notices", summary = "What a person received", description = "Every notice that reached the person or skipped them, and why.", tag = "notices", security(("api_key" = [])),
    params(("id" = String, Path, description = "The subject's id")),
    responses((status = 200, description = "Every notice the person was in the audience of, and what became of their copy", body = ReceivedList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subject in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn received(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReceivedList>, ApiError> {
    caller.require(READERS, "read the notice ledger")?;
    let subject: SubjectId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no subject with that id".into()))?;
    let tenant = caller.tenant;
    let lines = state
        .store(move |store| store.subject_notices(tenant, subject))
        .await?;
    Ok(Json(ReceivedList {
        notices: lines
            .into_iter()
            .map(|(notice, line)| Received {
                notice,
                delivery: line.into(),
            })
            .collect(),
    }))
}

/// A customer tenant the operator keeps contacts for; refuses every other caller and tenant.
async fn customer(
    state: &AppState,
    caller: &Caller,
    id: &str,
    doing: &str,
) -> Result<TenantId, ApiError> {
    caller.require_operator_tenant(
        SENDERS,
        state.operator,
        "customers' service-message contacts",
        doing,
    )?;
    let customer: TenantId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no tenant with that id".into()))?;
    match state.store(move |store| store.tenant(customer)).await? {
        Some(t) if !t.operator => Ok(customer),
        Some(_) => Err(ApiError::invalid(
            "tenant",
            "the operator's own tenant has no customer contacts",
        )),
        None => Err(ApiError::NotFound("no tenant with that id".into())),
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/contacts", summary = "A customer's contacts", description = "The people of the operator's tenant a customer names to receive service messages on its behalf.", tag = "notices", security(("api_key" = [])),
    params(("id" = String, Path, description = "The customer tenant's id")),
    responses((status = 200, description = "The subjects (of the operator's tenant) who receive the customer's service messages", body = ContactList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator admin or DPO key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ContactList>, ApiError> {
    let customer = customer(&state, &caller, &id, "read customers' contacts").await?;
    let operator = state.operator;
    let contacts = state
        .store(move |store| store.tenant_contacts(operator, customer))
        .await?;
    Ok(Json(ContactList { contacts }))
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/contacts", summary = "Add a customer's contact", description = "Adds a person of the operator's tenant as a customer's service-message contact.", tag = "notices", security(("api_key" = [])),
    params(("id" = String, Path, description = "The customer tenant's id")), request_body = ContactBody,
    responses((status = 200, description = "The contacts after adding", body = ContactList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator admin or DPO key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such subject in the operator's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<Json<ContactList>, ApiError> {
    let customer = customer(&state, &caller, &id, "add a customer's contact").await?;
    let subject: SubjectId = body.subject.trim().parse().map_err(|_| {
        ApiError::invalid(
            "subject",
            "the subject is an id (a UUID) of the operator's tenant",
        )
    })?;
    let (operator, actor, now) = (state.operator, caller.actor(), state.clock.now());
    let contacts = state
        .store(move |store| {
            match store.set_tenant_contact(operator, customer, subject, true, &actor, now) {
                Err(ombud_store::StoreError::NotFound("subject")) => return Ok(None),
                other => other?,
            };
            store.tenant_contacts(operator, customer).map(Some)
        })
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "subject",
                "no subject with that id in the operator's tenant",
            )
        })?;
    Ok(Json(ContactList { contacts }))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{id}/contacts/{subject}", summary = "Remove a customer's contact", description = "Removes a service-message contact of a customer.", tag = "notices", security(("api_key" = [])),
    params(("id" = String, Path, description = "The customer tenant's id"), ("subject" = String, Path, description = "The contact's subject id")),
    responses((status = 204, description = "No longer a contact; the ledger keeps what was sent"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator admin or DPO key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or contact", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, subject)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let customer = customer(&state, &caller, &id, "remove a customer's contact").await?;
    let subject: SubjectId = subject
        .parse()
        .map_err(|_| ApiError::NotFound("no such contact".into()))?;
    let (operator, actor, now) = (state.operator, caller.actor(), state.clock.now());
    let removed = state
        .store(move |store| {
            store.set_tenant_contact(operator, customer, subject, false, &actor, now)
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such contact".into()))
    }
}
