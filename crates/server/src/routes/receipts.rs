//! Signed receipts over HTTP: the public keys that verify them (no key needed), a request's
//! receipt, the tenant's receipts of sweep runs and audit-chain heads, and a check of a
//! receipt kept earlier against the keys and the audit chain as they are now.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiQuery, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use jiff::Timestamp;
use ombud_app::receipts::{ChainCheck, Jwks};
use ombud_app::rights::Outcome;
use ombud_store::model::Role;
use ombud_store::receipts::{ReceiptFilter, ReceiptKind};
use serde::{Deserialize, Serialize};

const HANDLERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Agent];
const AUDITORS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

/// A receipt with its payload read out (the payload is what the signature covers).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    /// The receipt: a JWS (RFC 7515) in compact serialisation, EdDSA over Ed25519.
    pub receipt: String,
    /// The key that signed it, as published at `/.well-known/ombud-receipt-keys.json`.
    pub kid: String,
    /// The signed payload (docs/receipts.md).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

fn view(jws: &str, keys: &Jwks) -> Result<ReceiptView, ApiError> {
    let payload = ombud_app::receipts::verify(jws, keys).map_err(|e| {
        ApiError::Internal(format!(
            "a stored receipt does not verify against the published keys: {e}"
        ))
    })?;
    Ok(ReceiptView {
        receipt: jws.to_owned(),
        kid: ombud_app::receipts::key_id(jws).unwrap_or_default(),
        payload: serde_json::to_value(payload).unwrap_or_default(),
    })
}

async fn published(state: &AppState) -> Result<Jwks, ApiError> {
    let keys = state.store(|store| store.receipt_keys()).await?;
    Ok(Jwks::published(&keys))
}

#[utoipa::path(get, path = "/.well-known/ombud-receipt-keys.json", summary = "Receipt keys", description = "The public keys receipts are signed with, as a JSON Web Key Set (Ed25519, RFC 8037). A retired key is no longer listed, so what it signed stops verifying. No API key needed.", tag = "receipts",
    responses((status = 200, description = "The keys in use", body = Jwks, content_type = "application/jwk-set+json")))]
pub async fn keys(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let keys = published(&state).await?;
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::CONTENT_TYPE, "application/jwk-set+json"),
        ],
        serde_json::to_string(&keys).unwrap_or_default(),
    ))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/receipt", summary = "A request's receipt", description = "The signed receipt of a fulfilled request: what was done (counts per category and table, what was kept, under which law, until when), when, under which policy version and the tenant's audit-chain head. The person's answer mail carries the same receipt.", tag = "receipts", security(("api_key" = [])), params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The receipt", body = ReceiptView),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in the caller's tenant, or it has no receipt (not fulfilled)", body = Problem, content_type = "application/problem+json")))]
pub async fn for_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    caller.require(HANDLERS, "read requests")?;
    let id: ombud_store::requests::RequestId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no request with that id".into()))?;
    let tenant = caller.tenant;
    let request = state.desk_call(move |desk| desk.get(tenant, id)).await?;
    let receipt = request
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
        .and_then(|o| o.receipt)
        .ok_or_else(|| {
            ApiError::NotFound(
                "this request has no receipt: a receipt is issued when a request is fulfilled"
                    .into(),
            )
        })?;
    Ok(Json(view(&receipt, &published(&state).await?)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// sweep or audit_head; both when absent.
    pub kind: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredReceiptView {
    pub id: uuid::Uuid,
    /// sweep or audit_head.
    pub kind: String,
    /// What it is a receipt of: the sweep run's time, or the day whose chain head it seals.
    pub about: String,
    pub issued_at: Timestamp,
    #[serde(flatten)]
    pub receipt: ReceiptView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptPage {
    pub receipts: Vec<StoredReceiptView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/receipts", summary = "Receipts of sweeps and chain heads", description = "The tenant's signed receipts of sweep runs (one for each run that removed anything, and one a day otherwise) and of its audit-chain head at the end of each day, newest first.", tag = "receipts", security(("api_key" = [])), params(ReceiptQuery),
    responses((status = 200, description = "Receipts, newest first", body = ReceiptPage),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ReceiptQuery>,
) -> Result<Json<ReceiptPage>, ApiError> {
    caller.require(AUDITORS, "read receipts")?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 500"));
    }
    let kind = query
        .kind
        .as_deref()
        .map(|k| {
            ReceiptKind::parse(k)
                .ok_or_else(|| ApiError::invalid("kind", "kind is sweep or audit_head"))
        })
        .transpose()?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| {
            c.strip_prefix('r')
                .and_then(|id| uuid::Uuid::try_parse(id).ok())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "cursor",
                        "use the next_cursor of a previous page as it was given",
                    )
                })
        })
        .transpose()?;
    let tenant = caller.tenant;
    let filter = ReceiptFilter {
        kind,
        before,
        limit,
    };
    let receipts = state
        .store(move |store| store.receipts(tenant, &filter))
        .await?;
    let keys = published(&state).await?;
    let next_cursor = (receipts.len() == limit)
        .then(|| receipts.last().map(|r| format!("r{}", r.id.simple())))
        .flatten();
    Ok(Json(ReceiptPage {
        receipts: receipts
            .iter()
            .map(|r| {
                Ok(StoredReceiptView {
                    id: r.id,
                    kind: r.kind.as_str().to_owned(),
                    about: r.about.clone(),
                    issued_at: r.issued_at,
                    receipt: view(&r.jws, &keys)?,
                })
            })
            .collect::<Result<_, ApiError>>()?,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// A receipt as it was handed out: the compact JWS, or the text of a mail with it
    /// between its BEGIN and END lines.
    pub receipt: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptCheck {
    /// Whether the signature verifies against the keys published now.
    pub signature: String,
    pub kid: String,
    /// For a receipt of this tenant: whether its audit chain still holds what the receipt's
    /// chain head saw.
    pub chain: ChainCheck,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[utoipa::path(post, path = "/api/v1/receipts/check", summary = "Check a receipt kept earlier", description = "Verifies a receipt's signature against the keys published now and checks the tenant's audit chain against the chain head it carries: whether the chain verifies and the entry the receipt saw last still has the hash it signed, so that no entry before it was changed since.", tag = "receipts", security(("api_key" = [])), request_body = CheckBody,
    responses((status = 200, description = "The signature holds; `chain` says whether the audit chain still does", body = ReceiptCheck),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The receipt is of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The receipt is malformed, or its signature does not verify (`field` is receipt)", body = Problem, content_type = "application/problem+json")))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<ReceiptCheck>, ApiError> {
    caller.require(AUDITORS, "check receipts")?;
    let keys = published(&state).await?;
    let jws = ombud_app::receipts::compact(&body.receipt);
    let payload = ombud_app::receipts::verify(&jws, &keys)
        .map_err(|e| ApiError::invalid("receipt", e.to_string()))?;
    if payload.tenant != caller.tenant.0 {
        return Err(ApiError::NotFound(
            "no receipt of this tenant: the receipt names another".into(),
        ));
    }
    let (tenant, head) = (caller.tenant, payload.audit_head.clone());
    let chain = state
        .store(move |store| ombud_app::receipts::check_chain(store, tenant, &head))
        .await?;
    Ok(Json(ReceiptCheck {
        signature: "valid".into(),
        kid: ombud_app::receipts::key_id(&jws).unwrap_or_default(),
        chain,
        payload: serde_json::to_value(payload).unwrap_or_default(),
    }))
}
