//! The console's audit log over HTTP: one tenant's entries, filtered and paged, with colleagues
//! named; the chain verified with one button (CSRF and origin checked); for admins, DPOs and
//! auditors, a customer's people in their own tenant only — on SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, get, page_of, post, ready};
use common::{TestApp, spawn_app};
use ombud_core::Clock;
use ombud_store::model::{Role, TenantId};
use serde_json::json;

async fn audit_pages(app: &TestApp) {
    let operator = app.operator().await;
    let subject = app
        .person_with_contract(
            &app.admin_key,
            "aino.virtanen@example.fi",
            json!([{ "category": "user.name", "value": "Aino Virtanen", "source": "subject" }]),
        )
        .await;
    let (customer, _) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let customer_id: TenantId = customer.parse().expect("a tenant id");
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let their_dpo = ready(app, customer_id, "dpo@esimerkki.fi", Role::Dpo).await;

    let (status, log) = page_of(app, "/console/audit", &auditor).await;
    assert_eq!(status, 200, "{log}");
    assert!(log.contains("records.write") && log.contains("subject.create"));
    assert!(
        log.contains("auditor@example.fi"),
        "sign-ins name the colleague: {log}"
    );
    assert!(!log.contains("Aino Virtanen"), "no value in the log");
    let (_, narrowed) = page_of(
        app,
        &format!("/console/audit?action=records.write&subject={subject}"),
        &auditor,
    )
    .await;
    assert!(narrowed.contains("records.write"));
    assert!(
        !narrowed.contains("<code>subject.create</code>"),
        "{narrowed}"
    );
    let (status, bad) = page_of(app, "/console/audit?from=29.11.2026", &auditor).await;
    assert_eq!(status, 422);
    assert!(bad.contains("a day like 2026-11-29"));
    let (status, _) = page_of(
        app,
        "/console/audit?from=2026-11-29&until=2026-11-01",
        &auditor,
    )
    .await;
    assert_eq!(status, 422);
    // Days of the controller's calendar: today holds today's entries, a day long past none.
    let today = app
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Helsinki").expect("zone"))
        .date();
    let (_, day) = page_of(
        app,
        &format!("/console/audit?from={today}&until={today}"),
        &auditor,
    )
    .await;
    assert!(day.contains("records.write"));
    let (_, past) = page_of(
        app,
        "/console/audit?from=2001-01-01&until=2001-01-02",
        &auditor,
    )
    .await;
    assert!(past.contains("No entry matches"));

    assert_eq!(get(app, "/console/audit", Some(&agent)).await.status(), 403);
    let (status, _) = page_of(
        app,
        &format!("/console/audit?tenant={operator}"),
        &their_dpo,
    )
    .await;
    assert_eq!(
        status, 422,
        "a customer's people read their own tenant's log only"
    );
    let (status, theirs) = page_of(app, "/console/audit", &their_dpo).await;
    assert_eq!(status, 200);
    assert!(
        !theirs.contains("records.write"),
        "the operator's entries are not theirs"
    );

    // Verification, one button.
    let csrf = log
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's token")
        .to_owned();
    let tenant = operator.to_string();
    let forged = post(
        app,
        "/console/audit/verify",
        ORIGIN,
        Some(&auditor),
        &[("csrf", "x"), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(forged.status(), 403);
    let verified = post(
        app,
        "/console/audit/verify",
        ORIGIN,
        Some(&auditor),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(verified.status(), 200);
    let verified = verified.text().await.expect("page");
    assert!(verified.contains("Intact:"), "{verified}");
}

#[tokio::test]
async fn the_console_browses_and_verifies_the_audit_log_on_sqlite() {
    let app = spawn_app().await;
    audit_pages(&app).await;
}

#[tokio::test]
async fn the_console_browses_and_verifies_the_audit_log_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    audit_pages(&app).await;
}
