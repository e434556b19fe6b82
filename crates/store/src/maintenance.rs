//! Keeping the store itself in order: master-key generations (rewrapping and counting what each
//! still opens), purging deleted values from the files, and the planner's statistics.

use crate::Result;

/// What the store keeps of master-key rotation, purging deleted values and the planner's
/// statistics. Each backend implements it in `sqlite/maintenance.rs` and `postgres/maintenance.rs`;
/// callers reach it through [`crate::Store`].
pub trait Maintenance {
    /// Takes a changed master key (a rotation, read again from its file) for everything after.
    fn reload_master_key(&self, master: &crate::crypto::MasterKey);
    /// Seals every subject key, request key and queued mail that is not yet under the current
    /// master-key generation again under it, a batch per transaction; returns how many.
    fn rewrap_keys(&self) -> Result<u64>;
    /// How many sealed keys and mails each master-key generation still opens.
    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>>;
    /// Makes values that `expire_records` deleted unrecoverable from the store's files (SQLite
    /// folds its write-ahead log back and truncates it). Called when a sweep ends.
    fn purge_deleted(&self) -> Result<()>;
    /// Keeps the planner's statistics current as tables grow or shrink; cheap when nothing
    /// changed. Called by the background jobs and before a sweep.
    fn maintain(&self) -> Result<()>;
    /// Takes (or keeps) the lease on background `job` for `holder` until `until`, if no other
    /// holder's lease runs at `at`. Replicas sharing a store each ask before a round of the
    /// job; the one that gets `true` does it.
    fn take_lease(
        &self, job: &str, holder: uuid::Uuid, until: jiff::Timestamp, at: jiff::Timestamp,
    ) -> Result<bool>;
}
