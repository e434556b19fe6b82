//! The mail outbox: mails are queued in the transaction of the step that decides them and leased
//! by one sender at a time; once sent, the message goes and the record of whom, which template
//! and when stays.

use crate::Result;
use crate::model::TenantId;
use crate::requests::{Mail, MailId, MailRecord, RequestId};
use jiff::Timestamp;

/// Called after a transaction that queued mail has committed, so the mailer sends it at once
/// instead of at its next round.
pub type MailHook = std::sync::Arc<dyn Fn() + Send + Sync>;

std::thread_local! {
    /// Whether the transaction running on this thread queued mail. A write runs its whole
    /// transaction on the calling thread, so the flag is the transaction's.
    static QUEUED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the running transaction as one that queued mail.
pub(crate) fn queued() {
    QUEUED.with(|q| q.set(true));
}

/// The hook a backend rings after a commit that queued mail; set once, by the server.
#[derive(Default)]
pub(crate) struct Bell {
    hook: std::sync::OnceLock<MailHook>,
}

impl Bell {
    pub(crate) fn set(&self, hook: MailHook) {
        // A second hook is ignored: one process has one mailer.
        let _ = self.hook.set(hook);
    }

    /// After the transaction ended: rings if it committed having queued mail, and clears the
    /// mark either way (a rolled-back transaction queued nothing).
    pub(crate) fn after(&self, committed: bool) {
        let rang = QUEUED.with(|q| q.replace(false));
        if committed
            && rang
            && let Some(hook) = self.hook.get()
        {
            hook();
        }
    }
}

/// What the store keeps of the mail outbox: leased across tenants, sent, failed, and the record of
/// what was sent. Each backend implements it in `sqlite/outbox.rs` and `postgres/outbox.rs`;
/// callers reach it through [`crate::Store`].
pub trait Outbox {
    /// Leases up to `limit` mails due for sending, across tenants, until `until`; a leased mail
    /// is not handed to another sender (another replica) while the lease runs.
    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>>;
    /// Records a mail as sent and drops its message.
    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()>;
    /// Records a failed try; the mail is tried again at `retry_at` (or never, past the limit).
    fn mail_failed(
        &self, tenant: TenantId, mail: MailId, error: &str, retry_at: Timestamp,
    ) -> Result<()>;
    /// The record of a tenant's mails, or of one request's.
    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>>;
    /// How many of a tenant's mails are not delivered and failed at least once (still retried,
    /// or given up).
    fn undelivered_mails(&self, tenant: TenantId) -> Result<u64>;
    /// Calls `hook` after every commit that queued mail in this process (the first hook set
    /// stays).
    fn when_mail_queued(&self, hook: MailHook);
}
