//! ombud's storage. One trait, [`Store`], that the rest of the system depends on, with SQLite
//! (the embedded default) behind it and PostgreSQL to follow. Only this crate knows SQL. Every
//! write appends its audit entry in the same transaction, so data and audit never disagree.

pub mod audit;
pub mod crypto;
pub mod model;
pub mod postgres;
pub mod sqlite;

use audit::{AuditEntry, AuditFilter, NewAuditEntry, Verification};
use jiff::Timestamp;
use model::*;
use ombud_core::{Identity, IdentityKind};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("this {0} already belongs to another subject")]
    IdentityTaken(IdentityKind),
    #[error("the operator tenant exists already")]
    OperatorExists,
    #[error("database: {0}")]
    Database(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("a stored row is damaged: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Who did something, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(ApiKeyId),
    Cli,
    System,
}

impl Actor {
    pub fn audit_name(&self) -> String {
        match self {
            Actor::ApiKey(id) => format!("key:{id}"),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
        }
    }
}

/// Everything ombud keeps. Calls are blocking; async callers run them on a blocking thread.
/// Every method takes the tenant first: no call reaches across tenants.
pub trait Store: Send + Sync {
    fn create_tenant(
        &self,
        name: &str,
        operator: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Tenant>;
    fn tenants(&self) -> Result<Vec<Tenant>>;
    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>>;

    fn create_api_key(&self, key: NewApiKey, actor: &Actor, at: Timestamp) -> Result<ApiKey>;
    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes a key; `false` when the tenant has no such key.
    fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The unrevoked key whose secret hashes to `secret_hash`.
    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>>;

    fn create_subject(
        &self,
        tenant: TenantId,
        identities: &[Identity],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<SubjectId>;
    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>>;
    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>>;
    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool>;

    /// Writes records for any number of subjects of one tenant, all or nothing.
    fn put_records(
        &self,
        tenant: TenantId,
        records: &[NewRecord],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Vec<RecordId>>;
    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>>;

    fn add_event(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        event: &NewEvent,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<StoredEvent>;
    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>>;
    /// The subject an identity belongs to, with its events: what an access decision needs, in
    /// one call (one query on PostgreSQL).
    fn facts_by_identity(
        &self,
        tenant: TenantId,
        identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>>;

    /// Keeps a policy version (its hash and text) the first time it is loaded; `true` when new.
    fn keep_policy_version(
        &self,
        tenant: TenantId,
        version: &str,
        source: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The versions kept, oldest first, without their text.
    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>>;
    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>>;

    /// Claims an Idempotency-Key for a request (identified by `request_hash`).
    fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        request_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Idempotency>;
    /// Stores the response of the request that claimed `key`.
    fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()>;
    /// Gives up a claim after the request failed, so a corrected retry can run.
    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()>;

    /// Appends an entry that no write made: a purpose-bound read, a verification.
    fn append_audit(
        &self,
        tenant: TenantId,
        entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<AuditEntry>;
    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    fn verify_audit(&self, tenant: TenantId) -> Result<Verification>;
}
