//! Retention reaches the operator's own log table: the invoicing example's promise that logs
//! with personal identifiers are kept up to 2 years deletes the rows older than that, in
//! batches, and no other; a dry run counts and changes nothing; a legal hold stops it; in a
//! database customers share, one customer's hold keeps only that customer's rows. SQLite
//! always, PostgreSQL when OMBUD_TEST_POSTGRES_URL is set (CI sets it).

mod common;

use jiff::{SignedDuration, Timestamp, ToSpan};
use ombud_connect::{Connection, Connectors, Kind, native};
use ombud_store::retention::{HoldReason, NewHold};
use ombud_store::{Actor, SqliteStore, Store};
use std::sync::Arc;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

fn dataset(kind: Kind, url_file: &std::path::Path, shared: bool) -> ombud_connect::Dataset {
    let tenant = if shared {
        r#"tenant = { column = "company_id", values = { "1" = "Acme Oy", "2" = "Beta Ab" } }"#
    } else {
        r#"tenant = "operator""#
    };
    let text = format!(
        r#"key = "app"
name = "Laskuri application"
purposes = ["security"]
{tenant}

[[collections]]
name = "access_log"
expires_by = "at"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "ip"
categories = ["user.device.ip_address"]

[[collections.fields]]
name = "at"
categories = ["system.operations"]
"#
    );
    let (mut dataset, _) = native::parse("app.toml", &text).expect("dataset");
    dataset.connection = Some(Connection {
        kind,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    });
    dataset
}

/// Rows dated 3 years, 2 years and 10 days, 2 years less 10 days, and 1 year ago, for each of
/// two companies; as UTC text, as applications keep them.
fn rows(now: Timestamp) -> Vec<(i64, &'static str, String, i64)> {
    let ago = |span: jiff::Span| {
        now.to_zoned(jiff::tz::TimeZone::UTC)
            .checked_sub(span)
            .expect("a date")
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut out = Vec::new();
    for company in [1, 2] {
        for (n, when) in [
            ago(3.years()),
            ago(2.years().days(10)),
            ago(2.years().days(-10)),
            ago(1.year()),
        ]
        .into_iter()
        .enumerate()
        {
            out.push((company * 10 + n as i64, "192.0.2.7", when, company));
        }
    }
    out
}

struct Fixture {
    store: Arc<dyn Store>,
    policy: ombud_policy::Policy,
    tz: jiff::tz::TimeZone,
    operator: ombud_store::model::TenantId,
}

fn fixture(dir: &std::path::Path) -> Fixture {
    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let operator = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Laskuri Oy")
        .expect("bootstrap")
        .operator;
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let tz = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
    Fixture {
        store,
        policy,
        tz,
        operator,
    }
}

fn sqlite_log(dir: &std::path::Path, now: Timestamp) -> std::path::PathBuf {
    let file = dir.join("app.db");
    let connection = rusqlite::Connection::open(&file).expect("creates");
    connection
        .execute_batch("CREATE TABLE access_log (id INTEGER PRIMARY KEY, ip TEXT, at TIMESTAMP NOT NULL, company_id INTEGER)")
        .expect("table");
    for (id, ip, at, company) in rows(now) {
        connection
            .execute(
                "INSERT INTO access_log VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, ip, at, company],
            )
            .expect("row");
    }
    let url = dir.join("app.url");
    std::fs::write(&url, format!("{}\n", file.display())).expect("url");
    file
}

fn ids_sqlite(file: &std::path::Path) -> Vec<i64> {
    rusqlite::Connection::open(file)
        .expect("opens")
        .prepare("SELECT id FROM access_log ORDER BY id")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids")
}

fn sweep(
    f: &Fixture,
    connectors: &Connectors,
    dry_run: bool,
) -> Vec<ombud_app::datasets::CollectionSweep> {
    ombud_app::datasets::sweep(
        connectors,
        &f.policy,
        f.store.as_ref(),
        &f.tz,
        Timestamp::now(),
        dry_run,
    )
    .expect("sweeps")
}

#[test]
fn logs_older_than_two_years_go_and_no_others() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let now = Timestamp::now();
    let file = sqlite_log(dir.path(), now);
    let f = fixture(dir.path());
    let connectors = Connectors::new(vec![dataset(
        Kind::Sqlite,
        &dir.path().join("app.url"),
        false,
    )]);

    let dry = sweep(&f, &connectors, true);
    assert_eq!(dry.len(), 1, "{dry:#?}");
    assert_eq!(
        (dry[0].rows, dry[0].rules.as_slice()),
        (4, &["security-logs".to_owned()][..])
    );
    assert_eq!(ids_sqlite(&file).len(), 8, "a dry run changes nothing");
    let before = dry[0].before.expect("a cutoff");
    let two_years = now
        .to_zoned(f.tz.clone())
        .checked_sub(2.years())
        .expect("date")
        .timestamp();
    assert!(
        before.duration_since(two_years).abs() <= SignedDuration::from_secs(2),
        "the cutoff is two calendar years back in the controller's zone: {before} vs {two_years}"
    );

    // A hold on the operator's security logs keeps them.
    let hold = f
        .store
        .create_hold(
            f.operator,
            &NewHold {
                reason: HoldReason::SecurityInvestigation,
                subject: None,
                category: Some("user.device".into()),
                note: "incident 2026-11".into(),
                ends_at: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("hold");
    let held = sweep(&f, &connectors, false);
    assert!(
        held[0]
            .skipped
            .as_deref()
            .is_some_and(|s| s.contains("legal hold")),
        "{held:#?}"
    );
    assert_eq!(ids_sqlite(&file).len(), 8);
    f.store
        .release_hold(f.operator, hold.id, &Actor::Cli, now)
        .expect("released");

    let done = sweep(&f, &connectors, false);
    assert_eq!(done[0].rows, 4, "{done:#?}");
    assert_eq!(
        ids_sqlite(&file),
        [12, 13, 22, 23],
        "the rows under two years old stay"
    );
    assert_eq!(
        sweep(&f, &connectors, false)[0].rows,
        0,
        "a second sweep finds nothing"
    );
}

#[test]
fn in_a_shared_database_one_customer_s_hold_keeps_only_its_rows() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let now = Timestamp::now();
    let file = sqlite_log(dir.path(), now);
    let f = fixture(dir.path());
    let acme = f
        .store
        .create_tenant("Acme Oy", false, &Actor::Cli, now)
        .expect("tenant")
        .id;
    f.store
        .create_tenant("Beta Ab", false, &Actor::Cli, now)
        .expect("tenant");
    f.store
        .create_hold(
            acme,
            &NewHold {
                reason: HoldReason::LegalClaim,
                subject: None,
                category: None,
                note: "dispute".into(),
                ends_at: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("hold");
    let connectors = Connectors::new(vec![dataset(
        Kind::Sqlite,
        &dir.path().join("app.url"),
        true,
    )]);
    let done = sweep(&f, &connectors, false);
    let acme_row = done
        .iter()
        .find(|t| t.tenant.as_deref() == Some("Acme Oy"))
        .expect("Acme");
    let beta_row = done
        .iter()
        .find(|t| t.tenant.as_deref() == Some("Beta Ab"))
        .expect("Beta");
    assert!(acme_row.skipped.is_some(), "{done:#?}");
    assert_eq!(beta_row.rows, 2, "{done:#?}");
    assert_eq!(ids_sqlite(&file), [10, 11, 12, 13, 22, 23]);
}

#[test]
fn the_same_on_postgresql() {
    let Some(base) = common::server_url(
        "OMBUD_TEST_POSTGRES_URL",
        "OMBUD_TEST_POSTGRES_MARKER",
        "PostgreSQL",
    ) else {
        return;
    };
    let schema = format!("retention_{}", std::process::id());
    let mut client = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.access_log (id bigint PRIMARY KEY, ip text, at timestamptz NOT NULL, company_id integer);"
        ))
        .expect("table");
    let now = Timestamp::now();
    for (id, ip, at, company) in rows(now) {
        client
            .execute(
                &format!("INSERT INTO {schema}.access_log VALUES ($1, $2, ($3::text || '+00')::timestamptz, $4)"),
                &[&id, &ip, &at, &(company as i32)],
            )
            .expect("row");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{base}\n")).expect("url");
    let f = fixture(dir.path());
    let mut dataset = dataset(Kind::Postgres, &dir.path().join("app.url"), false);
    if let Some(c) = dataset.connection.as_mut() {
        c.schema = Some(schema.clone());
    }
    let connectors = Connectors::new(vec![dataset]);
    assert_eq!(sweep(&f, &connectors, true)[0].rows, 4);
    assert_eq!(sweep(&f, &connectors, false)[0].rows, 4);
    let left: Vec<i64> = client
        .query(
            &format!("SELECT id FROM {schema}.access_log ORDER BY id"),
            &[],
        )
        .expect("rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    assert_eq!(left, [12, 13, 22, 23]);
}

#[test]
fn the_same_on_mariadb() {
    use mysql::prelude::Queryable;
    let Some(database) = common::MariaDb::new("retention") else {
        return;
    };
    let url = database.url.clone();
    let mut conn = database.connect();
    conn.query_drop("CREATE TABLE access_log (id BIGINT PRIMARY KEY, ip VARCHAR(64), at DATETIME NOT NULL, company_id INT)")
        .expect("table");
    let now = Timestamp::now();
    for (id, ip, at, company) in rows(now) {
        conn.exec_drop(
            "INSERT INTO access_log VALUES (?, ?, ?, ?)",
            (id, ip, at, company),
        )
        .expect("row");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{url}\n")).expect("url");
    let f = fixture(dir.path());
    let connectors = Connectors::new(vec![dataset(
        Kind::Mysql,
        &dir.path().join("app.url"),
        false,
    )]);
    assert_eq!(sweep(&f, &connectors, true)[0].rows, 4);
    assert_eq!(sweep(&f, &connectors, false)[0].rows, 4);
    let left: Vec<i64> = conn
        .query("SELECT id FROM access_log ORDER BY id")
        .expect("rows");
    assert_eq!(left, [12, 13, 22, 23]);
}

/// (row written, UTC) → (the instant its two years end in Helsinki, worked out by hand), in
/// the order they end.
const EDGES: [(&str, &str); 5] = [
    // 10:00 in Helsinki on 29 February 2024 → 10:00 on 28 February 2026 (EET, UTC+2).
    ("2024-02-29 08:00:00", "2026-02-28T08:00:00Z"),
    // 22:00 on 28 February 2024 → 22:00 on 28 February 2026: after the row of the 29th.
    ("2024-02-28 20:00:00", "2026-02-28T20:00:00Z"),
    // 01:30 on 1 July in Helsinki (EEST) while UTC still says 30 June.
    ("2024-06-30 22:30:00", "2026-06-30T22:30:00Z"),
    // 03:30 EEST on 25 October 2024; on 25 October 2026 03:30 comes twice (the clocks go back
    // at 04:00), and the period ends at the first.
    ("2024-10-25 00:30:00", "2026-10-25T00:30:00Z"),
    // 03:30 EEST on 27 October 2024 → 03:30 on 27 October 2026, by then EET (UTC+2): the
    // wall-clock time holds, so the instant is an hour later than two years of seconds.
    ("2024-10-27 00:30:00", "2026-10-27T01:30:00Z"),
];

/// The two years of the security-logs rule end on the controller's calendar (Helsinki), as
/// they do for records in the register: a log row of 29 February goes on 28 February two years
/// on, before a row of the evening of the 28th; a row whose local date is already the next
/// month (late evening UTC) counts from that local date; a period that ends in the hour the
/// autumn change repeats ends at its first occurrence; one that starts in summer time and ends
/// in winter time keeps its wall-clock time. `ids` reads the ids left.
fn edges_story(connectors: &Connectors, f: &Fixture, ids: &mut dyn FnMut() -> Vec<i64>) {
    let count_at = |now: Timestamp| {
        ombud_app::datasets::sweep(connectors, &f.policy, f.store.as_ref(), &f.tz, now, true)
            .expect("sweeps")[0]
            .rows
    };
    let minute = SignedDuration::from_mins(1);
    for (n, (written, ends)) in EDGES.iter().enumerate() {
        let ends: Timestamp = ends.parse().expect("instant");
        assert_eq!(
            count_at(ends.checked_sub(minute).expect("t")),
            n as u64,
            "a minute before {ends} the row written {written} UTC stays"
        );
        assert_eq!(
            count_at(ends.checked_add(minute).expect("t")),
            n as u64 + 1,
            "a minute after {ends} the row written {written} UTC is past its two years"
        );
    }
    // The sweep removes exactly what the dry run counts: at the first edge, the 29th's row.
    let first: Timestamp = EDGES[0].1.parse().expect("instant");
    let sweep_at = |now: Timestamp| {
        ombud_app::datasets::sweep(connectors, &f.policy, f.store.as_ref(), &f.tz, now, false)
            .expect("sweeps")[0]
            .rows
    };
    assert_eq!(sweep_at(first.checked_add(minute).expect("t")), 1);
    assert_eq!(ids(), [1, 2, 3, 4]);
    let last: Timestamp = EDGES[4].1.parse().expect("instant");
    assert_eq!(sweep_at(last.checked_add(minute).expect("t")), 4);
    assert!(ids().is_empty());
}

#[test]
fn two_years_end_on_the_controller_s_calendar_at_the_edges() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("app.db");
    let connection = rusqlite::Connection::open(&file).expect("creates");
    connection
        .execute_batch("CREATE TABLE access_log (id INTEGER PRIMARY KEY, ip TEXT, at TIMESTAMP NOT NULL, company_id INTEGER)")
        .expect("table");
    for (id, (at, _)) in EDGES.iter().enumerate() {
        connection
            .execute(
                "INSERT INTO access_log VALUES (?1, '192.0.2.7', ?2, 1)",
                rusqlite::params![id as i64, at],
            )
            .expect("row");
    }
    std::fs::write(dir.path().join("app.url"), format!("{}\n", file.display())).expect("url");
    let f = fixture(dir.path());
    let connectors = Connectors::new(vec![dataset(
        Kind::Sqlite,
        &dir.path().join("app.url"),
        false,
    )]);
    edges_story(&connectors, &f, &mut || ids_sqlite(&file));
}

#[test]
fn the_edges_on_postgresql() {
    let Some(base) = common::server_url(
        "OMBUD_TEST_POSTGRES_URL",
        "OMBUD_TEST_POSTGRES_MARKER",
        "PostgreSQL",
    ) else {
        return;
    };
    let schema = format!("retention_edges_{}", std::process::id());
    let mut client = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
    client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
                 CREATE TABLE {schema}.access_log (id bigint PRIMARY KEY, ip text, at timestamptz NOT NULL, company_id integer);"
            ))
        .expect("table");
    for (id, (at, _)) in EDGES.iter().enumerate() {
        client
                .execute(
                    &format!("INSERT INTO {schema}.access_log VALUES ($1, '192.0.2.7', ($2::text || '+00')::timestamptz, 1)"),
                    &[&(id as i64), at],
                )
                .expect("row");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{base}\n")).expect("url");
    let f = fixture(dir.path());
    let mut dataset = dataset(Kind::Postgres, &dir.path().join("app.url"), false);
    if let Some(c) = dataset.connection.as_mut() {
        c.schema = Some(schema.clone());
    }
    let connectors = Connectors::new(vec![dataset]);
    edges_story(&connectors, &f, &mut || {
        client
            .query(
                &format!("SELECT id FROM {schema}.access_log ORDER BY id"),
                &[],
            )
            .expect("rows")
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

#[test]
fn the_edges_on_mariadb() {
    use mysql::prelude::Queryable;
    let Some(database) = common::MariaDb::new("retention_edges") else {
        return;
    };
    let url = database.url.clone();
    let mut conn = database.connect();
    conn.query_drop("CREATE TABLE access_log (id BIGINT PRIMARY KEY, ip VARCHAR(64), at DATETIME NOT NULL, company_id INT)")
        .expect("table");
    for (id, (at, _)) in EDGES.iter().enumerate() {
        conn.exec_drop(
            "INSERT INTO access_log VALUES (?, '192.0.2.7', ?, 1)",
            (id as i64, at),
        )
        .expect("row");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{url}\n")).expect("url");
    let f = fixture(dir.path());
    let connectors = Connectors::new(vec![dataset(
        Kind::Mysql,
        &dir.path().join("app.url"),
        false,
    )]);
    edges_story(&connectors, &f, &mut || {
        conn.query("SELECT id FROM access_log ORDER BY id")
            .expect("rows")
    });
}
