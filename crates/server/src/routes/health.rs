//! Liveness, readiness and metrics: unauthenticated, and free of any tenant's data. Metrics
//! are served on their own listener.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

/// The process is up.
#[utoipa::path(get, path = "/healthz", summary = "Liveness", description = "Answers 200 while the process runs; it touches nothing else.", tag = "operations", responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can reach its store.
#[utoipa::path(get, path = "/readyz", summary = "Readiness", description = "Answers 200 when the store answers, 503 when it does not: for a load balancer's health check.", tag = "operations", responses((status = 200, description = "The store answers", body = String, content_type = "text/plain"), (status = 503, description = "The store does not answer", body = String, content_type = "text/plain")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let operator = state.operator;
    match state.store(move |store| store.tenant(operator)).await {
        Ok(Some(_)) => (StatusCode::OK, "ready\n"),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        ),
    }
}

/// Prometheus metrics, on the metrics listener only (`--metrics-bind`), so not in the API's
/// OpenAPI document.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
