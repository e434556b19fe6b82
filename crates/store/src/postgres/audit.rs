//! AuditLog on PostgreSQL: the SQL behind [`crate::audit::AuditLog`].

use super::*;

impl crate::audit::AuditLog for PostgresStore {
    fn append_audit(
        &self, tenant: TenantId, entry: NewAuditEntry, at: Timestamp,
    ) -> Result<AuditEntry> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            Self::append_entry(tx, tenant, at, entry)
        })
    }

    fn append_audit_batch(&self, entries: Vec<crate::audit::PendingEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            // Tenants are locked in one order, so two replicas' batches cannot deadlock.
            let tenants: std::collections::BTreeSet<TenantId> =
                entries.iter().map(|(tenant, _, _)| *tenant).collect();
            for tenant in &tenants {
                Self::lock_tenant(tx, *tenant)?;
            }
            let mut heads: std::collections::HashMap<TenantId, (i64, [u8; 32])> =
                std::collections::HashMap::new();
            let mut rows = AuditColumns::default();
            for (tenant, entry, at) in entries {
                let (seq, hash) = match heads.get(&tenant) {
                    Some(head) => *head,
                    None => Self::head(tx, tenant)?,
                };
                let entry = crate::audit::next_entry(seq, hash, at, entry);
                heads.insert(tenant, (entry.seq, entry.hash));
                rows.push(tenant, entry);
            }
            rows.insert(tx)?;
            Ok(())
        })
    }

    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|client| {
            let after = filter.after_seq.unwrap_or(0);
            let mut sql = format!(
                "SELECT {} FROM audit_log WHERE tenant_id = $1 AND seq > $2",
                rows::AUDIT_COLUMNS
            );
            let subject = filter.subject.map(|s| s.0);
            let from = filter.from.map(micros);
            let until = filter.until.map(micros);
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant.0, &after];
            if let Some(subject) = &subject {
                params.push(subject);
                sql.push_str(&format!(" AND subject_id = ${}", params.len()));
            }
            if let Some(actor) = &filter.actor {
                params.push(actor);
                sql.push_str(&format!(" AND actor = ${}", params.len()));
            }
            if let Some(action) = &filter.action {
                params.push(action);
                sql.push_str(&format!(" AND action = ${}", params.len()));
            }
            if let Some(from) = &from {
                params.push(from);
                sql.push_str(&format!(" AND at >= ${}", params.len()));
            }
            if let Some(until) = &until {
                params.push(until);
                sql.push_str(&format!(" AND at < ${}", params.len()));
            }
            let limit = if filter.limit == 0 {
                100
            } else {
                filter.limit.min(1000)
            };
            sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
            client
                .query(&sql, &params)?
                .iter()
                .map(rows::audit_entry)
                .collect()
        })
    }

    fn verify_audit(&self, tenant: TenantId) -> Result<Verification> {
        self.read(|client| {
            // One snapshot: a prune committing between the two reads would look like a gap.
            let mut tx = client.snapshot()?;
            let checkpoint = Self::checkpoint(&mut tx, tenant)?;
            // Streamed row by row from the server: one entry in memory at a time.
            let verdict = {
                use postgres::fallible_iterator::FallibleIterator;
                let mut walk = crate::audit::Walk::new(checkpoint.as_ref());
                let mut rows_in = tx.query_raw(
                    &format!(
                        "SELECT {} FROM audit_log WHERE tenant_id = $1 ORDER BY seq",
                        rows::AUDIT_COLUMNS
                    ),
                    [&tenant.0],
                )?;
                let mut broken = None;
                while let Some(row) = rows_in.next()? {
                    let step = match rows::audit_entry(&row) {
                        Ok(entry) => walk.next(&entry),
                        Err(error) => Err(Verification::Broken {
                            seq: row.get(0),
                            reason: format!("the entry cannot be read: {error}"),
                        }),
                    };
                    if let Err(found) = step {
                        broken = Some(found);
                        break;
                    }
                }
                broken.unwrap_or_else(|| walk.end())
            };
            tx.commit()?;
            Ok(verdict)
        })
    }

    fn audit_head(&self, tenant: TenantId) -> Result<(i64, [u8; 32])> {
        self.read(|client| {
            Ok(
                match client.query_typed_opt(HEAD, &[(&tenant.0, Type::UUID)])? {
                    Some(row) => (row.get::<_, i64>(0), hash32(row.get(1))?),
                    None => (0, crate::audit::GENESIS),
                },
            )
        })
    }

    fn audit_checkpoint(&self, tenant: TenantId) -> Result<Option<crate::audit::Checkpoint>> {
        self.read(|client| Self::checkpoint(client, tenant))
    }

    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|client| {
            let count: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND seq < COALESCE(
                        (SELECT seq FROM audit_log WHERE tenant_id = $1 AND at >= $2 ORDER BY seq LIMIT 1),
                        9223372036854775807)",
                    &[&tenant.0, &micros(before)],
                )?
                .get(0);
            Ok(count.max(0) as u64)
        })
    }

    fn prune_audit(
        &self, tenant: TenantId, before: Timestamp, limit: usize, actor: &Actor, now: Timestamp,
    ) -> Result<crate::audit::Pruned> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let bounds = tx.query_one(
                "SELECT MIN(seq), MAX(seq) FROM audit_log WHERE tenant_id = $1",
                &[&tenant.0],
            )?;
            let (Some(first), Some(head)) = (bounds.get::<_, Option<i64>>(0), bounds.get::<_, Option<i64>>(1)) else {
                return Ok(crate::audit::Pruned::default());
            };
            let first_kept: Option<i64> = tx
                .query_opt(
                    "SELECT seq FROM audit_log WHERE tenant_id = $1 AND at >= $2 ORDER BY seq LIMIT 1",
                    &[&tenant.0, &micros(before)],
                )?
                .map(|row| row.get(0));
            let Some(through) = crate::audit::prune_through(first, head, first_kept, limit) else {
                return Ok(crate::audit::Pruned::default());
            };
            let row = tx.query_one(
                "SELECT hash, at FROM audit_log WHERE tenant_id = $1 AND seq = $2",
                &[&tenant.0, &through],
            )?;
            let (hash, at): (Vec<u8>, i64) = (row.get(0), row.get(1));
            tx.execute(
                "INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, pruned_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
                     at = excluded.at, pruned_at = excluded.pruned_at",
                &[&tenant.0, &through, &hash, &at, &micros(now)],
            )?;
            let entries = tx.execute(
                "DELETE FROM audit_log WHERE tenant_id = $1 AND seq <= $2",
                &[&tenant.0, &through],
            )?;
            let pruned = crate::audit::Pruned { entries, through };
            Self::append(tx, tenant, now, NewAuditEntry::audit_pruned(actor, pruned, before))?;
            Ok(pruned)
        })
    }
}
