//! Tenants and API keys. Creating tenants is the operator's; keys are managed by admins within
//! their scope. A new key's secret appears once, in the response that creates it.

use crate::auth::Caller;
use crate::error::Problem;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ombud_store::crypto::{api_secret_hash, new_api_secret};
use ombud_store::model::{ApiKey, ApiKeyId, NewApiKey, Role, Tenant, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/tenants", summary = "Create a customer tenant", description = "Creates a tenant for a customer the operator processes data for. The name is one line of 1 to 200 characters without control or direction characters. Only an operator-wide admin key may create tenants.", tag = "tenants", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")), request_body = NewTenantBody,
    responses((status = 201, description = "Created", body = Tenant), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTenantBody>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    caller.require_operator_admin("create tenants")?;
    let name = ombud_core::text::one_line_name("name", &body.name, 200)
        .map_err(|message| ApiError::invalid("name", message))?;
    let (actor, now) = (caller.actor(), state.clock.now());
    let tenant = state
        .store(move |store| store.create_tenant(&name, false, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantList {
    pub tenants: Vec<Tenant>,
}

#[utoipa::path(get, path = "/api/v1/tenants", summary = "List tenants", description = "The tenants the key may see: every tenant for an operator-wide key, its own tenant otherwise.", tag = "tenants", security(("api_key" = [])),
    responses((status = 200, description = "The tenants the key may see", body = TenantList), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TenantList>, ApiError> {
    caller.require(&[Role::Admin, Role::Dpo, Role::Auditor], "list tenants")?;
    let (all, own) = (caller.key.operator_wide, caller.tenant);
    let tenants = state
        .store(move |store| {
            let tenants = store.tenants()?;
            Ok(tenants.into_iter().filter(|t| all || t.id == own).collect())
        })
        .await?;
    Ok(Json(TenantList { tenants }))
}

/// A field a PATCH may set, clear (`null` or "") or leave out.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// What to change of a customer tenant; a field left out stays as it is, `null` or "" clears it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantChanges {
    /// The customer's legal name, as controller.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// The name the portal's header shows.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub display_name: Option<Option<String>>,
    /// `#rrggbb`, dark enough for white text (contrast at least 4.5:1).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub registration: Option<Option<String>>,
    /// An email address where the customer's people write about their data.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub contact: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub dpo: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub authority: Option<Option<String>>,
    /// An https address.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub authority_website: Option<Option<String>>,
    /// The customer's own privacy notice, an https address.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub notice_url: Option<Option<String>>,
}

impl From<TenantChanges> for ombud_app::tenants::Changes {
    fn from(body: TenantChanges) -> Self {
        ombud_app::tenants::Changes {
            name: body.name,
            display_name: body.display_name,
            colour: body.colour,
            address: body.address,
            registration: body.registration,
            contact: body.contact,
            dpo: body.dpo,
            authority: body.authority,
            authority_website: body.authority_website,
            notice_url: body.notice_url,
        }
    }
}

/// The tenant `id` as `caller` may see it: any for an operator-wide key, its own otherwise;
/// another tenant is answered as unknown, so ids cannot be probed.
async fn visible_tenant(state: &AppState, caller: &Caller, id: &str) -> Result<Tenant, ApiError> {
    let id = parse_tenant(id)?;
    if !caller.key.operator_wide && caller.key.tenant != id {
        return Err(ApiError::NotFound("no tenant with that id".into()));
    }
    state
        .store(move |store| store.tenant(id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no tenant with that id".into()))
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}", summary = "Show a tenant", description = "One tenant with its profile: for a customer, its details as controller and its portal's display name and colour. An operator-wide key sees every tenant, any other key its own.", tag = "tenants", security(("api_key" = [])),
    params(("id" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant", body = Tenant), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such tenant the key may see", body = Problem, content_type = "application/problem+json")))]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    caller.require(&[Role::Admin, Role::Dpo, Role::Auditor], "read tenants")?;
    Ok(Json(visible_tenant(&state, &caller, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{id}", summary = "Update a customer tenant", description = "Sets a customer's details as controller (name, address, registration, privacy contact, DPO, supervisory authority, link to its own privacy notice) and its portal's display name and colour. Its portal and mails then name the customer as controller and the operator as the processor that answers for it. A field left out stays; `null` or an empty string clears it. Every value is checked before anything is written; the audit log names the fields changed, never their values. An operator-wide admin may update any customer; a customer's own admin key its own tenant. The operator's tenant takes its details from privacy.toml.", tag = "tenants", security(("api_key" = [])),
    params(("id" = String, Path, description = "The customer tenant's id"), ("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")), request_body = TenantChanges,
    responses((status = 200, description = "The tenant as updated", body = Tenant), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such tenant the key may see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantChanges>,
) -> Result<Json<Tenant>, ApiError> {
    caller.require(&[Role::Admin], "update tenants")?;
    let tenant = visible_tenant(&state, &caller, &id).await?;
    let (actor, now) = (caller.actor(), state.clock.now());
    let changes = body.into();
    let updated = state
        .store(move |store| {
            Ok(ombud_app::tenants::update(
                store, tenant.id, changes, &actor, now,
            ))
        })
        .await??;
    Ok(Json(updated))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    pub name: String,
    #[schema(value_type = ombud_store::model::Role)]
    pub role: String,
    /// Operator-wide keys act in every tenant; only an operator-wide admin can make one.
    #[serde(default)]
    pub operator_wide: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Shown once. Store it now: only its hash is kept.
    pub secret: String,
}

#[utoipa::path(post, path = "/api/v1/keys", summary = "Create an API key", description = "Creates a key in the caller's tenant with a role (admin, dpo, agent, service, auditor). The secret is in this response only; the store keeps its hash. A replay with the same Idempotency-Key answers 409 with the id, never the secret again.", tag = "keys", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")), request_body = NewKeyBody,
    responses((status = 201, description = "Created; the secret is in this response only", body = CreatedKey), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    caller.require(&[Role::Admin], "create API keys")?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::invalid("role", "role is one of admin, dpo, agent, service, auditor")
    })?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "give the key a name of 1 to 200 characters that says who uses it",
        ));
    }
    if let Some(c) = ombud_core::text::refused_char(&name, false) {
        return Err(ApiError::invalid(
            "name",
            ombud_core::text::refusal("name", c),
        ));
    }
    if body.operator_wide && !(caller.key.operator_wide && caller.tenant == state.operator) {
        return Err(ApiError::Forbidden("only an operator-wide admin key, acting in the operator tenant, can create operator-wide keys".into()));
    }
    let secret = new_api_secret().map_err(|e| ApiError::Internal(e.to_string()))?;
    let new = NewApiKey {
        tenant: caller.tenant,
        operator_wide: body.operator_wide,
        name,
        role,
        secret_hash: api_secret_hash(&secret),
    };
    let (actor, now) = (caller.actor(), state.clock.now());
    let key = state
        .store(move |store| store.create_api_key(new, &actor, now))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key,
            secret: secret.to_string(),
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub keys: Vec<ApiKey>,
}

#[utoipa::path(get, path = "/api/v1/keys", summary = "List API keys", description = "The keys of the caller's tenant with their roles and whether they are revoked; never a secret.", tag = "keys", security(("api_key" = [])),
    responses((status = 200, description = "The tenant's keys, without secrets", body = KeyList), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<KeyList>, ApiError> {
    caller.require(&[Role::Admin], "list API keys")?;
    let tenant = caller.tenant;
    let keys = state.store(move |store| store.api_keys(tenant)).await?;
    Ok(Json(KeyList { keys }))
}

#[utoipa::path(delete, path = "/api/v1/keys/{id}", summary = "Revoke an API key", description = "Revokes a key at once; every replica refuses it within a second. The revocation is audited.", tag = "keys", security(("api_key" = [])), params(("id" = String, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "revoke API keys")?;
    let id: ApiKeyId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no API key with that id".into()))?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    if state
        .store(move |store| store.revoke_api_key(tenant, id, &actor, now))
        .await?
    {
        state.keys.evict(id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no active API key with that id".into()))
    }
}

pub fn parse_tenant(text: &str) -> Result<TenantId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound("no tenant with that id".into()))
}
