//! A request's step is never lost half-way: the erasure and the request's closing are one
//! transaction, a request left open over a person an earlier crash already erased is closed on
//! the erasure's tombstone, and a step carried out again records nothing twice. On SQLite and
//! PostgreSQL.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres};
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::model::SubjectId;
use ombud_store::requests::RequestId;
use serde_json::{Value, json};
use std::sync::Arc;

fn uuid(value: &Value) -> uuid::Uuid {
    value.as_str().expect("id").parse().expect("uuid")
}

/// A customer of the operator with a contract and two records, and a verified request of
/// `kind` about them, vouched for by the operator's application.
async fn verified(app: &TestApp, email: &str, kind: &str) -> (Value, Value) {
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            email,
            json!([
                { "category": "user.name", "value": "Aino Virtanen", "source": "subject" },
                { "category": "user.contact.email", "value": email, "source": "subject" },
            ]),
        )
        .await;
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": kind, "subject": subject, "verified": true, "email": email }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    assert_eq!(filed.body["status"], "verified", "{:?}", filed.body);
    (json!(subject), filed.body)
}

/// A store written by a version that committed the erasure and the request's closing apart,
/// and crashed between them: the person is gone, the request still open. Fulfilling it again
/// closes it on the erasure that was done instead of answering 404.
async fn erased_but_left_open(app: &TestApp) {
    let (subject, request) = verified(app, "aino@example.fi", "erasure").await;
    let tenant = app.operator().await;
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    let (person, id) = (SubjectId(uuid(&subject)), RequestId(uuid(&request["id"])));
    tokio::task::spawn_blocking(move || {
        store
            .erase_subject(tenant, person, &[], Some(id), &Actor::Cli, now)
            .expect("erased")
    })
    .await
    .expect("joined");
    app.drain_outbox().await;

    let path = format!(
        "/api/v1/requests/{}/fulfil",
        request["id"].as_str().expect("id")
    );
    let done = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["status"], "fulfilled");
    assert!(
        done.body["outcome"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("were deleted on")),
        "{:?}",
        done.body
    );
    let mails = app.drain_outbox().await;
    assert!(
        mails
            .iter()
            .any(|(to, template, _)| to == "aino@example.fi" && template == "request_fulfilled"),
        "the person is answered: {mails:?}"
    );
    let again = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
}

/// The erasure and the request's closing commit together: when the closing cannot be written
/// (the request changed meanwhile), nothing of the erasure is kept either.
async fn erasure_and_closing_are_one(app: &TestApp) {
    let (subject, request) = verified(app, "eino@example.fi", "erasure").await;
    let tenant = app.operator().await;
    let (store, now) = (Arc::clone(&app.store), app.clock.now());
    let (person, id) = (SubjectId(uuid(&subject)), RequestId(uuid(&request["id"])));
    let refused = tokio::task::spawn_blocking(move || {
        let mut stale = store.request(tenant, id).expect("read").expect("request");
        stale.version -= 1;
        let close = move |_: &ombud_store::requests::Erasure| ombud_store::requests::RequestStep {
            entry: ombud_store::audit::NewAuditEntry::request_step(&Actor::Cli, &stale, "fulfil"),
            request: stale.clone(),
            mails: vec![],
        };
        let refused = store.erase_for_request(tenant, person, &[], id, &close, &Actor::Cli, now);
        let records = store.records(tenant, person).expect("records").len();
        (refused.is_err(), records)
    })
    .await
    .expect("joined");
    assert_eq!(refused, (true, 2), "refused, and both records still there");
    let shown = app
        .get(
            &format!("/api/v1/subjects/{}", subject.as_str().expect("id")),
            &app.admin_key,
        )
        .await;
    assert_eq!(
        shown.status, 200,
        "the person is still there: {:?}",
        shown.body
    );
    let path = format!(
        "/api/v1/requests/{}/fulfil",
        request["id"].as_str().expect("id")
    );
    let done = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(
        (
            done.body["outcome"]["records"].as_u64(),
            done.body["outcome"]["kept"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "the email goes, the name stays for the accounting law: {:?}",
        done.body["outcome"]
    );
}

/// A restriction whose event was recorded but whose request was not closed: fulfilling it
/// again records the restriction once, at the first moment.
async fn a_step_repeated_records_once(app: &TestApp) {
    let (subject, request) = verified(app, "ilona@example.fi", "restriction").await;
    let tenant = app.operator().await;
    let id = RequestId(uuid(&request["id"]));
    let path = format!(
        "/api/v1/requests/{}/fulfil",
        request["id"].as_str().expect("id")
    );
    let first = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    // The crash: the event stays, the request's closing is undone.
    let store = Arc::clone(&app.store);
    tokio::task::spawn_blocking(move || {
        let mut open = store.request(tenant, id).expect("read").expect("request");
        open.status = ombud_core::requests::RequestStatus::Verified;
        open.closed_at = None;
        open.outcome = None;
        store
            .update_request(
                tenant,
                &open,
                ombud_store::audit::NewAuditEntry::request_step(&Actor::Cli, &open, "reopen"),
                &[],
                open.verified_at.expect("verified"),
            )
            .expect("reopened");
    })
    .await
    .expect("joined");
    app.clock.advance(jiff::SignedDuration::from_mins(10));
    let again = app.post(&path, &app.admin_key, json!({})).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let events = app
        .get(
            &format!("/api/v1/subjects/{}/events", subject.as_str().expect("id")),
            &app.admin_key,
        )
        .await;
    let restrictions: Vec<&Value> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "restriction")
        .collect();
    assert_eq!(restrictions.len(), 1, "{:?}", events.body);
}

async fn all(app: &TestApp) {
    erased_but_left_open(app).await;
    erasure_and_closing_are_one(app).await;
    a_step_repeated_records_once(app).await;
}

#[tokio::test]
async fn request_steps_resume_after_a_crash_on_sqlite() {
    all(&spawn_app().await).await;
}

#[tokio::test]
async fn request_steps_resume_after_a_crash_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    all(&spawn_app_on_postgres(&url).await).await;
}
