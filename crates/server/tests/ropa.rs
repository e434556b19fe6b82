//! Art. 30(2)(a): the processor's record names each controller it acts for. The server renders
//! it from its tenants: one entry per customer and processor activity, the customer as
//! controller, the operator as processor.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres};
use serde_json::json;

async fn record_per_customer(app: &TestApp) {
    let (acme, acme_admin) = app.tenant_with_admin("Acme Oy").await;
    let (globex, _) = app.tenant_with_admin("Globex Oy").await;
    // Globex gave its details as controller: its address, privacy contact and DPO.
    let patched = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/tenants/{globex}"),
            Some(&app.admin_key),
            None,
            Some(json!({ "address": "Mallitie 2, Oulu", "contact": "privacy@globex.example", "dpo": "Åsa Lind" })),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let person = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "it@acme.example" }] }),
        )
        .await;
    assert_eq!(person.status, 201, "{:?}", person.body);
    let added = app
        .post(
            &format!("/api/v1/tenants/{acme}/contacts"),
            &app.admin_key,
            json!({ "subject": person.body["id"] }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);

    let json = app.get("/api/v1/ropa", &app.admin_key).await;
    assert_eq!(json.status, 200, "{:?}", json.body);
    let records = json.body["records"].as_array().expect("records");
    let hosted: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["article"] == "30(2)")
        .map(|r| {
            (
                r["parties"]["controller"].as_str().expect("controller"),
                r["parties"]["controller_contact"]
                    .as_str()
                    .expect("contact"),
            )
        })
        .collect();
    assert_eq!(
        hosted,
        [
            ("Acme Oy", "it@acme.example"),
            (
                "Globex Oy, Mallitie 2, Oulu",
                "privacy@globex.example; data protection officer: Åsa Lind"
            )
        ],
        "one entry per customer, each naming it as controller"
    );
    assert!(records.iter().filter(|r| r["article"] == "30(2)").all(|r| {
        r["parties"]["processor"]
            .as_str()
            .is_some_and(|p| p.starts_with("Laskuri Pilvi Oy"))
    }));

    let csv = app.get("/api/v1/ropa?format=csv", &app.admin_key).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.body.as_str().expect("text");
    assert!(text.starts_with(
        "article,activity_id,controller,controller_contact,processor,processor_contact,"
    ));
    assert!(text.contains("30(2),customer-data,Acme Oy,it@acme.example,"));

    let refused = app.get("/api/v1/ropa", &acme_admin).await;
    assert_eq!(
        refused.status, 403,
        "a customer does not read the operator's record"
    );
    let bad = app.get("/api/v1/ropa?format=xml", &app.admin_key).await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (422, Some("format"))
    );
}

#[tokio::test]
async fn the_processor_record_names_each_customer_on_sqlite() {
    record_per_customer(&spawn_app().await).await;
}

#[tokio::test]
async fn the_processor_record_names_each_customer_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    record_per_customer(&spawn_app_on_postgres(&url).await).await;
}
