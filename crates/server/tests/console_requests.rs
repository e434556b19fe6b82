//! The console's request queue and request page over HTTP: filters and pages across the tenants
//! a user sees, the requester's address shown only on demand and audited, assignment to a
//! colleague, verification by hand with its basis audited, the fulfil preview and fulfilment
//! with the person's answer mailed, refusal with a ground; a customer's own people decide on
//! its requests, operator staff only read and assign there — on SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, audited, get, location, post, ready};
use common::{POLICY, TestApp, spawn_app_with};
use ombud_store::model::{Role, TenantId};
use serde_json::json;

/// The invoicing example, where the team may also confirm a person's identity by hand.
fn policy() -> String {
    POLICY.replace(
        r#"verification = ["email_code", "signed_in_session"]"#,
        r#"verification = ["email_code", "signed_in_session", "manual"]"#,
    )
}

async fn csrf_of(app: &TestApp, path: &str, cookie: &str) -> (u16, String, String) {
    let page = get(app, path, Some(cookie)).await;
    let status = page.status().as_u16();
    let body = page.text().await.expect("a page");
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    (status, body, csrf)
}

async fn the_queue_and_the_request_page(app: &TestApp) {
    let operator = app.operator().await;
    let service = app.key(&app.admin_key, "service").await;
    app.person_with_contract(
        &service,
        "asker@example.fi",
        json!([
            { "category": "user.name", "value": "Aino Virtanen", "source": "subject" },
            { "category": "user.contact.email", "value": "asker@example.fi", "source": "subject" },
        ]),
    )
    .await;
    let filed = app
        .post(
            "/api/v1/requests",
            &app.admin_key,
            json!({ "kind": "erasure", "email": "asker@example.fi" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let ours = filed.body["id"].as_str().expect("id").to_owned();
    let second = app
        .post(
            "/api/v1/requests",
            &app.admin_key,
            json!({ "kind": "access", "email": "second@example.fi" }),
        )
        .await;
    let second = second.body["id"].as_str().expect("id").to_owned();
    let (customer, customer_admin) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let customer_id: TenantId = customer.parse().expect("a tenant id");
    let theirs = app
        .post(
            "/api/v1/requests",
            &customer_admin,
            json!({ "kind": "access", "email": "client@example.fi" }),
        )
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    let theirs = theirs.body["id"].as_str().expect("id").to_owned();
    app.drain_outbox().await;

    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    let _agent = ready(app, operator, "agent@example.fi", Role::Agent).await;
    let their_dpo = ready(app, customer_id, "dpo@esimerkki.fi", Role::Dpo).await;
    let auditor = ready(app, operator, "auditor@example.fi", Role::Auditor).await;

    // The operator's staff see every tenant's queue; a filter narrows it; a bad one says which.
    let (status, queue, _) = csrf_of(app, "/console/requests", &dpo).await;
    assert_eq!(status, 200, "{queue}");
    for id in [&ours, &second, &theirs] {
        assert!(queue.contains(&id[id.len() - 8..]), "{id} is listed");
    }
    assert!(queue.contains("Tilitoimisto Esimerkki Oy"));
    assert!(
        !queue.contains("asker@example.fi"),
        "no address in the queue"
    );
    let (_, narrowed, _) = csrf_of(
        app,
        &format!("/console/requests?tenant={operator}&kind=erasure"),
        &dpo,
    )
    .await;
    assert!(narrowed.contains(&ours[ours.len() - 8..]));
    assert!(!narrowed.contains(&second[second.len() - 8..]));
    assert!(!narrowed.contains(&theirs[theirs.len() - 8..]));
    let bad = get(app, "/console/requests?kind=everything", Some(&dpo)).await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .expect("page")
            .contains("kind filter is one of")
    );
    let bad = get(app, "/console/requests?cursor=nonsense", Some(&dpo)).await;
    assert_eq!(bad.status(), 422);
    // Newest first, one page: the customer's request was filed last.
    let (_, newest, _) = csrf_of(app, "/console/requests?sort=newest&status=all", &dpo).await;
    let at = |id: &str| newest.find(&id[id.len() - 8..]).expect("listed");
    assert!(
        at(&theirs) < at(&second) && at(&second) < at(&ours),
        "{newest}"
    );
    assert!(
        !newest.contains("rel=\"next\""),
        "three requests fit one page"
    );

    // A customer's people see their own queue only, and not the operator's requests.
    let (_, their_queue, _) = csrf_of(app, "/console/requests", &their_dpo).await;
    assert!(their_queue.contains(&theirs[theirs.len() - 8..]));
    assert!(!their_queue.contains(&ours[ours.len() - 8..]));
    let elsewhere = get(
        app,
        &format!("/console/requests?tenant={operator}"),
        Some(&their_dpo),
    )
    .await;
    assert_eq!(elsewhere.status(), 422);
    let hidden = get(
        app,
        &format!("/console/requests/{operator}/{ours}"),
        Some(&their_dpo),
    )
    .await;
    assert_eq!(hidden.status(), 404);
    // An auditor works no requests.
    assert_eq!(
        get(app, "/console/requests", Some(&auditor)).await.status(),
        403
    );

    // The request page: no address until asked for, and asking is audited.
    let page_path = format!("/console/requests/{operator}/{ours}");
    let (status, page, csrf) = csrf_of(app, &page_path, &dpo).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Show the address"));
    assert!(!page.contains("asker@example.fi"));
    let forged = post(
        app,
        &format!("{page_path}/reveal"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", "0")],
    )
    .await;
    assert_eq!(
        forged.status(),
        403,
        "a form without the session's token is refused"
    );
    let elsewhere = post(
        app,
        &format!("{page_path}/reveal"),
        "https://evil.example",
        Some(&dpo),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(
        elsewhere.status(),
        403,
        "a form from another origin is refused"
    );
    assert!(
        audited(app, operator, "request.contact_read")
            .await
            .is_empty()
    );
    let shown = post(
        app,
        &format!("{page_path}/reveal"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(shown.status(), 200);
    assert!(
        shown
            .text()
            .await
            .expect("page")
            .contains("asker@example.fi")
    );
    let reads = audited(app, operator, "request.contact_read").await;
    assert_eq!(reads.len(), 1);
    assert!(reads[0].actor.starts_with("user:"), "{:?}", reads[0]);
    assert!(
        !format!("{:?}", reads[0]).contains("asker@"),
        "no address in the entry"
    );

    // Assignment: a colleague from the list, nobody else.
    let stranger = post(
        app,
        &format!("{page_path}/assign"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("assignee", "someone@elsewhere.example")],
    )
    .await;
    assert_eq!(stranger.status(), 422);
    let assigned = post(
        app,
        &format!("{page_path}/assign"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("assignee", "agent@example.fi")],
    )
    .await;
    assert_eq!(assigned.status(), 303);
    assert_eq!(location(&assigned), format!("{page_path}?done=assigned"));
    let shown = app
        .get(&format!("/api/v1/requests/{ours}"), &app.admin_key)
        .await;
    assert_eq!(shown.body["assignee"], "agent@example.fi");
    let (_, mine, _) = csrf_of(app, "/console/requests?assignee=nobody", &dpo).await;
    assert!(
        !mine.contains(&ours[ours.len() - 8..]),
        "no longer unassigned"
    );

    // A wrong step says why and changes nothing: an extension needs a reason.
    let no_reason = post(
        app,
        &format!("{page_path}/extend"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("reason", "  ")],
    )
    .await;
    assert_eq!(no_reason.status(), 422);

    // Verified by hand, with the basis in the audit log.
    let bad_basis = post(
        app,
        &format!("{page_path}/verify"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("basis", "a hunch")],
    )
    .await;
    assert_eq!(bad_basis.status(), 422);
    let verified = post(
        app,
        &format!("{page_path}/verify"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("basis", "document")],
    )
    .await;
    assert_eq!(verified.status(), 303);
    let steps = audited(app, operator, "request.verify").await;
    assert!(
        steps.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("basis=document"))),
        "{steps:?}"
    );

    // The preview says what the erasure does, with categories and no value; then it is done.
    let (status, preview, csrf) = csrf_of(app, &format!("{page_path}/fulfil"), &dpo).await;
    assert_eq!(status, 200, "{preview}");
    assert!(
        preview.contains("Records deleted, per category"),
        "{preview}"
    );
    assert!(preview.contains("user.name"));
    assert!(
        !preview.contains("Aino Virtanen"),
        "no value in the preview"
    );
    let fulfilled = post(
        app,
        &format!("{page_path}/fulfil"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(fulfilled.status(), 303);
    let shown = app
        .get(&format!("/api/v1/requests/{ours}"), &app.admin_key)
        .await;
    assert_eq!(shown.body["status"], "fulfilled", "{:?}", shown.body);
    let mails = app.drain_outbox().await;
    assert!(
        mails
            .iter()
            .any(|(to, _, body)| to == "asker@example.fi" && body.contains("OMBUD RECEIPT")),
        "{mails:?}"
    );
    let (_, done, _) = csrf_of(app, &page_path, &dpo).await;
    assert!(done.contains("Timeline"));
    assert!(done.contains("fulfilled") || done.contains("Fulfilled"));
    // Closed: no more forms to act on it.
    assert!(!done.contains("/verify\""));

    // Refusal with a ground from the list; the person is told it.
    let second_path = format!("/console/requests/{operator}/{second}");
    let (_, _, csrf) = csrf_of(app, &second_path, &dpo).await;
    let unknown = post(
        app,
        &format!("{second_path}/refuse"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("ground", "bored")],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let refused = post(
        app,
        &format!("{second_path}/refuse"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("ground", "excessive")],
    )
    .await;
    assert_eq!(refused.status(), 303);
    let shown = app
        .get(&format!("/api/v1/requests/{second}"), &app.admin_key)
        .await;
    assert_eq!(shown.body["status"], "refused");
    assert!(
        shown.body["refusal_reason"]
            .as_str()
            .is_some_and(|r| r.contains("Art. 12(5)")),
        "{:?}",
        shown.body
    );

    // A customer's request: the operator's staff read and assign, but do not decide.
    let their_path = format!("/console/requests/{customer}/{theirs}");
    let (status, their_page, csrf) = csrf_of(app, &their_path, &dpo).await;
    assert_eq!(status, 200);
    assert!(their_page.contains("decides on its requests"));
    let decided = post(
        app,
        &format!("{their_path}/refuse"),
        ORIGIN,
        Some(&dpo),
        &[("csrf", &csrf), ("ground", "excessive")],
    )
    .await;
    assert_eq!(decided.status(), 403);
    let (_, _, their_csrf) = csrf_of(app, &their_path, &their_dpo).await;
    let theirs_assigned = post(
        app,
        &format!("{their_path}/assign"),
        ORIGIN,
        Some(&their_dpo),
        &[("csrf", &their_csrf), ("assignee", "dpo@esimerkki.fi")],
    )
    .await;
    assert_eq!(theirs_assigned.status(), 303);
    let (_, their_mine, _) = csrf_of(app, "/console/requests?assignee=me", &their_dpo).await;
    assert!(their_mine.contains(&theirs[theirs.len() - 8..]));
}

#[tokio::test]
async fn the_console_works_the_request_queue_on_sqlite() {
    let app = spawn_app_with(&policy()).await;
    the_queue_and_the_request_page(&app).await;
}

#[tokio::test]
async fn the_console_works_the_request_queue_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres_with(&url, &policy()).await;
    the_queue_and_the_request_page(&app).await;
}
