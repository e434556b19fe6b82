//! Sweep throughput on the embedded store: 50,000 expired records (5,000 subjects with ten
//! security-log records each, past the two years the invoicing example keeps them), removed by
//! one sweep. The baseline, measured in the same run, is reading the same records' metadata in
//! the same batches without deciding or removing anything.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_app::sweeper::{BATCH_SUBJECTS, Sweep};
use ombud_core::access::DataRole;
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::time::Duration;

const SUBJECTS: usize = 5_000;
const RECORDS_PER_SUBJECT: usize = 10;
const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

fn filled() -> (tempfile::TempDir, SqliteStore, TenantId) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::generate().expect("key"),
    )
    .expect("store");
    let then: Timestamp = "2023-01-01T00:00:00Z".parse().expect("time");
    let tenant = store
        .create_tenant("Bench", true, &Actor::Cli, then)
        .expect("tenant")
        .id;
    let mut records = Vec::with_capacity(SUBJECTS * RECORDS_PER_SUBJECT);
    for n in 0..SUBJECTS {
        let subject = store
            .create_subject(
                tenant,
                &[
                    Identity::parse(IdentityKind::Email, &format!("p{n}@example.fi"))
                        .expect("email"),
                ],
                &Actor::Cli,
                then,
            )
            .expect("subject");
        for _ in 0..RECORDS_PER_SUBJECT {
            records.push(NewRecord {
                id: None,
                subject,
                category: "user.device.ip_address".into(),
                purposes: vec!["security".into()],
                source: "subject".into(),
                collected_at: then,
                value: Secret::new("192.0.2.10"),
            });
        }
    }
    for chunk in records.chunks(5_000) {
        store
            .put_records(tenant, chunk, &Actor::Cli, then)
            .expect("records");
    }
    (dir, store, tenant)
}

fn sweep(c: &mut Criterion) {
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let tz = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
    let now: Timestamp = "2026-03-01T00:00:00Z".parse().expect("time");
    let mut group = c.benchmark_group("sweep_50000_expired_records");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(
            (SUBJECTS * RECORDS_PER_SUBJECT) as u64,
        ));

    let (_dir, store, tenant) = filled();
    group.bench_function("baseline_read_metadata_in_batches", |b| {
        b.iter(|| {
            let mut after = None;
            let mut seen = 0;
            loop {
                let batch = store
                    .retention_batch(tenant, after, BATCH_SUBJECTS)
                    .expect("batch");
                let Some(last) = batch.last() else { break };
                after = Some(last.subject);
                seen += batch.iter().map(|s| s.records.len()).sum::<usize>();
            }
            assert_eq!(seen, SUBJECTS * RECORDS_PER_SUBJECT);
        })
    });
    group.bench_function("dry_run_decide_only", |b| {
        b.iter(|| {
            let report = Sweep {
                store: &store,
                policy: &policy,
                time_zone: &tz,
                tenant,
                data_role: DataRole::Controller,
                now,
                dry_run: true,
            }
            .run(|_| {})
            .expect("sweep");
            assert_eq!(report.records as usize, SUBJECTS * RECORDS_PER_SUBJECT);
        })
    });
    group.bench_function("sweep", |b| {
        b.iter_batched(
            filled,
            |(dir, store, tenant)| {
                let report = Sweep {
                    store: &store,
                    policy: &policy,
                    time_zone: &tz,
                    tenant,
                    data_role: DataRole::Controller,
                    now,
                    dry_run: false,
                }
                .run(|_| {})
                .expect("sweep");
                assert_eq!(report.records as usize, SUBJECTS * RECORDS_PER_SUBJECT);
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
