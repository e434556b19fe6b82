//! Lifecycle events and consents. Events may be recorded late with an `occurred_at` in the
//! past; consents are events too, carrying the policy version and the channel they came by.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::Problem;
use crate::error::{ApiError, ApiJson};
use crate::routes::subjects::parse_subject;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use ombud_core::EventKind;
use ombud_policy::model::LegalBasis;
use ombud_store::model::{NewEvent, Role, StoredEvent};
use serde::{Deserialize, Serialize};

const ACTORS: &[Role] = &[Role::Admin, Role::Dpo, Role::Agent, Role::Service];
/// Clocks of callers differ a little; more than this ahead is a mistake.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    #[schema(value_type = ombud_core::EventKind)]
    pub kind: String,
    pub purpose: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub channel: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventList {
    pub events: Vec<StoredEvent>,
}

fn new_event(state: &AppState, body: EventBody) -> Result<NewEvent, ApiError> {
    let kind = EventKind::parse(&body.kind).ok_or_else(|| {
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::invalid("kind", format!("kind is one of {}", kinds.join(", ")))
    })?;
    if kind.is_review_decision() {
        // Deciding to keep or delete someone's data is the DPO's act, carried out at once.
        return Err(ApiError::invalid(
            "kind",
            "review decisions are made with POST /api/v1/retention/reviews, which carries them out",
        ));
    }
    if kind.is_desk_decision() {
        // Compelling grounds answer a person's objection: the rights desk records them with
        // the grounds and tells the person which (Art. 21(1)).
        return Err(ApiError::invalid(
            "kind",
            "compelling grounds are recorded when the objection is decided: POST /api/v1/requests/{id}/fulfil with `compelling_grounds`",
        ));
    }
    if kind == EventKind::RestrictionLifted {
        // The person must be told first (Art. 18(3)); that step records the lift itself.
        return Err(ApiError::invalid(
            "kind",
            "a restriction is lifted with POST /api/v1/subjects/{id}/restriction/lift, which tells the person before it ends",
        ));
    }
    if let Some(purpose) = &body.purpose {
        // Unsubscribing from, or objecting to, one kind of service message (news, surveys)
        // names that kind.
        let notice_kind = matches!(kind, EventKind::Unsubscribe | EventKind::Objection)
            && state.policy.notice_kinds.iter().any(|k| &k.key == purpose);
        if state.policy.activity(purpose).is_none() && !notice_kind {
            return Err(ApiError::invalid(
                "purpose",
                format!(
                    "`{purpose}` is not an activity of the policy (nor, for an unsubscribe or objection, a notice kind)"
                ),
            ));
        }
    } else if kind.requires_purpose() {
        return Err(ApiError::invalid(
            "purpose",
            format!("a {} event names the purpose it is about", kind.as_str()),
        ));
    }
    let now = state.clock.now();
    let occurred_at = body.occurred_at.unwrap_or(now);
    if occurred_at > now.saturating_add(CLOCK_SKEW).unwrap_or(now) {
        return Err(ApiError::invalid(
            "occurred_at",
            "occurred_at is in the future; events record what has happened",
        ));
    }
    if body
        .channel
        .as_ref()
        .is_some_and(|c| c.chars().count() > 100)
    {
        return Err(ApiError::invalid(
            "channel",
            "a channel is at most 100 characters, like `web-form` or `api`",
        ));
    }
    Ok(NewEvent {
        id: None,
        kind,
        purpose: body.purpose,
        occurred_at,
        channel: body.channel,
        policy_version: Some(state.policy.version.0.clone()),
    })
}

async fn record(
    state: &AppState,
    caller: &Caller,
    subject: &str,
    event: NewEvent,
) -> Result<(StatusCode, Json<StoredEvent>), ApiError> {
    let subject = parse_subject(subject)?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let stored = state
        .store(move |store| store.add_event(tenant, subject, &event, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/events", summary = "Record an event", description = "Records what happened to a person that retention, consent or notices count from: a contract started or ended, an account closed, consent given or withdrawn, an objection, a restriction, an unsubscribe. `occurred_at` defaults to now and may not be in the future.", tag = "events", security(("api_key" = [])), params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice"), ("id" = String, Path, description = "Subject id")), request_body = EventBody,
    responses((status = 201, description = "Recorded", body = StoredEvent), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn add_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EventBody>,
) -> Result<(StatusCode, Json<StoredEvent>), ApiError> {
    caller.require(ACTORS, "record events")?;
    let event = new_event(&state, body)?;
    record(&state, &caller, &id, event).await
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/events", summary = "List a person's events", description = "The person's events in the order they happened, with the channel and the policy version each was recorded under.", tag = "events", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The subject's events in the order they happened", body = EventList), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventList>, ApiError> {
    caller.require(ACTORS, "read events")?;
    let subject = parse_subject(&id)?;
    let tenant = caller.tenant;
    let events = state
        .store(move |store| {
            if store.subject_exists(tenant, subject)? {
                store.events(tenant, subject)
            } else {
                Err(ombud_store::StoreError::NotFound("subject"))
            }
        })
        .await?;
    Ok(Json(EventList { events }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    pub purpose: String,
    pub channel: Option<String>,
    pub occurred_at: Option<Timestamp>,
}

fn consent_purpose(state: &AppState, purpose: &str) -> Result<(), ApiError> {
    match state.policy.activity(purpose) {
        Some(activity) if activity.basis == Some(LegalBasis::Consent) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "purpose",
            format!(
                "`{purpose}` does not rest on consent, so there is no consent to give or withdraw"
            ),
        )),
        None => Err(ApiError::invalid(
            "purpose",
            format!("`{purpose}` is not an activity of the policy"),
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/consents", summary = "Record consent", description = "Records the person's consent to an activity whose legal basis is consent, with the channel and the policy version in force.", tag = "consents", security(("api_key" = [])), params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice"), ("id" = String, Path, description = "Subject id")), request_body = ConsentBody,
    responses((status = 201, description = "Consent recorded with the policy version", body = StoredEvent), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn give_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<(StatusCode, Json<StoredEvent>), ApiError> {
    caller.require(ACTORS, "record consent")?;
    consent_purpose(&state, &body.purpose)?;
    let event = new_event(
        &state,
        EventBody {
            kind: "consent_given".into(),
            purpose: Some(body.purpose),
            occurred_at: body.occurred_at,
            channel: body.channel,
        },
    )?;
    record(&state, &caller, &id, event).await
}

/// A withdrawal carries no body; how and when it came travel in the query string.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalQuery {
    pub channel: Option<String>,
    pub occurred_at: Option<Timestamp>,
}

#[utoipa::path(delete, path = "/api/v1/subjects/{id}/consents/{purpose}", summary = "Withdraw consent", description = "Records the withdrawal of the person's consent to the activity; processing for it stops at once and its records leave at the next sweep unless another purpose keeps them.", tag = "consents", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id"), ("purpose" = String, Path, description = "Activity id"), WithdrawalQuery),
    responses((status = 201, description = "Withdrawal recorded; effective at once", body = StoredEvent), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn withdraw_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, purpose)): Path<(String, String)>,
    ApiQuery(body): ApiQuery<WithdrawalQuery>,
) -> Result<(StatusCode, Json<StoredEvent>), ApiError> {
    caller.require(ACTORS, "record a consent withdrawal")?;
    consent_purpose(&state, &purpose)?;
    let event = new_event(
        &state,
        EventBody {
            kind: "consent_withdrawn".into(),
            purpose: Some(purpose),
            occurred_at: body.occurred_at,
            channel: body.channel,
        },
    )?;
    record(&state, &caller, &id, event).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentChange {
    pub given: bool,
    pub at: Timestamp,
    pub channel: Option<String>,
    pub policy_version: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentState {
    pub purpose: String,
    pub given: bool,
    pub since: Timestamp,
    pub history: Vec<ConsentChange>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentList {
    pub consents: Vec<ConsentState>,
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/consents", summary = "A person's consents", description = "For each consent-based activity of the policy, whether the person consents now and since when.", tag = "consents", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "Consent per purpose, with its history", body = ConsentList), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConsentList>, ApiError> {
    let Json(EventList { events }) = list_events(State(state), caller, Path(id)).await?;
    let mut consents: Vec<ConsentState> = Vec::new();
    for event in events.into_iter().filter(|e| {
        matches!(
            e.kind,
            EventKind::ConsentGiven | EventKind::ConsentWithdrawn
        )
    }) {
        let Some(purpose) = event.purpose.clone() else {
            continue;
        };
        let change = ConsentChange {
            given: event.kind == EventKind::ConsentGiven,
            at: event.occurred_at,
            channel: event.channel,
            policy_version: event.policy_version,
        };
        match consents.iter_mut().find(|c| c.purpose == purpose) {
            Some(consent) => {
                consent.given = change.given;
                consent.since = change.at;
                consent.history.push(change);
            }
            None => consents.push(ConsentState {
                purpose,
                given: change.given,
                since: change.at,
                history: vec![change],
            }),
        }
    }
    Ok(Json(ConsentList { consents }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftBody {
    /// When processing may resume; later than now, so the person is told first.
    pub effective_at: Timestamp,
    /// Why the restriction ends, in words the person is told.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/restriction/lift", summary = "Lift a restriction", description = "Ends a restriction of processing (Art. 18); the person is told before it is lifted, as Art. 18(3) requires.", tag = "events", security(("api_key" = [])), params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice"), ("id" = String, Path, description = "Subject id")), request_body = LiftBody,
    responses((status = 201, description = "The person was told (through the notice ledger) and the restriction ends at `effective_at` (Art. 18(3))", body = ombud_app::restriction::Lifted), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this, or the tenant decides on its own data", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not restricted, no address to tell the person, a time not after now, or no reason; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn lift_restriction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LiftBody>,
) -> Result<(StatusCode, Json<ombud_app::restriction::Lifted>), ApiError> {
    caller.require_decider(
        &[Role::Admin, Role::Dpo],
        state.operator,
        "lift a restriction",
    )?;
    let subject = parse_subject(&id)?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let time_zone = state.time_zone.clone();
    let lifting = ombud_app::restriction::Lifting {
        effective_at: body.effective_at,
        reason: body.reason,
    };
    let lifted = state
        .call(move |store, policy| {
            ombud_app::restriction::lift(
                store, policy, &time_zone, tenant, subject, lifting, &actor, now,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(lifted)))
}
