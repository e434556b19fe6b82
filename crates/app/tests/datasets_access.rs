//! An access answer covers the operator's own database: the rows the person's identities reach
//! are in data.json and a CSV per table, the summary names the system, credentials are never
//! exported; a database that cannot be read stops the answer, changes nothing, and the request
//! is fulfilled once it is back. Portability and rectification reach the same rows.

mod common;

use common::{exported_all, file, fixture};
use jiff::Timestamp;
use ombud_app::rights::DeskError;
use ombud_connect::native;
use ombud_core::requests::RequestKind;
use ombud_store::Actor;
use ombud_store::model::{NewRecord, Secret};

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

/// The app database's path and the dataset reaching it (given as `text`, or the default).
fn app(
    dir: &std::path::Path,
    text: Option<&dyn Fn(String) -> String>,
) -> (std::path::PathBuf, ombud_connect::Dataset) {
    let app_db = dir.join("app.db");
    let url_file = dir.join("app.url");
    std::fs::write(&url_file, format!("{}\n", app_db.display())).expect("url");
    let mut text_of = dataset(&url_file);
    if let Some(change) = text {
        text_of = change(text_of);
    }
    (
        app_db,
        native::parse("app.toml", &text_of).expect("dataset").0,
    )
}

#[test]
fn an_access_answer_covers_the_operator_s_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (app_db, dataset) = app(dir.path(), None);
    let f = fixture(dir.path(), vec![dataset]);
    let now = Timestamp::now();
    let ana = common::person(f.store.as_ref(), f.operator, "ana@example.com");
    f.store
        .put_records(
            f.operator,
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
    let id = file(
        &f.desk,
        f.operator,
        RequestKind::Access,
        "ana@example.com",
        None,
    );

    // The database is not there yet: nothing is answered, the request waits in progress.
    match f.desk.fulfil(f.operator, id, &Actor::Cli, now) {
        Err(DeskError::Unavailable(message)) => {
            assert!(message.contains("dataset `app`"), "{message}");
            assert!(message.contains("fulfil the request again"), "{message}");
        }
        other => panic!("expected the answer to wait for the database: {other:?}"),
    }
    let open = f
        .store
        .request(f.operator, id)
        .expect("reads")
        .expect("the request");
    assert_eq!(
        open.status,
        ombud_core::requests::RequestStatus::InProgress,
        "begun, waiting for the database"
    );

    seed(&app_db);
    let done = f
        .desk
        .fulfil(f.operator, id, &Actor::Cli, now)
        .expect("fulfilled");
    assert!(
        done.request
            .outcome
            .as_ref()
            .is_some_and(|o| o.contains("3 rows from 2 tables")),
        "{:?}",
        done.request.outcome
    );
    let files = exported_all(
        f.store.as_ref(),
        f.operator,
        &done.download_url.expect("a download link"),
    );
    let data: serde_json::Value = serde_json::from_str(&files["data.json"]).expect("json");
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
    let csv = &files["systems/app/invoices.csv"];
    assert!(csv.starts_with("id,user_id,amount\n"), "{csv}");
    assert!(
        csv.contains("10,1,120.00") && csv.contains("11,1,80.00") && !csv.contains("5.00"),
        "{csv}"
    );
    let summary = &files["summary.html"];
    assert!(
        summary.contains("Laskuri invoicing application"),
        "the summary names the system"
    );
    assert!(
        !summary.contains("not part of it"),
        "it no longer says other systems are left out"
    );
    assert!(
        !files["data.json"].contains("argon2id"),
        "a password hash is never exported"
    );
}

#[test]
fn a_rectification_corrects_the_field_in_every_table_that_holds_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (app_db, dataset) = app(
        dir.path(),
        Some(&|text: String| {
            text.replace(
                "[[collections.fields]]\nname = \"password_hash\"",
                "[[collections.fields]]\nname = \"display_name\"\ncategories = [\"user.name\"]\n\n[[collections.fields]]\nname = \"password_hash\"",
            )
        }),
    );
    seed(&app_db);
    rusqlite::Connection::open(&app_db)
        .expect("opens")
        .execute_batch(
            "ALTER TABLE users ADD COLUMN display_name TEXT;
             UPDATE users SET display_name = 'Ana V' WHERE id = 1;
             UPDATE users SET display_name = 'Bo' WHERE id = 2;",
        )
        .expect("a name column");
    let f = fixture(dir.path(), vec![dataset]);
    let id = file(
        &f.desk,
        f.operator,
        RequestKind::Rectification,
        "ana@example.com",
        Some(("user.name", "Ana Virtanen")),
    );
    let done = f
        .desk
        .fulfil(f.operator, id, &Actor::Cli, Timestamp::now())
        .expect("fulfilled");
    let outcome = done.request.outcome.expect("outcome");
    assert!(
        outcome.contains("1 row of the operator's systems"),
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
    let (app_db, dataset) = app(dir.path(), None);
    seed(&app_db);
    let f = fixture(dir.path(), vec![dataset]);
    let id = file(
        &f.desk,
        f.operator,
        RequestKind::Portability,
        "ana@example.com",
        None,
    );
    let done = f
        .desk
        .fulfil(f.operator, id, &Actor::Cli, Timestamp::now())
        .expect("fulfilled");
    let files = exported_all(
        f.store.as_ref(),
        f.operator,
        &done.download_url.expect("a download link"),
    );
    let data: serde_json::Value = serde_json::from_str(&files["data.json"]).expect("json");
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
