//! The decision endpoint, the hot path: a mailer asks before every mail whether this person may
//! be contacted for this purpose now. It reads no records and so writes no audit entry.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiQuery;
use crate::error::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use ombud_app::metrics::DecisionLabels;
use ombud_core::facts::SubjectFacts;
use ombud_core::{Identity, decide_purpose};
use ombud_policy::model::Choice;
use ombud_store::model::Role;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    pub identity: Option<String>,
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub purpose: String,
    pub basis: Option<&'static str>,
    pub reason: String,
    pub message: String,
    /// Whether ombud knows the person at all; unknown people have given no consent.
    pub subject_known: bool,
}

#[utoipa::path(get, path = "/api/v1/check", summary = "Decide purpose-bound access", description = "Whether the person found by `identity` (kind:value) may be processed for `purpose` now, with the reasons: consent, objection, restriction and the policy's legal basis for the activity. Decides from the policy and the person's events; reads no values.", tag = "decisions", security(("api_key" = [])), params(CheckQuery),
    responses((status = 200, description = "Whether the purpose may use this person's data now, on which basis, and why", body = CheckAnswer), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CheckQuery>,
) -> Result<Json<CheckAnswer>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Dpo, Role::Agent, Role::Service],
        "ask for access decisions",
    )?;
    let identity = query.identity.ok_or_else(|| {
        ApiError::invalid(
            "identity",
            "name the person: ?identity=kind:value, like ?identity=email:ana@example.com",
        )
    })?;
    let identity = Identity::parse_tagged_in(&identity, &state.policy.controller.country)
        .map_err(|e| ApiError::invalid("identity", e.to_string()))?;
    let purpose = query.purpose.ok_or_else(|| {
        ApiError::invalid(
            "purpose",
            "name the purpose: ?purpose=<activity id of the policy>",
        )
    })?;
    state.purpose(&purpose)?;
    let tenant = caller.tenant;
    let key = state.facts.key(tenant, &identity);
    // SQLite reads the generation locally; elsewhere it comes from a round shared with the
    // decisions waiting now. Either way a hit needs no blocking task.
    let generation = match state.store.local_facts_generation(tenant)? {
        Some(generation) => Some(generation),
        None => state.generations.current(tenant).await,
    };
    let facts = match generation.and_then(|g| state.facts.get(key, g)) {
        Some(facts) => facts,
        None => {
            let cache = state.facts.clone();
            state
                .store(move |store| {
                    // Read after the generation: facts newer than the generation they are
                    // kept under only cost a miss later, never a stale answer.
                    let facts = store
                        .facts_by_identity(tenant, &identity)?
                        .map(|(_, events)| {
                            Arc::new(SubjectFacts::new(events.iter().map(|e| e.fact()).collect()))
                        });
                    if let Some(generation) = generation {
                        cache.put(key, generation, facts.clone());
                    }
                    Ok(facts)
                })
                .await?
        }
    };
    let subject_known = facts.is_some();
    let facts = facts.unwrap_or_else(|| Arc::new(SubjectFacts::new(Vec::new())));
    let decision = decide_purpose(
        &state.policy,
        &facts,
        &purpose,
        caller.data_role,
        state.clock.now(),
    );
    state
        .metrics
        .decisions
        .get_or_create(&DecisionLabels {
            allowed: decision.allowed,
        })
        .inc();
    let reason = serde_json::to_value(&decision.reason)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(Json(CheckAnswer {
        allowed: decision.allowed,
        message: decision.message(),
        purpose: decision.purpose,
        basis: decision.basis.map(Choice::as_str),
        reason,
        subject_known,
    }))
}
