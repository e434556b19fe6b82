//! The audit log: append-only and hash-chained per tenant. Each entry's hash covers its fields
//! and the previous entry's hash, so editing, deleting or reordering any entry breaks every hash
//! after it. Entries hold ids, categories and purposes, never personal data. Both backends store
//! and verify entries through these functions.

use crate::Actor;
use crate::model::{ApiKeyId, Role, StoredEvent, SubjectId, TenantId};
use jiff::Timestamp;
use ombud_core::Identity;
use serde::Serialize;
use std::collections::BTreeSet;

/// The hash before the first entry of a chain.
pub const GENESIS: [u8; 32] = [0; 32];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// `key:<id>`, `cli`, `system`.
    pub actor: String,
    /// `records.write`, `records.read`, `subject.create`, …
    pub action: String,
    pub subject: Option<SubjectId>,
    pub categories: Vec<String>,
    pub purpose: Option<String>,
    /// Ids of other objects, counts; never personal data.
    pub detail: Option<String>,
}

/// The entries writes make, in one place, so both backends record the same facts the same way.
impl NewAuditEntry {
    fn by(actor: &Actor, action: impl Into<String>) -> NewAuditEntry {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: action.into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: None,
        }
    }

    pub fn tenant_created(actor: &Actor, tenant: TenantId) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("tenant={tenant}")),
            ..Self::by(actor, "tenant.create")
        }
    }

    /// A tenant's name or profile changed; the detail names the fields, never their values.
    pub fn tenant_updated(actor: &Actor, tenant: TenantId, fields: &[&str]) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("tenant={tenant} fields={}", fields.join(","))),
            ..Self::by(actor, "tenant.update")
        }
    }

    pub fn api_key_created(actor: &Actor, key: ApiKeyId, role: Role) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("key={key} role={}", role.as_str())),
            ..Self::by(actor, "api_key.create")
        }
    }

    pub fn api_key_revoked(actor: &Actor, key: ApiKeyId) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("key={key}")),
            ..Self::by(actor, "api_key.revoke")
        }
    }

    /// Names the kinds of identity, never their values.
    pub fn subject_created(
        actor: &Actor, subject: SubjectId, identities: &[Identity],
    ) -> NewAuditEntry {
        let kinds: BTreeSet<&str> = identities.iter().map(|i| i.kind().as_str()).collect();
        NewAuditEntry {
            subject: Some(subject),
            detail: Some(format!(
                "identities={}",
                kinds.into_iter().collect::<Vec<_>>().join(",")
            )),
            ..Self::by(actor, "subject.create")
        }
    }

    pub fn records_written(
        actor: &Actor, subject: SubjectId, categories: BTreeSet<String>, count: usize,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: Some(subject),
            categories: categories.into_iter().collect(),
            detail: Some(format!("records={count}")),
            ..Self::by(actor, "records.write")
        }
    }

    pub fn event_recorded(actor: &Actor, event: &StoredEvent) -> NewAuditEntry {
        NewAuditEntry {
            subject: Some(event.subject),
            purpose: event.purpose.clone(),
            detail: Some(format!("event={}", event.id)),
            ..Self::by(actor, format!("event.{}", event.kind.as_str()))
        }
    }

    /// A step on a data-subject request: `request.<step>` (file, verify, extend, fulfil, …).
    pub fn request_step(
        actor: &Actor, request: &crate::requests::DsRequest, step: &str,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: request.subject,
            purpose: request.purpose.clone(),
            categories: request.category.iter().cloned().collect(),
            detail: Some(format!(
                "request={} kind={} status={}",
                request.id,
                request.kind.as_str(),
                request.status.as_str()
            )),
            ..Self::by(actor, format!("request.{step}"))
        }
    }

    pub fn subject_erased(
        actor: &Actor, subject: SubjectId, request: Option<crate::requests::RequestId>,
        erasure: &crate::requests::Erasure,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: Some(subject),
            detail: Some(format!(
                "request={} records_deleted={} records_kept={} key_deleted={}",
                request.map_or("-".into(), |r| r.to_string()),
                erasure.records_deleted,
                erasure.records_kept,
                erasure.subject_deleted
            )),
            ..Self::by(actor, "subject.erase")
        }
    }

    /// Records removed because `rule` (a retention rule of the policy) ended them.
    pub fn records_expired(
        actor: &Actor, subject: SubjectId, rule: &str, categories: BTreeSet<String>, count: usize,
        subject_deleted: bool,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: Some(subject),
            categories: categories.into_iter().collect(),
            detail: Some(format!(
                "rule={rule} records={count} subject_deleted={subject_deleted}"
            )),
            ..Self::by(actor, "records.expire")
        }
    }

    /// A legal hold placed (`hold.create`) or released (`hold.release`).
    pub fn hold_step(
        actor: &Actor, hold: &crate::retention::LegalHold, step: &str,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: hold.subject,
            categories: hold.category.iter().cloned().collect(),
            detail: Some(format!(
                "hold={} reason={} ends={}",
                hold.id,
                hold.reason.as_str(),
                hold.ends_at.map_or("open".into(), |e| e.to_string())
            )),
            ..Self::by(actor, format!("hold.{step}"))
        }
    }

    pub fn record_rectified(
        actor: &Actor, subject: SubjectId, record: crate::model::RecordId, category: &str,
    ) -> NewAuditEntry {
        NewAuditEntry {
            subject: Some(subject),
            categories: vec![category.to_owned()],
            detail: Some(format!("record={record}")),
            ..Self::by(actor, "record.rectify")
        }
    }

    pub fn export_step(
        actor: &Actor, request: crate::requests::RequestId, step: &str,
    ) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("request={request}")),
            ..Self::by(actor, format!("export.{step}"))
        }
    }

    pub fn policy_loaded(actor: &Actor, version: &str) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!("version={version}")),
            ..Self::by(actor, "policy.load")
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: Option<SubjectId>,
    pub categories: Vec<String>,
    pub purpose: Option<String>,
    pub detail: Option<String>,
    #[serde(serialize_with = "hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: [u8; 32],
    #[serde(serialize_with = "hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: [u8; 32],
}

fn hex<S: serde::Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&blake3::Hash::from_bytes(*bytes).to_hex())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub subject: Option<SubjectId>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Entries after this sequence number, for paging.
    pub after_seq: Option<i64>,
    pub limit: usize,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    Intact {
        entries: u64,
        head: String,
        /// The last entry pruned under the audit log's retention, when any was: the chain is
        /// proved from there.
        #[serde(skip_serializing_if = "Option::is_none")]
        pruned_through: Option<i64>,
    },
    Broken {
        seq: i64,
        reason: String,
    },
}

/// Where a pruned chain starts again: the last removed entry's number, hash and time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub seq: i64,
    #[serde(serialize_with = "hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: [u8; 32],
    /// When the last removed entry was written.
    pub at: Timestamp,
    pub pruned_at: Timestamp,
}

/// Entries removed from the oldest end of a chain in one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub entries: u64,
    /// The new checkpoint's sequence number.
    pub through: i64,
}

/// Entries pruned per transaction: a step holds the write lock for well under a second.
pub const PRUNE_BATCH: usize = 20_000;

/// Which entries a prune step removes: from the oldest remaining (`first`) up to the last one
/// written before the cut-off (`first_kept` is the oldest written at or after it, if any), and
/// at most `limit` of them. The order of sequence numbers decides, not the times: an entry
/// older than the cut-off behind a newer one stays until the newer one goes.
pub fn prune_through(first: i64, head: i64, first_kept: Option<i64>, limit: usize) -> Option<i64> {
    let last_old = first_kept.map_or(head, |kept| kept - 1);
    let through = last_old.min(first.saturating_add(limit as i64 - 1));
    (through >= first).then_some(through)
}

impl NewAuditEntry {
    /// A prune under the audit log's retention: how many entries went, through which.
    pub fn audit_pruned(actor: &Actor, pruned: Pruned, before: Timestamp) -> NewAuditEntry {
        NewAuditEntry {
            detail: Some(format!(
                "entries={} through_seq={} written_before={before}",
                pruned.entries, pruned.through
            )),
            ..Self::by(actor, "audit.prune")
        }
    }
}

fn field(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    // Length-prefixed, so ("ab","c") and ("a","bc") hash differently.
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// The keyed hasher every entry starts from: deriving the key once instead of per entry
/// (verifying ten million entries would otherwise derive it ten million times). A clone of it
/// hashes exactly as a hasher made anew does.
static ENTRY_HASHER: std::sync::LazyLock<blake3::Hasher> =
    std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key("ombud 2026-11 audit entry"));

/// The hash of an entry, from its fields and the hash before it.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: &[u8; 32], seq: i64, at: Timestamp, actor: &str, action: &str,
    subject: Option<SubjectId>, categories: &[String], purpose: Option<&str>, detail: Option<&str>,
) -> [u8; 32] {
    let mut hasher = ENTRY_HASHER.clone();
    hasher.update(prev);
    hasher.update(&seq.to_le_bytes());
    hasher.update(&at.as_microsecond().to_le_bytes());
    field(&mut hasher, actor.as_bytes());
    field(&mut hasher, action.as_bytes());
    field(
        &mut hasher,
        subject
            .map(|s| s.0.into_bytes())
            .as_ref()
            .map_or(&[][..], |b| &b[..]),
    );
    hasher.update(&(categories.len() as u64).to_le_bytes());
    for category in categories {
        field(&mut hasher, category.as_bytes());
    }
    field(&mut hasher, purpose.unwrap_or("").as_bytes());
    field(&mut hasher, detail.unwrap_or("").as_bytes());
    *hasher.finalize().as_bytes()
}

/// Builds the next entry of a chain whose head is (`prev_seq`, `prev_hash`).
pub fn next_entry(
    prev_seq: i64, prev_hash: [u8; 32], at: Timestamp, entry: NewAuditEntry,
) -> AuditEntry {
    let seq = prev_seq + 1;
    let hash = entry_hash(
        &prev_hash,
        seq,
        at,
        &entry.actor,
        &entry.action,
        entry.subject,
        &entry.categories,
        entry.purpose.as_deref(),
        entry.detail.as_deref(),
    );
    AuditEntry {
        seq,
        at,
        actor: entry.actor,
        action: entry.action,
        subject: entry.subject,
        categories: entry.categories,
        purpose: entry.purpose,
        detail: entry.detail,
        prev_hash,
        hash,
    }
}

/// Walks a chain in sequence order from (`start_seq`, `start_hash`) — the genesis, or a
/// checkpoint left by pruning — and reports the first entry that does not fit.
pub fn verify(
    entries: impl IntoIterator<Item = AuditEntry>, checkpoint: Option<&Checkpoint>,
) -> Verification {
    let mut walk = Walk::new(checkpoint);
    for entry in entries {
        if let Err(broken) = walk.next(&entry) {
            return broken;
        }
    }
    walk.end()
}

/// A chain checked one entry at a time, in sequence order, so that a backend streams the log
/// through it in constant memory however long the log is.
pub struct Walk<'a> {
    checkpoint: Option<&'a Checkpoint>,
    seq: i64,
    head: [u8; 32],
    count: u64,
}

impl<'a> Walk<'a> {
    /// From the genesis, or from the checkpoint pruning left.
    pub fn new(checkpoint: Option<&'a Checkpoint>) -> Walk<'a> {
        let (seq, head) = checkpoint.map_or((0, GENESIS), |c| (c.seq, c.hash));
        Walk {
            checkpoint,
            seq,
            head,
            count: 0,
        }
    }

    /// Takes the next entry; the first that does not fit ends the walk as `Broken`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self, entry: &AuditEntry) -> std::result::Result<(), Verification> {
        if entry.seq != self.seq + 1 {
            return Err(Verification::Broken {
                seq: entry.seq,
                reason: format!(
                    "expected entry {} next, found {}: entries are missing or reordered",
                    self.seq + 1,
                    entry.seq
                ),
            });
        }
        if entry.prev_hash != self.head {
            return Err(Verification::Broken {
                seq: entry.seq,
                reason: "its link to the previous entry does not match: an earlier entry was changed or removed".into(),
            });
        }
        let expected = entry_hash(
            &self.head,
            entry.seq,
            entry.at,
            &entry.actor,
            &entry.action,
            entry.subject,
            &entry.categories,
            entry.purpose.as_deref(),
            entry.detail.as_deref(),
        );
        if expected != entry.hash {
            return Err(Verification::Broken {
                seq: entry.seq,
                reason: "its content does not match its hash: the entry was edited".into(),
            });
        }
        self.seq = entry.seq;
        self.head = entry.hash;
        self.count += 1;
        Ok(())
    }

    /// Every entry fitted: the chain is intact up to its head.
    pub fn end(self) -> Verification {
        Verification::Intact {
            entries: self.count,
            head: blake3::Hash::from_bytes(self.head).to_hex().to_string(),
            pruned_through: self.checkpoint.map(|c| c.seq),
        }
    }
}

/// An entry waiting for its batch: the tenant whose chain it extends, the entry, and when the
/// thing it records happened.
pub type PendingEntry = (TenantId, NewAuditEntry, Timestamp);

/// What the store keeps of the hash-chained audit log: appending, reading, verifying, pruning. Each
/// backend implements it in `sqlite/audit.rs` and `postgres/audit.rs`; callers reach it through
/// [`crate::Store`].
pub trait AuditLog {
    /// Appends an entry that no write made: a purpose-bound read, a verification.
    fn append_audit(
        &self, tenant: TenantId, entry: NewAuditEntry, at: Timestamp,
    ) -> crate::Result<AuditEntry>;
    /// Appends many such entries in one transaction (group commit): each tenant's entries are
    /// chained in the order given, and either every entry is appended or none is.
    fn append_audit_batch(&self, entries: Vec<PendingEntry>) -> crate::Result<()>;
    fn audit_entries(
        &self, tenant: TenantId, filter: &AuditFilter,
    ) -> crate::Result<Vec<AuditEntry>>;
    fn verify_audit(&self, tenant: TenantId) -> crate::Result<Verification>;
    /// The tenant's chain head: the last entry's sequence number and hash (the checkpoint's
    /// when pruning left none, `(0, GENESIS)` for a chain not begun).
    fn audit_head(&self, tenant: TenantId) -> crate::Result<(i64, [u8; 32])>;
    /// Where the tenant's chain starts after pruning, if it was ever pruned.
    fn audit_checkpoint(&self, tenant: TenantId) -> crate::Result<Option<Checkpoint>>;
    /// How many of the tenant's oldest entries were written before `before` (what a prune
    /// would remove).
    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> crate::Result<u64>;
    /// One prune step: removes up to `limit` of the oldest entries written before `before`,
    /// moves the checkpoint to the last of them and appends `audit.prune`, in one transaction.
    /// `entries` is 0 when nothing is left to prune.
    fn prune_audit(
        &self, tenant: TenantId, before: Timestamp, limit: usize, actor: &Actor, now: Timestamp,
    ) -> crate::Result<Pruned>;
}
