//! The mail outbox: mails are queued in the transaction of the step that decides them and leased
//! by one sender at a time; once sent, the message goes and the record of whom, which template
//! and when stays.

use crate::Result;
use crate::model::TenantId;
use crate::requests::{Mail, MailId, MailRecord, RequestId};
use jiff::Timestamp;

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
}
