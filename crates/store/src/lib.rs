//! ombud's storage. One trait, [`Store`], that the rest of the system depends on, with SQLite
//! (the embedded default) behind it and PostgreSQL to follow. Only this crate knows SQL. Every
//! write appends its audit entry in the same transaction, so data and audit never disagree.

pub mod audit;
pub mod crypto;
pub mod incidents;
pub mod maintenance;
pub mod model;
pub mod notices;
pub mod outbox;
pub mod postgres;
pub mod receipts;
pub mod requests;
pub mod retention;
mod rows;
pub mod sqlite;
pub mod subjects;
pub mod subprocessors;
pub mod tenants;
pub mod users;

use audit::AuditLog;
use incidents::Incidents;
use jiff::Timestamp;
use maintenance::Maintenance;
use model::*;
use notices::Notices;
use ombud_core::IdentityKind;
use outbox::Outbox;
use requests::*;
use retention::*;
use subjects::Subjects;
use subprocessors::Subprocessors;
use tenants::Tenants;

pub use postgres::{PostgresStore, ServerLock};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("this {0} already belongs to another subject")]
    IdentityTaken(IdentityKind),
    #[error("the operator tenant exists already")]
    OperatorExists,
    #[error("a console user with this address exists already")]
    UserExists,
    #[error("database: {0}")]
    Database(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("the {0} changed meanwhile; read it again and retry")]
    Conflict(&'static str),
    #[error("a stored row is damaged: {0}")]
    Corrupt(String),
    /// The master key given is not the one the store's data is sealed under.
    #[error(
        "the master key does not match this store: its data is sealed under another key. Give the key the store was set up with (OMBUD_MASTER_KEY or OMBUD_MASTER_KEY_FILE); a new key would seal data nobody can read with the old"
    )]
    KeyMismatch,
    /// Running servers hold the database a command needs alone; names them.
    #[error("the database is in use by {0}")]
    InUse(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// A versioned write that changed no row lost the race to another writer.
    pub(crate) fn conflict_unless(changed: bool, what: &'static str) -> Result<()> {
        if changed {
            Ok(())
        } else {
            Err(StoreError::Conflict(what))
        }
    }
}

/// Who did something, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(ApiKeyId),
    Cli,
    System,
    /// The person themself, through the public privacy portal (no key; a code or signed link).
    Portal,
    /// A person of the staff signed in to the console.
    User(users::UserId),
}

impl Actor {
    pub fn audit_name(&self) -> String {
        match self {
            Actor::ApiKey(id) => format!("key:{id}"),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::Portal => "portal".into(),
            Actor::User(id) => format!("user:{id}"),
        }
    }
}

/// Everything ombud keeps, as one handle. Each capability is its own trait, next to the types
/// it keeps, implemented per backend in `sqlite/` and `postgres/`; what this trait adds is
/// written once over them. Calls are blocking; async callers run them on a blocking thread.
/// Every method takes the tenant first: no call reaches across tenants.
pub trait Store:
    Tenants
    + Subjects
    + AuditLog
    + Requests
    + Outbox
    + Retention
    + Incidents
    + Notices
    + Subprocessors
    + Maintenance
    + receipts::Receipts
    + users::Users
    + Send
    + Sync
{
    /// The tenant's erasures since `since` (all when `None`), with what each kept: what a
    /// restore from an older backup must carry out again.
    fn erasure_ledger(
        &self, tenant: TenantId, since: Option<Timestamp>,
    ) -> Result<Vec<ErasureEntry>> {
        let mut ledger = Vec::new();
        for tombstone in self.tombstones(tenant)? {
            if since.is_some_and(|since| tombstone.erased_at < since) {
                continue;
            }
            let kept = if tombstone.partial {
                self.retention_subject(tenant, tombstone.subject)?
                    .map(|subject| {
                        subject
                            .records
                            .into_iter()
                            .map(|r| KeptRecord {
                                record: r.id,
                                purposes: r.purposes,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                vec![]
            };
            ledger.push(ErasureEntry {
                tenant,
                subject: tombstone.subject,
                request: tombstone.request,
                erased_at: tombstone.erased_at,
                kept,
            });
        }
        Ok(ledger)
    }
    /// Carries out a ledger entry again: the subject goes, but for the records the original
    /// erasure kept (those the store still has). Audited as an erasure.
    fn replay_erasure(
        &self, entry: &ErasureEntry, actor: &Actor, at: Timestamp,
    ) -> Result<Replayed> {
        if self.tenant(entry.tenant)?.is_none() {
            return Ok(Replayed::NoTenant);
        }
        let Some(current) = self.retention_subject(entry.tenant, entry.subject)? else {
            return Ok(Replayed::AlreadyGone);
        };
        let keep: Vec<KeptRecord> = entry
            .kept
            .iter()
            .filter(|k| current.records.iter().any(|r| r.id == k.record))
            .cloned()
            .collect();
        self.erase_subject(entry.tenant, entry.subject, &keep, entry.request, actor, at)?;
        Ok(Replayed::Erased)
    }
}

impl Store for SqliteStore {}
impl Store for PostgresStore {}

/// `use ombud_store::prelude::*` brings [`Store`] and every capability trait into scope, so
/// their methods can be called on a `&dyn Store`.
pub mod prelude {
    pub use crate::Store;
    pub use crate::audit::AuditLog;
    pub use crate::incidents::Incidents;
    pub use crate::maintenance::Maintenance;
    pub use crate::notices::Notices;
    pub use crate::outbox::Outbox;
    pub use crate::receipts::Receipts;
    pub use crate::requests::Requests;
    pub use crate::retention::Retention;
    pub use crate::subjects::Subjects;
    pub use crate::subprocessors::Subprocessors;
    pub use crate::tenants::Tenants;
    pub use crate::users::Users;
}
