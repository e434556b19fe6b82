//! The store suite on PostgreSQL, each store in a schema of its own. Needs
//! `OMBUD_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`). Without it the
//! suite says so and does nothing; CI sets `OMBUD_TEST_POSTGRES_MARKER` and fails unless the
//! suite wrote that marker, so a skipped suite cannot pass for a green one.

mod suite;

use ombud_store::audit::Verification;
use ombud_store::crypto::MasterKey;
use ombud_store::prelude::*;
use ombud_store::{Actor, PostgresStore, StoreError};
use std::sync::Mutex;
use suite::*;

struct Database {
    url: String,
    schemas: Mutex<Vec<String>>,
}

impl Database {
    fn from_env() -> Option<Database> {
        match std::env::var("OMBUD_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Database {
                url,
                schemas: Mutex::new(Vec::new()),
            }),
            _ => {
                eprintln!(
                    "OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL store suite did not run"
                );
                None
            }
        }
    }

    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .expect("connects to OMBUD_TEST_POSTGRES_URL")
    }

    /// A URL whose connections use a new, empty schema.
    fn fresh_url(&self) -> String {
        let schema = format!("ombud_test_{}", uuid::Uuid::now_v7().simple());
        self.admin()
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("creates a schema");
        self.schemas.lock().expect("schemas").push(schema.clone());
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-c%20search_path%3D{schema}", self.url)
    }

    fn store(&self) -> (PostgresStore, String) {
        let url = self.fresh_url();
        let store =
            PostgresStore::connect(&url, &MasterKey::from_hex(&"cd".repeat(32)).expect("key"))
                .expect("connects and migrates");
        (store, url)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let schemas = self.schemas.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(mut admin) = postgres::Client::connect(&self.url, postgres::NoTls) {
            for schema in schemas {
                let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

#[test]
fn the_store_suite_passes_on_postgresql() {
    let Some(database) = Database::from_env() else {
        return;
    };
    suite::run_all(|| Box::new(database.store().0));
    rotation_rewraps_every_key_and_mail(&database.store().0, &"cd".repeat(32));

    let (store, url) = database.store();
    the_tables_hold_no_personal_data_in_clear(&store, &url);
    let (store, url) = database.store();
    an_entry_edited_behind_the_engines_back_is_reported_exactly(&store, &url);
    two_replicas_migrating_at_once_both_start(&database);
    let (store, url) = database.store();
    a_data_dump_taken_before_an_erasure_yields_nothing_once_the_key_is_gone(&store, &url);
    let (store, url) = database.store();
    another_master_key_is_refused_at_connect(store, &url);
    let (_, url) = database.store();
    every_table_is_distributable_by_tenant(&url);
    a_pool_of_two_never_opens_a_third_connection(&database);
    let (store, url) = database.store();
    maintenance_analyses_the_tables_a_bulk_write_changed(&store, &url);

    if let Ok(marker) = std::env::var("OMBUD_TEST_POSTGRES_MARKER") {
        std::fs::write(marker, "the PostgreSQL store suite ran\n").expect("writes the marker");
    }
}

/// Tables every tenant shares, small and rarely written: on a distributed PostgreSQL (Citus)
/// they are reference tables, copied to every node. The schema version is one row.
const REFERENCE_TABLES: [&str; 5] = [
    "tenants",
    "key_check",
    "ombud_schema_version",
    "job_leases",
    "receipt_keys",
];

/// The schema stays distributable by tenant: every primary key and unique constraint of every
/// other table leads with `tenant_id`, so rows of one tenant can live on one node and every
/// constraint is checked there.
fn every_table_is_distributable_by_tenant(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    let rows = client
        .query(
            "SELECT c.relname, con.conname, con.contype::text,
                    (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1])
               FROM pg_constraint con
               JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u')
              ORDER BY 1, 2",
            &[],
        )
        .expect("reads the catalog");
    let tables: std::collections::BTreeSet<String> = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            &[],
        )
        .expect("reads the catalog")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.len() > 20, "{tables:?}");
    let mut keyed = std::collections::BTreeSet::new();
    let mut wrong = vec![];
    for row in &rows {
        let (table, constraint, kind, first): (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if kind == "p" {
            keyed.insert(table.clone());
        }
        if REFERENCE_TABLES.contains(&table.as_str()) {
            continue;
        }
        if first != "tenant_id" {
            wrong.push(format!("{table}.{constraint} leads with {first}"));
        }
    }
    let unkeyed: Vec<&String> = tables
        .iter()
        .filter(|t| !keyed.contains(*t) && !REFERENCE_TABLES.contains(&t.as_str()))
        .collect();
    assert!(
        wrong.is_empty() && unkeyed.is_empty(),
        "not distributable by tenant: {wrong:?}; without a primary key: {unkeyed:?}"
    );
}

/// A replica started with another master key is refused before it reads or seals anything,
/// also for a database from before the check value (an existing subject's key decides).
fn another_master_key_is_refused_at_connect(store: PostgresStore, url: &str) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("subject");
    drop(store);
    let other = MasterKey::generate().expect("randomness");
    assert!(matches!(
        PostgresStore::connect(url, &other),
        Err(StoreError::KeyMismatch)
    ));
    postgres::Client::connect(url, postgres::NoTls)
        .expect("connects")
        .batch_execute("DELETE FROM key_check")
        .expect("forget the check value");
    assert!(matches!(
        PostgresStore::connect(url, &other),
        Err(StoreError::KeyMismatch)
    ));
    let right = MasterKey::from_hex(&"cd".repeat(32)).expect("key");
    PostgresStore::connect(url, &right).expect("the right key opens it");
}

fn the_tables_hold_no_personal_data_in_clear(store: &PostgresStore, url: &str) {
    plant_known_personal_data(store);
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    let mut dump = String::new();
    for table in [
        "tenants",
        "api_keys",
        "subjects",
        "identities",
        "records",
        "events",
        "audit_log",
    ] {
        for row in client
            .query(&format!("SELECT t::text FROM {table} t"), &[])
            .expect("dump")
        {
            dump.push_str(row.get::<_, &str>(0));
            dump.push('\n');
        }
    }
    assert!(dump.len() > 500, "something was written");
    for needle in PLANTED {
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(!dump.contains(needle), "{needle} is in the tables in clear");
        assert!(
            !dump.contains(&hex),
            "{needle} is in the tables as plain bytes"
        );
    }
}

fn an_entry_edited_behind_the_engines_back_is_reported_exactly(store: &PostgresStore, url: &str) {
    let now = at("2025-02-01T00:00:00Z");
    let (tenant, _) = tenant_with_people(store, "Acme", 5, now);
    let mut raw = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    assert!(
        raw.batch_execute("UPDATE audit_log SET action = 'subject.read' WHERE seq = 4")
            .is_err(),
        "the table refuses updates"
    );
    raw.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'subject.read' WHERE seq = 4;")
        .expect("tampered");
    match store.verify_audit(tenant.id).expect("verify") {
        Verification::Broken { seq, reason } => {
            assert_eq!(seq, 4);
            assert!(reason.contains("edited"), "{reason}");
        }
        intact => panic!("tampering went unnoticed: {intact:?}"),
    }
}

/// `--database-pool`: however many callers at once, a store keeps at most its pool's
/// connections (counted by the application name its URL gives them).
fn a_pool_of_two_never_opens_a_third_connection(database: &Database) {
    let name = format!("ombud_pool_{}", uuid::Uuid::now_v7().simple());
    let url = format!("{}&application_name={name}", database.fresh_url());
    let store = PostgresStore::connect_with(
        &url,
        &MasterKey::from_hex(&"cd".repeat(32)).expect("key"),
        2,
    )
    .expect("connects");
    let mut admin = database.admin();
    let mut most = 0i64;
    let running = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        let callers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    while running.load(std::sync::atomic::Ordering::Relaxed) {
                        store.tenants().expect("reads");
                    }
                })
            })
            .collect();
        for _ in 0..50 {
            let open: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[&name],
                )
                .expect("counts")
                .get(0);
            most = most.max(open);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        for caller in callers {
            caller.join().expect("joined");
        }
    });
    assert!(most >= 1, "the callers' connections are seen");
    assert!(most <= 2, "{most} connections open with a pool of 2");
}

fn two_replicas_migrating_at_once_both_start(database: &Database) {
    let url = database.fresh_url();
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                PostgresStore::connect(&url, &MasterKey::from_hex(&"cd".repeat(32)).expect("key"))
                    .map(|_| ())
            })
        })
        .collect();
    for start in starts {
        start.join().expect("joined").expect("every replica starts");
    }
}

/// A dump that leaves out `subject_keys` (as the backup guide says) is restored after the
/// erasure: its rows come back, the person's values do not.
fn a_data_dump_taken_before_an_erasure_yields_nothing_once_the_key_is_gone(
    store: &PostgresStore, url: &str,
) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    store
        .put_records(
            tenant.id,
            &[record(ana, "user.name", "Ana")],
            &Actor::Cli,
            now,
        )
        .expect("written");
    let mut raw = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    let columns =
        "tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value";
    let subject_rows = raw
        .query(
            "SELECT tenant_id, subject_id, key_generation, created_at FROM subjects",
            &[],
        )
        .expect("subjects dumped");
    let record_rows = raw
        .query(&format!("SELECT {columns} FROM records"), &[])
        .expect("records dumped");

    store
        .erase_subject(tenant.id, ana, &[], None, &Actor::Cli, now)
        .expect("erased");
    let keys: i64 = raw
        .query_one(
            "SELECT count(*) FROM subject_keys WHERE subject_id = $1",
            &[&ana.0],
        )
        .expect("counted")
        .get(0);
    assert_eq!(keys, 0, "the key went with the erasure");

    for row in &subject_rows {
        let (t, s, g, c): (uuid::Uuid, uuid::Uuid, i32, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        raw.execute(
            "INSERT INTO subjects (tenant_id, subject_id, key_generation, created_at) VALUES ($1, $2, $3, $4)",
            &[&t, &s, &g, &c],
        )
        .expect("subject restored");
    }
    for row in &record_rows {
        let (t, s, r, category, purposes, source, collected, sealed): (
            uuid::Uuid,
            uuid::Uuid,
            uuid::Uuid,
            String,
            String,
            String,
            i64,
            Vec<u8>,
        ) = (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
            row.get(6),
            row.get(7),
        );
        raw.execute(
            &format!("INSERT INTO records ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &t, &s, &r, &category, &purposes, &source, &collected, &sealed,
            ],
        )
        .expect("record restored");
    }
    assert!(
        store
            .subject_exists(tenant.id, ana)
            .expect("the row is back")
    );
    assert!(matches!(
        store.records(tenant.id, ana),
        Err(StoreError::NotFound("subject"))
    ));
}

/// Right after a bulk write the planner would see empty tables until autovacuum came by (and
/// never, where it is off): a batch delete then hashed a tenant's whole records table.
/// `maintain` analyses the tables changed past autovacuum's threshold itself.
fn maintenance_analyses_the_tables_a_bulk_write_changed(store: &PostgresStore, url: &str) {
    let now = at("2026-03-01T10:00:00Z");
    tenant_with_people(store, "Bulk", 300, now);
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    let analysed = |client: &mut postgres::Client| -> bool {
        client
            .query_one(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
                 WHERE schemaname = current_schema() AND relname = 'subjects'",
                &[],
            )
            .expect("reads the statistics")
            .get(0)
    };
    assert!(!analysed(&mut client), "nothing analysed the table before");
    // The server's counters of changed rows reach the catalogue within about a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        store.maintain().expect("maintains");
        if analysed(&mut client) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "maintain never analysed a table 300 new people changed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
