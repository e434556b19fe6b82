//! In a customer's queue the customer is the controller: an operator-wide key may read and
//! file there, but neither decide nor enter codes (wrong ones would lock the person out).

mod common;

use common::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_operator_wide_key_cannot_verify_a_customers_request() {
    let app = spawn_app().await;
    let (tenant, customer_admin) = app.tenant_with_admin("Acme").await;
    let filed = app
        .post(
            "/api/v1/requests",
            &customer_admin,
            json!({ "kind": "access", "email": "eeva@acme.example" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id");
    let path = format!("/api/v1/requests/{id}/verify");
    for _ in 0..3 {
        let tried = app
            .call(
                reqwest::Method::POST,
                &path,
                Some(&app.admin_key),
                Some(&tenant),
                Some(json!({ "code": "000000" })),
            )
            .await;
        assert_eq!(tried.status, 403, "{:?}", tried.body);
    }
    let shown = app
        .get(&format!("/api/v1/requests/{id}"), &customer_admin)
        .await;
    assert_eq!(shown.body["locked"], false, "no wrong code counted");
    let code = app.code_from_outbox().await;
    let verified = app
        .post(&path, &customer_admin, json!({ "code": code }))
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["status"], "verified");
}
