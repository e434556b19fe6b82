//! The console's people pages over HTTP: a person found by any identity as the API normalises
//! it, in the tenants the user sees; their page with identities masked and values hidden until
//! revealed for a purpose of the policy — a read audited for that purpose under the user, with
//! no value in the entry — and opening the page audited as a read of who they are; on SQLite
//! and PostgreSQL.

mod common;

use common::console::{ORIGIN, audited, csrf_in, get, page_of, post, ready};
use common::{TestApp, spawn_app};
use ombud_store::model::{Role, TenantId};
use serde_json::json;

async fn people(app: &TestApp) {
    let operator = app.operator().await;
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            "aino.virtanen@example.fi",
            json!([
                { "category": "user.name", "value": "Aino Virtanen", "source": "subject" },
                { "category": "user.financial", "value": "INV-2026-001 1200.00 EUR", "source": "subject", "purposes": ["invoicing"] },
            ]),
        )
        .await;
    let (customer, customer_admin) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let customer_id: TenantId = customer.parse().expect("a tenant id");
    let theirs = app
        .post(
            "/api/v1/subjects",
            &customer_admin,
            json!({ "identities": [{ "kind": "email", "value": "aino.virtanen@example.fi" }] }),
        )
        .await;
    assert_eq!(theirs.status, 201);
    let theirs = theirs.body["id"].as_str().expect("id").to_owned();

    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let their_dpo = ready(app, customer_id, "dpo@esimerkki.fi", Role::Dpo).await;
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;

    // Found by the address as the person might type it; in both tenants for operator staff.
    let (status, found) = page_of(
        app,
        "/console/people?kind=email&value=%20Aino.Virtanen%40EXAMPLE.fi%20",
        &dpo,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found.contains(&format!("/console/people/{operator}/{subject}")),
        "{found}"
    );
    assert!(found.contains(&format!("/console/people/{customer}/{theirs}")));
    // A customer's people find only their own.
    let (_, their_found) = page_of(
        app,
        "/console/people?kind=email&value=aino.virtanen%40example.fi",
        &their_dpo,
    )
    .await;
    assert!(their_found.contains(&theirs));
    assert!(!their_found.contains(&subject));
    let (status, bad) = page_of(app, "/console/people?kind=email&value=not-an-address", &dpo).await;
    assert_eq!(status, 422);
    assert!(bad.contains("not a valid email"), "{bad}");
    let (status, _) = page_of(app, "/console/people?kind=shoe_size&value=42", &dpo).await;
    assert_eq!(status, 422);
    let (status, none) = page_of(
        app,
        "/console/people?kind=email&value=nobody%40example.fi",
        &dpo,
    )
    .await;
    assert_eq!(status, 200);
    assert!(none.contains("Nobody with that identity"));
    assert_eq!(
        get(app, "/console/people", Some(&auditor)).await.status(),
        403
    );

    // The page: identities masked, values hidden, the look audited.
    let path = format!("/console/people/{operator}/{subject}");
    let (status, person) = page_of(app, &path, &dpo).await;
    assert_eq!(status, 200, "{person}");
    assert!(!person.contains("Aino Virtanen") && !person.contains("INV-2026-001"));
    assert!(
        !person.contains("aino.virtanen@example.fi"),
        "the address is masked"
    );
    assert!(person.contains("user.financial") && person.contains("contract start"));
    let looks = audited(app, operator, "subject.read").await;
    assert!(
        looks.iter().any(|e| e.actor.starts_with("user:")),
        "{looks:?}"
    );
    assert_eq!(
        get(app, &path, Some(&their_dpo)).await.status(),
        404,
        "a customer's people do not reach the operator's"
    );

    // Revealed for a purpose: what it may read, audited for it under the user.
    let csrf = csrf_in(&person);
    let looked = audited(app, operator, "subject.read").await.len();
    let forged = post(
        app,
        &format!("{path}/reveal"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", "x"), ("purpose", "invoicing")],
    )
    .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        audited(app, operator, "subject.read").await.len(),
        looked,
        "a refused form opens nobody"
    );
    let elsewhere = post(
        app,
        &format!("{path}/reveal"),
        "https://evil.example",
        Some(&dpo),
        &[("csrf", &csrf), ("purpose", "invoicing")],
    )
    .await;
    assert_eq!(elsewhere.status(), 403);
    let unknown = post(
        app,
        &format!("{path}/reveal"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("purpose", "curiosity")],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    assert!(audited(app, operator, "records.read").await.is_empty());
    let shown = post(
        app,
        &format!("{path}/reveal"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("purpose", "invoicing")],
    )
    .await;
    assert_eq!(shown.status(), 200);
    let shown = shown.text().await.expect("page");
    assert!(shown.contains("INV-2026-001 1200.00 EUR"), "{shown}");
    let reads = audited(app, operator, "records.read").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].purpose.as_deref(), Some("invoicing"));
    assert!(reads[0].actor.starts_with("user:"));
    assert!(reads[0].categories.contains(&"user.financial".to_owned()));
    assert!(
        !format!("{reads:?}").contains("INV-2026"),
        "no value in the entry"
    );
}

#[tokio::test]
async fn the_console_finds_people_and_reveals_values_only_for_a_purpose_on_sqlite() {
    let app = spawn_app().await;
    people(&app).await;
}

#[tokio::test]
async fn the_console_finds_people_and_reveals_values_only_for_a_purpose_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    people(&app).await;
}
