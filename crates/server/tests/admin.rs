//! Health, authentication, tenants and keys over HTTP.

mod common;

use common::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_readiness_and_metrics_answer_without_a_key_metrics_on_their_own_listener() {
    let app = spawn_app().await;
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None, None)
            .await
            .status,
        200
    );
    // Metrics are the operator's: not on the listener the public reaches, only on their own.
    let public = app.call(Method::GET, "/metrics", None, None, None).await;
    assert_eq!(public.status, 404);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(
        text.contains("ombud_http_requests_total{route=\"/readyz\",status=\"200\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn calls_without_a_valid_key_are_refused_with_a_problem_document() {
    let app = spawn_app().await;
    let missing = app
        .call(Method::GET, "/api/v1/tenants", None, None, None)
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.content_type, "application/problem+json");
    assert_eq!(missing.body["type"], "urn:ombud:problem:unauthorized");
    assert!(
        missing.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Authorization: Bearer"))
    );
    let unknown = app.get("/api/v1/tenants", "ombud_sk_0000").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.body["detail"], "the API key is unknown or revoked");
}

#[tokio::test]
async fn the_operator_creates_tenants_and_their_admins_manage_their_own_keys() {
    let app = spawn_app().await;
    let (tenant, admin) = app.tenant_with_admin("Acme Oy").await;
    let service = app.key(&admin, "service").await;

    let listed = app.get("/api/v1/keys", &admin).await;
    assert_eq!(listed.status, 200);
    let keys = listed.body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k["secret"].is_null() && k["tenant"] == tenant.as_str()),
        "secrets are shown only once"
    );

    let tenants = app.get("/api/v1/tenants", &admin).await;
    assert_eq!(
        tenants.body["tenants"].as_array().map(Vec::len),
        Some(1),
        "a tenant admin sees its own tenant"
    );
    let all = app.get("/api/v1/tenants", &app.admin_key).await;
    assert_eq!(all.body["tenants"].as_array().map(Vec::len), Some(2));

    let forbidden = app
        .post("/api/v1/tenants", &admin, json!({ "name": "Other" }))
        .await;
    assert_eq!(forbidden.status, 403);
    assert!(
        forbidden.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("operator-wide admin"))
    );
    let by_service = app.get("/api/v1/keys", &service).await;
    assert_eq!(by_service.status, 403);
    assert!(
        by_service.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("role `service`"))
    );
    let escalation = app
        .post(
            "/api/v1/keys",
            &admin,
            json!({ "name": "x", "role": "admin", "operator_wide": true }),
        )
        .await;
    assert_eq!(escalation.status, 403);
}

#[tokio::test]
async fn a_key_of_one_tenant_finds_nothing_of_another() {
    let app = spawn_app().await;
    let (tenant_a, admin_a) = app.tenant_with_admin("A").await;
    let (tenant_b, admin_b) = app.tenant_with_admin("B").await;
    let b_keys = app.get("/api/v1/keys", &admin_b).await;
    let b_key = b_keys.body["keys"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let revoke = app
        .call(
            Method::DELETE,
            &format!("/api/v1/keys/{b_key}"),
            Some(&admin_a),
            None,
            None,
        )
        .await;
    assert_eq!(revoke.status, 404);
    let switch = app
        .call(
            Method::GET,
            "/api/v1/keys",
            Some(&admin_a),
            Some(&tenant_b),
            None,
        )
        .await;
    assert_eq!(
        switch.status, 404,
        "naming another tenant looks like naming none"
    );
    let own = app
        .call(
            Method::GET,
            "/api/v1/keys",
            Some(&admin_a),
            Some(&tenant_a),
            None,
        )
        .await;
    assert_eq!(own.status, 200);
    let nonsense = app
        .call(
            Method::GET,
            "/api/v1/keys",
            Some(&admin_a),
            Some("not-a-uuid"),
            None,
        )
        .await;
    assert_eq!(nonsense.status, 400);
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let app = spawn_app().await;
    let (_, admin) = app.tenant_with_admin("Acme").await;
    let created = app
        .post(
            "/api/v1/keys",
            &admin,
            json!({ "name": "temp", "role": "auditor" }),
        )
        .await;
    let (id, secret) = (
        created.body["id"].as_str().expect("id").to_owned(),
        created.body["secret"].as_str().expect("secret").to_owned(),
    );
    assert_eq!(app.get("/api/v1/tenants", &secret).await.status, 200);
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/api/v1/keys/{id}"),
            Some(&admin),
            None,
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(app.get("/api/v1/tenants", &secret).await.status, 401);
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/api/v1/keys/{id}"),
            Some(&admin),
            None,
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn bad_bodies_get_problems_that_say_what_to_fix() {
    let app = spawn_app().await;
    let not_json = app
        .client
        .post(format!("{}/api/v1/tenants", app.address))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("answers");
    assert_eq!(not_json.status(), 400);
    let plain = app
        .client
        .post(format!("{}/api/v1/tenants", app.address))
        .bearer_auth(&app.admin_key)
        .body("name=x")
        .send()
        .await
        .expect("answers");
    assert_eq!(plain.status(), 400);
    let unknown_field = app
        .post(
            "/api/v1/tenants",
            &app.admin_key,
            json!({ "name": "x", "nmae": "y" }),
        )
        .await;
    assert_eq!(unknown_field.status, 422);
    assert!(
        unknown_field.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nmae"))
    );
    let empty = app
        .post("/api/v1/tenants", &app.admin_key, json!({ "name": "  " }))
        .await;
    assert_eq!(empty.status, 422);
    assert_eq!(empty.body["field"], "name");
    let tenants = app.get("/api/v1/tenants", &app.admin_key).await;
    assert_eq!(
        tenants.body["tenants"].as_array().map(Vec::len),
        Some(1),
        "nothing was created"
    );
}

/// A key revoked behind the server's back (`ombud keys revoke`, another replica) is refused
/// within a second, though it was just used and cached.
#[tokio::test]
async fn a_key_revoked_elsewhere_is_refused_within_a_second() {
    use ombud_core::Clock;
    let app = spawn_app().await;
    let created = app
        .post(
            "/api/v1/keys",
            &app.admin_key,
            json!({ "name": "reader", "role": "auditor" }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created.body["secret"].as_str().expect("secret").to_owned();
    let id: ombud_store::model::ApiKeyId =
        serde_json::from_value(created.body["id"].clone()).expect("id");
    assert_eq!(app.get("/api/v1/audit", &secret).await.status, 200);
    let (store, now, operator) = (
        std::sync::Arc::clone(&app.store),
        app.clock.now(),
        app.operator().await,
    );
    tokio::task::spawn_blocking(move || {
        assert!(
            store
                .revoke_api_key(operator, id, &ombud_store::Actor::Cli, now)
                .expect("revoked")
        );
    })
    .await
    .expect("joined");
    tokio::time::sleep(ombud_server::keycache::TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(app.get("/api/v1/audit", &secret).await.status, 401);
    assert!(ombud_server::keycache::TTL <= std::time::Duration::from_secs(1));
}

/// HSTS only where people reach the server over HTTPS: on the portal, the API and health alike.
#[tokio::test]
async fn strict_transport_security_where_the_public_url_is_https() {
    let plain = spawn_app().await;
    let secure = common::spawn_app_reached_at("https://privacy.example.com").await;
    for path in ["/privacy", "/healthz", "/api/v1/tenants"] {
        let without = plain
            .client
            .get(format!("{}{path}", plain.address))
            .send()
            .await
            .expect("answer");
        assert!(
            without.headers().get("strict-transport-security").is_none(),
            "{path}"
        );
        let with = secure
            .client
            .get(format!("{}{path}", secure.address))
            .send()
            .await
            .expect("answer");
        assert_eq!(
            with.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}
