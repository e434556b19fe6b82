//! The console's settings over HTTP, for admins: a user invited with a setup link shown once,
//! reset and disabled (never oneself); an API key created with its secret shown once — and
//! working — then revoked and refused; a customer tenant created and its details as controller
//! saved (a bad colour refused, nothing written); a customer's admin confined to its tenant;
//! a DPO refused — on SQLite and PostgreSQL.

mod common;

use common::console::{ORIGIN, csrf_in, get, location, page_of, post, ready, ready_admin};
use common::{TestApp, spawn_app};
use ombud_store::model::{Role, TenantId};

/// What a page shows once: the setup link or the secret.
fn once(page: &str) -> String {
    page.split("id=\"once\" class=\"wrap\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("shown once")
        .to_owned()
}

async fn settings(app: &TestApp) {
    let operator = app.operator().await;
    let admin = ready_admin(app, operator, "admin@example.fi").await;
    let dpo = ready(app, operator, "dpo@example.fi", Role::Dpo).await;
    assert_eq!(
        get(app, "/console/settings", Some(&dpo)).await.status(),
        403
    );
    let (status, page) = page_of(app, "/console/settings", &admin).await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_in(&page);
    let tenant = operator.to_string();

    // A user invited: the link once, and it works.
    let invited = post(
        app,
        "/console/settings/users",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("email", "new.agent@example.fi"),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(invited.status(), 201);
    let link = once(&invited.text().await.expect("page"));
    assert!(
        link.starts_with("http://ombud.test/console/setup?t="),
        "{link}"
    );
    let setup = get(app, link.trim_start_matches("http://ombud.test"), None).await;
    assert_eq!(setup.status(), 200);
    let (_, page) = page_of(app, "/console/settings", &admin).await;
    assert!(!page.contains(&link), "the link is not shown again");
    let twice = post(
        app,
        "/console/settings/users",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("email", "new.agent@example.fi"),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(twice.status(), 422);
    let service = post(
        app,
        "/console/settings/users",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("email", "bot@example.fi"),
            ("role", "service"),
        ],
    )
    .await;
    assert_eq!(service.status(), 422, "service is no console role");

    // Disable: another user yes, oneself no.
    let users = {
        let store = std::sync::Arc::clone(&app.store);
        tokio::task::spawn_blocking(move || store.users(operator).expect("users"))
            .await
            .expect("joined")
    };
    let me = users
        .iter()
        .find(|u| u.email.expose() == "admin@example.fi")
        .expect("me");
    let them = users
        .iter()
        .find(|u| u.email.expose() == "dpo@example.fi")
        .expect("dpo");
    let myself = post(
        app,
        &format!("/console/settings/users/{}/disable", me.id),
        ORIGIN,
        Some(&admin),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(myself.status(), 422);
    let disabled = post(
        app,
        &format!("/console/settings/users/{}/disable", them.id),
        ORIGIN,
        Some(&admin),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(disabled.status(), 303);
    assert_eq!(
        get(app, "/console", Some(&dpo)).await.status(),
        303,
        "a disabled user's session is gone"
    );

    // An API key: the secret once, it works; revoked, it is refused.
    let created = post(
        app,
        "/console/settings/keys",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("name", "billing app"),
            ("role", "service"),
        ],
    )
    .await;
    assert_eq!(created.status(), 201);
    let secret = once(&created.text().await.expect("page"));
    let works = app
        .post(
            "/api/v1/subjects",
            &secret,
            serde_json::json!({ "identities": [{ "kind": "email", "value": "k@example.fi" }] }),
        )
        .await;
    assert_eq!(works.status, 201, "{:?}", works.body);
    let (_, page) = page_of(app, "/console/settings", &admin).await;
    assert!(!page.contains(&secret), "the secret is not shown again");
    let keys = app.get("/api/v1/keys", &app.admin_key).await;
    let key = keys.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"] == "billing app")
        .expect("the key")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let revoked = post(
        app,
        &format!("/console/settings/keys/{key}/revoke"),
        ORIGIN,
        Some(&admin),
        &[("csrf", &csrf), ("tenant", &tenant)],
    )
    .await;
    assert_eq!(revoked.status(), 303);
    let refused = app
        .post(
            "/api/v1/subjects",
            &secret,
            serde_json::json!({ "identities": [{ "kind": "email", "value": "k2@example.fi" }] }),
        )
        .await;
    assert_eq!(refused.status, 401);
    let forged = post(
        app,
        "/console/settings/keys",
        "https://evil.example",
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("name", "x"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(forged.status(), 403);

    // A tenant created, its details saved; a bad colour refused with nothing written.
    let made = post(
        app,
        "/console/settings/tenants",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("name", "Tilitoimisto Esimerkki Oy"),
        ],
    )
    .await;
    assert_eq!(made.status(), 303);
    let customer = location(&made)
        .split("tenant=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the new tenant")
        .to_owned();
    let customer_id: TenantId = customer.parse().expect("a tenant id");
    let profile = |colour: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("tenant", customer.clone()),
            ("name", "Tilitoimisto Esimerkki Oy".to_owned()),
            ("display_name", "Esimerkki".to_owned()),
            ("colour", colour.to_owned()),
            ("address", "Esimerkkikatu 1, 00100 Helsinki".to_owned()),
            ("registration", "1234567-8".to_owned()),
            ("contact", "tietosuoja@esimerkki.fi".to_owned()),
            ("dpo", "".to_owned()),
            ("authority", "".to_owned()),
            ("authority_website", "".to_owned()),
            ("notice_url", "".to_owned()),
        ]
    };
    let bad = profile("#ffff00");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = post(
        app,
        &format!("/console/settings/tenants/{customer}"),
        ORIGIN,
        Some(&admin),
        &bad,
    )
    .await;
    assert_eq!(refused.status(), 422);
    let shown = app
        .get(&format!("/api/v1/tenants/{customer}"), &app.admin_key)
        .await;
    assert!(
        shown.body["profile"]["address"].is_null(),
        "nothing written: {:?}",
        shown.body
    );
    let good = profile("#0b57d0");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = post(
        app,
        &format!("/console/settings/tenants/{customer}"),
        ORIGIN,
        Some(&admin),
        &good,
    )
    .await;
    assert_eq!(saved.status(), 303);
    let shown = app
        .get(&format!("/api/v1/tenants/{customer}"), &app.admin_key)
        .await;
    assert_eq!(
        shown.body["profile"]["address"],
        "Esimerkkikatu 1, 00100 Helsinki"
    );
    assert_eq!(shown.body["profile"]["colour"], "#0b57d0");

    // Its service contacts: added by address (registered in the operator's tenant), removed.
    let bad = post(
        app,
        "/console/settings/contacts",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &customer),
            ("email", "not an address"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let added = post(
        app,
        "/console/settings/contacts",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &customer),
            ("email", "IT@Esimerkki.fi"),
        ],
    )
    .await;
    assert_eq!(added.status(), 303);
    let contacts = app
        .get(
            &format!("/api/v1/tenants/{customer}/contacts"),
            &app.admin_key,
        )
        .await;
    let contact = contacts.body["contacts"][0]
        .as_str()
        .expect("a contact")
        .to_owned();
    let (_, page) = page_of(app, &format!("/console/settings?tenant={customer}"), &admin).await;
    assert!(
        page.contains("Service contacts of") && !page.contains("it@esimerkki.fi"),
        "masked: {page}"
    );
    let removed = post(
        app,
        &format!("/console/settings/contacts/{contact}/remove"),
        ORIGIN,
        Some(&admin),
        &[("csrf", &csrf), ("tenant", &customer)],
    )
    .await;
    assert_eq!(removed.status(), 303);
    let contacts = app
        .get(
            &format!("/api/v1/tenants/{customer}/contacts"),
            &app.admin_key,
        )
        .await;
    assert_eq!(contacts.body["contacts"], serde_json::json!([]));

    // A form that makes a secret is carried out once: sent again (a reload), it makes nothing.
    let (_, page) = page_of(app, "/console/settings", &admin).await;
    let once = page
        .split("name=\"once\" value=\"")
        .nth(2)
        .and_then(|rest| rest.split('"').next())
        .expect("the key form's one-time value")
        .to_owned();
    let first = post(
        app,
        "/console/settings/keys",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("once", &once),
            ("name", "reporting"),
            ("role", "auditor"),
        ],
    )
    .await;
    assert_eq!(first.status(), 201);
    let again = post(
        app,
        "/console/settings/keys",
        ORIGIN,
        Some(&admin),
        &[
            ("csrf", &csrf),
            ("tenant", &tenant),
            ("once", &once),
            ("name", "reporting"),
            ("role", "auditor"),
        ],
    )
    .await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.expect("page").contains("sent already"));
    let keys = app.get("/api/v1/keys", &app.admin_key).await;
    let reporting = keys.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["name"] == "reporting")
        .count();
    assert_eq!(reporting, 1, "one key, not two");

    // A customer's admin manages its own tenant and no other.
    let theirs = ready_admin(app, customer_id, "admin@esimerkki.fi").await;
    let (status, page) = page_of(app, "/console/settings", &theirs).await;
    assert_eq!(status, 200);
    assert!(page.contains("Tilitoimisto Esimerkki Oy") && !page.contains("Tenants</h2>"));
    let (status, _) = page_of(
        app,
        &format!("/console/settings?tenant={operator}"),
        &theirs,
    )
    .await;
    assert_eq!(status, 422);
    let their_csrf = csrf_in(&page);
    let elsewhere = post(
        app,
        "/console/settings/keys",
        ORIGIN,
        Some(&theirs),
        &[
            ("csrf", &their_csrf),
            ("tenant", &tenant),
            ("name", "sneaky"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(elsewhere.status(), 422);
    let no_tenants = post(
        app,
        "/console/settings/tenants",
        ORIGIN,
        Some(&theirs),
        &[
            ("csrf", &their_csrf),
            ("tenant", &customer),
            ("name", "Another"),
        ],
    )
    .await;
    assert_eq!(no_tenants.status(), 403);
}

#[tokio::test]
async fn the_console_settings_manage_users_keys_and_tenants_on_sqlite() {
    let app = spawn_app().await;
    settings(&app).await;
}

#[tokio::test]
async fn the_console_settings_manage_users_keys_and_tenants_on_postgresql() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let app = common::spawn_app_on_postgres(&url).await;
    settings(&app).await;
}
