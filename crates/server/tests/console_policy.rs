//! The console's policy page over HTTP: the versions kept and the one in force, the difference
//! between two (a retention period lengthened is material), `policy check`'s findings, the
//! rendered notice, and the Article 30 record as a download for the operator's admins and DPOs
//! only — on SQLite and PostgreSQL.

mod common;

use common::console::{get, page_of, ready};
use common::{POLICY, TestApp, spawn_app};
use ombud_core::Clock;
use ombud_store::model::{Role, TenantId};
use std::sync::Arc;

/// Keeps `source` as a version of the operator's policy, as `serve` does at start; its hash.
async fn keep(app: &TestApp, operator: TenantId, source: &str) -> String {
    let policy = ombud_policy::check(source).policy.expect("checks clean");
    let version = policy.version.0.clone();
    let (store, now, text, kept) = (
        Arc::clone(&app.store),
        app.clock.now(),
        source.to_owned(),
        version.clone(),
    );
    tokio::task::spawn_blocking(move || {
        store
            .keep_policy_version(operator, &kept, &text, &ombud_store::Actor::Cli, now)
            .expect("kept")
    })
    .await
    .expect("joined");
    version
}

async fn policy_pages(app: &TestApp) {
    let operator = app.operator().await;
    let old = keep(app, operator, POLICY).await;
    app.clock.advance(jiff::SignedDuration::from_hours(24));
    let shorter = POLICY.replace(
        "keep = \"2 years\"\nafter = \"collected\"",
        "keep = \"3 years\"\nafter = \"collected\"",
    );
    assert_ne!(
        shorter, POLICY,
        "the example still keeps security logs two years"
    );
    let new = keep(app, operator, &shorter).await;

    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;
    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let (customer, _) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let their_dpo = ready(
        app,
        customer.parse().expect("id"),
        "dpo@esimerkki.fi",
        Role::Dpo,
    )
    .await;

    let (status, page) = page_of(app, "/console/policy", &auditor).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&old[..12]) && page.contains(&new[..12]),
        "{page}"
    );
    assert!(page.contains("— in force"));
    assert!(page.contains("the policy check finds"));
    assert!(
        !page.contains("ropa.csv"),
        "an auditor does not download the record"
    );

    let (status, compared) = page_of(
        app,
        &format!("/console/policy?old={old}&new={new}"),
        &auditor,
    )
    .await;
    assert_eq!(status, 200, "{compared}");
    assert!(compared.contains("Material"), "{compared}");
    assert!(compared.contains("security-logs"), "{compared}");
    let (status, _) = page_of(
        app,
        &format!("/console/policy?old={old}&new=0000"),
        &auditor,
    )
    .await;
    assert_eq!(status, 422);

    let notice = get(app, "/console/policy/notice", Some(&auditor)).await;
    assert_eq!(notice.status(), 200);
    assert!(notice.text().await.expect("page").contains("<h1"));

    let record = get(app, "/console/policy/ropa.csv", Some(&dpo)).await;
    assert_eq!(record.status(), 200);
    assert_eq!(record.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        record.headers()["content-disposition"]
            .to_str()
            .expect("text")
            .starts_with("attachment")
    );
    assert!(
        record
            .text()
            .await
            .expect("csv")
            .contains("Tilitoimisto Esimerkki Oy")
    );
    let record = get(app, "/console/policy/ropa.json", Some(&dpo)).await;
    assert_eq!(record.status(), 200);
    assert_eq!(
        get(app, "/console/policy/ropa.csv", Some(&auditor))
            .await
            .status(),
        403
    );

    assert_eq!(
        get(app, "/console/policy", Some(&agent)).await.status(),
        403
    );
    assert_eq!(
        get(app, "/console/policy", Some(&their_dpo)).await.status(),
        403
    );
    assert_eq!(
        get(app, "/console/policy/ropa.csv", Some(&their_dpo))
            .await
            .status(),
        403
    );
    assert_eq!(
        get(app, "/console/policy", None).await.status(),
        303,
        "signed out: to sign-in"
    );
}

#[tokio::test]
async fn the_console_shows_the_policy_its_versions_and_the_record_on_sqlite() {
    let app = spawn_app().await;
    policy_pages(&app).await;
}

#[tokio::test]
async fn the_console_shows_the_policy_its_versions_and_the_record_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    policy_pages(&app).await;
}
