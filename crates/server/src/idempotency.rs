//! `Idempotency-Key` on POST: the first request with a key runs and its successful response is
//! kept for a day; a repeat with the same key and the same request gets that response again
//! (`Idempotency-Replayed: true`) instead of running twice, so a retried import or request is
//! never applied twice. Keys belong to the API key that sent them: another key with the same
//! header value runs its own request and never sees the stored answer. The stored answer is
//! sealed (the store seals it under the tenant's keyring), and a secret in it (a new API key's)
//! is never kept: its replay answers 409 with the id.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ombud_store::model::Idempotency;

pub const HEADER: &str = "idempotency-key";
/// Request and stored response bodies are bounded; the API takes no larger ones.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    match run_once(state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(state: AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Idempotency-Key is 1 to 255 visible ASCII characters, like a UUID".into(),
            )
            .into_response()
        })?;
    let (mut parts, body) = request.into_parts();
    let caller = Caller::from_request_parts(&mut parts, &state)
        .await
        .map_err(IntoResponse::into_response)?;
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::BadRequest(format!(
            "the body is larger than {} MiB",
            MAX_BODY / 1024 / 1024
        ))
        .into_response()
    })?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(parts.uri.to_string().as_bytes());
    hasher.update(&bytes);
    let request_hash = *hasher.finalize().as_bytes();

    // Bound to the API key that sent it: a replay is only ever the caller's own answer.
    let key = format!("{}:{key}", caller.key.id);
    let (tenant, now, claim_key) = (caller.tenant, state.clock.now(), key.clone());
    let outcome = state
        .store(move |store| store.claim_idempotency_key(tenant, &claim_key, &request_hash, now))
        .await
        .map_err(IntoResponse::into_response)?;
    match outcome {
        Idempotency::Claimed => {}
        Idempotency::InFlight => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still running; retry once it has finished"
                    .into(),
            )
            .into_response());
        }
        Idempotency::Mismatch => {
            return Err(ApiError::Invalid {
                detail: "this Idempotency-Key was used for a different request; use a new key for a new request".into(),
                field: Some("Idempotency-Key".into()),
            }
            .into_response());
        }
        Idempotency::Unreadable { status } => {
            return Err(ApiError::Conflict(format!(
                "the request with this Idempotency-Key ran already (status {status}); its answer is no longer kept, so use a new key to run it again"
            ))
            .into_response());
        }
        Idempotency::Done { status, body } => {
            if let Some(id) = withheld(&body) {
                return Err(ApiError::Conflict(format!(
                    "the first request with this Idempotency-Key created `{id}`; its secret was shown once and is never shown again"
                ))
                .into_response());
            }
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
                .headers_mut()
                .insert("idempotency-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let status = parts.status;
    let stored = without_secret(&body);
    let recorded = state
        .store(move |store| {
            if status.is_success() {
                store.complete_idempotency_key(tenant, &key, status.as_u16(), &stored)
            } else {
                // A refused request changed nothing: a corrected retry with the same key may run.
                store.release_idempotency_key(tenant, &key)
            }
        })
        .await;
    if let Err(error) = recorded {
        // The response still goes out; the claim lapses after a few minutes and a retry runs.
        tracing::warn!(error = %error, "could not record the outcome of an idempotent request");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The response as it may be kept: a JSON object with a `secret` (a new API key's) keeps only
/// that it had one, so the secret exists nowhere but in the first answer.
fn without_secret(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut object)) if object.contains_key("secret") => {
            object.remove("secret");
            object.insert("secret_withheld".into(), serde_json::Value::Bool(true));
            serde_json::to_vec(&object).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

/// For a kept answer whose secret was withheld: the id of what the first request created.
fn withheld(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("secret_withheld") != Some(&serde_json::Value::Bool(true)) {
        return None;
    }
    Some(
        value
            .get("id")
            .and_then(|id| id.as_str())
            .unwrap_or("-")
            .to_owned(),
    )
}
