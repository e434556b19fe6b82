//! The promise check over HTTP: the running system against the notice rendered from the
//! policy in force, run on request. It names every tenant's broken promises (tenant, request
//! and incident ids), so only the operator's admins, DPOs and auditors read it, from the
//! operator's tenant.

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use ombud_app::promises::{Datasets, PromiseError, PromiseReport};
use ombud_store::model::Role;

impl From<PromiseError> for ApiError {
    fn from(error: PromiseError) -> Self {
        match error {
            PromiseError::Store(e) => e.into(),
            // A dataset's database that cannot be reached leaves its promises unchecked.
            PromiseError::Connect(e) => ApiError::Unavailable(e.message),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/promises", summary = "Check the notice's promises", description = "Runs the promise check now: retention in the vault and the connected datasets, reviews, the audit log's keep, request deadlines, breach notice, and personal data the datasets do not declare. Each broken promise comes with the notice's sentence, a count and where to look (ids and names, never values).", tag = "records", security(("api_key" = [])),
    responses((status = 200, description = "What the check found; `broken` is empty when every promise is kept", body = PromiseReport),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, DPO or auditor key of the operator's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dataset's database could not be reached", body = Problem, content_type = "application/problem+json")))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PromiseReport>, ApiError> {
    caller.require_operator_tenant(
        &[Role::Admin, Role::Dpo, Role::Auditor],
        state.operator,
        "the promise check",
        "check the notice's promises",
    )?;
    let (connectors, outbound, time_zone, now) = (
        std::sync::Arc::clone(&state.connectors),
        std::sync::Arc::clone(&state.outbound),
        state.time_zone.clone(),
        state.clock.now(),
    );
    let report = state
        .call(move |store, policy| {
            let datasets = (!connectors.datasets().is_empty()).then_some(Datasets {
                connectors: &connectors,
                sample: ombud_connect::discover::DEFAULT_SAMPLE,
            });
            ombud_app::promises::check(store, policy, &time_zone, datasets, &outbound, now)
        })
        .await?;
    Ok(Json(report))
}
