//! The sub-processor registry over HTTP, on SQLite and PostgreSQL: each customer's list holds
//! the optional providers it chose; a new policy version that moves an optional provider
//! outside the EEA is drafted as a change notice and sent to the customers using it only;
//! objections are taken within the window; the public page lists the registry.

mod common;

use common::{TestApp, spawn_app_on_postgres_with, spawn_app_with};
use jiff::SignedDuration;
use ombud_core::Clock;
use serde_json::json;
use std::sync::Arc;

const OLD: &str = include_str!("../../../examples/managed-erp-hosting.toml");

/// The next version: Vultr moves its processing from the United States to Singapore.
fn new_policy() -> &'static str {
    let moved = OLD.replacen(
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"US\"",
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"SG\"",
        1,
    );
    assert_ne!(moved, OLD, "the example still has Vultr in the US");
    Box::leak(moved.into_boxed_str())
}

async fn contact(app: &TestApp, tenant: &str, email: &str) {
    let created = app
        .post(
            "/api/v1/subjects",
            &app.admin_key,
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    let subject = created.body["id"].as_str().expect("id").to_owned();
    let added = app
        .post(
            &format!("/api/v1/tenants/{tenant}/contacts"),
            &app.admin_key,
            json!({ "subject": subject }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
}

/// A customer's admin chooses an optional sub-processor.
async fn choose(app: &TestApp, key: &str, recipient: &str) -> common::Reply {
    app.call(
        reqwest::Method::PUT,
        &format!("/api/v1/subprocessors/{recipient}/selection"),
        Some(key),
        None,
        None,
    )
    .await
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list["subprocessors"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The version customers agreed to, kept as it was when it was in force a month ago.
async fn keep_old_version(app: &TestApp) -> String {
    let old = ombud_policy::check(OLD).policy.expect("checks").version.0;
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    let kept = old.clone();
    tokio::task::spawn_blocking(move || {
        let operator = store
            .tenants()
            .expect("tenants")
            .into_iter()
            .find(|t| t.operator)
            .expect("operator")
            .id;
        store
            .keep_policy_version(
                operator,
                &kept,
                OLD,
                &ombud_store::Actor::Cli,
                now - SignedDuration::from_hours(24 * 30),
            )
            .expect("kept");
    })
    .await
    .expect("joined");
    old
}

async fn registry(app: &TestApp) {
    let old = keep_old_version(app).await;
    let (acme, acme_admin) = app.tenant_with_admin("Acme").await;
    let (globex, globex_admin) = app.tenant_with_admin("Globex").await;
    let (initech, _) = app.tenant_with_admin("Initech").await;
    for (tenant, email) in [
        (&acme, "it@acme.example"),
        (&globex, "it@globex.example"),
        (&initech, "it@initech.example"),
    ] {
        contact(app, tenant, email).await;
    }
    let chosen = choose(app, &acme_admin, "vultr").await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    assert!(ids(&chosen.body).contains(&"vultr".to_owned()));
    let chosen = choose(app, &globex_admin, "upcloud").await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    let acme_list = ids(&app.get("/api/v1/subprocessors", &acme_admin).await.body);
    assert!(acme_list.contains(&"vultr".to_owned()) && acme_list.contains(&"aws".to_owned()));
    assert!(
        !acme_list.contains(&"upcloud".to_owned()),
        "optional ones only for who chose them"
    );
    assert!(
        !acme_list.contains(&"klaviyo".to_owned()),
        "the operator's own marketing tool is no sub-processor"
    );
    let seen = app
        .get(
            &format!("/api/v1/subprocessors?tenant={globex}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(seen.status, 200);
    assert!(
        ids(&seen.body).contains(&"upcloud".to_owned())
            && !ids(&seen.body).contains(&"vultr".to_owned())
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/subprocessors?tenant={globex}"),
            &acme_admin
        )
        .await
        .status,
        404
    );
    for (recipient, key, field) in [
        ("aws", &acme_admin, "recipient"),
        ("nope", &acme_admin, "recipient"),
        ("vultr", &app.admin_key, "tenant"),
    ] {
        let reply = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/subprocessors/{recipient}/selection"),
                Some(key),
                None,
                None,
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{recipient}: {:?}",
            reply.body
        );
    }

    // The draft: Vultr's new transfer concerns Acme only.
    let draft = app
        .get("/api/v1/subprocessors/changes/draft", &app.admin_key)
        .await;
    assert_eq!(draft.status, 200, "{:?}", draft.body);
    assert_eq!(draft.body["from_version"], old);
    let codes: Vec<&str> = draft.body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["code"].as_str().expect("code"))
        .collect();
    assert!(codes.contains(&"new-third-country-transfer"), "{codes:?}");
    let told: Vec<&str> = draft.body["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| t["tenant"].as_str().expect("id"))
        .collect();
    assert_eq!(told, vec![acme.as_str()]);
    let text = draft.body["tenants"][0]["text"].as_str().expect("text");
    assert!(text.contains("Singapore"));
    assert!(
        text.contains("You may object until 31 March 2026 (30 days from this notice)"),
        "the notice names the last day the objection is taken: {text}"
    );
    assert_eq!(
        draft.body["objection_until"], "2026-03-31T22:00:00Z",
        "30 days from 1 March, to the end of the last day in the controller's zone (CEST)"
    );
    for (query, field) in [("?since=feedface", "since")] {
        let reply = app
            .get(
                &format!("/api/v1/subprocessors/changes/draft{query}"),
                &app.admin_key,
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{:?}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/api/v1/subprocessors/changes/draft", &acme_admin)
            .await
            .status,
        403
    );

    // Confirmed: one notice, to Acme's contact only.
    let sent = app
        .post("/api/v1/subprocessors/changes", &app.admin_key, json!({}))
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let change = sent.body["id"].as_str().expect("id").to_owned();
    assert_eq!(sent.body["told"].as_array().expect("told").len(), 1);
    let notice = sent.body["told"][0]["notice"].as_str().expect("notice");
    let ledger = app
        .get(&format!("/api/v1/notices/{notice}"), &app.admin_key)
        .await;
    assert_eq!(ledger.body["kind"], "subprocessor_change");
    assert_eq!(
        ledger.body["deliveries"].as_array().expect("lines").len(),
        1
    );
    assert_eq!(ledger.body["deliveries"][0]["address"], "i…@acme.example");
    let changes = app.get("/api/v1/notices", &app.admin_key).await;
    assert_eq!(
        changes.body["notices"].as_array().expect("notices").len(),
        1,
        "Globex and Initech were not written to"
    );
    let manual = app
        .post("/api/v1/notices", &app.admin_key, json!({ "kind": "subprocessor_change", "subject": "s", "body": "b", "audience": { "customers": true } }))
        .await;
    assert_eq!(
        (manual.status, manual.body["field"].as_str()),
        (422, Some("kind"))
    );

    // Objections: Acme's, once, within the window; not Globex's.
    let objection = json!({ "recipient": "vultr", "reason": "Our data must stay in the EEA or the US under our DPA." });
    let path = format!("/api/v1/subprocessors/changes/{change}/objections");
    let first = app.post(&path, &acme_admin, objection.clone()).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(
        app.post(&path, &acme_admin, objection.clone()).await.status,
        200
    );
    assert_eq!(
        app.post(&path, &globex_admin, objection.clone())
            .await
            .status,
        404
    );
    for (body, field) in [
        (json!({ "recipient": "aws", "reason": "x" }), "recipient"),
        (json!({ "recipient": "vultr", "reason": " " }), "reason"),
    ] {
        let reply = app.post(&path, &acme_admin, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            reply.body
        );
    }
    let detail = app
        .get(
            &format!("/api/v1/subprocessors/changes/{change}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        detail.body["objections"]
            .as_array()
            .expect("objections")
            .len(),
        1
    );
    assert_eq!(detail.body["objections"][0]["tenant"], acme);
    let theirs = app
        .get(
            &format!("/api/v1/subprocessors/changes/{change}"),
            &acme_admin,
        )
        .await;
    assert_eq!(theirs.status, 200);
    assert_eq!(
        app.get(
            &format!("/api/v1/subprocessors/changes/{change}"),
            &globex_admin
        )
        .await
        .status,
        404
    );
    // The last day the notice names is the last day an objection is taken: still on
    // 31 March at 23:59:59 in Helsinki's summer time, no more a second after midnight.
    let last_moment: jiff::Timestamp = "2026-03-31T21:59:59Z".parse().expect("a time");
    app.clock.set(last_moment);
    assert_eq!(
        app.post(&path, &acme_admin, objection.clone()).await.status,
        200,
        "taken on the last day"
    );
    app.clock.set(last_moment + SignedDuration::from_secs(2));
    let late = app
        .post(
            &path,
            &acme_admin,
            json!({ "recipient": "vultr", "reason": "Second thoughts." }),
        )
        .await;
    assert_eq!(
        (late.status, late.body["field"].as_str()),
        (422, Some("change")),
        "{:?}",
        late.body
    );

    // How the objection ended: Acme may withdraw its own but not accept it; the operator
    // accepts it, once, and the change shows it with the objection as raised.
    let resolve = format!("/api/v1/subprocessors/changes/{change}/objections/resolution");
    let accepted = json!({ "customer": acme, "recipient": "vultr", "outcome": "accepted", "note": "Acme's environments stay off Vultr; its selection excludes it." });
    for (key, body, status, field) in [
        (
            &acme_admin,
            json!({ "recipient": "vultr", "outcome": "accepted", "note": "ok" }),
            422,
            Some("outcome"),
        ),
        (
            &app.admin_key,
            json!({ "recipient": "vultr", "outcome": "accepted", "note": "ok" }),
            422,
            Some("customer"),
        ),
        (
            &app.admin_key,
            json!({ "customer": acme, "recipient": "vultr", "outcome": "ignored", "note": "ok" }),
            422,
            Some("outcome"),
        ),
        (
            &app.admin_key,
            json!({ "customer": acme, "recipient": "vultr", "outcome": "accepted", "note": " " }),
            422,
            Some("note"),
        ),
        (
            &app.admin_key,
            json!({ "customer": acme, "recipient": "aws", "outcome": "withdrawn", "note": "x" }),
            404,
            None,
        ),
        (
            &globex_admin,
            json!({ "recipient": "vultr", "outcome": "withdrawn", "note": "x" }),
            404,
            None,
        ),
    ] {
        let reply = app.post(&resolve, key, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (status, field),
            "{body}: {:?}",
            reply.body
        );
    }
    let done = app.post(&resolve, &app.admin_key, accepted.clone()).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["resolution"]["outcome"], "accepted");
    let again = app.post(&resolve, &app.admin_key, accepted).await;
    assert_eq!(
        (again.status, again.body["field"].as_str()),
        (422, Some("outcome")),
        "a resolution is kept as recorded"
    );
    let shown = app
        .get(
            &format!("/api/v1/subprocessors/changes/{change}"),
            &acme_admin,
        )
        .await;
    assert_eq!(
        shown.body["objections"][0]["resolution"]["outcome"],
        "accepted"
    );
    assert_eq!(
        shown.body["objections"][0]["reason"],
        "Our data must stay in the EEA or the US under our DPA."
    );

    // The public page.
    let page = app
        .client
        .get(format!("{}/subprocessors", app.address))
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );
    let html = page.text().await.expect("html");
    for needed in [
        "Vultr (optional)",
        "Singapore",
        "standard contractual clauses",
        "Amazon Web Services",
        "30 days",
    ] {
        assert!(html.contains(needed), "{needed} on the page");
    }
    assert!(!html.contains("Klaviyo"));
}

#[tokio::test]
async fn the_registry_on_sqlite() {
    registry(&spawn_app_with(new_policy()).await).await;
}

#[tokio::test]
async fn the_registry_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    registry(&spawn_app_on_postgres_with(&url, new_policy()).await).await;
}

/// Art. 28(2): a change announced with an effective date at least the objection window away;
/// until then the registry and the public page keep the version customers agreed to, and both
/// are visible with `as_of`.
async fn announced_ahead(app: &TestApp) {
    let old = keep_old_version(app).await;
    let (acme, acme_admin) = app.tenant_with_admin("Acme").await;
    contact(app, &acme, "it@acme.example").await;
    let chosen = choose(app, &acme_admin, "vultr").await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    // The window runs to the end of 31 March: the change may take effect on 1 April at the
    // earliest.
    for (effective, field) in [("2026-03-31", "effective"), ("next week", "effective")] {
        let reply = app
            .post(
                "/api/v1/subprocessors/changes",
                &app.admin_key,
                json!({ "effective": effective }),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some(field)),
            "{effective}: {:?}",
            reply.body
        );
    }
    assert!(
        app.get("/api/v1/notices", &app.admin_key).await.body["notices"]
            .as_array()
            .expect("notices")
            .is_empty(),
        "nothing was sent"
    );
    let sent = app
        .post(
            "/api/v1/subprocessors/changes",
            &app.admin_key,
            json!({ "effective": "2026-04-15" }),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(
        sent.body["effective_at"], "2026-04-14T22:00:00Z",
        "midnight starting 15 April in Brussels (CEST)"
    );
    let notice = sent.body["told"][0]["notice"].as_str().expect("notice");
    let text = app
        .get(&format!("/api/v1/notices/{notice}"), &app.admin_key)
        .await;
    assert!(
        text.body["body"]
            .as_str()
            .expect("body")
            .contains("The changes take effect on 15 April 2026"),
        "{:?}",
        text.body
    );

    let vultr_country = |list: &serde_json::Value| {
        list["subprocessors"]
            .as_array()
            .expect("list")
            .iter()
            .find(|e| e["id"] == "vultr")
            .map(|e| e["country"].as_str().expect("country").to_owned())
    };
    let today = app.get("/api/v1/subprocessors", &acme_admin).await;
    assert_eq!(today.status, 200, "{:?}", today.body);
    assert_eq!(
        vultr_country(&today.body).as_deref(),
        Some("US"),
        "the old version holds"
    );
    assert_eq!(today.body["policy_version"], old);
    assert_eq!(
        today.body["next_change"]["effective_at"],
        "2026-04-14T22:00:00Z"
    );
    let then = app
        .get(
            "/api/v1/subprocessors?as_of=2026-04-14T22:00:00Z",
            &acme_admin,
        )
        .await;
    assert_eq!(vultr_country(&then.body).as_deref(), Some("SG"));
    assert!(then.body["next_change"].is_null());
    let bad = app
        .get("/api/v1/subprocessors?as_of=tomorrow", &acme_admin)
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (422, Some("as_of"))
    );
    let page = app
        .client
        .get(format!("{}/subprocessors", app.address))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Announced changes") && page.contains("15 April 2026"),
        "{page}"
    );

    // On the day, the new version is in force.
    app.clock.set("2026-04-15T06:00:00Z".parse().expect("time"));
    let after = app.get("/api/v1/subprocessors", &acme_admin).await;
    assert_eq!(vultr_country(&after.body).as_deref(), Some("SG"));
}

#[tokio::test]
async fn a_change_announced_ahead_applies_from_its_effective_date_on_sqlite() {
    announced_ahead(&spawn_app_with(new_policy()).await).await;
}

#[tokio::test]
async fn a_change_announced_ahead_applies_from_its_effective_date_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    announced_ahead(&spawn_app_on_postgres_with(&url, new_policy()).await).await;
}

/// The next version adds Hetzner for every customer environment and Scaleway for customers
/// that choose it.
fn with_hetzner() -> &'static str {
    let added = OLD
        .replacen(
            "recipients = [\"aws\", \"google-cloud\", \"ovhcloud\", \"cloudflare\", \"upcloud\", \"vultr\"]",
            "recipients = [\"aws\", \"google-cloud\", \"ovhcloud\", \"cloudflare\", \"upcloud\", \"vultr\", \"hetzner\", \"scaleway\"]",
            1,
        )
        .replacen(
            "[[recipient]]\nid = \"vultr\"",
            "[[recipient]]\nid = \"hetzner\"\nname = \"Hetzner Online\"\nrole = \"processor\"\npurpose = \"Backups of customer environments\"\ncountry = \"DE\"\n\n[[recipient]]\nid = \"scaleway\"\nname = \"Scaleway\"\nrole = \"processor\"\npurpose = \"Cloud infrastructure for customer environments\"\ncountry = \"FR\"\nchosen_by_customer = true\n\n[[recipient]]\nid = \"vultr\"",
            1,
        );
    assert_eq!(added.matches("hetzner").count(), 2, "the example changed");
    Box::leak(added.into_boxed_str())
}

/// A customer's person erased; the sub-processors the answer says were told (Art. 19).
async fn erased_and_told(app: &TestApp, key: &str, email: &str) -> Vec<String> {
    let person = app
        .person_with_contract(
            key,
            email,
            json!([{ "category": "user.contact.email", "value": email, "source": "customer" }]),
        )
        .await;
    let filed = app
        .post(
            "/api/v1/requests",
            key,
            json!({ "kind": "erasure", "subject": person, "email": email }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id");
    let code = app.code_from_outbox().await;
    let verified = app
        .post(
            &format!("/api/v1/requests/{id}/verify"),
            key,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let done = app
        .post(&format!("/api/v1/requests/{id}/fulfil"), key, json!({}))
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    done.body["recipients_notified"]
        .as_array()
        .expect("listed")
        .iter()
        .map(|r| r["recipient"].as_str().expect("id").to_owned())
        .collect()
}

/// The processor entries of the record of processing: the sub-processors they list.
async fn recorded_subprocessors(app: &TestApp) -> Vec<String> {
    let ropa = app.get("/api/v1/ropa", &app.admin_key).await;
    assert_eq!(ropa.status, 200, "{:?}", ropa.body);
    ropa.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["article"] == "30(2)")
        .expect("a processor entry")["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Art. 28(2): a sub-processor an announced change adds receives nothing before the change
/// takes effect. Customers cannot choose it, the record of processing does not list it, and an
/// erasure is not owed to it; an optional one is owed only by the customers that chose it.
async fn announced_addition_waits(app: &TestApp) {
    keep_old_version(app).await;
    let (acme, acme_admin) = app.tenant_with_admin("Acme").await;
    contact(app, &acme, "it@acme.example").await;
    assert_eq!(choose(app, &acme_admin, "vultr").await.status, 200);
    let sent = app
        .post(
            "/api/v1/subprocessors/changes",
            &app.admin_key,
            json!({ "effective": "2026-04-15" }),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);

    let early = choose(app, &acme_admin, "scaleway").await;
    assert_eq!(
        (early.status, early.body["field"].as_str()),
        (422, Some("recipient")),
        "{:?}",
        early.body
    );
    assert!(
        early.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("15 April 2026")),
        "{:?}",
        early.body
    );
    let recorded = recorded_subprocessors(app).await;
    assert!(
        !recorded.contains(&"hetzner".to_owned())
            && !recorded.contains(&"scaleway".to_owned())
            && recorded.contains(&"vultr".to_owned()),
        "{recorded:?}"
    );
    let told = erased_and_told(app, &acme_admin, "anna@acme.example").await;
    assert_eq!(
        told,
        ["aws", "google-cloud", "ovhcloud", "cloudflare", "vultr"],
        "UpCloud was not chosen, Hetzner and Scaleway are not in force yet"
    );

    app.clock.set("2026-04-15T06:00:00Z".parse().expect("time"));
    assert!(
        recorded_subprocessors(app)
            .await
            .contains(&"hetzner".to_owned())
    );
    let chosen = choose(app, &acme_admin, "scaleway").await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    let told = erased_and_told(app, &acme_admin, "bert@acme.example").await;
    assert_eq!(
        told,
        [
            "aws",
            "google-cloud",
            "ovhcloud",
            "cloudflare",
            "hetzner",
            "scaleway",
            "vultr"
        ],
        "in the order the policy lists them"
    );
}

#[tokio::test]
async fn an_announced_sub_processor_receives_nothing_before_its_date_on_sqlite() {
    announced_addition_waits(&spawn_app_with(with_hetzner()).await).await;
}

#[tokio::test]
async fn an_announced_sub_processor_receives_nothing_before_its_date_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    announced_addition_waits(&spawn_app_on_postgres_with(&url, with_hetzner()).await).await;
}
