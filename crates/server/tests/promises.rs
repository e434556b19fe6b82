//! GET /api/v1/promises: the operator's admins, DPOs and auditors run the promise check; a
//! record past its retention is reported with the notice's sentence and its rule, never its
//! value; customers' keys and other roles are refused.

mod common;

use common::spawn_app;
use serde_json::json;

#[tokio::test]
async fn the_operator_checks_the_notice_s_promises_over_http() {
    let app = spawn_app().await;
    let fresh = app.get("/api/v1/promises", &app.admin_key).await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    assert_eq!(fresh.body["broken"], json!([]));
    assert_eq!(fresh.body["checked"].as_array().expect("checked").len(), 10);

    // A security log collected three years ago: the example keeps them two.
    let subject = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "ana@example.fi" }] }),
        )
        .await;
    assert_eq!(subject.status, 201, "{:?}", subject.body);
    let id = subject.body["id"].as_str().expect("id").to_owned();
    let put = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(&app.admin_key),
            None,
            Some(json!({ "records": [{
                "category": "user.device.ip_address",
                "value": "192.0.2.7",
                "purposes": ["security"],
                "collected_at": "2023-01-01T00:00:00Z",
            }] })),
        )
        .await;
    assert!(put.status == 200 || put.status == 201, "{:?}", put.body);
    let auditor = app.key(&app.admin_key, "auditor").await;
    let report = app.get("/api/v1/promises", &auditor).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    let broken = report.body["broken"].as_array().expect("broken");
    assert_eq!(broken.len(), 1, "{:?}", report.body);
    assert_eq!(broken[0]["promise"], "retention");
    assert_eq!(broken[0]["place"]["rule"], "security-logs");
    assert!(
        broken[0]["sentence"]
            .as_str()
            .expect("sentence")
            .contains("2 years")
    );
    assert!(!report.body.to_string().contains("192.0.2.7"));

    // The daily run sets the gauge per promise and records its counts in the audit log.
    let metrics = std::sync::Arc::new(ombud_app::metrics::Metrics::new());
    let (store, gauges, now) = (
        std::sync::Arc::clone(&app.store),
        std::sync::Arc::clone(&metrics),
        ombud_core::Clock::now(app.clock.as_ref()),
    );
    tokio::task::spawn_blocking(move || {
        let policy = ombud_policy::check(common::POLICY).policy.expect("policy");
        let zone = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
        ombud_app::jobs::check_promises(
            store.as_ref(),
            &policy,
            &zone,
            &ombud_connect::Connectors::default(),
            &[],
            &gauges,
            now,
        );
    })
    .await
    .expect("ran");
    let rendered = metrics.render();
    assert!(
        rendered.contains("ombud_promises_broken{promise=\"retention\"} 1")
            && rendered.contains("ombud_promises_broken{promise=\"request_deadline\"} 0"),
        "{rendered}"
    );
    let runs = app
        .get("/api/v1/audit?action=promises.check", &app.admin_key)
        .await;
    assert_eq!(
        runs.body["entries"][0]["detail"]
            .as_str()
            .map(|d| d.contains("retention=1")),
        Some(true),
        "{:?}",
        runs.body
    );

    let service = app.key(&app.admin_key, "service").await;
    assert_eq!(app.get("/api/v1/promises", &service).await.status, 403);
    let (_, customer_admin) = app.tenant_with_admin("Asiakas Oy").await;
    assert_eq!(
        app.get("/api/v1/promises", &customer_admin).await.status,
        403
    );
}
