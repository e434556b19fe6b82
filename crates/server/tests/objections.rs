//! Art. 21(1): an objection to processing on legitimate interests stops it at once while the
//! controller weighs it; the controller either lets it stand or records compelling legitimate
//! grounds for a purpose, and the person is told which. Direct marketing stops absolutely
//! (Art. 21(3)); a blanket objection does not reach legal claims (Art. 18(2)).

mod common;

use common::{TestApp, spawn_app_on_postgres_with, spawn_app_with};
use serde_json::json;

const ERP: &str = include_str!("../../../examples/managed-erp-hosting.toml");

async fn allowed(app: &TestApp, key: &str, purpose: &str) -> bool {
    let check = app
        .get(
            &format!("/api/v1/check?identity=email:oskar@example.be&purpose={purpose}"),
            key,
        )
        .await;
    assert_eq!(check.status, 200, "{:?}", check.body);
    check.body["allowed"].as_bool().expect("allowed")
}

async fn objection_weighed(app: &TestApp) {
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            "oskar@example.be",
            json!([
                { "category": "user.name", "value": "Oskar Peeters", "source": "subject" },
                { "category": "user.contact.email", "value": "oskar@example.be", "source": "subject" },
            ]),
        )
        .await;
    assert!(allowed(app, &service, "platform-security").await);
    let filed = app
        .post(
            "/api/v1/requests",
            &app.admin_key,
            json!({ "kind": "objection", "email": "oskar@example.be" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id").to_owned();
    assert_eq!(filed.body["objection_pending"], false, "not confirmed yet");
    assert!(allowed(app, &service, "platform-security").await);
    let code = app.code_from_outbox().await;
    let filed = app
        .post(
            &format!("/api/v1/requests/{id}/verify"),
            &app.admin_key,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(filed.status, 200, "{:?}", filed.body);
    // Pending assessment: stopped meanwhile, except what serves legal claims.
    assert_eq!(filed.body["objection_pending"], true, "{:?}", filed.body);
    assert_eq!(filed.body["status"], "verified");
    assert!(!allowed(app, &service, "platform-security").await);
    assert!(!allowed(app, &service, "service-updates").await);
    assert!(allowed(app, &service, "legal-claims").await);

    let fulfil = format!("/api/v1/requests/{id}/fulfil");
    for (body, says) in [
        (
            json!({ "compelling_grounds": { "service-updates": "We like sending them." } }),
            "absolute",
        ),
        (
            json!({ "compelling_grounds": { "legal-claims": "A claim is pending." } }),
            "does not reach",
        ),
        (
            json!({ "compelling_grounds": { "platform-security": "  " } }),
            "1 to 2000",
        ),
        (json!({ "grounds": {} }), "unknown field"),
    ] {
        let refused = app.post(&fulfil, &app.admin_key, body.clone()).await;
        assert_eq!(refused.status, 422, "{body}: {:?}", refused.body);
        assert_eq!(
            refused.body["field"], "compelling_grounds",
            "{:?}",
            refused.body
        );
        assert!(
            refused.body["detail"]
                .as_str()
                .expect("detail")
                .contains(says),
            "{body}: {:?}",
            refused.body
        );
    }
    let still = app
        .get(&format!("/api/v1/requests/{id}"), &app.admin_key)
        .await;
    assert_eq!(still.body["status"], "verified", "nothing was decided");

    let grounds = "Logs of this account show repeated attempts to break into other customers' environments; we keep screening its sign-ins to protect them.";
    app.drain_outbox().await;
    let decided = app
        .post(
            &fulfil,
            &app.admin_key,
            json!({ "compelling_grounds": { "platform-security": grounds } }),
        )
        .await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    assert_eq!(decided.body["objection_pending"], false);
    let decisions = decided.body["outcome"]["objection"]
        .as_array()
        .expect("decisions");
    let goes_on: Vec<&str> = decisions
        .iter()
        .filter(|d| d["continues"] == true)
        .filter_map(|d| d["purpose"].as_str())
        .collect();
    assert_eq!(goes_on, ["platform-security"]);
    assert!(
        decisions.iter().all(|d| d["purpose"] != "legal-claims"),
        "a blanket objection does not reach legal claims"
    );
    assert!(allowed(app, &service, "platform-security").await);
    assert!(!allowed(app, &service, "service-updates").await);
    assert!(!allowed(app, &service, "service-improvement").await);

    let mails = app.drain_outbox().await;
    let (_, _, answer) = mails
        .iter()
        .find(|(to, template, _)| to == "oskar@example.be" && template == "request_fulfilled")
        .expect("the person is answered");
    assert!(answer.contains(grounds), "{answer}");
    assert!(answer.contains(": stopped"), "{answer}");

    // Applications cannot record grounds by posting an event.
    let posted = app
        .post(
            &format!("/api/v1/subjects/{subject}/events"),
            &service,
            json!({ "kind": "objection_overridden", "purpose": "service-improvement" }),
        )
        .await;
    assert_eq!(posted.status, 422, "{:?}", posted.body);
}

#[tokio::test]
async fn an_objection_is_weighed_and_the_person_told_which_purposes_go_on_on_sqlite() {
    objection_weighed(&spawn_app_with(ERP).await).await;
}

#[tokio::test]
async fn an_objection_is_weighed_and_the_person_told_which_purposes_go_on_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    objection_weighed(&spawn_app_on_postgres_with(&url, ERP).await).await;
}
