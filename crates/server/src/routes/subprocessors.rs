//! The sub-processor registry over HTTP: each customer's list (with the optional providers it
//! chose), choosing them, change notices drafted from the policy's diff and sent on
//! confirmation, and customers' objections within the window. `/subprocessors` is the public
//! page of the same registry.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use ombud_app::subprocessors::{ChangeDraft, Entry};
use ombud_store::model::{Role, TenantId};
use ombud_store::subprocessors::{ChangeId, Objection, RecipientChange};
use serde::{Deserialize, Serialize};

const ANY: &[Role] = &[
    Role::Admin,
    Role::Dpo,
    Role::Agent,
    Role::Service,
    Role::Auditor,
];
const OPERATORS: &[Role] = &[Role::Admin, Role::Dpo];
const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Whose list: the caller's tenant when absent; another tenant's only for an
    /// operator-wide key.
    pub tenant: Option<String>,
    /// The list as it stands (or stood, or will stand) at this moment (RFC 3339): an announced
    /// change shows from its effective date. Now when absent.
    pub as_of: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubprocessorList {
    pub tenant: TenantId,
    pub as_of: jiff::Timestamp,
    /// The policy version whose sub-processors are in force then.
    pub policy_version: String,
    pub subprocessors: Vec<Entry>,
    /// An announced change not yet in effect then, with when it takes effect.
    pub next_change: Option<Announced>,
}

/// A change customers were told of that takes effect later.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Announced {
    pub change: ChangeId,
    pub effective_at: jiff::Timestamp,
    pub to_version: String,
}

/// The sub-processors in force at `at`, with the announced change still to come.
async fn in_force(
    state: &AppState,
    at: jiff::Timestamp,
) -> Result<(std::sync::Arc<ombud_policy::Policy>, Option<Announced>), ApiError> {
    let operator = state.operator;
    let found = state
        .call(move |store, policy| {
            ombud_app::subprocessors::in_force_at(store, operator, policy, at)
        })
        .await?;
    Ok(match found {
        None => (state.policy.clone(), None),
        Some((earlier, change)) => (
            std::sync::Arc::new(earlier),
            change.effective_at.map(|effective_at| Announced {
                change: change.id,
                effective_at,
                to_version: change.to_version,
            }),
        ),
    })
}

pub(crate) async fn list_of(
    state: &AppState,
    tenant: TenantId,
    at: jiff::Timestamp,
) -> Result<SubprocessorList, ApiError> {
    let chosen = state
        .store(move |store| store.selected_recipients(tenant))
        .await?;
    let chosen: Vec<String> = chosen.into_iter().map(|(id, _)| id).collect();
    let (policy, next_change) = in_force(state, at).await?;
    let subprocessors = if tenant == state.operator {
        ombud_app::subprocessors::registry(&policy)
    } else {
        ombud_app::subprocessors::for_customer(&policy, &chosen)
    };
    Ok(SubprocessorList {
        tenant,
        as_of: at,
        policy_version: policy.version.0.clone(),
        subprocessors,
        next_change,
    })
}

#[utoipa::path(get, path = "/api/v1/subprocessors", summary = "The sub-processor registry", description = "The policy's sub-processors with their countries and safeguards, and the caller's choices among the optional ones.", tag = "subprocessors", security(("api_key" = [])), params(ListQuery),
    responses((status = 200, description = "The tenant's sub-processors: every one it cannot opt out of and the optional ones it chose; the operator's tenant sees the whole registry", body = SubprocessorList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant for this key", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SubprocessorList>, ApiError> {
    caller.require(ANY, "read the sub-processor list")?;
    let tenant = match query.tenant {
        None => caller.tenant,
        Some(text) => {
            let asked: TenantId = text
                .trim()
                .parse()
                .map_err(|_| ApiError::NotFound("no tenant with that id".into()))?;
            if asked != caller.tenant && !caller.key.operator_wide {
                return Err(ApiError::NotFound("no tenant with that id".into()));
            }
            state
                .store(move |store| store.tenant(asked))
                .await?
                .ok_or_else(|| ApiError::NotFound("no tenant with that id".into()))?;
            asked
        }
    };
    let at = match query.as_of.as_deref().map(str::trim) {
        None => state.clock.now(),
        Some(text) => text.parse().map_err(|_| {
            ApiError::invalid(
                "as_of",
                format!(
                    "`{text}` is not a moment: write it as RFC 3339, e.g. 2026-06-01T00:00:00Z"
                ),
            )
        })?,
    };
    Ok(Json(list_of(&state, tenant, at).await?))
}

async fn choose(
    state: AppState,
    caller: Caller,
    recipient: String,
    selected: bool,
) -> Result<Json<SubprocessorList>, ApiError> {
    caller.require_decider(&[Role::Admin], state.operator, "choose sub-processors")?;
    if caller.tenant == state.operator {
        return Err(ApiError::invalid(
            "tenant",
            "optional sub-processors are chosen by a customer for its own tenant",
        ));
    }
    let (operator, now) = (state.operator, state.clock.now());
    let (loaded, tz) = (state.policy.clone(), state.time_zone.clone());
    // A sub-processor an announced change adds is chosen only once the change takes effect;
    // letting go of one is always possible.
    let id = state
        .call(move |store, _| {
            let policy = if selected {
                ombud_app::subprocessors::customers_policy_at(store, operator, &loaded, now)?
            } else {
                loaded
            };
            match ombud_app::subprocessors::choosable(&policy, &recipient) {
                Ok(r) => Ok(r.id.clone()),
                Err(refused) => {
                    match ombud_app::subprocessors::announced_from(store, operator, &recipient, now)? {
                        Some(at) => Err(ombud_app::notices::NoticeError::Invalid {
                            field: "recipient",
                            message: format!(
                                "`{recipient}` is added by an announced change that takes effect on {}; customers can choose it from then",
                                ombud_app::mail::day(at, &tz)
                            ),
                        }),
                        None => Err(refused),
                    }
                }
            }
        })
        .await?;
    let (tenant, actor) = (caller.tenant, caller.actor());
    state
        .store(move |store| store.select_recipient(tenant, &id, selected, &actor, now))
        .await?;
    Ok(Json(list_of(&state, tenant, state.clock.now()).await?))
}

#[utoipa::path(put, path = "/api/v1/subprocessors/{recipient}/selection", summary = "Choose an optional sub-processor", description = "Records a customer's choice to use an optional sub-processor.", tag = "subprocessors", security(("api_key" = [])),
    params(("recipient" = String, Path, description = "An optional sub-processor's id")),
    responses((status = 200, description = "Chosen: it is in the tenant's list and its change notices reach the tenant", body = SubprocessorList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin of the customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an optional sub-processor, or the operator's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn select(
    State(state): State<AppState>,
    caller: Caller,
    Path(recipient): Path<String>,
) -> Result<Json<SubprocessorList>, ApiError> {
    choose(state, caller, recipient, true).await
}

#[utoipa::path(delete, path = "/api/v1/subprocessors/{recipient}/selection", summary = "Drop an optional sub-processor", description = "Records a customer's choice to stop using an optional sub-processor.", tag = "subprocessors", security(("api_key" = [])),
    params(("recipient" = String, Path, description = "An optional sub-processor's id")),
    responses((status = 200, description = "No longer chosen", body = SubprocessorList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin of the customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an optional sub-processor, or the operator's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn deselect(
    State(state): State<AppState>,
    caller: Caller,
    Path(recipient): Path<String>,
) -> Result<Json<SubprocessorList>, ApiError> {
    choose(state, caller, recipient, false).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SinceQuery {
    /// The policy version (its hash, as `ombud policy check` prints it) the customers last
    /// agreed to; the newest kept version before the one in force when absent.
    pub since: Option<String>,
    /// The day (YYYY-MM-DD, the controller's calendar) the changes take effect, at least the
    /// objection window away; until then the registry keeps the earlier version. At once
    /// when absent.
    pub effective: Option<String>,
}

/// The change from `since` (or the previous kept version) to the policy in force.
pub(crate) async fn drafted(state: &AppState, query: SinceQuery) -> Result<ChangeDraft, ApiError> {
    let (operator, now, tz) = (state.operator, state.clock.now(), state.time_zone.clone());
    let effective = query
        .effective
        .as_deref()
        .map(|text| {
            text.trim().parse::<jiff::civil::Date>().map_err(|_| {
                ApiError::invalid(
                    "effective",
                    format!("`{text}` is not a date: write YYYY-MM-DD"),
                )
            })
        })
        .transpose()?;
    let since = query.since;
    state
        .call(move |store, policy| {
            let old =
                ombud_app::subprocessors::previous(store, operator, policy, since.as_deref())?;
            ombud_app::subprocessors::draft(store, policy, &old, effective, &tz, now)
        })
        .await
}

#[utoipa::path(get, path = "/api/v1/subprocessors/changes/draft", summary = "Draft a change notice", description = "The notice of the changes between the registry in force and the policy, with the customers it concerns and the objection window, to read before sending.", tag = "subprocessors", security(("api_key" = [])), params(SinceQuery),
    responses((status = 200, description = "What changed about sub-processors, which customers use them and what each would be told; nothing is sent", body = ChangeDraft),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator admin or DPO key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such version, or nothing changed", body = Problem, content_type = "application/problem+json")))]
pub async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SinceQuery>,
) -> Result<Json<ChangeDraft>, ApiError> {
    caller.require_operator_tenant(
        OPERATORS,
        state.operator,
        "change notices",
        "draft a change notice",
    )?;
    Ok(Json(drafted(&state, query).await?))
}

#[utoipa::path(post, path = "/api/v1/subprocessors/changes", summary = "Send a change notice", description = "Sends the notice of a sub-processor change to the customers it concerns and opens the objection window before the change takes effect.", tag = "subprocessors", security(("api_key" = [])), request_body = SinceQuery,
    responses((status = 201, description = "Sent through the notice ledger to every customer using a changed sub-processor, and recorded with its objection window", body = RecipientChange),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator admin or DPO key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such version, nothing changed, or no customer concerned; nothing is sent", body = Problem, content_type = "application/problem+json")))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SinceQuery>,
) -> Result<(StatusCode, Json<RecipientChange>), ApiError> {
    caller.require_operator_tenant(
        OPERATORS,
        state.operator,
        "change notices",
        "send a change notice",
    )?;
    let draft = drafted(&state, body).await?;
    let (operator, actor, now) = (state.operator, caller.actor(), state.clock.now());
    let change = state
        .call(move |store, _| ombud_app::subprocessors::send(store, operator, draft, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(change)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    /// Newest first.
    pub changes: Vec<RecipientChange>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeDetail {
    #[serde(flatten)]
    pub change: RecipientChange,
    /// Every objection for the operator; a customer's own for a customer.
    pub objections: Vec<Objection>,
}

/// A change as the caller may see it: the operator's whole record, or a customer's own part.
fn seen_by(
    change: RecipientChange,
    caller: &Caller,
    operator: TenantId,
) -> Option<RecipientChange> {
    if caller.tenant == operator {
        return Some(change);
    }
    let mine: Vec<_> = change
        .told
        .iter()
        .filter(|t| t.tenant == caller.tenant)
        .cloned()
        .collect();
    if mine.is_empty() {
        return None;
    }
    Some(RecipientChange {
        told: mine,
        ..change
    })
}

#[utoipa::path(get, path = "/api/v1/subprocessors/changes", summary = "Sub-processor changes", description = "The changes notified, with their windows and objections.", tag = "subprocessors", security(("api_key" = [])),
    responses((status = 200, description = "Change notices sent: all for the operator, those it was told of for a customer", body = ChangeList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ChangeList>, ApiError> {
    caller.require(READERS, "read change notices")?;
    let operator = state.operator;
    let all = state
        .store(move |store| store.recipient_changes(operator))
        .await?;
    Ok(Json(ChangeList {
        changes: all
            .into_iter()
            .filter_map(|c| seen_by(c, &caller, operator))
            .collect(),
    }))
}

fn change_id(text: &str) -> Result<ChangeId, ApiError> {
    text.parse()
        .map(ChangeId)
        .map_err(|_| ApiError::NotFound("no change notice with that id".into()))
}

#[utoipa::path(get, path = "/api/v1/subprocessors/changes/{id}", summary = "One change", description = "A change notice with who was told, when it takes effect, and the objections.", tag = "subprocessors", security(("api_key" = [])),
    params(("id" = String, Path, description = "The change notice's id")),
    responses((status = 200, description = "The change, who was told by which notice, the window, and the objections", body = ChangeDetail),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such change told to the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ChangeDetail>, ApiError> {
    caller.require(READERS, "read change notices")?;
    let (id, operator) = (change_id(&id)?, state.operator);
    let (found, objections) = state
        .store(move |store| {
            Ok((
                store.recipient_change(operator, id)?,
                store.change_objections(operator, id)?,
            ))
        })
        .await?;
    let change = found
        .and_then(|c| seen_by(c, &caller, operator))
        .ok_or_else(|| ApiError::NotFound("no change notice with that id".into()))?;
    let objections = objections
        .into_iter()
        .filter(|o| caller.tenant == operator || o.tenant == caller.tenant)
        .collect();
    Ok(Json(ChangeDetail { change, objections }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    /// The sub-processor objected to, one the change concerns for this customer.
    pub recipient: String,
    /// Why, 1 to 2000 characters.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/subprocessors/changes/{id}/objections", summary = "Object to a change", description = "Records a customer's objection to a sub-processor change within its window.", tag = "subprocessors", security(("api_key" = [])),
    params(("id" = String, Path, description = "The change notice's id")), request_body = ObjectionBody,
    responses((status = 201, description = "Recorded against the change", body = Objection),
        (status = 200, description = "Recorded already", body = Objection),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin or DPO of the customer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such change told to this customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A recipient the change does not concern, no reason, or the window has closed", body = Problem, content_type = "application/problem+json")))]
pub async fn object(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ObjectionBody>,
) -> Result<(StatusCode, Json<Objection>), ApiError> {
    caller.require_decider(OPERATORS, state.operator, "object to a change")?;
    let (id, operator, customer, actor, now) = (
        change_id(&id)?,
        state.operator,
        caller.tenant,
        caller.actor(),
        state.clock.now(),
    );
    let (objection, added) = state
        .call(move |store, _| {
            let change = store
                .recipient_change(operator, id)?
                .ok_or(ombud_store::StoreError::NotFound("change notice"))?;
            let objection = ombud_app::subprocessors::objection(
                &change,
                customer,
                body.recipient.trim(),
                &body.reason,
                now,
            )?;
            let added = store.object_to_change(operator, &objection, &actor)?;
            Ok::<_, ombud_app::notices::NoticeError>((objection, added))
        })
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(objection)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionBody {
    /// The customer that objected (its tenant id); a customer's own key may leave it out.
    pub customer: Option<String>,
    /// The sub-processor it objected to.
    pub recipient: String,
    /// `accepted` (the customer's selection excludes the provider, or its contract ends; the
    /// operator only) or `withdrawn`.
    pub outcome: String,
    /// What was done or agreed, 1 to 2000 characters.
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/subprocessors/changes/{id}/objections/resolution", summary = "Resolve an objection", description = "Records how a customer's objection ended: `accepted` (the customer's selection excludes the provider, or its contract ends) or `withdrawn`, with a note of what was done or agreed.", tag = "subprocessors", security(("api_key" = [])),
    params(("id" = String, Path, description = "The change notice's id")), request_body = ResolutionBody,
    responses((status = 200, description = "Recorded; the change shows it with the objection", body = Objection),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin or DPO of the operator or of the customer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such change or objection for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the objection is resolved already; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolutionBody>,
) -> Result<Json<Objection>, ApiError> {
    caller.require(OPERATORS, "resolve an objection")?;
    let operator = state.operator;
    let by_operator = caller.tenant == operator;
    let customer = match (by_operator, body.customer.as_deref().map(str::trim)) {
        (false, None) => caller.tenant,
        (false, Some(given)) if given == caller.tenant.to_string() => caller.tenant,
        (false, Some(_)) => {
            return Err(ApiError::NotFound(
                "no such objection of this customer".into(),
            ));
        }
        (true, None) => {
            return Err(ApiError::invalid(
                "customer",
                "name the customer (tenant id) whose objection this resolves",
            ));
        }
        (true, Some(given)) => given
            .parse()
            .map(TenantId)
            .map_err(|_| ApiError::invalid("customer", format!("`{given}` is not a tenant id")))?,
    };
    let (id, actor, now) = (change_id(&id)?, caller.actor(), state.clock.now());
    let by = actor.audit_name();
    let resolved = state
        .call(move |store, _| {
            store
                .recipient_change(operator, id)?
                .ok_or(ombud_store::StoreError::NotFound("change notice"))?;
            let objections = store.change_objections(operator, id)?;
            let (objection, resolution) = ombud_app::subprocessors::resolution(
                &objections,
                ombud_app::subprocessors::Resolving {
                    customer,
                    recipient: body.recipient.trim(),
                    outcome: &body.outcome,
                    note: &body.note,
                    by_operator,
                    by: &by,
                    now,
                },
            )?;
            store.resolve_objection(operator, &objection, &resolution, &actor)?;
            Ok::<_, ombud_app::notices::NoticeError>(Objection {
                resolution: Some(resolution),
                ..objection
            })
        })
        .await?;
    Ok(Json(resolved))
}

/// The public page: every sub-processor of the policy, what it does, where, and under which
/// safeguard.
pub async fn page(State(state): State<AppState>) -> Response {
    let (in_force, next) = match in_force(&state, state.clock.now()).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let policy = &state.policy;
    let entries = ombud_app::subprocessors::registry(&in_force);
    let coming = next.as_ref().map(|announced| {
        let added: Vec<ombud_app::subprocessors::Entry> =
            ombud_app::subprocessors::registry(policy)
                .into_iter()
                .filter(|e| !entries.iter().any(|now| now.id == e.id))
                .collect();
        (
            ombud_app::mail::day(announced.effective_at, &state.time_zone),
            added,
        )
    });
    let title = format!("Sub-processors of {}", policy.controller.name);
    let body = html! {
        h1 { (title) }
        p { "These companies process personal data on our behalf when we provide our services to our customers. Those marked as optional do so only for customers who choose them." }
        table {
            caption { "Sub-processors, what they do, and where" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Purpose" } th scope="col" { "Country" } th scope="col" { "Safeguard for transfers outside the EEA" } } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (e.name) @if e.chosen_by_customer { " (optional)" } }
                        td { (e.purpose) }
                        td { (e.country_name.clone().or(e.country.clone()).unwrap_or_else(|| "—".to_owned())) }
                        td { @if e.outside_eea { (e.safeguard.clone().unwrap_or_else(|| "—".to_owned())) } @else { "Not needed: within the EEA" } }
                    }
                }
            }
        }
        @if let Some((day, added)) = &coming {
            h2 { "Announced changes" }
            p { "From " (day) " the list changes as our customers were told." }
            @if !added.is_empty() {
                ul { @for e in added { li { (e.name) ": " (e.purpose) } } }
            }
        }
        @if let Some(window) = policy.changes.objection_window {
            p { "We tell our customers before we add or replace a sub-processor; they may object within " (window.to_string()) "." }
        }
    };
    (
        StatusCode::OK,
        Html(
            crate::portal::layout_of(
                policy,
                &ombud_app::tenants::Voice::operator(policy),
                "Sub-processors",
                &title,
                body,
            )
            .into_string(),
        ),
    )
        .into_response()
}
