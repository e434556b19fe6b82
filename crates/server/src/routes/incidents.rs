//! The breach register over HTTP: open an incident, list them with the time left to give
//! notice (Art. 33(1)), read one with its timeline, close it with the measures taken.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ombud_store::incidents::{Incident, IncidentId, IncidentStep};
use ombud_store::model::Role;
use serde::{Deserialize, Serialize};

const HANDLERS: &[Role] = &[Role::Admin, Role::Dpo];
const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// A short name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// What happened (the nature of the breach), 1 to 10,000 characters.
    pub description: String,
    /// When the operator became aware; now when absent. The clock runs from here.
    pub aware_at: Option<Timestamp>,
    /// When the breach began, where known.
    pub occurred_at: Option<Timestamp>,
    /// The data categories concerned, as far as known.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Likely consequences, where already known.
    pub consequences: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// The measures taken or proposed.
    pub measures: Option<String>,
    /// The likely consequences, as finally assessed.
    pub consequences: Option<String>,
}

/// An incident with its clock: when notice is due and how much time is left.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// `71 h 5 min left`, or `2 h 5 min overdue`; for a closed incident, as it stood at closing.
    pub time_left: String,
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<IncidentView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub view: IncidentView,
    pub timeline: Vec<IncidentStep>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only incidents still open.
    #[serde(default)]
    pub open: bool,
}

fn view(incident: Incident, now: Timestamp) -> IncidentView {
    IncidentView {
        time_left: ombud_app::breach::time_left(&incident, now),
        overdue: ombud_app::breach::overdue(&incident, now),
        incident,
    }
}

fn incident_id(text: &str) -> Result<IncidentId, ApiError> {
    text.parse()
        .map(IncidentId)
        .map_err(|_| ApiError::NotFound("no incident with that id".into()))
}

#[utoipa::path(post, path = "/api/v1/incidents", summary = "Open a breach", description = "Opens an incident in the breach register and starts its 72-hour clock (Art. 33) from when the operator became aware.", tag = "incidents", security(("api_key" = [])), request_body = OpenBody,
    responses((status = 201, description = "Opened; the clock runs from aware_at", body = IncidentView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OpenBody>,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    caller.require(HANDLERS, "open an incident")?;
    let now = state.clock.now();
    let incident = ombud_app::breach::open(
        &state.policy,
        &state.time_zone,
        ombud_app::breach::Opening {
            title: body.title,
            description: body.description,
            aware_at: body.aware_at,
            occurred_at: body.occurred_at,
            categories: body.categories,
            consequences: body.consequences,
        },
        now,
    )
    .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let (tenant, actor) = (caller.tenant, caller.actor());
    let detail = ombud_app::breach::opened_detail(&incident);
    let stored = state
        .store(move |store| store.save_incident(tenant, &incident, "open", detail, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(view(stored, now))))
}

#[utoipa::path(get, path = "/api/v1/incidents", summary = "The breach register", description = "The tenant's incidents with their clocks: time left to notify the authority, or whether it was notified on time.", tag = "incidents", security(("api_key" = [])), params(ListQuery),
    responses((status = 200, description = "The tenant's incidents with their clocks, newest first", body = IncidentList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    caller.require(READERS, "read the breach register")?;
    let (tenant, now) = (caller.tenant, state.clock.now());
    let incidents = state
        .store(move |store| store.incidents(tenant, query.open))
        .await?;
    Ok(Json(IncidentList {
        incidents: incidents.into_iter().map(|i| view(i, now)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", summary = "One incident", description = "An incident with its scope, assessment, notifications and timeline.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    responses((status = 200, description = "The incident, its clock and its timeline", body = IncidentDetail),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(READERS, "read the breach register")?;
    let id = incident_id(&id)?;
    let (tenant, now) = (caller.tenant, state.clock.now());
    let (incident, timeline) = state
        .store(move |store| {
            Ok((
                store.incident(tenant, id)?,
                store.incident_timeline(tenant, id)?,
            ))
        })
        .await?;
    let incident = incident.ok_or_else(|| ApiError::NotFound("no incident with that id".into()))?;
    Ok(Json(IncidentDetail {
        view: view(incident, now),
        timeline,
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", summary = "Close an incident", description = "Closes an incident once it is handled; the register keeps it and its timeline.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")), request_body = CloseBody,
    responses((status = 200, description = "Closed; kept in the register for good", body = IncidentView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed already, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CloseBody>,
) -> Result<Json<IncidentView>, ApiError> {
    change(
        &state,
        &caller,
        &id,
        "close an incident",
        "close",
        move |incident, now| {
            ombud_app::breach::close(
                incident,
                body.measures.as_deref(),
                body.consequences.as_deref(),
                now,
            )
        },
    )
    .await
}

/// Reads an incident, applies a rule of the register to it and saves the result as a
/// timeline step `kind` (with what was given); a closed incident is a 409.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    doing: &str,
    kind: &'static str,
    rule: impl FnOnce(Incident, Timestamp) -> Result<Incident, ombud_app::breach::Refusal>,
) -> Result<Json<IncidentView>, ApiError> {
    caller.require(HANDLERS, doing)?;
    let id = incident_id(id)?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let incident = state
        .store(move |store| store.incident(tenant, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no incident with that id".into()))?;
    let changed = rule(incident, now).map_err(|(field, message)| match field {
        "status" => ApiError::Conflict(message),
        field => ApiError::invalid(field, message),
    })?;
    let detail = ombud_app::breach::closed_detail(&changed);
    let stored = state
        .store(move |store| store.save_incident(tenant, &changed, kind, detail, &actor, now))
        .await?;
    Ok(Json(view(stored, now)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    /// Scope by what an API key read: its id, as `ombud keys list` shows it.
    pub key: Option<String>,
    /// Or scope by data: these categories (and those beneath them) as held in the window.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Only these tenants; every tenant the key sees when empty.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// The window's start (inclusive).
    pub from: Timestamp,
    /// The window's end (exclusive).
    pub until: Timestamp,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/scope", summary = "Scope an incident", description = "Finds who and what an incident touched, by key and time window or by categories, and records the counts; never values.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")), request_body = ScopeBody,
    responses((status = 200, description = "Scoped from the audit log: exactly whose data of which categories the key read, per tenant", body = IncidentView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScopeBody>,
) -> Result<Json<IncidentView>, ApiError> {
    caller.require(HANDLERS, "scope an incident")?;
    let id = incident_id(&id)?;
    let now = state.clock.now();
    // An operator-wide key sees every tenant; any other key, its own.
    let (tenant, actor, everywhere) = (caller.tenant, caller.actor(), caller.key.operator_wide);
    let ask = ombud_app::breach::ScopeAsk {
        key: body.key,
        categories: body.categories,
        tenants: body.tenants,
        from: body.from,
        until: body.until,
    };
    let policy = std::sync::Arc::clone(&state.policy);
    let stored = state
        .call(move |store, _| {
            let visible = if everywhere {
                store.tenants()?
            } else {
                store.tenant(tenant)?.into_iter().collect()
            };
            ombud_app::breach::scope(store, &policy, tenant, id, ask, visible, &actor, now)
        })
        .await?;
    Ok(Json(view(stored, now)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentBody {
    /// The likely consequences, as now assessed.
    pub consequences: Option<String>,
    /// The measures taken or proposed so far.
    pub measures: Option<String>,
    /// `unlikely`: the breach is unlikely to result in a risk to people, so the authority
    /// need not be told (Art. 33(1)); `reasons` are then required (Art. 33(5)).
    pub risk: Option<String>,
    pub reasons: Option<String>,
    /// An Art. 34(3) ground on which the people concerned need not be told:
    /// `unintelligible`, `risk_removed` or `disproportionate`; `exemption_reasons` are then
    /// required, and for `disproportionate` the `public_communication` made instead.
    pub subjects_exempt: Option<String>,
    pub exemption_reasons: Option<String>,
    pub public_communication: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/assessment", summary = "Assess an incident", description = "Records the risk assessment that decides whom to notify: the authority (Art. 33), the people concerned (Art. 34), the customers whose data it touched.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")), request_body = AssessmentBody,
    responses((status = 200, description = "Recorded (timeline step `assess`); later notifications carry it", body = IncidentView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn assess(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssessmentBody>,
) -> Result<Json<IncidentView>, ApiError> {
    let by = caller.actor().audit_name();
    change(
        &state,
        &caller,
        &id,
        "assess an incident",
        "assess",
        move |incident, now| {
            ombud_app::breach::assess(
                incident,
                ombud_app::breach::Assessment {
                    measures: body.measures.as_deref(),
                    consequences: body.consequences.as_deref(),
                    risk: body.risk.as_deref(),
                    reasons: body.reasons.as_deref(),
                    subjects_exempt: body.subjects_exempt.as_deref(),
                    exemption_reasons: body.exemption_reasons.as_deref(),
                    public_communication: body.public_communication.as_deref(),
                    by: &by,
                    now,
                },
            )
        },
    )
    .await
}

/// Who a notification goes to, as the API names them.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum PartyName {
    Customers,
    Authority,
    Subjects,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DraftQuery {
    /// `customers`, `authority` or `subjects`
    #[param(value_type = PartyName, inline)]
    pub party: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Drafts {
    pub drafts: Vec<ombud_app::notify::Draft>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications/draft", summary = "Draft a notification", description = "The text of a notification to one party, filled from the incident and the policy, to read before sending.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id"), DraftQuery),
    responses((status = 200, description = "What the party would be told now, item by item of Art. 33(3), as JSON and text; nothing is sent", body = Drafts),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "This party cannot be told of this incident; `field` says why", body = Problem, content_type = "application/problem+json")))]
pub async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DraftQuery>,
) -> Result<Json<Drafts>, ApiError> {
    caller.require(READERS, "read the breach register")?;
    let id = incident_id(&id)?;
    let party = ombud_app::notify::Party::parse(&query.party)?;
    let tenant = caller.tenant;
    let incident = state
        .store(move |store| store.incident(tenant, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no incident with that id".into()))?;
    let drafts = ombud_app::notify::drafts(
        &state.policy,
        &state.time_zone,
        &incident,
        party,
        None,
        None,
    )?;
    Ok(Json(Drafts { drafts }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyBody {
    /// `customers` (each affected customer's contacts) or `subjects` (the people concerned,
    /// where the policy's [breach] notify says so).
    #[schema(value_type = PartyName)]
    pub party: String,
    /// Only these affected customers; every affected customer when absent.
    pub tenants: Option<Vec<String>>,
    /// Required after the deadline: why notice comes late (Art. 33(1)).
    pub delay_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Notified {
    pub incident: IncidentView,
    /// What was sent, one per notice.
    pub sent: Vec<ombud_app::notify::Draft>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notifications", summary = "Notify about an incident", description = "Sends the notification to a party (customers, the people concerned) and records it with its time against the clock.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")), request_body = NotifyBody,
    responses((status = 201, description = "Sent through the notice ledger and recorded on the incident, each with when it came against the deadline", body = Notified),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (a late notice without delay_reason, a tenant the breach did not reach); nothing is sent", body = Problem, content_type = "application/problem+json")))]
pub async fn notify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NotifyBody>,
) -> Result<(StatusCode, Json<Notified>), ApiError> {
    caller.require(HANDLERS, "notify of a breach")?;
    let id = incident_id(&id)?;
    let party = ombud_app::notify::Party::parse(&body.party)?;
    let tenants: Option<Vec<ombud_store::model::TenantId>> = body
        .tenants
        .map(|list| super::parse_ids("tenants", &list))
        .transpose()?;
    let (operator, tenant, actor, now, tz) = (
        state.operator,
        caller.tenant,
        caller.actor(),
        state.clock.now(),
        state.time_zone.clone(),
    );
    let (saved, sent) = state
        .call(move |store, policy| {
            let incident = store
                .incident(tenant, id)?
                .ok_or(ombud_store::StoreError::NotFound("incident"))?;
            ombud_app::notify::send(
                store,
                policy,
                &tz,
                operator,
                tenant,
                incident,
                party,
                tenants.as_deref(),
                body.delay_reason.as_deref(),
                &actor,
                now,
            )
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Notified {
            incident: view(saved, now),
            sent,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityBody {
    /// The authority's case reference for the filing.
    pub reference: String,
    /// When it was filed; now when absent.
    pub filed_at: Option<Timestamp>,
    /// Required after the deadline: why notice came late (Art. 33(1)).
    pub delay_reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/authority", summary = "Record the authority's notification", description = "Records that the supervisory authority was notified: its case reference and when; after the 72 hours, the reason for the delay (Art. 33(1)). The register then says whether notice came on time.", tag = "incidents", security(("api_key" = [])),
    params(("id" = String, Path, description = "The incident's id")), request_body = AuthorityBody,
    responses((status = 201, description = "The filing with the supervisory authority recorded on the incident", body = IncidentView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident in the caller's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn authority(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AuthorityBody>,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    caller.require(HANDLERS, "record a notification to the authority")?;
    let id = incident_id(&id)?;
    let (tenant, actor, now, tz) = (
        caller.tenant,
        caller.actor(),
        state.clock.now(),
        state.time_zone.clone(),
    );
    let saved = state
        .call(move |store, policy| {
            let incident = store
                .incident(tenant, id)?
                .ok_or(ombud_store::StoreError::NotFound("incident"))?;
            ombud_app::notify::record_authority(
                store,
                policy,
                &tz,
                tenant,
                incident,
                ombud_app::notify::Filing {
                    reference: &body.reference,
                    filed_at: body.filed_at,
                    delay_reason: body.delay_reason.as_deref(),
                },
                &actor,
                now,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(saved, now))))
}
