//! Signed receipts over HTTP: a fulfilled request's receipt verifies against the keys the
//! server publishes, the person's answer mail carries the same one, a changed byte or a
//! retired key fails, and a receipt kept earlier proves the audit chain unchanged since — on
//! SQLite and PostgreSQL.

mod common;

use common::{POLICY, TestApp, spawn_app, spawn_app_on_postgres};
use ombud_app::receipts::{self, Jwks, VerifyError};
use serde_json::{Value, json};
use std::sync::Arc;

async fn keys(app: &TestApp) -> Jwks {
    let response = app
        .client
        .get(format!(
            "{}/.well-known/ombud-receipt-keys.json",
            app.address
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/jwk-set+json")
    );
    response.json().await.expect("a JWKS")
}

/// A person of the operator's own customers with a name, an address and billing data; an
/// erasure for them, vouched for by the operator's application; its id.
async fn erasure(app: &TestApp, email: &str) -> String {
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            email,
            json!([
                { "category": "user.name", "value": "Aino Virtanen", "source": "subject" },
                { "category": "user.contact.email", "value": email, "source": "subject" },
                { "category": "user.financial", "value": "INV-2026-001 1200.00 EUR", "source": "subject", "purposes": ["invoicing", "accounting"] },
            ]),
        )
        .await;
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": "erasure", "subject": subject, "verified": true, "email": email }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    filed.body["id"].as_str().expect("id").to_owned()
}

async fn receipts_of_requests(app: &TestApp) {
    let id = erasure(app, "aino@example.fi").await;
    let early = app
        .get(&format!("/api/v1/requests/{id}/receipt"), &app.admin_key)
        .await;
    assert_eq!(early.status, 404, "no receipt before fulfilment");
    assert!(
        early.body.to_string().contains("fulfilled"),
        "{:?}",
        early.body
    );

    let done = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert!(
        done.body["outcome"].get("receipt").is_none(),
        "the request itself stays small: {:?}",
        done.body["outcome"]
    );

    let published = keys(app).await;
    assert_eq!(published.keys.len(), 1);
    assert_eq!(published.keys[0].kty, "OKP");
    assert_eq!(published.keys[0].crv, "Ed25519");

    let got = app
        .get(&format!("/api/v1/requests/{id}/receipt"), &app.admin_key)
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    let jws = got.body["receipt"].as_str().expect("jws").to_owned();
    assert_eq!(got.body["kid"], published.keys[0].kid.as_str());
    let payload = receipts::verify(&jws, &published).expect("verifies");
    assert_eq!(payload.of, receipts::Of::Request);
    assert_eq!(payload.issuer, "Laskuri Pilvi Oy");
    let version = ombud_policy::check(POLICY)
        .policy
        .expect("policy")
        .version
        .0;
    assert_eq!(payload.policy_version, version);
    let operator = app.operator().await;
    assert_eq!(payload.tenant, operator.0);
    assert!(payload.audit_head.seq > 0);
    let request = payload.request.expect("the request");
    assert_eq!(request.id.to_string(), id);
    assert_eq!(request.kind, "erasure");
    // The address went; the name and the billing data are kept by the accounting law.
    assert_eq!(
        request.categories.into_iter().collect::<Vec<_>>(),
        [("user.contact.email".to_owned(), 1)]
    );
    let kept: Vec<(&str, Option<&str>)> = request
        .kept
        .iter()
        .map(|k| (k.category.as_str(), k.law.as_deref()))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .all(|(_, law)| law.is_some_and(|l| l.contains("1336/1997"))),
        "{kept:?}"
    );
    assert_eq!(got.body["payload"], payload_again(&jws, &published));
    // Ids, counts, categories and laws; nothing of the person.
    for value in ["aino@example.fi", "Aino Virtanen", "INV-2026-001"] {
        assert!(
            !got.body.to_string().contains(value),
            "{value} in the receipt"
        );
    }

    // The answer mail carries the same receipt, between its lines.
    let mails = app.drain_outbox().await;
    let (_, _, body) = mails
        .iter()
        .find(|(_, template, _)| template == "request_fulfilled")
        .expect("the answer");
    assert!(body.contains(receipts::BEGIN), "{body}");
    assert!(
        body.contains("/.well-known/ombud-receipt-keys.json"),
        "{body}"
    );
    assert_eq!(
        receipts::verify_text(body, &published).expect("the mailed receipt verifies"),
        receipts::verify(&jws, &published).expect("verifies")
    );

    // Checked later: the chain still holds what the receipt saw.
    let checked = app
        .post(
            "/api/v1/receipts/check",
            &app.admin_key,
            json!({ "receipt": body }),
        )
        .await;
    assert_eq!(checked.status, 200, "{:?}", checked.body);
    assert_eq!(
        checked.body["chain"]["result"], "holds",
        "{:?}",
        checked.body
    );
    assert!(
        checked.body["chain"]["entries_since"]
            .as_i64()
            .expect("count")
            >= 1
    );

    // One changed character of the signed part fails.
    let (header, rest) = jws.split_once('.').expect("parts");
    let mut changed: Vec<char> = rest.chars().collect();
    changed[20] = if changed[20] == 'A' { 'B' } else { 'A' };
    let changed = format!("{header}.{}", changed.into_iter().collect::<String>());
    assert_eq!(
        receipts::verify(&changed, &published),
        Err(VerifyError::Signature)
    );
    let refused = app
        .post(
            "/api/v1/receipts/check",
            &app.admin_key,
            json!({ "receipt": changed }),
        )
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.body["field"], "receipt");
    let garbage = app
        .post(
            "/api/v1/receipts/check",
            &app.admin_key,
            json!({ "receipt": "not a receipt" }),
        )
        .await;
    assert_eq!(garbage.status, 422, "{:?}", garbage.body);

    // Another tenant sees neither the request's receipt nor a check of it.
    let (_, other) = app.tenant_with_admin("Another customer").await;
    let hidden = app
        .get(&format!("/api/v1/requests/{id}/receipt"), &other)
        .await;
    assert_eq!(hidden.status, 404);
    let elsewhere = app
        .post("/api/v1/receipts/check", &other, json!({ "receipt": jws }))
        .await;
    assert_eq!(elsewhere.status, 404, "{:?}", elsewhere.body);
    // An agent handles requests but does not audit.
    let agent = app.key(&app.admin_key, "agent").await;
    assert_eq!(
        app.get(&format!("/api/v1/requests/{id}/receipt"), &agent)
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/api/v1/receipts/check", &agent, json!({ "receipt": jws }))
            .await
            .status,
        403
    );

    // Retired, the key is no longer published and what it signed no longer verifies; the
    // next receipt is signed with a new key.
    let kid = published.keys[0].kid.clone();
    let store = Arc::clone(&app.store);
    let now = ombud_core::Clock::now(app.clock.as_ref());
    let retired_kid = kid.clone();
    tokio::task::spawn_blocking(move || store.retire_receipt_key(&retired_kid, now))
        .await
        .expect("joined")
        .expect("retired");
    let after = keys(app).await;
    assert!(after.keys.is_empty(), "{after:?}");
    let stale = app
        .post(
            "/api/v1/receipts/check",
            &app.admin_key,
            json!({ "receipt": jws }),
        )
        .await;
    assert_eq!(stale.status, 422, "{:?}", stale.body);
    assert!(
        stale.body["detail"]
            .as_str()
            .expect("detail")
            .contains(&kid),
        "{:?}",
        stale.body
    );
    let next = erasure(app, "ville@example.fi").await;
    let done = app
        .post(
            &format!("/api/v1/requests/{next}/fulfil"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let renewed = keys(app).await;
    assert_eq!(renewed.keys.len(), 1);
    assert_ne!(renewed.keys[0].kid, kid);
    let second = app
        .get(&format!("/api/v1/requests/{next}/receipt"), &app.admin_key)
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["kid"], renewed.keys[0].kid.as_str());
}

fn payload_again(jws: &str, keys: &Jwks) -> Value {
    serde_json::to_value(receipts::verify(jws, keys).expect("verifies")).expect("json")
}

#[tokio::test]
async fn a_fulfilled_request_has_a_receipt_that_verifies_against_the_published_keys_on_sqlite() {
    let app = spawn_app().await;
    receipts_of_requests(&app).await;
}

#[tokio::test]
async fn a_fulfilled_request_has_a_receipt_that_verifies_against_the_published_keys_on_postgresql()
{
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    receipts_of_requests(&app).await;
    std::mem::forget(Arc::clone(&app.store));
}

#[tokio::test]
async fn sweep_and_chain_head_receipts_are_listed_for_the_tenant_and_checked_against_the_chain() {
    let app = spawn_app().await;
    let (store, secrets) = (Arc::clone(&app.store), Arc::clone(&app.secrets));
    let now = ombud_core::Clock::now(app.clock.as_ref());
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    let issued = tokio::task::spawn_blocking(move || {
        let zone = jiff::tz::TimeZone::get("Europe/Helsinki").expect("zone");
        let heads = receipts::issue_chain_heads(store.as_ref(), &secrets, &policy, &zone, now)?;
        let again = receipts::issue_chain_heads(store.as_ref(), &secrets, &policy, &zone, now)?;
        Ok::<_, ombud_store::StoreError>((heads, again))
    })
    .await
    .expect("joined")
    .expect("issued");
    assert_eq!(issued, (1, 0), "one head a day per tenant");
    let listed = app
        .get("/api/v1/receipts?kind=audit_head", &app.admin_key)
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let receipts = listed.body["receipts"].as_array().expect("receipts");
    assert_eq!(receipts.len(), 1);
    // 10:00 UTC on 1 March is noon in Helsinki: the day sealed is 28 February.
    assert_eq!(receipts[0]["about"], "2026-02-28");
    assert_eq!(receipts[0]["payload"]["day"], "2026-02-28");
    assert_eq!(receipts[0]["payload"]["of"], "audit_head");
    let head = receipts[0]["receipt"].as_str().expect("jws").to_owned();
    assert!(receipts::verify(&head, &keys(&app).await).is_ok());
    // More entries since change nothing the head saw.
    app.key(&app.admin_key, "auditor").await;
    let checked = app
        .post(
            "/api/v1/receipts/check",
            &app.admin_key,
            json!({ "receipt": head }),
        )
        .await;
    assert_eq!(checked.status, 200, "{:?}", checked.body);
    assert_eq!(checked.body["chain"]["result"], "holds");
    assert!(
        checked.body["chain"]["entries_since"]
            .as_i64()
            .expect("count")
            >= 1
    );

    for (query, field) in [
        ("kind=everything", "kind"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=x", "cursor"),
    ] {
        let refused = app
            .get(&format!("/api/v1/receipts?{query}"), &app.admin_key)
            .await;
        assert_eq!(refused.status, 422, "{query}: {:?}", refused.body);
        assert_eq!(refused.body["field"], field, "{query}");
    }
    let (_, other) = app.tenant_with_admin("Another customer").await;
    let theirs = app.get("/api/v1/receipts", &other).await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.body["receipts"], json!([]), "each tenant its own");
}

#[tokio::test]
async fn an_access_receipt_counts_the_records_exported_per_category() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            "liisa@example.fi",
            json!([
                { "category": "user.name", "value": "Liisa Korhonen", "source": "subject" },
                { "category": "user.contact.email", "value": "liisa@example.fi", "source": "subject" },
                { "category": "user.financial", "value": "INV-1", "source": "subject", "purposes": ["invoicing"] },
                { "category": "user.financial", "value": "INV-2", "source": "subject", "purposes": ["invoicing"] },
            ]),
        )
        .await;
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": "access", "subject": subject, "verified": true, "email": "liisa@example.fi" }),
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
    let got = app
        .get(&format!("/api/v1/requests/{id}/receipt"), &app.admin_key)
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    let request = &got.body["payload"]["request"];
    assert_eq!(request["kind"], "access");
    assert_eq!(request["records"], 4);
    assert_eq!(
        request["categories"],
        json!({ "user.contact.email": 1, "user.financial": 2, "user.name": 1 })
    );
    // The download link is the person's alone: it is not in the receipt.
    assert!(!got.body.to_string().contains("/privacy/exports/"));
}
