//! Retention counted from an event of the person reaches the operator's own tables: a user
//! whose account closed loses their row in the application's user table, followed there
//! through their email; a customer's invoices go once the contract's period has ended *and*
//! the accounting law's period of each invoice has; a person on hold or under restriction, a
//! running account and a row nobody in ombud knows stay. A dry run and the forecast count and
//! change nothing; the audit log gets counts, never an address. SQLite always, PostgreSQL and
//! MariaDB when their URLs are set (CI sets them).

mod common;

use jiff::{Timestamp, ToSpan};
use ombud_app::datasets::CollectionSweep;
use ombud_connect::{Connection, Connectors, Kind, native};
use ombud_core::EventKind;
use ombud_store::model::{NewEvent, SubjectId, TenantId};
use ombud_store::retention::{HoldReason, NewHold};
use ombud_store::{Actor, Store};

/// The application's users: kept while the account is (rule while-account-active).
const ACCOUNTS: &str = r#"key = "accounts"
name = "Laskuri application: users"
purposes = ["user-accounts"]
tenant = "operator"

[[collections]]
name = "app_users"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"

[[collections.fields]]
name = "role"
categories = ["user.account.roles"]
"#;

/// Invoices: the customer relationship keeps them 180 days past the contract, the accounting
/// law six years from the end of the year each was issued in; the later of the two ends one.
const BILLING: &str = r#"key = "billing"
name = "Laskuri application: invoices"
purposes = ["service-delivery", "accounting"]
tenant = "operator"

[[collections]]
name = "invoices"
expires_by = "issued_on"

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
name = "amount"
categories = ["user.financial"]

[[collections.fields]]
name = "issued_on"
categories = ["system.operations"]
"#;

/// The tables and their rows, in SQL all three databases take. Invoices are dated 2017 (past
/// six years from the end of its year) and last year (not).
fn seed(now: Timestamp) -> Vec<String> {
    let last_year = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(1.year())
        .expect("a date")
        .date();
    let mut sql = vec![
        "CREATE TABLE app_users (id INTEGER PRIMARY KEY, email VARCHAR(200), role VARCHAR(40))"
            .to_owned(),
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, email VARCHAR(200), name VARCHAR(200), amount DECIMAL(12, 2), issued_on DATE)"
            .to_owned(),
    ];
    for (id, email) in [
        (1, "aino@example.fi"),
        (2, "pekka@example.fi"),
        (3, "liisa@example.fi"),
        (4, "matti@example.fi"),
        (5, "nobody@example.fi"),
    ] {
        sql.push(format!(
            "INSERT INTO app_users VALUES ({id}, '{email}', 'user')"
        ));
    }
    for (id, email, day) in [
        (10, "ville@example.fi", "2017-03-01".to_owned()),
        (11, "ville@example.fi", last_year.to_string()),
        (12, "sanna@example.fi", "2017-03-01".to_owned()),
    ] {
        sql.push(format!(
            "INSERT INTO invoices VALUES ({id}, '{email}', 'A Person', 10.00, '{day}')"
        ));
    }
    sql
}

struct Case {
    fixture: common::Fixture,
    connectors: Connectors,
    policy: ombud_policy::Policy,
    tz: jiff::tz::TimeZone,
}

fn event(store: &dyn Store, tenant: TenantId, subject: SubjectId, kind: EventKind, at: Timestamp) {
    store
        .add_event(
            tenant,
            subject,
            &NewEvent {
                id: None,
                kind,
                purpose: None,
                occurred_at: at,
                channel: Some("api".into()),
                policy_version: None,
            },
            &Actor::Cli,
            at,
        )
        .expect("event");
}

fn case(dir: &std::path::Path, kind: Kind, schema: Option<String>, now: Timestamp) -> Case {
    let datasets = [("accounts.toml", ACCOUNTS), ("billing.toml", BILLING)].map(|(file, text)| {
        let (mut dataset, _) = native::parse(file, text).expect("dataset");
        dataset.connection = Some(Connection {
            kind,
            url_env: None,
            url_file: Some(dir.join("app.url").display().to_string()),
            schema: schema.clone(),
        });
        dataset
    });
    let fixture = common::fixture(dir, vec![]);
    let store = fixture.store.as_ref();
    let operator = fixture.operator;
    let day = 24.hours();
    let ago = |span: jiff::Span| now.checked_sub(span).expect("a time");
    // Accounts: Aino's closed yesterday, Pekka's runs, Liisa's closed but a hold keeps her,
    // Matti's closed but he asked for restriction.
    for (email, closed) in [
        ("aino@example.fi", true),
        ("pekka@example.fi", false),
        ("liisa@example.fi", true),
        ("matti@example.fi", true),
    ] {
        let subject = common::person(store, operator, email);
        event(
            store,
            operator,
            subject,
            EventKind::AccountOpened,
            ago(400 * day),
        );
        if closed {
            event(store, operator, subject, EventKind::AccountClosed, ago(day));
        }
    }
    let liisa = common::person(store, operator, "liisa@example.fi");
    store
        .create_hold(
            operator,
            &NewHold {
                reason: HoldReason::LegalClaim,
                subject: Some(liisa),
                category: None,
                note: "claim 2026-17".into(),
                ends_at: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("hold");
    let matti = common::person(store, operator, "matti@example.fi");
    event(store, operator, matti, EventKind::Restriction, ago(day));
    // Customers: Ville's contract ended 200 days ago (past 180 days), Sanna's 30 days ago.
    for (email, ended) in [("ville@example.fi", 200), ("sanna@example.fi", 30)] {
        let subject = common::person(store, operator, email);
        event(
            store,
            operator,
            subject,
            EventKind::ContractStart,
            ago(3000 * day),
        );
        event(
            store,
            operator,
            subject,
            EventKind::ContractEnd,
            ago(ended * day),
        );
    }
    let policy = (*fixture.desk.policy).clone();
    let tz = fixture.desk.time_zone.clone();
    Case {
        fixture,
        connectors: Connectors::new(datasets.into()),
        policy,
        tz,
    }
}

fn sweep(case: &Case, now: Timestamp, dry_run: bool) -> Vec<CollectionSweep> {
    ombud_app::datasets::sweep(
        &case.connectors,
        &case.policy,
        case.fixture.store.as_ref(),
        &case.tz,
        now,
        dry_run,
    )
    .expect("sweeps")
}

fn table<'a>(swept: &'a [CollectionSweep], name: &str) -> &'a CollectionSweep {
    swept
        .iter()
        .find(|t| t.collection == name)
        .unwrap_or_else(|| panic!("{name} in {swept:#?}"))
}

/// Runs the whole story against one database; `ids` reads (table → ids left).
fn story(case: &Case, now: Timestamp, ids: &mut dyn FnMut(&str) -> Vec<i64>) {
    let dry = sweep(case, now, true);
    let users = table(&dry, "app_users");
    assert_eq!(users.skipped, None, "{users:#?}");
    assert_eq!(
        (users.rows, users.people, users.action.as_str()),
        (1, Some(1), "delete"),
        "only Aino's row: {users:#?}"
    );
    let invoices = table(&dry, "invoices");
    assert_eq!(
        (invoices.rows, invoices.people),
        (1, Some(1)),
        "Ville's 2017 invoice only: {invoices:#?}"
    );
    assert!(invoices.before.is_some(), "{invoices:#?}");
    assert_eq!(
        ids("app_users"),
        [1, 2, 3, 4, 5],
        "a dry run changes nothing"
    );
    assert_eq!(ids("invoices"), [10, 11, 12]);

    // Within 200 days Sanna's contract period ends too, and her 2017 invoice with it.
    let ahead = ombud_app::datasets::forecast(
        &case.connectors,
        &case.policy,
        case.fixture.store.as_ref(),
        &case.tz,
        now,
        200,
    )
    .expect("forecast");
    assert_eq!(
        (
            table(&ahead, "invoices").rows,
            table(&ahead, "invoices").people
        ),
        (2, Some(2))
    );
    assert_eq!(ids("invoices"), [10, 11, 12], "a forecast changes nothing");

    let done = sweep(case, now, false);
    assert_eq!(table(&done, "app_users").rows, 1);
    assert_eq!(table(&done, "invoices").rows, 1);
    assert_eq!(ids("app_users"), [2, 3, 4, 5]);
    assert_eq!(ids("invoices"), [11, 12]);
    let again = sweep(case, now, false);
    assert_eq!(
        (
            table(&again, "app_users").rows,
            table(&again, "invoices").rows
        ),
        (0, 0),
        "a second sweep finds nothing more"
    );

    let entries = case
        .fixture
        .store
        .audit_entries(
            case.fixture.operator,
            &ombud_store::audit::AuditFilter {
                subject: None,
                actor: None,
                action: Some("datasets.expire".into()),
                from: None,
                until: None,
                after_seq: None,
                limit: 100,
            },
        )
        .expect("audit");
    assert_eq!(entries.len(), 2, "{entries:#?}");
    for entry in &entries {
        let detail = entry.detail.as_deref().unwrap_or_default();
        assert!(detail.starts_with("dataset="), "{detail}");
        assert!(detail.contains("1 deleted"), "{detail}");
        assert!(
            !detail.contains('@'),
            "no address in the audit log: {detail}"
        );
    }
}

#[test]
fn on_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("app.db");
    let connection = rusqlite::Connection::open(&file).expect("creates");
    let now = Timestamp::now();
    for statement in seed(now) {
        connection.execute(&statement, []).expect("seed");
    }
    std::fs::write(dir.path().join("app.url"), format!("{}\n", file.display())).expect("url");
    let case = case(dir.path(), Kind::Sqlite, None, now);
    story(&case, now, &mut |table| {
        connection
            .prepare(&format!("SELECT id FROM {table} ORDER BY id"))
            .expect("select")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids")
    });
}

#[test]
fn on_postgresql() {
    let Some(url) = common::server_url(
        "OMBUD_TEST_POSTGRES_URL",
        "OMBUD_TEST_POSTGRES_MARKER",
        "PostgreSQL",
    ) else {
        return;
    };
    let schema = format!("event_retention_{}", std::process::id());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .expect("schema");
    let now = Timestamp::now();
    for statement in seed(now) {
        client.batch_execute(&statement).expect("seed");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{url}\n")).expect("url");
    let case = case(dir.path(), Kind::Postgres, Some(schema.clone()), now);
    story(&case, now, &mut |table| {
        client
            .query(&format!("SELECT id FROM {schema}.{table} ORDER BY id"), &[])
            .expect("rows")
            .iter()
            .map(|r| i64::from(r.get::<_, i32>(0)))
            .collect()
    });
    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

#[test]
fn on_mariadb() {
    use mysql::prelude::Queryable;
    let Some(database) = common::MariaDb::new("event_retention") else {
        return;
    };
    let url = database.url.clone();
    let mut conn = database.connect();
    let now = Timestamp::now();
    for statement in seed(now) {
        conn.query_drop(statement).expect("seed");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("app.url"), format!("{url}\n")).expect("url");
    let case = case(dir.path(), Kind::Mysql, None, now);
    story(&case, now, &mut |table| {
        conn.query(format!("SELECT id FROM {table} ORDER BY id"))
            .expect("rows")
    });
}
