//! Retention over HTTP: the forecast of what leaves when, under which rule, and the review of
//! data a review rule keeps (prospects): who is due, and the decision to keep or delete.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use ombud_app::sweeper::{
    Forecast, ReviewDecision, ReviewDue, ReviewOutcome, ReviewRefusal, Sweep,
};
use ombud_store::model::Role;
use serde::{Deserialize, Serialize};

const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];
const DECIDERS: &[Role] = &[Role::Admin, Role::Dpo];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// How many days ahead, 1 to 3650 (default 90).
    #[param(minimum = 1, maximum = 3650)]
    pub days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/retention/forecast", summary = "Retention forecast", description = "What leaves and when over the next days, by category, rule and purpose, and what is held, restricted or waiting for review.", tag = "retention", security(("api_key" = [])), params(ForecastQuery),
    responses((status = 200, description = "Records leaving per day, category and rule; those past their end already; reviews due", body = Forecast),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn forecast(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ForecastQuery>,
) -> Result<Json<Forecast>, ApiError> {
    caller.require(READERS, "read the retention forecast")?;
    let days = window(query.days, 90)?;
    let forecast = sweep(&state, &caller, true, move |sweep| sweep.forecast(days)).await??;
    Ok(Json(forecast))
}

fn window(days: Option<i64>, default: i64) -> Result<i64, ApiError> {
    let days = days.unwrap_or(default);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid("days", "days is 1 to 3650"));
    }
    Ok(days)
}

/// Runs `work` over the caller's tenant on the blocking pool: sweeps read whole tenants.
async fn sweep<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    dry_run: bool,
    work: impl FnOnce(&Sweep<'_>) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (tenant, data_role) = (caller.tenant, caller.data_role);
    let now = state.clock.now();
    let inner = state.clone();
    tokio::task::spawn_blocking(move || {
        work(&Sweep {
            store: inner.store.as_ref(),
            policy: &inner.policy,
            time_zone: &inner.time_zone,
            tenant,
            data_role,
            now,
            dry_run,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the retention task did not finish: {e}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// Reviews falling due within this many days, 1 to 3650 (default 30); past ones always.
    #[param(minimum = 1, maximum = 3650)]
    pub days: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewList {
    /// Oldest due date first.
    pub reviews: Vec<ReviewDue>,
}

#[utoipa::path(get, path = "/api/v1/retention/reviews", summary = "Records due for review", description = "Records whose rule asks for a review before they go, with their due date.", tag = "retention", security(("api_key" = [])), params(ReviewQuery),
    responses((status = 200, description = "Records a review rule keeps whose review is due or falls due within the window", body = ReviewList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn reviews(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ReviewQuery>,
) -> Result<Json<ReviewList>, ApiError> {
    caller.require(READERS, "list the reviews due")?;
    let days = window(query.days, 30)?;
    let reviews = sweep(&state, &caller, true, move |sweep| sweep.reviews(days)).await??;
    Ok(Json(ReviewList { reviews }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The subject reviewed.
    pub subject: String,
    /// keep (the review period starts again) or delete (removed at once where nothing else
    /// keeps it).
    pub decision: ReviewDecision,
    /// Decide for this purpose only; every purpose under review when absent.
    pub purpose: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/retention/reviews", summary = "Decide a review", description = "Keeps records for another period or lets them go now; the decision is recorded as an event and audited.", tag = "retention", security(("api_key" = [])), request_body = ReviewBody,
    responses((status = 200, description = "Decided and carried out", body = ReviewOutcome),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or nothing of the subject is under review; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<ReviewOutcome>, ApiError> {
    caller.require_decider(DECIDERS, state.operator, "decide a review")?;
    let subject = body
        .subject
        .trim()
        .parse()
        .map(ombud_store::model::SubjectId)
        .map_err(|_| ApiError::invalid("subject", "a subject id is a UUID"))?;
    if let Some(purpose) = &body.purpose
        && state.policy.activity(purpose).is_none()
    {
        return Err(ApiError::invalid(
            "purpose",
            format!("`{purpose}` is not an activity of the policy"),
        ));
    }
    let actor = caller.actor();
    let outcome = sweep(&state, &caller, false, move |sweep| {
        sweep.decide_review(subject, body.purpose.as_deref(), body.decision, &actor)
    })
    .await?;
    match outcome {
        Ok(outcome) => Ok(Json(outcome)),
        Err(ReviewRefusal::NoSubject) => Err(ApiError::invalid(
            "subject",
            "no subject with that id in this tenant",
        )),
        Err(ReviewRefusal::NotUnderReview(message)) => Err(ApiError::invalid("subject", message)),
        Err(ReviewRefusal::Store(error)) => Err(error.into()),
    }
}
