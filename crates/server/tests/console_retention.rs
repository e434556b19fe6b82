//! The console's retention page over HTTP: the chart and its numbers from the forecast, holds
//! placed (a bad one refused with why) and released, a review kept and one deleted — each
//! audited under the user; auditors read, agents are refused, a customer's review is the
//! customer's to decide — on SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, csrf_in, get, page_of, post, ready};
use common::{TestApp, spawn_app};
use ombud_store::model::{Role, TenantId};
use serde_json::json;

/// A person with one record collected on 2025-06-01 for `purpose`.
async fn person(app: &TestApp, email: &str, category: &str, purpose: &str) -> String {
    let subject = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    let id = subject.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{id}/records"),
            Some(&app.admin_key),
            None,
            Some(json!({ "records": [
                { "category": category, "value": email, "purposes": [purpose], "collected_at": "2025-06-01T09:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    id
}

async fn retention(app: &TestApp) {
    let operator = app.operator().await;
    // An address of the security log collected long enough ago to leave within 90 days, and
    // two prospects due for review.
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/subjects/{}/records",
                person(app, "log@example.fi", "user.contact.email", "prospects").await
            ),
            Some(&app.admin_key),
            None,
            Some(json!({ "records": [
                { "category": "user.device.ip_address", "value": "192.0.2.7", "purposes": ["security"], "collected_at": "2024-04-15T06:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    let kept = person(app, "kept@example.fi", "user.contact.email", "prospects").await;
    let dropped = person(app, "gone@example.fi", "user.contact.email", "prospects").await;
    let (customer, _) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let customer_id: TenantId = customer.parse().expect("a tenant id");

    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let their_dpo = ready(app, customer_id, "dpo@esimerkki.fi", Role::Dpo).await;

    let (status, page) = page_of(app, "/console/retention", &auditor).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<svg class=\"chart\""),
        "the chart is drawn: {page}"
    );
    assert!(page.contains("user.device.ip_address"));
    assert!(!page.contains("192.0.2.7"), "no value on the page");
    assert!(
        page.contains(&kept[..8]) && page.contains(&dropped[..8]),
        "reviews listed"
    );
    assert!(
        !page.contains("Place the hold"),
        "an auditor reads, and places no hold"
    );
    assert_eq!(
        get(app, "/console/retention", Some(&agent)).await.status(),
        403
    );
    let (status, _) = page_of(
        app,
        &format!("/console/retention?tenant={operator}"),
        &their_dpo,
    )
    .await;
    assert_eq!(status, 422, "a customer's people see their own tenant only");

    // The dry run lists what the next sweep removes, and removes nothing.
    let expired = person(app, "old@example.fi", "user.device.ip_address", "security").await;
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{expired}/records"),
            Some(&app.admin_key),
            None,
            Some(json!({ "records": [
                { "category": "user.device.ip_address", "value": "192.0.2.9", "purposes": ["security"], "collected_at": "2023-01-15T06:00:00Z" },
            ] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    let before = app
        .get("/api/v1/retention/forecast", &app.admin_key)
        .await
        .body["expired"]
        .clone();
    let (status, dry) = page_of(app, "/console/retention/dry-run", &auditor).await;
    assert_eq!(status, 200, "{dry}");
    assert!(
        dry.contains("security-logs") && dry.contains(&expired[..8]),
        "{dry}"
    );
    assert!(!dry.contains("192.0.2.9"), "no value");
    let after = app
        .get("/api/v1/retention/forecast", &app.admin_key)
        .await
        .body["expired"]
        .clone();
    assert_eq!(before, after, "a dry run removes nothing");
    assert!(after.as_u64().is_some_and(|n| n >= 1), "{after:?}");

    // Holds: a bad one says why and places nothing; a good one is listed, then released.
    let (_, page) = page_of(app, "/console/retention", &dpo).await;
    let csrf = csrf_in(&page);
    let tenant = operator.to_string();
    let bad = post(
        app,
        "/console/retention/holds",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("reason", "legal_claim"),
            ("note", "Case 12/2026"),
            ("ends", "30.6.2027"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .expect("page")
            .contains("a day like 2027-06-30")
    );
    let placed = post(
        app,
        "/console/retention/holds",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("reason", "legal_claim"),
            ("note", "Case 12/2026"),
            ("subject", &kept),
            ("ends", ""),
        ],
    )
    .await;
    assert_eq!(placed.status(), 303);
    let holds = app.get("/api/v1/holds", &app.admin_key).await;
    let hold = holds.body["holds"][0]["id"]
        .as_str()
        .expect("a hold")
        .to_owned();
    assert_eq!(holds.body["holds"][0]["subject"], kept.as_str());
    let forged = post(
        app,
        &format!("/console/retention/holds/{hold}/release"),
        "https://evil.example",
        Some(&dpo),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(forged.status(), 403);
    let released = post(
        app,
        &format!("/console/retention/holds/{hold}/release"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(released.status(), 303);
    let again = post(
        app,
        &format!("/console/retention/holds/{hold}/release"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(again.status(), 422, "released already");

    // Reviews: keep one, delete the other.
    let keep = post(
        app,
        "/console/retention/reviews",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("subject", &kept),
            ("purpose", "prospects"),
            ("decision", "keep"),
        ],
    )
    .await;
    assert_eq!(keep.status(), 303);
    let delete = post(
        app,
        "/console/retention/reviews",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("subject", &dropped),
            ("purpose", "prospects"),
            ("decision", "delete"),
        ],
    )
    .await;
    assert_eq!(delete.status(), 303);
    let gone = app
        .get(&format!("/api/v1/subjects/{dropped}"), &app.admin_key)
        .await;
    assert_eq!(gone.status, 404, "deleted at once");
    let unknown = post(
        app,
        "/console/retention/reviews",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("subject", &dropped),
            ("purpose", "prospects"),
            ("decision", "shrug"),
        ],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let audit = app
        .get("/api/v1/audit?action=event.review_declined", &app.admin_key)
        .await;
    assert!(
        audit.body["entries"][0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("user:")),
        "{:?}",
        audit.body
    );

    // The operator's staff do not decide a customer's review.
    let customer_tenant = customer.clone();
    let theirs = post(
        app,
        "/console/retention/reviews",
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("tenant", &customer_tenant),
            ("subject", &kept),
            ("decision", "keep"),
        ],
    )
    .await;
    assert_eq!(theirs.status(), 403);
}

#[tokio::test]
async fn the_console_shows_retention_and_works_holds_and_reviews_on_sqlite() {
    let app = spawn_app().await;
    retention(&app).await;
}

#[tokio::test]
async fn the_console_shows_retention_and_works_holds_and_reviews_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    retention(&app).await;
}
