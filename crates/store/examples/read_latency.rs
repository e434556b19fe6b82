//! Latency of reading all records of one subject in a large store: builds (or reuses) a store
//! of N subjects with M records each, then times `records()` for random subjects and prints the
//! percentiles.
//!
//! cargo run --release -p ombud-store --example read_latency -- [--subjects 1000000]
//!     [--records 10] [--samples 10000] [--dir target/bench-read] [--postgres URL]

use jiff::Timestamp;
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId, TenantId};
use ombud_store::{Actor, PostgresStore, SqliteStore, Store};
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    subjects: usize,
    records: usize,
    samples: usize,
    dir: PathBuf,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        subjects: 1_000_000,
        records: 10,
        samples: 10_000,
        dir: PathBuf::from("target/bench-read"),
        postgres: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--subjects" => options.subjects = value.parse().expect("--subjects takes a number"),
            "--records" => options.records = value.parse().expect("--records takes a number"),
            "--samples" => options.samples = value.parse().expect("--samples takes a number"),
            "--dir" => options.dir = PathBuf::from(value),
            "--postgres" => options.postgres = Some(value),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// A tiny deterministic generator, so runs sample the same subjects.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() {
    let options = options();
    std::fs::create_dir_all(&options.dir).expect("bench directory");
    let key = MasterKey::from_hex(&"42".repeat(32)).expect("key");
    let store: Box<dyn Store> = match &options.postgres {
        Some(url) => Box::new(PostgresStore::connect(url, &key).expect("postgres")),
        None => Box::new(SqliteStore::open(&options.dir.join("ombud.db"), &key).expect("sqlite")),
    };
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let tenant_name = format!("bench-{}x{}", options.subjects, options.records);
    let existing = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.name == tenant_name);
    let (tenant, subjects) = match existing {
        Some(tenant) => {
            println!("reusing {tenant_name}");
            let subjects = (0..options.subjects)
                .map(|n| {
                    let email =
                        Identity::parse(IdentityKind::Email, &format!("person{n}@example.com"))
                            .expect("email");
                    store
                        .find_subject(tenant.id, &email)
                        .expect("lookup")
                        .expect("built before")
                })
                .collect::<Vec<_>>();
            (tenant.id, subjects)
        }
        None => build(store.as_ref(), &tenant_name, &options, now),
    };

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut latencies = Vec::with_capacity(options.samples);
    for _ in 0..options.samples {
        let subject = subjects[(rng.next() % subjects.len() as u64) as usize];
        let started = Instant::now();
        let records = store.records(tenant, subject).expect("records");
        latencies.push(started.elapsed());
        assert_eq!(records.len(), options.records);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "records() of one subject among {} subjects / {} records, {} samples: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        options.subjects,
        options.subjects * options.records,
        options.samples,
        at(0.50),
        at(0.90),
        at(0.99),
        latencies[latencies.len() - 1]
    );
}

fn build(
    store: &dyn Store, name: &str, options: &Options, now: Timestamp,
) -> (TenantId, Vec<SubjectId>) {
    let tenant = store
        .create_tenant(name, false, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let started = Instant::now();
    let mut subjects = Vec::with_capacity(options.subjects);
    for n in 0..options.subjects {
        let email =
            Identity::parse(IdentityKind::Email, &format!("person{n}@example.com")).expect("email");
        subjects.push(
            store
                .create_subject(tenant, &[email], &Actor::Cli, now)
                .expect("subject"),
        );
        if n % 100_000 == 99_999 {
            println!(
                "  {} subjects, {:.0}/s",
                n + 1,
                (n + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let started = Instant::now();
    let per_batch = (1000 / options.records.max(1)).max(1);
    for (i, chunk) in subjects.chunks(per_batch).enumerate() {
        let records: Vec<NewRecord> = chunk
            .iter()
            .flat_map(|subject| {
                (0..options.records).map(move |n| NewRecord {
                    id: None,
                    subject: *subject,
                    category: "user.contact.address".into(),
                    purposes: vec![],
                    source: "subject".into(),
                    collected_at: now,
                    value: Secret::new(format!("Esimerkkikatu {n}, 00100 Helsinki, Finland")),
                })
            })
            .collect();
        store
            .put_records(tenant, &records, &Actor::Cli, now)
            .expect("records");
        if i % 1000 == 999 {
            let done = (i + 1) * per_batch * options.records;
            println!(
                "  {done} records, {:.0}/s",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    (tenant, subjects)
}
