//! Idempotency-Key: a retried POST is answered, not applied twice.

mod common;

use common::spawn_app;
use serde_json::json;

async fn post_with_key(
    app: &common::TestApp,
    path: &str,
    key: &str,
    idempotency: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency)
        .json(&body)
        .send()
        .await
        .expect("answers")
}

#[tokio::test]
async fn a_repeated_post_gets_the_first_response_and_creates_nothing_more() {
    let app = spawn_app().await;
    let body = json!({ "identities": [{ "kind": "email", "value": "ana@example.com" }] });
    let first = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "import-line-17",
        body.clone(),
    )
    .await;
    assert_eq!(first.status(), 201);
    let first_body: serde_json::Value = first.json().await.expect("json");
    let again = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "import-line-17",
        body,
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotency-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again_body: serde_json::Value = again.json().await.expect("json");
    assert_eq!(again_body["id"], first_body["id"]);
    let created = app
        .get("/api/v1/audit?action=subject.create", &app.admin_key)
        .await;
    assert_eq!(
        created.body["entries"].as_array().map(Vec::len),
        Some(1),
        "the subject was created once"
    );
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let app = spawn_app().await;
    let first = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "k",
        json!({ "identities": [{ "kind": "email", "value": "ana@example.com" }] }),
    )
    .await;
    assert_eq!(first.status(), 201);
    let other = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "k",
        json!({ "identities": [{ "kind": "email", "value": "bo@example.com" }] }),
    )
    .await;
    assert_eq!(other.status(), 422);
    let problem: serde_json::Value = other.json().await.expect("json");
    assert_eq!(problem["field"], "Idempotency-Key");
}

#[tokio::test]
async fn a_refused_request_frees_its_key_for_a_corrected_retry() {
    let app = spawn_app().await;
    let bad = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "retry-me",
        json!({ "identities": [{ "kind": "phone", "value": "040 123" }] }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let good = post_with_key(
        &app,
        "/api/v1/subjects",
        &app.admin_key,
        "retry-me",
        json!({ "identities": [{ "kind": "phone", "value": "+358 40 123 4567" }] }),
    )
    .await;
    assert_eq!(good.status(), 201, "the corrected request runs");
    assert!(good.headers().get("idempotency-replayed").is_none());
}

#[tokio::test]
async fn keys_belong_to_a_tenant_and_bad_keys_are_refused() {
    let app = spawn_app().await;
    let (_, admin_a) = app.tenant_with_admin("A").await;
    let (_, admin_b) = app.tenant_with_admin("B").await;
    let body = json!({ "identities": [{ "kind": "email", "value": "ana@example.com" }] });
    let a = post_with_key(&app, "/api/v1/subjects", &admin_a, "same-key", body.clone()).await;
    let b = post_with_key(&app, "/api/v1/subjects", &admin_b, "same-key", body).await;
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (201, 201));
    assert!(
        b.headers().get("idempotency-replayed").is_none(),
        "tenant B's request ran on its own"
    );
    let long = "x".repeat(300);
    let refused = post_with_key(
        &app,
        "/api/v1/subjects",
        &admin_a,
        &long,
        json!({ "identities": [] }),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let unauthenticated = app
        .client
        .post(format!("{}/api/v1/subjects", app.address))
        .header("Idempotency-Key", "k")
        .json(&json!({}))
        .send()
        .await
        .expect("answers");
    assert_eq!(unauthenticated.status(), 401);
}

/// A lower-role key of the same tenant that repeats an admin's POST with the same key and body
/// runs its own request (and is refused), never gets the admin's stored answer; the admin's
/// own replay of a key creation answers 409 with the id, never the secret again.
#[tokio::test]
async fn a_replay_is_the_callers_own_and_never_hands_out_a_secret_again() {
    let app = spawn_app().await;
    let agent = app.key(&app.admin_key, "agent").await;
    let body = json!({ "name": "deploy", "role": "admin" });
    let created = post_with_key(
        &app,
        "/api/v1/keys",
        &app.admin_key,
        "new-key-1",
        body.clone(),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("json");
    let secret = created["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();

    let stolen = post_with_key(&app, "/api/v1/keys", &agent, "new-key-1", body.clone()).await;
    assert_eq!(
        stolen.status(),
        403,
        "the agent's own request, refused for its role"
    );
    assert!(stolen.headers().get("idempotency-replayed").is_none());
    let text = stolen.text().await.expect("text");
    assert!(!text.contains(&secret), "{text}");

    let again = post_with_key(&app, "/api/v1/keys", &app.admin_key, "new-key-1", body).await;
    assert_eq!(again.status(), 409);
    let problem: serde_json::Value = again.json().await.expect("json");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains(created["id"].as_str().expect("id")),
        "{detail}"
    );
    assert!(!problem.to_string().contains(&secret));
    let keys = app.get("/api/v1/keys", &app.admin_key).await;
    let named: Vec<_> = keys.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["name"] == "deploy")
        .collect();
    assert_eq!(named.len(), 1, "created once");
}

/// What a replay needs is kept sealed: neither the requester's address nor a new key's
/// secret is on disk in clear.
#[tokio::test]
async fn kept_answers_are_sealed_on_disk() {
    let app = spawn_app().await;
    let filed = post_with_key(
        &app,
        "/api/v1/requests",
        &app.admin_key,
        "file-1",
        json!({ "kind": "access", "email": "mia.virtanen@example.fi" }),
    )
    .await;
    assert_eq!(filed.status(), 201);
    let replay = post_with_key(
        &app,
        "/api/v1/requests",
        &app.admin_key,
        "file-1",
        json!({ "kind": "access", "email": "mia.virtanen@example.fi" }),
    )
    .await;
    assert_eq!(replay.status(), 201);
    let body: serde_json::Value = replay.json().await.expect("json");
    assert_eq!(
        body["email"], "mia.virtanen@example.fi",
        "the replay is the answer"
    );
    let created = post_with_key(
        &app,
        "/api/v1/keys",
        &app.admin_key,
        "key-1",
        json!({ "name": "ci", "role": "service" }),
    )
    .await;
    let created: serde_json::Value = created.json().await.expect("json");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let disk = app.bytes_on_disk();
    let holds = |needle: &str| disk.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!holds("mia.virtanen@example.fi"), "no address in clear");
    assert!(!holds(&secret), "no secret in clear");
}
