//! People and what is kept of them: identities (found by keyed hash), records (sealed under the
//! person's own key) and the events that anchor consent and retention.

use crate::model::{
    NewEvent, NewRecord, Record, RecordId, StoredEvent, Subject, SubjectId, TenantId,
};
use crate::{Actor, Result};
use jiff::Timestamp;
use ombud_core::Identity;

/// What the store keeps of people, their identities, records and events. Each backend implements it
/// in `sqlite/subjects.rs` and `postgres/subjects.rs`; callers reach it through [`crate::Store`].
pub trait Subjects {
    fn create_subject(
        &self, tenant: TenantId, identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<SubjectId>;
    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>>;
    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>>;
    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool>;
    /// Writes records for any number of subjects of one tenant, all or nothing.
    fn put_records(
        &self, tenant: TenantId, records: &[NewRecord], actor: &Actor, at: Timestamp,
    ) -> Result<Vec<RecordId>>;
    /// Writes records and events (each for its subject) in one transaction, all or nothing:
    /// an import line never leaves records without the event that says why they are kept.
    fn put_records_and_events(
        &self, tenant: TenantId, records: &[NewRecord], events: &[(SubjectId, NewEvent)],
        actor: &Actor, at: Timestamp,
    ) -> Result<Vec<RecordId>>;
    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>>;
    fn add_event(
        &self, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent>;
    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>>;
    /// The subject an identity belongs to, with its events: what an access decision needs, in
    /// one call (one query on PostgreSQL).
    fn facts_by_identity(
        &self, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>>;
}
