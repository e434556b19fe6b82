//! Console helpers: a user invited and signed in over HTTP, forms posted from the console's
//! own origin with the session cookie.

use super::TestApp;
use ombud_core::Clock;
use ombud_store::model::{Role, TenantId};
use std::sync::Arc;

pub const ORIGIN: &str = "http://ombud.test";
pub const GOOD: &str = "copper kettle orbits quietly";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A console user of `tenant` with `role`, and their setup link's token.
pub async fn invited(app: &TestApp, tenant: TenantId, email: &str, role: Role) -> String {
    let (store, now, email) = (Arc::clone(&app.store), app.clock.now(), email.to_owned());
    tokio::task::spawn_blocking(move || {
        ombud_app::console::create_user(
            store.as_ref(),
            tenant,
            &email,
            role,
            &ombud_store::Actor::Cli,
            now,
        )
        .map(|c| c.setup_token.to_string())
    })
    .await
    .expect("joined")
    .expect("created")
}

pub async fn post(
    app: &TestApp,
    path: &str,
    origin: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}{path}", app.address))
        .header("origin", origin)
        .form(form);
    if let Some(token) = cookie {
        request = request.header("cookie", format!("__Host-ombud_console={token}"));
    }
    request.send().await.expect("answers")
}

pub async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", app.address));
    if let Some(token) = cookie {
        request = request.header("cookie", format!("__Host-ombud_console={token}"));
    }
    request.send().await.expect("answers")
}

/// Sets the password through the link and signs in; the session token from the cookie.
pub async fn ready(app: &TestApp, tenant: TenantId, email: &str, role: Role) -> String {
    let link = invited(app, tenant, email, role).await;
    let set = post(
        app,
        "/console/setup",
        ORIGIN,
        None,
        &[("t", &link), ("password", GOOD), ("again", GOOD)],
    )
    .await;
    assert_eq!(set.status(), 200);
    sign_in(app, email, GOOD).await.expect("signed in")
}

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Result<String, (u16, String)> {
    let answer = post(
        app,
        "/console/sign-in",
        ORIGIN,
        None,
        &[("email", email), ("password", password)],
    )
    .await;
    let status = answer.status().as_u16();
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match (status, cookie) {
        (303, Some(cookie)) => {
            assert!(
                cookie.ends_with("; Path=/; Secure; HttpOnly; SameSite=Strict"),
                "{cookie}"
            );
            let token = cookie
                .strip_prefix("__Host-ombud_console=")
                .and_then(|rest| rest.split(';').next())
                .expect("the token")
                .to_owned();
            assert_eq!(token.len(), 64);
            Ok(token)
        }
        _ => Err((status, answer.text().await.unwrap_or_default())),
    }
}

/// The code an authenticator app shows at `at` for a base32 key.
pub fn totp_code(secret: &str, at: jiff::Timestamp) -> String {
    let key = totp_rs::Secret::try_from_base32(secret.replace(' ', "")).expect("base32");
    totp_rs::Builder::new()
        .with_secret(key)
        .build()
        .expect("totp")
        .generate(u64::try_from(at.as_second()).expect("after 1970"))
        .to_string()
}

/// An admin with a password and the second factor admins must have, signed in; the session
/// token. The clock moves on 30 seconds so that sign-in uses a code setup did not spend.
pub async fn ready_admin(app: &TestApp, tenant: TenantId, email: &str) -> String {
    let link = invited(app, tenant, email, Role::Admin).await;
    let (store, now, token) = (Arc::clone(&app.store), app.clock.now(), link.clone());
    let secret = tokio::task::spawn_blocking(move || {
        let user = ombud_app::console::setup_user(store.as_ref(), &token, now).expect("a user");
        ombud_app::console::enrolment(&token, &user)
            .expect("enrolment")
            .secret
            .to_string()
    })
    .await
    .expect("joined");
    let code = totp_code(&secret, app.clock.now());
    let set = post(
        app,
        "/console/setup",
        ORIGIN,
        None,
        &[
            ("t", &link),
            ("password", GOOD),
            ("again", GOOD),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(set.status(), 200);
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let code = totp_code(&secret, app.clock.now());
    let answer = post(
        app,
        "/console/sign-in",
        ORIGIN,
        None,
        &[("email", email), ("password", GOOD), ("code", &code)],
    )
    .await;
    assert_eq!(answer.status(), 303, "an admin signs in with the code");
    answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.strip_prefix("__Host-ombud_console="))
        .and_then(|rest| rest.split(';').next())
        .expect("the session cookie")
        .to_owned()
}

/// A page's status and text, for the signed-in `cookie`.
pub async fn page_of(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let answer = get(app, path, Some(cookie)).await;
    (
        answer.status().as_u16(),
        answer.text().await.expect("a page"),
    )
}

/// The session's CSRF token, from the first form of a page.
pub fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with the session's token")
        .to_owned()
}

/// Where a redirect leads.
pub fn location(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The audit entries of `tenant` with `action`, oldest first.
pub async fn audited(
    app: &TestApp,
    tenant: TenantId,
    action: &str,
) -> Vec<ombud_store::audit::AuditEntry> {
    let (store, action) = (Arc::clone(&app.store), action.to_owned());
    tokio::task::spawn_blocking(move || {
        store
            .audit_entries(
                tenant,
                &ombud_store::audit::AuditFilter {
                    action: Some(action),
                    limit: 100,
                    ..ombud_store::audit::AuditFilter::default()
                },
            )
            .expect("audit")
    })
    .await
    .expect("joined")
}
