//! Who is calling: an API key in `Authorization: Bearer …`, its role, and the tenant it acts
//! in. An operator-wide key chooses a tenant with the `Ombud-Tenant` header; any other key acts
//! in its own tenant only, so objects of other tenants simply do not exist for it (404).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ombud_core::DataRole;
use ombud_store::Actor;
use ombud_store::crypto::api_secret_hash;
use ombud_store::model::{ApiKey, Role, TenantId};

pub const TENANT_HEADER: &str = "ombud-tenant";

#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    pub tenant: TenantId,
    /// Whether the operator holds this tenant's data as controller (its own) or as processor.
    pub data_role: DataRole,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key.id)
    }

    /// Refuses the call unless the key has one of `roles`.
    pub fn require(&self, roles: &[Role], doing: &str) -> Result<(), ApiError> {
        if roles.contains(&self.key.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "a key with role `{}` cannot {doing}; that needs one of: {}",
                self.key.role.as_str(),
                allowed.join(", ")
            )))
        }
    }

    /// For data the operator holds as processor the tenant is the controller and decides; an
    /// operator-wide key may read there and file, not decide.
    pub fn require_decider(
        &self,
        roles: &[Role],
        operator: TenantId,
        doing: &str,
    ) -> Result<(), ApiError> {
        self.require(roles, doing)?;
        if self.key.operator_wide && self.tenant != operator {
            return Err(ApiError::Forbidden(format!(
                "this tenant is the controller of its data and decides on it; use a key of the tenant to {doing}"
            )));
        }
        Ok(())
    }

    /// For what only the operator keeps (customers' contacts, change notices to customers): one
    /// of `roles`, acting in the operator's own tenant.
    pub fn require_operator_tenant(
        &self,
        roles: &[Role],
        operator: TenantId,
        kept: &str,
        doing: &str,
    ) -> Result<(), ApiError> {
        self.require(roles, doing)?;
        if self.tenant != operator {
            return Err(ApiError::Forbidden(format!(
                "{kept} are kept in the operator's tenant; use an operator key to {doing}"
            )));
        }
        Ok(())
    }

    pub fn require_operator_admin(&self, doing: &str) -> Result<(), ApiError> {
        self.require(&[Role::Admin], doing)?;
        if self.key.operator_wide {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only an operator-wide admin key can {doing}"
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("send an API key as `Authorization: Bearer <key>`".into())
            })?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".into())
            })?;
        let hash = api_secret_hash(secret);
        let key = match state.keys.get(&hash) {
            Some(key) => key,
            None => {
                let key = state
                    .store(move |store| store.api_key_by_hash(&hash))
                    .await?
                    .ok_or_else(|| {
                        ApiError::Unauthorized("the API key is unknown or revoked".into())
                    })?;
                state.keys.put(hash, key.clone());
                key
            }
        };
        let tenant = match parts.headers.get(TENANT_HEADER) {
            None => key.tenant,
            Some(value) => {
                let requested: TenantId = value
                    .to_str()
                    .ok()
                    .and_then(|text| text.trim().parse().ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "the {TENANT_HEADER} header must be a tenant id (a UUID)"
                        ))
                    })?;
                if requested != key.tenant && !key.operator_wide {
                    // Indistinguishable from a tenant that does not exist.
                    return Err(ApiError::NotFound("no tenant with that id".into()));
                }
                if state
                    .store(move |store| store.tenant(requested))
                    .await?
                    .is_none()
                {
                    return Err(ApiError::NotFound("no tenant with that id".into()));
                }
                requested
            }
        };
        let data_role = DataRole::of_tenant(tenant == state.operator);
        Ok(Caller {
            key,
            tenant,
            data_role,
        })
    }
}
