//! Queuing a notice to a large audience on the embedded store: 100,000 people holding an email
//! address, a mandatory security notice to everyone holding `user.contact.email` — the audience
//! resolved, every address opened, each delivery decided, and the ledger lines, sealed outbox
//! mails and audit entry written in one transaction. The baseline, measured in the same run, is
//! resolving the same audience and opening the addresses without writing anything. Every
//! iteration adds a notice, so later ones run against a ledger of millions of lines, as a
//! store that has sent many notices does. Last, reading what one person received from that
//! ledger. Under `cargo test` (no `--bench`) the audience is 100 times smaller.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_app::notices::{Sending, send};
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret};
use ombud_store::notices::Audience;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::time::Duration;

const POLICY: &str = include_str!("../../../examples/public-cloud.toml");

fn notices(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let people: usize = if full { 100_000 } else { 1_000 };
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::generate().expect("key"),
    )
    .expect("store");
    let then: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let tenant = store
        .create_tenant("Bench", true, &Actor::Cli, then)
        .expect("tenant")
        .id;
    let mut records = Vec::with_capacity(people);
    for n in 0..people {
        let address = format!("person{n}@example.fi");
        let subject = store
            .create_subject(
                tenant,
                &[Identity::parse(IdentityKind::Email, &address).expect("email")],
                &Actor::Cli,
                then,
            )
            .expect("subject");
        records.push(NewRecord {
            id: None,
            subject,
            category: "user.contact.email".into(),
            purposes: vec![],
            source: "subject".into(),
            collected_at: then,
            value: Secret::new(address),
        });
    }
    for chunk in records.chunks(5_000) {
        store
            .put_records(tenant, chunk, &Actor::Cli, then)
            .expect("records");
    }
    store.maintain().expect("statistics");
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let audience = Audience::Category("user.contact.email".into());
    let now: Timestamp = "2026-06-01T00:00:00Z".parse().expect("time");

    let mut group = c.benchmark_group(format!("notice_to_{people}_people"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(people as u64));
    group.bench_function("baseline_resolve_audience_and_open_addresses", |b| {
        b.iter(|| {
            let found = store.notice_audience(tenant, &audience).expect("audience");
            assert_eq!(found.len(), people);
        })
    });
    group.bench_function("queue_security_notice", |b| {
        b.iter(|| {
            let notice = send(
                &store,
                &policy,
                tenant,
                tenant,
                Sending {
                    kind: "security".into(),
                    subject: "A security issue in the console".into(),
                    body: "We found and fixed an issue; here is what it means for you.".into(),
                    audience: audience.clone(),
                },
                &Actor::Cli,
                now,
            )
            .expect("sent");
            assert_eq!(notice.queued, people as u64);
        })
    });
    // After the sends above the ledger holds millions of lines: what one person received is
    // still read notice by notice through the primary key.
    let person = records[people / 2].subject;
    group.throughput(Throughput::Elements(1));
    group.bench_function("what_one_person_received", |b| {
        b.iter(|| {
            let lines = store.subject_notices(tenant, person).expect("received");
            assert!(!lines.is_empty());
        })
    });
    group.finish();
}

criterion_group!(benches, notices);
criterion_main!(benches);
