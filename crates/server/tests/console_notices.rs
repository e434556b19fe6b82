//! The console's notices over HTTP, with the public-cloud example's kinds: a security notice
//! composed and sent to named people, its page with a line per person (address masked), the
//! ledger; a bad audience or kind refused with what was typed kept and nothing sent; auditors
//! read, agents are refused, a customer's notices are the customer's to send — on SQLite and
//! PostgreSQL.

mod common;

use common::console::{ORIGIN, csrf_in, get, page_of, post, ready};
use common::{CLOUD_POLICY, TestApp, spawn_app_with};
use ombud_store::model::Role;
use serde_json::json;

async fn send(
    app: &TestApp,
    cookie: &str,
    fields: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(app, "/console/notices", ORIGIN, Some(cookie), &pairs).await
}

async fn notices(app: &TestApp) {
    let operator = app.operator().await;
    let person = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "aino.virtanen@example.fi" }] }),
        )
        .await;
    let person = person.body["id"].as_str().expect("id").to_owned();
    let (customer, _) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let tenant = operator.to_string();

    let (status, ledger) = page_of(app, "/console/notices", &dpo).await;
    assert_eq!(status, 200, "{ledger}");
    assert!(
        ledger.contains("Potential security breaches"),
        "the policy's kinds are offered"
    );
    let csrf = csrf_in(&ledger);
    assert_eq!(
        get(app, "/console/notices", Some(&agent)).await.status(),
        403
    );

    let form = |audience: &'static str, subjects: &str, kind: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("tenant", tenant.clone()),
            ("kind", kind.to_owned()),
            ("audience", audience.to_owned()),
            ("category", "user.contact.email".to_owned()),
            ("subjects", subjects.to_owned()),
            ("subject", "Planned maintenance on 5 December".to_owned()),
            (
                "body",
                "The service is down from 02:00 to 03:00 EET.".to_owned(),
            ),
        ]
    };
    let bad = send(app, &dpo, form("subjects", "not-a-subject", "maintenance")).await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.expect("page");
    assert!(bad.contains("subject id (a UUID)"), "{bad}");
    assert!(
        bad.contains("Planned maintenance on 5 December"),
        "what was typed stays"
    );
    let unknown = send(app, &dpo, form("subjects", &person, "gossip")).await;
    assert_eq!(unknown.status(), 422);
    assert!(
        app.get("/api/v1/notices", &app.admin_key).await.body["notices"]
            .as_array()
            .expect("notices")
            .is_empty(),
        "nothing was sent"
    );

    let sent = send(app, &dpo, form("subjects", &person, "maintenance")).await;
    assert_eq!(sent.status(), 303);
    let path = sent
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("to the notice")
        .to_owned();
    let (status, notice) = page_of(app, &path, &auditor).await;
    assert_eq!(status, 200, "{notice}");
    assert!(notice.contains("The service is down from 02:00 to 03:00 EET."));
    assert!(notice.contains(&person[..8]));
    assert!(
        !notice.contains("aino.virtanen@example.fi"),
        "the address is masked"
    );
    assert!(!notice.contains("Send a notice"));
    let (_, ledger) = page_of(app, "/console/notices", &auditor).await;
    assert!(ledger.contains("Planned maintenance on 5 December"));
    let listed = app.get("/api/v1/notices", &app.admin_key).await;
    assert!(
        listed.body["notices"][0]["created_by"]
            .as_str()
            .is_some_and(|b| b.starts_with("user:"))
    );

    // A customer decides its own notices.
    let (_, theirs) = page_of(app, &format!("/console/notices?tenant={customer}"), &dpo).await;
    assert!(!theirs.contains("Send a notice"));
    let mut elsewhere = form("category", "", "maintenance");
    elsewhere[1].1 = customer.clone();
    let refused = send(app, &dpo, elsewhere).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn the_console_sends_notices_and_keeps_their_ledger_on_sqlite() {
    let app = spawn_app_with(CLOUD_POLICY).await;
    notices(&app).await;
}

#[tokio::test]
async fn the_console_sends_notices_and_keeps_their_ledger_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres_with(&url, CLOUD_POLICY).await;
    notices(&app).await;
}
