//! The console's sub-processor pages over HTTP, with the managed-hosting example: a customer's
//! admin chooses an optional provider; the operator's DPO reads the change notice a new policy
//! version calls for (the provider moves outside the EEA) and sends it; the customer's DPO
//! objects within the window (an unknown provider refused); the operator's DPO resolves the
//! objection; agents are refused, and the operator's staff do not choose for a customer — on
//! SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, csrf_in, get, page_of, post, ready, ready_admin};
use common::{TestApp, spawn_app_on_postgres_with, spawn_app_with};
use jiff::SignedDuration;
use ombud_core::Clock;
use ombud_store::model::{Role, TenantId};
use serde_json::json;
use std::sync::Arc;

const OLD: &str = include_str!("../../../examples/managed-erp-hosting.toml");

/// The next version: Vultr moves its processing from the United States to Singapore.
fn new_policy() -> String {
    let moved = OLD.replacen(
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"US\"",
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"SG\"",
        1,
    );
    assert_ne!(moved, OLD, "the example still has Vultr in the US");
    moved
}

async fn subprocessors(app: &TestApp) {
    let operator = app.operator().await;
    let old = ombud_policy::check(OLD).policy.expect("checks").version.0;
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    tokio::task::spawn_blocking(move || {
        store
            .keep_policy_version(
                operator,
                &old,
                OLD,
                &ombud_store::Actor::Cli,
                now - SignedDuration::from_hours(24 * 30),
            )
            .expect("kept")
    })
    .await
    .expect("joined");
    let (acme, _) = app.tenant_with_admin("Acme").await;
    let acme_id: TenantId = acme.parse().expect("id");
    let contact = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "it@acme.example" }] }),
        )
        .await;
    let contact = contact.body["id"].as_str().expect("id").to_owned();
    let added = app
        .post(
            &format!("/api/v1/tenants/{acme}/contacts"),
            &app.admin_key,
            json!({ "subject": contact }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);

    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let acme_admin = ready_admin(app, acme_id, "admin@acme.example").await;
    let acme_dpo = ready(app, acme_id, "dpo@acme.example", Role::Dpo).await;
    assert_eq!(
        get(app, "/console/subprocessors", Some(&agent))
            .await
            .status(),
        403
    );

    // The customer's admin chooses Vultr; the operator's DPO may not choose for it.
    let (status, page) = page_of(app, "/console/subprocessors", &acme_admin).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Use an optional provider"));
    let csrf = csrf_in(&page);
    let chosen = post(
        app,
        "/console/subprocessors/choice",
        ORIGIN,
        Some(&acme_admin),
        &[("csrf", &csrf), ("recipient", "vultr"), ("chosen", "true")],
    )
    .await;
    assert_eq!(chosen.status(), 303);
    let (_, page) = page_of(app, "/console/subprocessors", &acme_admin).await;
    assert!(page.contains("Stop using"), "Vultr is in Acme's list now");
    let (_, operator_page) = page_of(app, "/console/subprocessors", &dpo).await;
    let csrf = csrf_in(&operator_page);
    let for_them = post(
        app,
        "/console/subprocessors/choice",
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("recipient", "vultr"), ("chosen", "true")],
    )
    .await;
    assert_eq!(for_them.status(), 403);

    // The operator's DPO reads the change notice, then sends it.
    assert!(
        operator_page.contains("The next change notice"),
        "{operator_page}"
    );
    assert!(operator_page.contains("vultr"), "{operator_page}");
    assert!(
        operator_page.contains("Acme: vultr"),
        "the customers' choices are listed"
    );
    let bad_day = post(
        app,
        "/console/subprocessors/changes",
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("effective", "someday")],
    )
    .await;
    assert_eq!(bad_day.status(), 422);
    let sent = post(
        app,
        "/console/subprocessors/changes",
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("effective", "")],
    )
    .await;
    assert_eq!(sent.status(), 303);
    let changes = app
        .get("/api/v1/subprocessors/changes", &app.admin_key)
        .await;
    let change = changes.body["changes"][0]["id"]
        .as_str()
        .expect("a change")
        .to_owned();

    // Acme's DPO objects; an unknown provider is refused.
    let (_, acme_page) = page_of(app, "/console/subprocessors", &acme_dpo).await;
    assert!(acme_page.contains("Object to this change"), "{acme_page}");
    let acme_csrf = csrf_in(&acme_page);
    let unknown = post(
        app,
        &format!("/console/subprocessors/changes/{change}/objections"),
        ORIGIN,
        Some(&acme_dpo),
        &[
            ("csrf", &acme_csrf),
            ("recipient", "nobody"),
            ("reason", "No."),
        ],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let objected = post(
        app,
        &format!("/console/subprocessors/changes/{change}/objections"),
        ORIGIN,
        Some(&acme_dpo),
        &[
            ("csrf", &acme_csrf),
            ("recipient", "vultr"),
            ("reason", "Our contract keeps data in the EEA."),
        ],
    )
    .await;
    assert_eq!(objected.status(), 303);

    // The operator's DPO resolves it.
    let (_, operator_page) = page_of(app, "/console/subprocessors", &dpo).await;
    assert!(operator_page.contains("Our contract keeps data in the EEA."));
    let resolved = post(
        app,
        &format!("/console/subprocessors/changes/{change}/resolution"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("customer", &acme),
            ("recipient", "vultr"),
            ("outcome", "accepted"),
            ("note", "Acme moves to UpCloud."),
        ],
    )
    .await;
    assert_eq!(resolved.status(), 303);
    let detail = app
        .get(
            &format!("/api/v1/subprocessors/changes/{change}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        detail.body["objections"][0]["resolution"]["outcome"], "accepted",
        "{:?}",
        detail.body
    );
    let twice = post(
        app,
        &format!("/console/subprocessors/changes/{change}/resolution"),
        ORIGIN,
        Some(&dpo),
        &[
            ("csrf", &csrf),
            ("customer", &acme),
            ("recipient", "vultr"),
            ("outcome", "withdrawn"),
            ("note", "Again."),
        ],
    )
    .await;
    assert_eq!(twice.status(), 422, "resolved once");
}

#[tokio::test]
async fn the_console_works_the_sub_processor_registry_on_sqlite() {
    let app = spawn_app_with(&new_policy()).await;
    subprocessors(&app).await;
}

#[tokio::test]
async fn the_console_works_the_sub_processor_registry_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres_with(&url, &new_policy()).await;
    subprocessors(&app).await;
}
