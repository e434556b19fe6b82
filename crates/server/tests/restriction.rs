//! Lifting a restriction (Art. 18(3)): the person is told through the notice ledger before it
//! ends, the restriction holds until the time given, and every refusal names its field and
//! stores nothing.

mod common;

use common::{TestApp, spawn_app, spawn_app_on_postgres};
use jiff::SignedDuration;
use ombud_core::Clock;
use serde_json::{Value, json};

/// A customer with an email, a contract and the records support reads; its service key.
async fn person(app: &TestApp, email: &str) -> (String, String) {
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            email,
            json!([
                { "category": "user.name", "value": "Liisa Laine", "source": "subject" },
                { "category": "user.contact.email", "value": email, "source": "subject" },
            ]),
        )
        .await;
    let restricted = app
        .post(
            &format!("/api/v1/subjects/{subject}/events"),
            &service,
            json!({ "kind": "restriction" }),
        )
        .await;
    assert_eq!(restricted.status, 201, "{:?}", restricted.body);
    (subject, service)
}

async fn may_read_for_support(app: &TestApp, service: &str, email: &str) -> bool {
    let check = app
        .get(
            &format!("/api/v1/check?identity=email:{email}&purpose=support"),
            service,
        )
        .await;
    assert_eq!(check.status, 200, "{:?}", check.body);
    check.body["allowed"].as_bool().expect("allowed")
}

async fn counts(app: &TestApp, subject: &str) -> (usize, usize) {
    let events = app
        .get(
            &format!("/api/v1/subjects/{subject}/events"),
            &app.admin_key,
        )
        .await;
    let notices = app
        .get(
            &format!("/api/v1/subjects/{subject}/notices"),
            &app.admin_key,
        )
        .await;
    let len = |value: &Value, key: &str| value[key].as_array().map_or(0, Vec::len);
    (len(&events.body, "events"), len(&notices.body, "notices"))
}

async fn the_person_is_told_before_the_restriction_ends(app: &TestApp) {
    let email = "liisa@example.fi";
    let (subject, service) = person(app, email).await;
    assert!(
        !may_read_for_support(app, &service, email).await,
        "restricted"
    );
    let path = format!("/api/v1/subjects/{subject}/restriction/lift");
    let now = app.clock.now();
    let tomorrow = now + SignedDuration::from_hours(24);
    let before = counts(app, &subject).await;

    // Refusals: each names its field, and nothing is stored or sent.
    let generic = app
        .post(
            &format!("/api/v1/subjects/{subject}/events"),
            &service,
            json!({ "kind": "restriction_lifted" }),
        )
        .await;
    assert_eq!(
        (generic.status, generic.body["field"].as_str()),
        (422, Some("kind")),
        "{:?}",
        generic.body
    );
    for (body, field) in [
        (
            json!({ "effective_at": (now - SignedDuration::from_hours(1)).to_string(), "reason": "checked" }),
            "effective_at",
        ),
        (
            json!({ "effective_at": now.to_string(), "reason": "checked" }),
            "effective_at",
        ),
        (
            json!({ "effective_at": tomorrow.to_string(), "reason": "  " }),
            "reason",
        ),
    ] {
        let refused = app.post(&path, &app.admin_key, body.clone()).await;
        assert_eq!(
            (refused.status, refused.body["field"].as_str()),
            (422, Some(field)),
            "{body}: {:?}",
            refused.body
        );
    }
    let unknown = app
        .post(
            &path,
            &app.admin_key,
            json!({ "effective_at": tomorrow.to_string(), "reason": "checked", "notify": false }),
        )
        .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
    assert!(
        unknown.body["detail"]
            .as_str()
            .expect("detail")
            .contains("notify"),
        "the unknown field is named: {:?}",
        unknown.body
    );
    let body = json!({ "effective_at": tomorrow.to_string(), "reason": "The accuracy of your address has been checked and confirmed." });
    let by_service = app.post(&path, &service, body.clone()).await;
    assert_eq!(by_service.status, 403, "a service key does not decide");
    assert_eq!(counts(app, &subject).await, before, "nothing stored");

    // Someone who is not there (or is another tenant's) is not found.
    let nobody = app
        .post(
            &format!("/api/v1/subjects/{}/restriction/lift", uuid::Uuid::now_v7()),
            &app.admin_key,
            body.clone(),
        )
        .await;
    assert_eq!(nobody.status, 404, "{:?}", nobody.body);

    // A person not under restriction, and one who cannot be told.
    let free = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "email", "value": "vapaa@example.fi" }] }),
        )
        .await;
    let free = free.body["id"].as_str().expect("id");
    let refused = app
        .post(
            &format!("/api/v1/subjects/{free}/restriction/lift"),
            &app.admin_key,
            body.clone(),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("subject"))
    );
    let unreachable = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "customer_no", "value": "C-1001" }] }),
        )
        .await;
    let unreachable = unreachable.body["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/subjects/{unreachable}/events"),
        &service,
        json!({ "kind": "restriction" }),
    )
    .await;
    let refused = app
        .post(
            &format!("/api/v1/subjects/{unreachable}/restriction/lift"),
            &app.admin_key,
            body.clone(),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("subject")),
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .expect("detail")
            .contains("no email address")
    );
    assert_eq!(counts(app, unreachable).await.1, 0, "no notice");

    // The lift: the person is told now, the restriction ends tomorrow.
    let lifted = app.post(&path, &app.admin_key, body.clone()).await;
    assert_eq!(lifted.status, 201, "{:?}", lifted.body);
    assert_eq!(lifted.body["effective_at"], tomorrow.to_string());
    let notice = lifted.body["notice"].as_str().expect("notice id");
    let ledger = app
        .get(&format!("/api/v1/notices/{notice}"), &app.admin_key)
        .await;
    assert_eq!(ledger.status, 200, "{:?}", ledger.body);
    assert_eq!(ledger.body["kind"], "restriction_lifted");
    assert_eq!(ledger.body["mandatory"], true);
    assert_eq!(ledger.body["deliveries"][0]["status"], "queued");
    let text = ledger.body["body"].as_str().expect("text");
    for said in [
        "The restriction ends on",
        "has been checked and confirmed",
        "Data Protection Ombudsman",
    ] {
        assert!(text.contains(said), "the notice says {said}: {text}");
    }
    let received = app
        .get(
            &format!("/api/v1/subjects/{subject}/notices"),
            &app.admin_key,
        )
        .await;
    assert_eq!(received.body["notices"].as_array().map(Vec::len), Some(1));

    // Until then the restriction holds; a second lift is refused.
    assert!(!may_read_for_support(app, &service, email).await);
    let again = app.post(&path, &app.admin_key, body).await;
    assert_eq!(
        (again.status, again.body["field"].as_str()),
        (422, Some("effective_at"))
    );
    app.clock.advance(SignedDuration::from_hours(24));
    assert!(
        may_read_for_support(app, &service, email).await,
        "the restriction ended at the time the person was told"
    );
    // A manual notice cannot pose as one.
    let manual = app
        .post(
            "/api/v1/notices",
            &app.admin_key,
            json!({ "kind": "restriction_lifted", "subject": "s", "body": "b", "audience": { "subjects": [subject] } }),
        )
        .await;
    assert_eq!(
        (manual.status, manual.body["field"].as_str()),
        (422, Some("kind"))
    );
}

#[tokio::test]
async fn the_person_is_told_before_the_restriction_ends_on_sqlite() {
    the_person_is_told_before_the_restriction_ends(&spawn_app().await).await;
}

#[tokio::test]
async fn the_person_is_told_before_the_restriction_ends_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    the_person_is_told_before_the_restriction_ends(&app).await;
    // The synchronous PostgreSQL client must not be dropped on a runtime thread.
    std::mem::forget(std::sync::Arc::clone(&app.store));
}
