//! The audit log over HTTP: entries filtered by subject, actor, action and time, paged with an
//! opaque cursor, and verification of the chain.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiQuery;
use crate::error::Problem;
use crate::routes::subjects::parse_subject;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use ombud_store::audit::{AuditEntry, AuditFilter, Verification};
use ombud_store::model::Role;
use serde::{Deserialize, Serialize};

const AUDITORS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub subject: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn encode_cursor(seq: i64) -> String {
    format!("a{seq:x}")
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .strip_prefix('a')
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "cursor",
                "use the next_cursor of a previous page as it was given",
            )
        })
}

#[utoipa::path(get, path = "/api/v1/audit", summary = "Read the audit log", description = "Entries of the tenant's tamper-evident audit log, filtered by subject, actor, action and time, paged with `cursor` and `limit` (1 to 1000). Entries name ids, categories and purposes, never values.", tag = "audit", security(("api_key" = [])), params(AuditQuery),
    responses((status = 200, description = "Entries in chain order", body = AuditPage), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(AUDITORS, "read the audit log")?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 1000"));
    }
    if let (Some(from), Some(until)) = (query.from, query.until)
        && until <= from
    {
        return Err(ApiError::invalid("until", "until must be after from"));
    }
    let filter = AuditFilter {
        subject: query
            .subject
            .as_deref()
            .map(parse_subject)
            .transpose()
            .map_err(|_| ApiError::invalid("subject", "a subject id is a UUID"))?,
        actor: query.actor,
        action: query.action,
        from: query.from,
        until: query.until,
        after_seq: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let tenant = caller.tenant;
    let entries = state
        .store(move |store| store.audit_entries(tenant, &filter))
        .await?;
    let next_cursor = (entries.len() == limit)
        .then(|| entries.last().map(|e| encode_cursor(e.seq)))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", summary = "Verify the audit chain", description = "Recomputes the tenant's hash chain from its checkpoint and answers whether it is intact, or the first entry that does not match.", tag = "audit", security(("api_key" = [])),
    responses((status = 200, description = "Intact, or the first broken entry", body = Verification), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Verification>, ApiError> {
    caller.require(AUDITORS, "verify the audit log")?;
    let tenant = caller.tenant;
    Ok(Json(
        state.store(move |store| store.verify_audit(tenant)).await?,
    ))
}
