//! The Article 30 record over HTTP: the policy's record with one 30(2) entry per customer, each
//! naming that customer as the controller (Art. 30(2)(a)). It names customers and their
//! contacts, so only the operator's admins and DPOs read it, from the operator's tenant.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use ombud_store::model::Role;
use serde::Deserialize;

/// The forms the record of processing comes in.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RecordFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RopaQuery {
    /// `json` (the default) or `csv`.
    #[param(value_type = Option<RecordFormat>, inline)]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/ropa", summary = "The record of processing activities", description = "The Article 30 record from the policy and the tenants, as JSON or CSV: the operator's own activities as controller and, per customer, the processing it does as processor.", tag = "records", security(("api_key" = [])), params(RopaQuery),
    responses((status = 200, description = "The record of processing activities: 30(1) entries with the operator as controller, and a 30(2) entry per customer and processor activity with the customer as controller and the operator as processor; CSV with `?format=csv`", content(
            (serde_json::Value = "application/json"),
            (String = "text/csv"),
        )),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin or DPO key of the operator's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`format` is neither json nor csv", body = Problem, content_type = "application/problem+json")))]
pub async fn ropa(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RopaQuery>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_operator_tenant(
        &[Role::Admin, Role::Dpo],
        state.operator,
        "records of processing",
        "read the record of processing activities",
    )?;
    let csv = match query.format.as_deref().map(str::trim) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("`{other}`: the record comes as `json` or `csv`"),
            ));
        }
    };
    let (policy, operator, now) = (state.policy.clone(), state.operator, state.clock.now());
    let body = state
        .call(move |store, _| ombud_app::ropa::render(store, &policy, operator, csv, now))
        .await?;
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body))
}
