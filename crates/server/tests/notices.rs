//! The notice ledger over HTTP, on SQLite and PostgreSQL: customers' contacts, a mandatory
//! security notice and an opt-out news letter to the same people (the unsubscribed get the one
//! and not the other, and the ledger says why), the ledger read both ways, mails drained with
//! the notice's text, bad input refused by field with nothing sent, and tenants kept apart.

mod common;

use common::{CLOUD_POLICY, TestApp, spawn_app_on_postgres_with, spawn_app_with};
use ombud_core::Clock;
use serde_json::{Value, json};
use std::sync::Arc;

async fn subject(app: &TestApp, key: &str, identities: Value) -> String {
    let reply = app
        .post("/api/v1/subjects", key, json!({ "identities": identities }))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

async fn contact(app: &TestApp, tenant: &str, subject: &str) {
    let reply = app
        .post(
            &format!("/api/v1/tenants/{tenant}/contacts"),
            &app.admin_key,
            json!({ "subject": subject }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

fn line<'a>(detail: &'a Value, subject: &str) -> &'a Value {
    detail["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["subject"] == subject)
        .expect("a line for the subject")
}

async fn ledger(app: &TestApp) {
    let (acme, acme_admin) = app.tenant_with_admin("Acme").await;
    let (globex, _) = app.tenant_with_admin("Globex").await;
    let key = app.admin_key.clone();
    let ana = subject(
        app,
        &key,
        json!([{ "kind": "email", "value": "ana@acme.example" }]),
    )
    .await;
    let bo = subject(
        app,
        &key,
        json!([{ "kind": "email", "value": "bo@globex.example" }]),
    )
    .await;
    let cy = subject(
        app,
        &key,
        json!([{ "kind": "phone", "value": "+358 40 111 2222" }]),
    )
    .await;
    contact(app, &acme, &ana).await;
    contact(app, &globex, &bo).await;
    contact(app, &globex, &cy).await;
    let listed = app
        .get(&format!("/api/v1/tenants/{globex}/contacts"), &key)
        .await;
    assert_eq!(
        listed.body["contacts"],
        json!([bo, cy]),
        "{:?}",
        listed.body
    );
    // Bo had unsubscribed from every opt-out message.
    let unsubscribed = app
        .post(
            &format!("/api/v1/subjects/{bo}/events"),
            &key,
            json!({ "kind": "unsubscribe", "occurred_at": "2026-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(unsubscribed.status, 201, "{:?}", unsubscribed.body);
    // Ana only from surveys: a notice kind names what she left.
    let surveys = app
        .post(
            &format!("/api/v1/subjects/{ana}/events"),
            &key,
            json!({ "kind": "unsubscribe", "purpose": "survey" }),
        )
        .await;
    assert_eq!(surveys.status, 201, "{:?}", surveys.body);

    let send = |kind: &str, subject: &str| {
        json!({
            "kind": kind,
            "subject": subject,
            "body": "Dear customer,\nplease read on.",
            "audience": { "customers": true },
        })
    };
    let security = app
        .post(
            "/api/v1/notices",
            &key,
            send("security", "A security issue in the console"),
        )
        .await;
    assert_eq!(security.status, 201, "{:?}", security.body);
    assert_eq!(
        (
            security.body["queued"].as_u64(),
            security.body["skipped"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let news = app
        .post(
            "/api/v1/notices",
            &key,
            send("news", "What is new in March"),
        )
        .await;
    assert_eq!(news.status, 201, "{:?}", news.body);
    assert_eq!(
        (news.body["queued"].as_u64(), news.body["skipped"].as_u64()),
        (Some(1), Some(2))
    );
    let survey = app
        .post("/api/v1/notices", &key, send("survey", "How are we doing?"))
        .await;
    assert_eq!(
        (
            survey.body["queued"].as_u64(),
            survey.body["skipped"].as_u64()
        ),
        (Some(0), Some(3))
    );
    let (security_id, news_id) = (
        security.body["id"].as_str().expect("id").to_owned(),
        news.body["id"].as_str().expect("id").to_owned(),
    );

    // Who received the news, and who was skipped and why.
    let detail = app.get(&format!("/api/v1/notices/{news_id}"), &key).await;
    assert_eq!(detail.status, 200, "{:?}", detail.body);
    assert_eq!(line(&detail.body, &ana)["status"], "queued");
    assert_eq!(line(&detail.body, &ana)["address"], "a…@acme.example");
    assert_eq!(line(&detail.body, &bo)["status"], "skipped");
    assert_eq!(
        line(&detail.body, &bo)["reason"],
        "unsubscribed at 2026-02-01T00:00:00Z"
    );
    assert_eq!(line(&detail.body, &cy)["reason"], "no email address known");
    assert!(
        detail.body["body"]
            .as_str()
            .expect("body")
            .contains("To stop receiving these messages")
    );
    // The whole address is never in a ledger answer.
    assert!(!detail.body.to_string().contains("ana@acme.example"));

    // What Bo received: the security notice, not the news.
    let bo_got = app
        .get(&format!("/api/v1/subjects/{bo}/notices"), &key)
        .await;
    let got: Vec<(&str, &str)> = bo_got.body["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|r| {
            (
                r["notice"]["kind"].as_str().expect("kind"),
                r["delivery"]["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("security", "queued"),
            ("news", "skipped"),
            ("survey", "skipped")
        ]
    );

    // The mailer sends the notice's text; the ledger then says sent.
    let now = app.clock.now();
    let store = Arc::clone(&app.store);
    let mails = tokio::task::spawn_blocking(move || {
        let mails = store
            .lease_mails(
                now,
                now.checked_add(jiff::SignedDuration::from_mins(1))
                    .expect("time"),
                100,
            )
            .expect("outbox");
        for mail in &mails {
            store.mail_sent(mail.tenant, mail.id, now).expect("sent");
        }
        mails
    })
    .await
    .expect("joined");
    let security_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.template == "notice:security")
        .collect();
    assert_eq!(security_mails.len(), 2);
    assert!(
        security_mails
            .iter()
            .all(|m| m.subject == "A security issue in the console")
    );
    assert_eq!(
        mails.iter().filter(|m| m.template == "notice:news").count(),
        1
    );
    let detail = app
        .get(&format!("/api/v1/notices/{security_id}"), &key)
        .await;
    assert_eq!(
        detail.body["counts"]["sent"], 2,
        "{:?}",
        detail.body["counts"]
    );
    assert_eq!(detail.body["counts"]["skipped"], 1);

    // Bad input names its field and sends nothing.
    let mut bad = vec![
        (send("promo", "x"), "kind"),
        (send("breach", "x"), "kind"),
        (send("news", "Two\r\nBcc: everyone@example.com"), "subject"),
        (
            json!({ "kind": "news", "subject": "s", "body": " ", "audience": { "customers": true } }),
            "body",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": {} }),
            "audience",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "customers": true, "category": "user.name" } }),
            "audience",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "tenants": ["not-an-id"] } }),
            "audience.tenants",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "tenants": [uuid::Uuid::now_v7().to_string()] } }),
            "audience.tenants",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "subjects": [ana, uuid::Uuid::now_v7().to_string()] } }),
            "audience.subjects",
        ),
        (
            json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "category": "user.horoscope" } }),
            "audience.category",
        ),
    ];
    bad.push((
        json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "subjects": [] } }),
        "audience.subjects",
    ));
    for (body, field) in bad {
        let reply = app.post("/api/v1/notices", &key, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let unknown = app
        .post("/api/v1/notices", &key, json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "customers": true }, "urgent": true }))
        .await;
    assert!(
        unknown.status == 400 || unknown.status == 422,
        "{:?}",
        unknown.body
    );
    let listed = app.get("/api/v1/notices", &key).await;
    assert_eq!(
        listed.body["notices"].as_array().expect("list").len(),
        3,
        "nothing more was stored"
    );

    // Roles and tenants.
    let auditor = app.key(&key, "auditor").await;
    assert_eq!(
        app.get(&format!("/api/v1/notices/{news_id}"), &auditor)
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/api/v1/notices", &auditor, send("news", "x"))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get(&format!("/api/v1/notices/{news_id}"), &acme_admin)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{acme}/contacts"), &acme_admin)
            .await
            .status,
        403
    );
    let from_customer = app
        .post("/api/v1/notices", &acme_admin, send("news", "x"))
        .await;
    assert_eq!(
        (from_customer.status, from_customer.body["field"].as_str()),
        (422, Some("audience"))
    );
    let foreign = app
        .post("/api/v1/notices", &acme_admin, json!({ "kind": "news", "subject": "s", "body": "b", "audience": { "subjects": [ana] } }))
        .await;
    assert_eq!(
        (foreign.status, foreign.body["field"].as_str()),
        (422, Some("audience.subjects")),
        "another tenant's person is no one here"
    );

    // A customer writes to its own people by what they hold.
    let dan = subject(
        app,
        &acme_admin,
        json!([{ "kind": "email", "value": "dan@example.org" }]),
    )
    .await;
    let records = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{dan}/records"),
            Some(&acme_admin),
            None,
            Some(json!({ "records": [{ "category": "user.contact.email", "value": "dan@example.org" }] })),
        )
        .await;
    assert_eq!(records.status, 200, "{:?}", records.body);
    let by_category = app
        .post(
            "/api/v1/notices",
            &acme_admin,
            json!({ "kind": "maintenance", "subject": "Maintenance on Sunday", "body": "Short break.", "audience": { "category": "user.contact" } }),
        )
        .await;
    assert_eq!(by_category.status, 201, "{:?}", by_category.body);
    assert_eq!(
        by_category.body["queued"], 1,
        "Dan only, not the operator's contacts"
    );

    // Contacts: unknown subjects refused; removal keeps the ledger.
    let missing = app
        .post(
            &format!("/api/v1/tenants/{acme}/contacts"),
            &key,
            json!({ "subject": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(
        (missing.status, missing.body["field"].as_str()),
        (422, Some("subject"))
    );
    let removed = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/tenants/{acme}/contacts/{ana}"),
            Some(&key),
            None,
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let again = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/tenants/{acme}/contacts/{ana}"),
            Some(&key),
            None,
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    let ana_got = app
        .get(&format!("/api/v1/subjects/{ana}/notices"), &key)
        .await;
    assert_eq!(ana_got.body["notices"].as_array().expect("list").len(), 3);
}

/// Art. 21(2): an objection to the activity an opt-out kind is sent for (the public cloud's
/// news and surveys) stops both its kinds, and the ledger says why; mandatory kinds still go.
async fn objecting_to_the_activity_stops_its_kinds(app: &TestApp) {
    let (acme, _) = app.tenant_with_admin("Acme").await;
    let key = app.admin_key.clone();
    let dee = subject(
        app,
        &key,
        json!([{ "kind": "email", "value": "dee@acme.example" }]),
    )
    .await;
    let eli = subject(
        app,
        &key,
        json!([{ "kind": "email", "value": "eli@acme.example" }]),
    )
    .await;
    contact(app, &acme, &dee).await;
    contact(app, &acme, &eli).await;
    let objected = app
        .post(
            &format!("/api/v1/subjects/{dee}/events"),
            &key,
            json!({ "kind": "objection", "purpose": "news-and-surveys", "occurred_at": "2026-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(objected.status, 201, "{:?}", objected.body);
    for (kind, queued) in [("news", 1), ("survey", 1), ("security", 2)] {
        let sent = app
            .post(
                "/api/v1/notices",
                &key,
                json!({ "kind": kind, "subject": "March", "body": "Dear customer,\nplease read on.", "audience": { "tenants": [acme] } }),
            )
            .await;
        assert_eq!(sent.status, 201, "{kind}: {:?}", sent.body);
        assert_eq!(sent.body["queued"].as_u64(), Some(queued), "{kind}");
        let id = sent.body["id"].as_str().expect("id");
        let detail = app.get(&format!("/api/v1/notices/{id}"), &key).await;
        assert_eq!(line(&detail.body, &eli)["status"], "queued");
        if queued == 1 {
            assert_eq!(line(&detail.body, &dee)["status"], "skipped", "{kind}");
            assert_eq!(
                line(&detail.body, &dee)["reason"],
                "objected at 2026-02-01T00:00:00Z",
                "{kind}"
            );
        } else {
            assert_eq!(line(&detail.body, &dee)["status"], "queued");
        }
    }
}

#[tokio::test]
async fn objecting_to_the_activity_stops_its_kinds_on_sqlite() {
    objecting_to_the_activity_stops_its_kinds(&spawn_app_with(CLOUD_POLICY).await).await;
}

#[tokio::test]
async fn objecting_to_the_activity_stops_its_kinds_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres_with(&url, CLOUD_POLICY).await;
    objecting_to_the_activity_stops_its_kinds(&app).await;
    std::mem::forget(std::sync::Arc::clone(&app.store));
}

#[tokio::test]
async fn the_ledger_on_sqlite() {
    ledger(&spawn_app_with(CLOUD_POLICY).await).await;
}

#[tokio::test]
async fn the_ledger_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    ledger(&spawn_app_on_postgres_with(&url, CLOUD_POLICY).await).await;
}
