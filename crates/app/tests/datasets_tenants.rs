//! A database customers share, with a column saying whose each row is: the same person (by
//! email) is a user of two customers; a request in one customer's queue reads and erases that
//! customer's rows only.

mod common;

use common::{file, fixture};
use jiff::Timestamp;
use ombud_connect::native;
use ombud_core::requests::RequestKind;
use ombud_store::Actor;

fn dataset(url_file: &std::path::Path) -> String {
    format!(
        r#"key = "shared"
name = "Laskuri invoicing (shared database)"
purposes = ["customer-data"]
tenant = {{ column = "company_id", values = {{ "1" = "Acme Oy", "2" = "Beta Ab" }} }}

[connection]
kind = "sqlite"
url_file = "{}"

[[collections]]
name = "contacts"

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

[[collections]]
name = "invoices"
erase = "delete"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "contact_id"
categories = ["system.operations"]
references = [{{ field = "contacts.id", direction = "from" }}]

[[collections.fields]]
name = "amount"
categories = ["user.financial"]
"#,
        url_file.display()
    )
}

fn rows(path: &std::path::Path) -> Vec<(i64, i64, Option<String>, Option<String>)> {
    rusqlite::Connection::open(path)
        .expect("opens")
        .prepare("SELECT id, company_id, email, name FROM contacts ORDER BY id")
        .expect("select")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_customer_s_request_reaches_that_customer_s_rows_only() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("shared.db");
    rusqlite::Connection::open(&db)
        .expect("creates")
        .execute_batch(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL, email TEXT, name TEXT);
             CREATE TABLE invoices (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL, contact_id INTEGER, amount TEXT);
             INSERT INTO contacts VALUES (1, 1, 'eeva@example.fi', 'Eeva at Acme'), (2, 2, 'eeva@example.fi', 'Eeva at Beta');
             INSERT INTO invoices VALUES (10, 1, 1, '100.00'), (20, 2, 2, '200.00');",
        )
        .expect("seeds");
    let url = dir.path().join("shared.url");
    std::fs::write(&url, format!("{}\n", db.display())).expect("url");
    let (dataset, _) = native::parse("shared.toml", &dataset(&url)).expect("dataset");

    let f = fixture(dir.path(), vec![dataset]);
    let (desk, store) = (&f.desk, &f.store);
    let acme = store
        .create_tenant("Acme Oy", false, &Actor::Cli, Timestamp::now())
        .expect("tenant")
        .id;
    let beta = store
        .create_tenant("Beta Ab", false, &Actor::Cli, Timestamp::now())
        .expect("tenant")
        .id;

    // Acme's erasure plan and erasure: contact 1 and invoice 10 only.
    let id = file(desk, acme, RequestKind::Erasure, "eeva@example.fi", None);
    let plan = desk.erasure_plan(acme, id, Timestamp::now()).expect("plan");
    let counts: Vec<(String, u64, u64)> = plan
        .tables
        .iter()
        .map(|t| (t.collection.clone(), t.rows_masked, t.rows_deleted))
        .collect();
    assert_eq!(
        counts,
        [("contacts".into(), 1, 0), ("invoices".into(), 0, 1)]
    );
    desk.fulfil(acme, id, &Actor::Cli, Timestamp::now())
        .expect("erased");
    assert_eq!(
        rows(&db),
        [
            (1, 1, None, None),
            (
                2,
                2,
                Some("eeva@example.fi".into()),
                Some("Eeva at Beta".into())
            )
        ]
    );
    let invoices: Vec<i64> = rusqlite::Connection::open(&db)
        .expect("opens")
        .prepare("SELECT id FROM invoices ORDER BY id")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids");
    assert_eq!(invoices, [20], "Beta's invoice stays");

    // Beta's plan still sees Beta's rows; the operator's own requests see none of them.
    let id = file(desk, beta, RequestKind::Erasure, "eeva@example.fi", None);
    let plan = desk.erasure_plan(beta, id, Timestamp::now()).expect("plan");
    assert_eq!(
        plan.tables
            .iter()
            .map(|t| t.rows_masked + t.rows_deleted)
            .sum::<u64>(),
        2
    );
}
