//! Legal holds over HTTP: bad holds are refused field by field, a hold keeps data through
//! erasure and the sweeper, and releasing it lets the sweeper finish.

mod common;

use common::{TestApp, spawn_app};
use jiff::tz::TimeZone;
use ombud_app::sweeper::Sweep;
use ombud_core::Clock;
use ombud_core::access::DataRole;
use serde_json::{Value, json};

async fn subject_with_records(app: &TestApp, service: &str, email: &str) -> String {
    let created = app
        .post(
            "/api/v1/subjects",
            service,
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(service),
            None,
            Some(json!({ "records": [
                { "category": "user.name", "value": "Held Person", "source": "subject" },
                { "category": "user.device.ip_address", "value": "192.0.2.9", "purposes": ["security"], "collected_at": "2023-01-10T08:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    id
}

async fn sweep(app: &TestApp) -> ombud_app::sweeper::SweepReport {
    let store = std::sync::Arc::clone(&app.store);
    let now = app.clock.now();
    let tenant = app.get("/api/v1/tenants", &app.admin_key).await.body["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|t| t["operator"] == true)
        .and_then(|t| t["id"].as_str())
        .expect("operator")
        .parse()
        .expect("id");
    tokio::task::spawn_blocking(move || {
        let policy = ombud_policy::check(common::POLICY).policy.expect("policy");
        let tz = TimeZone::get(&policy.controller.time_zone).expect("zone");
        Sweep {
            store: store.as_ref(),
            policy: &policy,
            time_zone: &tz,
            tenant: ombud_store::model::TenantId(tenant),
            data_role: DataRole::Controller,
            now,
            dry_run: false,
        }
        .run(|_| {})
        .expect("sweep")
    })
    .await
    .expect("joined")
}

#[tokio::test]
async fn a_bad_hold_is_refused_by_field_and_nothing_is_placed() {
    let app = spawn_app().await;
    let cases: [(Value, &str); 7] = [
        (json!({ "reason": "because", "note": "x" }), "reason"),
        (json!({ "reason": "legal_claim", "note": "  " }), "note"),
        (
            json!({ "reason": "legal_claim", "note": "x".repeat(1001) }),
            "note",
        ),
        (
            json!({ "reason": "legal_claim", "note": "Case 1", "category": "user.nope" }),
            "category",
        ),
        (
            json!({ "reason": "legal_claim", "note": "Case 1", "ends_at": "2020-01-01T00:00:00Z" }),
            "ends_at",
        ),
        (
            json!({ "reason": "legal_claim", "note": "Case 1", "subject": "not-a-uuid" }),
            "subject",
        ),
        (
            json!({ "reason": "legal_claim", "note": "Case 1", "subject": "0199aaaa-0000-7000-8000-000000000000" }),
            "subject",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/v1/holds", &app.admin_key, body.clone())
            .await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(reply.body["field"], field, "{body}");
    }
    let unknown = app
        .post(
            "/api/v1/holds",
            &app.admin_key,
            json!({ "reason": "legal_claim", "note": "x", "scope": "all" }),
        )
        .await;
    assert_eq!(
        unknown.status, 422,
        "unknown fields are refused: {:?}",
        unknown.body
    );
    let listed = app.get("/api/v1/holds", &app.admin_key).await;
    assert_eq!(listed.body["holds"], json!([]));
    let agent = app.key(&app.admin_key, "agent").await;
    let refused = app
        .post(
            "/api/v1/holds",
            &agent,
            json!({ "reason": "legal_claim", "note": "Case 1" }),
        )
        .await;
    assert_eq!(refused.status, 403);
    let auditor = app.key(&app.admin_key, "auditor").await;
    assert_eq!(app.get("/api/v1/holds", &auditor).await.status, 200);
    let released = app
        .post(
            "/api/v1/holds/0199aaaa-0000-7000-8000-000000000000/release",
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(released.status, 404);
}

#[tokio::test]
async fn a_hold_keeps_data_through_erasure_and_the_sweeper_until_it_is_released() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let kept = subject_with_records(&app, &service, "claim@example.fi").await;
    let swept = subject_with_records(&app, &service, "other@example.fi").await;

    let hold = app
        .post(
            "/api/v1/holds",
            &app.admin_key,
            json!({ "reason": "security_investigation", "subject": kept, "category": "user.device", "note": "Incident 2026-03" }),
        )
        .await;
    assert_eq!(hold.status, 201, "{:?}", hold.body);
    let hold_id = hold.body["id"].as_str().expect("id").to_owned();

    // The hold is the one purpose its data may be read for: its category, and only by those
    // who decide on holds; each read is audited under the hold.
    let read_held = |subject: Option<String>| {
        let path = match subject {
            Some(s) => format!("/api/v1/holds/{hold_id}/records?subject={s}"),
            None => format!("/api/v1/holds/{hold_id}/records"),
        };
        let app = &app;
        async move { app.get(&path, &app.admin_key).await }
    };
    let held_read = read_held(None).await;
    assert_eq!(held_read.status, 200, "{:?}", held_read.body);
    let categories: Vec<&str> = held_read.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["category"].as_str().expect("category"))
        .collect();
    assert_eq!(
        categories,
        ["user.device.ip_address"],
        "the name is not held"
    );
    assert_eq!(held_read.body["records"][0]["value"], "192.0.2.9");
    assert_eq!(
        app.get(&format!("/api/v1/holds/{hold_id}/records"), &service)
            .await
            .status,
        403
    );
    let elsewhere = read_held(Some(swept.clone())).await;
    assert_eq!(
        (elsewhere.status, elsewhere.body["field"].as_str()),
        (422, Some("subject")),
        "{:?}",
        elsewhere.body
    );
    let audit = app
        .get(
            &format!("/api/v1/audit?subject={kept}&action=records.read"),
            &app.admin_key,
        )
        .await;
    assert!(
        audit.body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["purpose"] == format!("hold:{hold_id}")),
        "{:?}",
        audit.body
    );
    let tenant_wide = app
        .post(
            "/api/v1/holds",
            &app.admin_key,
            json!({ "reason": "legal_claim", "note": "Claim 12", "ends_at": "2026-03-01T12:00:00Z" }),
        )
        .await;
    let tenant_hold = tenant_wide.body["id"].as_str().expect("id").to_owned();
    let unnamed = app
        .get(
            &format!("/api/v1/holds/{tenant_hold}/records"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        (unnamed.status, unnamed.body["field"].as_str()),
        (422, Some("subject")),
        "a tenant-wide hold is read one subject at a time"
    );
    app.clock.advance(jiff::SignedDuration::from_hours(3));

    // The sweeper takes the other person's old security log, not the held one.
    let report = sweep(&app).await;
    assert_eq!((report.records, report.held), (1, 1), "{report:?}");
    let other = app
        .get(
            &format!("/api/v1/subjects/{swept}/records?purpose=security"),
            &app.admin_key,
        )
        .await;
    assert_eq!(other.body["records"], json!([]), "{:?}", other.body);

    // Erasure keeps the held log and says why; the name goes.
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": "erasure", "subject": kept, "email": "claim@example.fi", "verified": true }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id");
    let done = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let outcome = done.body["outcome"].clone();
    let kept_items = outcome["kept"].as_array().expect("kept listed").clone();
    let held = kept_items
        .iter()
        .find(|k| k["category"] == "user.device.ip_address")
        .unwrap_or_else(|| panic!("the held log is listed: {outcome}"));
    assert!(held["rule"].as_str().expect("rule").contains("legal hold"));
    assert_eq!(held["purposes"], json!([format!("hold:{hold_id}")]));
    let security_read = app
        .get(
            &format!("/api/v1/subjects/{kept}/records?purpose=security"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        security_read.body["records"],
        json!([]),
        "held data serves the hold only: {:?}",
        security_read.body
    );

    let after_erasure = read_held(None).await;
    assert_eq!(
        after_erasure.body["records"][0]["value"], "192.0.2.9",
        "what erasure kept for the hold is still read for it: {:?}",
        after_erasure.body
    );

    let released = app
        .post(
            &format!("/api/v1/holds/{hold_id}/release"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(released.status, 204);
    let active = app.get("/api/v1/holds?active=true", &app.admin_key).await;
    assert_eq!(
        active.body["holds"],
        json!([]),
        "the tenant-wide hold lapsed at its end"
    );
    assert_eq!(
        read_held(None).await.status,
        404,
        "a released hold reads nothing"
    );
    let report = sweep(&app).await;
    assert_eq!(report.held, 0, "{report:?}");
    assert_eq!(
        report.by_rule.get("legal-hold-ended"),
        Some(&1),
        "with the hold gone the erasure finishes: {report:?}"
    );
}
