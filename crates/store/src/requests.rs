//! What the store keeps of data-subject requests, their exports, the erasures they carried out
//! and the mails they sent. The person's contact address and a rectification's new value are
//! personal data: they are sealed with a key of the request's own, wrapped by the master key.

use crate::Actor;
use crate::audit::NewAuditEntry;
use crate::crypto::{CryptoError, DataKey, Keyring};
use crate::model::{RecordId, Secret, SubjectId, TenantId};
use jiff::Timestamp;
use ombud_core::Identity;
use ombud_core::requests::{RequestKind, RequestStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::model::id!(
    /// One data-subject request.
    RequestId
);
crate::model::id!(
    /// One queued mail.
    MailId
);

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub kind: RequestKind,
    /// The subject the request is about, when known at filing.
    pub subject: Option<SubjectId>,
    /// Where the person is answered (and sent a code), when they gave an address.
    pub contact: Option<Identity>,
    /// The activity a consent withdrawal or an objection is about.
    pub purpose: Option<String>,
    /// The category and record a rectification is about, and its new value.
    pub category: Option<String>,
    pub record: Option<RecordId>,
    pub new_value: Option<Secret>,
    /// How it reached us: api, portal, cli.
    pub channel: String,
    pub received_at: Timestamp,
    /// The first deadline, when the clock has started.
    pub due_at: Option<Timestamp>,
}

/// A request as stored. Everything but `id`, `kind`, `received_at` and `channel` may change
/// through [`Requests::update_request`], which checks `version` so two writers cannot
/// overwrite each other.
#[derive(Debug, Clone)]
pub struct DsRequest {
    pub id: RequestId,
    pub tenant: TenantId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub subject: Option<SubjectId>,
    pub contact: Option<Identity>,
    pub purpose: Option<String>,
    pub category: Option<String>,
    pub record: Option<RecordId>,
    pub new_value: Option<Secret>,
    pub channel: String,
    pub received_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    /// How identity was confirmed: email_code, service_key, manual.
    pub verified_by: Option<String>,
    /// The first deadline; `None` while a clock that starts at verification waits.
    pub first_due_at: Option<Timestamp>,
    /// The deadline in force: the first, or the extended one.
    pub due_at: Option<Timestamp>,
    pub extended_at: Option<Timestamp>,
    pub extension_reason: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub refusal_reason: Option<String>,
    /// What was done, as JSON without personal data (categories kept and why, counts).
    pub outcome: Option<String>,
    pub code_hash: Option<[u8; 32]>,
    pub code_expires_at: Option<Timestamp>,
    pub code_attempts: u32,
    pub locked: bool,
    pub overdue_at: Option<Timestamp>,
    pub version: i64,
    /// The colleague who works the request, when someone took it.
    pub assignee: Option<String>,
}

impl DsRequest {
    /// The request as the store now holds it, at `version`.
    pub(crate) fn stored_as(&self, version: i64) -> DsRequest {
        DsRequest {
            version,
            ..self.clone()
        }
    }
    pub fn from_new(tenant: TenantId, id: RequestId, new: &NewRequest) -> DsRequest {
        DsRequest {
            id,
            tenant,
            kind: new.kind,
            status: RequestStatus::Received,
            subject: new.subject,
            contact: new.contact.clone(),
            purpose: new.purpose.clone(),
            category: new.category.clone(),
            record: new.record,
            new_value: new.new_value.clone(),
            channel: new.channel.clone(),
            received_at: new.received_at,
            verified_at: None,
            verified_by: None,
            first_due_at: new.due_at,
            due_at: new.due_at,
            extended_at: None,
            extension_reason: None,
            closed_at: None,
            refusal_reason: None,
            outcome: None,
            code_hash: None,
            code_expires_at: None,
            code_attempts: 0,
            locked: false,
            overdue_at: None,
            version: 1,
            assignee: None,
        }
    }
}

/// The sealed part of a request.
#[derive(Serialize, Deserialize)]
struct Sealed {
    contact: Option<String>,
    new_value: Option<String>,
}

fn secrets_aad(request: RequestId) -> Vec<u8> {
    let mut aad = b"request".to_vec();
    aad.extend_from_slice(request.0.as_bytes());
    aad
}

/// Seals a request's personal data with a fresh key; returns (wrapped key, sealed bytes).
pub(crate) fn seal_request(
    keyring: &Keyring, tenant: TenantId, request: &DsRequest,
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let key = keyring.new_data_key()?;
    let wrapped = keyring.wrap(&key, tenant.0, request.id.0)?;
    let sealed = reseal_request(
        &key,
        request.id,
        request.contact.as_ref(),
        request.new_value.as_ref(),
    )?;
    Ok((wrapped, sealed))
}

fn reseal_request(
    key: &DataKey, id: RequestId, contact: Option<&Identity>, new_value: Option<&Secret>,
) -> Result<Vec<u8>, CryptoError> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&Sealed {
            contact: contact.map(|c| format!("{}:{}", c.kind().as_str(), c.expose())),
            new_value: new_value.map(|v| v.expose().to_owned()),
        })
        .map_err(|_| CryptoError::Seal)?,
    );
    key.seal(&plain, &secrets_aad(id))
}

/// Seals a request's personal data again under its existing key (after a change).
pub(crate) fn reseal_with(
    keyring: &Keyring, tenant: TenantId, request: &DsRequest, wrapped: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = keyring.unwrap(wrapped, tenant.0, request.id.0)?;
    reseal_request(
        &key,
        request.id,
        request.contact.as_ref(),
        request.new_value.as_ref(),
    )
}

pub(crate) fn open_request(
    keyring: &Keyring, tenant: TenantId, id: RequestId, wrapped: &[u8], sealed: &[u8],
) -> crate::Result<(Option<Identity>, Option<Secret>)> {
    let key = keyring.unwrap(wrapped, tenant.0, id.0)?;
    let plain = key.open(sealed, &secrets_aad(id))?;
    let sealed: Sealed = serde_json::from_slice(&plain)
        .map_err(|e| crate::StoreError::Corrupt(format!("request {id}: {e}")))?;
    let contact = sealed
        .contact
        .map(|c| Identity::parse_tagged(&c))
        .transpose()
        .map_err(|e| crate::StoreError::Corrupt(format!("request {id}: {e}")))?;
    Ok((contact, sealed.new_value.map(Secret::new)))
}

/// Which requests a list returns.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Only requests still open.
    pub open: bool,
    /// Only requests past their deadline and still open.
    pub overdue: bool,
    /// Requests after this one, for paging (ids sort by filing time).
    pub after: Option<RequestId>,
    pub limit: usize,
}

impl RequestFilter {
    pub fn page_size(&self) -> usize {
        if self.limit == 0 {
            100
        } else {
            self.limit.min(1000)
        }
    }
}

/// The order of the console's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueOrder {
    /// The nearest deadline first; requests whose clock has not started yet last.
    #[default]
    Due,
    /// The newest first.
    Newest,
}

/// Where the previous page of the queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub due: Option<Timestamp>,
    pub id: RequestId,
}

/// Who works the requests a queue lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    Nobody,
    To(String),
}

/// Which requests the console's queue lists, across the tenants a user sees.
#[derive(Debug, Clone, Default)]
pub struct RequestQueue {
    /// `None`: every tenant.
    pub tenants: Option<Vec<TenantId>>,
    pub status: Option<RequestStatus>,
    /// Only requests still open.
    pub open: bool,
    pub kind: Option<RequestKind>,
    /// Only the requests of this person.
    pub subject: Option<SubjectId>,
    pub assigned: Option<Assigned>,
    /// Only requests due before this moment (overdue ones included).
    pub due_before: Option<Timestamp>,
    pub order: QueueOrder,
    pub after: Option<QueueCursor>,
    pub limit: usize,
}

impl RequestQueue {
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, 1000)
    }

    /// Where the page that ends with `last` leaves off.
    pub fn cursor_after(&self, last: &DsRequest) -> QueueCursor {
        QueueCursor {
            due: match self.order {
                QueueOrder::Due => last.due_at,
                QueueOrder::Newest => None,
            },
            id: last.id,
        }
    }
}

/// How many requests stand in each state, across tenants, for /metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    pub status: RequestStatus,
    pub overdue: bool,
    pub count: u64,
}

/// A record erasure keeps, and the purposes it stays restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeptRecord {
    pub record: RecordId,
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub records_deleted: u64,
    pub records_kept: u64,
    pub identities_deleted: u64,
    /// The subject row and its key are gone (nothing was kept).
    pub subject_deleted: bool,
}

/// A request's step, written in the transaction that carries out its effect: the request as
/// it stands after the step, its audit entry and the mails it sends.
pub struct RequestStep {
    pub request: DsRequest,
    pub entry: NewAuditEntry,
    pub mails: Vec<NewMail>,
}

/// What remains of an erased subject, so a restore from backup can replay the erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tombstone {
    pub subject: SubjectId,
    pub request: Option<RequestId>,
    pub erased_at: Timestamp,
    /// Some records were kept under a legal obligation.
    pub partial: bool,
}

/// One line of the erasure ledger: an erasure (or a subject expired whole) to carry out again
/// on a store restored from before it. Ids and times only, never personal data, so the ledger
/// can be kept apart from the backups it corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErasureEntry {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub request: Option<RequestId>,
    pub erased_at: Timestamp,
    /// The records a legal obligation or hold kept, with the purposes they are restricted to;
    /// every other record of the subject goes.
    #[serde(default)]
    pub kept: Vec<KeptRecord>,
}

/// What replaying one erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// The subject was in the restored store and is erased again.
    Erased,
    /// The subject is not there (it came after the backup, or its erasure is in it already).
    AlreadyGone,
    /// The tenant is not there (it came after the backup).
    NoTenant,
}

/// A stored export, ready to hand out once.
#[derive(Debug)]
pub struct Export {
    pub request: RequestId,
    pub file_name: String,
    pub sealed: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewMail {
    pub to: Identity,
    /// Which template made it (request_code, request_extended, …): kept after sending.
    pub template: String,
    pub request: Option<RequestId>,
    pub subject: String,
    pub body: String,
}

/// A mail leased for sending.
#[derive(Debug, Clone)]
pub struct Mail {
    pub id: MailId,
    pub tenant: TenantId,
    pub to: Identity,
    pub template: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    /// For a notice of an opt-out kind: the person it goes to and the kind, from which the
    /// mailer makes the one-click unsubscribe link (RFC 8058). None for every other mail.
    pub unsubscribe: Option<(SubjectId, String)>,
}

/// What a notice's mail takes from its notice: its subject line and body, and for an opt-out
/// kind, whose mail it is and which kind.
pub(crate) struct NoticeText {
    pub subject: String,
    pub body: String,
    pub unsubscribe: Option<(SubjectId, String)>,
}

impl NoticeText {
    /// From the columns a lease reads: the notice's text (absent for a mail of its own), the
    /// mail's person, the notice's kind and whether it is mandatory.
    pub fn from_columns(
        text: Option<(String, String)>, subject: Option<Uuid>, kind: Option<String>,
        mandatory: Option<bool>,
    ) -> Option<NoticeText> {
        let (subject_line, body) = text?;
        let unsubscribe = match (subject, kind, mandatory) {
            (Some(subject), Some(kind), Some(false)) => Some((SubjectId(subject), kind)),
            _ => None,
        };
        Some(NoticeText {
            subject: subject_line,
            body,
            unsubscribe,
        })
    }
}

/// What is kept of a mail: to whom, which template, when, and how sending went.
#[derive(Debug, Clone, Serialize)]
pub struct MailRecord {
    pub id: MailId,
    pub request: Option<RequestId>,
    #[serde(skip)]
    pub to: Option<Identity>,
    pub template: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SealedMail {
    to: String,
    subject: String,
    body: String,
}

/// Seals a mail's address and message; returns (sealed address, sealed message).
pub(crate) fn seal_mail(
    keyring: &Keyring, id: MailId, mail: &NewMail,
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let to = format!("{}:{}", mail.to.kind().as_str(), mail.to.expose());
    let message = zeroize::Zeroizing::new(
        serde_json::to_vec(&SealedMail {
            to: to.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
        })
        .map_err(|_| CryptoError::Seal)?,
    );
    Ok((
        keyring.seal_mail(to.as_bytes(), to_key(id))?,
        keyring.seal_mail(&message, id.0)?,
    ))
}

/// Seals only the address of a mail whose message lives elsewhere (a notice's text).
pub(crate) fn seal_mail_to(
    keyring: &Keyring, id: MailId, to: &Identity,
) -> Result<Vec<u8>, CryptoError> {
    let to = format!("{}:{}", to.kind().as_str(), to.expose());
    keyring.seal_mail(to.as_bytes(), to_key(id))
}

/// The address is sealed apart from the message (it is kept after sending, the message is
/// not), under associated data of its own so the two cannot be swapped.
/// One sealed column of a row sealed again under the current master-key generation, or
/// `None` when it is already: what a rotation does to every subject key, request key and mail.
/// A mail's address is bound to its own label, its message to the mail id; a key to its tenant
/// and owner.
pub(crate) fn reseal_column(
    keyring: &Keyring, mail: bool, column: &str, tenant: Uuid, owner: Uuid, sealed: &[u8],
) -> Result<Option<Vec<u8>>, CryptoError> {
    match (mail, column) {
        (true, "sealed_to") => keyring.reseal_mail(sealed, to_key(MailId(owner))),
        (true, "totp_sealed") => keyring.reseal_mail(sealed, crate::users::totp_aad(owner)),
        (true, _) => keyring.reseal_mail(sealed, owner),
        (false, _) => keyring.rewrap(sealed, tenant, owner),
    }
}

fn to_key(id: MailId) -> Uuid {
    let mut to_aad = id.0.as_bytes().to_vec();
    to_aad.extend_from_slice(b"to");
    Uuid::from_slice(&blake3::hash(&to_aad).as_bytes()[..16]).unwrap_or(id.0)
}

pub(crate) fn open_mail_to(
    keyring: &Keyring, id: MailId, sealed_to: &[u8],
) -> crate::Result<Identity> {
    let to = keyring.open_mail(sealed_to, to_key(id))?;
    let to = std::str::from_utf8(&to).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    Identity::parse_tagged(to).map_err(|e| crate::StoreError::Corrupt(format!("mail {id}: {e}")))
}

pub(crate) fn open_mail(
    keyring: &Keyring, tenant: TenantId, id: MailId, template: String, attempts: u32,
    sealed_message: &[u8],
) -> crate::Result<Mail> {
    let plain = keyring.open_mail(sealed_message, id.0)?;
    let sealed: SealedMail = serde_json::from_slice(&plain)
        .map_err(|e| crate::StoreError::Corrupt(format!("mail {id}: {e}")))?;
    Ok(Mail {
        id,
        tenant,
        to: Identity::parse_tagged(&sealed.to)
            .map_err(|e| crate::StoreError::Corrupt(format!("mail {id}: {e}")))?,
        template,
        subject: sealed.subject,
        body: sealed.body,
        attempts,
        unsubscribe: None,
    })
}

/// A leased mail opened: its own sealed message, or, for a notice's mail, the sealed address
/// and the notice's subject line and body.
#[allow(clippy::too_many_arguments)]
pub(crate) fn leased_mail(
    keyring: &Keyring, tenant: TenantId, id: MailId, template: String, attempts: u32,
    message: Option<Vec<u8>>, sealed_to: &[u8], notice: Option<NoticeText>,
) -> crate::Result<Mail> {
    match (message, notice) {
        (Some(message), _) => open_mail(keyring, tenant, id, template, attempts, &message),
        (None, Some(notice)) => Ok(Mail {
            id,
            tenant,
            to: open_mail_to(keyring, id, sealed_to)?,
            template,
            subject: notice.subject,
            body: notice.body,
            attempts,
            unsubscribe: notice.unsubscribe,
        }),
        (None, None) => Err(crate::StoreError::Corrupt(format!(
            "mail {id} has no message"
        ))),
    }
}

/// How long to wait before the next try after `attempts` failures: 1, 2, 4 … minutes, at most
/// six hours.
pub fn mail_backoff(attempts: u32) -> jiff::SignedDuration {
    let minutes = 1i64 << attempts.saturating_sub(1).min(9);
    jiff::SignedDuration::from_mins(minutes.min(360))
}

/// After this many failures a mail is no longer tried; it stays visible with its error.
pub const MAIL_MAX_ATTEMPTS: u32 = 12;

/// The columns of a request row, in the order both backends select them.
pub(crate) const REQUEST_COLUMNS: &str = "request_id, kind, status, subject_id, purpose, category, record_id, channel, wrapped_key, sealed, received_at, verified_at, verified_by, first_due_at, due_at, extended_at, extension_reason, closed_at, refusal_reason, outcome, code_hash, code_expires_at, code_attempts, locked, overdue_at, version, assignee";

/// A request row as the database returns it, before decoding.
pub(crate) struct RequestRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub subject: Option<Uuid>,
    pub purpose: Option<String>,
    pub category: Option<String>,
    pub record: Option<Uuid>,
    pub channel: String,
    pub wrapped_key: Vec<u8>,
    pub sealed: Vec<u8>,
    pub times: [Option<i64>; 6],
    pub verified_by: Option<String>,
    pub extension_reason: Option<String>,
    pub refusal_reason: Option<String>,
    pub outcome: Option<String>,
    pub code_hash: Option<Vec<u8>>,
    pub code_expires_at: Option<i64>,
    pub code_attempts: i64,
    pub locked: bool,
    pub overdue_at: Option<i64>,
    pub version: i64,
    pub assignee: Option<String>,
}

fn at(micros: Option<i64>) -> crate::Result<Option<Timestamp>> {
    micros
        .map(|m| {
            Timestamp::from_microsecond(m).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
        })
        .transpose()
}

impl RequestRow {
    pub(crate) fn decode(self, keyring: &Keyring, tenant: TenantId) -> crate::Result<DsRequest> {
        let corrupt =
            |what: &str| crate::StoreError::Corrupt(format!("request {}: {what}", self.id));
        let id = RequestId(self.id);
        let (contact, new_value) =
            open_request(keyring, tenant, id, &self.wrapped_key, &self.sealed)?;
        let [
            received_at,
            verified_at,
            first_due_at,
            due_at,
            extended_at,
            closed_at,
        ] = self.times;
        Ok(DsRequest {
            id,
            tenant,
            kind: RequestKind::parse(&self.kind).ok_or_else(|| corrupt("unknown kind"))?,
            status: RequestStatus::parse(&self.status).ok_or_else(|| corrupt("unknown status"))?,
            subject: self.subject.map(SubjectId),
            contact,
            purpose: self.purpose,
            category: self.category,
            record: self.record.map(RecordId),
            new_value,
            channel: self.channel,
            received_at: at(received_at)?.ok_or_else(|| corrupt("no receipt time"))?,
            verified_at: at(verified_at)?,
            verified_by: self.verified_by,
            first_due_at: at(first_due_at)?,
            due_at: at(due_at)?,
            extended_at: at(extended_at)?,
            extension_reason: self.extension_reason,
            closed_at: at(closed_at)?,
            refusal_reason: self.refusal_reason,
            outcome: self.outcome,
            code_hash: self
                .code_hash
                .map(|h| <[u8; 32]>::try_from(h).map_err(|_| corrupt("code hash")))
                .transpose()?,
            code_expires_at: at(self.code_expires_at)?,
            code_attempts: u32::try_from(self.code_attempts).unwrap_or(u32::MAX),
            locked: self.locked,
            overdue_at: at(self.overdue_at)?,
            version: self.version,
            assignee: self.assignee,
        })
    }
}

pub(crate) fn micros(at: Option<Timestamp>) -> Option<i64> {
    at.map(|t| t.as_microsecond())
}

/// What the store keeps of data-subject requests and what carrying them out writes: erasures,
/// tombstones, rectifications, exports. Each backend implements it in `sqlite/requests.rs` and
/// `postgres/requests.rs`; callers reach it through [`crate::Store`].
pub trait Requests {
    /// Files a request (built with [`DsRequest::from_new`], perhaps verified or holding a code
    /// already), queueing `mails` (the code, the acknowledgement) in the same step.
    fn create_request(
        &self, tenant: TenantId, request: &DsRequest, mails: &[NewMail], actor: &Actor,
        at: Timestamp,
    ) -> crate::Result<DsRequest>;
    fn request(&self, tenant: TenantId, id: RequestId) -> crate::Result<Option<DsRequest>>;
    /// Requests in filing order, a page at a time.
    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> crate::Result<Vec<DsRequest>>;
    /// The console's queue: requests of several tenants, filtered, in `queue.order`, a page at
    /// a time.
    fn request_queue(&self, queue: &RequestQueue) -> crate::Result<Vec<DsRequest>>;
    /// Stores a changed request with its audit entry and mails, all or nothing. Fails with
    /// [`StoreError::Conflict`] when the stored version is no longer `request.version`.
    fn update_request(
        &self, tenant: TenantId, request: &DsRequest, entry: NewAuditEntry, mails: &[NewMail],
        at: Timestamp,
    ) -> crate::Result<DsRequest>;
    /// Marks open requests whose deadline has passed (once each, audited); returns them.
    fn mark_overdue(&self, at: Timestamp) -> crate::Result<Vec<(TenantId, RequestId)>>;
    /// Requests by state across tenants, for /metrics.
    fn request_counts(&self) -> crate::Result<Vec<RequestCount>>;
    /// Erases a subject: every record but `keep` is deleted with its identities; when nothing
    /// is kept, the subject, its events and its key go too, otherwise the kept records are
    /// sealed again under a new key and restricted to their purposes. A tombstone remains.
    fn erase_subject(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord],
        request: Option<RequestId>, actor: &Actor, at: Timestamp,
    ) -> crate::Result<Erasure>;
    /// Erases a subject for `request` as [`Requests::erase_subject`] does, and stores the
    /// step `close` builds from what was erased in the same transaction: a crash leaves either
    /// both or neither, so a request is never left open over a person already erased.
    #[allow(clippy::too_many_arguments)]
    fn erase_for_request(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord], request: RequestId,
        close: &dyn Fn(&Erasure) -> RequestStep, actor: &Actor, at: Timestamp,
    ) -> crate::Result<(Erasure, DsRequest)>;
    fn tombstones(&self, tenant: TenantId) -> crate::Result<Vec<Tombstone>>;
    /// Replaces a record's value; the old value is not kept.
    fn rectify_record(
        &self, tenant: TenantId, subject: SubjectId, record: RecordId, value: &Secret,
        actor: &Actor, at: Timestamp,
    ) -> crate::Result<()>;
    /// Keeps an export, sealed, until it is fetched or expires.
    #[allow(clippy::too_many_arguments)]
    fn put_export(
        &self, tenant: TenantId, request: RequestId, token_hash: &[u8; 32], file_name: &str,
        sealed: &[u8], expires_at: Timestamp, actor: &Actor, at: Timestamp,
    ) -> crate::Result<()>;
    /// Hands out an export once: the row is deleted as it is read. `None` when unknown,
    /// fetched already or expired.
    fn take_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> crate::Result<Option<Export>>;
    /// The file name and expiry of an export still to be fetched, without handing it out: the
    /// download page shows them, and a link scanner that opens the page spends nothing.
    fn pending_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> crate::Result<Option<(String, Timestamp)>>;
    /// Deletes exports past their expiry; returns how many.
    fn remove_expired_exports(&self, at: Timestamp) -> crate::Result<u64>;
}
