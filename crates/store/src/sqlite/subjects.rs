//! Subjects on SQLite: the SQL behind [`crate::subjects::Subjects`].

use super::*;

impl crate::subjects::Subjects for SqliteStore {
    fn create_subject(
        &self, tenant: TenantId, identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<SubjectId> {
        let subject = SubjectId::new();
        let key = self.keyring().new_data_key()?;
        self.put_key(tenant, subject, 1, &key, at)?;
        let created = self.write(|tx| {
            tx.prepare_cached("INSERT INTO subjects (tenant_id, subject_id, key_generation, created_at) VALUES (?1, ?2, 1, ?3)")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), micros(at)])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::NotFound("tenant"),
                    other => other.into(),
                })?;
            for identity in identities {
                self.insert_identity(tx, tenant, subject, &key, identity)?;
            }
            Self::append(tx, tenant, at, NewAuditEntry::subject_created(actor, subject, identities))
        });
        if let Err(error) = created {
            // Best effort: a key left here is an orphan the next open removes.
            let _ = self.drop_stale_keys(tenant, subject);
            return Err(error);
        }
        Ok(subject)
    }

    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT subject_id FROM identities WHERE tenant_id = ?1 AND blind_index = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), index.to_vec()], |row| {
                row.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .map(|bytes| uuid(bytes).map(SubjectId))
            .transpose()
        })
    }

    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.read(|conn| {
            let created: Option<i64> = conn
                .prepare_cached(
                    "SELECT created_at FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(created) = created else {
                return Ok(None);
            };
            let key = self.data_key(conn, tenant, id)?;
            let identities = all(
                conn,
                &format!(
                    "SELECT {} FROM identities WHERE tenant_id = ?1 AND subject_id = ?2",
                    rows::IDENTITY_COLUMNS
                ),
                params![tenant.0.as_bytes(), id.0.as_bytes()],
                |row| rows::identity(&key, row),
            )?;
            Ok(Some(rows::subject(id, timestamp(created)?, identities)))
        })
    }

    fn put_records(
        &self, tenant: TenantId, records: &[NewRecord], actor: &Actor, at: Timestamp,
    ) -> Result<Vec<RecordId>> {
        self.put_records_and_events(tenant, records, &[], actor, at)
    }

    fn put_records_and_events(
        &self, tenant: TenantId, records: &[NewRecord], events: &[(SubjectId, NewEvent)],
        actor: &Actor, at: Timestamp,
    ) -> Result<Vec<RecordId>> {
        self.write(|tx| {
            let ids = if records.is_empty() {
                vec![]
            } else {
                self.write_records(tx, tenant, records, actor, at)?
            };
            for (subject, event) in events {
                self.write_event(tx, tenant, *subject, event, actor, at)?;
            }
            Ok(ids)
        })
    }

    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)")?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| row.get(0))?)
        })
    }

    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.read(|conn| {
            let key = self.data_key(conn, tenant, subject)?;
            all(
                conn,
                &format!("SELECT {} FROM records WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY record_id", rows::RECORD_COLUMNS),
                params![tenant.0.as_bytes(), subject.0.as_bytes()],
                |row| rows::record(&key, subject, row),
            )
        })
    }

    fn add_event(
        &self, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent> {
        self.write(|tx| self.write_event(tx, tenant, subject, event, actor, at))
    }

    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            all(
                conn,
                &format!(
                    "SELECT {} FROM events WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY occurred_at, recorded_at, event_id",
                    rows::EVENT_COLUMNS
                ),
                params![tenant.0.as_bytes(), subject.0.as_bytes()],
                |row| rows::stored_event(subject, row, 0),
            )
        })
    }

    fn facts_by_identity(
        &self, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>> {
        // In-process, two queries cost no round trip.
        match self.find_subject(tenant, identity)? {
            Some(subject) => Ok(Some((subject, self.events(tenant, subject)?))),
            None => Ok(None),
        }
    }
}

impl SqliteStore {
    fn write_records(
        &self, tx: &Transaction, tenant: TenantId, records: &[NewRecord], actor: &Actor,
        at: Timestamp,
    ) -> Result<Vec<RecordId>> {
        let mut ids = Vec::with_capacity(records.len());
        // Records arrive grouped by subject in imports; one key unwrap and one audit entry
        // per run of the same subject.
        let mut start = 0;
        while start < records.len() {
            let subject = records[start].subject;
            let end = records[start..]
                .iter()
                .position(|r| r.subject != subject)
                .map_or(records.len(), |n| start + n);
            let key = self.data_key(tx, tenant, subject)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO records (tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?;
            let mut categories = BTreeSet::new();
            for record in &records[start..end] {
                let id = record.id.unwrap_or_default();
                let sealed = key.seal(
                    record.value.expose().as_bytes(),
                    &record_aad(id.0, &record.category),
                )?;
                insert.execute(params![
                    tenant.0.as_bytes(),
                    subject.0.as_bytes(),
                    id.0.as_bytes(),
                    record.category,
                    record.purposes.join(","),
                    record.source,
                    micros(record.collected_at),
                    sealed,
                ])?;
                categories.insert(record.category.clone());
                ids.push(id);
            }
            Self::append(
                tx,
                tenant,
                at,
                NewAuditEntry::records_written(actor, subject, categories, end - start),
            )?;
            start = end;
        }
        Ok(ids)
    }

    fn write_event(
        &self, tx: &Transaction, tenant: TenantId, subject: SubjectId, event: &NewEvent,
        actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent> {
        let stored = rows::recorded_event(subject, event, at);
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)",
            params![tenant.0.as_bytes(), subject.0.as_bytes()],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::NotFound("subject"));
        }
        tx.prepare_cached(
            "INSERT INTO events (tenant_id, subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            tenant.0.as_bytes(),
            subject.0.as_bytes(),
            stored.id.0.as_bytes(),
            stored.kind.as_str(),
            stored.purpose,
            micros(stored.occurred_at),
            micros(at),
            stored.channel,
            stored.policy_version,
        ])?;
        Self::append(
            tx,
            tenant,
            at,
            NewAuditEntry::event_recorded(actor, &stored),
        )?;
        Ok(stored)
    }
}
