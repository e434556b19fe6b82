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
