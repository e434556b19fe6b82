//! Requests on SQLite: the SQL behind [`crate::requests::Requests`].

use super::*;

impl crate::requests::Requests for SqliteStore {
    fn create_request(
        &self, tenant: TenantId, request: &DsRequest, mails: &[NewMail], actor: &Actor,
        at: Timestamp,
    ) -> Result<DsRequest> {
        self.write(|tx| {
            let known: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = ?1)")?.query_row(params![tenant.0.as_bytes()], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound("tenant"));
            }
            // Sealed once the tenant is known: no key is made for a request that is refused.
            let (wrapped, sealed) = seal_request(&self.keyring(), tenant, request)?;
            tx.prepare_cached(
                "INSERT INTO requests (tenant_id, request_id, status, subject_id, purpose, category, record_id, sealed,
                   verified_at, verified_by, first_due_at, due_at, extended_at, extension_reason, closed_at, refusal_reason, outcome,
                   code_hash, code_expires_at, code_attempts, locked, overdue_at, version, kind, channel, wrapped_key, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, 1, ?23, ?24, ?25, ?26)",
            )?
            .execute(rusqlite::params_from_iter(
                request_values(tenant, request, sealed).into_iter().chain([
                    request.kind.as_str().to_owned().into(),
                    request.channel.clone().into(),
                    wrapped.into(),
                    micros(request.received_at).into(),
                ]),
            ))?;
            self.enqueue(tx, tenant, mails, NewAuditEntry::request_step(actor, request, "file"), at)
        })?;
        Ok(request.stored_as(1))
    }

    fn request(&self, tenant: TenantId, id: RequestId) -> Result<Option<DsRequest>> {
        self.read(|conn| {
            first(
                conn,
                &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = ?1 AND request_id = ?2"),
                params![tenant.0.as_bytes(), id.0.as_bytes()],
                |row| rows::request_row(row, 0)?.decode(&self.keyring(), tenant),
            )
        })
    }

    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> Result<Vec<DsRequest>> {
        self.read(|conn| {
            let mut sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = ?1 AND request_id > ?2"
            );
            let mut values: Vec<rusqlite::types::Value> = vec![
                tenant.0.as_bytes().to_vec().into(),
                filter
                    .after
                    .map_or(vec![], |a| a.0.as_bytes().to_vec())
                    .into(),
            ];
            if let Some(status) = filter.status {
                values.push(status.as_str().to_owned().into());
                sql.push_str(&format!(" AND status = ?{}", values.len()));
            }
            if filter.open || filter.overdue {
                sql.push_str(" AND closed_at IS NULL");
            }
            if filter.overdue {
                sql.push_str(" AND overdue_at IS NOT NULL");
            }
            sql.push_str(&format!(
                " ORDER BY request_id LIMIT {}",
                filter.page_size()
            ));
            all(conn, &sql, rusqlite::params_from_iter(values), |row| {
                rows::request_row(row, 0)?.decode(&self.keyring(), tenant)
            })
        })
    }

    fn request_queue(&self, queue: &RequestQueue) -> Result<Vec<DsRequest>> {
        if queue.tenants.as_ref().is_some_and(Vec::is_empty) {
            return Ok(vec![]);
        }
        self.read(|conn| {
            let mut sql = format!("SELECT tenant_id, {REQUEST_COLUMNS} FROM requests WHERE true");
            let mut values: Vec<rusqlite::types::Value> = vec![];
            let mut bind = |value: rusqlite::types::Value| {
                values.push(value);
                format!("?{}", values.len())
            };
            if let Some(tenants) = &queue.tenants {
                let marks: Vec<String> = tenants
                    .iter()
                    .map(|t| bind(t.0.as_bytes().to_vec().into()))
                    .collect();
                sql.push_str(&format!(" AND tenant_id IN ({})", marks.join(", ")));
            }
            if let Some(status) = queue.status {
                sql.push_str(&format!(" AND status = {}", bind(status.as_str().to_owned().into())));
            }
            if queue.open {
                sql.push_str(" AND closed_at IS NULL");
            }
            if let Some(kind) = queue.kind {
                sql.push_str(&format!(" AND kind = {}", bind(kind.as_str().to_owned().into())));
            }
            if let Some(subject) = queue.subject {
                let mark = bind(subject.0.as_bytes().to_vec().into());
                sql.push_str(&format!(" AND subject_id = {mark}"));
            }
            match &queue.assigned {
                None => {}
                Some(Assigned::Nobody) => sql.push_str(" AND assignee IS NULL"),
                Some(Assigned::To(who)) => {
                    sql.push_str(&format!(" AND assignee = {}", bind(who.clone().into())));
                }
            }
            if let Some(before) = queue.due_before {
                sql.push_str(&format!(" AND due_at < {}", bind(micros(before).into())));
            }
            match (queue.order, queue.after) {
                (_, None) => {}
                (QueueOrder::Due, Some(QueueCursor { due: Some(due), id })) => {
                    let (due, id) = (bind(micros(due).into()), bind(id.0.as_bytes().to_vec().into()));
                    sql.push_str(&format!(
                        " AND (due_at IS NULL OR due_at > {due} OR (due_at = {due} AND request_id > {id}))"
                    ));
                }
                (QueueOrder::Due, Some(QueueCursor { due: None, id })) => {
                    let id = bind(id.0.as_bytes().to_vec().into());
                    sql.push_str(&format!(" AND due_at IS NULL AND request_id > {id}"));
                }
                (QueueOrder::Newest, Some(QueueCursor { id, .. })) => {
                    let id = bind(id.0.as_bytes().to_vec().into());
                    sql.push_str(&format!(" AND request_id < {id}"));
                }
            }
            sql.push_str(match queue.order {
                QueueOrder::Due => " ORDER BY due_at IS NULL, due_at, request_id",
                QueueOrder::Newest => " ORDER BY request_id DESC",
            });
            sql.push_str(&format!(" LIMIT {}", queue.page_size()));
            all(conn, &sql, rusqlite::params_from_iter(values), |row| {
                let tenant = TenantId(row.id(0)?);
                rows::request_row(row, 1)?.decode(&self.keyring(), tenant)
            })
        })
    }

    fn update_request(
        &self, tenant: TenantId, request: &DsRequest, entry: NewAuditEntry, mails: &[NewMail],
        at: Timestamp,
    ) -> Result<DsRequest> {
        self.write(|tx| self.write_request(tx, tenant, request, entry, mails, at))?;
        Ok(request.stored_as(request.version + 1))
    }

    fn mark_overdue(&self, at: Timestamp) -> Result<Vec<(TenantId, RequestId)>> {
        self.write(|tx| {
            let due = all(
                tx,
                &format!("SELECT tenant_id, {REQUEST_COLUMNS} FROM requests WHERE closed_at IS NULL AND due_at <= ?1 AND overdue_at IS NULL"),
                params![micros(at)],
                |row| {
                    let tenant = TenantId(row.id(0)?);
                    Ok((tenant, rows::request_row(row, 1)?.decode(&self.keyring(), tenant)?))
                },
            )?;
            let mut marked = Vec::with_capacity(due.len());
            for (tenant, mut request) in due {
                tx.prepare_cached("UPDATE requests SET overdue_at = ?3, version = version + 1 WHERE tenant_id = ?1 AND request_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), request.id.0.as_bytes(), micros(at)])?;
                request.overdue_at = Some(at);
                Self::append(tx, tenant, at, NewAuditEntry::request_step(&Actor::System, &request, "overdue"))?;
                marked.push((tenant, request.id));
            }
            Ok(marked)
        })
    }

    fn request_counts(&self) -> Result<Vec<RequestCount>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT status, overdue_at IS NOT NULL AND closed_at IS NULL, COUNT(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2",
            )?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?, row.get::<_, i64>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(status, overdue, count)| {
                    Ok(RequestCount {
                        status: RequestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
                        overdue,
                        count: u64::try_from(count).unwrap_or(0),
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
        self.read(|conn| {
            all(
                conn,
                "SELECT subject_id, request_id, erased_at, partial FROM tombstones WHERE tenant_id = ?1 ORDER BY erased_at, subject_id",
                params![tenant.0.as_bytes()],
                |row| rows::tombstone(row),
            )
        })
    }

    fn rectify_record(
        &self, tenant: TenantId, subject: SubjectId, record: RecordId, value: &Secret,
        actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            let key = self.data_key(tx, tenant, subject)?;
            let category: String = tx
                .prepare_cached("SELECT category FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes(), record.0.as_bytes()], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound("record"))?;
            let sealed = key.seal(value.expose().as_bytes(), &record_aad(record.0, &category))?;
            tx.prepare_cached("UPDATE records SET sealed_value = ?4 WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), record.0.as_bytes(), sealed])?;
            Self::append(tx, tenant, at, NewAuditEntry::record_rectified(actor, subject, record, &category))
        })?;
        self.scrub_soon()
    }

    fn put_export(
        &self, tenant: TenantId, request: RequestId, token_hash: &[u8; 32], file_name: &str,
        sealed: &[u8], expires_at: Timestamp, actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO exports (tenant_id, token_hash, request_id, file_name, sealed, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
                .execute(params![tenant.0.as_bytes(), token_hash.to_vec(), request.0.as_bytes(), file_name, sealed, micros(at), micros(expires_at)])?;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(actor, request, "create"))
        })
    }

    fn take_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Option<Export>> {
        self.write(|tx| {
            let row: Option<(Vec<u8>, String, Vec<u8>, i64)> = tx
                .prepare_cached("DELETE FROM exports WHERE tenant_id = ?1 AND token_hash = ?2 RETURNING request_id, file_name, sealed, expires_at")?
                .query_row(params![tenant.0.as_bytes(), token_hash.to_vec()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                .optional()?;
            let Some((request, file_name, sealed, expires_at)) = row else { return Ok(None) };
            let request = RequestId(uuid(request)?);
            let expired = timestamp(expires_at)? <= at;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(&Actor::System, request, if expired { "expire" } else { "download" }))?;
            Ok((!expired).then_some(Export { request, file_name, sealed }))
        })
    }

    fn pending_export(
        &self, tenant: TenantId, token_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Option<(String, Timestamp)>> {
        self.read(|conn| {
            let row: Option<(String, i64)> = conn
                .prepare_cached("SELECT file_name, expires_at FROM exports WHERE tenant_id = ?1 AND token_hash = ?2 AND expires_at > ?3")?
                .query_row(params![tenant.0.as_bytes(), token_hash.to_vec(), micros(at)], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            row.map(|(name, expires)| Ok((name, timestamp(expires)?))).transpose()
        })
    }

    fn remove_expired_exports(&self, at: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(
                    "DELETE FROM exports WHERE expires_at <= ?1 RETURNING tenant_id, request_id",
                )?
                .query_map(params![micros(at)], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (tenant, request) in &rows {
                Self::append(
                    tx,
                    TenantId(uuid(tenant.clone())?),
                    at,
                    NewAuditEntry::export_step(
                        &Actor::System,
                        RequestId(uuid(request.clone())?),
                        "expire",
                    ),
                )?;
            }
            Ok(rows.len() as u64)
        })
    }
}

impl SqliteStore {
    /// Stores a changed request inside `tx`, if it is still at the version it was read at.
    fn write_request(
        &self, tx: &Transaction, tenant: TenantId, request: &DsRequest, entry: NewAuditEntry,
        mails: &[NewMail], at: Timestamp,
    ) -> Result<()> {
        let wrapped: Vec<u8> = tx
            .prepare_cached(
                "SELECT wrapped_key FROM requests WHERE tenant_id = ?1 AND request_id = ?2",
            )?
            .query_row(
                params![tenant.0.as_bytes(), request.id.0.as_bytes()],
                |row| row.get(0),
            )
            .optional()?
            .ok_or(StoreError::NotFound("request"))?;
        let sealed = reseal_with(&self.keyring(), tenant, request, &wrapped)?;
        let changed = tx
            .prepare_cached(
                "UPDATE requests SET status = ?3, subject_id = ?4, purpose = ?5, category = ?6, record_id = ?7, sealed = ?8,
                   verified_at = ?9, verified_by = ?10, first_due_at = ?11, due_at = ?12, extended_at = ?13, extension_reason = ?14,
                   closed_at = ?15, refusal_reason = ?16, outcome = ?17, code_hash = ?18, code_expires_at = ?19, code_attempts = ?20,
                   locked = ?21, overdue_at = ?22, version = version + 1, assignee = ?24
                 WHERE tenant_id = ?1 AND request_id = ?2 AND version = ?23",
            )?
            .execute(rusqlite::params_from_iter(
                request_values(tenant, request, sealed)
                    .into_iter()
                    .chain([request.version.into(), request.assignee.clone().into()]),
            ))?;
        StoreError::conflict_unless(changed > 0, "request")?;
        self.enqueue(tx, tenant, mails, entry, at)
    }

    #[allow(clippy::too_many_arguments)]
    fn erase(
        &self, tenant: TenantId, subject: SubjectId, keep: &[KeptRecord],
        request: Option<RequestId>, close: Option<&dyn Fn(&Erasure) -> RequestStep>, actor: &Actor,
        at: Timestamp,
    ) -> Result<(Erasure, Option<DsRequest>)> {
        // The kept records move to a new key, so the old key (and every copy of the data sealed
        // with it) is worthless once it is gone. The new key commits first; the old one goes
        // after the rows, so no crash leaves a row without its key.
        let rekey = if keep.is_empty() {
            None
        } else {
            let generation: i64 = self.read(|conn| {
                conn.prepare_cached(
                    "SELECT key_generation FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes()], |row| {
                    row.get(0)
                })
                .optional()?
                .ok_or(StoreError::NotFound("subject"))
            })?;
            let key = self.keyring().new_data_key()?;
            self.put_key(tenant, subject, generation + 1, &key, at)?;
            Some((generation + 1, key))
        };
        let erasure = self.write(|tx| {
            let old_key = self.data_key(tx, tenant, subject)?;
            let (t, s) = (tenant.0.as_bytes(), subject.0.as_bytes());
            let identities = tx.prepare_cached("DELETE FROM identities WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
            // The notices' mails to the person go (sent or not): the ledger keeps the line, not
            // the address.
            tx.prepare_cached("DELETE FROM outbox WHERE tenant_id = ?1 AND mail_id IN (SELECT d.mail_id FROM notices n CROSS JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = ?2 WHERE n.tenant_id = ?1 AND d.mail_id IS NOT NULL)")?
                .execute(params![t, s])?;
            let mut kept = 0u64;
            if let Some((generation, new_key)) = &rekey {
                for item in keep {
                    let row: Option<(String, Vec<u8>)> = tx
                        .prepare_cached("SELECT category, sealed_value FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                        .query_row(params![t, s, item.record.0.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()?;
                    let Some((category, sealed)) = row else { continue };
                    let aad = record_aad(item.record.0, &category);
                    let value = old_key.open(&sealed, &aad)?;
                    let resealed = new_key.seal(&value, &aad)?;
                    tx.prepare_cached("UPDATE records SET sealed_value = ?4, purposes = ?5 WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                        .execute(params![t, s, item.record.0.as_bytes(), resealed, item.purposes.join(",")])?;
                    kept += 1;
                }
                tx.prepare_cached("UPDATE subjects SET key_generation = ?3 WHERE tenant_id = ?1 AND subject_id = ?2")?
                    .execute(params![t, s, generation])?;
            }
            let kept_ids: Vec<Vec<u8>> = keep.iter().map(|k| k.record.0.as_bytes().to_vec()).collect();
            let mut deleted = 0u64;
            {
                let mut select = tx.prepare_cached("SELECT record_id FROM records WHERE tenant_id = ?1 AND subject_id = ?2")?;
                let ids = select.query_map(params![t, s], |row| row.get::<_, Vec<u8>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                let mut delete = tx.prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?;
                for id in ids.into_iter().filter(|id| !kept_ids.contains(id)) {
                    deleted += delete.execute(params![t, s, id])? as u64;
                }
            }
            let subject_deleted = kept == 0;
            if subject_deleted {
                tx.prepare_cached("DELETE FROM events WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                tx.prepare_cached("DELETE FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
            }
            tx.prepare_cached(
                "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = excluded.request_id, erased_at = excluded.erased_at, partial = excluded.partial",
            )?
            .execute(params![t, s, request.map(|r| r.0.as_bytes().to_vec()), micros(at), !subject_deleted])?;
            let erasure = Erasure { records_deleted: deleted, records_kept: kept, identities_deleted: identities as u64, subject_deleted };
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
        });
        self.drop_stale_keys(tenant, subject)?;
        let erased = erasure?;
        self.scrub_soon()?;
        Ok(erased)
    }
}
