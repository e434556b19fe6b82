//! Subjects on PostgreSQL: the SQL behind [`crate::subjects::Subjects`].

use super::*;
use crate::subjects::{ImportLine, LineImported};
use postgres::types::Type;
use std::collections::{HashMap, HashSet};

impl crate::subjects::Subjects for PostgresStore {
    fn create_subject(
        &self, tenant: TenantId, identities: &[Identity], actor: &Actor, at: Timestamp,
    ) -> Result<SubjectId> {
        let subject = SubjectId::new();
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            self.insert_subject(tx, tenant, subject, identities, actor, at)
        })?;
        Ok(subject)
    }

    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>> {
        self.read(|client| self.subject_of(client, tenant, identity))
    }

    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.read(|client| {
            let Some(row) = client.query_opt(
                "SELECT created_at FROM subjects WHERE tenant_id = $1 AND subject_id = $2",
                &[&tenant.0, &id.0],
            )?
            else {
                return Ok(None);
            };
            let created: i64 = row.get(0);
            let key = self.data_key(client, tenant, id)?;
            let identities = client
                .query(
                    &format!(
                        "SELECT {} FROM identities WHERE tenant_id = $1 AND subject_id = $2",
                        rows::IDENTITY_COLUMNS
                    ),
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| rows::identity(&key, row))
                .collect::<Result<Vec<_>>>()?;
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
        self.read(|client| {
            Ok(client
                .query_opt(
                    "SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &id.0],
                )?
                .is_some())
        })
    }

    fn categories_held(&self, tenant: TenantId) -> Result<Vec<(String, u64)>> {
        self.read(|client| {
            Ok(client
                .query(
                    "SELECT category, COUNT(*) FROM records WHERE tenant_id = $1 GROUP BY category ORDER BY category",
                    &[&tenant.0],
                )?
                .iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1).max(0) as u64))
                .collect())
        })
    }

    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.read(|client| self.records_in(client, tenant, subject))
    }

    fn records_and_events(
        &self, tenant: TenantId, subject: SubjectId,
    ) -> Result<(Vec<Record>, Vec<StoredEvent>)> {
        // One statement, so one snapshot (a withdrawal committing meanwhile is in both parts or
        // neither) and one round trip: the key with the records (part 0), then the events.
        self.read(|client| {
            let rows = client.query_typed(
                "SELECT r.record_id, r.category, r.purposes, r.source, r.collected_at, r.sealed_value, k.wrapped_key,
                        0 AS part, NULL::uuid AS event_id, NULL::text, NULL::text, NULL::bigint AS occurred_at,
                        NULL::bigint AS recorded_at, NULL::text, NULL::text
                 FROM subject_keys k
                 LEFT JOIN records r ON r.tenant_id = k.tenant_id AND r.subject_id = k.subject_id
                 WHERE k.tenant_id = $1 AND k.subject_id = $2
                 UNION ALL
                 SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                        1, e.event_id, e.kind, e.purpose, e.occurred_at, e.recorded_at, e.channel, e.policy_version
                 FROM events e WHERE e.tenant_id = $1 AND e.subject_id = $2
                 ORDER BY part, record_id, occurred_at, recorded_at, event_id",
                &[(&tenant.0, Type::UUID), (&subject.0, Type::UUID)],
            )?;
            let first = rows
                .first()
                .filter(|row| row.get::<_, i32>(7) == 0)
                .ok_or(StoreError::NotFound("subject"))?;
            let wrapped: Vec<u8> = first.get(6);
            let key = self.keyring().unwrap(&wrapped, tenant.0, subject.0)?;
            let (mut records, mut events) = (Vec::new(), Vec::new());
            for row in &rows {
                if row.get::<_, i32>(7) == 1 {
                    events.push(rows::stored_event(subject, row, 8)?);
                } else if row.get::<_, Option<Uuid>>(0).is_some() {
                    // A person with no record comes back once, with NULL record columns.
                    records.push(rows::record(&key, subject, row)?);
                }
            }
            Ok((records, events))
        })
    }

    fn add_event(
        &self, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor, at: Timestamp,
    ) -> Result<StoredEvent> {
        self.write(|tx| self.write_event(tx, tenant, subject, event, actor, at))
    }

    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>> {
        self.read(|client| Self::events_in(client, tenant, subject))
    }

    fn facts_by_identity(
        &self, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        self.read(|client| {
            let rows = client.query_typed(
                "SELECT i.subject_id, e.event_id, e.kind, e.purpose, e.occurred_at, e.recorded_at, e.channel, e.policy_version
                 FROM identities i
                 LEFT JOIN events e ON e.tenant_id = i.tenant_id AND e.subject_id = i.subject_id
                 WHERE i.tenant_id = $1 AND i.blind_index = $2
                 ORDER BY e.occurred_at, e.event_id",
                &[(&tenant.0, Type::UUID), (&index.as_slice(), Type::BYTEA)],
            )?;
            let Some(first) = rows.first() else { return Ok(None) };
            let subject = SubjectId(first.get(0));
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                // A subject with no event comes back once, with NULL event columns.
                if row.opt_id(1)?.is_none() {
                    continue;
                }
                events.push(rows::stored_event(subject, row, 1)?);
            }
            Ok(Some((subject, events)))
        })
    }

    fn facts_generations(&self, tenants: &[TenantId]) -> Result<HashMap<TenantId, u64>> {
        let ids: Vec<uuid::Uuid> = tenants.iter().map(|t| t.0).collect();
        self.read(|client| {
            let rows = client.query_typed(
                "SELECT tenant_id, facts_generation FROM tenants WHERE tenant_id = ANY($1)",
                &[(&ids, Type::UUID_ARRAY)],
            )?;
            rows.iter()
                .map(|row| {
                    let generation: i64 = row.try_get(1)?;
                    Ok((TenantId(row.try_get(0)?), generation as u64))
                })
                .collect()
        })
    }

    fn import_lines(
        &self, tenant: TenantId, lines: Vec<ImportLine>, actor: &Actor, at: Timestamp,
    ) -> Result<Vec<Result<LineImported>>> {
        // The batch as a handful of set-based statements; should any line be at fault (or
        // a concurrent writer get in the way), line by line, each in its savepoint.
        if let Ok(answers) = self.write(|tx| self.import_set(tx, tenant, &lines, actor, at)) {
            return Ok(answers);
        }
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let mut answers = Vec::with_capacity(lines.len());
            for line in lines {
                let mut savepoint = tx.savepoint("import_line")?;
                let answer = self.import_line(&mut savepoint, tenant, line, actor, at);
                if answer.is_ok() {
                    savepoint.commit()?;
                }
                // Dropped uncommitted, the savepoint rolls the line back alone.
                answers.push(answer);
            }
            Ok(answers)
        })
    }
}

impl PostgresStore {
    /// A person's records, their key and the rows in one round trip.
    fn records_in(
        &self, client: &mut impl Sql, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<Record>> {
        let rows = client.query_typed(
            &format!(
                "SELECT r.{}, k.wrapped_key FROM subject_keys k
                 LEFT JOIN records r ON r.tenant_id = k.tenant_id AND r.subject_id = k.subject_id
                 WHERE k.tenant_id = $1 AND k.subject_id = $2 ORDER BY r.record_id",
                rows::RECORD_COLUMNS.replace(", ", ", r.")
            ),
            &[(&tenant.0, Type::UUID), (&subject.0, Type::UUID)],
        )?;
        let first = rows.first().ok_or(StoreError::NotFound("subject"))?;
        let wrapped: Vec<u8> = first.get(6);
        let key = self.keyring().unwrap(&wrapped, tenant.0, subject.0)?;
        rows.iter()
            // A person with no record comes back once, with NULL record columns.
            .filter(|row| row.get::<_, Option<Uuid>>(0).is_some())
            .map(|row| rows::record(&key, subject, row))
            .collect()
    }

    fn events_in(
        client: &mut impl Sql, tenant: TenantId, subject: SubjectId,
    ) -> Result<Vec<StoredEvent>> {
        client
            .query_typed(
                &format!(
                    "SELECT {} FROM events WHERE tenant_id = $1 AND subject_id = $2 ORDER BY occurred_at, recorded_at, event_id",
                    rows::EVENT_COLUMNS
                ),
                &[(&tenant.0, Type::UUID), (&subject.0, Type::UUID)],
            )?
            .iter()
            .map(|row| rows::stored_event(subject, row, 0))
            .collect()
    }

    fn subject_of(
        &self, client: &mut impl Sql, tenant: TenantId, identity: &Identity,
    ) -> Result<Option<SubjectId>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        Ok(client
            .query_typed_opt(
                "SELECT subject_id FROM identities WHERE tenant_id = $1 AND blind_index = $2",
                &[(&tenant.0, Type::UUID), (&index.as_slice(), Type::BYTEA)],
            )?
            .map(|row| SubjectId(row.get(0))))
    }

    /// A subject's row, key, identities and audit entry; the tenant is locked.
    fn insert_subject(
        &self, tx: &mut Tx, tenant: TenantId, subject: SubjectId, identities: &[Identity],
        actor: &Actor, at: Timestamp,
    ) -> Result<()> {
        let key = self.keyring().new_data_key()?;
        let wrapped = self.keyring().wrap(&key, tenant.0, subject.0)?;
        tx.execute(
            "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES ($1, $2, $3)",
            &[&tenant.0, &subject.0, &micros(at)],
        )?;
        tx.execute(
            "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
            &[&tenant.0, &subject.0, &wrapped, &micros(at)],
        )?;
        for identity in identities {
            self.insert_identity(tx, tenant, subject, &key, identity)?;
        }
        Self::append(
            tx,
            tenant,
            at,
            NewAuditEntry::subject_created(actor, subject, identities),
        )
    }

    /// Every line of `import_lines` at once, a statement per table: a round trip per line is
    /// what it saves. Fails whole when any line would; the caller then goes line by line.
    fn import_set(
        &self, tx: &mut Tx, tenant: TenantId, lines: &[ImportLine], actor: &Actor, at: Timestamp,
    ) -> Result<Vec<Result<LineImported>>> {
        Self::lock_tenant(tx, tenant)?;
        let indexes: Vec<Vec<[u8; 32]>> = lines
            .iter()
            .map(|line| {
                line.identities
                    .iter()
                    .map(|identity| self.keyring().blind_index(tenant.0, identity))
                    .collect()
            })
            .collect();
        let all: Vec<&[u8]> = indexes.iter().flatten().map(|i| i.as_slice()).collect();
        let mut owner: HashMap<[u8; 32], SubjectId> = HashMap::new();
        for row in tx.query(
            "SELECT blind_index, subject_id FROM identities WHERE tenant_id = $1 AND blind_index = ANY($2)",
            &[&tenant.0, &all],
        )? {
            let index: Vec<u8> = row.get(0);
            owner.insert(hash32(index)?, SubjectId(row.get(1)));
        }
        // Each line's person: the first identity known (before the batch, or made by an
        // earlier line of it) decides; otherwise a new person.
        let mut people = Vec::with_capacity(lines.len());
        let mut new_people: Vec<(SubjectId, usize)> = Vec::new();
        let mut created: HashSet<SubjectId> = HashSet::new();
        let mut known: BTreeSet<Uuid> = BTreeSet::new();
        for (line, indexes) in indexes.iter().enumerate() {
            match indexes.iter().find_map(|index| owner.get(index).copied()) {
                Some(subject) => {
                    if !created.contains(&subject) {
                        known.insert(subject.0);
                    }
                    people.push((subject, false));
                }
                None => {
                    let subject = SubjectId::new();
                    for index in indexes {
                        owner.insert(*index, subject);
                    }
                    created.insert(subject);
                    new_people.push((subject, line));
                    people.push((subject, true));
                }
            }
        }
        let known: Vec<Uuid> = known.into_iter().collect();
        let mut held: HashMap<SubjectId, (HashSet<Uuid>, HashSet<Uuid>)> = HashMap::new();
        for row in tx.query(
            "SELECT subject_id, record_id, NULL::uuid FROM records WHERE tenant_id = $1 AND subject_id = ANY($2)
             UNION ALL SELECT subject_id, NULL::uuid, event_id FROM events WHERE tenant_id = $1 AND subject_id = ANY($2)",
            &[&tenant.0, &known],
        )? {
            let sets = held.entry(SubjectId(row.get(0))).or_default();
            if let Some(record) = row.get::<_, Option<Uuid>>(1) {
                sets.0.insert(record);
            }
            if let Some(event) = row.get::<_, Option<Uuid>>(2) {
                sets.1.insert(event);
            }
        }

        let mut subjects = SubjectColumns::default();
        let mut entries = Vec::new();
        for &(subject, line) in &new_people {
            let identities = &lines[line].identities;
            let key = self.keyring().new_data_key()?;
            subjects.ids.push(subject.0);
            subjects
                .keys
                .push(self.keyring().wrap(&key, tenant.0, subject.0)?);
            for (identity, index) in identities.iter().zip(&indexes[line]) {
                subjects.indexes.push(index.to_vec());
                subjects.owners.push(subject.0);
                subjects.kinds.push(identity.kind().as_str().to_owned());
                subjects
                    .sealed
                    .push(key.seal(identity.expose().as_bytes(), &identity_aad(index))?);
            }
            entries.push(NewAuditEntry::subject_created(actor, subject, identities));
        }
        if !subjects.ids.is_empty() {
            tx.execute(
                "INSERT INTO subjects (tenant_id, subject_id, created_at) SELECT $1, s, $3 FROM unnest($2::uuid[]) s",
                &[&tenant.0, &subjects.ids, &micros(at)],
            )?;
            tx.execute(
                "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at)
                 SELECT $1, s, k, $4 FROM unnest($2::uuid[], $3::bytea[]) AS u(s, k)",
                &[&tenant.0, &subjects.ids, &subjects.keys, &micros(at)],
            )?;
            // No ON CONFLICT: an identity taken meanwhile fails the batch, and the line by
            // line path names the line.
            tx.execute(
                "INSERT INTO identities (tenant_id, blind_index, subject_id, kind, sealed_value)
                 SELECT $1, * FROM unnest($2::bytea[], $3::uuid[], $4::text[], $5::bytea[])",
                &[
                    &tenant.0,
                    &subjects.indexes,
                    &subjects.owners,
                    &subjects.kinds,
                    &subjects.sealed,
                ],
            )?;
            Self::append_many(tx, tenant, at, std::mem::take(&mut entries))?;
        }

        let mut answers = Vec::with_capacity(lines.len());
        let (mut records, mut events) = (Vec::new(), Vec::new());
        for (line, &(subject, created)) in lines.iter().zip(&people) {
            let (held_records, held_events) = held.entry(subject).or_default();
            let (new_records, new_events, written) =
                crate::subjects::unheld(tenant, subject, line, held_records, held_events);
            answers.push(Ok(LineImported {
                subject,
                created,
                records: new_records.len(),
                events: written,
            }));
            records.extend(new_records);
            events.extend(new_events);
        }
        // Records of one person together, so each person's write is one audit entry.
        records.sort_by_key(|r| r.subject);
        if !records.is_empty() {
            self.write_records(tx, tenant, &records, actor, at)?;
        }
        if !events.is_empty() {
            let mut columns = EventColumns::default();
            for (subject, event) in &events {
                let stored = rows::recorded_event(*subject, event, at);
                columns.subjects.push(subject.0);
                columns.ids.push(stored.id.0);
                columns.kinds.push(stored.kind.as_str().to_owned());
                columns.purposes.push(stored.purpose.clone());
                columns.occurred.push(micros(stored.occurred_at));
                columns.channels.push(stored.channel.clone());
                columns.versions.push(stored.policy_version.clone());
                entries.push(NewAuditEntry::event_recorded(actor, &stored));
            }
            tx.execute(
                "INSERT INTO events (tenant_id, subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version)
                 SELECT $1, s, e, k, p, o, $7, c, v
                 FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $8::text[], $9::text[]) AS u(s, e, k, p, o, c, v)",
                &[&tenant.0, &columns.subjects, &columns.ids, &columns.kinds, &columns.purposes, &columns.occurred, &micros(at), &columns.channels, &columns.versions],
            )?;
            Self::append_many(tx, tenant, at, entries)?;
        }
        Ok(answers)
    }

    /// One line of `import_lines`, inside its savepoint.
    fn import_line(
        &self, tx: &mut Tx, tenant: TenantId, line: ImportLine, actor: &Actor, at: Timestamp,
    ) -> Result<LineImported> {
        let mut known = None;
        for identity in &line.identities {
            if let Some(subject) = self.subject_of(tx, tenant, identity)? {
                known = Some(subject);
                break;
            }
        }
        let (subject, created) = match known {
            Some(subject) => (subject, false),
            None => {
                let subject = SubjectId::new();
                self.insert_subject(tx, tenant, subject, &line.identities, actor, at)?;
                (subject, true)
            }
        };
        let (mut held_records, mut held_events) = (HashSet::new(), HashSet::new());
        if !created {
            for row in tx.query(
                "SELECT record_id, NULL::uuid FROM records WHERE tenant_id = $1 AND subject_id = $2
                 UNION ALL SELECT NULL::uuid, event_id FROM events WHERE tenant_id = $1 AND subject_id = $2",
                &[&tenant.0, &subject.0],
            )? {
                if let Some(record) = row.get::<_, Option<Uuid>>(0) {
                    held_records.insert(record);
                }
                if let Some(event) = row.get::<_, Option<Uuid>>(1) {
                    held_events.insert(event);
                }
            }
        }
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
        &self, tx: &mut Tx, tenant: TenantId, records: &[NewRecord], actor: &Actor, at: Timestamp,
    ) -> Result<Vec<RecordId>> {
        Self::lock_tenant(tx, tenant)?;
        let subjects: Vec<Uuid> = records
            .iter()
            .map(|r| r.subject.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut keys = std::collections::HashMap::with_capacity(subjects.len());
        for row in tx.query("SELECT subject_id, wrapped_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = ANY($2)", &[&tenant.0, &subjects])? {
            let subject: Uuid = row.get(0);
            let wrapped: Vec<u8> = row.get(1);
            keys.insert(subject, self.keyring().unwrap(&wrapped, tenant.0, subject)?);
        }
        let mut rows = RecordColumns::default();
        let mut ids = Vec::with_capacity(records.len());
        let mut entries = Vec::new();
        let mut start = 0;
        while start < records.len() {
            let subject = records[start].subject;
            let end = records[start..]
                .iter()
                .position(|r| r.subject != subject)
                .map_or(records.len(), |n| start + n);
            let key = keys
                .get(&subject.0)
                .ok_or(StoreError::NotFound("subject"))?;
            let mut written = BTreeSet::new();
            for record in &records[start..end] {
                let id = record.id.unwrap_or_default();
                rows.subjects.push(subject.0);
                rows.ids.push(id.0);
                rows.sealed.push(key.seal(
                    record.value.expose().as_bytes(),
                    &record_aad(id.0, &record.category),
                )?);
                rows.categories.push(record.category.clone());
                rows.purposes.push(record.purposes.join(","));
                rows.sources.push(record.source.clone());
                rows.collected.push(micros(record.collected_at));
                written.insert(record.category.clone());
                ids.push(id);
            }
            entries.push(NewAuditEntry::records_written(
                actor,
                subject,
                written,
                end - start,
            ));
            start = end;
        }
        tx.execute(
            "INSERT INTO records (tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value)
             SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bytea[])
             ON CONFLICT DO NOTHING",
            &[&tenant.0, &rows.subjects, &rows.ids, &rows.categories, &rows.purposes, &rows.sources, &rows.collected, &rows.sealed],
        )?;
        Self::append_many(tx, tenant, at, entries)?;
        Ok(ids)
    }

    fn write_event(
        &self, tx: &mut Tx, tenant: TenantId, subject: SubjectId, event: &NewEvent, actor: &Actor,
        at: Timestamp,
    ) -> Result<StoredEvent> {
        let stored = rows::recorded_event(subject, event, at);
        if Self::lock_tenant(tx, tenant).is_err() {
            return Err(StoreError::NotFound("subject"));
        }
        let known = tx.query_opt(
            "SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2",
            &[&tenant.0, &subject.0],
        )?;
        if known.is_none() {
            return Err(StoreError::NotFound("subject"));
        }
        tx.execute(
            "INSERT INTO events (tenant_id, subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            &[
                &tenant.0,
                &subject.0,
                &stored.id.0,
                &stored.kind.as_str(),
                &stored.purpose,
                &micros(stored.occurred_at),
                &micros(at),
                &stored.channel,
                &stored.policy_version,
            ],
        )?;
        Self::append(
            tx,
            tenant,
            at,
            NewAuditEntry::event_recorded(actor, &stored),
        )?;
        Ok(stored)
    }
}

/// New people of an import batch, column by column: their rows and keys, then their
/// identities.
#[derive(Default)]
struct SubjectColumns {
    ids: Vec<Uuid>,
    keys: Vec<Vec<u8>>,
    indexes: Vec<Vec<u8>>,
    owners: Vec<Uuid>,
    kinds: Vec<String>,
    sealed: Vec<Vec<u8>>,
}

/// Events of an import batch, column by column.
#[derive(Default)]
struct EventColumns {
    subjects: Vec<Uuid>,
    ids: Vec<Uuid>,
    kinds: Vec<String>,
    purposes: Vec<Option<String>>,
    occurred: Vec<i64>,
    channels: Vec<Option<String>>,
    versions: Vec<Option<String>>,
}
