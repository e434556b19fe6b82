//! The figures for the rights desk on the embedded store: an access request for a
//! subject with 1,000 records from verified to zip ready (read, decrypt, build the zip, seal it,
//! keep it, queue the answer), and the erasure of such a subject (which keeps the invoices the
//! accounting law holds, on a new key). The baseline, measured in the same run, is reading and
//! decrypting the same 1,000 records and nothing else.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_app::rights::{Desk, Filing};
use ombud_app::secrets::Secrets;
use ombud_core::requests::RequestKind;
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewEvent, NewRecord, Secret, SubjectId, TenantId};
use ombud_store::requests::RequestId;
use ombud_store::{Actor, SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

const RECORDS: usize = 1_000;
const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

struct Bench {
    desk: Desk,
    tenant: TenantId,
    now: Timestamp,
    people: std::cell::Cell<usize>,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temporary directory");
        let master = MasterKey::generate().expect("key");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().expect("time");
        let tenant = store
            .create_tenant("Bench Oy", true, &Actor::Cli, now)
            .expect("tenant")
            .id;
        let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
        let desk = Desk {
            store,
            time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
            policy: Arc::new(policy),
            secrets: Arc::new(Secrets::from_master(&master)),
            public_url: "https://privacy.example".into(),
            connectors: Arc::default(),
        };
        Bench {
            desk,
            tenant,
            now,
            people: std::cell::Cell::new(0),
            _dir: dir,
        }
    }

    /// A customer with 1,000 records: contact details, usage, and one invoice in ten.
    fn person(&self) -> SubjectId {
        let n = self.people.get();
        self.people.set(n + 1);
        let store = &self.desk.store;
        let email = format!("person{n}@example.fi");
        let subject = store
            .create_subject(
                self.tenant,
                &[Identity::parse(IdentityKind::Email, &email).expect("email")],
                &Actor::Cli,
                self.now,
            )
            .expect("subject");
        let records: Vec<NewRecord> = (0..RECORDS)
            .map(|i| {
                let (category, purposes, value) = match i % 10 {
                    0 => (
                        "user.financial",
                        vec!["invoicing".to_owned(), "accounting".to_owned()],
                        format!("INV-2026-{i:05} {}.00 EUR", 100 + i),
                    ),
                    1 => ("user.name", vec![], "Aino Esimerkki".to_owned()),
                    2 => ("user.contact.email", vec![], email.clone()),
                    _ => (
                        "user.contact.address",
                        vec![],
                        format!("Esimerkkikatu {i}, 00100 Helsinki, Finland"),
                    ),
                };
                NewRecord {
                    id: None,
                    subject,
                    category: category.into(),
                    purposes,
                    source: "subject".into(),
                    collected_at: self.now,
                    value: Secret::new(value),
                }
            })
            .collect();
        store
            .put_records(self.tenant, &records, &Actor::Cli, self.now)
            .expect("records");
        store
            .add_event(
                self.tenant,
                subject,
                &NewEvent {
                    id: None,
                    kind: EventKind::ContractStart,
                    purpose: None,
                    occurred_at: "2025-01-01T00:00:00Z".parse().expect("time"),
                    channel: None,
                    policy_version: None,
                },
                &Actor::Cli,
                self.now,
            )
            .expect("contract");
        subject
    }

    /// A request the operator's application vouches for: verified as it is filed.
    fn verified(&self, kind: RequestKind, subject: SubjectId) -> RequestId {
        let filing = Filing {
            kind,
            email: Some("aino@example.fi".into()),
            subject: Some(subject),
            purpose: None,
            category: None,
            record: None,
            new_value: None,
            channel: "bench".into(),
            vouched: true,
        };
        self.desk
            .file(self.tenant, filing, &Actor::Cli, self.now)
            .expect("filed")
            .id
    }
}

fn rights(c: &mut Criterion) {
    let bench = Bench::new();
    let mut group = c.benchmark_group("rights_1000_records");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(15));

    let reader = bench.person();
    group.bench_function("baseline_read_and_decrypt", |b| {
        b.iter(|| {
            let records = bench
                .desk
                .store
                .records(bench.tenant, reader)
                .expect("read");
            assert_eq!(records.len(), RECORDS);
        })
    });

    group.bench_function("access_verified_to_zip_ready", |b| {
        b.iter_batched(
            || bench.verified(RequestKind::Access, reader),
            |id| {
                let done = bench
                    .desk
                    .fulfil(bench.tenant, id, &Actor::Cli, bench.now)
                    .expect("fulfilled");
                assert!(done.download_url.is_some());
            },
            BatchSize::PerIteration,
        )
    });

    group.bench_function("erasure_keeping_invoices", |b| {
        b.iter_batched(
            || {
                let subject = bench.person();
                bench.verified(RequestKind::Erasure, subject)
            },
            |id| {
                let done = bench
                    .desk
                    .fulfil(bench.tenant, id, &Actor::Cli, bench.now)
                    .expect("erased");
                let outcome = done.request.outcome.expect("an outcome");
                assert!(outcome.contains("\"kept\""), "invoices are held: {outcome}");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, rights);
criterion_main!(benches);
