//! Tenants and what belongs to a tenant as a whole: its API keys (stored by the hash of their
//! secret), the policy versions it loaded, and the idempotency keys of its requests.

use crate::model::{ApiKey, ApiKeyId, Idempotency, NewApiKey, Tenant, TenantId, TenantProfile};
use crate::{Actor, Result};
use jiff::Timestamp;

/// What the store keeps of tenants, their API keys, the policy versions they loaded and their
/// idempotency keys. Each backend implements it in `sqlite/tenants.rs` and `postgres/tenants.rs`;
/// callers reach it through [`crate::Store`].
pub trait Tenants {
    fn create_tenant(
        &self, name: &str, operator: bool, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant>;
    fn tenants(&self) -> Result<Vec<Tenant>>;
    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>>;
    /// Sets a tenant's name and profile, audited with the names of the fields that changed;
    /// nothing is written or audited when nothing changed. `NotFound` for an unknown tenant.
    fn update_tenant(
        &self, id: TenantId, name: &str, profile: &TenantProfile, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant>;
    fn create_api_key(&self, key: NewApiKey, actor: &Actor, at: Timestamp) -> Result<ApiKey>;
    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes a key; `false` when the tenant has no such key.
    fn revoke_api_key(
        &self, tenant: TenantId, id: ApiKeyId, actor: &Actor, at: Timestamp,
    ) -> Result<bool>;
    /// The unrevoked key whose secret hashes to `secret_hash`.
    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>>;
    /// Keeps a policy version (its hash and text) the first time it is loaded; `true` when new.
    fn keep_policy_version(
        &self, tenant: TenantId, version: &str, source: &str, actor: &Actor, at: Timestamp,
    ) -> Result<bool>;
    /// The versions kept, oldest first, without their text.
    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>>;
    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>>;
    /// Claims an Idempotency-Key for a request (identified by `request_hash`).
    fn claim_idempotency_key(
        &self, tenant: TenantId, key: &str, request_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Idempotency>;
    /// Stores the response of the request that claimed `key`.
    fn complete_idempotency_key(
        &self, tenant: TenantId, key: &str, status: u16, body: &[u8],
    ) -> Result<()>;
    /// Gives up a claim after the request failed, so a corrected retry can run.
    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()>;
}
