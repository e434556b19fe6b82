//! Notices on PostgreSQL: the SQL behind [`crate::notices::Notices`].

use super::*;

impl crate::notices::Notices for PostgresStore {
    fn notice_audience(
        &self, tenant: TenantId, audience: &crate::notices::Audience,
    ) -> Result<Vec<crate::notices::Addressee>> {
        use crate::notices::{Addressee, Audience, SealedAddress, category_bounds};
        self.read(|client| {
            // One snapshot: the people, their addresses and their events agree.
            let mut tx = client.snapshot()?;
            let t = tenant.0;
            let rows = match audience {
                Audience::Tenants(customers) => {
                    let customers: Vec<Uuid> = customers.iter().map(|c| c.0).collect();
                    tx.query("SELECT subject_id FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = ANY($2) ORDER BY array_position($2, customer_id), added_at", &[&t, &customers])?
                }
                Audience::Customers => tx.query(
                    "SELECT c.subject_id FROM tenant_contacts c JOIN tenants t ON t.tenant_id = c.customer_id WHERE c.tenant_id = $1 AND NOT t.operator ORDER BY c.customer_id, c.added_at",
                    &[&t],
                )?,
                Audience::Category(category) => {
                    let (low, high) = category_bounds(category);
                    tx.query(
                        "SELECT DISTINCT subject_id FROM records WHERE tenant_id = $1 AND (category = $2 OR (category >= $3 AND category < $4))",
                        &[&t, category, &low, &high],
                    )?
                }
                Audience::Subjects(subjects) => {
                    let ids: Vec<Uuid> = subjects.iter().map(|s| s.0).collect();
                    tx.query("SELECT subject_id FROM subjects WHERE tenant_id = $1 AND subject_id = ANY($2) ORDER BY array_position($2, subject_id)", &[&t, &ids])?
                }
            };
            let mut seen = std::collections::HashSet::new();
            let mut people: Vec<Addressee> = rows
                .iter()
                .map(|row| SubjectId(row.get(0)))
                .filter(|id| seen.insert(*id))
                .map(|subject| Addressee { subject, email: None, events: vec![] })
                .collect();
            let position: std::collections::HashMap<SubjectId, usize> = people.iter().enumerate().map(|(i, p)| (p.subject, i)).collect();
            let ids: Vec<Uuid> = people.iter().map(|p| p.subject.0).collect();
            let mut jobs: Vec<SealedAddress> = Vec::new();
            let mut job_of: Vec<Option<usize>> = vec![None; people.len()];
            for row in tx.query(
                "SELECT i.subject_id, k.wrapped_key, i.blind_index, i.sealed_value FROM identities i
                   JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
                 WHERE i.tenant_id = $1 AND i.kind = 'email' AND i.subject_id = ANY($2)",
                &[&t, &ids],
            )? {
                let subject = SubjectId(row.get(0));
                let Some(&i) = position.get(&subject) else { continue };
                let index: Vec<u8> = row.get(2);
                match job_of[i] {
                    // Of several addresses, the one with the lowest index: the same every time.
                    Some(j) if index < jobs[j].index => {
                        jobs[j].index = index;
                        jobs[j].sealed = row.get(3);
                    }
                    Some(_) => {}
                    None => {
                        job_of[i] = Some(jobs.len());
                        jobs.push(SealedAddress { person: i, subject, wrapped_key: row.get(1), index, sealed: row.get(3) });
                    }
                }
            }
            for row in tx.query(
                "SELECT subject_id, kind, purpose, occurred_at FROM events
                 WHERE tenant_id = $1 AND kind IN ('unsubscribe', 'objection') AND subject_id = ANY($2)",
                &[&t, &ids],
            )? {
                let subject = SubjectId(row.get(0));
                let Some(&i) = position.get(&subject) else { continue };
                people[i].events.push(rows::opt_out_event(&row)?);
            }
            tx.commit()?;
            crate::notices::with_emails(people, &self.keyring(), tenant, jobs)
        })
    }

    fn send_notice(
        &self, tenant: TenantId, notice: &crate::notices::NewNotice,
        deliveries: &[crate::notices::NewDelivery], actor: &Actor, at: Timestamp,
    ) -> Result<crate::notices::Notice> {
        use crate::notices::NewDelivery;
        let hash = notice.body_hash().to_vec();
        let audience = notice.audience_json()?;
        let template = notice.template();
        let sealed_all = crate::notices::seal_addresses(&self.keyring(), deliveries)?;
        // Column arrays for one `unnest` insert each: a notice to 100,000 people is a handful of
        // round trips, not 200,000.
        let (mut mails, mut sealed, mut people, mut subjects, mut lines, mut skips) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (delivery, mail_of) in deliveries.iter().zip(sealed_all) {
            subjects.push(delivery.subject().0);
            match (delivery, mail_of) {
                (NewDelivery::Queue { subject, .. }, Some((id, to))) => {
                    sealed.push(to);
                    mails.push(id.0);
                    people.push(subject.0);
                    lines.push(Some(id.0));
                    skips.push(None);
                }
                (NewDelivery::Skip { reason, .. }, _) => {
                    lines.push(None);
                    skips.push(Some(reason.clone()));
                }
                (NewDelivery::Queue { .. }, None) => {
                    return Err(StoreError::Corrupt(
                        "a queued delivery without its mail".into(),
                    ));
                }
            }
        }
        let (queued, skipped) = (mails.len() as u64, (deliveries.len() - mails.len()) as u64);
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO notice_bodies (tenant_id, body_hash, subject_line, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.0, &hash, &notice.subject_line, &notice.body],
            )?;
            tx.execute(
                "INSERT INTO notices (tenant_id, notice_id, kind, mandatory, body_hash, audience, incident_id, created_at, created_by, queued, skipped)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[&tenant.0, &notice.id.0, &notice.kind, &notice.mandatory, &hash, &audience, &notice.incident.map(|i| i.0), &micros(at), &actor.audit_name(), &(queued as i64), &(skipped as i64)],
            )?;
            if queued > 0 {
                crate::outbox::queued();
            }
            tx.execute(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at, notice_id, subject_id)
                 SELECT $1, m, NULL, $2, s, NULL, $3, $3, $4, p FROM unnest($5::uuid[], $6::bytea[], $7::uuid[]) AS u(m, s, p)",
                &[&tenant.0, &template, &micros(at), &notice.id.0, &mails, &sealed, &people],
            )?;
            tx.execute(
                "INSERT INTO notice_deliveries (tenant_id, notice_id, subject_id, mail_id, skipped)
                 SELECT $1, $2, * FROM unnest($3::uuid[], $4::uuid[], $5::text[])",
                &[&tenant.0, &notice.id.0, &subjects, &lines, &skips],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::notice_sent(actor, notice, queued, skipped))
        })?;
        crate::notices::as_stored(self, tenant, notice.id)
    }

    fn notices(&self, tenant: TenantId) -> Result<Vec<crate::notices::Notice>> {
        use crate::notices::NOTICE_COLUMNS;
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {NOTICE_COLUMNS} FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                         WHERE n.tenant_id = $1 ORDER BY n.created_at DESC, n.notice_id DESC"
                    ),
                    &[&tenant.0],
                )?
                .iter()
                .map(rows::notice)
                .collect()
        })
    }

    fn notice(
        &self, tenant: TenantId, id: crate::notices::NoticeId,
    ) -> Result<Option<(crate::notices::Notice, String)>> {
        use crate::notices::NOTICE_COLUMNS;
        self.read(|client| {
            client
                .query_opt(
                    &format!(
                        "SELECT {NOTICE_COLUMNS}, b.body FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                         WHERE n.tenant_id = $1 AND n.notice_id = $2"
                    ),
                    &[&tenant.0, &id.0],
                )?
                .map(|row| Ok((rows::notice(&row)?, row.text(11)?)))
                .transpose()
        })
    }

    fn notice_deliveries(
        &self, tenant: TenantId, id: crate::notices::NoticeId,
    ) -> Result<Vec<crate::notices::Delivery>> {
        self.read(|client| {
            let keyring = self.keyring();
            client
                .query(
                    &format!("{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.notice_id = $2 ORDER BY d.subject_id"),
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| rows::delivery_row(row)?.decode(&keyring))
                .collect()
        })
    }

    fn subject_notices(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<(crate::notices::Notice, crate::notices::Delivery)>> {
        let deliveries = self.read(|client| {
            let keyring = self.keyring();
            client
                .query(
                    &format!("{DELIVERY_SELECT} WHERE n.tenant_id = $1 AND d.subject_id = $2"),
                    &[&tenant.0, &subject.0],
                )?
                .iter()
                .map(|row| rows::delivery_row(row)?.decode(&keyring))
                .collect::<Result<Vec<_>>>()
        })?;
        crate::notices::with_their_notices(self, tenant, deliveries)
    }

    fn set_tenant_contact(
        &self, tenant: TenantId, customer: TenantId, subject: SubjectId, present: bool,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = if present {
                if tx.query_opt("SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?.is_none() {
                    return Err(StoreError::NotFound("subject"));
                }
                tx.execute(
                    "INSERT INTO tenant_contacts (tenant_id, customer_id, subject_id, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&tenant.0, &customer.0, &subject.0, &micros(at)],
                )?
            } else {
                tx.execute(
                    "DELETE FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = $2 AND subject_id = $3",
                    &[&tenant.0, &customer.0, &subject.0],
                )?
            };
            Self::append_if(tx, changed > 0, tenant, at, NewAuditEntry::tenant_contact(actor, customer, subject, present))
        })
    }

    fn tenant_contacts(&self, tenant: TenantId, customer: TenantId) -> Result<Vec<SubjectId>> {
        self.read(|client| {
            Ok(client
                .query(
                    "SELECT subject_id FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = $2 ORDER BY added_at, subject_id",
                    &[&tenant.0, &customer.0],
                )?
                .iter()
                .map(|row| SubjectId(row.get(0)))
                .collect())
        })
    }

    fn ledger_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|client| {
            let lines: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM notice_deliveries WHERE tenant_id = $1
                       AND notice_id IN (SELECT notice_id FROM notices WHERE tenant_id = $1 AND created_at < $2)",
                    &[&tenant.0, &micros(before)],
                )?
                .get(0);
            Ok(lines.max(0) as u64)
        })
    }

    fn prune_ledger(
        &self, tenant: TenantId, before: Option<Timestamp>, people: &[SubjectId], actor: &Actor,
        at: Timestamp,
    ) -> Result<u64> {
        self.write(|tx| {
            tx.execute("SELECT set_config('ombud.ledger_pruning', 'on', true)", &[])?;
            let mut lines = 0u64;
            if let Some(before) = before {
                let old = "SELECT notice_id FROM notices WHERE tenant_id = $1 AND created_at < $2";
                tx.execute(
                    &format!("DELETE FROM outbox WHERE tenant_id = $1 AND notice_id IN ({old})"),
                    &[&tenant.0, &micros(before)],
                )?;
                lines += tx.execute(
                    &format!("DELETE FROM notice_deliveries WHERE tenant_id = $1 AND notice_id IN ({old})"),
                    &[&tenant.0, &micros(before)],
                )?;
            }
            // Everyone at once: a sweep that removed 20,000 people made 40,000 round trips here,
            // each scanning the tenant's ledger.
            if !people.is_empty() {
                let people: Vec<uuid::Uuid> = people.iter().map(|p| p.0).collect();
                tx.execute(
                    "DELETE FROM outbox WHERE tenant_id = $1 AND mail_id IN (
                         SELECT mail_id FROM notice_deliveries WHERE tenant_id = $1 AND subject_id = ANY($2) AND mail_id IS NOT NULL)",
                    &[&tenant.0, &people],
                )?;
                lines += tx.execute(
                    "DELETE FROM notice_deliveries WHERE tenant_id = $1 AND subject_id = ANY($2)",
                    &[&tenant.0, &people],
                )?;
            }
            tx.execute("SELECT set_config('ombud.ledger_pruning', 'off', true)", &[])?;
            if lines > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::ledger_pruned(actor, before, people.len(), lines))?;
            }
            Ok(lines)
        })
    }
}
