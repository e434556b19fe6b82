//! GDPRbench-style workloads (Shastri et al., "Understanding and Benchmarking the Impact of
//! GDPR on Database Systems", PVLDB 13(7), 2020) run against ombud and, in the same run and
//! the same database, against a bare store that does the same operations on plain tables:
//! no encryption, no purpose decision, no audit log. `README.md` beside this file maps each
//! GDPRbench query to the API call whose store work is measured here.
//!
//! `cargo bench -p ombud-app --bench gdprbench` runs the full size (100,000 records, 10,000
//! operations per mix) on SQLite, and on PostgreSQL too when `OMBUD_DATABASE_URL` names one.
//! Run as a test (`cargo test --benches`), it runs a small size and checks that both sides
//! ended in the same state, so the mapping cannot drift without failing CI.

use jiff::{Timestamp, ToSpan};
use ombud_app::sweeper::Sweep;
use ombud_core::access::DataRole;
use ombud_core::facts::{EventKind, SubjectFacts};
use ombud_core::{Identity, IdentityKind, decide, decide_purpose};
use ombud_policy::model::Policy;
use ombud_store::audit::{AuditFilter, NewAuditEntry};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewEvent, NewRecord, RecordId, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::subjects::{ImportEvent, ImportLine, ImportRecord, content_id};
use ombud_store::{Actor, PostgresStore, SqliteStore, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const POLICY: &str = include_str!("../../examples/invoicing-saas.toml");
const RECORDS_PER_PERSON: usize = 4;
/// The purposes metadata is read and updated by: a contract purpose, a legal obligation, a
/// consent and a legitimate interest, so every kind of decision is taken.
const PURPOSES: [&str; 4] = ["invoicing", "accounting", "consent-marketing", "security"];
/// Every fourth person's security log record is older than the two years the policy keeps
/// it: what the regulator's last step checks is gone.
const EXPIRED_EVERY: usize = 4;

#[derive(Clone, Copy)]
struct Size {
    records: usize,
    operations: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A purpose-bound read of the person who owns the key.
    Read(usize, &'static str),
    /// The key's value replaced (rectification).
    Update(usize),
    /// The person who owns the key erased.
    Delete(usize),
    /// A new person with one record.
    Insert(u64),
    /// May this purpose use the person's data now?
    ReadMetaByPurpose(usize, &'static str),
    /// The person's records' metadata (categories, purposes, when collected) and events.
    ReadMetaByPerson(usize),
    /// The person objects to a purpose (or withdraws consent to it).
    UpdateMetaByPurpose(usize, &'static str),
    /// The person asks for restriction, or for it to be lifted.
    UpdateMetaByPerson(usize),
    /// What was done with the person's data: the audit trail.
    ReadLog(usize),
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Read(..) => "read",
            Op::Update(_) => "update",
            Op::Delete(_) => "delete",
            Op::Insert(_) => "insert",
            Op::ReadMetaByPurpose(..) => "read-meta-by-purpose",
            Op::ReadMetaByPerson(_) => "read-meta-by-person",
            Op::UpdateMetaByPurpose(..) => "update-meta-by-purpose",
            Op::UpdateMetaByPerson(_) => "update-meta-by-person",
            Op::ReadLog(_) => "read-log",
        }
    }
}

#[derive(Clone, Copy)]
enum Keys {
    Uniform,
    Zipfian,
}

struct Mix {
    name: &'static str,
    keys: Keys,
    /// (weight in percent, which operation)
    weights: &'static [(u32, Kind)],
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Update,
    Delete,
    Insert,
    ReadMetaByPurpose,
    ReadMetaByPerson,
    UpdateMetaByPurpose,
    UpdateMetaByPerson,
    ReadLog,
}

const MIXES: [Mix; 4] = [
    Mix {
        name: "controller",
        keys: Keys::Uniform,
        weights: &[
            (25, Kind::Insert),
            (25, Kind::Delete),
            (25, Kind::UpdateMetaByPurpose),
            (25, Kind::UpdateMetaByPerson),
        ],
    },
    Mix {
        name: "customer",
        keys: Keys::Zipfian,
        weights: &[
            (20, Kind::Read),
            (20, Kind::Update),
            (20, Kind::Delete),
            (10, Kind::ReadMetaByPurpose),
            (10, Kind::ReadMetaByPerson),
            (10, Kind::UpdateMetaByPurpose),
            (10, Kind::UpdateMetaByPerson),
        ],
    },
    Mix {
        name: "processor",
        keys: Keys::Uniform,
        weights: &[
            (20, Kind::Read),
            (40, Kind::ReadMetaByPurpose),
            (40, Kind::ReadMetaByPerson),
        ],
    },
    Mix {
        name: "regulator",
        keys: Keys::Uniform,
        weights: &[(50, Kind::ReadMetaByPerson), (50, Kind::ReadLog)],
    },
];

/// The operations of a mix, drawn once so both sides run exactly the same sequence.
fn operations(mix: &Mix, size: Size, seed: u64, first_insert: &mut u64) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(size.records as f64, 0.99).expect("zipf");
    let total: u32 = mix.weights.iter().map(|(w, _)| w).sum();
    (0..size.operations)
        .map(|_| {
            let key = match mix.keys {
                Keys::Uniform => rng.random_range(0..size.records),
                // Ranks 1..=n; rank 1 is the hottest key.
                Keys::Zipfian => zipf.sample(&mut rng) as usize - 1,
            };
            let purpose = PURPOSES[rng.random_range(0..PURPOSES.len())];
            let mut pick = rng.random_range(0..total);
            let kind = mix
                .weights
                .iter()
                .find(|(w, _)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map(|(_, k)| *k)
                .expect("weights cover the range");
            match kind {
                Kind::Read => Op::Read(key, purpose),
                Kind::Update => Op::Update(key),
                Kind::Delete => Op::Delete(key),
                Kind::Insert => {
                    *first_insert += 1;
                    Op::Insert(*first_insert)
                }
                Kind::ReadMetaByPurpose => Op::ReadMetaByPurpose(key, purpose),
                Kind::ReadMetaByPerson => Op::ReadMetaByPerson(key),
                Kind::UpdateMetaByPurpose => Op::UpdateMetaByPurpose(key, purpose),
                Kind::UpdateMetaByPerson => Op::UpdateMetaByPerson(key),
                Kind::ReadLog => Op::ReadLog(key),
            }
        })
        .collect()
}

/// What is known of a person of the loaded data set.
struct Person {
    collected_at: Timestamp,
    security_collected_at: Timestamp,
}

fn person(n: usize, now: Timestamp) -> Person {
    let collected_at = now - 9_600.hours();
    let security_collected_at = if n.is_multiple_of(EXPIRED_EVERY) {
        // Two years and a month ago: past the security-logs rule.
        now.checked_sub(24_960.hours()).expect("time")
    } else {
        now - 720.hours()
    };
    Person {
        collected_at,
        security_collected_at,
    }
}

/// The person's records: (category, purposes, value).
fn records_of(n: usize) -> [(&'static str, &'static [&'static str], String); 4] {
    [
        ("user.name", &[], format!("Person {n}")),
        ("user.contact.email", &[], format!("p{n}@example.fi")),
        (
            "user.financial",
            &["invoicing", "accounting"],
            format!("FI21 1234 5600 {n:04}"),
        ),
        (
            "user.device.ip_address",
            &["security"],
            format!("192.0.2.{}", n % 250),
        ),
    ]
}

fn email(n: usize) -> Identity {
    Identity::parse(IdentityKind::Email, &format!("p{n}@example.fi")).expect("email")
}

fn fingerprint(n: usize, i: usize) -> [u8; 32] {
    *blake3::hash(format!("gdprbench {n} {i}").as_bytes()).as_bytes()
}

/// ombud's side: the store calls each API endpoint makes, with the policy decisions the
/// endpoint takes, every value sealed under the person's key and every read and write audited.
struct Ombud {
    store: Box<dyn Store>,
    policy: Policy,
    tz: jiff::tz::TimeZone,
    tenant: TenantId,
    now: Timestamp,
    people: Vec<SubjectId>,
    restricted: Vec<bool>,
}

impl Ombud {
    fn load(store: Box<dyn Store>, policy: Policy, size: Size, now: Timestamp) -> Ombud {
        let tz = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
        let tenant = store
            .create_tenant("GDPRbench", true, &Actor::Cli, now)
            .expect("tenant")
            .id;
        let count = size.records / RECORDS_PER_PERSON;
        let mut people = Vec::with_capacity(count);
        for first in (0..count).step_by(500) {
            let lines = (first..(first + 500).min(count))
                .map(|n| {
                    let p = person(n, now);
                    ImportLine {
                        identities: vec![email(n)],
                        records: records_of(n)
                            .into_iter()
                            .enumerate()
                            .map(|(i, (category, purposes, value))| ImportRecord {
                                fingerprint: fingerprint(n, i),
                                category: category.into(),
                                purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
                                source: "subject".into(),
                                collected_at: if i == 3 {
                                    p.security_collected_at
                                } else {
                                    p.collected_at
                                },
                                value: Secret::new(value),
                            })
                            .collect(),
                        events: vec![ImportEvent {
                            fingerprint: fingerprint(n, 99),
                            event: event(EventKind::ContractStart, None, p.collected_at),
                        }],
                    }
                })
                .collect();
            for line in store
                .import_lines(tenant, lines, &Actor::Cli, now)
                .expect("import")
            {
                people.push(line.expect("line").subject);
            }
        }
        // The planner's statistics, as the server's jobs refresh them every round: without
        // them SQLite looks up a person's identities by scanning the tenant's.
        store.maintain().expect("statistics");
        Ombud {
            store,
            policy,
            tz,
            tenant,
            now,
            restricted: vec![false; people.len()],
            people,
        }
    }

    fn record_id(&self, key: usize) -> RecordId {
        let person = self.people[key / RECORDS_PER_PERSON];
        RecordId(content_id(
            self.tenant,
            person,
            &fingerprint(key / RECORDS_PER_PERSON, key % RECORDS_PER_PERSON),
        ))
    }

    fn run(&mut self, op: Op) -> Result<bool, StoreError> {
        let (tenant, now, actor) = (self.tenant, self.now, Actor::Cli);
        let person = |key: usize| self.people[key / RECORDS_PER_PERSON];
        match op {
            // GET /subjects/{id}/records?purpose=
            Op::Read(key, purpose) => {
                let subject = person(key);
                let (records, events) = self.store.records_and_events(tenant, subject)?;
                let facts = SubjectFacts::new(events.iter().map(|e| e.fact()).collect());
                let mut returned = Vec::new();
                let mut categories = Vec::new();
                for record in &records {
                    if !record.purposes.is_empty() && !record.purposes.iter().any(|p| p == purpose)
                    {
                        continue;
                    }
                    let decision = decide(
                        &self.policy,
                        &facts,
                        purpose,
                        &record.category,
                        record.collected_at,
                        DataRole::Controller,
                        now,
                        &self.tz,
                    );
                    if decision.allowed {
                        returned.push(record.value.expose().to_owned());
                        categories.push(record.category.clone());
                    }
                }
                let entry = NewAuditEntry {
                    actor: actor.audit_name(),
                    action: "records.read".into(),
                    subject: Some(subject),
                    categories,
                    purpose: Some(purpose.into()),
                    detail: Some(format!("returned={}", returned.len())),
                };
                self.store.append_audit(tenant, entry, now)?;
                Ok(!records.is_empty())
            }
            // A rectification: the record's value replaced.
            Op::Update(key) => {
                let record = self.record_id(key);
                let value = Secret::new(format!("rectified {key}"));
                match self
                    .store
                    .rectify_record(tenant, person(key), record, &value, &actor, now)
                {
                    Ok(()) => Ok(true),
                    Err(StoreError::NotFound(_)) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            // An erasure (Art. 17): the person and everything kept of them.
            Op::Delete(key) => {
                match self
                    .store
                    .erase_subject(tenant, person(key), &[], None, &actor, now)
                {
                    Ok(erasure) => Ok(erasure.records_deleted > 0),
                    Err(StoreError::NotFound(_)) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            // POST /subjects, then PUT /subjects/{id}/records.
            Op::Insert(n) => {
                let subject = self.store.create_subject(
                    tenant,
                    &[email(n as usize + 1_000_000_000)],
                    &actor,
                    now,
                )?;
                let record = NewRecord {
                    id: None,
                    subject,
                    category: "user.contact.email".into(),
                    purposes: vec![],
                    source: "subject".into(),
                    collected_at: now,
                    value: Secret::new(format!("new{n}@example.fi")),
                };
                self.store.put_records(tenant, &[record], &actor, now)?;
                Ok(true)
            }
            // GET /check: decided from the person's events; no value is read.
            Op::ReadMetaByPurpose(key, purpose) => {
                let found = self
                    .store
                    .facts_by_identity(tenant, &email(key / RECORDS_PER_PERSON))?;
                let known = found.is_some();
                let facts = SubjectFacts::new(
                    found
                        .map(|(_, events)| events.iter().map(|e| e.fact()).collect())
                        .unwrap_or_default(),
                );
                let decision =
                    decide_purpose(&self.policy, &facts, purpose, DataRole::Controller, now);
                std::hint::black_box(decision.allowed);
                Ok(known)
            }
            // The records' metadata and events: what the retention forecast and the sweep read.
            Op::ReadMetaByPerson(key) => Ok(self
                .store
                .retention_subject(tenant, person(key))?
                .is_some_and(|s| !s.records.is_empty())),
            // POST /subjects/{id}/events: an objection, or a withdrawal of consent.
            Op::UpdateMetaByPurpose(key, purpose) => {
                let kind = if purpose == "consent-marketing" {
                    EventKind::ConsentWithdrawn
                } else {
                    EventKind::Objection
                };
                self.event(person(key), event(kind, Some(purpose), now))
            }
            // POST /subjects/{id}/events (restriction) and /restriction/lift.
            Op::UpdateMetaByPerson(key) => {
                let n = key / RECORDS_PER_PERSON;
                let kind = if self.restricted[n] {
                    EventKind::RestrictionLifted
                } else {
                    EventKind::Restriction
                };
                let hit = self.event(person(key), event(kind, None, now))?;
                if hit {
                    self.restricted[n] = !self.restricted[n];
                }
                Ok(hit)
            }
            // GET /audit?subject=
            Op::ReadLog(key) => {
                let filter = AuditFilter {
                    subject: Some(person(key)),
                    actor: None,
                    action: None,
                    from: None,
                    until: None,
                    after_seq: None,
                    limit: 100,
                };
                Ok(!self.store.audit_entries(tenant, &filter)?.is_empty())
            }
        }
    }

    fn event(&self, subject: SubjectId, event: NewEvent) -> Result<bool, StoreError> {
        match self
            .store
            .add_event(self.tenant, subject, &event, &Actor::Cli, self.now)
        {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The sweep the server runs, timed: what is past its retention is gone when it returns.
    fn sweep(&self) -> u64 {
        Sweep {
            store: self.store.as_ref(),
            policy: &self.policy,
            time_zone: &self.tz,
            tenant: self.tenant,
            data_role: DataRole::Controller,
            now: self.now,
            dry_run: false,
        }
        .run(|_| {})
        .expect("sweep")
        .records
    }

    fn remaining(&self) -> u64 {
        let mut after = None;
        let mut n = 0;
        loop {
            let batch = self
                .store
                .retention_batch(self.tenant, after, 1_000)
                .expect("batch");
            let Some(last) = batch.last() else { break };
            after = Some(last.subject);
            n += batch.iter().map(|s| s.records.len() as u64).sum::<u64>();
        }
        n
    }
}

fn event(kind: EventKind, purpose: Option<&str>, at: Timestamp) -> NewEvent {
    NewEvent {
        id: None,
        kind,
        purpose: purpose.map(str::to_owned),
        occurred_at: at,
        channel: Some("api".into()),
        policy_version: None,
    }
}

/// A value a bare statement binds.
enum Arg<'a> {
    Bytes(&'a [u8]),
    Int(i64),
    Text(&'a str),
}

impl Arg<'_> {
    fn sqlite<'a>(args: &'a [Arg]) -> Vec<&'a dyn rusqlite::ToSql> {
        args.iter()
            .map(|a| match a {
                Arg::Bytes(b) => b as &dyn rusqlite::ToSql,
                Arg::Int(i) => i as &dyn rusqlite::ToSql,
                Arg::Text(t) => t as &dyn rusqlite::ToSql,
            })
            .collect()
    }

    fn postgres<'a>(args: &'a [Arg]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
        args.iter()
            .map(|a| match a {
                Arg::Bytes(b) => b as &(dyn postgres::types::ToSql + Sync),
                Arg::Int(i) => i as &(dyn postgres::types::ToSql + Sync),
                Arg::Text(t) => t as &(dyn postgres::types::ToSql + Sync),
            })
            .collect()
    }
}

/// The bare store: the same people and records in plain tables of the same database, with the
/// metadata GDPRbench keeps beside each record (purposes, expiry, owner, objections, source).
enum Bare {
    /// Statements with SQLite's numbered parameters (`?N`: `$N` would be numbered by first
    /// appearance).
    Sqlite {
        conn: rusqlite::Connection,
        numbered: HashMap<&'static str, String>,
    },
    Postgres {
        client: postgres::Client,
        prepared: HashMap<&'static str, postgres::Statement>,
    },
}

const BARE_TABLES: &str = "
CREATE TABLE gb_people (id BLOB PRIMARY KEY, email TEXT NOT NULL UNIQUE, restricted BIGINT NOT NULL DEFAULT 0);
CREATE TABLE gb_records (id BLOB PRIMARY KEY, person BLOB NOT NULL, category TEXT NOT NULL, purposes TEXT NOT NULL,
    source TEXT NOT NULL, collected_at BIGINT NOT NULL, expires_at BIGINT, objections TEXT NOT NULL DEFAULT '', value TEXT NOT NULL);
CREATE INDEX gb_records_person ON gb_records (person);
CREATE INDEX gb_records_expires ON gb_records (expires_at);";

const READ: &str = "SELECT id, category, value FROM gb_records WHERE person = $1 AND (purposes = '' OR purposes LIKE $2)";
const UPDATE: &str = "UPDATE gb_records SET value = $2 WHERE id = $1";
const DELETE_RECORDS: &str = "DELETE FROM gb_records WHERE person = $1";
const DELETE_PERSON: &str = "DELETE FROM gb_people WHERE id = $1";
const INSERT_PERSON: &str = "INSERT INTO gb_people (id, email) VALUES ($1, $2)";
const INSERT_RECORD: &str = "INSERT INTO gb_records (id, person, category, purposes, source, collected_at, expires_at, value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const META_BY_PURPOSE: &str = "SELECT p.restricted, r.objections FROM gb_people p JOIN gb_records r ON r.person = p.id WHERE p.email = $1 AND (r.purposes = '' OR r.purposes LIKE $2)";
/// What `META_BY_PERSON` returns.
const META_COLUMNS: [Col; 6] = [
    Col::Bytes,
    Col::Text,
    Col::Text,
    Col::Int,
    Col::Int,
    Col::Text,
];
const META_BY_PERSON: &str = "SELECT id, category, purposes, collected_at, expires_at, objections FROM gb_records WHERE person = $1";
const OBJECT: &str = "UPDATE gb_records SET objections = objections || $2 WHERE person = $1 AND objections NOT LIKE $3";
const RESTRICT: &str = "UPDATE gb_people SET restricted = 1 - restricted WHERE id = $1";
const EXPIRE: &str = "DELETE FROM gb_records WHERE expires_at <= $1 AND person NOT IN (SELECT id FROM gb_people WHERE restricted = 1)";
const REMAINING: &str = "SELECT count(*) FROM gb_records";

const STATEMENTS: [&str; 12] = [
    READ,
    UPDATE,
    DELETE_RECORDS,
    DELETE_PERSON,
    INSERT_PERSON,
    INSERT_RECORD,
    META_BY_PURPOSE,
    META_BY_PERSON,
    OBJECT,
    RESTRICT,
    EXPIRE,
    REMAINING,
];

/// What a bare row's column is read as.
#[derive(Clone, Copy)]
enum Col {
    Bytes,
    Int,
    Text,
}

impl Bare {
    fn sqlite(path: &std::path::Path) -> Bare {
        let conn = rusqlite::Connection::open(path).expect("open");
        // The settings ombud's own connections use: a fair comparison of the same file.
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
        .expect("pragmas");
        conn.execute_batch(BARE_TABLES).expect("tables");
        let numbered = STATEMENTS
            .iter()
            .map(|sql| (*sql, sql.replace('$', "?")))
            .collect();
        Bare::Sqlite { conn, numbered }
    }

    fn postgres(url: &str) -> Bare {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        client
            .batch_execute(&BARE_TABLES.replace("BLOB", "BYTEA"))
            .expect("tables");
        let prepared = STATEMENTS
            .iter()
            .map(|sql| (*sql, client.prepare(sql).expect("prepare")))
            .collect();
        Bare::Postgres { client, prepared }
    }

    fn batch(&mut self, sql: &str) {
        match self {
            Bare::Sqlite { conn, .. } => conn.execute_batch(sql).expect("batch"),
            Bare::Postgres { client, .. } => client.batch_execute(sql).expect("batch"),
        }
    }

    fn begin(&mut self) {
        self.batch(match self {
            Bare::Sqlite { .. } => "BEGIN IMMEDIATE",
            Bare::Postgres { .. } => "BEGIN",
        });
    }

    fn execute(&mut self, sql: &'static str, args: &[Arg]) -> u64 {
        match self {
            Bare::Sqlite { conn, numbered } => {
                let params = Arg::sqlite(args);
                conn.prepare_cached(&numbered[sql])
                    .expect("prepare")
                    .execute(params.as_slice())
                    .expect("execute") as u64
            }
            Bare::Postgres { client, prepared } => {
                let params = Arg::postgres(args);
                client
                    .execute(&prepared[sql], params.as_slice())
                    .expect("execute")
            }
        }
    }

    /// Reads every row into owned values, as a client would.
    fn rows(&mut self, sql: &'static str, args: &[Arg], cols: &[Col]) -> Vec<Vec<Value>> {
        match self {
            Bare::Sqlite { conn, numbered } => {
                let params = Arg::sqlite(args);
                let mut statement = conn.prepare_cached(&numbered[sql]).expect("prepare");
                let rows = statement
                    .query_map(params.as_slice(), |row| {
                        cols.iter()
                            .enumerate()
                            .map(|(i, col)| {
                                Ok(match col {
                                    Col::Bytes => Value::Bytes(row.get(i)?),
                                    Col::Int => Value::Int(row.get(i)?),
                                    Col::Text => Value::Text(row.get(i)?),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .expect("query");
                rows.collect::<rusqlite::Result<_>>().expect("rows")
            }
            Bare::Postgres { client, prepared } => {
                let params = Arg::postgres(args);
                client
                    .query(&prepared[sql], params.as_slice())
                    .expect("query")
                    .iter()
                    .map(|row| {
                        cols.iter()
                            .enumerate()
                            .map(|(i, col)| match col {
                                Col::Bytes => Value::Bytes(row.get(i)),
                                Col::Int => Value::Int(row.get(i)),
                                Col::Text => Value::Text(row.get(i)),
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    fn load(&mut self, size: Size, now: Timestamp) {
        let count = size.records / RECORDS_PER_PERSON;
        for first in (0..count).step_by(5_000) {
            self.begin();
            for n in first..(first + 5_000).min(count) {
                let id = bare_person(n);
                self.execute(
                    INSERT_PERSON,
                    &[Arg::Bytes(&id), Arg::Text(&format!("p{n}@example.fi"))],
                );
                let p = person(n, now);
                for (i, (category, purposes, value)) in records_of(n).into_iter().enumerate() {
                    let (collected_at, expires_at) = if i == 3 {
                        let expires = p
                            .security_collected_at
                            .to_zoned(jiff::tz::TimeZone::UTC)
                            .checked_add(2.years())
                            .expect("time")
                            .timestamp();
                        (p.security_collected_at, Some(expires))
                    } else {
                        (p.collected_at, None)
                    };
                    self.insert_record(
                        &bare_record(n, i),
                        &id,
                        category,
                        &purposes.join(","),
                        collected_at,
                        expires_at,
                        &value,
                    );
                }
            }
            self.batch("COMMIT");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_record(
        &mut self,
        id: &[u8],
        person: &[u8],
        category: &str,
        purposes: &str,
        collected_at: Timestamp,
        expires_at: Option<Timestamp>,
        value: &str,
    ) {
        // No expiry sorts last rather than as NULL, so every bound value is non-null.
        let expires = expires_at.map_or(i64::MAX, |t| t.as_second());
        self.execute(
            INSERT_RECORD,
            &[
                Arg::Bytes(id),
                Arg::Bytes(person),
                Arg::Text(category),
                Arg::Text(purposes),
                Arg::Text("subject"),
                Arg::Int(collected_at.as_second()),
                Arg::Int(expires),
                Arg::Text(value),
            ],
        );
    }

    fn run(&mut self, op: Op, now: Timestamp) -> bool {
        match op {
            Op::Read(key, purpose) => {
                let rows = self.rows(
                    READ,
                    &[
                        Arg::Bytes(&bare_person(key / RECORDS_PER_PERSON)),
                        Arg::Text(&format!("%{purpose}%")),
                    ],
                    &[Col::Bytes, Col::Text, Col::Text],
                );
                // Used as a client would use the answer.
                std::hint::black_box(rows.iter().flatten().map(Value::len).sum::<usize>());
                !rows.is_empty()
            }
            Op::Update(key) => {
                let value = format!("rectified {key}");
                self.execute(
                    UPDATE,
                    &[
                        Arg::Bytes(&bare_record(key / RECORDS_PER_PERSON, key % 4)),
                        Arg::Text(&value),
                    ],
                ) > 0
            }
            Op::Delete(key) => {
                let id = bare_person(key / RECORDS_PER_PERSON);
                self.begin();
                let records = self.execute(DELETE_RECORDS, &[Arg::Bytes(&id)]);
                self.execute(DELETE_PERSON, &[Arg::Bytes(&id)]);
                self.batch("COMMIT");
                records > 0
            }
            Op::Insert(n) => {
                let id = bare_person(n as usize + 1_000_000_000);
                self.begin();
                self.execute(
                    INSERT_PERSON,
                    &[
                        Arg::Bytes(&id),
                        Arg::Text(&format!("p{}@example.fi", n as usize + 1_000_000_000)),
                    ],
                );
                self.insert_record(
                    &bare_record(n as usize + 1_000_000_000, 0),
                    &id,
                    "user.contact.email",
                    "",
                    now,
                    None,
                    &format!("new{n}@example.fi"),
                );
                self.batch("COMMIT");
                true
            }
            Op::ReadMetaByPurpose(key, purpose) => {
                let rows = self.rows(
                    META_BY_PURPOSE,
                    &[
                        Arg::Text(&format!("p{}@example.fi", key / RECORDS_PER_PERSON)),
                        Arg::Text(&format!("%{purpose}%")),
                    ],
                    &[Col::Int, Col::Text],
                );
                let allowed = rows.iter().any(|row| {
                    matches!((&row[0], &row[1]), (Value::Int(0), Value::Text(o)) if !o.contains(purpose))
                });
                std::hint::black_box(allowed);
                !rows.is_empty()
            }
            // A bare store keeps no trail of who did what: what it can show a regulator about
            // a person (the log read) is the metadata kept beside the records.
            Op::ReadMetaByPerson(key) | Op::ReadLog(key) => {
                let rows = self.rows(
                    META_BY_PERSON,
                    &[Arg::Bytes(&bare_person(key / RECORDS_PER_PERSON))],
                    &META_COLUMNS,
                );
                !rows.is_empty()
            }
            Op::UpdateMetaByPurpose(key, purpose) => {
                let id = bare_person(key / RECORDS_PER_PERSON);
                self.execute(
                    OBJECT,
                    &[
                        Arg::Bytes(&id),
                        Arg::Text(&format!("{purpose},")),
                        Arg::Text(&format!("%{purpose},%")),
                    ],
                );
                // Whether the person is still there, as ombud answers.
                self.exists(&id)
            }
            Op::UpdateMetaByPerson(key) => {
                self.execute(
                    RESTRICT,
                    &[Arg::Bytes(&bare_person(key / RECORDS_PER_PERSON))],
                ) > 0
            }
        }
    }

    fn exists(&mut self, person: &[u8]) -> bool {
        !self
            .rows(META_BY_PERSON, &[Arg::Bytes(person)], &[Col::Bytes])
            .is_empty()
    }

    fn sweep(&mut self, now: Timestamp) -> u64 {
        self.execute(EXPIRE, &[Arg::Int(now.as_second())])
    }

    fn remaining(&mut self) -> u64 {
        match self
            .rows(REMAINING, &[], &[Col::Int])
            .first()
            .map(|r| &r[0])
        {
            Some(Value::Int(n)) => *n as u64,
            _ => 0,
        }
    }
}

#[derive(Debug)]
enum Value {
    Bytes(Vec<u8>),
    Int(i64),
    Text(String),
}

impl Value {
    fn len(&self) -> usize {
        match self {
            Value::Bytes(b) => b.len(),
            Value::Int(_) => 8,
            Value::Text(t) => t.len(),
        }
    }
}

fn bare_person(n: usize) -> [u8; 16] {
    (n as u128).to_be_bytes()
}

fn bare_record(n: usize, i: usize) -> [u8; 16] {
    ((n as u128) << 8 | i as u128).to_be_bytes()
}

struct Measured {
    seconds: f64,
    p50: Duration,
    p99: Duration,
    /// Per operation: whether it found the person's data.
    hits: Vec<bool>,
    /// Per operation: how long it took.
    each: Vec<Duration>,
}

fn measure(ops: &[Op], mut run: impl FnMut(Op) -> bool) -> Measured {
    let mut latencies = Vec::with_capacity(ops.len());
    let mut hits = Vec::with_capacity(ops.len());
    let start = Instant::now();
    for op in ops {
        let t = Instant::now();
        hits.push(run(*op));
        latencies.push(t.elapsed());
    }
    let seconds = start.elapsed().as_secs_f64();
    let each = latencies.clone();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Measured {
        seconds,
        p50: at(0.50),
        p99: at(0.99),
        hits,
        each,
    }
}

struct Backend {
    name: &'static str,
    ombud: Box<dyn Store>,
    bare: Bare,
    _dir: Option<tempfile::TempDir>,
}

fn sqlite_backend() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = SqliteStore::open(&path, &MasterKey::generate().expect("key")).expect("store");
    let bare = Bare::sqlite(&path);
    // Kept for looking into with sqlite3 after the run.
    let dir = if std::env::var_os("OMBUD_GDPRBENCH_KEEP").is_some() {
        eprintln!("the SQLite database stays at {}", path.display());
        let _ = dir.keep();
        None
    } else {
        Some(dir)
    };
    Backend {
        name: "SQLite",
        ombud: Box::new(store),
        bare,
        _dir: dir,
    }
}

fn postgres_backend(base: &str) -> Backend {
    let schema = format!("ombud_bench_gdpr_{}", std::process::id());
    let mut admin = postgres::Client::connect(base, postgres::NoTls).expect("connect");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let store = PostgresStore::connect(&url, &MasterKey::generate().expect("key")).expect("store");
    Backend {
        name: "PostgreSQL",
        ombud: Box::new(store),
        bare: Bare::postgres(&url),
        _dir: None,
    }
}

fn drop_postgres_schema(base: &str) {
    let schema = format!("ombud_bench_gdpr_{}", std::process::id());
    if let Ok(mut admin) = postgres::Client::connect(base, postgres::NoTls) {
        let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}

/// One backend's run of every mix, printing a line per mix; checks that both sides
/// answered every operation alike and ended with the same records.
fn run_backend(backend: Backend, size: Size) {
    let now: Timestamp = "2026-11-28T12:00:00Z".parse().expect("time");
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let Backend {
        name,
        ombud,
        mut bare,
        _dir,
    } = backend;
    let load = Instant::now();
    let mut ombud = Ombud::load(ombud, policy, size, now);
    let ombud_load = load.elapsed();
    let load = Instant::now();
    bare.load(size, now);
    let bare_load = load.elapsed();
    println!(
        "{name}: loaded {} records of {} people: ombud {:.2} s, bare {:.2} s",
        size.records,
        size.records / RECORDS_PER_PERSON,
        ombud_load.as_secs_f64(),
        bare_load.as_secs_f64()
    );
    let mut inserted = 0;
    let only = std::env::var("OMBUD_GDPRBENCH_MIXES").ok();
    for (i, mix) in MIXES.iter().enumerate() {
        let ops = operations(mix, size, 20_200_713 + i as u64, &mut inserted);
        if only
            .as_ref()
            .is_some_and(|only| !only.split(',').any(|m| m == mix.name))
        {
            continue;
        }
        let ours = measure(&ops, |op| match ombud.run(op) {
            Ok(hit) => hit,
            // What the API answers with 404: the person was erased earlier in the run.
            Err(StoreError::NotFound(_)) => false,
            Err(e) => panic!("{op:?}: {e}"),
        });
        let theirs = measure(&ops, |op| bare.run(op, now));
        // The audit trail outlives an erased person; the bare store keeps nothing to compare.
        let compared = |i: &usize| !matches!(ops[*i], Op::ReadLog(_));
        if let Some(i) = (0..ops.len())
            .filter(compared)
            .find(|&i| ours.hits[i] != theirs.hits[i])
        {
            panic!(
                "{name} {}: operation {i} ({:?}) found data on one side only (ombud: {})",
                mix.name, ops[i], ours.hits[i]
            );
        }
        println!("{}", row(name, mix.name, &ours, &theirs, ops.len()));
        if std::env::var_os("OMBUD_GDPRBENCH_DETAIL").is_some() {
            detail(&ops, &ours, &theirs);
        }
    }
    // The regulator's last step: how long until what is past its retention is gone.
    let t = Instant::now();
    let swept = ombud.sweep();
    let ours = t.elapsed();
    let t = Instant::now();
    let bare_swept = bare.sweep(now);
    let theirs = t.elapsed();
    assert_eq!(
        swept, bare_swept,
        "{name}: ombud's sweep and the bare store's expiry removed different records"
    );
    assert_eq!(
        ombud.remaining(),
        bare.remaining(),
        "{name}: ombud and the bare store hold different records after the run"
    );
    println!(
        "{name:<10} {:<11} {swept:>8} records past retention removed: ombud {:>9.1} ms, bare {:>9.1} ms, ratio {:>4.0} %",
        "deletion",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        100.0 * theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9),
    );
}

/// Medians per kind of operation, for finding where a mix spends its time.
fn detail(ops: &[Op], ours: &Measured, theirs: &Measured) {
    let mut kinds: Vec<&'static str> = ops.iter().map(|op| op.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let median = |m: &Measured| {
            let mut all: Vec<Duration> = (0..ops.len())
                .filter(|&i| ops[i].kind() == kind)
                .map(|i| m.each[i])
                .collect();
            all.sort();
            (all.len(), all[all.len() / 2], all[all.len() * 99 / 100])
        };
        let ((n, a50, a99), (_, b50, b99)) = (median(ours), median(theirs));
        println!(
            "    {kind:<22} {n:>6} ombud p50 {:>8.1} µs p99 {:>8.1} µs | bare p50 {:>8.1} µs p99 {:>8.1} µs",
            a50.as_secs_f64() * 1e6,
            a99.as_secs_f64() * 1e6,
            b50.as_secs_f64() * 1e6,
            b99.as_secs_f64() * 1e6
        );
    }
}

fn row(backend: &str, mix: &str, ours: &Measured, theirs: &Measured, n: usize) -> String {
    let rate = |m: &Measured| n as f64 / m.seconds;
    format!(
        "{backend:<10} {mix:<11} ombud {:>8.0} ops/s p50 {:>7.1} µs p99 {:>8.1} µs | bare {:>8.0} ops/s p50 {:>7.1} µs p99 {:>8.1} µs | ratio {:>4.0} % ({} of {} found data)",
        rate(ours),
        ours.p50.as_secs_f64() * 1e6,
        ours.p99.as_secs_f64() * 1e6,
        rate(theirs),
        theirs.p50.as_secs_f64() * 1e6,
        theirs.p99.as_secs_f64() * 1e6,
        100.0 * rate(ours) / rate(theirs),
        ours.hits.iter().filter(|h| **h).count(),
        n,
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full {
        Size {
            records: 100_000,
            operations: 10_000,
        }
    } else {
        Size {
            records: 4_000,
            operations: 400,
        }
    };
    println!(
        "GDPRbench-style mixes, {} records, {} operations per mix, one client thread",
        size.records, size.operations
    );
    run_backend(sqlite_backend(), size);
    if let Ok(base) = std::env::var("OMBUD_DATABASE_URL")
        && base.starts_with("postgres")
    {
        run_backend(postgres_backend(&base), size);
        drop_postgres_schema(&base);
    }
}
