//! Outbox on SQLite: the SQL behind [`crate::outbox::Outbox`].

use super::*;

impl crate::outbox::Outbox for SqliteStore {
    fn when_mail_queued(&self, hook: crate::outbox::MailHook) {
        self.bell.set(hook);
    }

    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT o.tenant_id, o.mail_id, o.template, o.attempts, o.sealed_message, o.sealed_to, b.subject_line, b.body, o.subject_id, n.kind, n.mandatory FROM outbox o
                       LEFT JOIN notices n ON n.tenant_id = o.tenant_id AND n.notice_id = o.notice_id
                       LEFT JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                     WHERE o.sent_at IS NULL AND o.next_attempt_at <= ?1 AND (o.leased_until IS NULL OR o.leased_until <= ?1) AND o.attempts < ?2
                     ORDER BY o.next_attempt_at LIMIT ?3",
                )?
                .query_map(params![micros(at), MAIL_MAX_ATTEMPTS, limit as i64], |row| {
                    let text = match (row.get::<_, Option<String>>(6)?, row.get::<_, Option<String>>(7)?) {
                        (Some(subject), Some(body)) => Some((subject, body)),
                        _ => None,
                    };
                    let person = row.get::<_, Option<Vec<u8>>>(8)?.and_then(|b| Uuid::from_slice(&b).ok());
                    let notice = NoticeText::from_columns(text, person, row.get(9)?, row.get::<_, Option<bool>>(10)?);
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, String>(2)?, row.get::<_, u32>(3)?, row.get::<_, Option<Vec<u8>>>(4)?, row.get::<_, Vec<u8>>(5)?, notice))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut mails = Vec::with_capacity(rows.len());
            for (tenant, id, template, attempts, message, to, notice) in rows {
                let (tenant, id) = (TenantId(uuid(tenant)?), MailId(uuid(id)?));
                tx.prepare_cached("UPDATE outbox SET leased_until = ?3 WHERE tenant_id = ?1 AND mail_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), micros(until)])?;
                mails.push(leased_mail(&self.keyring(), tenant, id, template, attempts, message, &to, notice)?);
            }
            Ok(mails)
        })
    }

    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET sent_at = ?3, sealed_message = NULL, leased_until = NULL, attempts = attempts + 1, last_error = NULL WHERE tenant_id = ?1 AND mail_id = ?2")?
                .execute(params![tenant.0.as_bytes(), mail.0.as_bytes(), micros(at)])?;
            Ok(())
        })
    }

    fn mail_failed(
        &self, tenant: TenantId, mail: MailId, error: &str, retry_at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET next_attempt_at = ?3, leased_until = NULL, attempts = attempts + 1, last_error = ?4 WHERE tenant_id = ?1 AND mail_id = ?2")?
                .execute(params![tenant.0.as_bytes(), mail.0.as_bytes(), micros(retry_at), error])?;
            Ok(())
        })
    }

    fn undelivered_mails(&self, tenant: TenantId) -> Result<u64> {
        self.read(|conn| {
            let count: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM outbox WHERE tenant_id = ?1 AND sent_at IS NULL AND last_error IS NOT NULL")?
                .query_row(params![tenant.0.as_bytes()], |row| row.get(0))?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT mail_id, request_id, template, sealed_to, created_at, sent_at, attempts, last_error FROM outbox
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR request_id = ?2) ORDER BY mail_id",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), request.map(|r| r.0.as_bytes().to_vec())], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<Vec<u8>>>(1)?, row.get::<_, String>(2)?, row.get::<_, Vec<u8>>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<i64>>(5)?, row.get::<_, u32>(6)?, row.get::<_, Option<String>>(7)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, request, template, to, created_at, sent_at, attempts, last_error)| {
                    let id = MailId(uuid(id)?);
                    Ok(MailRecord {
                        id,
                        request: request.map(uuid).transpose()?.map(RequestId),
                        to: Some(open_mail_to(&self.keyring(), id, &to)?),
                        template,
                        created_at: timestamp(created_at)?,
                        sent_at: sent_at.map(timestamp).transpose()?,
                        attempts,
                        last_error,
                    })
                })
                .collect()
        })
    }
}
