//! Subjects, records, events, consents, the decision endpoint and the audit log over HTTP.
//! The test policy is the invoicing example: its operator is controller of its own tenant's
//! data and processor of every customer tenant's.

mod common;

use common::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn subject(app: &TestApp, key: &str, email: &str) -> String {
    let created = app
        .post(
            "/api/v1/subjects",
            key,
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().expect("id").to_owned()
}

fn categories(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["category"].as_str().expect("category").to_owned())
        .collect()
}

#[tokio::test]
async fn subjects_are_created_and_found_by_a_normalised_identity() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let service = app.key(&admin, "service").await;
    let agent = app.key(&admin, "agent").await;
    let created = app
        .post("/api/v1/subjects", &service, json!({ "identities": [{ "kind": "email", "value": "Ana@Example.com" }, { "kind": "phone", "value": "+358 40 123 4567" }] }))
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().expect("id");
    let found = app
        .get("/api/v1/subjects?identity=email:ana@example.COM", &service)
        .await;
    assert_eq!(found.body["id"], id);
    assert_eq!(
        app.get("/api/v1/subjects?identity=email:bo@example.com", &service)
            .await
            .status,
        404
    );
    let clash = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "email", "value": "ana@example.com" }] }),
        )
        .await;
    assert_eq!(clash.status, 409);

    assert_eq!(
        app.get(&format!("/api/v1/subjects/{id}"), &service)
            .await
            .status,
        403,
        "an application reads records by purpose, not identities"
    );
    let read = app.get(&format!("/api/v1/subjects/{id}"), &agent).await;
    assert_eq!(
        read.body["identities"],
        json!([{ "kind": "email", "value": "ana@example.com" }, { "kind": "phone", "value": "+358401234567" }])
    );
}

#[tokio::test]
async fn bad_identities_are_refused_by_field_without_echoing_the_value() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let bad = app
        .post(
            "/api/v1/subjects",
            &admin,
            json!({ "identities": [{ "kind": "phone", "value": "099 77" }] }),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["field"], "identities[0].value");
    assert!(
        !bad.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("099 77")
    );
    let kind = app
        .post(
            "/api/v1/subjects",
            &admin,
            json!({ "identities": [{ "kind": "mail", "value": "a@b.fi" }] }),
        )
        .await;
    assert_eq!(kind.body["field"], "identities[0].kind");
    let none = app
        .post("/api/v1/subjects", &admin, json!({ "identities": [] }))
        .await;
    assert_eq!(none.status, 422);
    let lookup = app
        .get("/api/v1/subjects?identity=ana@example.com", &admin)
        .await;
    assert_eq!(lookup.status, 422);
}

#[tokio::test]
async fn a_read_returns_only_what_the_purpose_allows_now_and_says_what_was_withheld() {
    let app = spawn_app().await;
    // The operator's own tenant: it is controller of this data.
    let ana = subject(&app, &app.admin_key, "ana@example.com").await;
    let written = app
        .call(
            Method::PUT,
            &format!("/api/v1/subjects/{ana}/records"),
            Some(&app.admin_key),
            None,
            Some(json!({ "records": [
                { "category": "user.name", "value": "Ana López" },
                { "category": "user.financial", "value": "FI21 1234 5600 0007 85" },
                { "category": "user.device.ip_address", "value": "192.0.2.7", "source": "service_use" }
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    assert_eq!(written.body["ids"].as_array().map(Vec::len), Some(3));

    let no_contract = app
        .get(
            &format!("/api/v1/subjects/{ana}/records?purpose=invoicing"),
            &app.admin_key,
        )
        .await;
    assert_eq!(no_contract.status, 200);
    assert!(
        no_contract.body["records"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    let reasons: Vec<&str> = no_contract.body["withheld"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| w["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(
        reasons,
        ["no_contract", "no_contract", "category_not_in_purpose"]
    );

    let started = app
        .post(
            &format!("/api/v1/subjects/{ana}/events"),
            &app.admin_key,
            json!({ "kind": "contract_start", "occurred_at": "2025-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let invoicing = app
        .get(
            &format!("/api/v1/subjects/{ana}/records?purpose=invoicing"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        categories(&invoicing.body, "records"),
        ["user.name", "user.financial"]
    );
    assert_eq!(invoicing.body["basis"], "contract");
    assert_eq!(
        invoicing.body["records"][1]["value"],
        "FI21 1234 5600 0007 85"
    );
    assert_eq!(
        categories(&invoicing.body, "withheld"),
        ["user.device.ip_address"]
    );

    let security = app
        .get(
            &format!("/api/v1/subjects/{ana}/records?purpose=security"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        categories(&security.body, "records"),
        ["user.device.ip_address"]
    );

    let missing = app
        .get(&format!("/api/v1/subjects/{ana}/records"), &app.admin_key)
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["field"], "purpose");
    let unknown = app
        .get(
            &format!("/api/v1/subjects/{ana}/records?purpose=profiling"),
            &app.admin_key,
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("invoicing")),
        "the known purposes are listed"
    );

    let audit = app
        .get(
            &format!("/api/v1/audit?subject={ana}&action=records.read"),
            &app.admin_key,
        )
        .await;
    let purposes: Vec<&str> = audit.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["purpose"].as_str().expect("purpose"))
        .collect();
    assert_eq!(
        purposes,
        ["invoicing", "invoicing", "security"],
        "every purpose-bound read is audited"
    );
    assert_eq!(
        audit.body["entries"][1]["categories"],
        json!(["user.financial", "user.name"])
    );
}

#[tokio::test]
async fn data_held_for_a_customer_serves_only_the_customers_purposes() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let service = app.key(&admin, "service").await;
    let bo = subject(&app, &service, "bo@example.com").await;
    app.call(Method::PUT, &format!("/api/v1/subjects/{bo}/records"), Some(&service), None, Some(json!({ "records": [{ "category": "user.name", "value": "Bo Ek", "source": "customer" }] })))
        .await;
    let own_purpose = app
        .get(
            &format!("/api/v1/subjects/{bo}/records?purpose=invoicing"),
            &service,
        )
        .await;
    assert_eq!(own_purpose.body["withheld"][0]["reason"], "role_mismatch");
    let for_customer = app
        .get(
            &format!("/api/v1/subjects/{bo}/records?purpose=customer-data"),
            &service,
        )
        .await;
    assert_eq!(categories(&for_customer.body, "records"), ["user.name"]);
}

#[tokio::test]
async fn consent_objection_and_withdrawal_change_the_decision_at_once() {
    let app = spawn_app().await;
    let ana = subject(&app, &app.admin_key, "ana@example.com").await;
    let check = |purpose: &'static str| {
        let app = &app;
        async move {
            app.get(
                &format!("/api/v1/check?identity=email:ANA@example.com&purpose={purpose}"),
                &app.admin_key,
            )
            .await
            .body
        }
    };
    let before = check("consent-marketing").await;
    assert_eq!(
        (
            before["allowed"].clone(),
            before["reason"].clone(),
            before["basis"].clone()
        ),
        (json!(false), json!("no_consent"), json!("consent"))
    );

    let given = app
        .post(
            &format!("/api/v1/subjects/{ana}/consents"),
            &app.admin_key,
            json!({ "purpose": "consent-marketing", "channel": "signup-form" }),
        )
        .await;
    assert_eq!(given.status, 201, "{:?}", given.body);
    assert_eq!(check("consent-marketing").await["allowed"], true);

    let withdrawn = app
        .call(
            Method::DELETE,
            &format!("/api/v1/subjects/{ana}/consents/consent-marketing?channel=email"),
            Some(&app.admin_key),
            None,
            None,
        )
        .await;
    assert_eq!(withdrawn.status, 201);
    let after = check("consent-marketing").await;
    assert_eq!(
        (after["allowed"].clone(), after["reason"].clone()),
        (json!(false), json!("consent_withdrawn"))
    );

    let history = app
        .get(&format!("/api/v1/subjects/{ana}/consents"), &app.admin_key)
        .await;
    let consent = &history.body["consents"][0];
    assert_eq!(consent["purpose"], "consent-marketing");
    assert_eq!(consent["given"], false);
    assert_eq!(consent["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(consent["history"][0]["channel"], "signup-form");
    assert_eq!(
        consent["history"][0]["policy_version"]
            .as_str()
            .map(str::len),
        Some(64)
    );

    assert_eq!(check("b2b-marketing").await["allowed"], true);
    app.post(
        &format!("/api/v1/subjects/{ana}/events"),
        &app.admin_key,
        json!({ "kind": "objection", "purpose": "b2b-marketing" }),
    )
    .await;
    let objected = check("b2b-marketing").await;
    assert_eq!(
        (objected["allowed"].clone(), objected["reason"].clone()),
        (json!(false), json!("objected"))
    );

    let unknown = app
        .get(
            "/api/v1/check?identity=email:nobody@example.com&purpose=consent-marketing",
            &app.admin_key,
        )
        .await;
    assert_eq!(
        (
            unknown.body["allowed"].clone(),
            unknown.body["subject_known"].clone()
        ),
        (json!(false), json!(false))
    );
    let not_consent = app
        .post(
            &format!("/api/v1/subjects/{ana}/consents"),
            &app.admin_key,
            json!({ "purpose": "invoicing" }),
        )
        .await;
    assert_eq!(not_consent.status, 422);
    let future = app
        .post(
            &format!("/api/v1/subjects/{ana}/events"),
            &app.admin_key,
            json!({ "kind": "contract_end", "occurred_at": "2030-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(future.status, 422);
    assert_eq!(future.body["field"], "occurred_at");
    let consent_without_purpose = app
        .post(
            &format!("/api/v1/subjects/{ana}/events"),
            &app.admin_key,
            json!({ "kind": "consent_given" }),
        )
        .await;
    assert_eq!(consent_without_purpose.body["field"], "purpose");
}

#[tokio::test]
async fn a_key_of_one_tenant_gets_404_for_every_object_of_another() {
    let app = spawn_app().await;
    let (_, admin_a) = app.tenant_with_admin("A").await;
    let (_, admin_b) = app.tenant_with_admin("B").await;
    let ana = subject(&app, &admin_b, "ana@example.com").await;
    for path in [
        format!("/api/v1/subjects/{ana}"),
        format!("/api/v1/subjects/{ana}/records?purpose=customer-data"),
        format!("/api/v1/subjects/{ana}/events"),
        format!("/api/v1/subjects/{ana}/consents"),
    ] {
        assert_eq!(app.get(&path, &admin_a).await.status, 404, "{path}");
    }
    let write = app
        .call(
            Method::PUT,
            &format!("/api/v1/subjects/{ana}/records"),
            Some(&admin_a),
            None,
            Some(json!({ "records": [{ "category": "user.name", "value": "x" }] })),
        )
        .await;
    assert_eq!(write.status, 404);
    let event = app
        .post(
            &format!("/api/v1/subjects/{ana}/events"),
            &admin_a,
            json!({ "kind": "objection" }),
        )
        .await;
    assert_eq!(event.status, 404);
    assert_eq!(
        app.get("/api/v1/subjects?identity=email:ana@example.com", &admin_a)
            .await
            .status,
        404
    );
    let check = app
        .get(
            "/api/v1/check?identity=email:ana@example.com&purpose=customer-data",
            &admin_a,
        )
        .await;
    assert_eq!(check.body["subject_known"], false);
}

#[tokio::test]
async fn a_bulk_write_with_one_bad_record_writes_nothing_and_names_the_record() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let ana = subject(&app, &admin, "ana@example.com").await;
    let bo = subject(&app, &admin, "bo@example.com").await;
    let bad = app
        .post(
            "/api/v1/records",
            &admin,
            json!({ "records": [
            { "subject": ana, "category": "user.name", "value": "Ana" },
            { "subject": bo, "category": "user.shoe_size", "value": "42" }
        ] }),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["field"], "records[1].category");
    let good = app
        .post("/api/v1/records", &admin, json!({ "records": [
            { "subject": ana, "category": "user.name", "value": "Ana", "purposes": ["customer-data"] },
            { "subject": bo, "category": "user.name", "value": "Bo" }
        ] }))
        .await;
    assert_eq!(good.status, 200, "{:?}", good.body);
    let read = app
        .get(
            &format!("/api/v1/subjects/{ana}/records?purpose=customer-data"),
            &admin,
        )
        .await;
    assert_eq!(
        read.body["records"].as_array().map(Vec::len),
        Some(1),
        "only the good batch was written"
    );
    let wrong_purpose = app.post("/api/v1/records", &admin, json!({ "records": [{ "subject": ana, "category": "user.name", "value": "x", "purposes": ["security"] }] })).await;
    assert_eq!(wrong_purpose.body["field"], "records[0].purposes[0]");
}

#[tokio::test]
async fn the_audit_log_pages_filters_and_verifies_for_auditors_only() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let auditor = app.key(&admin, "auditor").await;
    let service = app.key(&admin, "service").await;
    for n in 0..5 {
        subject(&app, &service, &format!("p{n}@example.com")).await;
    }
    let first = app
        .get("/api/v1/audit?action=subject.create&limit=2", &auditor)
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["entries"].as_array().map(Vec::len), Some(2));
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let second = app
        .get(
            &format!("/api/v1/audit?action=subject.create&limit=2&cursor={cursor}"),
            &auditor,
        )
        .await;
    assert!(second.body["entries"][0]["seq"].as_i64() > first.body["entries"][1]["seq"].as_i64());
    let verify = app.get("/api/v1/audit/verify", &auditor).await;
    assert_eq!(verify.body["status"], "intact");
    assert_eq!(app.get("/api/v1/audit", &service).await.status, 403);
    assert_eq!(
        app.get("/api/v1/audit?cursor=zz", &auditor).await.status,
        422
    );
    assert_eq!(
        app.get(
            "/api/v1/audit?from=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z",
            &auditor
        )
        .await
        .status,
        422
    );
    assert_eq!(app.get("/api/v1/audit?limit=0", &auditor).await.status, 422);
}

/// People give their phone number as they dial it at home: the controller's country completes
/// it (the example controller is in Finland), so the number is one identity however written.
#[tokio::test]
async fn a_phone_number_without_its_country_code_is_the_controllers_countrys() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let created = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "phone", "value": "040 123 4567" }] }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    for typed in [
        "phone:%2B358401234567",
        "phone:040%201234567",
        "phone:0401234567",
    ] {
        let found = app
            .get(&format!("/api/v1/subjects?identity={typed}"), &service)
            .await;
        assert_eq!(found.status, 200, "{typed}: {:?}", found.body);
        assert_eq!(found.body["id"], id.as_str());
    }
    let refused = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "phone", "value": "99999" }] }),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["field"], "identities[0].value");
    assert!(
        refused.body["detail"]
            .as_str()
            .expect("detail")
            .contains("as dialled in FI")
    );
}
