//! People and what is kept of them: identities (found by keyed hash), records (sealed under the
//! person's own key) and the events that anchor consent and retention.

use crate::model::{
    EventId, NewEvent, NewRecord, Record, RecordId, Secret, StoredEvent, Subject, SubjectId,
    TenantId,
};
use crate::{Actor, Result};
use jiff::Timestamp;
use ombud_core::Identity;
use std::collections::HashSet;

/// What the store keeps of people, their identities, records and events. Each backend implements it
/// in `sqlite/subjects.rs` and `postgres/subjects.rs`; callers reach it through [`crate::Store`].
pub trait Subjects {
    fn create_subject(
        &self, tenant: TenantId, identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<SubjectId>;
    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>>;
    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>>;
    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool>;
    /// The categories the tenant's records are held under, with how many records each.
    fn categories_held(&self, tenant: TenantId) -> Result<Vec<(String, u64)>>;
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
    /// A person's records and events as of one moment: what a purpose-bound read decides
    /// on, in one visit to the store.
    fn records_and_events(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<(Vec<Record>, Vec<StoredEvent>)>;
    fn add_event(
        &self, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent>;
    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>>;
    /// The subject an identity belongs to, with its events: what an access decision needs, in
    /// one call (one query on PostgreSQL).
    fn facts_by_identity(
        &self, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>>;
    /// A number that changes whenever the tenant's people, identities or events change
    /// (whichever process changed them), for caching what decisions read: facts read after
    /// reading the number are current for as long as the number is. The value is read after
    /// the call began, so a change any process committed before then is counted.
    /// `None`: the tenant is unknown, or the backend keeps no such number (cache nothing).
    fn facts_generation(&self, tenant: TenantId) -> Result<Option<u64>> {
        Ok(self.facts_generations(&[tenant])?.get(&tenant).copied())
    }
    /// [`Self::facts_generation`] of several tenants in one read (one round trip on a server
    /// backend, so callers waiting together can share it); unknown tenants are left out.
    fn facts_generations(
        &self, tenants: &[TenantId],
    ) -> Result<std::collections::HashMap<TenantId, u64>> {
        let _ = tenants;
        Ok(std::collections::HashMap::new())
    }
    /// [`Self::facts_generation`] where it is a local read that never waits on the network,
    /// so an async task may call it; `None` elsewhere.
    fn local_facts_generation(&self, tenant: TenantId) -> Result<Option<u64>> {
        let _ = tenant;
        Ok(None)
    }
    /// Imports lines in one transaction: each line's person is found by any of its identities
    /// (the first that is known decides) or created, then the records and events the person
    /// does not hold yet are written. A line that fails is rolled back alone and answered
    /// with its error; the batch's other lines commit together.
    fn import_lines(
        &self, tenant: TenantId, lines: Vec<ImportLine>, actor: &Actor, at: Timestamp,
    ) -> Result<Vec<Result<LineImported>>>;
}

/// A line of an import, checked: who, and what to keep of them.
pub struct ImportLine {
    pub identities: Vec<Identity>,
    pub records: Vec<ImportRecord>,
    pub events: Vec<ImportEvent>,
}

/// A record to import; its id derives from its person and `fingerprint` (what the line said
/// of it), so importing it again finds it held.
pub struct ImportRecord {
    pub fingerprint: [u8; 32],
    pub category: String,
    pub purposes: Vec<String>,
    pub source: String,
    pub collected_at: Timestamp,
    pub value: Secret,
}

/// An event to import, with its id derived as a record's is; `event.id` is set here.
pub struct ImportEvent {
    pub fingerprint: [u8; 32],
    pub event: NewEvent,
}

/// What one line changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineImported {
    pub subject: SubjectId,
    /// The person was created by this line.
    pub created: bool,
    /// Records written, held ones left out.
    pub records: usize,
    /// For each event of the line, whether it was written (false: held already).
    pub events: Vec<bool>,
}

/// The id of an imported record or event: the same whenever the same content is imported for
/// the same person, whichever file or line it comes from, so that importing it again adds
/// nothing.
pub fn content_id(tenant: TenantId, subject: SubjectId, fingerprint: &[u8; 32]) -> uuid::Uuid {
    let mut hasher = blake3::Hasher::new_derive_key("ombud 2026-11 import ids by content");
    hasher.update(tenant.0.as_bytes());
    hasher.update(subject.0.as_bytes());
    hasher.update(fingerprint);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Uuid::new_v8(bytes)
}

/// What of `line` the person does not hold yet, as the writes both backends make.
pub(crate) fn unheld(
    tenant: TenantId, subject: SubjectId, line: &ImportLine,
    held_records: &mut HashSet<uuid::Uuid>, held_events: &mut HashSet<uuid::Uuid>,
) -> (Vec<NewRecord>, Vec<(SubjectId, NewEvent)>, Vec<bool>) {
    let mut records = Vec::new();
    for record in &line.records {
        let id = content_id(tenant, subject, &record.fingerprint);
        if held_records.insert(id) {
            records.push(NewRecord {
                id: Some(RecordId(id)),
                subject,
                category: record.category.clone(),
                purposes: record.purposes.clone(),
                source: record.source.clone(),
                collected_at: record.collected_at,
                value: record.value.clone(),
            });
        }
    }
    let mut events = Vec::new();
    let mut written = Vec::with_capacity(line.events.len());
    for ImportEvent { fingerprint, event } in &line.events {
        let id = content_id(tenant, subject, fingerprint);
        let new = held_events.insert(id);
        written.push(new);
        if new {
            events.push((
                subject,
                NewEvent {
                    id: Some(EventId(id)),
                    ..event.clone()
                },
            ));
        }
    }
    (records, events, written)
}
