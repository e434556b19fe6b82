//! Scoping a breach by key and window over a large audit log: 10,000,000 entries from 1,000
//! keys over 30 days, of which one leaked key made 100,000 reads; the incident is scoped to that
//! key over the whole period (every one of its reads found, attributed to people and
//! categories). The baseline, measured in the same run, counts the same entries through the
//! same index without reading them. Under `cargo test` (no `--bench`) the log is 100 times
//! smaller, so the suite stays quick.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use ombud_app::breach::impact_of;
use ombud_store::crypto::MasterKey;
use ombud_store::incidents::Scope;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::time::Duration;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");
const KEYS: u64 = 1_000;
const PEOPLE: u64 = 200_000;
const DAYS: i64 = 30;

fn scope(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let entries: u64 = if full { 10_000_000 } else { 100_000 };
    let leaked_reads = entries / 100;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let key = MasterKey::generate().expect("key");
    let start: Timestamp = "2026-10-01T00:00:00Z".parse().expect("time");
    let tenant = {
        let store = SqliteStore::open(&path, &key).expect("store");
        store
            .create_tenant("Bench", true, &Actor::Cli, start)
            .expect("tenant")
            .id
    };
    // Written straight into the table: the chain's hashes do not matter to scoping, and
    // appending ten million entries through the store would take the bench's whole budget.
    {
        let mut conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
            .expect("pragmas");
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, 'records.read', ?5, ?6, 'security', 'returned=1 withheld=0', zeroblob(32), zeroblob(32))",
                )
                .expect("prepare");
            let span = DAYS * 24 * 3600 * 1_000_000;
            let base = start.as_microsecond();
            for n in 0..entries {
                // Every hundredth entry is the leaked key's; the rest spread over the others.
                let actor = if n % 100 == 0 {
                    "key:00000000-0000-7000-8000-000000000000".to_owned()
                } else {
                    format!("key:00000000-0000-7000-8000-{:012}", 1 + n % (KEYS - 1))
                };
                let subject =
                    uuid::Uuid::from_u128(u128::from(n.wrapping_mul(2_654_435_761) % PEOPLE) + 1);
                let category = if n % 3 == 0 {
                    r#"["user.contact.email"]"#
                } else {
                    r#"["user.device.ip_address"]"#
                };
                insert
                    .execute(rusqlite::params![
                        tenant.0.as_bytes(),
                        i64::try_from(n + 10).expect("seq"),
                        base + i64::try_from(
                            i128::from(n) * i128::from(span) / i128::from(entries)
                        )
                        .expect("time"),
                        actor,
                        subject.as_bytes(),
                        category,
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
        conn.execute_batch("ANALYZE").expect("analyze");
    }
    let store = SqliteStore::open(&path, &key).expect("store");
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let tenants = store.tenants().expect("tenants");
    let scope = Scope {
        actor: Some("key:00000000-0000-7000-8000-000000000000".into()),
        categories: vec![],
        tenants: vec![tenant],
        from: start,
        until: start + SignedDuration::from_hours(24 * DAYS),
    };
    let raw = rusqlite::Connection::open(&path).expect("raw");

    let mut group = c.benchmark_group(format!("scope_by_key_over_{entries}_audit_entries"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("baseline_count_the_keys_entries", |b| {
        b.iter(|| {
            let count: i64 = raw
                .query_row(
                    "SELECT COUNT(*) FROM audit_log WHERE tenant_id = ?1 AND actor = ?2 AND at >= ?3 AND at < ?4",
                    rusqlite::params![
                        tenant.0.as_bytes(),
                        scope.actor.as_deref().expect("actor"),
                        scope.from.as_microsecond(),
                        scope.until.as_microsecond()
                    ],
                    |row| row.get(0),
                )
                .expect("count");
            assert_eq!(count as u64, leaked_reads);
        })
    });
    group.bench_function("scope_and_impact", |b| {
        b.iter(|| {
            let impact = impact_of(&store, &policy, &tenants, &scope).expect("impact");
            assert_eq!(impact.records, leaked_reads);
            assert!(impact.subjects > 0);
        })
    });
    group.finish();
}

criterion_group!(benches, scope);
criterion_main!(benches);
