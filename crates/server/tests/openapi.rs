//! The OpenAPI document describes every route, and every schema it refers to exists.

mod common;

use common::spawn_app;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/tenants"),
    ("post", "/api/v1/tenants"),
    ("get", "/api/v1/tenants/{id}"),
    ("patch", "/api/v1/tenants/{id}"),
    ("get", "/api/v1/keys"),
    ("post", "/api/v1/keys"),
    ("delete", "/api/v1/keys/{id}"),
    ("get", "/api/v1/subjects"),
    ("post", "/api/v1/subjects"),
    ("get", "/api/v1/subjects/{id}"),
    ("get", "/api/v1/subjects/{id}/records"),
    ("put", "/api/v1/subjects/{id}/records"),
    ("post", "/api/v1/records"),
    ("get", "/api/v1/subjects/{id}/events"),
    ("post", "/api/v1/subjects/{id}/events"),
    ("post", "/api/v1/subjects/{id}/restriction/lift"),
    ("get", "/api/v1/subjects/{id}/consents"),
    ("post", "/api/v1/subjects/{id}/consents"),
    ("delete", "/api/v1/subjects/{id}/consents/{purpose}"),
    ("get", "/api/v1/requests"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("post", "/api/v1/requests/{id}/verify"),
    ("post", "/api/v1/requests/{id}/code"),
    ("post", "/api/v1/requests/{id}/extend"),
    ("post", "/api/v1/requests/{id}/start"),
    ("post", "/api/v1/requests/{id}/assign"),
    ("post", "/api/v1/requests/{id}/fulfil"),
    ("post", "/api/v1/requests/{id}/refuse"),
    ("get", "/api/v1/requests/{id}/mails"),
    ("get", "/api/v1/requests/{id}/plan"),
    ("get", "/api/v1/retention/forecast"),
    ("get", "/api/v1/retention/reviews"),
    ("post", "/api/v1/retention/reviews"),
    ("get", "/api/v1/holds"),
    ("post", "/api/v1/holds"),
    ("post", "/api/v1/holds/{id}/release"),
    ("get", "/api/v1/incidents"),
    ("post", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{id}"),
    ("post", "/api/v1/incidents/{id}/close"),
    ("post", "/api/v1/incidents/{id}/scope"),
    ("post", "/api/v1/incidents/{id}/assessment"),
    ("get", "/api/v1/incidents/{id}/notifications/draft"),
    ("post", "/api/v1/incidents/{id}/notifications"),
    ("post", "/api/v1/incidents/{id}/authority"),
    ("post", "/api/v1/notices"),
    ("get", "/api/v1/ropa"),
    ("get", "/api/v1/promises"),
    ("get", "/api/v1/requests/{id}/receipt"),
    ("get", "/api/v1/receipts"),
    ("post", "/api/v1/receipts/check"),
    ("get", "/.well-known/ombud-receipt-keys.json"),
    ("get", "/api/v1/subprocessors"),
    ("put", "/api/v1/subprocessors/{recipient}/selection"),
    ("delete", "/api/v1/subprocessors/{recipient}/selection"),
    ("get", "/api/v1/subprocessors/changes/draft"),
    ("post", "/api/v1/subprocessors/changes"),
    ("get", "/api/v1/subprocessors/changes"),
    ("get", "/api/v1/subprocessors/changes/{id}"),
    (
        "post",
        "/api/v1/subprocessors/changes/{id}/objections/resolution",
    ),
    ("post", "/api/v1/subprocessors/changes/{id}/objections"),
    ("get", "/api/v1/notices"),
    ("get", "/api/v1/notices/{id}"),
    ("get", "/api/v1/subjects/{id}/notices"),
    ("get", "/api/v1/tenants/{id}/contacts"),
    ("post", "/api/v1/tenants/{id}/contacts"),
    ("delete", "/api/v1/tenants/{id}/contacts/{subject}"),
    ("get", "/api/v1/holds/{id}/records"),
    ("get", "/api/v1/check"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

fn refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.insert(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_resolves_every_schema() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", None, None, None)
        .await;
    assert_eq!(doc.status, 200);
    let doc = doc.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, expected);

    let mut targets = BTreeSet::new();
    refs(&doc, &mut targets);
    assert!(targets.len() > 20, "the document uses named schemas");
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{target} is not defined"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let check = &doc["paths"]["/api/v1/check"]["get"];
    let params: Vec<&str> = check["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(params, ["identity", "purpose"]);
    assert!(check["responses"]["401"].is_object() && check["responses"]["422"].is_object());
}

/// Every operation says in a line what it does and in a paragraph how: what a client reads
/// first in any generated reference.
#[test]
fn every_operation_has_a_summary_and_a_description() {
    use utoipa::OpenApi;
    let doc: Value = serde_json::from_str(
        &ombud_server::openapi::ApiDoc::openapi()
            .to_json()
            .expect("the document serialises"),
    )
    .expect("json");
    let mut bare = vec![];
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let text = |key: &str| operation[key].as_str().map_or(0, |t| t.trim().len());
            if text("summary") < 5 || text("description") < 20 {
                bare.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        bare.is_empty(),
        "without a summary or a description: {bare:?}"
    );
}

/// The document is a contract with every client: any change to it shows here as a diff to
/// review (`INSTA_UPDATE=always cargo test` accepts it).
#[test]
fn the_openapi_document_is_what_clients_were_given() {
    use utoipa::OpenApi;
    let document = ombud_server::openapi::ApiDoc::openapi()
        .to_pretty_json()
        .expect("the document serialises");
    insta::assert_snapshot!("openapi", document);
}
