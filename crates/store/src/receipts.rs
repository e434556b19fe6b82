//! What the store keeps of signed receipts: the public keys they are signed with (the private
//! halves are derived from the master key and never stored) and the receipts of sweep runs
//! and audit-chain heads. The signing itself is `ombud-app`'s; the store keeps text.

use crate::Result;
use crate::model::TenantId;
use jiff::Timestamp;
use uuid::Uuid;

/// A key receipts are signed with: its id, the public half, and when it was retired (after
/// which it is not published, so what it signed no longer verifies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKey {
    pub kid: String,
    pub public_key: [u8; 32],
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// What a stored receipt is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReceiptKind {
    /// One sweep run of a tenant; `about` is the run's time.
    Sweep,
    /// The tenant's audit-chain head at the end of a day; `about` is the date.
    AuditHead,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Sweep => "sweep",
            ReceiptKind::AuditHead => "audit_head",
        }
    }

    pub fn parse(text: &str) -> Option<ReceiptKind> {
        match text {
            "sweep" => Some(ReceiptKind::Sweep),
            "audit_head" => Some(ReceiptKind::AuditHead),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    pub tenant: TenantId,
    pub id: Uuid,
    pub kind: ReceiptKind,
    /// What it is a receipt of, unique per tenant and kind: a run's time, a date.
    pub about: String,
    pub issued_at: Timestamp,
    /// The receipt: a JWS in compact serialisation.
    pub jws: String,
}

/// Which of a tenant's receipts to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ReceiptFilter {
    pub kind: Option<ReceiptKind>,
    /// Only receipts issued before this one (by id): the next page.
    pub before: Option<Uuid>,
    pub limit: usize,
}

/// Each backend implements it in `sqlite/receipts.rs` and `postgres/receipts.rs`.
pub trait Receipts {
    /// Every signing key, retired ones too, oldest first.
    fn receipt_keys(&self) -> Result<Vec<ReceiptKey>>;
    /// Adds a key; false when its id exists.
    fn add_receipt_key(&self, key: &ReceiptKey) -> Result<bool>;
    /// Retires a key; false when there is no such key or it was retired already.
    fn retire_receipt_key(&self, kid: &str, at: Timestamp) -> Result<bool>;
    /// Keeps a receipt; false (and nothing written) when the tenant has one of that kind
    /// about the same thing.
    fn put_receipt(&self, receipt: &StoredReceipt) -> Result<bool>;
    fn receipts(&self, tenant: TenantId, filter: &ReceiptFilter) -> Result<Vec<StoredReceipt>>;
    fn receipt(
        &self, tenant: TenantId, kind: ReceiptKind, about: &str,
    ) -> Result<Option<StoredReceipt>>;
    /// Removes the tenant's receipts of sweeps and chain heads issued before `before`; returns
    /// how many. (Whoever was handed one keeps their copy; the store keeps them as long as the
    /// audit log they point into.)
    fn prune_receipts(&self, tenant: TenantId, before: Timestamp) -> Result<u64>;
}

pub(crate) fn receipt_key(row: &impl crate::rows::Columns) -> Result<ReceiptKey> {
    Ok(ReceiptKey {
        kid: row.text(0)?,
        public_key: row.hash(1)?,
        created_at: row.at(2)?,
        retired_at: row.opt_at(3)?,
    })
}

pub(crate) fn stored_receipt(row: &impl crate::rows::Columns) -> Result<StoredReceipt> {
    let kind = row.text(2)?;
    Ok(StoredReceipt {
        tenant: TenantId(row.id(0)?),
        id: row.id(1)?,
        kind: ReceiptKind::parse(&kind)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("unknown receipt kind {kind}")))?,
        about: row.text(3)?,
        issued_at: row.at(4)?,
        jws: row.text(5)?,
    })
}
