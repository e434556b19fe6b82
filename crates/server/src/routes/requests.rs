//! Data-subject requests over HTTP: file, list, show, verify, extend, start, fulfil, refuse,
//! and the record of mails sent. The rules live in the rights desk; this module authenticates
//! and routes by role.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ombud_app::rights::{Filing, Outcome};
use ombud_core::requests::{RequestKind, RequestStatus};
use ombud_store::model::{RecordId, Role, Secret, SubjectId, TenantId};
use ombud_store::requests::{DsRequest, MailId, RequestFilter, RequestId};
use serde::{Deserialize, Serialize};

const FILERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Agent, Role::Service];
const HANDLERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Agent];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    /// access, rectification, erasure, restriction, objection, portability, consent_withdrawal
    #[schema(value_type = RequestKind)]
    pub kind: String,
    /// The person's email address: the code and the answer go there.
    pub email: Option<String>,
    /// The subject, when known.
    pub subject: Option<SubjectId>,
    /// The activity a consent withdrawal (required) or an objection is about.
    pub purpose: Option<String>,
    /// For rectification: the category or record to correct and the correct value.
    pub category: Option<String>,
    pub record: Option<RecordId>,
    pub new_value: Option<String>,
    /// Set by the operator's own application (a service key) for a signed-in person: the
    /// request is verified at once.
    #[serde(default)]
    pub verified: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The one-time code the person received.
    pub code: Option<String>,
    /// `manual`: an agent confirmed identity by hand (where privacy.toml allows it).
    pub method: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
    /// For an extension: how much longer, at most privacy.toml's `rights.extension`.
    pub by: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// received, verified, in_progress, fulfilled, refused
    pub status: Option<String>,
    /// Only open requests.
    #[serde(default)]
    pub open: bool,
    /// Only open requests past their deadline.
    #[serde(default)]
    pub overdue: bool,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// A request as the API shows it: no code, no new value.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub id: RequestId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub subject: Option<SubjectId>,
    pub email: Option<String>,
    pub purpose: Option<String>,
    pub category: Option<String>,
    pub channel: String,
    pub received_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub verified_by: Option<String>,
    /// The deadline in force (the extended one after an extension); none while a clock that
    /// starts at verification waits.
    pub due_at: Option<Timestamp>,
    pub first_due_at: Option<Timestamp>,
    /// The last moment the law allows (Art. 12(3) GDPR: a month from receipt, three once
    /// extended), moved past weekends and the public holidays of the controller's country
    /// (Reg. 1182/71 Art. 3(4)). `due_at` is the policy's own target and may come earlier.
    pub legal_due_at: Timestamp,
    pub extended_at: Option<Timestamp>,
    pub extension_reason: Option<String>,
    /// The colleague who works the request, when someone took it.
    pub assignee: Option<String>,
    pub overdue: bool,
    /// An objection verified and not yet decided: the purposes it reaches are stopped while
    /// the controller weighs whether compelling legitimate grounds override it (Art. 21(1)).
    pub objection_pending: bool,
    pub locked: bool,
    pub closed_at: Option<Timestamp>,
    pub refusal_reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<serde_json::Value>,
    /// For a fulfilled rectification, erasure or restriction: the recipients of the person's
    /// data told of it (Art. 19), and whether a mail went to each.
    pub recipients_notified: Vec<ombud_app::rights::RecipientNotified>,
    /// Present once, in the answer to fulfil, for access and portability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

impl RequestView {
    pub fn of(request: &DsRequest, state: &AppState) -> RequestView {
        let outcome = request
            .outcome
            .as_deref()
            .and_then(|o| serde_json::from_str::<Outcome>(o).ok());
        RequestView {
            legal_due_at: ombud_app::mail::legal_due(&state.policy, request, &state.time_zone),
            id: request.id,
            kind: request.kind,
            status: request.status,
            subject: request.subject,
            email: request.contact.as_ref().map(|c| c.expose().to_owned()),
            purpose: request.purpose.clone(),
            category: request.category.clone(),
            channel: request.channel.clone(),
            received_at: request.received_at,
            verified_at: request.verified_at,
            verified_by: request.verified_by.clone(),
            due_at: request.due_at,
            first_due_at: request.first_due_at,
            extended_at: request.extended_at,
            extension_reason: request.extension_reason.clone(),
            assignee: request.assignee.clone(),
            overdue: request.overdue_at.is_some() && request.status.is_open(),
            objection_pending: request.kind == ombud_core::RequestKind::Objection
                && request.status.is_open()
                && request.verified_at.is_some(),
            locked: request.locked,
            closed_at: request.closed_at,
            refusal_reason: request.refusal_reason.clone(),
            recipients_notified: outcome
                .as_ref()
                .map(|o| o.recipients_notified.clone())
                .unwrap_or_default(),
            // The receipt has its own route; lists stay small without it.
            outcome: outcome
                .and_then(|o| serde_json::to_value(Outcome { receipt: None, ..o }).ok()),
            download_url: None,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MailView {
    pub id: MailId,
    pub template: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MailList {
    pub mails: Vec<MailView>,
}

fn parse_id(id: &str) -> Result<RequestId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound("no request with that id".into()))
}

/// What every step on one request needs: where, which, who, when.
fn step(
    caller: &Caller,
    state: &AppState,
    id: &str,
) -> Result<(TenantId, RequestId, ombud_store::Actor, Timestamp), ApiError> {
    Ok((
        caller.tenant,
        parse_id(id)?,
        caller.actor(),
        state.clock.now(),
    ))
}

fn require_decider(caller: &Caller, state: &AppState, doing: &str) -> Result<(), ApiError> {
    caller.require_decider(HANDLERS, state.operator, doing)
}

#[utoipa::path(post, path = "/api/v1/requests", summary = "File a data-subject request", description = "Files an access, rectification, erasure, restriction, objection, portability or consent-withdrawal request for a person, sends the code that confirms who they are, and starts the deadline (one month, extensible by two, Art. 12(3)) once verified.", tag = "requests", security(("api_key" = [])), request_body = FileBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")),
    responses((status = 201, description = "Filed; a code went to the person unless the request was vouched for", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<FileBody>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    caller.require(FILERS, "file requests")?;
    if body.verified && caller.key.role != Role::Service {
        return Err(ApiError::invalid(
            "verified",
            "only the operator's application, with a service key, vouches for a signed-in person",
        ));
    }
    let kind = RequestKind::parse(&body.kind).ok_or_else(|| {
        let kinds: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::invalid("kind", format!("kind is one of {}", kinds.join(", ")))
    })?;
    let filing = Filing {
        kind,
        email: body.email,
        subject: body.subject,
        purpose: body.purpose,
        category: body.category,
        record: body.record,
        new_value: body.new_value.map(Secret::new),
        channel: "api".into(),
        vouched: body.verified,
    };
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let request = state
        .desk_call(move |desk| desk.file(tenant, filing, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(RequestView::of(&request, &state))))
}

#[utoipa::path(get, path = "/api/v1/requests", summary = "The request queue", description = "The tenant's requests with their status and deadline: by status, only the open ones or only the overdue ones, paged with `cursor` and `limit` (1 to 1000).", tag = "requests", security(("api_key" = [])), params(ListQuery),
    responses((status = 200, description = "The tenant's requests in filing order", body = RequestList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RequestList>, ApiError> {
    caller.require(HANDLERS, "read requests")?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            RequestStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "status is one of received, verified, in_progress, fulfilled, refused",
                )
            })
        })
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse()
                .map_err(|_| ApiError::invalid("cursor", "pass the `next` of the previous page"))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 1000"));
    }
    let filter = RequestFilter {
        status,
        open: query.open,
        overdue: query.overdue,
        after,
        limit,
    };
    let page = filter.page_size();
    let tenant = caller.tenant;
    let requests = state
        .store(move |store| store.requests(tenant, &filter))
        .await?;
    let next = (requests.len() == page)
        .then(|| requests.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(RequestList {
        requests: requests
            .iter()
            .map(|r| RequestView::of(r, &state))
            .collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}", summary = "One request", description = "A request with its status, deadline, the law's limit, its outcome and what was kept and why.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    caller.require(HANDLERS, "read requests")?;
    let (tenant, id) = (caller.tenant, parse_id(&id)?);
    let request = state.desk_call(move |desk| desk.get(tenant, id)).await?;
    Ok(Json(RequestView::of(&request, &state)))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/plan", summary = "What a request will do", description = "For an erasure or rectification: the steps in the vault and in each of the operator's own databases the policy's datasets reach, before anything is done.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "What fulfilling this erasure would do in the tenant's datasets, table by table (counts and field names, never values)", body = ombud_app::rights::ErasurePlan),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dataset's database cannot be read now", body = Problem, content_type = "application/problem+json")))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ombud_app::rights::ErasurePlan>, ApiError> {
    caller.require(HANDLERS, "read requests")?;
    let (tenant, id) = (caller.tenant, parse_id(&id)?);
    let now = state.clock.now();
    let plan = state
        .desk_call(move |desk| desk.erasure_plan(tenant, id, now))
        .await?;
    Ok(Json(plan))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/verify", summary = "Verify a request", description = "Confirms who filed the request, by the code mailed to them or by a manual check with a note; the deadline runs from here. Three wrong codes lock it.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")), request_body = VerifyBody,
    responses((status = 200, description = "Verified", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong, expired or locked code, or manual verification not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is verified or closed already", body = Problem, content_type = "application/problem+json")))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<RequestView>, ApiError> {
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let request = match (body.code, body.method.as_deref()) {
        (Some(code), None) => {
            // Entering codes can lock a request: a step of the controller's, as deciding is.
            require_decider(&caller, &state, "verify requests")?;
            state
                .desk_call(move |desk| desk.verify_code(tenant, id, &code, &actor, now))
                .await?
        }
        (None, Some("manual")) => {
            require_decider(&caller, &state, "verify requests by hand")?;
            state
                .desk_call(move |desk| desk.verify_manually(tenant, id, None, &actor, now))
                .await?
        }
        _ => {
            return Err(ApiError::invalid(
                "code",
                "send either the person's `code` or `\"method\": \"manual\"`",
            ));
        }
    };
    Ok(Json(RequestView::of(&request, &state)))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/code", summary = "Send a new code", description = "Mails the person a new code, at most once every five minutes.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "A new code was mailed to the person; the request keeps its receipt time and its count of wrong tries", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The request is locked, or was not verified by code", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is verified or closed already", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The last code was sent less than 5 minutes ago; `Retry-After` says when to ask again", body = Problem, content_type = "application/problem+json")))]
pub async fn resend_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    caller.require(HANDLERS, "send verification codes")?;
    let request = state
        .desk_call(move |desk| desk.resend_code(tenant, id, &actor, now))
        .await?;
    Ok(Json(RequestView::of(&request, &state)))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/extend", summary = "Extend a request", description = "Extends the deadline by up to two months with a reason, which the person is told (Art. 12(3)).", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")), request_body = ReasonBody,
    responses((status = 200, description = "Extended; the person is told why", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key cannot decide on this tenant's requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too late, extended already, or closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn extend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<RequestView>, ApiError> {
    require_decider(&caller, &state, "extend requests")?;
    let by = body
        .by
        .as_deref()
        .map(|b| {
            b.parse().map_err(|e| {
                ApiError::invalid("by", format!("`by` is a period like `2 months`: {e}"))
            })
        })
        .transpose()?;
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let request = state
        .desk_call(move |desk| desk.extend(tenant, id, by, &body.reason, &actor, now))
        .await?;
    Ok(Json(RequestView::of(&request, &state)))
}

/// Who works a request; `null` or "" takes it back.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    #[schema(max_length = 200)]
    pub assignee: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/assign", summary = "Assign a request", description = "Gives an open request to a colleague (a name or an address, one line of up to 200 characters), or takes it back with `null`. Assignment decides nothing about the request, so any key that works the queue may assign, in a customer's tenant too; it is audited.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")), request_body = AssignBody,
    responses((status = 200, description = "Assigned", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The request is closed, or the name is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<RequestView>, ApiError> {
    caller.require(HANDLERS, "assign requests")?;
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let request = state
        .desk_call(move |desk| desk.assign(tenant, id, body.assignee.as_deref(), &actor, now))
        .await?;
    Ok(Json(RequestView::of(&request, &state)))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/start", summary = "Start work on a request", description = "Marks a verified request as in progress.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "In progress", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key cannot decide on this tenant's requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not verified, or closed", body = Problem, content_type = "application/problem+json")))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    require_decider(&caller, &state, "work on requests")?;
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let request = state
        .desk_call(move |desk| desk.start(tenant, id, &actor, now))
        .await?;
    Ok(Json(RequestView::of(&request, &state)))
}

/// What fulfilling may carry: for an objection, the compelling legitimate grounds that let
/// processing go on, per purpose (Art. 21(1)). Every other purpose objected to stops.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilBody {
    /// Activity id → the grounds, in words the person is sent.
    #[serde(default)]
    pub compelling_grounds: std::collections::BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/fulfil", summary = "Fulfil a request", description = "Carries the request out: the access export, the erasure (keeping what the law or a hold requires, and saying why), the correction, the restriction, the objection; in the vault and in the operator's own databases. Each step can be run again; a database that cannot be reached is retried.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")), request_body(content = Option<FulfilBody>, description = "Optional; only an objection's decision carries one"),
    responses((status = 200, description = "Carried out; the person is answered", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key cannot decide on this tenant's requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not verified, or closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The request cannot be carried out as filed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A system the answer must cover (a dataset's database) cannot be read now; nothing changed, fulfil again later", body = Problem, content_type = "application/problem+json")))]
pub async fn fulfil(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<RequestView>, ApiError> {
    require_decider(&caller, &state, "fulfil requests")?;
    // The body is optional: only an objection's decision carries one.
    let decision: FulfilBody = if body.iter().all(u8::is_ascii_whitespace) {
        FulfilBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_data() {
                ApiError::invalid("compelling_grounds", e.to_string())
            } else {
                ApiError::BadRequest(format!("the body is not valid JSON: {e}"))
            }
        })?
    };
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let done = state
        .desk_call(move |desk| desk.decide(tenant, id, &decision.compelling_grounds, &actor, now))
        .await?;
    let mut view = RequestView::of(&done.request, &state);
    view.download_url = done.download_url;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/refuse", summary = "Refuse a request", description = "Refuses a request with a reason, which the person is told together with their right to complain to the supervisory authority.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")), request_body = ReasonBody,
    responses((status = 200, description = "Refused; the person is told why and where to complain", body = RequestView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key cannot decide on this tenant's requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json")))]
pub async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<RequestView>, ApiError> {
    require_decider(&caller, &state, "refuse requests")?;
    let (tenant, id, actor, now) = step(&caller, &state, &id)?;
    let request = state
        .desk_call(move |desk| desk.refuse(tenant, id, &body.reason, &actor, now))
        .await?;
    Ok(Json(RequestView::of(&request, &state)))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/mails", summary = "Mails of a request", description = "The mails sent about a request: template, when, and whether delivery succeeded; never the address.", tag = "requests", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Which mails the request sent, and when", body = MailList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn mails(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MailList>, ApiError> {
    caller.require(HANDLERS, "read requests")?;
    let (tenant, id) = (caller.tenant, parse_id(&id)?);
    let mails = state
        .store(move |store| {
            if store.request(tenant, id)?.is_none() {
                return Err(ombud_store::StoreError::NotFound("request"));
            }
            store.mails(tenant, Some(id))
        })
        .await?;
    Ok(Json(MailList {
        mails: mails
            .into_iter()
            .map(|m| MailView {
                id: m.id,
                template: m.template,
                created_at: m.created_at,
                sent_at: m.sent_at,
                attempts: m.attempts,
                last_error: m.last_error,
            })
            .collect(),
    }))
}
