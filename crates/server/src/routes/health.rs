//! Liveness, readiness and metrics: unauthenticated, and free of any tenant's data.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can reach its store.
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

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
