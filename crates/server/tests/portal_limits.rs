//! Portal abuse: one address cannot be flooded with codes, one client cannot file without end,
//! and codes cannot be guessed by filing again and again: every try for an address counts,
//! across its requests. Refusals say how long to wait (429, `Retry-After`).

mod common;

use common::{TestApp, spawn_app};
use jiff::SignedDuration;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Files an access request for `email` from the portal; the status and the redirect (or the
/// `Retry-After` of a refusal).
async fn file(app: &TestApp, email: &str) -> (u16, Option<String>, Option<u64>) {
    let response = browser()
        .post(format!("{}/privacy/requests", app.address))
        .form(&[("kind", "access"), ("email", email)])
        .send()
        .await
        .expect("answer");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    let (location, retry) = (
        header("location"),
        header("retry-after").map(|v| v.parse().expect("seconds")),
    );
    (response.status().as_u16(), location, retry)
}

async fn confirm(app: &TestApp, status_path: &str, code: &str) -> (u16, String) {
    let token = status_path.trim_start_matches("/privacy/status?t=");
    let response = browser()
        .post(format!("{}/privacy/status/confirm", app.address))
        .form(&[("t", token), ("code", code)])
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn a_flood_of_filings_to_one_address_mails_it_five_times_an_hour() {
    let app = spawn_app().await;
    let mut statuses = vec![];
    let mut retry = None;
    for _ in 0..300 {
        let (status, _, wait) = file(&app, "victim@example.fi").await;
        statuses.push(status);
        retry = retry.or(wait);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 295);
    assert!(
        retry.is_some_and(|s| s > 0 && s <= 12 * 60),
        "one filing comes back every 12 minutes: {retry:?}"
    );
    let mails = app.drain_outbox().await;
    assert_eq!(
        mails
            .iter()
            .filter(|(to, template, _)| to == "victim@example.fi" && template == "request_code")
            .count(),
        5,
        "five codes reached the address"
    );
    // The address is normalised before it is counted.
    assert_eq!(file(&app, " VICTIM@example.fi ").await.0, 429);
    // An hour later it can be used again.
    app.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(file(&app, "victim@example.fi").await.0, 303);
}

#[tokio::test]
async fn one_client_files_twenty_requests_an_hour() {
    let app = spawn_app().await;
    let mut statuses = vec![];
    for i in 0..25 {
        statuses.push(file(&app, &format!("person{i}@example.fi")).await.0);
    }
    assert_eq!(&statuses[..20], &[303; 20]);
    assert_eq!(&statuses[20..], &[429; 5]);
    let page = browser()
        .post(format!("{}/privacy/requests", app.address))
        .form(&[("kind", "access"), ("email", "late@example.fi")])
        .send()
        .await
        .expect("answer");
    assert_eq!(page.status().as_u16(), 429);
    let html = page.text().await.expect("body");
    assert!(
        html.contains("from your network") && html.contains("try again in"),
        "{html}"
    );
}

#[tokio::test]
async fn codes_cannot_be_guessed_by_filing_again() {
    let app = spawn_app().await;
    let mut tries = 0;
    let mut refused = None;
    // Each filing gives three tries before the request locks; filing again gives no new ones
    // beyond the address's ten a day.
    'filing: for _ in 0..5 {
        let (status, location, _) = file(&app, "aino@example.fi").await;
        assert_eq!(status, 303);
        let path = location.expect("status page");
        let code = app.code_from_outbox().await;
        let wrong = if code == "00000000" {
            "11111111"
        } else {
            "00000000"
        };
        for _ in 0..3 {
            let (status, html) = confirm(&app, &path, wrong).await;
            if status == 429 {
                refused = Some((path.clone(), code.clone(), html));
                break 'filing;
            }
            tries += 1;
        }
    }
    assert_eq!(tries, 10, "ten tries a day for the address");
    let (path, code, html) = refused.expect("the eleventh try was refused");
    assert!(html.contains("for this email address"), "{html}");
    // The right code is refused too while the address waits: the limit is on tries, not on
    // wrong ones only, so a correct guess cannot slip through.
    assert_eq!(confirm(&app, &path, &code).await.0, 429);
    app.clock.advance(SignedDuration::from_hours(24));
    let (status, location, _) = file(&app, "aino@example.fi").await;
    assert_eq!(status, 303);
    let path = location.expect("status page");
    let code = app.code_from_outbox().await;
    assert_eq!(
        confirm(&app, &path, &format!(" {} {} ", &code[..4], &code[4..]))
            .await
            .0,
        303,
        "a code typed in two groups is the code"
    );
}

#[tokio::test]
async fn codes_have_eight_digits() {
    let app = spawn_app().await;
    let (status, _, _) = file(&app, "eino@example.fi").await;
    assert_eq!(status, 303);
    let code = app.code_from_outbox().await;
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
}

/// Ten tabs confirming one request at the same moment: each is answered (confirmed, or the
/// request as it stands), none with a server error, and the request is verified once.
#[tokio::test]
async fn concurrent_confirmations_of_one_request_never_fail() {
    let app = spawn_app().await;
    let (status, location, _) = file(&app, "tuula@example.fi").await;
    assert_eq!(status, 303);
    let path = location.expect("status page");
    let code = app.code_from_outbox().await;
    let mut tabs = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (address, path, code) = (app.address.clone(), path.clone(), code.clone());
        tabs.spawn(async move {
            let token = path.trim_start_matches("/privacy/status?t=").to_owned();
            browser()
                .post(format!("{address}/privacy/status/confirm"))
                .form(&[("t", token.as_str()), ("code", code.as_str())])
                .send()
                .await
                .expect("answer")
                .status()
                .as_u16()
        });
    }
    let mut statuses = vec![];
    while let Some(status) = tabs.join_next().await {
        statuses.push(status.expect("joined"));
    }
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
    let requests = app.get("/api/v1/requests", &app.admin_key).await;
    let request = &requests.body["requests"][0];
    assert_eq!(request["status"], "verified", "{request:?}");
    let id = request["id"].as_str().expect("id");
    let audit = app.get("/api/v1/audit?limit=1000", &app.admin_key).await;
    let verifications = audit.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| {
            e["action"] == "request.verify" && e["detail"].as_str().is_some_and(|d| d.contains(id))
        })
        .count();
    assert_eq!(verifications, 1, "{:?}", audit.body);
}
