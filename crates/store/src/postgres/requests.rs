//! Requests on PostgreSQL: the SQL behind [`crate::requests::Requests`].

use super::*;

impl crate::requests::Requests for PostgresStore {
    fn create_request(
        &self, tenant: TenantId, request: &DsRequest, mails: &[NewMail], actor: &Actor,
        at: Timestamp,
    ) -> Result<DsRequest> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            // Sealed once the tenant is known: no key is made for a request that is refused.
            let (wrapped, sealed) = seal_request(&self.keyring(), tenant, request)?;
            tx.execute(
                "INSERT INTO requests (tenant_id, request_id, status, subject_id, purpose, category, record_id, sealed,
                   verified_at, verified_by, first_due_at, due_at, extended_at, extension_reason, closed_at, refusal_reason, outcome,
                   code_hash, code_expires_at, code_attempts, locked, overdue_at, version, kind, channel, wrapped_key, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 1, $23, $24, $25, $26)",
                &refs(
                    &request_values(tenant, request, sealed)
                        .into_iter()
                        .chain(boxed![
                            request.kind.as_str(),
                            request.channel.clone(),
                            wrapped,
                            micros(request.received_at)
                        ])
                        .collect::<Vec<_>>(),
                ),
            )?;
            self.enqueue(tx, tenant, mails, NewAuditEntry::request_step(actor, request, "file"), at)
        })?;
        Ok(request.stored_as(1))
    }

    fn request(&self, tenant: TenantId, id: RequestId) -> Result<Option<DsRequest>> {
        self.read(|client| {
            client
                .query_opt(
                    &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = $1 AND request_id = $2"),
                    &[&tenant.0, &id.0],
                )?
                .map(|row| rows::request_row(&row, 0)?.decode(&self.keyring(), tenant))
                .transpose()
        })
    }

    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> Result<Vec<DsRequest>> {
        self.read(|client| {
            let status = filter.status.map(|s| s.as_str().to_owned());
            let after = filter.after.map(|a| a.0).unwrap_or(Uuid::nil());
            let limit = filter.page_size() as i64;
            let rows = client.query(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = $1 AND request_id > $2
                       AND ($3::text IS NULL OR status = $3)
                       AND (NOT $4 OR closed_at IS NULL)
                       AND (NOT $5 OR overdue_at IS NOT NULL)
                     ORDER BY request_id LIMIT $6"
                ),
                &[
                    &tenant.0,
                    &after,
                    &status,
                    &(filter.open || filter.overdue),
                    &filter.overdue,
                    &limit,
                ],
            )?;
            rows.iter()
                .map(|row| rows::request_row(row, 0)?.decode(&self.keyring(), tenant))
                .collect()
        })
    }

    fn request_queue(&self, queue: &RequestQueue) -> Result<Vec<DsRequest>> {
        if queue.tenants.as_ref().is_some_and(Vec::is_empty) {
            return Ok(vec![]);
        }
        // One text per order, every filter a parameter that may be NULL: the statement is
        // prepared once per connection whatever the filters.
        let (cursor, order) = match queue.order {
            QueueOrder::Due => (
                "($9::uuid IS NULL OR (CASE WHEN $10::bigint IS NULL THEN due_at IS NULL AND request_id > $9
                    ELSE due_at IS NULL OR due_at > $10 OR (due_at = $10 AND request_id > $9) END))",
                "due_at IS NULL, due_at, request_id",
            ),
            QueueOrder::Newest => (
                "($9::uuid IS NULL OR request_id < $9) AND ($10::bigint IS NULL OR true)",
                "request_id DESC",
            ),
        };
        let sql = format!(
            "SELECT tenant_id, {REQUEST_COLUMNS} FROM requests
              WHERE ($1::uuid[] IS NULL OR tenant_id = ANY($1))
                AND ($2::text IS NULL OR status = $2)
                AND (NOT $3 OR closed_at IS NULL)
                AND ($4::text IS NULL OR kind = $4)
                AND (NOT $5 OR assignee IS NULL)
                AND ($6::text IS NULL OR assignee = $6)
                AND ($7::bigint IS NULL OR due_at < $7)
                AND ($11::uuid IS NULL OR subject_id = $11)
                AND {cursor}
              ORDER BY {order} LIMIT $8"
        );
        let tenants: Option<Vec<Uuid>> = queue
            .tenants
            .as_ref()
            .map(|t| t.iter().map(|t| t.0).collect());
        let status = queue.status.map(|s| s.as_str().to_owned());
        let kind = queue.kind.map(|k| k.as_str().to_owned());
        let nobody = queue.assigned == Some(Assigned::Nobody);
        let to = match &queue.assigned {
            Some(Assigned::To(who)) => Some(who.clone()),
            _ => None,
        };
        let before = queue.due_before.map(micros);
        let limit = queue.page_size() as i64;
        let after = queue.after.map(|c| c.id.0);
        let after_due = queue.after.and_then(|c| c.due).map(micros);
        let subject = queue.subject.map(|s| s.0);
        self.read(|client| {
            client
                .query(
                    &sql,
                    &[
                        &tenants,
                        &status,
                        &queue.open,
                        &kind,
                        &nobody,
                        &to,
                        &before,
                        &limit,
                        &after,
                        &after_due,
                        &subject,
                    ],
                )?
                .iter()
                .map(|row| {
                    let tenant = TenantId(row.get(0));
                    rows::request_row(row, 1)?.decode(&self.keyring(), tenant)
                })
                .collect()
        })
    }

    fn update_request(
        &self, tenant: TenantId, request: &DsRequest, entry: NewAuditEntry, mails: &[NewMail],
        at: Timestamp,
    ) -> Result<DsRequest> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            self.write_request(tx, tenant, request, entry, mails, at)
        })?;
        Ok(request.stored_as(request.version + 1))
    }

    fn mark_overdue(&self, at: Timestamp) -> Result<Vec<(TenantId, RequestId)>> {
        let due: Vec<(TenantId, RequestId)> = self.read(|client| {
            Ok(client
                .query(
                    "SELECT tenant_id, request_id FROM requests WHERE closed_at IS NULL AND due_at <= $1 AND overdue_at IS NULL",
                    &[&micros(at)],
                )?
                .iter()
                .map(|row| (TenantId(row.get(0)), RequestId(row.get(1))))
                .collect())
        })?;
        let mut marked = Vec::with_capacity(due.len());
        // One transaction per tenant's request, each under its tenant's lock like every write;
        // a replica that marked it first makes the update here a no-op.
        for (tenant, id) in due {
            let done = self.write(|tx| {
                Self::lock_tenant(tx, tenant)?;
                let Some(row) = tx.query_opt(
                    &format!("UPDATE requests SET overdue_at = $3, version = version + 1 WHERE tenant_id = $1 AND request_id = $2 AND overdue_at IS NULL AND closed_at IS NULL RETURNING {REQUEST_COLUMNS}"),
                    &[&tenant.0, &id.0, &micros(at)],
                )? else {
                    return Ok(false);
                };
                let request = rows::request_row(&row, 0)?.decode(&self.keyring(), tenant)?;
                Self::append(tx, tenant, at, NewAuditEntry::request_step(&Actor::System, &request, "overdue"))?;
                Ok(true)
            })?;
            if done {
                marked.push((tenant, id));
            }
        }
        Ok(marked)
    }

    fn request_counts(&self) -> Result<Vec<RequestCount>> {
        self.read(|client| {
            client
                .query(
                    "SELECT status, overdue_at IS NOT NULL AND closed_at IS NULL, COUNT(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2",
                    &[],
                )?
                .iter()
                .map(|row| {
                    let status: String = row.get(0);
                    Ok(RequestCount {
                        status: RequestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
                        overdue: row.get(1),
                        count: u64::try_from(row.get::<_, i64>(2)).unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    fn erase_subject(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord],
        request: Option<RequestId>, actor: &Actor, at: Timestamp,
    ) -> Result<Erasure> {
        self.erase(tenant, subject, keep, request, None, actor, at)
            .map(|(erasure, _)| erasure)
    }

    fn erase_for_request(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord], request: RequestId,
        close: &dyn Fn(&Erasure) -> RequestStep, actor: &Actor, at: Timestamp,
    ) -> Result<(Erasure, DsRequest)> {
        let (erasure, closed) =
            self.erase(tenant, subject, keep, Some(request), Some(close), actor, at)?;
        Ok((erasure, closed.ok_or(StoreError::NotFound("request"))?))
    }

    fn tombstones(&self, tenant: TenantId) -> Result<Vec<Tombstone>> {
        self.read(|client| {
            client
                .query(
                    "SELECT subject_id, request_id, erased_at, partial FROM tombstones WHERE tenant_id = $1 ORDER BY erased_at, subject_id",
                    &[&tenant.0],
                )?
                .iter()
                .map(rows::tombstone)
                .collect()
        })
    }

    fn rectify_record(
        &self, tenant: TenantId, subject: SubjectId, record: RecordId, value: &Secret,
        actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let key = self.data_key(tx, tenant, subject)?;
            let category: String = tx
                .query_opt(
                    "SELECT category FROM records WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                    &[&tenant.0, &subject.0, &record.0],
                )?
                .ok_or(StoreError::NotFound("record"))?
                .get(0);
            let sealed = key.seal(value.expose().as_bytes(), &record_aad(record.0, &category))?;
            tx.execute(
                "UPDATE records SET sealed_value = $4 WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                &[&tenant.0, &subject.0, &record.0, &sealed],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::record_rectified(actor, subject, record, &category))
        })
    }

    fn put_export(
        &self, tenant: TenantId, request: RequestId, token_hash: &[u8; 32], file_name: &str,
        sealed: &[u8], expires_at: Timestamp, actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO exports (tenant_id, token_hash, request_id, file_name, sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&tenant.0, &token_hash.as_slice(), &request.0, &file_name, &sealed, &micros(at), &micros(expires_at)],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(actor, request, "create"))
        })
    }

    fn take_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Option<Export>> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let Some(row) = tx.query_opt(
                "DELETE FROM exports WHERE tenant_id = $1 AND token_hash = $2 RETURNING request_id, file_name, sealed, expires_at",
                &[&tenant.0, &token_hash.as_slice()],
            )? else {
                return Ok(None);
            };
            let request = RequestId(row.get(0));
            let expired = timestamp(row.get(3))? <= at;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(&Actor::System, request, if expired { "expire" } else { "download" }))?;
            Ok((!expired).then(|| Export { request, file_name: row.get(1), sealed: row.get(2) }))
        })
    }

    fn pending_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Option<(String, Timestamp)>> {
        self.read(|client| {
            client
                .query_opt(
                    "SELECT file_name, expires_at FROM exports WHERE tenant_id = $1 AND token_hash = $2 AND expires_at > $3",
                    &[&tenant.0, &token_hash.as_slice(), &micros(at)],
                )?
                .map(|row| Ok((row.get(0), timestamp(row.get(1))?)))
                .transpose()
        })
    }

    fn remove_expired_exports(&self, at: Timestamp) -> Result<u64> {
        let expired: Vec<(TenantId, Vec<u8>)> = self.read(|client| {
            Ok(client
                .query(
                    "SELECT tenant_id, token_hash FROM exports WHERE expires_at <= $1",
                    &[&micros(at)],
                )?
                .iter()
                .map(|row| (TenantId(row.get(0)), row.get(1)))
                .collect())
        })?;
        let mut removed = 0;
        for (tenant, token_hash) in expired {
            let hash = hash32(token_hash)?;
            // take_export deletes and audits an expired export without handing it out.
            if self.take_export(tenant, &hash, at)?.is_none() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl PostgresStore {
    /// Stores a changed request inside `tx` (the tenant locked), if it is still at the version
    /// it was read at.
    fn write_request(
        &self, tx: &mut Tx, tenant: TenantId, request: &DsRequest, entry: NewAuditEntry,
        mails: &[NewMail], at: Timestamp,
    ) -> Result<()> {
        let wrapped: Vec<u8> = tx
            .query_opt(
                "SELECT wrapped_key FROM requests WHERE tenant_id = $1 AND request_id = $2",
                &[&tenant.0, &request.id.0],
            )?
            .ok_or(StoreError::NotFound("request"))?
            .get(0);
        let sealed = reseal_with(&self.keyring(), tenant, request, &wrapped)?;
        let changed = tx.execute(
            "UPDATE requests SET status = $3, subject_id = $4, purpose = $5, category = $6, record_id = $7, sealed = $8,
               verified_at = $9, verified_by = $10, first_due_at = $11, due_at = $12, extended_at = $13, extension_reason = $14,
               closed_at = $15, refusal_reason = $16, outcome = $17, code_hash = $18, code_expires_at = $19, code_attempts = $20,
               locked = $21, overdue_at = $22, version = version + 1, assignee = $24
             WHERE tenant_id = $1 AND request_id = $2 AND version = $23",
            &refs(
                &request_values(tenant, request, sealed)
                    .into_iter()
                    .chain(boxed![request.version, request.assignee.clone()])
                    .collect::<Vec<_>>(),
            ),
        )?;
        StoreError::conflict_unless(changed > 0, "request")?;
        self.enqueue(tx, tenant, mails, entry, at)
    }

    #[allow(clippy::too_many_arguments)]
    fn erase(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord],
        request: Option<RequestId>, close: Option<&dyn Fn(&Erasure) -> RequestStep>, actor: &Actor,
        at: Timestamp,
    ) -> Result<(Erasure, Option<DsRequest>)> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let old_key = self.data_key(tx, tenant, subject)?;
            let identities = tx.execute("DELETE FROM identities WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
            // The notices' mails to the person go (sent or not): the ledger keeps the line, not
            // the address.
            tx.execute(
                "DELETE FROM outbox WHERE tenant_id = $1 AND mail_id IN (SELECT d.mail_id FROM notices n JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = $2 WHERE n.tenant_id = $1 AND d.mail_id IS NOT NULL)",
                &[&tenant.0, &subject.0],
            )?;
            let kept_ids: Vec<Uuid> = keep.iter().map(|k| k.record.0).collect();
            let mut kept = 0u64;
            if !keep.is_empty() {
                // The kept records move to a new key, so the old key (and every copy of the
                // data sealed with it) is worthless once it is gone.
                let new_key = self.keyring().new_data_key()?;
                let wrapped = self.keyring().wrap(&new_key, tenant.0, subject.0)?;
                let rows = tx.query(
                    "SELECT record_id, category, sealed_value FROM records WHERE tenant_id = $1 AND subject_id = $2 AND record_id = ANY($3)",
                    &[&tenant.0, &subject.0, &kept_ids],
                )?;
                for row in rows {
                    let id: Uuid = row.get(0);
                    let category: String = row.get(1);
                    let sealed: Vec<u8> = row.get(2);
                    let aad = record_aad(id, &category);
                    let value = old_key.open(&sealed, &aad)?;
                    let resealed = new_key.seal(&value, &aad)?;
                    let purposes = keep.iter().find(|k| k.record.0 == id).map(|k| k.purposes.join(",")).unwrap_or_default();
                    tx.execute(
                        "UPDATE records SET sealed_value = $4, purposes = $5 WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                        &[&tenant.0, &subject.0, &id, &resealed, &purposes],
                    )?;
                    kept += 1;
                }
                tx.execute(
                    "UPDATE subject_keys SET wrapped_key = $3, created_at = $4 WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &subject.0, &wrapped, &micros(at)],
                )?;
                tx.execute(
                    "UPDATE subjects SET key_generation = key_generation + 1 WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &subject.0],
                )?;
            }
            let deleted = tx.execute(
                "DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2 AND NOT (record_id = ANY($3))",
                &[&tenant.0, &subject.0, &kept_ids],
            )?;
            let subject_deleted = kept == 0;
            if subject_deleted {
                tx.execute("DELETE FROM events WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
                tx.execute("DELETE FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
            }
            tx.execute(
                "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = excluded.request_id, erased_at = excluded.erased_at, partial = excluded.partial",
                &[&tenant.0, &subject.0, &request.map(|r| r.0), &micros(at), &!subject_deleted],
            )?;
            let erasure = Erasure { records_deleted: deleted, records_kept: kept, identities_deleted: identities, subject_deleted };
            Self::append(tx, tenant, at, NewAuditEntry::subject_erased(actor, subject, request, &erasure))?;
            let closed = match close {
                Some(close) => {
                    let step = close(&erasure);
                    self.write_request(tx, tenant, &step.request, step.entry, &step.mails, at)?;
                    Some(step.request.stored_as(step.request.version + 1))
                }
                None => None,
            };
            Ok((erasure, closed))
        })
    }
}
