//! An access answer covers the operator's own database: the rows the person's identities reach
//! are in data.json and a CSV per table, the summary names the system, credentials are never
//! exported; a database that cannot be read stops the answer, changes nothing, and the request
//! is fulfilled once it is back.

use jiff::Timestamp;
use ombud_app::rights::{Desk, DeskError, Filing};
use ombud_app::secrets::Secrets;
use ombud_connect::{Connectors, native};
use ombud_core::requests::RequestKind;
use ombud_store::model::{NewRecord, Secret};
use ombud_store::{Actor, SqliteStore, Store};
use std::io::Read;
use std::sync::Arc;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

fn dataset(url_file: &std::path::Path) -> String {
    format!(
        r#"key = "app"
name = "Laskuri invoicing application"
purposes = ["user-accounts", "invoicing"]

[connection]
kind = "sqlite"
url_file = "{}"

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
name = "password_hash"
categories = ["user.authorization.password"]

[[collections]]
name = "invoices"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{{ field = "users.id", direction = "from" }}]

[[collections.fields]]
name = "amount"
categories = ["user.financial"]
"#,
        url_file.display()
    )
}

fn seed(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .expect("creates")
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT);
             CREATE TABLE invoices (id INTEGER PRIMARY KEY, user_id INTEGER, amount TEXT);
             INSERT INTO users VALUES (1, 'Ana@Example.com', 'argon2id$secret'), (2, 'bo@example.com', NULL);
             INSERT INTO invoices VALUES (10, 1, '120.00'), (11, 1, '80.00'), (12, 2, '5.00');",
        )
        .expect("seeds");
}

#[test]
fn an_access_answer_covers_the_operator_s_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let app_db = dir.path().join("app.db");
    let url_file = dir.path().join("app.url");
    std::fs::write(&url_file, format!("{}\n", app_db.display())).expect("url");
    let (dataset, _) = native::parse("app.toml", &dataset(&url_file)).expect("dataset");

    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let operator = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Laskuri Oy")
        .expect("bootstrap")
        .operator;
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let desk = Desk {
        store: Arc::clone(&store),
        time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
        policy: Arc::new(policy),
        secrets: Arc::new(Secrets::from_master(&master)),
        public_url: "https://privacy.example".into(),
        connectors: Arc::new(Connectors::new(vec![dataset])),
    };
    let now = Timestamp::now();
    let ana = store
        .create_subject(
            operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "ana@example.com")
                    .expect("email"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    store
        .put_records(
            operator,
            &[NewRecord {
                id: None,
                subject: ana,
                category: "user.name".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: now,
                value: Secret::new("Ana"),
            }],
            &Actor::Cli,
            now,
        )
        .expect("record");
    let filed = desk
        .file(
            operator,
            Filing {
                kind: RequestKind::Access,
                email: Some("ana@example.com".into()),
                subject: Some(ana),
                purpose: None,
                category: None,
                record: None,
                new_value: None,
                channel: "api".into(),
                vouched: true,
            },
            &Actor::Cli,
            now,
        )
        .expect("filed");

    // The database is not there yet: nothing is answered, the request stays open.
    let refused = desk.fulfil(operator, filed.id, &Actor::Cli, now);
    match refused {
        Err(DeskError::Unavailable(message)) => {
            assert!(message.contains("dataset `app`"), "{message}");
            assert!(message.contains("fulfil the request again"), "{message}");
        }
        other => panic!("expected the answer to wait for the database: {other:?}"),
    }
    let open = store
        .request(operator, filed.id)
        .expect("reads")
        .expect("the request");
    assert_eq!(
        open.status,
        ombud_core::requests::RequestStatus::InProgress,
        "begun, waiting for the database"
    );

    seed(&app_db);
    let done = desk
        .fulfil(operator, filed.id, &Actor::Cli, now)
        .expect("fulfilled");
    assert!(
        done.request
            .outcome
            .as_ref()
            .is_some_and(|o| o.contains("3 rows from 2 tables")),
        "{:?}",
        done.request.outcome
    );
    let url = done.download_url.expect("a download link");
    let token = url.rsplit('/').next().expect("token");
    let export = store
        .take_export(
            operator,
            &ombud_store::crypto::export_token_hash(token),
            now,
        )
        .expect("reads")
        .expect("the export");
    let zip = ombud_store::crypto::open_export(token, &export.sealed).expect("opens");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a zip");
    let mut read = |name: &str| {
        let mut text = String::new();
        archive
            .by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the zip"))
            .read_to_string(&mut text)
            .expect("text");
        text
    };
    let data: serde_json::Value = serde_json::from_str(&read("data.json")).expect("json");
    let systems = data["systems"].as_array().expect("systems");
    assert_eq!(systems.len(), 2, "{systems:#?}");
    let users = systems
        .iter()
        .find(|s| s["collection"] == "users")
        .expect("users");
    assert_eq!(users["system"], "Laskuri invoicing application");
    assert_eq!(users["rows"][0]["email"], "Ana@Example.com");
    assert_eq!(
        users["rows"][0]["password_hash"],
        "(held; credentials are not exported)"
    );
    let invoices = systems
        .iter()
        .find(|s| s["collection"] == "invoices")
        .expect("invoices");
    assert_eq!(
        invoices["rows"].as_array().map(Vec::len),
        Some(2),
        "Bo's invoice is not Ana's"
    );
    let csv = read("systems/app/invoices.csv");
    assert!(csv.starts_with("id,user_id,amount\n"), "{csv}");
    assert!(
        csv.contains("10,1,120.00") && csv.contains("11,1,80.00") && !csv.contains("5.00"),
        "{csv}"
    );
    let summary = read("summary.html");
    assert!(
        summary.contains("Laskuri invoicing application"),
        "the summary names the system"
    );
    assert!(
        !summary.contains("not part of it"),
        "it no longer says other systems are left out"
    );
    assert!(
        !read("data.json").contains("argon2id"),
        "a password hash is never exported"
    );
}

#[test]
fn a_rectification_corrects_the_field_in_every_table_that_holds_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let app_db = dir.path().join("app.db");
    let url_file = dir.path().join("app.url");
    std::fs::write(&url_file, format!("{}\n", app_db.display())).expect("url");
    seed(&app_db);
    rusqlite::Connection::open(&app_db)
        .expect("opens")
        .execute_batch(
            "ALTER TABLE users ADD COLUMN display_name TEXT;
             UPDATE users SET display_name = 'Ana V' WHERE id = 1;
             UPDATE users SET display_name = 'Bo' WHERE id = 2;",
        )
        .expect("a name column");
    let text = dataset(&url_file).replace(
        "[[collections.fields]]\nname = \"password_hash\"",
        "[[collections.fields]]\nname = \"display_name\"\ncategories = [\"user.name\"]\n\n[[collections.fields]]\nname = \"password_hash\"",
    );
    let (dataset, _) = native::parse("app.toml", &text).expect("dataset");
    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let operator = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Laskuri Oy")
        .expect("bootstrap")
        .operator;
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let desk = Desk {
        store: Arc::clone(&store),
        time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
        policy: Arc::new(policy),
        secrets: Arc::new(Secrets::from_master(&master)),
        public_url: "https://privacy.example".into(),
        connectors: Arc::new(Connectors::new(vec![dataset])),
    };
    let now = Timestamp::now();
    let ana = store
        .create_subject(
            operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "ana@example.com")
                    .expect("email"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    let filed = desk
        .file(
            operator,
            Filing {
                kind: RequestKind::Rectification,
                email: Some("ana@example.com".into()),
                subject: Some(ana),
                purpose: None,
                category: Some("user.name".into()),
                record: None,
                new_value: Some(Secret::new("Ana Virtanen")),
                channel: "api".into(),
                vouched: true,
            },
            &Actor::Cli,
            now,
        )
        .expect("filed");
    let done = desk
        .fulfil(operator, filed.id, &Actor::Cli, now)
        .expect("fulfilled");
    let outcome = done.request.outcome.expect("outcome");
    assert!(
        outcome.contains("1 rows of the operator's systems"),
        "{outcome}"
    );
    let names: Vec<(i64, String)> = rusqlite::Connection::open(&app_db)
        .expect("opens")
        .prepare("SELECT id, display_name FROM users ORDER BY id")
        .expect("select")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names");
    assert_eq!(names, [(1, "Ana Virtanen".into()), (2, "Bo".into())]);
}

#[test]
fn a_portability_answer_carries_the_fields_a_contract_covers_and_no_credential() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let app_db = dir.path().join("app.db");
    let url_file = dir.path().join("app.url");
    std::fs::write(&url_file, format!("{}\n", app_db.display())).expect("url");
    seed(&app_db);
    let (dataset, _) = native::parse("app.toml", &dataset(&url_file)).expect("dataset");
    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let operator = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Laskuri Oy")
        .expect("bootstrap")
        .operator;
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let desk = Desk {
        store: Arc::clone(&store),
        time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
        policy: Arc::new(policy),
        secrets: Arc::new(Secrets::from_master(&master)),
        public_url: "https://privacy.example".into(),
        connectors: Arc::new(Connectors::new(vec![dataset])),
    };
    let now = Timestamp::now();
    let ana = store
        .create_subject(
            operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "ana@example.com")
                    .expect("email"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    let filed = desk
        .file(
            operator,
            Filing {
                kind: RequestKind::Portability,
                email: Some("ana@example.com".into()),
                subject: Some(ana),
                purpose: None,
                category: None,
                record: None,
                new_value: None,
                channel: "api".into(),
                vouched: true,
            },
            &Actor::Cli,
            now,
        )
        .expect("filed");
    let done = desk
        .fulfil(operator, filed.id, &Actor::Cli, now)
        .expect("fulfilled");
    let url = done.download_url.expect("a download link");
    let token = url.rsplit('/').next().expect("token");
    let export = store
        .take_export(
            operator,
            &ombud_store::crypto::export_token_hash(token),
            now,
        )
        .expect("reads")
        .expect("the export");
    let zip = ombud_store::crypto::open_export(token, &export.sealed).expect("opens");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a zip");
    let mut text = String::new();
    archive
        .by_name("data.json")
        .expect("data.json")
        .read_to_string(&mut text)
        .expect("text");
    let data: serde_json::Value = serde_json::from_str(&text).expect("json");
    let users = data["systems"]
        .as_array()
        .expect("systems")
        .iter()
        .find(|s| s["collection"] == "users")
        .expect("users")
        .clone();
    let row = users["rows"][0].as_object().expect("a row").clone();
    assert_eq!(
        row["email"], "Ana@Example.com",
        "the contract covers the email"
    );
    assert!(!row.contains_key("password_hash"), "no credential: {row:?}");
    assert!(
        !row.contains_key("id"),
        "ids no activity names are not the person's data: {row:?}"
    );
}
