//! ombud's storage. One trait, [`Store`], that the rest of the system depends on, with SQLite
//! (the embedded default) behind it and PostgreSQL to follow. Only this crate knows SQL. Every
//! write appends its audit entry in the same transaction, so data and audit never disagree.

pub mod audit;
pub mod crypto;
pub mod incidents;
pub mod model;
pub mod notices;
pub mod postgres;
pub mod requests;
pub mod retention;
pub mod sqlite;
pub mod subprocessors;

use audit::{AuditEntry, AuditFilter, NewAuditEntry, Verification};
use jiff::Timestamp;
use model::*;
use ombud_core::{Identity, IdentityKind};
use requests::*;
use retention::*;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("this {0} already belongs to another subject")]
    IdentityTaken(IdentityKind),
    #[error("the operator tenant exists already")]
    OperatorExists,
    #[error("database: {0}")]
    Database(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("the {0} changed meanwhile; read it again and retry")]
    Conflict(&'static str),
    #[error("a stored row is damaged: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Who did something, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(ApiKeyId),
    Cli,
    System,
    /// The person themself, through the public privacy portal (no key; a code or signed link).
    Portal,
}

impl Actor {
    pub fn audit_name(&self) -> String {
        match self {
            Actor::ApiKey(id) => format!("key:{id}"),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::Portal => "portal".into(),
        }
    }
}

/// Everything ombud keeps. Calls are blocking; async callers run them on a blocking thread.
/// Every method takes the tenant first: no call reaches across tenants.
pub trait Store: Send + Sync {
    fn create_tenant(
        &self,
        name: &str,
        operator: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Tenant>;
    fn tenants(&self) -> Result<Vec<Tenant>>;
    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>>;

    fn create_api_key(&self, key: NewApiKey, actor: &Actor, at: Timestamp) -> Result<ApiKey>;
    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes a key; `false` when the tenant has no such key.
    fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The unrevoked key whose secret hashes to `secret_hash`.
    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>>;

    fn create_subject(
        &self,
        tenant: TenantId,
        identities: &[Identity],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<SubjectId>;
    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>>;
    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>>;
    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool>;

    /// Writes records for any number of subjects of one tenant, all or nothing.
    fn put_records(
        &self,
        tenant: TenantId,
        records: &[NewRecord],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Vec<RecordId>>;
    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>>;

    fn add_event(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        event: &NewEvent,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<StoredEvent>;
    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>>;
    /// The subject an identity belongs to, with its events: what an access decision needs, in
    /// one call (one query on PostgreSQL).
    fn facts_by_identity(
        &self,
        tenant: TenantId,
        identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>>;

    /// Keeps a policy version (its hash and text) the first time it is loaded; `true` when new.
    fn keep_policy_version(
        &self,
        tenant: TenantId,
        version: &str,
        source: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The versions kept, oldest first, without their text.
    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>>;
    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>>;

    /// Claims an Idempotency-Key for a request (identified by `request_hash`).
    fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        request_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Idempotency>;
    /// Stores the response of the request that claimed `key`.
    fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()>;
    /// Gives up a claim after the request failed, so a corrected retry can run.
    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()>;

    /// Appends an entry that no write made: a purpose-bound read, a verification.
    fn append_audit(
        &self,
        tenant: TenantId,
        entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<AuditEntry>;
    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    fn verify_audit(&self, tenant: TenantId) -> Result<Verification>;
    /// Where the tenant's chain starts after pruning, if it was ever pruned.
    fn audit_checkpoint(&self, tenant: TenantId) -> Result<Option<audit::Checkpoint>>;
    /// How many of the tenant's oldest entries were written before `before` (what a prune
    /// would remove).
    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64>;
    /// One prune step: removes up to `limit` of the oldest entries written before `before`,
    /// moves the checkpoint to the last of them and appends `audit.prune`, in one transaction.
    /// `entries` is 0 when nothing is left to prune.
    fn prune_audit(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: usize,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<audit::Pruned>;

    /// Files a request (built with [`DsRequest::from_new`], perhaps verified or holding a code
    /// already), queueing `mails` (the code, the acknowledgement) in the same step.
    fn create_request(
        &self,
        tenant: TenantId,
        request: &DsRequest,
        mails: &[NewMail],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<DsRequest>;
    fn request(&self, tenant: TenantId, id: RequestId) -> Result<Option<DsRequest>>;
    /// Requests in filing order, a page at a time.
    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> Result<Vec<DsRequest>>;
    /// Stores a changed request with its audit entry and mails, all or nothing. Fails with
    /// [`StoreError::Conflict`] when the stored version is no longer `request.version`.
    fn update_request(
        &self,
        tenant: TenantId,
        request: &DsRequest,
        entry: NewAuditEntry,
        mails: &[NewMail],
        at: Timestamp,
    ) -> Result<DsRequest>;
    /// Marks open requests whose deadline has passed (once each, audited); returns them.
    fn mark_overdue(&self, at: Timestamp) -> Result<Vec<(TenantId, RequestId)>>;
    /// Requests by state across tenants, for /metrics.
    fn request_counts(&self) -> Result<Vec<RequestCount>>;

    /// Erases a subject: every record but `keep` is deleted with its identities; when nothing
    /// is kept, the subject, its events and its key go too, otherwise the kept records are
    /// sealed again under a new key and restricted to their purposes. A tombstone remains.
    fn erase_subject(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        keep: &[KeptRecord],
        request: Option<RequestId>,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Erasure>;
    fn tombstones(&self, tenant: TenantId) -> Result<Vec<Tombstone>>;

    /// The tenant's erasures since `since` (all when `None`), with what each kept: what a
    /// restore from an older backup must carry out again.
    fn erasure_ledger(
        &self,
        tenant: TenantId,
        since: Option<Timestamp>,
    ) -> Result<Vec<ErasureEntry>> {
        let mut ledger = Vec::new();
        for tombstone in self.tombstones(tenant)? {
            if since.is_some_and(|since| tombstone.erased_at < since) {
                continue;
            }
            let kept = if tombstone.partial {
                self.retention_subject(tenant, tombstone.subject)?
                    .map(|subject| {
                        subject
                            .records
                            .into_iter()
                            .map(|r| KeptRecord {
                                record: r.id,
                                purposes: r.purposes,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                vec![]
            };
            ledger.push(ErasureEntry {
                tenant,
                subject: tombstone.subject,
                request: tombstone.request,
                erased_at: tombstone.erased_at,
                kept,
            });
        }
        Ok(ledger)
    }

    /// Carries out a ledger entry again: the subject goes, but for the records the original
    /// erasure kept (those the store still has). Audited as an erasure.
    fn replay_erasure(
        &self,
        entry: &ErasureEntry,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Replayed> {
        if self.tenant(entry.tenant)?.is_none() {
            return Ok(Replayed::NoTenant);
        }
        let Some(current) = self.retention_subject(entry.tenant, entry.subject)? else {
            return Ok(Replayed::AlreadyGone);
        };
        let keep: Vec<KeptRecord> = entry
            .kept
            .iter()
            .filter(|k| current.records.iter().any(|r| r.id == k.record))
            .cloned()
            .collect();
        self.erase_subject(entry.tenant, entry.subject, &keep, entry.request, actor, at)?;
        Ok(Replayed::Erased)
    }
    /// Replaces a record's value; the old value is not kept.
    fn rectify_record(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        record: RecordId,
        value: &Secret,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()>;

    /// Keeps an export, sealed, until it is fetched or expires.
    #[allow(clippy::too_many_arguments)]
    fn put_export(
        &self,
        tenant: TenantId,
        request: RequestId,
        token_hash: &[u8; 32],
        file_name: &str,
        sealed: &[u8],
        expires_at: Timestamp,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()>;
    /// Hands out an export once: the row is deleted as it is read. `None` when unknown,
    /// fetched already or expired.
    fn take_export(
        &self,
        tenant: TenantId,
        token_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<Export>>;
    /// The file name and expiry of an export still to be fetched, without handing it out: the
    /// download page shows them, and a link scanner that opens the page spends nothing.
    fn pending_export(
        &self,
        tenant: TenantId,
        token_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<(String, Timestamp)>>;
    /// Places a legal hold; audited.
    fn create_hold(
        &self,
        tenant: TenantId,
        hold: &NewHold,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<LegalHold>;
    /// The tenant's holds, newest first; only those in force at `active_at` when given.
    fn holds(&self, tenant: TenantId, active_at: Option<Timestamp>) -> Result<Vec<LegalHold>>;
    /// Releases a hold in force; `false` when there is none with that id in force.
    fn release_hold(
        &self,
        tenant: TenantId,
        hold: HoldId,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// Opens an incident (version 0, not stored yet) or stores a change to it (the stored
    /// version must be `incident.version`, else `Conflict`), appending a `kind` step with
    /// `detail` to its timeline and `incident.<kind>` to the audit log, all or nothing.
    /// Returns it as stored, with its new version.
    fn save_incident(
        &self,
        tenant: TenantId,
        incident: &incidents::Incident,
        kind: &str,
        detail: serde_json::Value,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<incidents::Incident>;
    fn incident(
        &self,
        tenant: TenantId,
        id: incidents::IncidentId,
    ) -> Result<Option<incidents::Incident>>;
    fn incident_timeline(
        &self,
        tenant: TenantId,
        id: incidents::IncidentId,
    ) -> Result<Vec<incidents::IncidentStep>>;
    /// The tenant's incidents, newest first; only open ones when asked.
    fn incidents(&self, tenant: TenantId, open_only: bool) -> Result<Vec<incidents::Incident>>;
    /// What `actor` read in the tenant in `[from, until)`, from the audit log: each read of
    /// records (`records.read`) or of identities (`subject.read`).
    fn reads_by(
        &self,
        tenant: TenantId,
        actor: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<incidents::Read>>;
    /// Open incidents across tenants, soonest deadline first: the /metrics gauge.
    fn open_incidents(&self) -> Result<Vec<(TenantId, incidents::Incident)>>;

    /// The people of `audience` in the tenant, each with an email address where one is known
    /// and the events that may keep an opt-out message from them. A listed subject that is not
    /// there is left out; the caller compares.
    fn notice_audience(
        &self,
        tenant: TenantId,
        audience: &notices::Audience,
    ) -> Result<Vec<notices::Addressee>>;
    /// Stores a notice (its text once per content hash), one ledger line per person, a mail in
    /// the outbox per queued line and `notice.send` in the audit log, all or nothing.
    fn send_notice(
        &self,
        tenant: TenantId,
        notice: &notices::NewNotice,
        deliveries: &[notices::NewDelivery],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<notices::Notice>;
    /// The tenant's notices, newest first.
    fn notices(&self, tenant: TenantId) -> Result<Vec<notices::Notice>>;
    /// One notice with its body.
    fn notice(
        &self,
        tenant: TenantId,
        id: notices::NoticeId,
    ) -> Result<Option<(notices::Notice, String)>>;
    /// Who received notice `id` and who was skipped and why.
    fn notice_deliveries(
        &self,
        tenant: TenantId,
        id: notices::NoticeId,
    ) -> Result<Vec<notices::Delivery>>;
    /// Every notice the person was in the audience of, oldest first, with their ledger line.
    fn subject_notices(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<(notices::Notice, notices::Delivery)>>;
    /// Adds (or removes) a subject of the operator's tenant as a service-message contact of a
    /// customer tenant; false when nothing changed.
    fn set_tenant_contact(
        &self,
        tenant: TenantId,
        customer: TenantId,
        subject: SubjectId,
        present: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The service-message contacts of a customer tenant.
    fn tenant_contacts(&self, tenant: TenantId, customer: TenantId) -> Result<Vec<SubjectId>>;

    /// A customer chooses (`true`) or stops using an optional recipient; false when nothing
    /// changed. Audited in the customer's tenant.
    fn select_recipient(
        &self,
        tenant: TenantId,
        recipient: &str,
        selected: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool>;
    /// The optional recipients the tenant chose, with when.
    fn selected_recipients(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>>;
    /// The tenants that chose an optional recipient.
    fn tenants_selecting(&self, recipient: &str) -> Result<Vec<TenantId>>;
    /// Stores a change notice sent (in the operator's tenant), audited.
    fn save_recipient_change(
        &self,
        tenant: TenantId,
        change: &subprocessors::RecipientChange,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()>;
    fn recipient_change(
        &self,
        tenant: TenantId,
        id: subprocessors::ChangeId,
    ) -> Result<Option<subprocessors::RecipientChange>>;
    /// Newest first.
    fn recipient_changes(&self, tenant: TenantId) -> Result<Vec<subprocessors::RecipientChange>>;
    /// Records a customer's objection to a change (in the operator's tenant, audited there);
    /// false when it had objected to that recipient already.
    fn object_to_change(
        &self,
        tenant: TenantId,
        objection: &subprocessors::Objection,
        actor: &Actor,
    ) -> Result<bool>;
    fn change_objections(
        &self,
        tenant: TenantId,
        id: subprocessors::ChangeId,
    ) -> Result<Vec<subprocessors::Objection>>;

    /// Takes a changed master key (a rotation, read again from its file) for everything after.
    fn reload_master_key(&self, master: &crypto::MasterKey);
    /// Seals every subject key, request key and queued mail that is not yet under the current
    /// master-key generation again under it, a batch per transaction; returns how many.
    fn rewrap_keys(&self) -> Result<u64>;
    /// How many sealed keys and mails each master-key generation still opens.
    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>>;
    /// Makes values that `expire_records` deleted unrecoverable from the store's files (SQLite
    /// folds its write-ahead log back and truncates it). Called when a sweep ends.
    fn purge_deleted(&self) -> Result<()>;
    /// Keeps the planner's statistics current as tables grow or shrink; cheap when nothing
    /// changed. Called by the background jobs and before a sweep.
    fn maintain(&self) -> Result<()>;
    /// Up to `limit` subjects after `after` (in id order), with their records' metadata and
    /// their events: what the sweeper decides on. Reads no value and no key.
    fn retention_batch(
        &self,
        tenant: TenantId,
        after: Option<SubjectId>,
        limit: usize,
    ) -> Result<Vec<RetentionSubject>>;
    /// One subject as [`Store::retention_batch`] reads it. Ids sort as 128-bit numbers in both
    /// backends, so the subject is the first one after its predecessor.
    fn retention_subject(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Option<RetentionSubject>> {
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
        &self,
        tenant: TenantId,
        expiries: &[Expiry],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Swept>;
    /// Deletes exports past their expiry; returns how many.
    fn remove_expired_exports(&self, at: Timestamp) -> Result<u64>;

    /// Leases up to `limit` mails due for sending, across tenants, until `until`; a leased mail
    /// is not handed to another sender (another replica) while the lease runs.
    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>>;
    /// Records a mail as sent and drops its message.
    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()>;
    /// Records a failed try; the mail is tried again at `retry_at` (or never, past the limit).
    fn mail_failed(
        &self,
        tenant: TenantId,
        mail: MailId,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<()>;
    /// The record of a tenant's mails, or of one request's.
    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>>;
}
