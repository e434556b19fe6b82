//! Retention over HTTP: the forecast of what leaves when, under which rule.

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::sweeper::{Forecast, Sweep};
use axum::Json;
use axum::extract::{Query, State};
use ombud_store::model::Role;
use serde::Deserialize;

const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// How many days ahead, 1 to 3650 (default 90).
    pub days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/retention/forecast", tag = "retention", security(("api_key" = [])), params(ForecastQuery),
    responses((status = 200, description = "Records leaving per day, category and rule; those past their end already; reviews due", body = Forecast),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn forecast(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ForecastQuery>,
) -> Result<Json<Forecast>, ApiError> {
    caller.require(READERS, "read the retention forecast")?;
    let days = query.days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid("days", "days is 1 to 3650"));
    }
    let (tenant, data_role) = (caller.tenant, caller.data_role);
    let now = state.clock.now();
    let inner = state.clone();
    let forecast = tokio::task::spawn_blocking(move || {
        Sweep {
            store: inner.store.as_ref(),
            policy: &inner.policy,
            time_zone: &inner.time_zone,
            tenant,
            data_role,
            now,
            dry_run: true,
        }
        .forecast(days)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the forecast did not finish: {e}")))??;
    Ok(Json(forecast))
}
