//! Notices on SQLite: the SQL behind [`crate::notices::Notices`].

use super::*;

impl crate::notices::Notices for SqliteStore {
    fn notice_audience(
        &self, tenant: TenantId, audience: &crate::notices::Audience,
    ) -> Result<Vec<crate::notices::Addressee>> {
        use crate::notices::{Addressee, Audience, category_bounds};
        self.read(|conn| {
            // One snapshot: the people, their addresses and their events agree.
            let tx = conn.unchecked_transaction()?;
            let t = tenant.0.as_bytes();
            let mut ids: Vec<Vec<u8>> = match audience {
                Audience::Tenants(customers) => {
                    let mut statement = tx.prepare_cached("SELECT subject_id FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2")?;
                    let mut ids = vec![];
                    for customer in customers {
                        ids.extend(statement.query_map(params![t, customer.0.as_bytes()], |row| row.get(0))?.collect::<rusqlite::Result<Vec<Vec<u8>>>>()?);
                    }
                    ids
                }
                Audience::Customers => tx
                    .prepare_cached("SELECT c.subject_id FROM tenant_contacts c JOIN tenants t ON t.tenant_id = c.customer_id WHERE c.tenant_id = ?1 AND t.operator = 0")?
                    .query_map(params![t], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?,
                Audience::Category(category) => {
                    let (low, high) = category_bounds(category);
                    tx.prepare_cached("SELECT DISTINCT subject_id FROM records WHERE tenant_id = ?1 AND (category = ?2 OR (category >= ?3 AND category < ?4))")?
                        .query_map(params![t, category, low, high], |row| row.get(0))?
                        .collect::<rusqlite::Result<_>>()?
                }
                Audience::Subjects(subjects) => {
                    let mut statement = tx.prepare_cached("SELECT subject_id FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?;
                    let mut ids = vec![];
                    for subject in subjects {
                        ids.extend(statement.query_row(params![t, subject.0.as_bytes()], |row| row.get(0)).optional()?);
                    }
                    ids
                }
            };
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.clone()));
            let mut people: Vec<Addressee> = ids
                .into_iter()
                .map(|id| Ok(Addressee { subject: SubjectId(uuid(id)?), email: None, events: vec![] }))
                .collect::<Result<_>>()?;
            let position: std::collections::HashMap<SubjectId, usize> = people.iter().enumerate().map(|(i, p)| (p.subject, i)).collect();
            // A few people are looked up one by one; a large audience is read in one pass over
            // each table of the tenant, which is cheaper than three lookups per person.
            let few = people.len() <= 256;
            // One person per run (?2) when few, the whole tenant in one run (?2 NULL) otherwise.
            let only = |column: &str| if few { format!("AND {column} = ?2") } else { "AND ?2 IS NULL".to_owned() };
            let singles: Vec<Option<Vec<u8>>> = if few {
                people.iter().map(|p| Some(p.subject.0.as_bytes().to_vec())).collect()
            } else {
                vec![None]
            };
            let mut addresses = tx.prepare_cached(&format!(
                "SELECT subject_id, blind_index, sealed_value FROM identities WHERE tenant_id = ?1 AND kind = 'email' {}",
                only("subject_id")
            ))?;
            let mut keys = tx.prepare_cached(&format!(
                "SELECT s.subject_id, k.wrapped_key FROM subjects s
                   JOIN keys.subject_keys k ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id AND k.generation = s.key_generation
                 WHERE s.tenant_id = ?1 {}", only("s.subject_id")
            ))?;
            let mut events = tx.prepare_cached(&format!(
                "SELECT subject_id, kind, purpose, occurred_at FROM events
                 WHERE tenant_id = ?1 AND kind IN ('unsubscribe', 'objection') {}",
                only("subject_id")
            ))?;
            let mut sealed: Vec<Option<(Vec<u8>, Vec<u8>)>> = vec![None; people.len()];
            let mut wrapped: Vec<Option<Vec<u8>>> = vec![None; people.len()];
            for single in &singles {
                let rows = addresses.query_map(params![t, single], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, Vec<u8>>(2)?)))?;
                for row in rows {
                    let (subject, index, value) = row?;
                    let Some(&i) = position.get(&SubjectId(uuid(subject)?)) else { continue };
                    // Of several addresses, the one with the lowest index: the same every time.
                    if sealed[i].as_ref().is_none_or(|(known, _)| index < *known) {
                        sealed[i] = Some((index, value));
                    }
                }
                let rows = keys.query_map(params![t, single], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
                for row in rows {
                    let (subject, key) = row?;
                    let Some(&i) = position.get(&SubjectId(uuid(subject)?)) else { continue };
                    if sealed[i].is_some() {
                        wrapped[i] = Some(key);
                    }
                }
                let mut found = events.query(params![t, single])?;
                while let Some(row) = found.next()? {
                    let Some(&i) = position.get(&SubjectId(row.id(0)?)) else { continue };
                    people[i].events.push(rows::opt_out_event(row)?);
                }
            }
            let jobs: Vec<crate::notices::SealedAddress> = sealed
                .into_iter()
                .zip(wrapped)
                .enumerate()
                .filter_map(|(i, (address, key))| {
                    let (index, value) = address?;
                    Some(crate::notices::SealedAddress { person: i, subject: people[i].subject, wrapped_key: key?, index, sealed: value })
                })
                .collect();
            crate::notices::with_emails(people, &self.keyring(), tenant, jobs)
        })
    }

    fn send_notice(
        &self, tenant: TenantId, notice: &crate::notices::NewNotice,
        deliveries: &[crate::notices::NewDelivery], actor: &Actor, at: Timestamp,
    ) -> Result<crate::notices::Notice> {
        use crate::notices::NewDelivery;
        let (t, n) = (tenant.0.as_bytes(), notice.id.0.as_bytes());
        let hash = notice.body_hash();
        let audience = notice.audience_json()?;
        let template = notice.template();
        let sealed = crate::notices::seal_addresses(&self.keyring(), deliveries)?;
        let queued = deliveries
            .iter()
            .filter(|d| matches!(d, NewDelivery::Queue { .. }))
            .count() as u64;
        let skipped = deliveries.len() as u64 - queued;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO notice_bodies (tenant_id, body_hash, subject_line, body) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
                .execute(params![t, hash, notice.subject_line, notice.body])?;
            tx.prepare_cached(
                "INSERT INTO notices (tenant_id, notice_id, kind, mandatory, body_hash, audience, incident_id, created_at, created_by, queued, skipped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![t, n, notice.kind, notice.mandatory, hash, audience, notice.incident.map(|i| i.0.as_bytes().to_vec()), micros(at), actor.audit_name(), queued as i64, skipped as i64])?;
            if queued > 0 {
                crate::outbox::queued();
            }
            let mut mail = tx.prepare_cached(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at, notice_id, subject_id) VALUES (?1, ?2, NULL, ?3, ?4, NULL, ?5, ?5, ?6, ?7)",
            )?;
            let mut line = tx.prepare_cached("INSERT INTO notice_deliveries (tenant_id, notice_id, subject_id, mail_id, skipped) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for (delivery, mail_of) in deliveries.iter().zip(&sealed) {
                match (delivery, mail_of) {
                    (NewDelivery::Queue { subject, .. }, Some((id, to))) => {
                        mail.execute(params![t, id.0.as_bytes(), template, to, micros(at), n, subject.0.as_bytes()])?;
                        line.execute(params![t, n, subject.0.as_bytes(), Some(id.0.as_bytes()), None::<String>])?;
                    }
                    (NewDelivery::Skip { subject, reason }, _) => {
                        line.execute(params![t, n, subject.0.as_bytes(), None::<Vec<u8>>, reason])?;
                    }
                    (NewDelivery::Queue { .. }, None) => return Err(StoreError::Corrupt("a queued delivery without its mail".into())),
                }
            }
            Self::append(tx, tenant, at, NewAuditEntry::notice_sent(actor, notice, queued, skipped))
        })?;
        crate::notices::as_stored(self, tenant, notice.id)
    }

    fn notices(&self, tenant: TenantId) -> Result<Vec<crate::notices::Notice>> {
        use crate::notices::NOTICE_COLUMNS;
        self.read(|conn| {
            all(
                conn,
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                     WHERE n.tenant_id = ?1 ORDER BY n.created_at DESC, n.notice_id DESC"
                ),
                params![tenant.0.as_bytes()],
                |row| rows::notice(row),
            )
        })
    }

    fn notice(
        &self, tenant: TenantId, id: crate::notices::NoticeId,
    ) -> Result<Option<(crate::notices::Notice, String)>> {
        use crate::notices::NOTICE_COLUMNS;
        self.read(|conn| {
            first(
                conn,
                &format!(
                    "SELECT {NOTICE_COLUMNS}, b.body FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                     WHERE n.tenant_id = ?1 AND n.notice_id = ?2"
                ),
                params![tenant.0.as_bytes(), id.0.as_bytes()],
                |row| Ok((rows::notice(row)?, row.text(11)?)),
            )
        })
    }

    fn notice_deliveries(
        &self, tenant: TenantId, id: crate::notices::NoticeId,
    ) -> Result<Vec<crate::notices::Delivery>> {
        self.read(|conn| {
            let keyring = self.keyring();
            all(
                conn,
                &format!("{DELIVERY_SELECT} WHERE d.tenant_id = ?1 AND d.notice_id = ?2 ORDER BY d.subject_id"),
                params![tenant.0.as_bytes(), id.0.as_bytes()],
                |row| rows::delivery_row(row)?.decode(&keyring),
            )
        })
    }

    fn subject_notices(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<(crate::notices::Notice, crate::notices::Delivery)>> {
        self.read(|conn| {
            let keyring = self.keyring();
            let deliveries = all(
                conn,
                &format!("{SUBJECT_DELIVERY_SELECT} WHERE n.tenant_id = ?1"),
                params![tenant.0.as_bytes(), subject.0.as_bytes()],
                |row| rows::delivery_row(row)?.decode(&keyring),
            )?;
            crate::notices::with_their_notices(self, tenant, deliveries)
        })
    }

    fn set_tenant_contact(
        &self, tenant: TenantId, customer: TenantId, subject: SubjectId, present: bool,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        let (t, c, s) = (
            tenant.0.as_bytes(),
            customer.0.as_bytes(),
            subject.0.as_bytes(),
        );
        self.write(|tx| {
            let changed = if present {
                let exists: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)")?
                    .query_row(params![t, s], |row| row.get(0))?;
                if !exists {
                    return Err(StoreError::NotFound("subject"));
                }
                tx.prepare_cached("INSERT INTO tenant_contacts (tenant_id, customer_id, subject_id, added_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
                    .execute(params![t, c, s, micros(at)])?
            } else {
                tx.prepare_cached("DELETE FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2 AND subject_id = ?3")?
                    .execute(params![t, c, s])?
            };
            Self::append_if(tx, changed > 0, tenant, at, NewAuditEntry::tenant_contact(actor, customer, subject, present))
        })
    }

    fn tenant_contacts(&self, tenant: TenantId, customer: TenantId) -> Result<Vec<SubjectId>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT subject_id FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2 ORDER BY added_at, subject_id")?
                .query_map(params![tenant.0.as_bytes(), customer.0.as_bytes()], |row| row.get::<_, Vec<u8>>(0))?
                .map(|id| Ok(SubjectId(uuid(id?)?)))
                .collect()
        })
    }

    fn ledger_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|conn| {
            let lines: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM notice_deliveries WHERE tenant_id = ?1
                       AND notice_id IN (SELECT notice_id FROM notices WHERE tenant_id = ?1 AND created_at < ?2)",
                )?
                .query_row(params![tenant.0.as_bytes(), micros(before)], |row| row.get(0))?;
            Ok(lines.max(0) as u64)
        })
    }

    fn prune_ledger(
        &self, tenant: TenantId, before: Option<Timestamp>, people: &[SubjectId], actor: &Actor,
        at: Timestamp,
    ) -> Result<u64> {
        let t = tenant.0.as_bytes();
        self.write(|tx| {
            tx.execute("INSERT INTO ledger_pruning (tenant_id) VALUES (?1)", params![t])?;
            let mut lines = 0u64;
            if let Some(before) = before {
                let old = "SELECT notice_id FROM notices WHERE tenant_id = ?1 AND created_at < ?2";
                tx.execute(
                    &format!("DELETE FROM outbox WHERE tenant_id = ?1 AND notice_id IN ({old})"),
                    params![t, micros(before)],
                )?;
                lines += tx.execute(
                    &format!("DELETE FROM notice_deliveries WHERE tenant_id = ?1 AND notice_id IN ({old})"),
                    params![t, micros(before)],
                )? as u64;
            }
            // Without notices in the tenant nobody has a line: skip a statement per person.
            let any_notice = tx
                .prepare_cached("SELECT 1 FROM notices WHERE tenant_id = ?1 LIMIT 1")?
                .exists(params![t])?;
            let people = if any_notice { people } else { &[] };
            let mut mails = tx.prepare_cached(
                "DELETE FROM outbox WHERE tenant_id = ?1 AND mail_id IN (
                     SELECT mail_id FROM notice_deliveries WHERE tenant_id = ?1 AND subject_id = ?2 AND mail_id IS NOT NULL
                       AND notice_id IN (SELECT notice_id FROM notices WHERE tenant_id = ?1))",
            )?;
            let mut line = tx.prepare_cached(
                "DELETE FROM notice_deliveries WHERE tenant_id = ?1 AND subject_id = ?2
                   AND notice_id IN (SELECT notice_id FROM notices WHERE tenant_id = ?1)",
            )?;
            for person in people {
                mails.execute(params![t, person.0.as_bytes()])?;
                lines += line.execute(params![t, person.0.as_bytes()])? as u64;
            }
            tx.execute("DELETE FROM ledger_pruning WHERE tenant_id = ?1", params![t])?;
            if lines > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::ledger_pruned(actor, before, people.len(), lines))?;
            }
            Ok(lines)
        })
    }
}
