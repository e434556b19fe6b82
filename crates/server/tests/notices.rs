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

/// A notice of an opt-out kind carries the person's one-click unsubscribe link (RFC 8058) in
/// its headers and its text; a mandatory one does not. The link's page asks and changes
/// nothing; a mail client's one-click POST (no key, no cookie) stops the kind, and the next
/// notice of it skips the person. A forged link stops nothing.
async fn one_click(app: &TestApp) {
    let key = app.admin_key.clone();
    let (acme, _) = app.tenant_with_admin("Acme").await;
    let ana = subject(
        app,
        &key,
        json!([{ "kind": "email", "value": "ana@acme.example" }]),
    )
    .await;
    contact(app, &acme, &ana).await;
    let send = |kind: &str| {
        json!({ "kind": kind, "subject": "Åsa's news from Autorité", "body": "Hello.",
                "audience": { "customers": true } })
    };
    for kind in ["news", "security"] {
        let sent = app.post("/api/v1/notices", &key, send(kind)).await;
        assert_eq!(sent.status, 201, "{:?}", sent.body);
    }
    let outbox = tempfile::tempdir().expect("outbox");
    let mailer = ombud_app::jobs::Mailer::new(None, outbox.path().to_path_buf()).expect("mailer");
    let (store, secrets, public) = (
        Arc::clone(&app.store),
        Arc::clone(&app.secrets),
        app.address.clone(),
    );
    let now = app.clock.now();
    let sent = tokio::task::spawn_blocking(move || {
        let from = "Operator <privacy@operator.example>".parse().expect("from");
        let links = ombud_app::jobs::Links {
            secrets: &secrets,
            public_url: &public,
        };
        ombud_app::jobs::drain_outbox(
            store.as_ref(),
            &mailer,
            &from,
            &links,
            &ombud_app::metrics::Metrics::new(),
            now,
        )
    })
    .await
    .expect("joined")
    .expect("drained");
    assert_eq!(sent, 2);
    // Each mail read back as a mail client would, by Python's email package.
    let mut news_link = None;
    for entry in std::fs::read_dir(outbox.path()).expect("outbox") {
        let path = entry.expect("entry").path();
        let parsed = std::process::Command::new("python3")
            .arg("-c")
            .arg(r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print(json.dumps({"subject": m["Subject"], "unsubscribe": m["List-Unsubscribe"], "post": m["List-Unsubscribe-Post"], "body": m.get_content()}))"#)
            .arg(&path)
            .output()
            .expect("python3 runs");
        let mail: Value = serde_json::from_slice(&parsed.stdout).expect("json");
        assert_eq!(mail["subject"], "Åsa's news from Autorité");
        let body = mail["body"].as_str().expect("body");
        if body.contains("one of: ") {
            let header = mail["unsubscribe"]
                .as_str()
                .expect("an opt-out kind carries the link");
            let url = header
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            assert!(
                url.starts_with(&format!("{}/privacy/unsubscribe?token=", app.address)),
                "{url}"
            );
            assert_eq!(mail["post"], "List-Unsubscribe=One-Click");
            assert!(body.contains(&url), "the text has the link too: {body}");
            news_link = Some(url);
        } else {
            assert!(
                mail["unsubscribe"].is_null(),
                "a mandatory kind has no link: {mail}"
            );
        }
    }
    let url = news_link.expect("the news mail");

    // The page asks and changes nothing (a scanner that follows it stops nothing).
    let page = app.client.get(&url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Stop receiving them"), "{html}");
    let forged = format!("{}0", &url[..url.len() - 1]).replace("news", "newz");
    let refused = app
        .client
        .post(&forged)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 404);
    let again = app.post("/api/v1/notices", &key, send("news")).await;
    assert_eq!(
        again.body["queued"].as_u64(),
        Some(1),
        "nothing stopped yet: {:?}",
        again.body
    );

    // The mail client's one-click POST: no key, no cookie, no Origin.
    let clicked = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(clicked.status(), 200);
    assert!(
        clicked
            .text()
            .await
            .expect("html")
            .contains("We have stopped")
    );
    let twice = app.client.post(&url).send().await.expect("post");
    assert!(
        twice
            .text()
            .await
            .expect("html")
            .contains("You had already stopped")
    );
    let events = app
        .get(&format!("/api/v1/subjects/{ana}/events"), &key)
        .await;
    let stops = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "unsubscribe")
        .count();
    assert_eq!(
        stops, 1,
        "a second click records nothing: {:?}",
        events.body
    );
    let after = app.post("/api/v1/notices", &key, send("news")).await;
    assert_eq!(
        (
            after.body["queued"].as_u64(),
            after.body["skipped"].as_u64()
        ),
        (Some(0), Some(1)),
        "{:?}",
        after.body
    );
    let security = app.post("/api/v1/notices", &key, send("security")).await;
    assert_eq!(
        security.body["queued"].as_u64(),
        Some(1),
        "the mandatory kind still goes"
    );
}

#[tokio::test]
async fn one_click_unsubscribe_stops_an_opt_out_kind_on_sqlite() {
    one_click(&spawn_app_with(CLOUD_POLICY).await).await;
}

#[tokio::test]
async fn one_click_unsubscribe_stops_an_opt_out_kind_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    one_click(&spawn_app_on_postgres_with(&url, CLOUD_POLICY).await).await;
}
