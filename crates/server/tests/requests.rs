//! Data-subject requests over HTTP, from filing to fulfilment, for each of the seven kinds, on
//! SQLite and (when OMBUD_TEST_POSTGRES_URL is set) on PostgreSQL.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres};
use ombud_core::Clock;
use serde_json::{Value, json};
use std::io::Read;

struct Customer {
    tenant: String,
    admin: String,
    service: String,
    subject: String,
}

/// A person among the operator's own customers (the operator is controller), with a name, an
/// email and billing data.
async fn customer(app: &TestApp, email: &str) -> Customer {
    let (tenant, admin) = (String::new(), app.admin_key.clone());
    let service = app.key(&admin, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            email,
            json!([
                { "category": "user.name", "value": "Aino Virtanen", "source": "subject" },
                { "category": "user.contact.email", "value": email, "source": "subject" },
                { "category": "user.financial", "value": "INV-2026-001 1200.00 EUR", "source": "subject", "purposes": ["invoicing", "accounting"] },
            ]),
        )
        .await;
    Customer {
        tenant,
        admin,
        service,
        subject,
    }
}

async fn file(app: &TestApp, key: &str, body: Value) -> Value {
    let filed = app.post("/api/v1/requests", key, body).await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    assert_eq!(filed.body["status"], "received");
    filed.body
}

async fn verify_with_mailed_code(app: &TestApp, key: &str, id: &str) {
    let verified = confirm_with_mailed_code(app, key, id).await;
    assert_eq!(verified["status"], "verified");
}

/// Confirms request `id` with `code`.
async fn verify(app: &TestApp, key: &str, id: &str, code: &str) -> common::Reply {
    app.post(
        &format!("/api/v1/requests/{id}/verify"),
        key,
        json!({ "code": code }),
    )
    .await
}

/// The person confirms with the code they were mailed; the request as it stands after that.
async fn confirm_with_mailed_code(app: &TestApp, key: &str, id: &str) -> Value {
    let code = app.code_from_outbox().await;
    let verified = verify(app, key, id, &code).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["verified_by"], "email_code");
    verified.body
}

/// Art. 7(3) and 21(3): the request took effect when the person confirmed, with no staff step,
/// and the confirmation went out.
async fn took_effect_on_confirmation(app: &TestApp, key: &str, id: &str, confirmed: &Value) {
    assert_eq!(confirmed["status"], "fulfilled", "{confirmed:?}");
    assert!(confirmed["closed_at"].is_string(), "{confirmed:?}");
    let mails = app.get(&format!("/api/v1/requests/{id}/mails"), key).await;
    assert!(
        mails.body["mails"]
            .as_array()
            .expect("mails")
            .iter()
            .any(|m| m["template"] == "request_fulfilled"),
        "{:?}",
        mails.body
    );
    let again = app
        .post(&format!("/api/v1/requests/{id}/fulfil"), key, json!({}))
        .await;
    assert_ne!(again.status, 200, "nothing is left for staff to do");
}

async fn fulfil(app: &TestApp, key: &str, id: &str) -> Value {
    let done = app
        .post(&format!("/api/v1/requests/{id}/fulfil"), key, json!({}))
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["status"], "fulfilled");
    done.body
}

/// Follows a download link as a person would: the page first (which spends nothing), then
/// its button.
async fn download(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let path = url
        .strip_prefix("http://ombud.test")
        .expect("the public URL");
    let page = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("answers");
    if page.status() != 200 {
        return (page.status().as_u16(), vec![]);
    }
    let html = page.text().await.expect("page");
    assert!(html.contains("can be downloaded once"), "{html}");
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).expect("entry");
            let mut text = String::new();
            file.read_to_string(&mut text).expect("text");
            (file.name().to_owned(), text)
        })
        .collect()
}

async fn access(app: &TestApp) {
    let person = customer(app, "aino@example.fi").await;
    // A service message she received is part of what is held about her.
    let (store, subject, now) = (
        std::sync::Arc::clone(&app.store),
        person.subject.parse().expect("id"),
        app.clock.now(),
    );
    tokio::task::spawn_blocking(move || {
        use ombud_store::notices::{Audience, NewDelivery, NewNotice, NoticeId};
        let operator = store
            .tenants()
            .expect("tenants")
            .into_iter()
            .find(|t| t.operator)
            .expect("operator")
            .id;
        store
            .send_notice(
                operator,
                &NewNotice {
                    id: NoticeId::new(),
                    kind: "security".into(),
                    mandatory: true,
                    subject_line: "Sign-in hardening".into(),
                    body: "We now ask for a second factor.".into(),
                    audience: Audience::Subjects(vec![subject]),
                    incident: None,
                },
                &[NewDelivery::Queue {
                    subject,
                    to: ombud_core::Identity::parse(
                        ombud_core::IdentityKind::Email,
                        "aino@example.fi",
                    )
                    .expect("email"),
                }],
                &ombud_store::Actor::Cli,
                now,
            )
            .expect("sent")
    })
    .await
    .expect("joined");
    let filed = file(
        app,
        &person.admin,
        json!({ "kind": "access", "email": "Aino@Example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    assert_eq!(
        filed["due_at"], "2026-04-01T21:00:00Z",
        "1 March + 1 month, end of day in Helsinki"
    );
    assert_eq!(
        filed["legal_due_at"], filed["due_at"],
        "a Wednesday: the law's last day is the same"
    );
    let early = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            &person.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        early.status, 409,
        "nothing is carried out before verification"
    );
    verify_with_mailed_code(app, &person.admin, id).await;
    // The operator's support tool reads her contact data: the answer lists the consultation.
    let read = app
        .get(
            &format!(
                "/api/v1/subjects/{}/records?purpose=support",
                person.subject
            ),
            &person.service,
        )
        .await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    let done = fulfil(app, &person.admin, id).await;
    let url = done["download_url"].as_str().expect("a download link");
    let (status, bytes) = download(app, url).await;
    assert_eq!(status, 200);
    let files = unzip(&bytes);
    let data: Value = serde_json::from_str(&files["data.json"]).expect("json");
    assert_eq!(data["records"].as_array().expect("records").len(), 3);
    assert!(files.contains_key("user.financial.csv") && files.contains_key("user.name.csv"));
    assert_eq!(data["notices"][0]["subject"], "Sign-in hardening");
    assert_eq!(data["notices"][0]["address"], "aino@example.fi");
    let summary = &files["summary.html"];
    for needed in [
        "Messages we sent you",
        "Sign-in hardening",
        "Legal basis",
        "Retention",
        "Procountor",
        "Complaints",
        "Tietosuojavaltuutettu",
        // Art. 15 as C-579/21 reads it: when, by what kind of accessor, for which purpose.
        "Who consulted your data, and why",
        "our systems, through the API",
        "Customer support and communication",
        // Which systems the copy covers.
        "Which systems this answer covers",
        "holds 3 items about you",
    ] {
        assert!(summary.contains(needed), "the summary names {needed}");
    }
    for absent in [
        // The processor activity is about customers' data, never the operator's own.
        "Processing our customers' data on their behalf",
        // Consent never given: that purpose does not apply to her.
        "Marketing that requires consent",
        // The invoicing example says nothing about automated decisions: neither does the answer.
        "Automated decisions",
    ] {
        assert!(!summary.contains(absent), "the summary leaves out {absent}");
    }
    let (again, _) = download(app, url).await;
    assert_eq!(again, 410, "an export is handed out once");
}

async fn portability(app: &TestApp) {
    let person = customer(app, "pekka@example.fi").await;
    let filed = file(
        app,
        &person.admin,
        json!({ "kind": "portability", "email": "pekka@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    verify_with_mailed_code(app, &person.admin, id).await;
    let done = fulfil(app, &person.admin, id).await;
    let (status, bytes) = download(app, done["download_url"].as_str().expect("link")).await;
    assert_eq!(status, 200);
    let files = unzip(&bytes);
    assert!(!files.contains_key("summary.html"));
    let data: Value = serde_json::from_str(&files["data.json"]).expect("json");
    assert!(
        data["records"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["source"] == "subject")
    );
}

async fn rectification(app: &TestApp) {
    let person = customer(app, "liisa@example.fi").await;
    let filed = file(
        app,
        &person.admin,
        json!({ "kind": "rectification", "email": "liisa@example.fi", "category": "user.name", "new_value": "Liisa Korhonen" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    verify_with_mailed_code(app, &person.admin, id).await;
    fulfil(app, &person.admin, id).await;
    let records = app
        .get(
            &format!(
                "/api/v1/subjects/{}/records?purpose=support",
                person.subject
            ),
            &person.admin,
        )
        .await;
    assert_eq!(records.status, 200, "{:?}", records.body);
    let names: Vec<&str> = records.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["category"] == "user.name")
        .filter_map(|r| r["value"].as_str())
        .collect();
    assert_eq!(names, ["Liisa Korhonen"]);
}

async fn erasure_vouched(app: &TestApp) {
    let person = customer(app, "matti@example.fi").await;
    // The operator's application vouches for a signed-in person with its service key.
    let filed = app
        .post(
            "/api/v1/requests",
            &person.service,
            json!({ "kind": "erasure", "subject": person.subject, "verified": true, "email": "matti@example.fi" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    assert_eq!(filed.body["status"], "verified");
    let id = filed.body["id"].as_str().expect("id");
    // Without datasets the plan says the register alone changes.
    let plan = app
        .get(&format!("/api/v1/requests/{id}/plan"), &person.admin)
        .await;
    assert_eq!(plan.status, 200, "{:?}", plan.body);
    assert_eq!(plan.body["systems_declared"], false);
    assert_eq!(plan.body["tables"], json!([]));
    // Only an erasure has a plan: any other request is refused with the field and why.
    let access = app
        .post(
            "/api/v1/requests",
            &person.service,
            json!({ "kind": "access", "subject": person.subject, "verified": true, "email": "matti@example.fi" }),
        )
        .await;
    assert_eq!(access.status, 201, "{:?}", access.body);
    let access_id = access.body["id"].as_str().expect("id");
    let refused = app
        .get(&format!("/api/v1/requests/{access_id}/plan"), &person.admin)
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.body["field"], "id", "{:?}", refused.body);
    let detail = refused.body.to_string();
    assert!(detail.contains("only an erasure has a plan"), "{detail}");
    let done = fulfil(app, &person.admin, id).await;
    let kept = done["outcome"]["kept"].as_array().expect("kept").clone();
    let categories: Vec<&str> = kept.iter().filter_map(|k| k["category"].as_str()).collect();
    // The accounting activity keeps the name and the billing data; the email address goes.
    assert_eq!(categories, ["user.name", "user.financial"]);
    let kept = &kept[1];
    assert_eq!(kept["purposes"], json!(["accounting"]));
    assert!(kept["law"].as_str().expect("law").contains("1336/1997"));
    let found = app
        .get(
            "/api/v1/subjects?identity=email:matti@example.fi",
            &person.admin,
        )
        .await;
    assert_eq!(found.status, 404, "the identities are gone");
    let mails = app
        .get(&format!("/api/v1/requests/{id}/mails"), &person.admin)
        .await;
    assert!(
        mails.body["mails"]
            .as_array()
            .expect("mails")
            .iter()
            .any(|m| m["template"] == "request_fulfilled")
    );
}

async fn restriction(app: &TestApp) {
    let person = customer(app, "kaisa@example.fi").await;
    let filed = file(
        app,
        &person.admin,
        json!({ "kind": "restriction", "email": "kaisa@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    verify_with_mailed_code(app, &person.admin, id).await;
    fulfil(app, &person.admin, id).await;
    let check = app
        .get(
            "/api/v1/check?identity=email:kaisa@example.fi&purpose=support",
            &person.service,
        )
        .await;
    assert_eq!(check.status, 200, "{:?}", check.body);
    assert_eq!(check.body["allowed"], false, "{:?}", check.body);
}

async fn objection(app: &TestApp) {
    let person = customer(app, "ville@example.fi").await;
    let filed = file(
        app,
        &person.admin,
        json!({ "kind": "objection", "email": "ville@example.fi", "purpose": "b2b-marketing" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    let confirmed = confirm_with_mailed_code(app, &person.admin, id).await;
    took_effect_on_confirmation(app, &person.admin, id, &confirmed).await;
    let check = app
        .get(
            "/api/v1/check?identity=email:ville@example.fi&purpose=b2b-marketing",
            &person.service,
        )
        .await;
    assert_eq!(check.body["allowed"], false, "{:?}", check.body);
}

async fn consent_withdrawal(app: &TestApp) {
    let person = customer(app, "saara@example.fi").await;
    let given = app
        .post(
            &format!("/api/v1/subjects/{}/consents", person.subject),
            &person.service,
            json!({ "purpose": "consent-marketing", "channel": "web-form" }),
        )
        .await;
    assert_eq!(given.status, 201, "{:?}", given.body);
    // The withdrawal comes after the consent, not at the same instant of the frozen clock.
    app.clock.advance(jiff::SignedDuration::from_secs(1));
    let filed = file(app, &person.admin, json!({ "kind": "consent_withdrawal", "email": "saara@example.fi", "purpose": "consent-marketing" })).await;
    let id = filed["id"].as_str().expect("id");
    let confirmed = confirm_with_mailed_code(app, &person.admin, id).await;
    took_effect_on_confirmation(app, &person.admin, id, &confirmed).await;
    let check = app
        .get(
            "/api/v1/check?identity=email:saara@example.fi&purpose=consent-marketing",
            &person.service,
        )
        .await;
    assert_eq!(check.body["allowed"], false, "{:?}", check.body);
}

async fn every_kind(app: &TestApp) {
    access(app).await;
    portability(app).await;
    rectification(app).await;
    erasure_vouched(app).await;
    restriction(app).await;
    objection(app).await;
    consent_withdrawal(app).await;
}

#[tokio::test]
async fn every_kind_of_request_runs_from_filing_to_fulfilment_on_sqlite() {
    let app = spawn_app().await;
    every_kind(&app).await;
    let verified = app.get("/api/v1/audit/verify", &app.admin_key).await;
    assert_eq!(verified.body["status"], "intact");
}

#[tokio::test]
async fn every_kind_of_request_runs_from_filing_to_fulfilment_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    every_kind(&app).await;
    // The synchronous PostgreSQL client must not be dropped on a runtime thread; the process
    // ends right after, so the store is simply kept.
    std::mem::forget(std::sync::Arc::clone(&app.store));
}

/// A code that expired is sent again for the same request: the request keeps the day it was
/// received (and so its deadline) and its count of wrong tries; codes are not sent more often
/// than every five minutes; a locked request gets none.
#[tokio::test]
async fn an_expired_code_is_sent_again_and_the_request_keeps_its_date() {
    let app = spawn_app().await;
    let person = customer(&app, "eero@example.fi").await;
    let filed = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "eero@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    let first = app.code_from_outbox().await;
    let resend = format!("/api/v1/requests/{id}/code");

    let early = app.post(&resend, &person.admin, json!({})).await;
    assert_eq!(early.status, 429, "{:?}", early.body);
    assert_eq!(early.retry_after.as_deref(), Some("300"));

    app.clock.advance(jiff::SignedDuration::from_mins(31));
    let expired = verify(&app, &person.admin, id, &first).await;
    assert_eq!(expired.status, 403);
    assert!(
        expired.body["detail"]
            .as_str()
            .expect("detail")
            .contains("ask for a new one"),
        "{:?}",
        expired.body
    );
    let sent = app.post(&resend, &person.admin, json!({})).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(sent.body["received_at"], filed["received_at"]);
    assert_eq!(sent.body["due_at"], filed["due_at"]);
    let second = app.code_from_outbox().await;
    let verified = verify(&app, &person.admin, id, &second).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["status"], "verified");
    assert_eq!(verified.body["received_at"], filed["received_at"]);
    let again = app.post(&resend, &person.admin, json!({})).await;
    assert_eq!(again.status, 409, "a verified request needs no code");

    // Wrong tries count across codes: a new code is not a new set of guesses.
    let other = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "eero@example.fi" }),
    )
    .await;
    let other_id = other["id"].as_str().expect("id");
    let code = app.code_from_outbox().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        verify(&app, &person.admin, other_id, wrong).await;
    }
    app.clock.advance(jiff::SignedDuration::from_mins(6));
    let locked = app
        .post(
            &format!("/api/v1/requests/{other_id}/code"),
            &person.admin,
            json!({}),
        )
        .await;
    assert_eq!(locked.status, 403, "{:?}", locked.body);
    assert!(
        locked.body["detail"]
            .as_str()
            .expect("detail")
            .contains("locked")
    );
}

#[tokio::test]
async fn three_wrong_codes_lock_the_request() {
    let app = spawn_app().await;
    let person = customer(&app, "aino@example.fi").await;
    let filed = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "aino@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    let code = app.code_from_outbox().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [2, 1] {
        let attempt = verify(&app, &person.admin, id, wrong).await;
        assert_eq!(attempt.status, 403);
        assert!(
            attempt.body["detail"]
                .as_str()
                .expect("detail")
                .contains(&format!("{left} tries left"))
        );
    }
    let last = verify(&app, &person.admin, id, wrong).await;
    assert!(
        last.body["detail"]
            .as_str()
            .expect("detail")
            .contains("locked")
    );
    let right = verify(&app, &person.admin, id, &code).await;
    assert_eq!(right.status, 403, "even the right code no longer opens it");
    let shown = app
        .get(&format!("/api/v1/requests/{id}"), &person.admin)
        .await;
    assert_eq!(
        (shown.body["locked"].clone(), shown.body["status"].clone()),
        (json!(true), json!("received"))
    );
}

#[tokio::test]
async fn a_tenant_cannot_see_or_act_on_another_tenants_request() {
    let app = spawn_app().await;
    let (first_tenant, first_admin) = app.tenant_with_admin("Asiakas Oy").await;
    let (_, second_admin) = app.tenant_with_admin("Toinen Oy").await;
    let first = Customer {
        tenant: first_tenant,
        admin: first_admin,
        service: String::new(),
        subject: String::new(),
    };
    let second = Customer {
        tenant: String::new(),
        admin: second_admin,
        service: String::new(),
        subject: String::new(),
    };
    let filed = file(
        &app,
        &first.admin,
        json!({ "kind": "access", "email": "aino@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    assert_eq!(
        app.get(&format!("/api/v1/requests/{id}"), &second.admin)
            .await
            .status,
        404
    );
    let refused = app
        .post(
            &format!("/api/v1/requests/{id}/refuse"),
            &second.admin,
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(refused.status, 404);
    let listed = app.get("/api/v1/requests", &second.admin).await;
    assert_eq!(listed.body["requests"], json!([]));
    // The operator may see a customer's queue but the customer, as controller, decides.
    let decided = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/refuse"),
            Some(&app.admin_key),
            Some(&first.tenant),
            Some(json!({ "reason": "x" })),
        )
        .await;
    assert_eq!(decided.status, 403, "{:?}", decided.body);
}

#[tokio::test]
async fn an_extension_is_granted_inside_the_first_month_only() {
    let app = spawn_app().await;
    // Received 1 February 2026: the month runs to the end of 1 March (day 29).
    app.clock.set("2026-02-01T10:00:00Z".parse().expect("time"));
    let person = customer(&app, "aino@example.fi").await;
    let first = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "aino@example.fi" }),
    )
    .await;
    let second = file(
        &app,
        &person.admin,
        json!({ "kind": "erasure", "email": "aino@example.fi" }),
    )
    .await;
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 28));
    let extended = app
        .post(
            &format!(
                "/api/v1/requests/{}/extend",
                first["id"].as_str().expect("id")
            ),
            &person.admin,
            json!({ "reason": "The data sits in several archived systems." }),
        )
        .await;
    assert_eq!(extended.status, 200, "{:?}", extended.body);
    assert_eq!(
        extended.body["due_at"], "2026-05-01T21:00:00Z",
        "three months from 1 February"
    );
    assert_eq!(
        extended.body["legal_due_at"], "2026-05-04T21:00:00Z",
        "1 May is May Day in Finland and a Friday: the law's last day is Monday 4 May (Reg. 1182/71 Art. 3(4))"
    );
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 3));
    let late = app
        .post(
            &format!(
                "/api/v1/requests/{}/extend",
                second["id"].as_str().expect("id")
            ),
            &person.admin,
            json!({ "reason": "too late" }),
        )
        .await;
    assert_eq!(late.status, 409, "{:?}", late.body);
    // The watcher marks the second request overdue and counts it.
    let (store, now) = (std::sync::Arc::clone(&app.store), app.clock.now());
    tokio::task::spawn_blocking(move || {
        ombud_app::jobs::watch(store.as_ref(), &ombud_app::metrics::Metrics::new(), now)
    })
    .await
    .expect("joined")
    .expect("watched");
    let overdue = app
        .get("/api/v1/requests?overdue=true", &person.admin)
        .await;
    let ids: Vec<&str> = overdue.body["requests"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, [second["id"].as_str().expect("id")]);
}

/// Where the clock starts at verification, an extension given before it counts from receipt
/// (waiting to give it does not stretch it), and verification keeps the date the person was
/// told instead of replacing it.
#[tokio::test]
async fn before_verification_an_extension_counts_from_receipt_and_verification_keeps_it() {
    let policy = common::POLICY.replacen(
        "clock_starts = \"receipt\"",
        "clock_starts = \"verification\"",
        1,
    );
    assert_ne!(
        policy,
        common::POLICY,
        "the example says when its clock starts"
    );
    let app = common::spawn_app_with(&policy).await;
    app.clock.set("2026-02-01T10:00:00Z".parse().expect("time"));
    let person = customer(&app, "aino@example.fi").await;
    let filed = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "aino@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    assert!(filed["due_at"].is_null(), "no clock before verification");
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 20));
    let extended = app
        .post(
            &format!("/api/v1/requests/{id}/extend"),
            &person.admin,
            json!({ "reason": "The data sits in several archived systems." }),
        )
        .await;
    assert_eq!(extended.status, 200, "{:?}", extended.body);
    assert_eq!(
        extended.body["due_at"], "2026-05-01T21:00:00Z",
        "three months from receipt on 1 February, not from the 21st"
    );
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 5));
    // The first code expired long ago; the person asks for a new one and confirms.
    app.code_from_outbox().await;
    let resent = app
        .post(
            &format!("/api/v1/requests/{id}/code"),
            &person.admin,
            json!({}),
        )
        .await;
    assert_eq!(resent.status, 200, "{:?}", resent.body);
    let verified = confirm_with_mailed_code(&app, &person.admin, id).await;
    assert_eq!(verified["status"], "verified");
    assert_eq!(
        verified["due_at"], "2026-05-01T21:00:00Z",
        "verification keeps the extended date"
    );
}

#[tokio::test]
async fn bad_filings_name_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let person = customer(&app, "aino@example.fi").await;
    let cases = [
        (
            json!({ "kind": "forget-me" , "email": "a@example.fi" }),
            "kind",
        ),
        (json!({ "kind": "access" }), "email"),
        (
            json!({ "kind": "access", "email": "not an address" }),
            "email",
        ),
        (
            json!({ "kind": "consent_withdrawal", "email": "a@example.fi" }),
            "purpose",
        ),
        (
            json!({ "kind": "consent_withdrawal", "email": "a@example.fi", "purpose": "invoicing" }),
            "purpose",
        ),
        (
            json!({ "kind": "rectification", "email": "a@example.fi", "category": "user.name" }),
            "new_value",
        ),
        (
            json!({ "kind": "erasure", "email": "a@example.fi", "verified": true }),
            "verified",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/v1/requests", &person.admin, body.clone())
            .await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(reply.body["field"], field, "{body}");
    }
    let listed = app.get("/api/v1/requests", &person.admin).await;
    assert_eq!(listed.body["requests"], json!([]));

    // The steps on a filed request refuse bad bodies by field and leave it as it was.
    let filed = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "aino@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    let steps = [
        ("verify", json!({}), "code"),
        (
            "verify",
            json!({ "code": "123456", "method": "manual" }),
            "code",
        ),
        (
            "extend",
            json!({ "reason": "many systems", "by": "2 montsh" }),
            "by",
        ),
        (
            "extend",
            json!({ "reason": "many systems", "by": "3 months" }),
            "by",
        ),
        ("extend", json!({ "reason": "  " }), "reason"),
        ("refuse", json!({ "reason": "" }), "reason"),
    ];
    for (step, body, field) in steps {
        let reply = app
            .post(
                &format!("/api/v1/requests/{id}/{step}"),
                &person.admin,
                body.clone(),
            )
            .await;
        assert_eq!(reply.status, 422, "{step} {body}: {:?}", reply.body);
        assert_eq!(reply.body["field"], field, "{step} {body}");
    }
    let unchanged = app
        .get(&format!("/api/v1/requests/{id}"), &person.admin)
        .await;
    assert_eq!(unchanged.body["status"], "received");
    assert_eq!(unchanged.body["extended_at"], Value::Null);
    assert_eq!(
        app.get("/api/v1/requests/not-an-id", &person.admin)
            .await
            .status,
        404
    );
    let (gone, _) = download(&app, "http://ombud.test/privacy/exports/made.up.token").await;
    assert_eq!(gone, 410, "an unknown link looks like a used one");
}

/// Sharing the queue out: a request is given to a colleague and taken back; the answer and the
/// list show who has it; a key that may not work the queue, or a closed request, is refused.
#[tokio::test]
async fn a_request_is_assigned_to_a_colleague_and_back() {
    let app = spawn_app().await;
    let person = customer(&app, "aada@example.fi").await;
    let filed = file(
        &app,
        &person.admin,
        json!({ "kind": "access", "email": "aada@example.fi" }),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    assert!(filed["assignee"].is_null());
    let path = format!("/api/v1/requests/{id}/assign");
    let given = app
        .post(&path, &person.admin, json!({ "assignee": " Åsa Lind " }))
        .await;
    assert_eq!(given.status, 200, "{:?}", given.body);
    assert_eq!(given.body["assignee"], "Åsa Lind");
    let listed = app.get("/api/v1/requests?open=true", &person.admin).await;
    assert_eq!(listed.body["requests"][0]["assignee"], "Åsa Lind");
    let auditor = app.key(&person.admin, "auditor").await;
    let refused = app.post(&path, &auditor, json!({ "assignee": "x" })).await;
    assert_eq!(refused.status, 403);
    let bad = app
        .post(&path, &person.admin, json!({ "assignee": "a\u{202E}b" }))
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["field"], "assignee");
    let back = app
        .post(&path, &person.admin, json!({ "assignee": null }))
        .await;
    assert_eq!(back.status, 200);
    assert!(back.body["assignee"].is_null());
    let audit = app
        .get("/api/v1/audit?action=request.assign", &person.admin)
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let entries = audit.body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "given and taken back: {entries:?}");
    assert!(
        !audit.body.to_string().contains("Åsa"),
        "the audit log records the step, not the colleague's name"
    );
    let refused = app
        .post(
            &format!("/api/v1/requests/{id}/refuse"),
            &person.admin,
            json!({ "reason": "We could not confirm who made the request." }),
        )
        .await;
    assert_eq!(refused.status, 200, "{:?}", refused.body);
    let closed = app
        .post(&path, &person.admin, json!({ "assignee": "Bo" }))
        .await;
    assert_eq!(closed.status, 422, "{:?}", closed.body);
}
