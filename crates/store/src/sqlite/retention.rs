//! Retention on SQLite: the SQL behind [`crate::retention::Retention`].

use super::*;

impl crate::retention::Retention for SqliteStore {
    fn create_hold(
        &self, tenant: TenantId, hold: &NewHold, actor: &Actor, at: Timestamp,
    ) -> Result<LegalHold> {
        let created = hold.placed(at);
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO legal_holds (tenant_id, hold_id, reason, subject_id, category, note, created_at, ends_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                tenant.0.as_bytes(),
                created.id.0.as_bytes(),
                created.reason.as_str(),
                created.subject.map(|s| s.0.as_bytes().to_vec()),
                created.category,
                created.note,
                micros(at),
                created.ends_at.map(micros),
            ])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::NotFound("tenant"),
                other => other.into(),
            })?;
            Self::append(tx, tenant, at, NewAuditEntry::hold_step(actor, &created, "create"))
        })?;
        Ok(created)
    }

    fn holds(&self, tenant: TenantId, active_at: Option<Timestamp>) -> Result<Vec<LegalHold>> {
        self.read(|conn| {
            let holds = all(
                conn,
                "SELECT hold_id, reason, subject_id, category, note, created_at, ends_at, released_at FROM legal_holds
                 WHERE tenant_id = ?1 ORDER BY hold_id DESC",
                params![tenant.0.as_bytes()],
                |row| rows::legal_hold(row),
            )?;
            Ok(crate::retention::in_force(holds, active_at))
        })
    }

    fn store_release(
        &self, tenant: TenantId, released: &LegalHold, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE legal_holds SET released_at = ?3 WHERE tenant_id = ?1 AND hold_id = ?2 AND released_at IS NULL")?
                .execute(params![tenant.0.as_bytes(), released.id.0.as_bytes(), micros(at)])?;
            Self::append_if(tx, changed == 1, tenant, at, NewAuditEntry::hold_step(actor, released, "release"))
        })
    }

    fn retention_batch(
        &self, tenant: TenantId, after: Option<SubjectId>, limit: usize,
    ) -> Result<Vec<RetentionSubject>> {
        self.read(|conn| {
            // One snapshot for the three reads, so records and events agree with the subjects.
            let tx = conn.unchecked_transaction()?;
            let t = tenant.0.as_bytes();
            // An empty blob sorts before every id.
            let after = after.map(|s| s.0.as_bytes().to_vec()).unwrap_or_default();
            let subjects = tx
                .prepare_cached("SELECT subject_id FROM subjects WHERE tenant_id = ?1 AND subject_id > ?2 ORDER BY subject_id LIMIT ?3")?
                .query_map(params![t, after, i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some(last) = subjects.last().cloned() else { return Ok(vec![]) };
            let mut batch: Vec<RetentionSubject> = subjects
                .into_iter()
                .map(|id| Ok(RetentionSubject { subject: SubjectId(uuid(id)?), records: vec![], events: vec![] }))
                .collect::<Result<_>>()?;
            let position: std::collections::HashMap<SubjectId, usize> = batch.iter().enumerate().map(|(i, s)| (s.subject, i)).collect();
            let mut records = tx.prepare_cached(
                "SELECT subject_id, record_id, category, purposes, source, collected_at FROM records
                 WHERE tenant_id = ?1 AND subject_id > ?2 AND subject_id <= ?3 ORDER BY subject_id, record_id",
            )?;
            let mut found = records.query(params![t, after, last])?;
            while let Some(row) = found.next()? {
                let Some(&i) = position.get(&SubjectId(row.id(0)?)) else { continue };
                batch[i].records.push(rows::record_meta(row, 1)?);
            }
            let mut events = tx.prepare_cached(&format!(
                "SELECT subject_id, {} FROM events
                 WHERE tenant_id = ?1 AND subject_id > ?2 AND subject_id <= ?3 ORDER BY subject_id, occurred_at, recorded_at, event_id",
                rows::EVENT_COLUMNS
            ))?;
            let mut found = events.query(params![t, after, last])?;
            while let Some(row) = found.next()? {
                let subject = SubjectId(row.id(0)?);
                let Some(&i) = position.get(&subject) else { continue };
                batch[i].events.push(rows::stored_event(subject, row, 1)?);
            }
            Ok(batch)
        })
    }

    /// One person by key, not as a batch of one: the per-person questions (the forecast, a
    /// deletion's check, GDPRbench's metadata reads) ask it often.
    fn retention_subject(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<Option<RetentionSubject>> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let (t, s) = (tenant.0.as_bytes(), subject.0.as_bytes());
            if !tx.prepare_cached("SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?.exists(params![t, s])? {
                return Ok(None);
            }
            let mut found = RetentionSubject { subject, records: vec![], events: vec![] };
            let mut records = tx.prepare_cached(
                "SELECT record_id, category, purposes, source, collected_at FROM records WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY record_id",
            )?;
            let mut rows = records.query(params![t, s])?;
            while let Some(row) = rows.next()? {
                found.records.push(rows::record_meta(row, 0)?);
            }
            drop(rows);
            drop(records);
            found.events = Self::events_in(&tx, tenant, subject)?;
            Ok(Some(found))
        })
    }

    fn expire_records(
        &self, tenant: TenantId, expiries: &[Expiry], actor: &Actor, at: Timestamp,
    ) -> Result<Swept> {
        let mut gone = vec![];
        let swept = self.write(|tx| {
            let t = tenant.0.as_bytes();
            let mut swept = Swept::default();
            let mut entries = Vec::new();
            for expiry in expiries {
                let s = expiry.subject.0.as_bytes();
                let mut by_rule = crate::retention::RemovedByRule::default();
                let rules: std::collections::HashMap<[u8; 16], &str> =
                    expiry.records.iter().map(|(r, rule)| (*r.0.as_bytes(), rule.as_str())).collect();
                // A subject losing every record loses them in one statement; should a record
                // the sweep did not see have arrived meanwhile, the savepoint undoes it and the
                // records go one by one.
                let mut bulk_done = false;
                if expiry.subject_may_go {
                    tx.prepare_cached("SAVEPOINT whole_subject")?.execute([])?;
                    let removed = tx
                        .prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 RETURNING record_id, category")?
                        .query_map(params![t, s], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let all_expired = removed.iter().all(|(id, _)| <[u8; 16]>::try_from(id.as_slice()).is_ok_and(|id| rules.contains_key(&id)));
                    if all_expired {
                        tx.prepare_cached("RELEASE whole_subject")?.execute([])?;
                        for (id, category) in removed {
                            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) else { continue };
                            by_rule.count(rules[&id], category);
                        }
                        bulk_done = true;
                    } else {
                        tx.prepare_cached("ROLLBACK TO whole_subject")?.execute([])?;
                        tx.prepare_cached("RELEASE whole_subject")?.execute([])?;
                    }
                }
                if !bulk_done {
                    let mut delete = tx.prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3 RETURNING category")?;
                    for (record, rule) in &expiry.records {
                        let category: Option<String> = delete.query_row(params![t, s, record.0.as_bytes()], |row| row.get(0)).optional()?;
                        if let Some(category) = category {
                            by_rule.count(rule.as_str(), category);
                        }
                    }
                }
                if by_rule.is_empty() {
                    continue;
                }
                // The bulk delete took every row the subject had in this transaction.
                let left = !bulk_done
                    && tx
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM records WHERE tenant_id = ?1 AND subject_id = ?2)")?
                        .query_row(params![t, s], |row| row.get(0))?;
                let whole = expiry.subject_may_go && !left;
                if whole {
                    tx.prepare_cached("DELETE FROM identities WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached("DELETE FROM events WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached("DELETE FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached(
                        "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES (?1, ?2, NULL, ?3, 0)
                         ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = NULL, erased_at = excluded.erased_at, partial = 0",
                    )?
                    .execute(params![t, s, micros(at)])?;
                    gone.push(expiry.subject);
                }
                by_rule.tally(&mut swept, &mut entries, actor, expiry.subject, whole);
            }
            Self::append_many(tx, tenant, at, entries)?;
            Ok(swept)
        })?;
        // After the rows: a crash between the two leaves keys nothing names, which the next
        // open removes.
        self.drop_stale_keys_of(tenant, &gone)?;
        Ok(swept)
    }
}
