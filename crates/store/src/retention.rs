//! What the sweeper reads and writes: records' metadata without their values, and the records
//! whose retention has ended, removed in batches of whole subjects.

use crate::Actor;
use crate::audit::NewAuditEntry;
use crate::model::TenantId;
use crate::model::{RecordId, StoredEvent, SubjectId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

crate::model::id!(
    /// A legal hold.
    HoldId
);

/// Why data is held beyond its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// A law requires keeping it (Art. 17(3)(b)).
    LegalObligation,
    /// Establishing, exercising or defending a legal claim (Art. 17(3)(e)).
    LegalClaim,
    /// Investigating a security incident.
    SecurityInvestigation,
}

impl HoldReason {
    pub const ALL: [HoldReason; 3] = [
        HoldReason::LegalObligation,
        HoldReason::LegalClaim,
        HoldReason::SecurityInvestigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::LegalObligation => "legal_obligation",
            HoldReason::LegalClaim => "legal_claim",
            HoldReason::SecurityInvestigation => "security_investigation",
        }
    }

    pub fn parse(text: &str) -> Option<HoldReason> {
        HoldReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A hold as it is asked for.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub reason: HoldReason,
    /// Only this subject; every subject of the tenant when absent.
    pub subject: Option<SubjectId>,
    /// Only this category and those beneath it; every category when absent.
    pub category: Option<String>,
    pub note: String,
    /// Open-ended when absent.
    pub ends_at: Option<Timestamp>,
}

impl NewHold {
    /// The hold as placed at `at`, with a new id: what every backend stores.
    pub(crate) fn placed(&self, at: Timestamp) -> LegalHold {
        LegalHold {
            id: HoldId::new(),
            reason: self.reason,
            subject: self.subject,
            category: self.category.clone(),
            note: self.note.clone(),
            created_at: at,
            ends_at: self.ends_at,
            released_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegalHold {
    pub id: HoldId,
    pub reason: HoldReason,
    pub subject: Option<SubjectId>,
    pub category: Option<String>,
    pub note: String,
    pub created_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
}

impl LegalHold {
    pub fn active_at(&self, at: Timestamp) -> bool {
        self.released_at.is_none_or(|r| r > at) && self.ends_at.is_none_or(|e| e > at)
    }
}

/// What one subject's expiry removed, rule by rule: the categories and how many records.
#[derive(Default)]
pub(crate) struct RemovedByRule<'a>(std::collections::BTreeMap<&'a str, (BTreeSet<String>, usize)>);

impl<'a> RemovedByRule<'a> {
    pub(crate) fn count(&mut self, rule: &'a str, category: String) {
        let entry = self.0.entry(rule).or_default();
        entry.0.insert(category);
        entry.1 += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the removal to the sweep's totals, with one audit entry per rule; `whole` when the
    /// subject went with its last record.
    pub(crate) fn tally(
        self, swept: &mut Swept, entries: &mut Vec<NewAuditEntry>, actor: &Actor,
        subject: SubjectId, whole: bool,
    ) {
        if whole {
            swept.subjects += 1;
        }
        for (rule, (categories, count)) in self.0 {
            swept.records += count as u64;
            entries.push(NewAuditEntry::records_expired(
                actor, subject, rule, categories, count, whole,
            ));
        }
    }
}

/// The holds in force at `active_at`, or all of them when it is `None`.
pub(crate) fn in_force(holds: Vec<LegalHold>, active_at: Option<Timestamp>) -> Vec<LegalHold> {
    holds
        .into_iter()
        .filter(|h| active_at.is_none_or(|at| h.active_at(at)))
        .collect()
}

/// The hold to release, as it will read once released; `None` when the tenant has no active
/// hold of that id.
pub(crate) fn hold_to_release<S: Retention + ?Sized>(
    store: &S, tenant: TenantId, hold: HoldId, at: Timestamp,
) -> crate::Result<Option<LegalHold>> {
    let found = store
        .holds(tenant, Some(at))?
        .into_iter()
        .find(|h| h.id == hold);
    Ok(found.map(|hold| LegalHold {
        released_at: Some(at),
        ..hold
    }))
}

/// What the store keeps of legal holds and what the sweeper reads and removes. Each backend
/// implements it in `sqlite/retention.rs` and `postgres/retention.rs`; callers reach it through
/// [`crate::Store`].
pub trait Retention {
    /// Places a legal hold; audited.
    fn create_hold(
        &self, tenant: TenantId, hold: &NewHold, actor: &Actor, at: Timestamp,
    ) -> crate::Result<LegalHold>;
    /// The tenant's holds, newest first; only those in force at `active_at` when given.
    fn holds(
        &self, tenant: TenantId, active_at: Option<Timestamp>,
    ) -> crate::Result<Vec<LegalHold>>;
    /// Releases a hold in force; `false` when there is none with that id in force.
    fn release_hold(
        &self, tenant: TenantId, hold: HoldId, actor: &Actor, at: Timestamp,
    ) -> crate::Result<bool> {
        match hold_to_release(self, tenant, hold, at)? {
            Some(released) => self.store_release(tenant, &released, actor, at),
            None => Ok(false),
        }
    }
    /// Stores the release [`Self::release_hold`] decided (the hold as released) with its audit
    /// entry; `false` when another writer released it first.
    fn store_release(
        &self, tenant: TenantId, released: &LegalHold, actor: &Actor, at: Timestamp,
    ) -> crate::Result<bool>;
    /// Up to `limit` subjects after `after` (in id order), with their records' metadata and
    /// their events: what the sweeper decides on. Reads no value and no key.
    fn retention_batch(
        &self, tenant: TenantId, after: Option<SubjectId>, limit: usize,
    ) -> crate::Result<Vec<RetentionSubject>>;
    /// One subject as [`Self::retention_batch`] reads it. Ids sort as 128-bit numbers in both
    /// backends, so the subject is the first one after its predecessor.
    fn retention_subject(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> crate::Result<Option<RetentionSubject>> {
        let before = subject
            .0
            .as_u128()
            .checked_sub(1)
            .map(|n| SubjectId(uuid::Uuid::from_u128(n)));
        let batch = self.retention_batch(tenant, before, 1)?;
        Ok(batch.into_iter().next().filter(|s| s.subject == subject))
    }
    /// Removes records whose retention ended, all in one transaction, with one audit entry per
    /// subject and rule. A subject left with no record goes whole when its expiry allows it.
    fn expire_records(
        &self, tenant: TenantId, expiries: &[Expiry], actor: &Actor, at: Timestamp,
    ) -> crate::Result<Swept>;
}
