//! What the sweeper reads and writes: records' metadata without their values, and the records
//! whose retention has ended, removed in batches of whole subjects.

use crate::model::{RecordId, StoredEvent, SubjectId};
use jiff::Timestamp;
use serde::Serialize;

/// One record as the retention rules see it: no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    pub id: RecordId,
    pub category: String,
    pub purposes: Vec<String>,
    pub source: String,
    pub collected_at: Timestamp,
}

/// A subject's records and events, for deciding what has outlived its purposes.
#[derive(Debug, Clone)]
pub struct RetentionSubject {
    pub subject: SubjectId,
    pub records: Vec<RecordMeta>,
    pub events: Vec<StoredEvent>,
}

/// Records of one subject to remove, each with the rule that ended it.
#[derive(Debug, Clone)]
pub struct Expiry {
    pub subject: SubjectId,
    pub records: Vec<(RecordId, String)>,
    /// When none of its records is left, the subject goes too (identities, events, key) and a
    /// tombstone stays. Only for subjects the sweep saw with records: a subject created a
    /// moment ago with none yet is not the sweeper's to remove.
    pub subject_may_go: bool,
}

/// What one batch removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub records: u64,
    pub subjects: u64,
}
