//! AuditLog on SQLite: the SQL behind [`crate::audit::AuditLog`].

use super::*;

impl crate::audit::AuditLog for SqliteStore {
    fn append_audit(
        &self, tenant: TenantId, entry: NewAuditEntry, at: Timestamp,
    ) -> Result<AuditEntry> {
        self.write(|tx| Self::append_entry(tx, tenant, at, entry))
    }

    fn append_audit_batch(&self, entries: Vec<crate::audit::PendingEntry>) -> Result<()> {
        self.write(|tx| {
            // Each tenant's head is read once; the batch's entries chain on from it in memory.
            let mut heads: std::collections::HashMap<TenantId, (i64, [u8; 32])> =
                std::collections::HashMap::new();
            for (tenant, entry, at) in entries {
                let (seq, hash) = match heads.get(&tenant) {
                    Some(head) => *head,
                    None => {
                        // As PostgreSQL's tenant lock does: no chain for a tenant that is not.
                        tx.prepare_cached("SELECT 1 FROM tenants WHERE tenant_id = ?1")?
                            .query_row(params![tenant.0.as_bytes()], |_| Ok(()))
                            .optional()?
                            .ok_or(StoreError::NotFound("tenant"))?;
                        Self::head(tx, tenant)?
                    }
                };
                let entry = crate::audit::next_entry(seq, hash, at, entry);
                Self::insert_entry(tx, tenant, &entry)?;
                heads.insert(tenant, (entry.seq, entry.hash));
            }
            Ok(())
        })
    }

    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            // Without statistics the planner walks the whole chain by its primary key rather
            // than the subject's index (milliseconds per person at a million entries).
            let index = if filter.subject.is_some() {
                " INDEXED BY audit_log_by_subject"
            } else {
                ""
            };
            let mut sql = format!(
                "SELECT {} FROM audit_log{index} WHERE tenant_id = ?1 AND seq > ?2",
                rows::AUDIT_COLUMNS
            );
            let mut values: Vec<rusqlite::types::Value> = vec![
                tenant.0.as_bytes().to_vec().into(),
                filter.after_seq.unwrap_or(0).into(),
            ];
            if let Some(subject) = filter.subject {
                values.push(subject.0.as_bytes().to_vec().into());
                sql.push_str(&format!(" AND subject_id = ?{}", values.len()));
            }
            if let Some(actor) = &filter.actor {
                values.push(actor.clone().into());
                sql.push_str(&format!(" AND actor = ?{}", values.len()));
            }
            if let Some(action) = &filter.action {
                values.push(action.clone().into());
                sql.push_str(&format!(" AND action = ?{}", values.len()));
            }
            if let Some(from) = filter.from {
                values.push(micros(from).into());
                sql.push_str(&format!(" AND at >= ?{}", values.len()));
            }
            if let Some(until) = filter.until {
                values.push(micros(until).into());
                sql.push_str(&format!(" AND at < ?{}", values.len()));
            }
            let limit = if filter.limit == 0 {
                100
            } else {
                filter.limit.min(1000)
            };
            sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
            all(conn, &sql, rusqlite::params_from_iter(values), |row| {
                rows::audit_entry(row)
            })
        })
    }

    fn verify_audit(&self, tenant: TenantId) -> Result<Verification> {
        self.read(|conn| {
            // One snapshot: a prune committing between the two reads would look like a gap.
            let tx = conn.unchecked_transaction()?;
            let checkpoint = Self::checkpoint(&tx, tenant)?;
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {} FROM audit_log WHERE tenant_id = ?1 ORDER BY seq",
                rows::AUDIT_COLUMNS
            ))?;
            let mut found = statement.query(params![tenant.0.as_bytes()])?;
            // Streamed: one entry in memory at a time, whatever the log's length.
            let mut walk = crate::audit::Walk::new(checkpoint.as_ref());
            while let Some(row) = found.next()? {
                match rows::audit_entry(row) {
                    Ok(entry) => {
                        if let Err(broken) = walk.next(&entry) {
                            return Ok(broken);
                        }
                    }
                    Err(error) => {
                        let seq: i64 = row.get(0)?;
                        return Ok(Verification::Broken {
                            seq,
                            reason: format!("the entry cannot be read: {error}"),
                        });
                    }
                }
            }
            Ok(walk.end())
        })
    }

    fn audit_head(&self, tenant: TenantId) -> Result<(i64, [u8; 32])> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            Self::head(&tx, tenant)
        })
    }

    fn audit_checkpoint(&self, tenant: TenantId) -> Result<Option<crate::audit::Checkpoint>> {
        self.read(|conn| Self::checkpoint(conn, tenant))
    }

    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|conn| {
            let count: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM audit_log WHERE tenant_id = ?1 AND seq < COALESCE(
                        (SELECT seq FROM audit_log WHERE tenant_id = ?1 AND at >= ?2 ORDER BY seq LIMIT 1),
                        9223372036854775807)",
                )?
                .query_row(params![tenant.0.as_bytes(), micros(before)], |row| row.get(0))?;
            Ok(count.max(0) as u64)
        })
    }

    fn prune_audit(
        &self, tenant: TenantId, before: Timestamp, limit: usize, actor: &Actor, now: Timestamp,
    ) -> Result<crate::audit::Pruned> {
        self.write(|tx| {
            let t = tenant.0.as_bytes();
            let bounds: Option<(i64, i64)> = tx
                .prepare_cached("SELECT MIN(seq), MAX(seq) FROM audit_log WHERE tenant_id = ?1")?
                .query_row(params![t], |row| {
                    Ok(row.get::<_, Option<i64>>(0)?.zip(row.get::<_, Option<i64>>(1)?))
                })?;
            let Some((first, head)) = bounds else {
                return Ok(crate::audit::Pruned::default());
            };
            let first_kept: Option<i64> = tx
                .prepare_cached(
                    "SELECT seq FROM audit_log WHERE tenant_id = ?1 AND at >= ?2 ORDER BY seq LIMIT 1",
                )?
                .query_row(params![t, micros(before)], |row| row.get(0))
                .optional()?;
            let Some(through) = crate::audit::prune_through(first, head, first_kept, limit) else {
                return Ok(crate::audit::Pruned::default());
            };
            let (hash, at): (Vec<u8>, i64) = tx
                .prepare_cached("SELECT hash, at FROM audit_log WHERE tenant_id = ?1 AND seq = ?2")?
                .query_row(params![t, through], |row| Ok((row.get(0)?, row.get(1)?)))?;
            tx.prepare_cached(
                "INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, pruned_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
                     at = excluded.at, pruned_at = excluded.pruned_at",
            )?
            .execute(params![t, through, hash, at, micros(now)])?;
            let entries = tx
                .prepare_cached("DELETE FROM audit_log WHERE tenant_id = ?1 AND seq <= ?2")?
                .execute(params![t, through])? as u64;
            let pruned = crate::audit::Pruned { entries, through };
            Self::append(tx, tenant, now, NewAuditEntry::audit_pruned(actor, pruned, before))?;
            Ok(pruned)
        })
    }
}
