//! The retention forecast over HTTP: who may read it, and what a bad window gets.

mod common;

use common::spawn_app;
use serde_json::json;

#[tokio::test]
async fn the_forecast_is_for_admins_dpos_and_auditors_and_names_a_bad_window() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "email", "value": "f@example.fi" }] }),
        )
        .await;
    let id = subject.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(&service),
            None,
            Some(json!({ "records": [
                { "category": "user.device.ip_address", "value": "192.0.2.7", "purposes": ["security"], "collected_at": "2024-04-15T06:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);

    let forecast = app
        .get("/api/v1/retention/forecast?days=90", &app.admin_key)
        .await;
    assert_eq!(forecast.status, 200, "{:?}", forecast.body);
    let rows = forecast.body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{:?}", forecast.body);
    assert_eq!(rows[0]["rule"], "security-logs");
    assert_eq!(rows[0]["category"], "user.device.ip_address");
    assert_eq!(rows[0]["date"], "2026-04-15");
    assert_eq!(rows[0]["records"], 1);

    for bad in ["days=0", "days=3651", "days=soon", "weeks=2"] {
        let reply = app
            .get(&format!("/api/v1/retention/forecast?{bad}"), &app.admin_key)
            .await;
        assert!(
            reply.status == 400 || reply.status == 422,
            "{bad}: {} {:?}",
            reply.status,
            reply.body
        );
    }
    let reply = app
        .get("/api/v1/retention/forecast?days=0", &app.admin_key)
        .await;
    assert_eq!(
        (reply.status, reply.body["field"].as_str()),
        (422, Some("days"))
    );
    assert_eq!(
        app.get("/api/v1/retention/forecast", &service).await.status,
        403,
        "a service key runs the application, not the DPO's view"
    );
}

/// A subject with one record, written by `key`.
async fn person(
    app: &common::TestApp,
    key: &str,
    email: &str,
    category: &str,
    purpose: &str,
) -> String {
    let subject = app
        .post(
            "/api/v1/subjects",
            key,
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    let id = subject.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(key),
            None,
            Some(json!({ "records": [
                { "category": category, "value": email, "purposes": [purpose], "collected_at": "2025-06-01T09:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    id
}

#[tokio::test]
async fn a_review_keeps_a_prospect_for_another_period_or_deletes_it_at_once() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let dpo = app.key(&app.admin_key, "dpo").await;
    // Collected 2025-06-01, no contact since: due for review on 2025-12-01.
    let kept = person(
        &app,
        &service,
        "kept@example.fi",
        "user.contact.email",
        "prospects",
    )
    .await;
    let dropped = person(
        &app,
        &service,
        "gone@example.fi",
        "user.contact.email",
        "prospects",
    )
    .await;
    let customer = person(
        &app,
        &service,
        "customer@example.fi",
        "user.contact.email",
        "service-delivery",
    )
    .await;

    let due = app.get("/api/v1/retention/reviews", &dpo).await;
    assert_eq!(due.status, 200, "{:?}", due.body);
    let subjects: Vec<&str> = due.body["reviews"]
        .as_array()
        .expect("reviews")
        .iter()
        .map(|r| r["subject"].as_str().expect("subject"))
        .collect();
    assert_eq!(subjects.len(), 2, "{:?}", due.body);
    assert!(subjects.contains(&kept.as_str()) && subjects.contains(&dropped.as_str()));
    assert_eq!(due.body["reviews"][0]["rule"], "prospect-review");

    // Who may decide, and what a wrong decision gets.
    let reply = app
        .post(
            "/api/v1/retention/reviews",
            &service,
            json!({ "subject": kept, "decision": "delete" }),
        )
        .await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    for (body, field) in [
        (
            json!({ "subject": customer, "decision": "delete" }),
            "subject",
        ),
        (
            json!({ "subject": "nobody", "decision": "keep" }),
            "subject",
        ),
        (
            json!({ "subject": uuid::Uuid::now_v7().to_string(), "decision": "keep" }),
            "subject",
        ),
        (
            json!({ "subject": kept, "decision": "keep", "purpose": "astrology" }),
            "purpose",
        ),
        (
            json!({ "subject": kept, "decision": "keep", "purpose": "service-delivery" }),
            "subject",
        ),
    ] {
        let reply = app
            .post("/api/v1/retention/reviews", &dpo, body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let reply = app
        .post(
            "/api/v1/retention/reviews",
            &dpo,
            json!({ "subject": kept, "decision": "maybe" }),
        )
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    let reply = app
        .post(
            &format!("/api/v1/subjects/{kept}/events"),
            &service,
            json!({ "kind": "review_declined" }),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["field"].as_str()),
        (422, Some("kind")),
        "an application cannot decide a review through the events API: {:?}",
        reply.body
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/subjects/{customer}/records?purpose=service-delivery"),
            &app.admin_key
        )
        .await
        .status,
        200,
        "the refused decision about a customer touched nothing"
    );

    // Keep: due again six months after the decision, on the controller's clock (Helsinki:
    // 12:00 EET on 1 March is 12:00 EEST on 1 September).
    let reply = app
        .post(
            "/api/v1/retention/reviews",
            &dpo,
            json!({ "subject": kept, "decision": "keep", "purpose": "prospects" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["removed"], 0);
    assert_eq!(reply.body["next_review"], "2026-09-01T09:00:00Z");

    // Delete: gone at once, with a tombstone and the rule in the audit log.
    let reply = app
        .post(
            "/api/v1/retention/reviews",
            &dpo,
            json!({ "subject": dropped, "decision": "delete" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["removed"], 1);
    assert_eq!(reply.body["subject_deleted"], true);
    assert_eq!(
        app.get(&format!("/api/v1/subjects/{dropped}"), &app.admin_key)
            .await
            .status,
        404
    );
    let audit = app
        .get(&format!("/api/v1/audit?subject={dropped}"), &app.admin_key)
        .await;
    let actions: Vec<(&str, &str)> = audit.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["detail"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        actions.iter().any(|(a, _)| *a == "event.review_declined"),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|(a, d)| *a == "records.expire" && d.contains("rule=prospect-review")),
        "{actions:?}"
    );

    let due = app.get("/api/v1/retention/reviews", &dpo).await;
    assert_eq!(due.body["reviews"], json!([]), "{:?}", due.body);
    let due = app.get("/api/v1/retention/reviews?days=200", &dpo).await;
    assert_eq!(due.body["reviews"][0]["subject"], kept.as_str());
    assert_eq!(due.body["reviews"][0]["due"], "2026-09-01T09:00:00Z");
}
