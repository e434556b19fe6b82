//! The connectors' figures on a generated application database: 20,000 people and 700,000
//! rows over 8 tables (users, addresses, orders, order items, payments, logins, messages, an
//! audit log), with the indexes such a database has on its foreign keys and email column.
//! Measured on SQLite always and on PostgreSQL when OMBUD_TEST_POSTGRES_URL is set:
//! - access: every row one person reaches, found and read (the traversal, batched queries);
//! - erasure: reach, plan and carry out (one transaction), a different person each time;
//! - 1,000 access traversals back to back (reported by criterion as time per 1,000);
//! - retention on a log table: 100,000 rows past two years removed in batches.
//!
//!   cargo bench -p ombud-app --bench datasets

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use ombud_connect::reach::Requester;
use ombud_connect::{Connection, Connectors, Kind, native};
use ombud_core::facts::SubjectFacts;
use std::time::{Duration, Instant};

/// 20,000 people when benchmarking; a few hundred when the test suite runs each bench once.
fn people() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        400
    }
}
const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

const DATASET: &str = r#"key = "shop"
name = "Bench shop database"
purposes = ["service-delivery", "support", "security"]

[[collections]]
name = "users"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"
[[collections.fields]]
name = "name"
categories = ["user.name"]
[[collections.fields]]
name = "phone"
categories = ["user.contact.phone_number"]

[[collections]]
name = "addresses"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]
[[collections.fields]]
name = "street"
categories = ["user.contact.address.street"]
[[collections.fields]]
name = "city"
categories = ["user.contact.address.city"]

[[collections]]
name = "orders"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]
[[collections.fields]]
name = "total"
categories = ["system.operations"]

[[collections]]
name = "order_items"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "order_id"
categories = ["system.operations"]
references = [{ field = "orders.id", direction = "from" }]
[[collections.fields]]
name = "product"
categories = ["system.operations"]

[[collections]]
name = "payments"
erase = "delete"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "order_id"
categories = ["system.operations"]
references = [{ field = "orders.id", direction = "from" }]
[[collections.fields]]
name = "payer"
categories = ["user.name"]

[[collections]]
name = "logins"
expires_by = "at"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]
[[collections.fields]]
name = "ip"
categories = ["user.device.ip_address"]
[[collections.fields]]
name = "at"
categories = ["system.operations"]

[[collections]]
name = "messages"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]
[[collections.fields]]
name = "body"
categories = ["user.contact.email"]

[[collections]]
name = "audit_log"
[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true
[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]
[[collections.fields]]
name = "action"
categories = ["system.operations"]
"#;

const SCHEMA: &str = "
CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(200), name VARCHAR(200), phone VARCHAR(40));
CREATE TABLE addresses (id BIGINT PRIMARY KEY, user_id BIGINT, street VARCHAR(200), city VARCHAR(100));
CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT, total DECIMAL(12,2));
CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT, product VARCHAR(100));
CREATE TABLE payments (id BIGINT PRIMARY KEY, order_id BIGINT, payer VARCHAR(200));
CREATE TABLE logins (id BIGINT PRIMARY KEY, user_id BIGINT, ip VARCHAR(64), at TIMESTAMP);
CREATE TABLE messages (id BIGINT PRIMARY KEY, user_id BIGINT, body VARCHAR(400));
CREATE TABLE audit_log (id BIGINT PRIMARY KEY, user_id BIGINT, action VARCHAR(100));
CREATE INDEX users_email ON users (email);
CREATE INDEX addresses_user ON addresses (user_id);
CREATE INDEX orders_user ON orders (user_id);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX logins_user ON logins (user_id);
CREATE INDEX messages_user ON messages (user_id);
CREATE INDEX audit_log_user ON audit_log (user_id);
";

/// The rows of every table, as INSERT statements of 1,000 rows each: per person 1 address,
/// 5 orders with 2 items and 1 payment each, 8 logins (5 of them older than two years),
/// 3 messages and 2 audit lines: 35 rows a person, 700,000 in all.
fn inserts() -> Vec<String> {
    let mut tables: Vec<(&str, Vec<String>)> = vec![
        ("users", vec![]),
        ("addresses", vec![]),
        ("orders", vec![]),
        ("order_items", vec![]),
        ("payments", vec![]),
        ("logins", vec![]),
        ("messages", vec![]),
        ("audit_log", vec![]),
    ];
    for p in 0..people() {
        let p64 = p as u64;
        tables[0].1.push(format!(
            "({p}, 'person{p}@example.com', 'Person {p}', '+35840{p:07}')"
        ));
        tables[1]
            .1
            .push(format!("({p}, {p}, 'Katu {p}', 'Helsinki')"));
        for o in 0..5u64 {
            let order = p64 * 5 + o;
            tables[2].1.push(format!("({order}, {p}, 10.00)"));
            for i in 0..2u64 {
                tables[3]
                    .1
                    .push(format!("({}, {order}, 'item {i}')", order * 2 + i));
            }
            tables[4]
                .1
                .push(format!("({order}, {order}, 'Person {p}')"));
        }
        for l in 0..8u64 {
            let year = if l < 5 { 2022 } else { 2026 };
            tables[5].1.push(format!(
                "({}, {p}, '192.0.2.{l}', '{year}-0{}-15 10:00:00')",
                p64 * 8 + l,
                l + 1
            ));
        }
        for m in 0..3u64 {
            tables[6]
                .1
                .push(format!("({}, {p}, 'message {m}')", p64 * 3 + m));
        }
        for a in 0..2u64 {
            tables[7]
                .1
                .push(format!("({}, {p}, 'action {a}')", p64 * 2 + a));
        }
    }
    let mut out = Vec::new();
    for (table, rows) in tables {
        for chunk in rows.chunks(1000) {
            out.push(format!("INSERT INTO {table} VALUES {}", chunk.join(", ")));
        }
    }
    out
}

struct Database {
    kind: Kind,
    url: String,
    /// The PostgreSQL schema the tables are in.
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema
            && let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn sqlite() -> Database {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("shop.db");
    let mut connection = rusqlite::Connection::open(&path).expect("creates");
    connection
        .execute_batch("PRAGMA journal_mode = WAL;")
        .expect("wal");
    let tx = connection.transaction().expect("tx");
    tx.execute_batch(SCHEMA).expect("schema");
    for statement in inserts() {
        tx.execute_batch(&statement).expect("rows");
    }
    tx.commit().expect("commit");
    Database {
        kind: Kind::Sqlite,
        url: path.display().to_string(),
        schema: None,
        _dir: dir,
    }
}

fn postgres(base: &str) -> Database {
    let schema = format!("bench_shop_{}", std::process::id());
    let mut client = postgres::Client::connect(base, postgres::NoTls).expect("connects");
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"))
        .expect("schema");
    client.batch_execute(SCHEMA).expect("tables");
    for statement in inserts() {
        client.batch_execute(&statement).expect("rows");
    }
    client.batch_execute("ANALYZE").expect("statistics");
    let separator = if base.contains('?') { '&' } else { '?' };
    Database {
        kind: Kind::Postgres,
        url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
        schema: Some(schema),
        _dir: tempfile::tempdir().expect("temporary directory"),
    }
}

fn connectors(db: &Database) -> Connectors {
    let (mut dataset, _) = native::parse("shop.toml", DATASET).expect("dataset");
    let url_file = db._dir.path().join("shop.url");
    std::fs::write(&url_file, format!("{}\n", db.url)).expect("url");
    dataset.connection = Some(Connection {
        kind: db.kind,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: db.schema.clone(),
    });
    Connectors::new(vec![dataset])
}

fn operator() -> Requester {
    Requester {
        tenant_id: "operator".into(),
        tenant_name: "Bench".into(),
        operator: true,
    }
}

fn identity(p: usize) -> Vec<(String, String)> {
    vec![("email".into(), format!("person{p}@example.com"))]
}

fn run(c: &mut Criterion, name: &str, db: &Database) {
    let connectors = connectors(db);
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let tz = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
    let people = people();
    let reached = connectors
        .reach(&operator(), &identity(7))
        .expect("reaches");
    let rows: usize = reached.iter().map(|r| r.rows.len()).sum();
    assert_eq!(rows, 35, "a person reaches their 35 rows");

    let mut group = c.benchmark_group(format!("datasets/{name}"));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    let mut p = 100;
    group.bench_function("access one person (35 rows of 700,000)", |b| {
        b.iter(|| {
            p = (p + 7919) % people;
            connectors
                .reach(&operator(), &identity(p))
                .expect("reaches")
        })
    });
    let mut next = people;
    let key = [7u8; 32];
    let facts = SubjectFacts::new(vec![]);
    let placed = |_: &str| None;
    group.bench_function("erasure of one person (reach, plan, carry out)", |b| {
        b.iter(|| {
            next -= 1;
            let found = connectors
                .reach(&operator(), &identity(next))
                .expect("reaches");
            let plans = ombud_app::datasets::plan(
                &ombud_app::datasets::Erasing {
                    policy: &policy,
                    connectors: &connectors,
                    facts: &facts,
                    placed: &placed,
                    mask_key: &key,
                    now: Timestamp::now(),
                    tz: &tz,
                },
                &found,
            )
            .expect("plans");
            ombud_app::datasets::execute(
                &connectors,
                &plans,
                &std::collections::BTreeSet::new(),
                &mut |_, _| Ok(()),
            )
            .expect("erases")
        })
    });
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("1,000 access traversals back to back", |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for i in 0..iterations {
                for n in 0..1000u64 {
                    let p = ((i * 1000 + n) as usize * 7919) % people;
                    connectors
                        .reach(&operator(), &identity(p))
                        .expect("reaches");
                }
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn retention(c: &mut Criterion, name: &str, db: &Database) {
    use ombud_connect::sql::{Expired, Expiry};
    let connectors = connectors(db);
    let mut group = c.benchmark_group(format!("datasets/{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let rows = 100_000u64;
    let before: Timestamp = "2024-11-27T00:00:00Z".parse().expect("time");
    group.bench_function("retention: 100,000 expired log rows removed", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                // Refill (untimed) 100,000 rows dated 2022 into the log table.
                let values: Vec<String> = (0..rows)
                    .map(|i| {
                        format!(
                            "({}, {}, '198.51.100.1', '2022-05-01 10:00:00')",
                            10_000_000 + i,
                            i % 20_000
                        )
                    })
                    .collect();
                let statements: Vec<String> = values
                    .chunks(1000)
                    .map(|c| format!("INSERT INTO logins VALUES {}", c.join(", ")))
                    .collect();
                match db.kind {
                    Kind::Sqlite => {
                        let mut connection = rusqlite::Connection::open(&db.url).expect("opens");
                        let tx = connection.transaction().expect("tx");
                        for statement in &statements {
                            tx.execute_batch(statement).expect("rows");
                        }
                        tx.commit().expect("commit");
                    }
                    _ => {
                        let mut client =
                            postgres::Client::connect(&db.url, postgres::NoTls).expect("connects");
                        let mut tx = client.transaction().expect("tx");
                        for statement in &statements {
                            tx.batch_execute(statement).expect("rows");
                        }
                        tx.commit().expect("commit");
                    }
                }
                let start = Instant::now();
                let removed = connectors
                    .with("shop", |db| {
                        db.expire(
                            &Expired {
                                table: "logins",
                                column: "at",
                                before,
                                also: &[],
                                scope: None,
                            },
                            &Expiry::Delete,
                            10_000,
                        )
                    })
                    .expect("removes");
                spent += start.elapsed();
                assert!(removed >= rows, "{removed}");
            }
            spent
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let db = sqlite();
    run(c, "sqlite", &db);
    retention(c, "sqlite", &db);
    if let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") {
        let db = postgres(&base);
        run(c, "postgres", &db);
        retention(c, "postgres", &db);
    }
}

criterion_group!(datasets, benches);
criterion_main!(datasets);
