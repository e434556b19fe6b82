//! The privacy portal as a person's browser meets it, without a browser: plain forms, redirects,
//! signed links, no cookies and no scripts.

mod common;

use common::{TestApp, spawn_app};
use serde_json::json;

/// A client that shows redirects instead of following them, like a test of a form should.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

struct Page {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    html: String,
}

async fn get(app: &TestApp, path: &str) -> Page {
    page(browser().get(format!("{}{path}", app.address)).send().await).await
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Page {
    page(
        browser()
            .post(format!("{}{path}", app.address))
            .form(form)
            .send()
            .await,
    )
    .await
}

async fn page(response: reqwest::Result<reqwest::Response>) -> Page {
    let response = response.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .map(|v| v.to_str().expect("ascii").to_owned());
    Page {
        status,
        location,
        headers,
        html: response.text().await.expect("body"),
    }
}

async fn queue(app: &TestApp, key: &str) -> Vec<serde_json::Value> {
    let listed = app.get("/api/v1/requests", key).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["requests"]
        .as_array()
        .expect("a list")
        .to_owned()
}

#[tokio::test]
async fn the_form_names_the_controller_offers_each_right_and_runs_nothing() {
    let app = spawn_app().await;
    let form = get(&app, "/privacy").await;
    assert_eq!(form.status, 200);
    for needed in [
        "Laskuri Pilvi Oy",
        "value=\"access\"",
        "value=\"erasure\"",
        "value=\"consent_withdrawal\"",
        "for=\"email\"",
        "Tietosuojavaltuutettu",
        "lang=\"en\"",
    ] {
        assert!(form.html.contains(needed), "the form has {needed}");
    }
    // The period is counted as the policy counts it, in the notice's own words.
    assert!(
        form.html
            .contains("answers within 1 month of receiving your request."),
        "the form states the period from receipt, as the notice does"
    );
    assert!(!form.html.contains("of confirming who you are"));
    // What the form promises about withdrawing consent and objecting to direct marketing is
    // what the rights desk does on confirmation (tests/requests.rs).
    assert!(form.html.contains("it takes effect as soon as you confirm"));
    assert!(
        form.html
            .contains("direct marketing stops as soon as you confirm")
    );
    assert!(!form.html.contains("<script"), "no scripts");
    assert!(form.headers.get("set-cookie").is_none(), "no cookies");
    let csp = form.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(form.headers["referrer-policy"], "no-referrer");
    assert_eq!(form.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a_request_is_filed_confirmed_with_the_code_and_followed_on_its_status_page() {
    let app = spawn_app().await;
    let filed = post(
        &app,
        "/privacy/requests",
        &[("kind", "access"), ("email", "Mia.Korhonen@example.fi")],
    )
    .await;
    assert_eq!(filed.status, 303, "{}", filed.html);
    let status_path = filed.location.expect("a redirect to the status page");
    assert!(
        status_path.starts_with("/privacy/status?t="),
        "{status_path}"
    );

    let waiting = get(&app, &status_path).await;
    assert_eq!(waiting.status, 200);
    assert!(waiting.html.contains("Waiting for you to confirm"));
    assert!(
        !waiting.html.to_lowercase().contains("mia.korhonen"),
        "the status page shows nothing of the person"
    );
    let token = status_path.trim_start_matches("/privacy/status?t=");

    let wrong = post(
        &app,
        "/privacy/status/confirm",
        &[("t", token), ("code", "000000")],
    )
    .await;
    let code = app.code_from_outbox().await;
    if code != "000000" {
        assert_eq!(wrong.status, 422);
        assert!(wrong.html.contains("2 tries left"), "{}", wrong.html);
    }
    let empty = post(
        &app,
        "/privacy/status/confirm",
        &[("t", token), ("code", " ")],
    )
    .await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains("Enter the code"));

    // A new code: not at once (the page says from when), but once the first has expired; it
    // keeps the request and the day it was received.
    assert!(empty.html.contains("Send me a new code"));
    let too_soon = post(&app, "/privacy/status/code", &[("t", token)]).await;
    assert_eq!(too_soon.status, 422);
    assert!(
        too_soon.html.contains("5 minutes after the last one"),
        "{}",
        too_soon.html
    );
    app.clock.advance(jiff::SignedDuration::from_mins(31));
    let resent = post(&app, "/privacy/status/code", &[("t", token)]).await;
    assert_eq!(resent.status, 303);
    assert_eq!(resent.location.as_deref(), Some(status_path.as_str()));
    let code = app.code_from_outbox().await;

    let confirmed = post(
        &app,
        "/privacy/status/confirm",
        &[("t", token), ("code", &code)],
    )
    .await;
    assert_eq!(confirmed.status, 303);
    assert_eq!(confirmed.location.as_deref(), Some(status_path.as_str()));
    let now = get(&app, &status_path).await;
    assert!(now.html.contains("Confirmed on"), "{}", now.html);
    assert!(
        !now.html.contains("name=\"code\""),
        "no code form once confirmed"
    );

    let requests = queue(&app, &app.admin_key).await;
    assert_eq!(requests.len(), 1, "the operator's own queue has it");
    assert_eq!(requests[0]["status"], "verified");
    assert_eq!(requests[0]["channel"], "portal");
}

/// What a form sends.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn a_form_with_a_mistake_comes_back_with_the_field_named_and_nothing_is_filed() {
    let app = spawn_app().await;
    let cases: [(Form, &str, &str); 5] = [
        (
            &[("email", "a@example.fi")],
            "#kind",
            "Choose what you would like us to do",
        ),
        (
            &[("kind", "sell"), ("email", "a@example.fi")],
            "#kind",
            "Choose one of the requests listed",
        ),
        (&[("kind", "access")], "#email", "Give your email address"),
        (
            &[("kind", "access"), ("email", "not an address")],
            "#email",
            "mail",
        ),
        (
            &[("kind", "consent_withdrawal"), ("email", "a@example.fi")],
            "#purpose",
            "names the purpose",
        ),
    ];
    for (form, anchor, message) in cases {
        let answer = post(&app, "/privacy/requests", form).await;
        assert_eq!(answer.status, 422, "{form:?}");
        assert!(
            answer.html.contains(&format!("href=\"{anchor}\"")),
            "{form:?}: {}",
            answer.html
        );
        assert!(
            answer.html.contains(message),
            "{form:?} says {message}: {}",
            answer.html
        );
        assert!(answer.html.contains("aria-invalid=\"true\"") || anchor == "#kind");
    }
    let kept = post(
        &app,
        "/privacy/requests",
        &[("kind", "access"), ("email", "not an address")],
    )
    .await;
    assert!(
        kept.html.contains("value=\"not an address\""),
        "what was typed stays"
    );
    assert!(
        kept.html.contains("value=\"access\" checked"),
        "the choice stays"
    );
    assert!(
        queue(&app, &app.admin_key).await.is_empty(),
        "nothing was filed"
    );
}

#[tokio::test]
async fn a_link_that_was_changed_or_names_no_tenant_of_ours_leads_nowhere() {
    let app = spawn_app().await;
    let filed = post(
        &app,
        "/privacy/requests",
        &[("kind", "access"), ("email", "a@example.fi")],
    )
    .await;
    let path = filed.location.expect("status page");
    let mut forged = path.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == '0' { '1' } else { '0' });
    for bad in [
        forged.as_str(),
        "/privacy/status",
        "/privacy/status?t=nonsense",
        "/privacy?tenant=0199aaaa-0000-7000-8000-000000000000",
        "/privacy?tenant=not-a-uuid",
    ] {
        let page = get(&app, bad).await;
        assert_eq!(page.status, 404, "{bad}");
    }
    let forged_token = forged.trim_start_matches("/privacy/status?t=");
    let confirm = post(
        &app,
        "/privacy/status/confirm",
        &[("t", forged_token), ("code", "123456")],
    )
    .await;
    assert_eq!(confirm.status, 404);
    let new_code = post(&app, "/privacy/status/code", &[("t", forged_token)]).await;
    assert_eq!(new_code.status, 404, "a changed link sends no code");
}

#[tokio::test]
async fn a_customers_portal_files_into_that_customers_queue() {
    let app = spawn_app().await;
    let (tenant, admin) = app.tenant_with_admin("Asiakas Oy").await;
    let form = get(&app, &format!("/privacy?tenant={tenant}")).await;
    assert_eq!(form.status, 200);
    assert!(
        form.html
            .contains(&format!("name=\"tenant\" value=\"{tenant}\""))
    );
    let filed = post(
        &app,
        "/privacy/requests",
        &[
            ("tenant", tenant.as_str()),
            ("kind", "erasure"),
            ("email", "b@example.fi"),
        ],
    )
    .await;
    assert_eq!(filed.status, 303, "{}", filed.html);
    assert_eq!(queue(&app, &admin).await.len(), 1, "the customer decides");
    assert!(
        queue(&app, &app.admin_key).await.is_empty(),
        "not the operator's queue"
    );
}

#[tokio::test]
async fn a_download_page_spends_nothing_and_the_button_hands_the_file_out_once() {
    let app = spawn_app().await;
    let service = app.key(&app.admin_key, "service").await;
    let subject = app
        .post(
            "/api/v1/subjects",
            &service,
            json!({ "identities": [{ "kind": "email", "value": "c@example.fi" }] }),
        )
        .await;
    let subject = subject.body["id"].as_str().expect("id").to_owned();
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": "access", "subject": subject, "email": "c@example.fi", "verified": true }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id");
    let done = app
        .post(
            &format!("/api/v1/requests/{id}/fulfil"),
            &app.admin_key,
            json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let path = done.body["download_url"]
        .as_str()
        .expect("link")
        .trim_start_matches("http://ombud.test")
        .to_owned();
    for _ in 0..2 {
        let page = get(&app, &path).await;
        assert_eq!(page.status, 200);
        assert!(page.html.contains("can be downloaded once"));
        assert!(page.html.contains(&format!("action=\"{path}\"")));
    }
    let file = browser()
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .expect("answers");
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/zip");
    assert!(file.bytes().await.expect("zip").starts_with(b"PK"));
    assert_eq!(get(&app, &path).await.status, 410);
    let again = post(&app, &path, &[]).await;
    assert_eq!(again.status, 410);
    assert!(again.html.contains("used or has expired"));
}

#[tokio::test]
async fn the_status_page_gives_the_laws_last_day_where_a_holiday_moves_it() {
    let app = spawn_app().await;
    // Filed on 3 March 2026: the policy's month ends on Good Friday, 3 April; the law's last
    // day moves past Easter to Tuesday 7 April (Reg. 1182/71 Art. 3(4)).
    app.clock.advance(jiff::SignedDuration::from_hours(48));
    let filed = post(
        &app,
        "/privacy/requests",
        &[("kind", "access"), ("email", "pekka@example.fi")],
    )
    .await;
    let status = get(&app, &filed.location.expect("status page")).await;
    assert_eq!(status.status, 200);
    assert!(
        status.html.contains("the end of 3 April 2026 (EEST)"),
        "{}",
        status.html
    );
    assert!(
        status.html.contains("The law gives us until"),
        "{}",
        status.html
    );
    assert!(
        status.html.contains("the end of 7 April 2026 (EEST)"),
        "{}",
        status.html
    );
}

/// Art. 13(1)(a)–(b) and 14(1)(a)–(b): a customer's people learn who the controller of their
/// data is and how to reach it. The customer's portal and mails name the customer, with the
/// details it gave, and the operator as the processor that answers for it; the operator's own
/// address, authority and purposes are not presented as the customer's.
#[tokio::test]
async fn a_customers_portal_and_mails_speak_for_the_customer_with_the_operator_as_its_processor() {
    let app = spawn_app().await;
    let (tenant, admin) = app.tenant_with_admin("Asiakas Oy").await;
    let patch = |key: String, tenant: String, body: serde_json::Value| {
        let app = &app;
        async move {
            app.call(
                reqwest::Method::PATCH,
                &format!("/api/v1/tenants/{tenant}"),
                Some(&key),
                None,
                Some(body),
            )
            .await
        }
    };

    // Before any details: the customer is named, and nothing of the operator's is borrowed.
    let bare = get(&app, &format!("/privacy?tenant={tenant}")).await;
    assert_eq!(bare.status, 200);
    assert!(
        bare.html
            .contains("Asiakas Oy is the controller of your personal data")
    );
    assert!(bare.html.contains("in the EU country where you live"));
    assert!(
        !bare.html.contains("Tietosuojavaltuutettu"),
        "not the operator's authority"
    );

    let updated = patch(
        app.admin_key.clone(),
        tenant.clone(),
        json!({
            "display_name": "Asiakas",
            "colour": "#145C2E",
            "address": "Esimerkkitie 5, 90100 Oulu, Finland",
            "contact": "Tietosuoja@Asiakas.example",
            "dpo": "Åsa Lind",
            "authority": "Integritetsskyddsmyndigheten (IMY)",
            "notice_url": "https://asiakas.example/tietosuoja"
        }),
    )
    .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(
        updated.body["profile"]["contact"],
        "tietosuoja@asiakas.example"
    );
    assert_eq!(updated.body["profile"]["colour"], "#145c2e");

    let form = get(&app, &format!("/privacy?tenant={tenant}")).await;
    assert_eq!(form.status, 200);
    for needed in [
        "<strong>Asiakas</strong>",
        "Asiakas Oy is the controller of your personal data",
        "Laskuri Pilvi Oy provides its service as its processor and handles requests about your data on its behalf",
        "Laskuri Pilvi Oy, on behalf of Asiakas Oy, answers within 1 month",
        "Esimerkkitie 5, 90100 Oulu, Finland",
        "Questions about your data: tietosuoja@asiakas.example",
        "Data protection officer: Åsa Lind",
        "Integritetsskyddsmyndigheten (IMY)",
        "href=\"https://asiakas.example/tietosuoja\"",
        "background:#145c2e",
        "Processing our customers' data on their behalf to provide the service",
        "rests on the legitimate interests of Asiakas Oy",
    ] {
        assert!(
            form.html.contains(needed),
            "the customer's portal has {needed}:\n{}",
            form.html
        );
    }
    for absent in [
        "privacy@laskuripilvi.example",
        "Tietosuojavaltuutettu",
        "Marketing our services to businesses",
    ] {
        assert!(
            !form.html.contains(absent),
            "the customer's portal shows no {absent}"
        );
    }
    // The operator's own portal is unchanged.
    let own = get(&app, "/privacy").await;
    assert!(own.html.contains("Tietosuojavaltuutettu") && !own.html.contains("Asiakas"));

    let filed = post(
        &app,
        "/privacy/requests",
        &[
            ("tenant", tenant.as_str()),
            ("kind", "access"),
            ("email", "henkilo@example.fi"),
        ],
    )
    .await;
    assert_eq!(filed.status, 303, "{}", filed.html);
    let status = get(&app, filed.location.as_deref().expect("status page")).await;
    assert!(status.html.contains("Asiakas Oy is the controller"));
    let mails = app.drain_outbox().await;
    let (_, _, body) = mails
        .iter()
        .find(|(_, template, _)| template == "request_code")
        .expect("a code was mailed");
    for needed in [
        "\nAsiakas Oy\nEsimerkkitie 5, 90100 Oulu, Finland\nPrivacy contact: tietosuoja@asiakas.example\nData protection officer: Åsa Lind\n",
        "Sent by Laskuri Pilvi Oy, which handles requests about your data for Asiakas Oy as its processor.",
    ] {
        assert!(body.contains(needed), "the mail has {needed}:\n{body}");
    }

    // The customer's own admin may keep its details; another customer's key sees no such
    // tenant; the operator's tenant takes its details from the policy; a bad value changes
    // nothing.
    let own_change = patch(admin.clone(), tenant.clone(), json!({ "dpo": null })).await;
    assert_eq!(own_change.status, 200, "{:?}", own_change.body);
    assert!(own_change.body["profile"].get("dpo").is_none());
    let (other, other_admin) = app.tenant_with_admin("Toinen Oy").await;
    let probing = patch(other_admin, tenant.clone(), json!({ "dpo": "x" })).await;
    assert_eq!(probing.status, 404);
    let operator = app.operator().await.0.to_string();
    let refused = patch(app.admin_key.clone(), operator, json!({ "dpo": "x" })).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["field"], "tenant");
    for (body, field) in [
        (
            json!({ "colour": "#ffdd00", "address": "elsewhere" }),
            "colour",
        ),
        (json!({ "notice_url": "javascript:alert(1)" }), "notice_url"),
        (json!({ "contact": "not an address" }), "contact"),
        (json!({ "name": "" }), "name"),
    ] {
        let bad = patch(app.admin_key.clone(), tenant.clone(), body).await;
        assert_eq!(bad.status, 422, "{:?}", bad.body);
        assert_eq!(bad.body["field"], field);
    }
    let unknown = patch(
        app.admin_key.clone(),
        tenant.clone(),
        json!({ "logo": "x" }),
    )
    .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
    let shown = app
        .get(&format!("/api/v1/tenants/{tenant}"), &app.admin_key)
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.body["profile"]["address"],
        "Esimerkkitie 5, 90100 Oulu, Finland"
    );
    assert_eq!(shown.body["name"], "Asiakas Oy");
    let hidden = app.get(&format!("/api/v1/tenants/{other}"), &admin).await;
    assert_eq!(
        hidden.status, 404,
        "a customer's key sees only its own tenant"
    );
}
