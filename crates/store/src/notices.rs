//! The notice ledger: service messages of a declared kind, and exactly who each went to. A
//! notice's text is kept once under its content hash; each person in the audience gets one
//! delivery row — a mail queued in the outbox, or a skip with the reason — that stays after the
//! person is gone, since it is the proof of who was told what and when.

use crate::audit::NewAuditEntry;
use crate::crypto::{Keyring, identity_aad};
use crate::model::{SubjectId, TenantId};
use crate::requests::MailId;
use crate::{Actor, StoreError};
use jiff::Timestamp;
use ombud_core::{Event, Identity, IdentityKind};
use serde::{Deserialize, Serialize};

crate::model::id!(
    /// One service message sent to an audience.
    NoticeId
);

/// Who a notice is for, as the sender named them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The service-message contacts of these customer tenants.
    Tenants(Vec<TenantId>),
    /// The contacts of every customer tenant.
    Customers,
    /// Everyone in the sender's tenant holding data of this category (or one beneath it).
    Category(String),
    /// These people of the sender's tenant.
    Subjects(Vec<SubjectId>),
}

/// One person of an audience, with what deciding their delivery needs: where to write, and the
/// events (unsubscribes, objections) that may keep a message from them.
#[derive(Debug, Clone)]
pub struct Addressee {
    pub subject: SubjectId,
    pub email: Option<Identity>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone)]
pub struct NewNotice {
    pub id: NoticeId,
    pub kind: String,
    pub mandatory: bool,
    pub subject_line: String,
    pub body: String,
    pub audience: Audience,
    /// The breach this notice tells of, when it is one of an incident's notifications.
    pub incident: Option<crate::incidents::IncidentId>,
}

impl NewNotice {
    /// The content hash the text is stored under: the same text sent twice is kept once.
    pub fn body_hash(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.subject_line.as_bytes());
        hasher.update(&[0]);
        hasher.update(self.body.as_bytes());
        *hasher.finalize().as_bytes()
    }

    pub(crate) fn template(&self) -> String {
        format!("notice:{}", self.kind)
    }

    pub(crate) fn audience_json(&self) -> crate::Result<String> {
        serde_json::to_string(&self.audience)
            .map_err(|e| StoreError::Corrupt(format!("notice {}: {e}", self.id)))
    }
}

/// One person's line in a notice about to be sent: a mail to `to`, or skipped with the reason.
#[derive(Debug, Clone)]
pub enum NewDelivery {
    Queue { subject: SubjectId, to: Identity },
    Skip { subject: SubjectId, reason: String },
}

impl NewDelivery {
    pub fn subject(&self) -> SubjectId {
        match self {
            NewDelivery::Queue { subject, .. } | NewDelivery::Skip { subject, .. } => *subject,
        }
    }
}

/// A notice as the ledger lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: NoticeId,
    pub kind: String,
    pub mandatory: bool,
    pub subject_line: String,
    /// BLAKE3 of the subject line and body, hex.
    pub body_hash: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub audience: serde_json::Value,
    pub incident: Option<crate::incidents::IncidentId>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub queued: u64,
    pub skipped: u64,
}

/// Where one person's copy of a notice stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent, for the reason given.
    Skipped,
    /// Waiting in the outbox (or retrying after an error).
    Queued,
    Sent,
    /// Given up after the outbox's last attempt.
    Failed,
    /// The person was erased; the ledger keeps the line, the address is gone.
    Erased,
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Erased => "erased",
        })
    }
}

/// One ledger line: a notice and one person of its audience.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub notice: NoticeId,
    pub subject: SubjectId,
    pub status: DeliveryStatus,
    /// Why the person was skipped.
    pub reason: Option<String>,
    /// The address the mail went to; never serialised, callers decide how much to show.
    #[serde(skip)]
    pub to: Option<Identity>,
    pub queued_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A delivery row joined with its outbox mail, as both backends read it.
pub(crate) struct DeliveryRow {
    pub notice: uuid::Uuid,
    pub subject: uuid::Uuid,
    pub mail: Option<uuid::Uuid>,
    pub skipped: Option<String>,
    pub created_at: i64,
    /// The mail, `None` when none is left.
    pub outbox: Option<OutboxState>,
}

/// A mail's sealed address, send time, attempts and last error.
pub(crate) type OutboxState = (Vec<u8>, Option<i64>, u32, Option<String>);

impl DeliveryRow {
    pub(crate) fn decode(self, keyring: &Keyring) -> crate::Result<Delivery> {
        let queued_at = crate::model::timestamp_of(self.created_at)?;
        let mut delivery = Delivery {
            notice: NoticeId(self.notice),
            subject: SubjectId(self.subject),
            status: DeliveryStatus::Skipped,
            reason: self.skipped,
            to: None,
            queued_at,
            sent_at: None,
            attempts: 0,
            last_error: None,
        };
        let Some(mail) = self.mail else {
            return Ok(delivery);
        };
        delivery.status = match self.outbox {
            None => DeliveryStatus::Erased,
            Some((sealed_to, sent_at, attempts, last_error)) => {
                delivery.to = Some(crate::requests::open_mail_to(
                    keyring,
                    MailId(mail),
                    &sealed_to,
                )?);
                delivery.sent_at = sent_at.map(crate::model::timestamp_of).transpose()?;
                delivery.attempts = attempts;
                delivery.last_error = last_error;
                if delivery.sent_at.is_some() {
                    DeliveryStatus::Sent
                } else if attempts >= crate::requests::MAIL_MAX_ATTEMPTS {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Queued
                }
            }
        };
        Ok(delivery)
    }
}

/// A notice row as both backends read it: id, kind, mandatory, subject line, body hash,
/// audience, incident, created at, created by, queued, skipped.
pub(crate) type NoticeRow = (
    uuid::Uuid,
    String,
    bool,
    String,
    Vec<u8>,
    String,
    Option<uuid::Uuid>,
    i64,
    String,
    i64,
    i64,
);

pub(crate) fn notice_of(row: NoticeRow) -> crate::Result<Notice> {
    let (id, kind, mandatory, subject_line, hash, audience, incident, created_at, by, q, s) = row;
    Ok(Notice {
        id: NoticeId(id),
        kind,
        mandatory,
        subject_line,
        body_hash: hash_hex(&hash),
        audience: serde_json::from_str(&audience)
            .map_err(|e| StoreError::Corrupt(format!("notice {id}: {e}")))?,
        incident: incident.map(crate::incidents::IncidentId),
        created_at: crate::model::timestamp_of(created_at)?,
        created_by: by,
        queued: u64::try_from(q).unwrap_or_default(),
        skipped: u64::try_from(s).unwrap_or_default(),
    })
}

pub(crate) fn hash_hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The columns of a notice row with its subject line, in [`NoticeRow`] order; `n` is
/// `notices`, `b` is `notice_bodies`.
pub(crate) const NOTICE_COLUMNS: &str = "n.notice_id, n.kind, n.mandatory, b.subject_line, n.body_hash, n.audience, n.incident_id, n.created_at, n.created_by, n.queued, n.skipped";

/// One person's sealed address and wrapped key, as read for an audience.
pub(crate) struct SealedAddress {
    /// The person's place in the audience.
    pub person: usize,
    pub subject: SubjectId,
    pub wrapped_key: Vec<u8>,
    pub index: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// The people of an audience, each with the address opened for them by [`open_emails`].
pub(crate) fn with_emails(
    mut people: Vec<Addressee>, keyring: &Keyring, tenant: TenantId, jobs: Vec<SealedAddress>,
) -> crate::Result<Vec<Addressee>> {
    for (i, email) in open_emails(keyring, tenant, jobs)? {
        people[i].email = Some(email);
    }
    Ok(people)
}

/// A notice as it was just stored, with its counts: what `send_notice` returns in both backends.
pub(crate) fn as_stored<S: Notices + ?Sized>(
    store: &S, tenant: TenantId, id: NoticeId,
) -> crate::Result<Notice> {
    store
        .notice(tenant, id)?
        .map(|(stored, _)| stored)
        .ok_or(StoreError::NotFound("notice"))
}

/// Opens the addresses of an audience: each person's key unwrapped and their address opened,
/// spread over the machine's cores (two AEAD openings per person is most of the work of
/// resolving a large audience). Returns each person's place and address.
pub(crate) fn open_emails(
    keyring: &Keyring, tenant: TenantId, jobs: Vec<SealedAddress>,
) -> crate::Result<Vec<(usize, Identity)>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if jobs.len() < 1_000 || threads == 1 {
        return jobs
            .iter()
            .map(|job| open_email(keyring, tenant, job))
            .collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|job| open_email(keyring, tenant, job))
                        .collect::<crate::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut opened = Vec::with_capacity(jobs.len());
        for worker in workers {
            opened.extend(
                worker
                    .join()
                    .map_err(|_| StoreError::Corrupt("opening addresses failed".into()))??,
            );
        }
        Ok(opened)
    })
}

/// A queued delivery's mail id and sealed address.
pub(crate) type SealedMail = (MailId, Vec<u8>);

/// Every queued delivery's mail id and sealed address, sealed before the write transaction
/// and over the machine's cores, so a large notice holds the write lock only to insert.
pub(crate) fn seal_addresses(
    keyring: &Keyring, deliveries: &[NewDelivery],
) -> crate::Result<Vec<Option<SealedMail>>> {
    let seal = |delivery: &NewDelivery| -> crate::Result<Option<SealedMail>> {
        match delivery {
            NewDelivery::Queue { to, .. } => {
                let id = MailId::new();
                Ok(Some((id, crate::requests::seal_mail_to(keyring, id, to)?)))
            }
            NewDelivery::Skip { .. } => Ok(None),
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if deliveries.len() < 1_000 || threads == 1 {
        return deliveries.iter().map(seal).collect();
    }
    let chunk = deliveries.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = deliveries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(seal).collect::<crate::Result<Vec<_>>>())
            })
            .collect();
        let mut sealed = Vec::with_capacity(deliveries.len());
        for worker in workers {
            sealed.extend(
                worker
                    .join()
                    .map_err(|_| StoreError::Corrupt("sealing addresses failed".into()))??,
            );
        }
        Ok(sealed)
    })
}

fn open_email(
    keyring: &Keyring, tenant: TenantId, job: &SealedAddress,
) -> crate::Result<(usize, Identity)> {
    let key = keyring.unwrap(&job.wrapped_key, tenant.0, job.subject.0)?;
    let index: [u8; 32] = job
        .index
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))?;
    let value = key.open(&job.sealed, &identity_aad(&index))?;
    let text = std::str::from_utf8(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let email = Identity::parse(IdentityKind::Email, text)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((job.person, email))
}

/// Whether `category` is `within` or beneath it, as SQL range bounds: `within` itself, or
/// between `within.` and `within/` (the byte after `.`), so no LIKE wildcard can over-match.
pub(crate) fn category_bounds(within: &str) -> (String, String) {
    (format!("{within}."), format!("{within}/"))
}

impl NewAuditEntry {
    /// Ledger lines removed under the policy's rule for message records or with the people
    /// they named: how many, never whose.
    pub fn ledger_pruned(
        actor: &Actor, before: Option<Timestamp>, people: usize, lines: u64,
    ) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: "ledger.prune".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!(
                "lines={lines} before={} people={people}",
                before.map_or("-".to_owned(), |b| b.to_string())
            )),
        }
    }

    /// A notice sent: its kind and counts, never the people.
    pub fn notice_sent(actor: &Actor, notice: &NewNotice, queued: u64, skipped: u64) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: "notice.send".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!(
                "notice={} kind={} queued={queued} skipped={skipped}",
                notice.id, notice.kind
            )),
        }
    }

    /// A service-message contact added to or removed from a customer tenant.
    pub fn tenant_contact(
        actor: &Actor, customer: TenantId, subject: SubjectId, added: bool,
    ) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: if added {
                "contact.add".into()
            } else {
                "contact.remove".into()
            },
            subject: Some(subject),
            categories: vec![],
            purpose: None,
            detail: Some(format!("customer={customer}")),
        }
    }
}

/// Each of a person's ledger lines with the notice it belongs to, in the order the notices were
/// sent: what `subject_notices` answers in both backends.
pub(crate) fn with_their_notices<S: Notices + ?Sized>(
    store: &S, tenant: TenantId, deliveries: Vec<Delivery>,
) -> crate::Result<Vec<(Notice, Delivery)>> {
    let mut lines = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let (notice, _) = store
            .notice(tenant, delivery.notice)?
            .ok_or(StoreError::NotFound("notice"))?;
        lines.push((notice, delivery));
    }
    lines.sort_by_key(|(notice, _)| (notice.created_at, notice.id));
    Ok(lines)
}

/// What the store keeps of the notice ledger and customers' service contacts. Each backend
/// implements it in `sqlite/notices.rs` and `postgres/notices.rs`; callers reach it through
/// [`crate::Store`].
pub trait Notices {
    /// The people of `audience` in the tenant, each with an email address where one is known
    /// and the events that may keep an opt-out message from them. A listed subject that is not
    /// there is left out; the caller compares.
    fn notice_audience(
        &self, tenant: TenantId, audience: &Audience,
    ) -> crate::Result<Vec<Addressee>>;
    /// Stores a notice (its text once per content hash), one ledger line per person, a mail in
    /// the outbox per queued line and `notice.send` in the audit log, all or nothing.
    fn send_notice(
        &self, tenant: TenantId, notice: &NewNotice, deliveries: &[NewDelivery], actor: &Actor,
        at: Timestamp,
    ) -> crate::Result<Notice>;
    /// The tenant's notices, newest first.
    fn notices(&self, tenant: TenantId) -> crate::Result<Vec<Notice>>;
    /// One notice with its body.
    fn notice(&self, tenant: TenantId, id: NoticeId) -> crate::Result<Option<(Notice, String)>>;
    /// Who received notice `id` and who was skipped and why.
    fn notice_deliveries(&self, tenant: TenantId, id: NoticeId) -> crate::Result<Vec<Delivery>>;
    /// Every notice the person was in the audience of, oldest first, with their ledger line.
    fn subject_notices(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> crate::Result<Vec<(Notice, Delivery)>>;
    /// Adds (or removes) a subject of the operator's tenant as a service-message contact of a
    /// customer tenant; false when nothing changed.
    fn set_tenant_contact(
        &self, tenant: TenantId, customer: TenantId, subject: SubjectId, present: bool,
        actor: &Actor, at: Timestamp,
    ) -> crate::Result<bool>;
    /// The service-message contacts of a customer tenant.
    fn tenant_contacts(
        &self, tenant: TenantId, customer: TenantId,
    ) -> crate::Result<Vec<SubjectId>>;
    /// Removes ledger lines with the sealed addresses of their mails: every line of a notice
    /// created before `before`, and every line of `people`. Each notice keeps its counts, so a
    /// removed line stays as an anonymous count. One transaction, one audit entry with the
    /// number removed (never who); returns that number.
    fn prune_ledger(
        &self, tenant: TenantId, before: Option<Timestamp>, people: &[SubjectId], actor: &Actor,
        at: Timestamp,
    ) -> crate::Result<u64>;
    /// How many ledger lines belong to notices created before `before`: what `prune_ledger`
    /// would remove under the rule for message records.
    fn ledger_prunable(&self, tenant: TenantId, before: Timestamp) -> crate::Result<u64>;
}
