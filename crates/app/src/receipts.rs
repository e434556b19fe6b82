//! Signed receipts: what was done for a request, by a sweep run, or how far the audit chain
//! reached at the end of a day, as a JWS (RFC 7515, compact serialisation) signed with EdDSA
//! over Ed25519. Anyone holding the operator's published keys (a JWKS, RFC 7517) can check a
//! receipt without trusting ombud; the payload names the policy version in force and the
//! tenant's audit-chain head, so a receipt kept today proves tomorrow that no audit entry
//! before it was changed. Payloads carry ids, counts, categories, rules and laws — never a
//! value of the person.
//!
//! Signing keys are derived from the master key by key id (`Secrets::receipt_signing_key`);
//! the store keeps only their public halves. Rotation adds a key that signs from then on (the
//! old one still verifies); retiring a key stops publishing it, so what it signed stops
//! verifying.

use crate::secrets::Secrets;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use jiff::Timestamp;
use ombud_policy::Policy;
use ombud_store::model::TenantId;
use ombud_store::receipts::{ReceiptKey, ReceiptKind, StoredReceipt};
use ombud_store::requests::DsRequest;
use ombud_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JWS `typ` of a receipt (RFC 7515 §4.1.9, the `application/` left out).
pub const TYP: &str = "ombud-receipt+json";
/// The version of the payload's format.
pub const VERSION: u32 = 1;
/// Where a server publishes the keys.
pub const JWKS_PATH: &str = "/.well-known/ombud-receipt-keys.json";

/// The lines around a receipt in a mail or a text file.
pub const BEGIN: &str = "-----BEGIN OMBUD RECEIPT-----";
pub const END: &str = "-----END OMBUD RECEIPT-----";

/// The receipt in `text` as one compact JWS: the whole text, or what stands between the
/// markers of a mail, with the line breaks taken out.
pub fn compact(text: &str) -> String {
    let inside = match text.split_once(BEGIN) {
        Some((_, rest)) => rest.split_once(END).map_or(rest, |(inside, _)| inside),
        None => text,
    };
    inside.split_whitespace().collect()
}

/// Checks a receipt given as text (bare, or between the markers of a mail).
pub fn verify_text(text: &str, keys: &Jwks) -> Result<Receipt, VerifyError> {
    verify(&compact(text), keys)
}

/// What a receipt is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Of {
    Request,
    Sweep,
    AuditHead,
}

/// The signed payload (docs/receipts.md describes every field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub v: u32,
    pub of: Of,
    /// Who signs: the operator, as privacy.toml's `[controller]` names it.
    pub issuer: String,
    pub tenant: uuid::Uuid,
    pub issued_at: Timestamp,
    /// The hash of the policy in force (`ombud policy check` prints it).
    pub policy_version: String,
    /// The tenant's audit chain as it stood: its last entry's number and hash.
    pub audit_head: ChainHead,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestDone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepDone>,
    /// For a chain head: the day (in the controller's time zone) whose end it seals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<jiff::civil::Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    /// BLAKE3, hex.
    pub hash: String,
}

impl ChainHead {
    pub fn of(head: (i64, [u8; 32])) -> ChainHead {
        ChainHead {
            seq: head.0,
            hash: crate::secrets::hex(&head.1),
        }
    }
}

/// A request carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDone {
    pub id: uuid::Uuid,
    /// access, portability, rectification, erasure, restriction, objection, consent_withdrawal.
    pub kind: String,
    pub received_at: Timestamp,
    /// The deadline in force when it was carried out (the extended one after an extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    pub fulfilled_at: Timestamp,
    /// What the person was told was done.
    pub summary: String,
    /// Records exported, deleted or changed in ombud's vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Records per category (for erasure: those deleted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, u64>,
    /// Rows per table of the operator's own systems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<crate::rights::SystemRows>,
    /// What erasure kept, under which rule and law, until when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
    /// Recipients owed word of the change (Art. 19), by id in privacy.toml.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients_notified: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub category: String,
    pub records: u64,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub law: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// While the period that keeps it has not begun: the event it begins with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
}

/// One sweep run of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SweepDone {
    pub ran_at: Timestamp,
    pub records: u64,
    /// People removed whole, with their last record.
    pub subjects: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    /// Past their end but kept by a legal hold.
    pub held: u64,
    /// Kept because the person asked for restriction (Art. 18).
    pub restricted: u64,
    pub audit_pruned: u64,
    pub ledger_pruned: u64,
    /// Rows of the operator's own tables, per table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<TableSwept>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSwept {
    pub dataset: String,
    pub collection: String,
    /// delete or anonymise.
    pub action: String,
    pub rows: u64,
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a receipt: {0}")]
    Malformed(String),
    #[error("signed with {0}; a receipt is signed with EdDSA")]
    Algorithm(String),
    #[error(
        "signed with key `{0}`, which the keys given do not publish (unknown, or retired after a compromise)"
    )]
    UnknownKey(String),
    #[error("the signature does not match: the receipt was changed, or signed by another key")]
    Signature,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    #[serde(default)]
    typ: Option<String>,
}

/// A JSON Web Key Set of Ed25519 public keys (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwks {
    /// The keys in use: every key not retired.
    pub fn published(keys: &[ReceiptKey]) -> Jwks {
        Jwks {
            keys: keys
                .iter()
                .filter(|k| k.retired_at.is_none())
                .map(|k| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: B64.encode(k.public_key),
                    kid: k.kid.clone(),
                    alg: Some("EdDSA".into()),
                    use_: Some("sig".into()),
                })
                .collect(),
        }
    }

    fn key(&self, kid: &str) -> Option<VerifyingKey> {
        let jwk = self
            .keys
            .iter()
            .find(|k| k.kid == kid && k.kty == "OKP" && k.crv == "Ed25519")?;
        let bytes: [u8; 32] = B64.decode(&jwk.x).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

/// The key receipts are signed with now, with its id.
pub struct ActiveKey {
    pub kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActiveKey({})", self.kid)
    }
}

/// A new key id: the day it was made and random bits, so ids never repeat.
fn new_kid(now: Timestamp) -> Result<String, StoreError> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a key id: {e}")))?;
    Ok(format!(
        "{}-{}",
        now.strftime("%Y%m%d"),
        crate::secrets::hex(&random)
    ))
}

/// Adds a signing key: it signs every receipt from now on; the earlier keys still verify
/// what they signed.
pub fn rotate(
    store: &dyn Store,
    secrets: &Secrets,
    now: Timestamp,
) -> Result<ReceiptKey, StoreError> {
    let kid = new_kid(now)?;
    let key = ReceiptKey {
        public_key: secrets.receipt_signing_key(&kid).verifying_key().to_bytes(),
        kid,
        created_at: now,
        retired_at: None,
    };
    store.add_receipt_key(&key)?;
    Ok(key)
}

/// The newest key not retired, created when there is none (a store set up before receipts).
pub fn active_key(
    store: &dyn Store,
    secrets: &Secrets,
    now: Timestamp,
) -> Result<ActiveKey, StoreError> {
    let keys = store.receipt_keys()?;
    let current = match keys.iter().rev().find(|k| k.retired_at.is_none()) {
        Some(key) => key.clone(),
        None => rotate(store, secrets, now)?,
    };
    let key = secrets.receipt_signing_key(&current.kid);
    // A store opened with another master key would sign what its published key does not
    // verify; refusing says so at once.
    if key.verifying_key().to_bytes() != current.public_key {
        return Err(StoreError::Corrupt(format!(
            "receipt key `{}` was made with another master key; this server cannot sign with it (rotate: `ombud keys receipts rotate`)",
            current.kid
        )));
    }
    Ok(ActiveKey {
        kid: current.kid,
        key,
    })
}

/// The receipt as a compact JWS.
pub fn sign(key: &ActiveKey, receipt: &Receipt) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        kid: key.kid.clone(),
        typ: Some(TYP.into()),
    };
    let header = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
    let payload = B64.encode(serde_json::to_vec(receipt).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let signature = key.key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

/// The id of the key a receipt names, read without checking anything.
pub fn key_id(jws: &str) -> Option<String> {
    let header = B64.decode(jws.trim().split('.').next()?).ok()?;
    serde_json::from_slice::<Header>(&header)
        .ok()
        .map(|h| h.kid)
}

/// Checks a receipt against published keys and reads its payload.
pub fn verify(jws: &str, keys: &Jwks) -> Result<Receipt, VerifyError> {
    let jws = jws.trim();
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed(
            "a receipt is three base64url parts joined by dots (a compact JWS)".into(),
        ));
    };
    let decode = |part: &str, what: &str| {
        B64.decode(part)
            .map_err(|_| VerifyError::Malformed(format!("its {what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|e| VerifyError::Malformed(format!("its header: {e}")))?;
    if header.alg != "EdDSA" {
        return Err(VerifyError::Algorithm(header.alg));
    }
    let key = keys
        .key(&header.kid)
        .ok_or_else(|| VerifyError::UnknownKey(header.kid.clone()))?;
    let signature: [u8; 64] = decode(signature, "signature")?
        .try_into()
        .map_err(|_| VerifyError::Signature)?;
    let signed = &jws[..jws.len() - jws.rsplit('.').next().map_or(0, str::len) - 1];
    key.verify_strict(
        signed.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&signature),
    )
    .map_err(|_| VerifyError::Signature)?;
    serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|e| VerifyError::Malformed(format!("its payload: {e}")))
}

/// What a receipt says, without checking its signature: for showing one whose key was retired.
/// Never a proof; [`verify`] is.
pub fn unverified(jws: &str) -> Option<Receipt> {
    let payload = jws.trim().split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

fn receipt(
    store: &dyn Store,
    policy: &Policy,
    tenant: TenantId,
    of: Of,
    now: Timestamp,
) -> Result<Receipt, StoreError> {
    Ok(Receipt {
        v: VERSION,
        of,
        issuer: policy.controller.name.clone(),
        tenant: tenant.0,
        issued_at: now,
        policy_version: policy.version.0.clone(),
        audit_head: ChainHead::of(store.audit_head(tenant)?),
        request: None,
        sweep: None,
        day: None,
    })
}

/// What signing a request's receipt needs, read before the transaction that fulfils it: the
/// key, and the chain head before the fulfilment's own entry (which commits with the receipt).
pub struct RequestSigner {
    key: ActiveKey,
    base: Receipt,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestSigner({})", self.key.kid)
    }
}

impl RequestSigner {
    pub fn new(
        store: &dyn Store,
        secrets: &Secrets,
        policy: &Policy,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<RequestSigner, StoreError> {
        Ok(RequestSigner {
            key: active_key(store, secrets, now)?,
            base: receipt(store, policy, tenant, Of::Request, now)?,
        })
    }

    /// When the request is fulfilled: the time the receipt is issued at.
    pub fn at(&self) -> Timestamp {
        self.base.issued_at
    }

    /// The receipt of `request` closing with `outcome`, signed.
    pub fn sign(&self, request: &DsRequest, outcome: &crate::rights::Outcome) -> String {
        let mut receipt = self.base.clone();
        receipt.request = Some(RequestDone {
            id: request.id.0,
            kind: request.kind.as_str().to_owned(),
            received_at: request.received_at,
            due_at: request.due_at,
            fulfilled_at: receipt.issued_at,
            summary: outcome.summary.clone(),
            records: outcome.records,
            categories: outcome.categories.clone(),
            systems: outcome.systems.clone(),
            kept: outcome
                .kept
                .iter()
                .map(|k| Kept {
                    category: k.category.clone(),
                    records: k.records,
                    rule: k.rule.clone(),
                    law: k.law.clone(),
                    until: k.until,
                    starts_with: k.starts_with.clone(),
                })
                .collect(),
            recipients_notified: outcome
                .recipients_notified
                .iter()
                .map(|r| r.recipient.clone())
                .collect(),
        });
        sign(&self.key, &receipt)
    }
}

/// Signs and keeps the receipt of one tenant's sweep run.
pub fn issue_sweep(
    store: &dyn Store,
    secrets: &Secrets,
    policy: &Policy,
    tenant: TenantId,
    done: SweepDone,
    now: Timestamp,
) -> Result<StoredReceipt, StoreError> {
    let mut receipt = receipt(store, policy, tenant, Of::Sweep, now)?;
    let about = done.ran_at.to_string();
    receipt.sweep = Some(done);
    keep(
        store,
        secrets,
        tenant,
        ReceiptKind::Sweep,
        about,
        &receipt,
        now,
    )
}

fn keep(
    store: &dyn Store,
    secrets: &Secrets,
    tenant: TenantId,
    kind: ReceiptKind,
    about: String,
    receipt: &Receipt,
    now: Timestamp,
) -> Result<StoredReceipt, StoreError> {
    let stored = StoredReceipt {
        tenant,
        id: uuid::Uuid::now_v7(),
        kind,
        about,
        issued_at: now,
        jws: sign(&active_key(store, secrets, now)?, receipt),
    };
    if store.put_receipt(&stored)? {
        return Ok(stored);
    }
    // Another replica issued it first: its receipt is the one.
    store
        .receipt(tenant, kind, &stored.about)?
        .ok_or_else(|| StoreError::Corrupt("a receipt refused as a repeat is not there".into()))
}

/// The day whose end a chain-head receipt issued at `now` seals: yesterday, in the
/// controller's time zone.
pub fn day_sealed(now: Timestamp, time_zone: &jiff::tz::TimeZone) -> Option<jiff::civil::Date> {
    now.to_zoned(time_zone.clone()).date().yesterday().ok()
}

/// Signs and keeps each tenant's chain head for the day that ended last (in the controller's
/// time zone), unless it has one; returns how many were issued.
pub fn issue_chain_heads(
    store: &dyn Store,
    secrets: &Secrets,
    policy: &Policy,
    time_zone: &jiff::tz::TimeZone,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let Some(day) = day_sealed(now, time_zone) else {
        return Ok(0);
    };
    let about = day.to_string();
    let mut issued = 0;
    for tenant in store.tenants()? {
        if store
            .receipt(tenant.id, ReceiptKind::AuditHead, &about)?
            .is_some()
        {
            continue;
        }
        let mut receipt = receipt(store, policy, tenant.id, Of::AuditHead, now)?;
        receipt.day = Some(day);
        keep(
            store,
            secrets,
            tenant.id,
            ReceiptKind::AuditHead,
            about.clone(),
            &receipt,
            now,
        )?;
        issued += 1;
    }
    Ok(issued)
}

/// Whether the audit chain still holds what a chain head (of a receipt) saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChainCheck {
    /// The chain verifies and entry `seq` still has the hash: no entry up to it was changed,
    /// removed or put in since.
    Holds { seq: i64, entries_since: i64 },
    /// Entry `seq` now has another hash (or is gone): the log was changed at or before it.
    Changed { seq: i64 },
    /// The chain itself does not verify from its first broken entry.
    Broken { seq: i64, reason: String },
    /// Entries up to `through` were pruned under the audit log's retention, the head's
    /// among them; the chain can no longer speak for them.
    Pruned { through: i64 },
}

/// Checks the tenant's audit chain against a head a receipt signed.
pub fn check_chain(
    store: &dyn Store,
    tenant: TenantId,
    head: &ChainHead,
) -> Result<ChainCheck, StoreError> {
    use ombud_store::audit::{AuditFilter, Verification};
    if let Verification::Broken { seq, reason } = store.verify_audit(tenant)? {
        return Ok(ChainCheck::Broken { seq, reason });
    }
    let (current, _) = store.audit_head(tenant)?;
    let hash_of = |bytes: &[u8; 32]| ChainHead::of((head.seq, *bytes)).hash;
    if let Some(checkpoint) = store.audit_checkpoint(tenant)?
        && checkpoint.seq >= head.seq
    {
        return Ok(
            if checkpoint.seq == head.seq && hash_of(&checkpoint.hash) == head.hash {
                ChainCheck::Holds {
                    seq: head.seq,
                    entries_since: current - head.seq,
                }
            } else {
                ChainCheck::Pruned {
                    through: checkpoint.seq,
                }
            },
        );
    }
    if head.seq == 0 {
        return Ok(ChainCheck::Holds {
            seq: 0,
            entries_since: current,
        });
    }
    let entry = store
        .audit_entries(
            tenant,
            &AuditFilter {
                after_seq: Some(head.seq - 1),
                limit: 1,
                ..AuditFilter::default()
            },
        )?
        .into_iter()
        .next()
        .filter(|e| e.seq == head.seq);
    Ok(match entry {
        Some(entry) if hash_of(&entry.hash) == head.hash => ChainCheck::Holds {
            seq: head.seq,
            entries_since: current - head.seq,
        },
        _ => ChainCheck::Changed { seq: head.seq },
    })
}

/// What one sweep run did, tenant by tenant, as its receipts tell it.
#[derive(Debug, Default)]
pub struct SweepRun {
    pub done: BTreeMap<TenantId, SweepDone>,
}

impl SweepRun {
    pub fn new() -> SweepRun {
        SweepRun::default()
    }

    fn of(&mut self, tenant: TenantId, now: Timestamp) -> &mut SweepDone {
        self.done.entry(tenant).or_insert_with(|| SweepDone {
            ran_at: now,
            ..SweepDone::default()
        })
    }

    /// A record removed from the vault (the sweep's callback).
    pub fn removed(&mut self, tenant: TenantId, removal: &crate::sweeper::Removal, now: Timestamp) {
        *self
            .of(tenant, now)
            .by_category
            .entry(removal.category.clone())
            .or_default() += 1;
    }

    /// A tenant's report from the vault's sweep.
    pub fn report(
        &mut self,
        tenant: TenantId,
        report: &crate::sweeper::SweepReport,
        now: Timestamp,
    ) {
        let done = self.of(tenant, now);
        done.records = report.records;
        done.subjects = report.subjects;
        done.by_rule = report.by_rule.clone();
        done.held = report.held;
        done.restricted = report.restricted;
        done.audit_pruned = report.audit_pruned;
        done.ledger_pruned = report.ledger_pruned;
    }

    /// The operator's own tables: a table customers share goes to the tenant whose rows
    /// they were, the others to the operator's tenant.
    pub fn tables(
        &mut self,
        tenants: &[ombud_store::model::Tenant],
        swept: &[crate::datasets::CollectionSweep],
        now: Timestamp,
    ) {
        for table in swept.iter().filter(|t| t.skipped.is_none() && t.rows > 0) {
            let whose = tenants.iter().find(|t| match &table.tenant {
                Some(name) => &t.name == name,
                None => t.operator,
            });
            if let Some(tenant) = whose {
                self.of(tenant.id, now).systems.push(TableSwept {
                    dataset: table.dataset.clone(),
                    collection: table.collection.clone(),
                    action: table.action.clone(),
                    rows: table.rows,
                });
            }
        }
    }
}

impl SweepDone {
    fn did_anything(&self) -> bool {
        self.records > 0
            || self.audit_pruned > 0
            || self.ledger_pruned > 0
            || self.systems.iter().any(|t| t.rows > 0)
    }
}

/// Signs and keeps the receipts of a sweep run: one per tenant it removed anything of, and
/// one a day for a tenant it found nothing to remove of (so each day has its proof that the
/// sweep ran, without a receipt per idle round). Returns how many were issued.
pub fn issue_sweep_run(
    store: &dyn Store,
    secrets: &Secrets,
    policy: &Policy,
    time_zone: &jiff::tz::TimeZone,
    run: SweepRun,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let today = now.to_zoned(time_zone.clone()).date();
    let mut issued = 0;
    for (tenant, done) in run.done {
        if !done.did_anything() {
            let last = store.receipts(
                tenant,
                &ombud_store::receipts::ReceiptFilter {
                    kind: Some(ReceiptKind::Sweep),
                    before: None,
                    limit: 1,
                },
            )?;
            if last
                .first()
                .is_some_and(|r| r.issued_at.to_zoned(time_zone.clone()).date() == today)
            {
                continue;
            }
        }
        issue_sweep(store, secrets, policy, tenant, done, now)?;
        issued += 1;
    }
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_store::crypto::MasterKey;

    fn master(hex: &str) -> Secrets {
        Secrets::from_master(&MasterKey::from_hex(&hex.repeat(32)).expect("key"))
    }

    fn sample() -> Receipt {
        Receipt {
            v: VERSION,
            of: Of::AuditHead,
            issuer: "Example Oy".into(),
            tenant: uuid::Uuid::from_u128(7),
            issued_at: "2026-03-01T00:05:00Z".parse().expect("time"),
            policy_version: "abc".into(),
            audit_head: ChainHead::of((12, [3; 32])),
            request: None,
            sweep: None,
            day: Some(jiff::civil::date(2026, 2, 28)),
        }
    }

    fn key_of(secrets: &Secrets, kid: &str) -> (ActiveKey, ReceiptKey) {
        let key = secrets.receipt_signing_key(kid);
        let public = ReceiptKey {
            kid: kid.into(),
            public_key: key.verifying_key().to_bytes(),
            created_at: "2026-01-01T00:00:00Z".parse().expect("time"),
            retired_at: None,
        };
        (
            ActiveKey {
                kid: kid.into(),
                key,
            },
            public,
        )
    }

    #[test]
    fn a_receipt_verifies_with_its_key_and_fails_changed_or_under_another_key() {
        let secrets = master("ab");
        let (key, public) = key_of(&secrets, "k1");
        let jws = sign(&key, &sample());
        let published = Jwks::published(std::slice::from_ref(&public));
        assert_eq!(verify(&jws, &published), Ok(sample()));

        // One character of the payload changed.
        let (head, rest) = jws.split_once('.').expect("parts");
        let mut payload: Vec<u8> = rest.bytes().collect();
        payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
        let changed = format!("{head}.{}", String::from_utf8(payload).expect("text"));
        assert_eq!(verify(&changed, &published), Err(VerifyError::Signature));

        // The same key id under another master key.
        let (_, stranger) = key_of(&master("cd"), "k1");
        assert_eq!(
            verify(&jws, &Jwks::published(&[stranger])),
            Err(VerifyError::Signature)
        );
        // Retired: no longer published.
        let retired = ReceiptKey {
            retired_at: Some("2026-02-01T00:00:00Z".parse().expect("time")),
            ..public
        };
        assert_eq!(
            verify(&jws, &Jwks::published(&[retired])),
            Err(VerifyError::UnknownKey("k1".into()))
        );
        assert!(matches!(
            verify("a.b", &published),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn keys_differ_by_id_and_by_master_key() {
        let a = master("ab").receipt_signing_key("k1").verifying_key();
        assert_eq!(a, master("ab").receipt_signing_key("k1").verifying_key());
        assert_ne!(a, master("ab").receipt_signing_key("k2").verifying_key());
        assert_ne!(a, master("cd").receipt_signing_key("k1").verifying_key());
    }

    #[test]
    fn a_chain_head_seals_yesterday_in_the_controllers_zone() {
        let helsinki = jiff::tz::TimeZone::get("Europe/Helsinki").expect("zone");
        // 22:30 UTC on the leap day is already 1 March in Helsinki.
        let late: Timestamp = "2028-02-29T22:30:00Z".parse().expect("time");
        assert_eq!(
            day_sealed(late, &helsinki),
            Some(jiff::civil::date(2028, 2, 29))
        );
        assert_eq!(
            day_sealed(late, &jiff::tz::TimeZone::UTC),
            Some(jiff::civil::date(2028, 2, 28))
        );
        // The night the clocks go forward.
        let spring: Timestamp = "2026-03-29T01:30:00Z".parse().expect("time");
        assert_eq!(
            day_sealed(spring, &helsinki),
            Some(jiff::civil::date(2026, 3, 28))
        );
    }
}
