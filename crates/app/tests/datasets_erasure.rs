//! Erasure reaches the operator's own database: on the Fides Cookie House sample (its YAML and
//! SQL unchanged), the rows customer-1 reaches have their personal fields masked and every
//! other row stays byte-identical; what a legal obligation keeps stays and is told with its
//! law. SQLite always, PostgreSQL when OMBUD_TEST_POSTGRES_URL is set (CI sets it).

mod common;

use jiff::Timestamp;
use ombud_app::rights::Desk;
use ombud_connect::{Connection, Dataset, Kind, fides};
use ombud_core::requests::RequestKind;
use ombud_store::Actor;
use std::collections::BTreeMap;
const DATASET: &str =
    include_str!("../../connect/tests/fixtures/fides-sample/postgres_example_test_dataset.yml");
const SEED: &str = include_str!("../../connect/tests/fixtures/fides-sample/postgres_sample.sql");
const TABLES: [&str; 11] = [
    "address",
    "customer",
    "employee",
    "login",
    "order_item",
    "orders",
    "payment_card",
    "product",
    "report",
    "service_request",
    "visit",
];

/// Every row of every table, each as the text of all its columns.
type Snapshot = BTreeMap<String, Vec<Vec<Option<String>>>>;

fn snapshot_sqlite(path: &std::path::Path) -> Snapshot {
    let connection = rusqlite::Connection::open(path).expect("opens");
    TABLES
        .iter()
        .map(|table| {
            let columns: Vec<String> = connection
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .expect("columns")
                .query_map([], |r| r.get(0))
                .expect("columns")
                .collect::<Result<_, _>>()
                .expect("columns");
            let list = columns
                .iter()
                .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut rows: Vec<Vec<Option<String>>> = connection
                .prepare(&format!("SELECT {list} FROM \"{table}\""))
                .expect("select")
                .query_map([], |r| (0..columns.len()).map(|i| r.get(i)).collect())
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("rows");
            rows.sort();
            ((*table).to_owned(), rows)
        })
        .collect()
}

fn snapshot_postgres(url: &str) -> Snapshot {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connects");
    TABLES
        .iter()
        .map(|table| {
            let columns: Vec<String> = client
                .query(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                    &[table],
                )
                .expect("columns")
                .iter()
                .map(|r| r.get(0))
                .collect();
            let list = columns
                .iter()
                .map(|c| format!("\"{c}\"::text"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut rows: Vec<Vec<Option<String>>> = client
                .query(&format!("SELECT {list} FROM public.\"{table}\""), &[])
                .expect("rows")
                .iter()
                .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
                .collect();
            rows.sort();
            ((*table).to_owned(), rows)
        })
        .collect()
}

/// How many rows of each table are no longer as they were.
fn changed(before: &Snapshot, after: &Snapshot) -> BTreeMap<String, usize> {
    before
        .iter()
        .map(|(table, rows)| {
            let mut left = after[table].clone();
            let mut gone = 0;
            for row in rows {
                match left.iter().position(|r| r == row) {
                    Some(i) => {
                        left.remove(i);
                    }
                    None => gone += 1,
                }
            }
            (table.clone(), gone)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn desk(dir: &std::path::Path, dataset: Dataset) -> (Desk, ombud_store::model::TenantId) {
    let f = common::fixture(dir, vec![dataset]);
    (f.desk, f.operator)
}

/// Files and fulfils an erasure for customer-1; returns the outcome's summary and kept items.
fn erase_customer_one(
    desk: &Desk,
    operator: ombud_store::model::TenantId,
) -> ombud_app::rights::Outcome {
    let filed = file_customer_one(desk, operator);
    let done = desk
        .fulfil(operator, filed, &Actor::Cli, Timestamp::now())
        .expect("fulfilled");
    let outcome = done.request.outcome.expect("an outcome");
    serde_json::from_str(&outcome).expect("the outcome as kept")
}

/// Files an erasure for customer-1, whom the register knows by email.
fn file_customer_one(
    desk: &Desk,
    operator: ombud_store::model::TenantId,
) -> ombud_store::requests::RequestId {
    common::file(
        desk,
        operator,
        RequestKind::Erasure,
        "customer-1@example.com",
        None,
    )
}

fn sample(kind: Kind, url_file: &std::path::Path, purposes: &[&str]) -> Dataset {
    let (mut dataset, _) = fides::parse("sample.yml", DATASET)
        .expect("reads")
        .remove(0);
    dataset.connection = Some(Connection {
        kind,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    });
    dataset.purposes = purposes.iter().map(|p| (*p).to_owned()).collect();
    dataset
}

/// The rows customer-1 reaches that hold personal fields: each changes, nothing else does.
fn expected_changes() -> BTreeMap<String, usize> {
    BTreeMap::from([
        ("address".into(), 2),
        ("customer".into(), 1),
        ("login".into(), 6),
        ("orders".into(), 3),
        ("payment_card".into(), 1),
        ("service_request".into(), 1),
        ("visit".into(), 1),
    ])
}

fn sqlite_sample(dir: &std::path::Path) -> std::path::PathBuf {
    let seed = SEED[..SEED
        .find("CREATE SCHEMA backup_schema")
        .expect("public part")]
        .lines()
        .filter(|l| !l.starts_with("ALTER SEQUENCE"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("public.", "")
        .replace("SERIAL PRIMARY KEY", "INTEGER PRIMARY KEY")
        .replace("MONEY", "TEXT");
    let file = dir.join("sample.db");
    rusqlite::Connection::open(&file)
        .expect("creates")
        .execute_batch(&seed)
        .expect("loads");
    let url_file = dir.join("sample.url");
    std::fs::write(&url_file, format!("{}\n", file.display())).expect("writes");
    file
}

#[test]
fn erasure_masks_exactly_the_reached_personal_fields_in_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = sqlite_sample(dir.path());
    let before = snapshot_sqlite(&file);
    let (desk, operator) = desk(
        dir.path(),
        sample(
            Kind::Sqlite,
            &dir.path().join("sample.url"),
            &["service-delivery"],
        ),
    );
    let outcome = erase_customer_one(&desk, operator);
    assert!(
        outcome
            .summary
            .contains("in the operator's systems 0 rows are deleted and 15 masked"),
        "{}",
        outcome.summary
    );
    let after = snapshot_sqlite(&file);
    assert_eq!(changed(&before, &after), expected_changes());
    // The customer keeps its id and what is not personal; its name and address are gone.
    let customer = after["customer"]
        .iter()
        .find(|r| r[0].as_deref() == Some("1"))
        .expect("row 1");
    assert_eq!(customer[1], None, "email");
    assert_eq!(customer[2], None, "name");
    assert_eq!(
        customer[3].as_deref(),
        Some("2020-04-01 11:47:42"),
        "created is system.operations"
    );
}

#[test]
fn what_a_law_keeps_stays_and_is_told_with_the_law() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = sqlite_sample(dir.path());
    let before = snapshot_sqlite(&file);
    let (desk, operator) = desk(
        dir.path(),
        sample(
            Kind::Sqlite,
            &dir.path().join("sample.url"),
            &["service-delivery", "accounting"],
        ),
    );
    let outcome = erase_customer_one(&desk, operator);
    let after = snapshot_sqlite(&file);
    let card = |s: &Snapshot| {
        s["payment_card"]
            .iter()
            .find(|r| r[0].as_deref() == Some("pay_aaa-aaa"))
            .cloned()
            .expect("card")
    };
    let (was, is) = (card(&before), card(&after));
    // id, name, ccn, code, preferred, customer_id, billing_address_id
    assert_eq!(
        (&is[1], &is[2], &is[3]),
        (&was[1], &was[2], &was[3]),
        "the card's name, number and code are accounting records"
    );
    assert_eq!(
        is[5], None,
        "customer_id (user.unique_id) is not an accounting record: masked"
    );
    let financial = outcome
        .kept
        .iter()
        .find(|k| k.category.starts_with("user.financial"))
        .expect("the kept financial fields are told");
    assert_eq!(
        financial.law.as_deref(),
        Some("Finnish Accounting Act (1336/1997), chapter 2, section 10")
    );
    assert!(financial.until.is_some(), "with the day they go");
}

#[test]
fn erasure_masks_exactly_the_reached_personal_fields_in_postgresql() {
    let Some(base) = common::server_url(
        "OMBUD_TEST_POSTGRES_URL",
        "OMBUD_TEST_POSTGRES_MARKER",
        "PostgreSQL",
    ) else {
        return;
    };
    let admin: postgres::Config = base.parse().expect("a PostgreSQL URL");
    let name = format!("fides_erasure_{}", std::process::id());
    let mut client = admin.connect(postgres::NoTls).expect("connects");
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drops a leftover");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("creates");
    let mut config = admin.clone();
    config.dbname(&name);
    config
        .connect(postgres::NoTls)
        .expect("connects")
        .batch_execute(SEED)
        .expect("loads the sample");
    let user = admin.get_user().unwrap_or("postgres").to_owned();
    let host = match admin.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = admin.get_ports().first().copied().unwrap_or(5432);
    let url = format!("postgres://{user}@{host}:{port}/{name}");
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("sample.url"), format!("{url}\n")).expect("writes");
    let before = snapshot_postgres(&url);
    let (desk, operator) = desk(
        dir.path(),
        sample(
            Kind::Postgres,
            &dir.path().join("sample.url"),
            &["service-delivery"],
        ),
    );
    // The plan leaves a kept connection behind; the database then drops it, as a restart or
    // a failover would: the erasure notices, opens a new one and goes through.
    let id = file_customer_one(&desk, operator);
    desk.erasure_plan(operator, id, Timestamp::now())
        .expect("a plan");
    let dropped = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .expect("drops the connections");
    assert!(dropped >= 1, "a kept connection was dropped");
    let done = desk
        .fulfil(operator, id, &Actor::Cli, Timestamp::now())
        .expect("goes through on a new connection");
    let outcome: ombud_app::rights::Outcome =
        serde_json::from_str(&done.request.outcome.expect("an outcome")).expect("outcome");
    let after = snapshot_postgres(&url);
    drop(desk);
    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    assert!(outcome.summary.contains("15 masked"), "{}", outcome.summary);
    assert_eq!(changed(&before, &after), expected_changes());
    // visit.email is part of the table's primary key: it cannot be emptied, so it is hashed.
    let visit = after["visit"]
        .iter()
        .find(|r| r[0].as_deref() != Some("customer-2@example.com"))
        .expect("the visit");
    assert_eq!(visit[0].as_deref().map(str::len), Some(64), "{visit:?}");
}

#[test]
fn the_plan_says_what_erasure_will_do_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = sqlite_sample(dir.path());
    let before = snapshot_sqlite(&file);
    let (desk, operator) = desk(
        dir.path(),
        sample(
            Kind::Sqlite,
            &dir.path().join("sample.url"),
            &["service-delivery", "accounting"],
        ),
    );
    let id = file_customer_one(&desk, operator);
    let plan = desk
        .erasure_plan(operator, id, Timestamp::now())
        .expect("a plan");
    assert!(plan.systems_declared);
    assert_eq!(snapshot_sqlite(&file), before, "planning changes nothing");
    let masked: BTreeMap<String, usize> = plan
        .tables
        .iter()
        .filter(|t| t.rows_masked > 0)
        .map(|t| (t.collection.clone(), t.rows_masked as usize))
        .collect();
    // The accounting law keeps the addresses (user.contact.address) whole.
    let mut expected = expected_changes();
    expected.remove("address");
    assert_eq!(masked, expected);
    let address = plan
        .tables
        .iter()
        .find(|t| t.collection == "address")
        .expect("addresses");
    assert_eq!(
        (address.rows_untouched, address.kept.len()),
        (2, 5),
        "{address:#?}"
    );
    let card = plan
        .tables
        .iter()
        .find(|t| t.collection == "payment_card")
        .expect("cards");
    assert!(
        card.kept
            .iter()
            .any(|k| k.field == "ccn" && k.law.is_some()),
        "{card:#?}"
    );
    assert!(
        card.masked_fields.iter().any(|m| m.field == "customer_id"),
        "{card:#?}"
    );
    let json = serde_json::to_string(&plan).expect("json");
    assert!(
        !json.contains("customer-1@example.com") && !json.contains("John"),
        "no values in a plan: {json}"
    );
}

fn snapshot_mysql(url: &str) -> Snapshot {
    use mysql::prelude::Queryable;
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("url")).expect("connects");
    TABLES
        .iter()
        .map(|table| {
            let columns: Vec<String> = conn
                .exec(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
                    (table,),
                )
                .expect("columns");
            let list = columns
                .iter()
                .map(|c| format!("CAST(`{c}` AS CHAR)"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows: Vec<mysql::Row> = conn
                .query(format!("SELECT {list} FROM `{table}`"))
                .expect("rows");
            let mut rows: Vec<Vec<Option<String>>> = rows
                .into_iter()
                .map(|mut r| {
                    (0..columns.len())
                        .map(|i| r.take::<Option<String>, _>(i).flatten())
                        .collect()
                })
                .collect();
            rows.sort();
            ((*table).to_owned(), rows)
        })
        .collect()
}

#[test]
fn erasure_masks_exactly_the_reached_personal_fields_in_mariadb() {
    use mysql::prelude::Queryable;
    let Some(database) = common::MariaDb::new("fides_erasure") else {
        return;
    };
    let url = database.url.clone();
    let seed = SEED[..SEED
        .find("CREATE SCHEMA backup_schema")
        .expect("public part")]
        .lines()
        .filter(|l| !l.starts_with("ALTER SEQUENCE") && !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("public.", "")
        .replace("SERIAL PRIMARY KEY", "INT AUTO_INCREMENT PRIMARY KEY")
        .replace("MONEY", "VARCHAR(20)");
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).expect("url")).expect("connects");
    for statement in seed.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.query_drop(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("sample.url"), format!("{url}\n")).expect("writes");
    let before = snapshot_mysql(&url);
    let (desk, operator) = desk(
        dir.path(),
        sample(
            Kind::Mysql,
            &dir.path().join("sample.url"),
            &["service-delivery"],
        ),
    );
    let outcome = erase_customer_one(&desk, operator);
    let after = snapshot_mysql(&url);
    drop(desk);
    assert!(outcome.summary.contains("15 masked"), "{}", outcome.summary);
    assert_eq!(changed(&before, &after), expected_changes());
}
