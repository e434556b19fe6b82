//! The console's sign-in over HTTP: the setup link sets a password, sign-in sets the one
//! `__Host-` cookie with a new token each time, the overview shows the open requests the user
//! may see, cross-origin forms are refused, five wrong passwords lock, sign-out ends the
//! session — on SQLite and PostgreSQL.

mod common;

use common::console::{GOOD, ORIGIN, get, invited, post, ready, sign_in};
use common::{TestApp, spawn_app, spawn_app_on_postgres};
use ombud_store::model::{Role, TenantId};
use serde_json::json;
use std::sync::Arc;

async fn console(app: &TestApp) {
    let operator = app.operator().await;
    // An open request of the operator's and one of a customer's.
    let filed = app
        .post(
            "/api/v1/requests",
            &app.admin_key,
            json!({ "kind": "access", "email": "asker@example.fi" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let (customer, customer_admin) = app.tenant_with_admin("Tilitoimisto Esimerkki Oy").await;
    let theirs = app
        .post(
            "/api/v1/requests",
            &customer_admin,
            json!({ "kind": "erasure", "email": "other@example.fi" }),
        )
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);

    // The setup page names the person; a form from elsewhere is refused; a weak password too.
    let link = invited(app, operator, "dpo@example.fi", Role::Dpo).await;
    let page = get(app, &format!("/console/setup?t={link}"), None).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("set-cookie").is_none());
    assert!(page.text().await.expect("page").contains("dpo@example.fi"));
    let elsewhere = post(
        app,
        "/console/setup",
        "https://evil.example",
        None,
        &[("t", &link), ("password", GOOD), ("again", GOOD)],
    )
    .await;
    assert_eq!(elsewhere.status(), 403);
    let weak = post(
        app,
        "/console/setup",
        ORIGIN,
        None,
        &[
            ("t", &link),
            ("password", "password1234"),
            ("again", "password1234"),
        ],
    )
    .await;
    assert_eq!(weak.status(), 422);
    assert!(
        weak.text()
            .await
            .expect("page")
            .contains("too easy to guess")
    );
    let differ = post(
        app,
        "/console/setup",
        ORIGIN,
        None,
        &[
            ("t", &link),
            ("password", GOOD),
            ("again", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(differ.status(), 422);
    let set = post(
        app,
        "/console/setup",
        ORIGIN,
        None,
        &[("t", &link), ("password", GOOD), ("again", GOOD)],
    )
    .await;
    assert_eq!(set.status(), 200);
    assert_eq!(
        get(app, &format!("/console/setup?t={link}"), None)
            .await
            .status(),
        404,
        "spent"
    );

    // Not signed in, the console sends to the sign-in page; `/` leads to the console.
    let away = get(app, "/console", None).await;
    assert_eq!(away.status(), 303);
    assert_eq!(away.headers()["location"], "/console/sign-in");
    assert_eq!(get(app, "/", None).await.headers()["location"], "/console");
    let planted = "ab".repeat(32);
    assert_eq!(
        get(app, "/console", Some(&planted)).await.status(),
        303,
        "a token the server never issued"
    );

    // Signing in gives a new token every time, never the one a browser held before.
    let token = sign_in(app, "dpo@example.fi", GOOD)
        .await
        .expect("signed in");
    assert_ne!(token, planted);
    let again = sign_in(app, "dpo@example.fi", GOOD)
        .await
        .expect("signed in");
    assert_ne!(token, again);
    let overview = get(app, "/console", Some(&token)).await;
    assert_eq!(overview.status(), 200);
    let csp = overview.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = overview.text().await.expect("page");
    assert!(html.contains("2 open requests"), "{html}");
    assert!(
        html.contains("Tilitoimisto Esimerkki Oy"),
        "the operator's staff see every queue"
    );
    assert!(
        !html.contains("asker@example.fi"),
        "the queue shows no address"
    );

    // A customer's user sees their own tenant's queue only.
    let theirs_token = ready(
        app,
        customer.parse().map(TenantId).expect("tenant"),
        "dpo@tilitoimisto.example",
        Role::Dpo,
    )
    .await;
    let html = get(app, "/console", Some(&theirs_token))
        .await
        .text()
        .await
        .expect("page");
    assert!(html.contains("1 open request,"), "{html}");
    // The promise check is the operator's to read: its DPO, not a customer's.
    let promises = get(app, "/console/promises", Some(&token)).await;
    assert_eq!(promises.status(), 200);
    let html = promises.text().await.expect("page");
    assert!(
        html.contains("Promise check: ") && html.contains("promises kept"),
        "{html}"
    );
    assert_eq!(
        get(app, "/console/promises", Some(&theirs_token))
            .await
            .status(),
        403
    );
    assert_eq!(get(app, "/console/promises", None).await.status(), 303);
    // An auditor does not handle requests.
    let auditor = ready(app, operator, "audit@example.fi", Role::Auditor).await;
    let html = get(app, "/console", Some(&auditor))
        .await
        .text()
        .await
        .expect("page");
    assert!(html.contains("does not handle requests"), "{html}");

    // Sign-out: refused from another origin, ignored without this session's CSRF token, and
    // the end of the session with it.
    let csrf = ombud_app::console::csrf_token(&token);
    assert_eq!(
        post(
            app,
            "/console/sign-out",
            "https://evil.example",
            Some(&token),
            &[("csrf", &csrf)]
        )
        .await
        .status(),
        403
    );
    assert_eq!(get(app, "/console", Some(&token)).await.status(), 200);
    let forged = post(
        app,
        "/console/sign-out",
        ORIGIN,
        Some(&token),
        &[("csrf", &ombud_app::console::csrf_token(&again))],
    )
    .await;
    assert_eq!(forged.status(), 303);
    assert_eq!(
        get(app, "/console", Some(&token)).await.status(),
        200,
        "another session's CSRF token ends nothing"
    );
    let out = post(
        app,
        "/console/sign-out",
        ORIGIN,
        Some(&token),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Max-Age=0")
    );
    assert_eq!(
        get(app, "/console", Some(&token)).await.status(),
        303,
        "the session is over"
    );

    // Five wrong passwords lock the account; the page says until when, in the controller's zone.
    for _ in 0..4 {
        let (status, html) = sign_in(app, "dpo@example.fi", "not the password at all")
            .await
            .expect_err("wrong");
        assert_eq!(status, 422);
        assert!(html.contains("The address or the password is wrong."));
    }
    let (status, html) = sign_in(app, "dpo@example.fi", "not the password at all")
        .await
        .expect_err("locked");
    assert_eq!(status, 422);
    assert!(
        html.contains("locked until 1 March 2026, 12:15 EET"),
        "{html}"
    );
    let (_, html) = sign_in(app, "nobody@example.fi", GOOD)
        .await
        .expect_err("unknown");
    assert!(html.contains("The address or the password is wrong."));
    assert_eq!(
        post(
            app,
            "/console/sign-in",
            "https://evil.example",
            None,
            &[("email", "dpo@example.fi"), ("password", GOOD)]
        )
        .await
        .status(),
        403
    );

    // Each step is on record, and no address is.
    let entries = app
        .get(
            "/api/v1/audit?action=console.sign_in&limit=100",
            &app.admin_key,
        )
        .await;
    assert_eq!(entries.status, 200);
    assert!(entries.body["entries"].as_array().expect("entries").len() >= 2);
    let all = app
        .get("/api/v1/audit?limit=1000", &app.admin_key)
        .await
        .body
        .to_string();
    assert!(all.contains("console.sign_out") && all.contains("console.locked"));
    assert!(!all.contains("dpo@example.fi"));
}

#[tokio::test]
async fn the_console_signs_in_with_a_password_set_through_the_setup_link_on_sqlite() {
    let app = spawn_app().await;
    console(&app).await;
}

#[tokio::test]
async fn the_console_signs_in_with_a_password_set_through_the_setup_link_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = spawn_app_on_postgres(&url).await;
    console(&app).await;
    std::mem::forget(Arc::clone(&app.store));
}
