//! Bulk writes: `put_records` (a data key per subject, XChaCha20-Poly1305 per value, an audit
//! entry per subject, all in one transaction) against plain SQLite inserts of the same rows,
//! in clear, into a table of the same shape: the baseline measured in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use rusqlite::params;

const SUBJECTS_PER_BATCH: usize = 100;
const RECORDS_PER_SUBJECT: usize = 10;
const BATCH: usize = SUBJECTS_PER_BATCH * RECORDS_PER_SUBJECT;

fn batch(subjects: &[SubjectId], round: usize, now: Timestamp) -> Vec<NewRecord> {
    let start = (round * SUBJECTS_PER_BATCH) % subjects.len();
    let mut records = Vec::with_capacity(BATCH);
    for subject in subjects.iter().cycle().skip(start).take(SUBJECTS_PER_BATCH) {
        for n in 0..RECORDS_PER_SUBJECT {
            records.push(NewRecord {
                id: None,
                subject: *subject,
                category: "user.contact.address".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: now,
                value: Secret::new(format!("Esimerkkikatu {n}, 00100 Helsinki, Finland")),
            });
        }
    }
    records
}

fn write(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::generate().expect("key"),
    )
    .expect("store");
    let tenant = store
        .create_tenant("Bench", false, &Actor::Cli, now)
        .expect("tenant");
    let subjects: Vec<SubjectId> = (0..10_000)
        .map(|n| {
            let email = Identity::parse(IdentityKind::Email, &format!("person{n}@example.com"))
                .expect("email");
            store
                .create_subject(tenant.id, &[email], &Actor::Cli, now)
                .expect("subject")
        })
        .collect();

    let plain = rusqlite::Connection::open(dir.path().join("plain.db")).expect("plain db");
    plain
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE records (tenant_id BLOB NOT NULL, subject_id BLOB NOT NULL, record_id BLOB NOT NULL, category TEXT NOT NULL,
                 purposes TEXT NOT NULL, source TEXT NOT NULL, collected_at INTEGER NOT NULL, value TEXT NOT NULL,
                 PRIMARY KEY (tenant_id, subject_id, record_id)) WITHOUT ROWID;",
        )
        .expect("schema");

    let mut group = c.benchmark_group("bulk_write_1000_records");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);
    let mut round = 0;
    group.bench_function("plain_sqlite_baseline", |b| {
        b.iter(|| {
            round += 1;
            let records = batch(&subjects, round, now);
            let tx = plain.unchecked_transaction().expect("transaction");
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                    .expect("statement");
                for record in &records {
                    insert
                        .execute(params![
                            tenant.id.0.as_bytes(),
                            record.subject.0.as_bytes(),
                            uuid::Uuid::now_v7().as_bytes(),
                            record.category,
                            "",
                            record.source,
                            record.collected_at.as_microsecond(),
                            record.value.expose()
                        ])
                        .expect("insert");
                }
            }
            tx.commit().expect("commit");
        })
    });
    let mut round = 0;
    group.bench_function("ombud_put_records", |b| {
        b.iter(|| {
            round += 1;
            let records = batch(&subjects, round, now);
            store
                .put_records(tenant.id, &records, &Actor::System, now)
                .expect("written");
        })
    });
    group.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
