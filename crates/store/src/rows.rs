//! What the two backends share that is not SQL: reading a result row into the domain's types,
//! and the values a write builds before it is stored. Each backend implements [`Columns`] for its
//! own row type; everything here is written once on top of it. Must not name a table, a column
//! or a dialect: the SELECT that produced the row says which columns come in which order.

use crate::crypto::{DataKey, identity_aad, record_aad};
use crate::model::*;
use crate::{Result, StoreError};
use jiff::Timestamp;
use ombud_core::{EventKind, Identity, IdentityKind};
use uuid::Uuid;

/// One result row, read column by column as the plain values the store's tables hold. SQLite
/// keeps ids as 16-byte blobs and flags as integers, PostgreSQL as `uuid` and `boolean`; each
/// backend's implementation hides that. A value of the wrong type is a damaged row, never a panic.
pub(crate) trait Columns {
    fn id(&self, column: usize) -> Result<Uuid>;
    fn opt_id(&self, column: usize) -> Result<Option<Uuid>>;
    fn text(&self, column: usize) -> Result<String>;
    fn opt_text(&self, column: usize) -> Result<Option<String>>;
    /// An integer of any width the schema uses (PostgreSQL has `integer` and `bigint` columns).
    fn int(&self, column: usize) -> Result<i64>;
    fn opt_int(&self, column: usize) -> Result<Option<i64>>;
    fn flag(&self, column: usize) -> Result<bool>;
    fn bytes(&self, column: usize) -> Result<Vec<u8>>;
    fn opt_bytes(&self, column: usize) -> Result<Option<Vec<u8>>>;

    /// A time, stored as microseconds since the epoch in both backends.
    fn at(&self, column: usize) -> Result<Timestamp> {
        timestamp(self.int(column)?)
    }
    fn opt_at(&self, column: usize) -> Result<Option<Timestamp>> {
        self.opt_int(column)?.map(timestamp).transpose()
    }
    /// A 32-byte hash (audit chain, blind index).
    fn hash(&self, column: usize) -> Result<[u8; 32]> {
        hash32(self.bytes(column)?)
    }
}

/// Microseconds since the epoch, as both backends store times.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) use crate::model::timestamp_of as timestamp;

pub(crate) fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))
}

/// An id stored as 16 bytes.
pub(crate) fn uuid(bytes: impl AsRef<[u8]>) -> Result<Uuid> {
    Uuid::from_slice(bytes.as_ref()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn incident_document(document: &str) -> Result<crate::incidents::Incident> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("an incident: {e}")))
}

/// The columns [`tenant`] reads.
pub(crate) const TENANT_COLUMNS: &str = "tenant_id, name, operator, created_at, profile";

pub(crate) fn tenant(row: &impl Columns) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(row.id(0)?),
        name: row.text(1)?,
        operator: row.flag(2)?,
        created_at: row.at(3)?,
        profile: match row.opt_text(4)? {
            Some(document) => serde_json::from_str(&document)
                .map_err(|e| StoreError::Corrupt(format!("a tenant's profile: {e}")))?,
            None => TenantProfile::default(),
        },
    })
}

/// The columns [`api_key`] reads.
pub(crate) const KEY_COLUMNS: &str =
    "tenant_id, key_id, name, role, operator_wide, created_at, revoked_at";

pub(crate) fn api_key(row: &impl Columns) -> Result<ApiKey> {
    let role = row.text(3)?;
    Ok(ApiKey {
        tenant: TenantId(row.id(0)?),
        id: ApiKeyId(row.id(1)?),
        name: row.text(2)?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        operator_wide: row.flag(4)?,
        created_at: row.at(5)?,
        revoked_at: row.opt_at(6)?,
    })
}

/// The columns [`audit_entry`] reads.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash";

pub(crate) fn audit_entry(row: &impl Columns) -> Result<crate::audit::AuditEntry> {
    Ok(crate::audit::AuditEntry {
        seq: row.int(0)?,
        at: row.at(1)?,
        actor: row.text(2)?,
        action: row.text(3)?,
        subject: row.opt_id(4)?.map(SubjectId),
        categories: serde_json::from_str(&row.text(5)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        purpose: row.opt_text(6)?,
        detail: row.opt_text(7)?,
        prev_hash: row.hash(8)?,
        hash: row.hash(9)?,
    })
}

/// The columns [`stored_event`] reads, from `base` on.
pub(crate) const EVENT_COLUMNS: &str =
    "event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version";

pub(crate) fn stored_event(
    subject: SubjectId, row: &impl Columns, base: usize,
) -> Result<StoredEvent> {
    let kind = row.text(base + 1)?;
    Ok(StoredEvent {
        id: EventId(row.id(base)?),
        subject,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
        purpose: row.opt_text(base + 2)?,
        occurred_at: row.at(base + 3)?,
        recorded_at: row.at(base + 4)?,
        channel: row.opt_text(base + 5)?,
        policy_version: row.opt_text(base + 6)?,
    })
}

/// An event that may keep an opt-out message from a person, from
/// `subject_id, kind, purpose, occurred_at` (the subject is read by the caller).
pub(crate) fn opt_out_event(row: &impl Columns) -> Result<ombud_core::Event> {
    let kind = row.text(1)?;
    Ok(ombud_core::Event {
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
        purpose: row.opt_text(2)?,
        occurred_at: row.at(3)?,
    })
}

/// The event a write records: what was said, when it happened, and when it was recorded (`at`).
pub(crate) fn recorded_event(subject: SubjectId, event: &NewEvent, at: Timestamp) -> StoredEvent {
    StoredEvent {
        id: event.id.unwrap_or_default(),
        subject,
        kind: event.kind,
        purpose: event.purpose.clone(),
        occurred_at: event.occurred_at,
        recorded_at: at,
        channel: event.channel.clone(),
        policy_version: event.policy_version.clone(),
    }
}

/// The columns [`record`] reads.
pub(crate) const RECORD_COLUMNS: &str =
    "record_id, category, purposes, source, collected_at, sealed_value";

/// A record with its value opened under the subject's key.
pub(crate) fn record(key: &DataKey, subject: SubjectId, row: &impl Columns) -> Result<Record> {
    let id = RecordId(row.id(0)?);
    let category = row.text(1)?;
    let value = key.open(&row.bytes(5)?, &record_aad(id.0, &category))?;
    let value =
        String::from_utf8(value.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Record {
        id,
        subject,
        category,
        purposes: split_purposes(&row.text(2)?),
        source: row.text(3)?,
        collected_at: row.at(4)?,
        value: Secret::new(value),
    })
}

/// A record's metadata without its value (what the sweeper decides on), from
/// `record_id, category, purposes, source, collected_at` starting at column `base`.
pub(crate) fn record_meta(row: &impl Columns, base: usize) -> Result<crate::retention::RecordMeta> {
    Ok(crate::retention::RecordMeta {
        id: RecordId(row.id(base)?),
        category: row.text(base + 1)?,
        purposes: split_purposes(&row.text(base + 2)?),
        source: row.text(base + 3)?,
        collected_at: row.at(base + 4)?,
    })
}

/// The columns [`identity`] reads.
pub(crate) const IDENTITY_COLUMNS: &str = "blind_index, kind, sealed_value";

/// An identity with its value opened under the subject's key.
pub(crate) fn identity(key: &DataKey, row: &impl Columns) -> Result<Identity> {
    let index = row.hash(0)?;
    let kind = row.text(1)?;
    let value = key.open(&row.bytes(2)?, &identity_aad(&index))?;
    let kind = IdentityKind::parse(&kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown identity kind {kind}")))?;
    let text = std::str::from_utf8(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Identity::parse(kind, text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A subject as it is read: its identities in the order of their kinds.
pub(crate) fn subject(
    id: SubjectId, created_at: Timestamp, mut identities: Vec<Identity>,
) -> Subject {
    identities.sort_by_key(|i| i.kind());
    Subject {
        id,
        created_at,
        identities,
    }
}

impl Tenant {
    /// A tenant as `create_tenant` stores it.
    pub(crate) fn created(name: &str, operator: bool, at: Timestamp) -> Tenant {
        Tenant {
            id: TenantId::new(),
            name: name.to_owned(),
            operator,
            created_at: at,
            profile: TenantProfile::default(),
        }
    }
}

impl ApiKey {
    /// A key as `create_api_key` stores it; its secret is kept only as `key.secret_hash`.
    pub(crate) fn created(key: &NewApiKey, at: Timestamp) -> ApiKey {
        ApiKey {
            id: ApiKeyId::new(),
            tenant: key.tenant,
            operator_wide: key.operator_wide,
            name: key.name.clone(),
            role: key.role,
            created_at: at,
            revoked_at: None,
        }
    }
}

/// A notice ledger line with its mail, from the columns of `DELIVERY_SELECT` in each backend.
pub(crate) fn delivery_row(row: &impl Columns) -> Result<crate::notices::DeliveryRow> {
    let outbox = match row.opt_bytes(5)? {
        Some(to) => Some((
            to,
            row.opt_int(6)?,
            u32::try_from(row.int(7)?).unwrap_or(0),
            row.opt_text(8)?,
        )),
        None => None,
    };
    Ok(crate::notices::DeliveryRow {
        notice: row.id(0)?,
        subject: row.id(1)?,
        mail: row.opt_id(2)?,
        skipped: row.opt_text(3)?,
        created_at: row.int(4)?,
        outbox,
    })
}

/// A notice, from [`crate::notices::NOTICE_COLUMNS`].
pub(crate) fn notice(row: &impl Columns) -> Result<crate::notices::Notice> {
    crate::notices::notice_of((
        row.id(0)?,
        row.text(1)?,
        row.flag(2)?,
        row.text(3)?,
        row.bytes(4)?,
        row.text(5)?,
        row.opt_id(6)?,
        row.int(7)?,
        row.text(8)?,
        row.int(9)?,
        row.int(10)?,
    ))
}

/// A request as stored, from [`crate::requests::REQUEST_COLUMNS`] starting at column `base`;
/// still sealed (its `decode` opens it).
pub(crate) fn request_row(row: &impl Columns, base: usize) -> Result<crate::requests::RequestRow> {
    let c = |i: usize| base + i;
    Ok(crate::requests::RequestRow {
        id: row.id(c(0))?,
        kind: row.text(c(1))?,
        status: row.text(c(2))?,
        subject: row.opt_id(c(3))?,
        purpose: row.opt_text(c(4))?,
        category: row.opt_text(c(5))?,
        record: row.opt_id(c(6))?,
        channel: row.text(c(7))?,
        wrapped_key: row.bytes(c(8))?,
        sealed: row.bytes(c(9))?,
        times: [
            Some(row.int(c(10))?),
            row.opt_int(c(11))?,
            row.opt_int(c(13))?,
            row.opt_int(c(14))?,
            row.opt_int(c(15))?,
            row.opt_int(c(17))?,
        ],
        verified_by: row.opt_text(c(12))?,
        extension_reason: row.opt_text(c(16))?,
        refusal_reason: row.opt_text(c(18))?,
        outcome: row.opt_text(c(19))?,
        code_hash: row.opt_bytes(c(20))?,
        code_expires_at: row.opt_int(c(21))?,
        code_attempts: row.int(c(22))?,
        locked: row.flag(c(23))?,
        overdue_at: row.opt_int(c(24))?,
        version: row.int(c(25))?,
        assignee: row.opt_text(c(26))?,
    })
}

/// A tombstone, from `subject_id, request_id, erased_at, partial`.
pub(crate) fn tombstone(row: &impl Columns) -> Result<crate::requests::Tombstone> {
    Ok(crate::requests::Tombstone {
        subject: SubjectId(row.id(0)?),
        request: row.opt_id(1)?.map(crate::requests::RequestId),
        erased_at: row.at(2)?,
        partial: row.flag(3)?,
    })
}

/// A legal hold, from
/// `hold_id, reason, subject_id, category, note, created_at, ends_at, released_at`.
pub(crate) fn legal_hold(row: &impl Columns) -> Result<crate::retention::LegalHold> {
    use crate::retention::{HoldId, HoldReason, LegalHold};
    let reason = row.text(1)?;
    Ok(LegalHold {
        id: HoldId(row.id(0)?),
        reason: HoldReason::parse(&reason)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown hold reason {reason}")))?,
        subject: row.opt_id(2)?.map(SubjectId),
        category: row.opt_text(3)?,
        note: row.text(4)?,
        created_at: row.at(5)?,
        ends_at: row.opt_at(6)?,
        released_at: row.opt_at(7)?,
    })
}
