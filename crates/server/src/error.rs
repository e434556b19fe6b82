//! One place decides the status and the RFC 9457 body of every error. 4xx bodies say what to
//! fix; 5xx bodies carry an error id only, and the cause goes to the log under that id.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ombud_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        field: Option<String>,
    },
    #[error("{0}")]
    BadRequest(String),
    /// Asked again too soon; the response says after how many seconds (`Retry-After`).
    #[error("{detail}")]
    TooSoon { detail: String, retry_after: u64 },
    /// Something the answer depends on (a dataset's database) cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Invalid { .. } => "invalid",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::TooSoon { .. } => "too-soon",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (detail, error_id) = match &self {
            ApiError::Internal(cause) => {
                let id = uuid::Uuid::now_v7().simple().to_string();
                // The cause names no personal data: store errors carry ids and kinds only.
                tracing::error!(error_id = %id, cause = %cause, "request failed");
                (
                    "something went wrong on our side; quote the error id when you report it"
                        .to_owned(),
                    Some(id),
                )
            }
            other => (other.to_string(), None),
        };
        let field = match &self {
            ApiError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        let problem = Problem {
            kind: format!("urn:ombud:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail,
            field,
            error_id,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooSoon { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(format!("no {what} with that id")),
            StoreError::IdentityTaken(kind) => ApiError::Conflict(format!(
                "this {kind} already belongs to another subject; look it up with GET /api/v1/subjects?identity={kind}:…"
            )),
            StoreError::OperatorExists => {
                ApiError::Conflict("the operator tenant exists already".into())
            }
            // A versioned write lost to a concurrent one: the client's to retry, not our fault.
            StoreError::Conflict(what) => ApiError::Conflict(format!(
                "the {what} changed while this step ran; read it again and retry"
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ombud_app::notices::NoticeError> for ApiError {
    fn from(error: ombud_app::notices::NoticeError) -> Self {
        match error {
            ombud_app::notices::NoticeError::Invalid { field, message } => {
                ApiError::invalid(field, message)
            }
            ombud_app::notices::NoticeError::Store(e) => e.into(),
        }
    }
}

impl From<ombud_app::tenants::TenantError> for ApiError {
    fn from(error: ombud_app::tenants::TenantError) -> Self {
        match error {
            ombud_app::tenants::TenantError::Invalid { field, message } => {
                ApiError::invalid(field, message)
            }
            ombud_app::tenants::TenantError::Store(e) => e.into(),
        }
    }
}

impl From<ombud_app::breach::ScopeError> for ApiError {
    fn from(error: ombud_app::breach::ScopeError) -> Self {
        match error {
            ombud_app::breach::ScopeError::Refused(field, message) => {
                ApiError::invalid(field, message)
            }
            ombud_app::breach::ScopeError::Store(e) => e.into(),
        }
    }
}

impl From<ombud_app::rights::DeskError> for ApiError {
    fn from(error: ombud_app::rights::DeskError) -> Self {
        use ombud_app::rights::DeskError;
        match error {
            DeskError::Invalid { field, message } => ApiError::invalid(field, message),
            DeskError::NotFound => ApiError::NotFound("no request with that id".into()),
            // Missing or oversized input is the caller's to fix; the rest is the request's state.
            DeskError::Rule(rule @ ombud_core::RequestError::ReasonMissing) => {
                ApiError::invalid("reason", rule.to_string())
            }
            DeskError::Rule(rule @ ombud_core::RequestError::ExtensionTooLong(_)) => {
                ApiError::invalid("by", rule.to_string())
            }
            DeskError::Rule(rule) => ApiError::Conflict(rule.to_string()),
            DeskError::Verification(message) => ApiError::Forbidden(message),
            DeskError::Forbidden(message) => ApiError::Forbidden(message),
            DeskError::TooSoon { message, wait } => ApiError::TooSoon {
                detail: message,
                retry_after: u64::try_from(wait.as_secs()).unwrap_or(0).max(1),
            },
            DeskError::Unavailable(message) => ApiError::Unavailable(message),
            DeskError::Store(error) => error.into(),
        }
    }
}

/// `Query<T>` whose rejections are problem documents naming the parameter and the fix.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        // serde's message reads "Failed to deserialize query string: <field>: <what is wrong>"
        // for a bad value, and names the key itself for an unknown or missing one.
        let text = rejection.body_text();
        let reason = text
            .split_once("query string: ")
            .map_or(text.as_str(), |(_, rest)| rest);
        let field = reason.split_once(": ").and_then(|(field, _)| {
            field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                .then(|| field.to_owned())
        });
        ApiError::Invalid {
            detail: format!("the query string: {reason}"),
            field,
        }
    }
}

/// `Json<T>` whose rejections are problem documents naming what to fix.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => ApiError::Invalid {
                detail: error.body_text(),
                field: None,
            },
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", error.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}
