//! Names and titles people read in lists, logs and mails refuse control and direction
//! characters, and list limits are bounded, each answered with the field and the fix while
//! nothing is stored.

mod common;

use common::spawn_app;
use serde_json::json;

#[tokio::test]
async fn names_and_titles_refuse_control_and_direction_characters() {
    let app = spawn_app().await;
    for (path, body) in [
        ("/api/v1/tenants", json!({ "name": "Acme\u{0}Oy" })),
        (
            "/api/v1/tenants",
            json!({ "name": "invoice\u{202E}fdp.exe" }),
        ),
        (
            "/api/v1/keys",
            json!({ "name": "ci\u{1b}[31m", "role": "service" }),
        ),
        (
            "/api/v1/incidents",
            json!({ "title": "Laptop\u{2066} lost", "description": "A laptop was lost." }),
        ),
        (
            "/api/v1/incidents",
            json!({ "title": "Laptop lost", "description": "Lost on a train\u{202D}." }),
        ),
    ] {
        let reply = app.post(path, &app.admin_key, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        let detail = reply.body["detail"].as_str().expect("detail");
        assert!(detail.contains("U+"), "{detail}");
        assert!(reply.body["field"].is_string(), "{:?}", reply.body);
    }
    let tenants = app.get("/api/v1/tenants", &app.admin_key).await;
    assert_eq!(
        tenants.body["tenants"].as_array().expect("tenants").len(),
        1,
        "only the operator's: nothing was stored"
    );
    // Ordinary names, with letters of any language and line breaks in a description, pass.
    let fine = app
        .post(
            "/api/v1/incidents",
            &app.admin_key,
            json!({ "title": "Kannettava hävisi – Åbo", "description": "Lost on a train.\nReported at once." }),
        )
        .await;
    assert_eq!(fine.status, 201, "{:?}", fine.body);
}

#[tokio::test]
async fn the_request_list_bounds_its_limit() {
    let app = spawn_app().await;
    for limit in ["0", "1001", "100000"] {
        let reply = app
            .get(&format!("/api/v1/requests?limit={limit}"), &app.admin_key)
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (422, Some("limit")),
            "{limit}: {:?}",
            reply.body
        );
    }
    let fine = app.get("/api/v1/requests?limit=1000", &app.admin_key).await;
    assert_eq!(fine.status, 200);
}

#[tokio::test]
async fn a_bad_query_string_is_a_problem_document_naming_the_parameter() {
    let app = spawn_app().await;
    let bad = app.get("/api/v1/requests?limit=abc", &app.admin_key).await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert!(
        bad.content_type.starts_with("application/problem+json"),
        "{}",
        bad.content_type
    );
    assert_eq!(bad.body["field"], "limit");
    let unknown = app
        .get("/api/v1/retention/forecast?dayz=3", &app.admin_key)
        .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
    assert!(
        unknown.body["detail"]
            .as_str()
            .expect("detail")
            .contains("dayz"),
        "{:?}",
        unknown.body
    );
}
