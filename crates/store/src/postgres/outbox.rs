//! Outbox on PostgreSQL: the SQL behind [`crate::outbox::Outbox`].

use super::*;

impl crate::outbox::Outbox for PostgresStore {
    fn when_mail_queued(&self, hook: crate::outbox::MailHook) {
        self.bell.set(hook);
    }

    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>> {
        self.write(|tx| {
            // SKIP LOCKED: replicas draining the outbox at the same moment take different mails.
            let rows = tx.query(
                "WITH leased AS (
                   UPDATE outbox SET leased_until = $2 WHERE (tenant_id, mail_id) IN (
                     SELECT tenant_id, mail_id FROM outbox
                     WHERE sent_at IS NULL AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) AND attempts < $3
                     ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                   RETURNING tenant_id, mail_id, template, attempts, sealed_message, sealed_to, notice_id, subject_id)
                 SELECT l.tenant_id, l.mail_id, l.template, l.attempts, l.sealed_message, l.sealed_to, b.subject_line, b.body, l.subject_id, n.kind, n.mandatory FROM leased l
                   LEFT JOIN notices n ON n.tenant_id = l.tenant_id AND n.notice_id = l.notice_id
                   LEFT JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash",
                &[&micros(at), &micros(until), &i32::try_from(MAIL_MAX_ATTEMPTS).unwrap_or(i32::MAX), &(limit as i64)],
            )?;
            rows.iter()
                .map(|row| {
                    let (tenant, id) = (TenantId(row.get(0)), MailId(row.get(1)));
                    let to: Vec<u8> = row.get(5);
                    let text = match (row.get::<_, Option<String>>(6), row.get::<_, Option<String>>(7)) {
                        (Some(subject), Some(body)) => Some((subject, body)),
                        _ => None,
                    };
                    let notice = NoticeText::from_columns(text, row.get(8), row.get(9), row.get(10));
                    leased_mail(&self.keyring(), tenant, id, row.get(2), u32::try_from(row.get::<_, i32>(3)).unwrap_or(0), row.get(4), &to, notice)
                })
                .collect()
        })
    }

    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET sent_at = $3, sealed_message = NULL, leased_until = NULL, attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND mail_id = $2",
                &[&tenant.0, &mail.0, &micros(at)],
            )?;
            Ok(())
        })
    }

    fn mail_failed(
        &self, tenant: TenantId, mail: MailId, error: &str, retry_at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET next_attempt_at = $3, leased_until = NULL, attempts = attempts + 1, last_error = $4 WHERE tenant_id = $1 AND mail_id = $2",
                &[&tenant.0, &mail.0, &micros(retry_at), &error],
            )?;
            Ok(())
        })
    }

    fn undelivered_mails(&self, tenant: TenantId) -> Result<u64> {
        self.read(|client| {
            let count: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND sent_at IS NULL AND last_error IS NOT NULL",
                    &[&tenant.0],
                )?
                .get(0);
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>> {
        self.read(|client| {
            client
                .query(
                    "SELECT mail_id, request_id, template, sealed_to, created_at, sent_at, attempts, last_error FROM outbox
                     WHERE tenant_id = $1 AND ($2::uuid IS NULL OR request_id = $2) ORDER BY mail_id",
                    &[&tenant.0, &request.map(|r| r.0)],
                )?
                .iter()
                .map(|row| {
                    let id = MailId(row.get(0));
                    let to: Vec<u8> = row.get(3);
                    Ok(MailRecord {
                        id,
                        request: row.get::<_, Option<Uuid>>(1).map(RequestId),
                        to: Some(open_mail_to(&self.keyring(), id, &to)?),
                        template: row.get(2),
                        created_at: timestamp(row.get(4))?,
                        sent_at: row.get::<_, Option<i64>>(5).map(timestamp).transpose()?,
                        attempts: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
                        last_error: row.get(7),
                    })
                })
                .collect()
        })
    }
}
