//! `/check` keeps what decisions read in memory; no change can leave it answering from before
//! the change. A consent withdrawn through one server, or written by another process on the
//! same data, is the next answer of every server; so is a person who appears, or is erased.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres, spawn_replica};
use serde_json::json;

const CHECK: &str = "/api/v1/check?identity=email:ana@example.fi&purpose=consent-marketing";

async fn allowed(app: &TestApp) -> (bool, bool) {
    let answer = app.get(CHECK, &app.admin_key).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    (
        answer.body["subject_known"].as_bool().expect("known"),
        answer.body["allowed"].as_bool().expect("allowed"),
    )
}

async fn consent(app: &TestApp, subject: &str, kind: &str) {
    let written = app
        .post(
            &format!("/api/v1/subjects/{subject}/events"),
            &app.admin_key,
            json!({ "kind": kind, "purpose": "consent-marketing" }),
        )
        .await;
    assert_eq!(written.status, 201, "{:?}", written.body);
}

/// `one` and `other` serve the same data, each with its own cache.
async fn no_answer_outlives_a_change(one: &TestApp, other: &TestApp) {
    // Asked before the person exists, on both: the unknown is kept too.
    assert_eq!(allowed(one).await, (false, false));
    assert_eq!(allowed(other).await, (false, false));
    let created = one
        .post(
            "/api/v1/subjects",
            &one.admin_key,
            json!({ "identities": [{ "kind": "email", "value": "ana@example.fi" }] }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ana = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        allowed(other).await,
        (true, false),
        "the new person, elsewhere"
    );
    consent(one, &ana, "consent_given").await;
    for _ in 0..3 {
        assert_eq!(allowed(one).await, (true, true));
        assert_eq!(allowed(other).await, (true, true));
    }
    // Withdrawn through the other server: the first, whose cache holds the consent, denies.
    consent(other, &ana, "consent_withdrawn").await;
    assert_eq!(
        allowed(one).await,
        (true, false),
        "the withdrawal, on the server that cached the consent"
    );
    assert_eq!(allowed(other).await, (true, false));
    consent(one, &ana, "consent_given").await;
    assert_eq!(allowed(other).await, (true, true));
    // Written past the API, as an import beside the server would.
    let (store, tenant) = (other.store.clone(), other.operator().await);
    let subject = ombud_store::model::SubjectId(ana.parse().expect("uuid"));
    tokio::task::spawn_blocking(move || {
        store.add_event(
            tenant,
            subject,
            &ombud_store::model::NewEvent {
                id: None,
                kind: ombud_core::EventKind::ConsentWithdrawn,
                purpose: Some("consent-marketing".into()),
                occurred_at: "2026-03-01T10:00:00Z".parse().expect("time"),
                channel: Some("import".into()),
                policy_version: None,
            },
            &ombud_store::Actor::Cli,
            "2026-03-01T10:00:01Z".parse().expect("time"),
        )
    })
    .await
    .expect("joined")
    .expect("written");
    assert_eq!(
        allowed(one).await,
        (true, false),
        "a withdrawal written by the store directly"
    );
    // Erased: nobody has the identity any more, on either.
    let (store, tenant) = (one.store.clone(), one.operator().await);
    tokio::task::spawn_blocking(move || {
        store.erase_subject(
            tenant,
            subject,
            &[],
            None,
            &ombud_store::Actor::Cli,
            "2026-03-01T09:30:00Z".parse().expect("time"),
        )
    })
    .await
    .expect("joined")
    .expect("erased");
    assert_eq!(allowed(one).await, (false, false));
    assert_eq!(allowed(other).await, (false, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_decision_never_outlives_a_change_on_sqlite() {
    let one = spawn_app().await;
    let other = spawn_replica(&one).await;
    no_answer_outlives_a_change(&one, &other).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_decision_never_outlives_a_change_across_replicas_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let one = spawn_app_on_postgres(&url).await;
    let other = spawn_replica(&one).await;
    no_answer_outlives_a_change(&one, &other).await;
}
