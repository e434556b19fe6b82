//! Subjects on SQLite: the SQL behind [`crate::subjects::Subjects`].

use super::*;
use crate::subjects::{ImportLine, LineImported};
use std::collections::HashSet;

impl crate::subjects::Subjects for SqliteStore {
    fn create_subject(
        &self, tenant: TenantId, identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<SubjectId> {
        let subject = SubjectId::new();
        let key = self.keyring().new_data_key()?;
        self.put_key(tenant, subject, 1, &key, at)?;
        let created =
            self.write(|tx| self.insert_subject(tx, tenant, subject, &key, identities, actor, at));
        if let Err(error) = created {
            // Best effort: a key left here is an orphan the next open removes.
            let _ = self.drop_stale_keys(tenant, subject);
            return Err(error);
        }
        Ok(subject)
    }

    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>> {
        self.read(|conn| self.subject_of(conn, tenant, identity))
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

    fn categories_held(&self, tenant: TenantId) -> Result<Vec<(String, u64)>> {
        self.read(|conn| {
            all(
                conn,
                "SELECT category, COUNT(*) FROM records WHERE tenant_id = ?1 GROUP BY category ORDER BY category",
                params![tenant.0.as_bytes()],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?.max(0) as u64)),
            )
        })
    }

    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.read(|conn| self.records_in(conn, tenant, subject))
    }

    fn records_and_events(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<(Vec<Record>, Vec<StoredEvent>)> {
        self.read(|conn| {
            // One snapshot: a withdrawal committing between the two reads is in both or neither.
            let tx = conn.unchecked_transaction()?;
            let records = self.records_in(&tx, tenant, subject)?;
            Ok((records, Self::events_in(&tx, tenant, subject)?))
        })
    }

    fn add_event(
        &self, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent> {
        self.write(|tx| self.write_event(tx, tenant, subject, event, actor, at))
    }

    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>> {
        self.read(|conn| Self::events_in(conn, tenant, subject))
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

    fn local_facts_generation(&self, tenant: TenantId) -> Result<Option<u64>> {
        self.facts_generation(tenant)
    }

    fn facts_generations(
        &self, tenants: &[TenantId],
    ) -> Result<std::collections::HashMap<TenantId, u64>> {
        let mut read = std::collections::HashMap::new();
        for tenant in tenants {
            if let Some(generation) = self.facts_generation(*tenant)? {
                read.insert(*tenant, generation);
            }
        }
        Ok(read)
    }

    fn facts_generation(&self, tenant: TenantId) -> Result<Option<u64>> {
        let conn = self
            .generations
            .lock()
            .map_err(|_| StoreError::Database("the generation reader was poisoned".into()))?;
        let generation: Option<i64> = conn
            .prepare_cached("SELECT facts_generation FROM tenants WHERE tenant_id = ?1")?
            .query_row(params![tenant.0.as_bytes()], |row| row.get(0))
            .optional()?;
        Ok(generation.map(|g| g as u64))
    }

    fn import_lines(
        &self, tenant: TenantId, lines: Vec<ImportLine>, actor: &Actor, at: Timestamp,
    ) -> Result<Vec<Result<LineImported>>> {
        // The people no line's identities lead to yet get their key written, and committed,
        // before the rows that point at it, as `create_subject` does: the keys live in a file
        // of their own, and a commit spanning both files is not atomic.
        let known: Vec<bool> = self.read(|conn| {
            lines
                .iter()
                .map(|line| {
                    self.first_known(conn, tenant, &line.identities)
                        .map(|s| s.is_some())
                })
                .collect()
        })?;
        let mut fresh: Vec<Option<(SubjectId, DataKey)>> = Vec::with_capacity(lines.len());
        for known in &known {
            fresh.push(if *known {
                None
            } else {
                Some((SubjectId::new(), self.keyring().new_data_key()?))
            });
        }
        self.put_new_keys(tenant, fresh.iter().flatten(), at)?;
        // The batch without a savepoint per line and with its audit entries chained at once;
        // should any line be at fault, line by line.
        let answers = match self.write(|tx| self.import_set(tx, tenant, &lines, &fresh, actor, at))
        {
            Ok(answers) => Ok(answers),
            Err(_) => self.write(|tx| {
                let mut answers = Vec::with_capacity(lines.len());
                for (line, fresh) in lines.into_iter().zip(&fresh) {
                    tx.execute_batch("SAVEPOINT import_line")?;
                    let answer = self.import_line(tx, tenant, line, fresh.as_ref(), actor, at);
                    tx.execute_batch(if answer.is_ok() {
                        "RELEASE import_line"
                    } else {
                        "ROLLBACK TO import_line; RELEASE import_line"
                    })?;
                    answers.push(answer);
                }
                Ok(answers)
            }),
        };
        // Keys no person came to point at: found meanwhile (an earlier line of the batch
        // created them), their line refused, or the batch not written.
        let created: HashSet<SubjectId> = match &answers {
            Ok(answers) => answers
                .iter()
                .flatten()
                .filter(|line| line.created)
                .map(|line| line.subject)
                .collect(),
            Err(_) => HashSet::new(),
        };
        let unused: Vec<SubjectId> = fresh
            .iter()
            .flatten()
            .map(|(subject, _)| *subject)
            .filter(|subject| !created.contains(subject))
            .collect();
        // Best effort: a key left here is an orphan the next open removes.
        let _ = self.drop_stale_keys_of(tenant, &unused);
        answers
    }
}

impl SqliteStore {
    fn records_in(
        &self, conn: &rusqlite::Connection, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<Record>> {
        let key = self.data_key(conn, tenant, subject)?;
        all(
            conn,
            &format!(
                "SELECT {} FROM records WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY record_id",
                rows::RECORD_COLUMNS
            ),
            params![tenant.0.as_bytes(), subject.0.as_bytes()],
            |row| rows::record(&key, subject, row),
        )
    }

    pub(super) fn events_in(
        conn: &rusqlite::Connection, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<StoredEvent>> {
        all(
            conn,
            &format!(
                "SELECT {} FROM events WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY occurred_at, recorded_at, event_id",
                rows::EVENT_COLUMNS
            ),
            params![tenant.0.as_bytes(), subject.0.as_bytes()],
            |row| rows::stored_event(subject, row, 0),
        )
    }

    fn subject_of(
        &self, conn: &rusqlite::Connection, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<SubjectId>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        conn.prepare_cached(
            "SELECT subject_id FROM identities WHERE tenant_id = ?1 AND blind_index = ?2",
        )?
        .query_row(params![tenant.0.as_bytes(), index.to_vec()], |row| {
            row.get::<_, Vec<u8>>(0)
        })
        .optional()?
        .map(|bytes| uuid(bytes).map(SubjectId))
        .transpose()
    }

    /// The person the first known of `identities` belongs to.
    fn first_known(
        &self, conn: &rusqlite::Connection, tenant: TenantId, identities: &[Identity],
    ) -> Result<Option<SubjectId>> {
        for identity in identities {
            if let Some(subject) = self.subject_of(conn, tenant, identity)? {
                return Ok(Some(subject));
            }
        }
        Ok(None)
    }

    /// A subject's row, identities and audit entry; its key is written already.
    #[allow(clippy::too_many_arguments)]
    fn insert_subject(
        &self, tx: &Transaction, tenant: TenantId, subject: SubjectId, key: &DataKey,
        identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        tx.prepare_cached("INSERT INTO subjects (tenant_id, subject_id, key_generation, created_at) VALUES (?1, ?2, 1, ?3)")?
            .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), micros(at)])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::NotFound("tenant"),
                other => other.into(),
            })?;
        for identity in identities {
            self.insert_identity(tx, tenant, subject, key, identity)?;
        }
        Self::append(
            tx,
            tenant,
            at,
            NewAuditEntry::subject_created(actor, subject, identities),
        )
    }

    /// Every line of `import_lines` in one pass: no savepoints, each person's key unwrapped
    /// once, the audit entries chained from one read of the head. Fails whole when any line
    /// would; the caller then goes line by line.
    fn import_set(
        &self, tx: &Transaction, tenant: TenantId, lines: &[ImportLine],
        fresh: &[Option<(SubjectId, DataKey)>], actor: &Actor, at: Timestamp,
    ) -> Result<Vec<Result<LineImported>>> {
        let t = tenant.0.as_bytes();
        let mut owner: std::collections::HashMap<[u8; 32], SubjectId> =
            std::collections::HashMap::new();
        // New people's keys are in hand; known people's are unwrapped once.
        let mut new_keys: std::collections::HashMap<SubjectId, &DataKey> =
            std::collections::HashMap::new();
        let mut known_keys: std::collections::HashMap<SubjectId, DataKey> =
            std::collections::HashMap::new();
        let mut held: std::collections::HashMap<SubjectId, (HashSet<Uuid>, HashSet<Uuid>)> =
            std::collections::HashMap::new();
        let mut entries = Vec::new();
        let mut answers = Vec::with_capacity(lines.len());
        let mut find = tx.prepare_cached(
            "SELECT subject_id FROM identities WHERE tenant_id = ?1 AND blind_index = ?2",
        )?;
        for (line, fresh) in lines.iter().zip(fresh) {
            let indexes: Vec<[u8; 32]> = line
                .identities
                .iter()
                .map(|identity| self.keyring().blind_index(tenant.0, identity))
                .collect();
            let mut found = None;
            for index in &indexes {
                found = match owner.get(index) {
                    Some(subject) => Some(*subject),
                    None => find
                        .query_row(params![t, index.to_vec()], |row| row.get::<_, Vec<u8>>(0))
                        .optional()?
                        .map(|bytes| uuid(bytes).map(SubjectId))
                        .transpose()?,
                };
                if found.is_some() {
                    break;
                }
            }
            let (subject, created) = match found {
                Some(subject) => (subject, false),
                None => {
                    let (subject, key) = fresh.as_ref().ok_or(StoreError::Conflict("person"))?;
                    tx.prepare_cached("INSERT INTO subjects (tenant_id, subject_id, key_generation, created_at) VALUES (?1, ?2, 1, ?3)")?
                        .execute(params![t, subject.0.as_bytes(), micros(at)])?;
                    // No ON CONFLICT: an identity taken fails the batch, and the line by line
                    // path names the line.
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO identities (tenant_id, blind_index, subject_id, kind, sealed_value) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for (identity, index) in line.identities.iter().zip(&indexes) {
                        let sealed =
                            key.seal(identity.expose().as_bytes(), &identity_aad(index))?;
                        insert.execute(params![
                            t,
                            index.to_vec(),
                            subject.0.as_bytes(),
                            identity.kind().as_str(),
                            sealed
                        ])?;
                        owner.insert(*index, *subject);
                    }
                    entries.push(NewAuditEntry::subject_created(
                        actor,
                        *subject,
                        &line.identities,
                    ));
                    new_keys.insert(*subject, key);
                    held.insert(*subject, Default::default());
                    (*subject, true)
                }
            };
            if let std::collections::hash_map::Entry::Vacant(vacant) = held.entry(subject) {
                vacant.insert(Self::held(tx, tenant, subject)?);
            }
            let (held_records, held_events) = held.get_mut(&subject).expect("inserted above");
            let (records, events, written) =
                crate::subjects::unheld(tenant, subject, line, held_records, held_events);
            if !records.is_empty() {
                if !new_keys.contains_key(&subject) && !known_keys.contains_key(&subject) {
                    known_keys.insert(subject, self.data_key(tx, tenant, subject)?);
                }
                let key = match new_keys.get(&subject) {
                    Some(key) => *key,
                    None => &known_keys[&subject],
                };
                let (_, categories) = Self::insert_records(tx, tenant, subject, key, &records)?;
                entries.push(NewAuditEntry::records_written(
                    actor,
                    subject,
                    categories,
                    records.len(),
                ));
            }
            for (subject, event) in &events {
                let stored = Self::insert_event(tx, tenant, *subject, event, at)?;
                entries.push(NewAuditEntry::event_recorded(actor, &stored));
            }
            answers.push(Ok(LineImported {
                subject,
                created,
                records: records.len(),
                events: written,
            }));
        }
        let (mut seq, mut hash) = Self::head(tx, tenant)?;
        for entry in entries {
            let entry = crate::audit::next_entry(seq, hash, at, entry);
            Self::insert_entry(tx, tenant, &entry)?;
            (seq, hash) = (entry.seq, entry.hash);
        }
        Ok(answers)
    }

    /// One line of `import_lines`, inside the batch's transaction.
    fn import_line(
        &self, tx: &Transaction, tenant: TenantId, line: ImportLine,
        fresh: Option<&(SubjectId, DataKey)>, actor: &Actor, at: Timestamp,
    ) -> Result<LineImported> {
        let (subject, created) = match self.first_known(tx, tenant, &line.identities)? {
            Some(subject) => (subject, false),
            None => {
                // Known before the batch, gone since (erased meanwhile): no key was written
                // for it; the line is refused and goes in when the import runs again.
                let (subject, key) = fresh.ok_or(StoreError::Conflict("person"))?;
                self.insert_subject(tx, tenant, *subject, key, &line.identities, actor, at)?;
                (*subject, true)
            }
        };
        let (mut held_records, mut held_events) = if created {
            Default::default()
        } else {
            Self::held(tx, tenant, subject)?
        };
        let (records, events, written) =
            crate::subjects::unheld(tenant, subject, &line, &mut held_records, &mut held_events);
        if !records.is_empty() {
            self.write_records(tx, tenant, &records, actor, at)?;
        }
        for (subject, event) in &events {
            self.write_event(tx, tenant, *subject, event, actor, at)?;
        }
        Ok(LineImported {
            subject,
            created,
            records: records.len(),
            events: written,
        })
    }

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
            let (written, categories) =
                Self::insert_records(tx, tenant, subject, &key, &records[start..end])?;
            ids.extend(written);
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

    /// One person's records sealed under their key; a record whose id is held is left as it
    /// is. Their ids (made here where a record has none), and the categories for the audit
    /// entry.
    fn insert_records(
        tx: &Transaction, tenant: TenantId, subject: SubjectId, key: &DataKey,
        records: &[NewRecord],
    ) -> Result<(Vec<RecordId>, BTreeSet<String>)> {
        let mut insert = tx.prepare_cached(
            "INSERT INTO records (tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?;
        let mut categories = BTreeSet::new();
        let mut ids = Vec::with_capacity(records.len());
        for record in records {
            let id = record.id.unwrap_or_default();
            ids.push(id);
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
        }
        Ok((ids, categories))
    }

    /// The ids of the records and of the events a person holds.
    fn held(
        tx: &Transaction, tenant: TenantId, subject: SubjectId,
    ) -> Result<(HashSet<Uuid>, HashSet<Uuid>)> {
        let mut held: (HashSet<Uuid>, HashSet<Uuid>) = Default::default();
        for (set, sql) in [
            (
                &mut held.0,
                "SELECT record_id FROM records WHERE tenant_id = ?1 AND subject_id = ?2",
            ),
            (
                &mut held.1,
                "SELECT event_id FROM events WHERE tenant_id = ?1 AND subject_id = ?2",
            ),
        ] {
            let mut statement = tx.prepare_cached(sql)?;
            let mut found = statement.query(params![tenant.0.as_bytes(), subject.0.as_bytes()])?;
            while let Some(row) = found.next()? {
                set.insert(uuid(row.get::<_, Vec<u8>>(0)?)?);
            }
        }
        Ok(held)
    }

    /// One event's row (an id held already is left as it is), as it is stored.
    fn insert_event(
        tx: &Transaction, tenant: TenantId, subject: SubjectId, event: &NewEvent, at: Timestamp,
    ) -> Result<StoredEvent> {
        let stored = rows::recorded_event(subject, event, at);
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
        Ok(stored)
    }

    fn write_event(
        &self, tx: &Transaction, tenant: TenantId, subject: SubjectId, event: &NewEvent,
        actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent> {
        let known: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)",
            )?
            .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes()], |r| {
                r.get(0)
            })?;
        if !known {
            return Err(StoreError::NotFound("subject"));
        }
        let stored = Self::insert_event(tx, tenant, subject, event, at)?;
        Self::append(
            tx,
            tenant,
            at,
            NewAuditEntry::event_recorded(actor, &stored),
        )?;
        Ok(stored)
    }
}
