//! Retention on PostgreSQL: the SQL behind [`crate::retention::Retention`].

use super::*;

impl crate::retention::Retention for PostgresStore {
    fn create_hold(
        &self, tenant: TenantId, hold: &NewHold, actor: &Actor, at: Timestamp,
    ) -> Result<LegalHold> {
        let created = hold.placed(at);
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO legal_holds (tenant_id, hold_id, reason, subject_id, category, note, created_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &tenant.0,
                    &created.id.0,
                    &created.reason.as_str(),
                    &created.subject.map(|s| s.0),
                    &created.category,
                    &created.note,
                    &micros(at),
                    &created.ends_at.map(micros),
                ],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::hold_step(actor, &created, "create"))
        })?;
        Ok(created)
    }

    fn holds(&self, tenant: TenantId, active_at: Option<Timestamp>) -> Result<Vec<LegalHold>> {
        let holds = self.read(|client| {
            client
                .query(
                    "SELECT hold_id, reason, subject_id, category, note, created_at, ends_at, released_at FROM legal_holds
                     WHERE tenant_id = $1 ORDER BY hold_id DESC",
                    &[&tenant.0],
                )?
                .iter()
                .map(rows::legal_hold)
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(crate::retention::in_force(holds, active_at))
    }

    fn store_release(
        &self, tenant: TenantId, released: &LegalHold, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = tx.execute(
                "UPDATE legal_holds SET released_at = $3 WHERE tenant_id = $1 AND hold_id = $2 AND released_at IS NULL",
                &[&tenant.0, &released.id.0, &micros(at)],
            )?;
            Self::append_if(tx, changed == 1, tenant, at, NewAuditEntry::hold_step(actor, released, "release"))
        })
    }

    fn retention_batch(
        &self, tenant: TenantId, after: Option<SubjectId>, limit: usize,
    ) -> Result<Vec<RetentionSubject>> {
        self.read(|client| {
            // One snapshot for the three reads, so records and events agree with the subjects.
            let mut tx = client.snapshot()?;
            let after = after.map_or(Uuid::nil(), |s| s.0);
            let subjects: Vec<Uuid> = tx
                .query(
                    "SELECT subject_id FROM subjects WHERE tenant_id = $1 AND subject_id > $2 ORDER BY subject_id LIMIT $3",
                    &[&tenant.0, &after, &i64::try_from(limit).unwrap_or(i64::MAX)],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let Some(&last) = subjects.last() else { return Ok(vec![]) };
            let position: std::collections::HashMap<Uuid, usize> = subjects.iter().enumerate().map(|(i, s)| (*s, i)).collect();
            let mut batch: Vec<RetentionSubject> =
                subjects.iter().map(|s| RetentionSubject { subject: SubjectId(*s), records: vec![], events: vec![] }).collect();
            for row in tx.query(
                "SELECT subject_id, record_id, category, purposes, source, collected_at FROM records
                 WHERE tenant_id = $1 AND subject_id > $2 AND subject_id <= $3 ORDER BY subject_id, record_id",
                &[&tenant.0, &after, &last],
            )? {
                let Some(&i) = position.get(&row.id(0)?) else { continue };
                batch[i].records.push(rows::record_meta(&row, 1)?);
            }
            for row in tx.query(
                &format!(
                    "SELECT subject_id, {} FROM events
                     WHERE tenant_id = $1 AND subject_id > $2 AND subject_id <= $3 ORDER BY subject_id, occurred_at, recorded_at, event_id",
                    rows::EVENT_COLUMNS
                ),
                &[&tenant.0, &after, &last],
            )? {
                let subject: Uuid = row.id(0)?;
                let Some(&i) = position.get(&subject) else { continue };
                batch[i].events.push(rows::stored_event(SubjectId(subject), &row, 1)?);
            }
            tx.commit()?;
            Ok(batch)
        })
    }

    /// One person in one typed statement (one snapshot, one round trip), not as a batch of one
    /// in a transaction of four statements.
    fn retention_subject(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<Option<RetentionSubject>> {
        self.read(|client| {
            let rows = client.query_typed(
                "SELECT 0 AS part, r.record_id, r.category, r.purposes, r.source, r.collected_at,
                        NULL::uuid AS event_id, NULL::text, NULL::text, NULL::bigint AS occurred_at,
                        NULL::bigint AS recorded_at, NULL::text, NULL::text
                 FROM subjects s
                 LEFT JOIN records r ON r.tenant_id = s.tenant_id AND r.subject_id = s.subject_id
                 WHERE s.tenant_id = $1 AND s.subject_id = $2
                 UNION ALL
                 SELECT 1, NULL, NULL, NULL, NULL, NULL,
                        e.event_id, e.kind, e.purpose, e.occurred_at, e.recorded_at, e.channel, e.policy_version
                 FROM events e WHERE e.tenant_id = $1 AND e.subject_id = $2
                 ORDER BY part, record_id, occurred_at, recorded_at, event_id",
                &[(&tenant.0, Type::UUID), (&subject.0, Type::UUID)],
            )?;
            // The subject's row comes first (part 0), with NULL record columns when it has none.
            if rows.first().is_none_or(|row| row.get::<_, i32>(0) != 0) {
                return Ok(None);
            }
            let mut found = RetentionSubject { subject, records: vec![], events: vec![] };
            for row in &rows {
                if row.get::<_, i32>(0) == 1 {
                    found.events.push(rows::stored_event(subject, row, 6)?);
                } else if row.get::<_, Option<Uuid>>(1).is_some() {
                    found.records.push(rows::record_meta(row, 1)?);
                }
            }
            Ok(Some(found))
        })
    }

    fn expire_records(
        &self, tenant: TenantId, expiries: &[Expiry], actor: &Actor, at: Timestamp,
    ) -> Result<Swept> {
        use std::collections::{HashMap, HashSet};
        // Set-based: one statement per kind of row for the whole batch, not a round trip per
        // person (a sweep spent ~12 round trips per expired person).
        let (mut subjects, mut records) = (Vec::new(), Vec::new());
        for expiry in expiries {
            for (record, _) in &expiry.records {
                subjects.push(expiry.subject.0);
                records.push(record.0);
            }
        }
        if records.is_empty() {
            return Ok(Swept::default());
        }
        // The batch's people span a range of ids (the sweep reads them in id order): bounding
        // every statement by it keeps PostgreSQL on the key's range, whatever its statistics
        // say. Matched against the arrays alone, it hashed the tenant's whole records table
        // for each batch (seconds a batch at 400,000 records).
        let low = subjects.iter().min().copied().unwrap_or_default();
        let high = subjects.iter().max().copied().unwrap_or_default();
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let removed: HashMap<(Uuid, Uuid), String> = tx
                .query(
                    "DELETE FROM records r USING unnest($2::uuid[], $3::uuid[]) AS gone (subject_id, record_id)
                     WHERE r.tenant_id = $1 AND r.subject_id BETWEEN $4 AND $5
                       AND r.subject_id = gone.subject_id AND r.record_id = gone.record_id
                     RETURNING r.subject_id, r.record_id, r.category",
                    &[&tenant.0, &subjects, &records, &low, &high],
                )?
                .iter()
                .map(|row| ((row.get(0), row.get(1)), row.get(2)))
                .collect();
            if removed.is_empty() {
                return Ok(Swept::default());
            }
            let touched: HashSet<Uuid> = removed.keys().map(|(subject, _)| *subject).collect();
            let left: HashSet<Uuid> = tx
                .query("SELECT DISTINCT subject_id FROM records WHERE tenant_id = $1 AND subject_id BETWEEN $3 AND $4 AND subject_id = ANY($2)",
                    &[&tenant.0, &touched.iter().copied().collect::<Vec<_>>(), &low, &high])?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let whole: HashSet<Uuid> = expiries
                .iter()
                .filter(|e| e.subject_may_go && !left.contains(&e.subject.0) && touched.contains(&e.subject.0))
                .map(|e| e.subject.0)
                .collect();
            if !whole.is_empty() {
                let ids: Vec<Uuid> = whole.iter().copied().collect();
                let bounded = [&tenant.0 as &(dyn postgres::types::ToSql + Sync), &ids, &low, &high];
                tx.execute("DELETE FROM identities WHERE tenant_id = $1 AND subject_id BETWEEN $3 AND $4 AND subject_id = ANY($2)", &bounded)?;
                tx.execute("DELETE FROM events WHERE tenant_id = $1 AND subject_id BETWEEN $3 AND $4 AND subject_id = ANY($2)", &bounded)?;
                // The keys go with the rows (ON DELETE CASCADE).
                tx.execute("DELETE FROM subjects WHERE tenant_id = $1 AND subject_id BETWEEN $3 AND $4 AND subject_id = ANY($2)", &bounded)?;
                tx.execute(
                    "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial)
                     SELECT $1, gone, NULL, $3, false FROM unnest($2::uuid[]) AS gone
                     ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = NULL, erased_at = excluded.erased_at, partial = false",
                    &[&tenant.0, &ids, &micros(at)],
                )?;
            }
            let mut swept = Swept::default();
            let mut entries = Vec::new();
            // A subject named by two expiries goes (and is counted) once.
            let mut gone = HashSet::new();
            for expiry in expiries {
                let mut by_rule = crate::retention::RemovedByRule::default();
                for (record, rule) in &expiry.records {
                    if let Some(category) = removed.get(&(expiry.subject.0, record.0)) {
                        by_rule.count(rule.as_str(), category.clone());
                    }
                }
                if by_rule.is_empty() {
                    continue;
                }
                let went = whole.contains(&expiry.subject.0) && gone.insert(expiry.subject.0);
                by_rule.tally(&mut swept, &mut entries, actor, expiry.subject, went);
            }
            Self::append_many(tx, tenant, at, entries)?;
            Ok(swept)
        })
    }
}
