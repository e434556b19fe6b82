//! Fides' "Cookie House" sample, its dataset YAML read unchanged and its SQL loaded into a new
//! PostgreSQL database: the rows each person reaches, following the declared references only.

use ombud_connect::reach::{Reader, Requester, Rows, reach};
use ombud_connect::sql::Database;
use ombud_connect::{Connection, Dataset, Kind, check::check, fides};
use std::collections::{BTreeMap, BTreeSet};

const DATASET: &str = include_str!("fixtures/fides-sample/postgres_example_test_dataset.yml");
const EXTENDED: &str =
    include_str!("fixtures/fides-sample/postgres_example_test_extended_dataset.yml");
const SEED: &str = include_str!("fixtures/fides-sample/postgres_sample.sql");

fn postgres_url() -> Option<String> {
    match std::env::var("OMBUD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("OMBUD_TEST_POSTGRES_MARKER").is_none(),
                "CI expects the PostgreSQL tests to run: set OMBUD_TEST_POSTGRES_URL"
            );
            eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
            None
        }
    }
}

/// A new database with the sample loaded, dropped when dropped.
struct Sample {
    admin: postgres::Config,
    name: String,
    url: String,
}

impl Sample {
    fn load(base: &str) -> Sample {
        Sample::load_as(base, "fides_sample")
    }

    /// Under a name of its own, so tests running at once do not drop each other's database.
    fn load_as(base: &str, prefix: &str) -> Sample {
        let admin: postgres::Config = base.parse().expect("a PostgreSQL URL");
        let name = format!("{prefix}_{}", std::process::id());
        let mut client = admin.connect(postgres::NoTls).expect("connects");
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drops a leftover database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creates the database");
        let mut config = admin.clone();
        config.dbname(&name);
        config
            .connect(postgres::NoTls)
            .expect("connects to the new database")
            .batch_execute(SEED)
            .expect("loads the sample");
        let user = admin.get_user().unwrap_or("postgres").to_owned();
        let host = match admin.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = admin.get_ports().first().copied().unwrap_or(5432);
        Sample {
            admin,
            url: format!("postgres://{user}@{host}:{port}/{name}"),
            name,
        }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        if let Ok(mut client) = self.admin.connect(postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn operator() -> Requester {
    Requester {
        tenant_id: "operator".into(),
        tenant_name: "Cookie House".into(),
        operator: true,
    }
}

/// (collection, the primary key or first column of each row reached), sorted.
fn reached(rows: &[Rows]) -> BTreeMap<String, BTreeSet<String>> {
    rows.iter()
        .map(|r| {
            let key = r.fields.iter().position(|f| f == "id").unwrap_or(0);
            let mut values: BTreeSet<String> = r
                .rows
                .iter()
                .map(|row| row[key].clone().unwrap_or_default())
                .collect();
            if r.collection == "order_item" {
                let item = r
                    .fields
                    .iter()
                    .position(|f| f == "order_id")
                    .expect("order_id");
                values = r
                    .rows
                    .iter()
                    .map(|row| row[item].clone().unwrap_or_default())
                    .collect();
            }
            (r.collection.clone(), values)
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_fides_dataset_reads_as_it_is_and_checks_clean() {
    let datasets = fides::parse("postgres_example_test_dataset.yml", DATASET).expect("reads");
    assert_eq!(datasets.len(), 1);
    let (dataset, _) = &datasets[0];
    assert_eq!(dataset.collections.len(), 11);
    let customer = dataset.collection("customer").expect("customer");
    assert_eq!(
        customer.field("email").and_then(|f| f.identity.as_deref()),
        Some("email")
    );
    assert!(customer.field("id").is_some_and(|f| f.primary_key));
    let problems = check(&datasets, None);
    assert!(problems.is_empty(), "{problems:#?}");

    // The extended dataset starts from a custom identity ombud does not know: said with its line.
    let extended = fides::parse("extended.yml", EXTENDED).expect("reads");
    let problems = check(&extended, None);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0]
            .to_string()
            .split(':')
            .take(2)
            .collect::<Vec<_>>(),
        ["extended.yml", "11"]
    );
    assert!(
        problems[0].message.contains("loyalty_id"),
        "{}",
        problems[0]
    );
}

#[test]
fn each_person_reaches_the_rows_the_references_lead_to() {
    let Some(base) = postgres_url() else { return };
    let sample = Sample::load(&base);
    let (mut dataset, _) = fides::parse("sample.yml", DATASET)
        .expect("reads")
        .remove(0);
    // The URL from a file, as an operator keeps it out of the policy and the dataset.
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("sample.url");
    std::fs::write(&url_file, format!("{}\n", sample.url)).expect("writes");
    dataset.connection = Some(Connection {
        kind: Kind::Postgres,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    });
    let connection = dataset.connection.clone().expect("connection");
    let datasets = vec![dataset];
    let database = Database::open("sample", &connection).expect("connects");
    let mut readers: BTreeMap<String, Box<dyn Reader>> = BTreeMap::new();
    readers.insert("postgres_example_test_dataset".into(), Box::new(database));
    assert_sample(&datasets, &mut readers);

    // A connection pinned to another schema reads that schema's tables only.
    let mut pinned = datasets.clone();
    if let Some(c) = pinned[0].connection.as_mut() {
        c.schema = Some("backup_schema".into());
    }
    let database = Database::open("sample", pinned[0].connection.as_ref().expect("connection"))
        .expect("connects");
    let mut readers: BTreeMap<String, Box<dyn Reader>> = BTreeMap::new();
    readers.insert("postgres_example_test_dataset".into(), Box::new(database));
    let backup = reach(
        &pinned,
        &mut readers,
        &operator(),
        &[("email".into(), "customer-500@example.com".into())],
    )
    .expect("reads");
    assert_eq!(
        reached(&backup),
        BTreeMap::from([
            ("address".into(), set(&["7"])),
            ("customer".into(), set(&["1"]))
        ])
    );
    let public = reach(
        &pinned,
        &mut readers,
        &operator(),
        &[("email".into(), "jane@example.com".into())],
    )
    .expect("reads");
    assert!(public.is_empty(), "the public schema's rows are not read");
}

#[test]
fn the_same_traversal_reaches_the_same_rows_in_sqlite() {
    // The sample's tables and rows, in SQLite's dialect.
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
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("sample.db");
    rusqlite::Connection::open(&file)
        .expect("creates")
        .execute_batch(&seed)
        .expect("loads");
    let url_file = dir.path().join("sample.url");
    std::fs::write(&url_file, format!("sqlite://{}\n", file.display())).expect("writes");
    let (mut dataset, _) = fides::parse("sample.yml", DATASET)
        .expect("reads")
        .remove(0);
    dataset.connection = Some(Connection {
        kind: Kind::Sqlite,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    });
    let database =
        Database::open("sample", dataset.connection.as_ref().expect("connection")).expect("opens");
    let datasets = vec![dataset];
    let mut readers: BTreeMap<String, Box<dyn Reader>> = BTreeMap::new();
    readers.insert("postgres_example_test_dataset".into(), Box::new(database));
    assert_sample(&datasets, &mut readers);
}

/// What the sample's people reach, whichever database holds it.
fn assert_sample(datasets: &[Dataset], readers: &mut BTreeMap<String, Box<dyn Reader>>) {
    let jane = reach(
        datasets,
        readers,
        &operator(),
        &[("email".into(), "jane@example.com".into())],
    )
    .expect("reads");
    let jane = reached(&jane);
    assert_eq!(
        jane,
        BTreeMap::from([
            ("address".into(), set(&["4"])),
            ("customer".into(), set(&["3"])),
            ("login".into(), set(&["8"])),
            ("orders".into(), set(&["ord_ddd-eee"])),
            ("payment_card".into(), set(&["pay_ccc-ccc"])),
        ])
    );

    // Upper case in the request is the same address.
    let one = reach(
        datasets,
        readers,
        &operator(),
        &[("email".into(), "Customer-1@Example.com".into())],
    )
    .expect("reads");
    let fields_of = |collection: &str| {
        one.iter()
            .find(|r| r.collection == collection)
            .expect(collection)
            .fields
            .clone()
    };
    let one_keys = reached(&one);
    assert_eq!(
        one_keys,
        BTreeMap::from([
            ("address".into(), set(&["1", "2"])),
            ("customer".into(), set(&["1"])),
            ("login".into(), set(&["1", "2", "3", "4", "5", "6"])),
            (
                "order_item".into(),
                set(&["ord_aaa-aaa", "ord_ccc-ccc", "ord_ddd-ddd"])
            ),
            (
                "orders".into(),
                set(&["ord_aaa-aaa", "ord_ccc-ccc", "ord_ddd-ddd"])
            ),
            ("payment_card".into(), set(&["pay_aaa-aaa"])),
            ("product".into(), set(&["1", "2"])),
            ("service_request".into(), set(&["ser_aaa-aaa"])),
            ("visit".into(), set(&["customer-1@example.com"])),
        ])
    );
    let items = one
        .iter()
        .find(|r| r.collection == "order_item")
        .expect("items");
    assert_eq!(items.rows.len(), 4, "aaa/1, ccc/1, ccc/2, ddd/1");
    // Only declared fields are read: the product's description and url never are.
    assert_eq!(fields_of("product"), ["id", "name", "price"]);

    // Someone the sample does not know reaches nothing.
    let nobody = reach(
        datasets,
        readers,
        &operator(),
        &[("email".into(), "nobody@example.com".into())],
    )
    .expect("reads");
    assert!(nobody.is_empty());

    // A customer tenant's request does not reach the operator's own database.
    let customer = Requester {
        tenant_id: "0190".into(),
        tenant_name: "Some customer".into(),
        operator: false,
    };
    let theirs = reach(
        datasets,
        readers,
        &customer,
        &[("email".into(), "jane@example.com".into())],
    )
    .expect("reads");
    assert!(theirs.is_empty());
}

/// The MariaDB/MySQL URL for tests, or `None` (said aloud). Under CI, which sets
/// OMBUD_TEST_MYSQL_MARKER, a missing URL fails instead of skipping, and a run leaves the
/// marker behind.
fn mysql_url() -> Option<String> {
    match std::env::var("OMBUD_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => {
            if let Some(marker) = std::env::var_os("OMBUD_TEST_MYSQL_MARKER") {
                std::fs::write(marker, "ran\n").expect("writes the marker");
            }
            Some(url)
        }
        _ => {
            assert!(
                std::env::var_os("OMBUD_TEST_MYSQL_MARKER").is_none(),
                "CI expects the MariaDB tests to run: set OMBUD_TEST_MYSQL_URL"
            );
            eprintln!("OMBUD_TEST_MYSQL_URL is not set: the MariaDB case did not run");
            None
        }
    }
}

/// The sample's tables and rows in MySQL's dialect, in a new database named after `name`.
pub fn mysql_sample(base: &str, name: &str) -> String {
    use mysql::prelude::Queryable;
    let mut admin =
        mysql::Conn::new(mysql::Opts::from_url(base).expect("a mysql:// URL")).expect("connects");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drops");
    admin
        .query_drop(format!("CREATE DATABASE {name}"))
        .expect("creates");
    let url = match base.rfind('/') {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => format!("{base}/{name}"),
    };
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
    url
}

#[test]
fn the_same_traversal_reaches_the_same_rows_in_mariadb() {
    let Some(base) = mysql_url() else { return };
    let name = format!("fides_sample_{}", std::process::id());
    let url = mysql_sample(&base, &name);
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("sample.url");
    std::fs::write(&url_file, format!("{url}\n")).expect("writes");
    let (mut dataset, _) = fides::parse("sample.yml", DATASET)
        .expect("reads")
        .remove(0);
    dataset.connection = Some(Connection {
        kind: Kind::Mysql,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    });
    let database = Database::open("sample", dataset.connection.as_ref().expect("connection"))
        .expect("connects");
    let datasets = vec![dataset];
    let mut readers: BTreeMap<String, Box<dyn Reader>> = BTreeMap::new();
    readers.insert("postgres_example_test_dataset".into(), Box::new(database));
    assert_sample(&datasets, &mut readers);
    drop(readers);
    use mysql::prelude::Queryable;
    let mut admin = mysql::Conn::new(mysql::Opts::from_url(&base).expect("url")).expect("connects");
    let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
}

/// What discovery proposes for each column of `tables`, as `table.column → category`.
fn discovered(database: &mut Database, sample: usize) -> BTreeMap<String, &'static str> {
    use ombud_connect::discover;
    let tables = database.schema().expect("schema");
    let today = jiff::civil::Date::constant(2026, 11, 29);
    discover::scan(database, &tables, sample, today)
        .expect("scans")
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter_map(|c| Some((format!("{}.{}", t.table, c.column), c.category()?)))
        })
        .collect()
}

/// Discovery against Fides' own declarations of its sample: every column found to hold
/// personal data is declared under a covering category, except two the sample gets wrong — a
/// table of vendor contact addresses its dataset leaves out, and service requests' requester
/// addresses it declares `system.operations`.
fn assert_discovery_agrees_with_fides(found: &BTreeMap<String, &'static str>) {
    let (dataset, _) = fides::parse("sample.yml", DATASET)
        .expect("reads")
        .remove(0);
    assert!(
        found.get("customer.email") == Some(&"user.contact.email")
            && found.get("customer.name") == Some(&"user.name"),
        "{found:?}"
    );
    let (mut undeclared, mut contradicted) = (Vec::new(), Vec::new());
    for (column, category) in found {
        let (table, field) = column.split_once('.').expect("table.column");
        let declared: Vec<&String> = dataset
            .collections
            .iter()
            .filter(|c| c.name == table)
            .flat_map(|c| c.fields.iter().filter(|f| f.name == field))
            .flat_map(|f| &f.categories)
            .collect();
        if declared.is_empty() {
            undeclared.push(column.as_str());
            continue;
        }
        if !declared.iter().any(|d| {
            ombud_policy::taxonomy::is_within(category, d)
                || ombud_policy::taxonomy::is_within(d, category)
        }) {
            contradicted.push(format!("{column}: {category}, declared {declared:?}"));
        }
    }
    assert_eq!(
        undeclared,
        ["dynamic_email_address_config.email_address"],
        "{found:?}"
    );
    assert_eq!(
        contradicted,
        ["service_request.email: user.contact.email, declared [\"system.operations\"]"],
        "{found:?}"
    );
}

#[test]
fn discovery_finds_what_the_sample_declares_in_postgresql() {
    let Some(base) = postgres_url() else { return };
    let sample = Sample::load_as(&base, "fides_scan");
    let connection = Connection {
        kind: Kind::Postgres,
        url_env: None,
        url_file: None,
        schema: None,
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("sample.url");
    std::fs::write(&url_file, format!("{}\n", sample.url)).expect("writes");
    let connection = Connection {
        url_file: Some(url_file.display().to_string()),
        ..connection
    };
    let mut database = Database::open("sample", &connection).expect("connects");
    assert_discovery_agrees_with_fides(&discovered(&mut database, 1000));

    // A table far larger than the sample is sampled by pages, and still read right.
    let mut client = postgres::Client::connect(&sample.url, postgres::NoTls).expect("connects");
    client
        .batch_execute(
            "CREATE TABLE newsletter (id serial PRIMARY KEY, address text);
             INSERT INTO newsletter (address) SELECT 'reader' || n || '@example.org' FROM generate_series(1, 50000) n;
             ANALYZE newsletter;",
        )
        .expect("a large table");
    let rows = database
        .sample("newsletter", &["id".into(), "address".into()], 100)
        .expect("samples");
    // However the pages fall, at least half the sample comes back (the first rows otherwise).
    for _ in 0..20 {
        let rows = database
            .sample("newsletter", &["id".into(), "address".into()], 100)
            .expect("samples");
        assert!((50..=100).contains(&rows.len()), "{} rows", rows.len());
    }
    assert!((50..=100).contains(&rows.len()), "{} rows", rows.len());
    assert_eq!(
        discovered(&mut database, 100).get("newsletter.address"),
        Some(&"user.contact.email")
    );
}

#[test]
fn discovery_finds_what_the_sample_declares_in_mariadb() {
    let Some(base) = mysql_url() else { return };
    let name = format!("fides_scan_{}", std::process::id());
    let url = mysql_sample(&base, &name);
    let dir = tempfile::tempdir().expect("temporary directory");
    let url_file = dir.path().join("sample.url");
    std::fs::write(&url_file, format!("{url}\n")).expect("writes");
    let connection = Connection {
        kind: Kind::Mysql,
        url_env: None,
        url_file: Some(url_file.display().to_string()),
        schema: None,
    };
    let mut database = Database::open("sample", &connection).expect("connects");
    let found = discovered(&mut database, 1000);
    drop(database);
    use mysql::prelude::Queryable;
    let mut admin = mysql::Conn::new(mysql::Opts::from_url(&base).expect("url")).expect("connects");
    let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
    assert_discovery_agrees_with_fides(&found);
}
