//! Art. 19: a rectification, erasure or restriction is owed to every recipient the person's
//! data went to. The answer lists them, the request shows them, and a recipient with a contact
//! address in privacy.toml gets a mail.

mod common;

use common::{TestApp, spawn_app_with};
use serde_json::{Value, json};

/// The invoicing example, with an address for Procountor's data protection contact.
fn policy() -> String {
    let source = include_str!("../../../examples/invoicing-saas.toml");
    let with_contact = source.replacen(
        "id = \"procountor\"\n",
        "id = \"procountor\"\ncontact = \"dataprotection@procountor.example\"\n",
        1,
    );
    assert_ne!(with_contact, source, "the example names Procountor");
    with_contact
}

/// A customer with one invoice filed for invoicing, whose application vouches for a request
/// of `kind`; the request fulfilled, the outbox emptied before it.
async fn fulfilled(app: &TestApp, email: &str, kind: &str) -> Value {
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .person_with_contract(
            &service,
            email,
            json!([
                { "category": "user.financial", "value": "INV-7 90.00 EUR", "source": "subject", "purposes": ["invoicing"] },
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
    let id = filed.body["id"].as_str().expect("id");
    app.drain_outbox().await;
    let done = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    done.body
}

#[tokio::test]
async fn an_erasure_is_owed_to_every_recipient_and_mailed_where_the_policy_gives_an_address() {
    let app = spawn_app_with(&policy()).await;
    let done = fulfilled(&app, "veera@example.fi", "erasure").await;
    let id = done["id"].as_str().expect("id");
    // The invoice went to the invoicing activity's recipients only.
    let told: Vec<(&str, bool)> = done["recipients_notified"]
        .as_array()
        .expect("listed")
        .iter()
        .map(|r| {
            (
                r["recipient"].as_str().expect("id"),
                r["mailed"].as_bool().expect("flag"),
            )
        })
        .collect();
    assert_eq!(told, [("stripe", false), ("procountor", true)]);
    let shown = app
        .get(&format!("/api/v1/requests/{id}"), &app.admin_key)
        .await;
    assert_eq!(
        shown.body["recipients_notified"],
        done["recipients_notified"]
    );

    let mails = app.drain_outbox().await;
    let to_procountor: Vec<&(String, String, String)> = mails
        .iter()
        .filter(|(to, _, _)| to == "dataprotection@procountor.example")
        .collect();
    assert_eq!(to_procountor.len(), 1, "{mails:?}");
    let (_, template, body) = to_procountor[0];
    assert_eq!(template, "recipient_notified");
    assert!(
        body.contains("veera@example.fi") && body.contains("erased"),
        "{body}"
    );
    assert!(body.contains("Art. 19"), "{body}");
    let (_, _, answer) = mails
        .iter()
        .find(|(to, template, _)| to == "veera@example.fi" && template == "request_fulfilled")
        .expect("the person's answer");
    assert!(answer.contains("Stripe, Procountor"), "{answer}");
}

#[tokio::test]
async fn an_access_request_owes_recipients_nothing() {
    let app = spawn_app_with(&policy()).await;
    let done = fulfilled(&app, "ilmari@example.fi", "access").await;
    assert_eq!(done["recipients_notified"], json!([]));
    let mails = app.drain_outbox().await;
    assert!(
        mails
            .iter()
            .all(|(_, template, _)| template != "recipient_notified"),
        "{mails:?}"
    );
}
