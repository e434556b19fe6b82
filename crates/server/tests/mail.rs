//! The mailer against a real SMTP conversation (a small SMTP server in this test that turns the
//! first delivery away with a temporary error) and against the .eml folder: a failed mail is
//! tried again after its backoff and not before, a sent mail is never sent again, and the
//! error kept for a failure holds no address.

mod common;

use common::{TestApp, spawn_app};
use jiff::Timestamp;
use lettre::message::Mailbox;
use ombud_app::jobs::{Mailer, drain_outbox};
use ombud_app::metrics::Metrics;
use ombud_core::Clock;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the SMTP server saw: how many conversations, and the messages it accepted.
#[derive(Default)]
struct Seen {
    sessions: usize,
    messages: Vec<String>,
}

/// An SMTP server that answers the first `refuse` conversations' RCPT with 451 (echoing the
/// address, as real servers do) and accepts every later one.
fn smtp_server(refuse: usize) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("address").to_string();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let session = {
                let mut seen = shared.lock().expect("seen");
                seen.sessions += 1;
                seen.sessions
            };
            let mut writer = stream.try_clone().expect("clone");
            let mut reader = BufReader::new(stream);
            let mut say = |line: &str| {
                let _ = writer.write_all(format!("{line}\r\n").as_bytes());
            };
            say("220 mail.test ESMTP");
            let mut line = String::new();
            let mut in_data = false;
            let mut message = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        shared
                            .lock()
                            .expect("seen")
                            .messages
                            .push(std::mem::take(&mut message));
                        say("250 2.0.0 queued");
                    } else {
                        message.push_str(&line);
                    }
                    continue;
                }
                let command = line.trim_end().to_ascii_uppercase();
                if command.starts_with("EHLO") || command.starts_with("HELO") {
                    say("250 mail.test");
                } else if command.starts_with("MAIL FROM") {
                    say("250 2.1.0 ok");
                } else if command.starts_with("RCPT TO") {
                    if session <= refuse {
                        let to = line.trim_end()["RCPT TO:".len()..].to_owned();
                        say(&format!("451 4.3.0 {to}: mailbox busy, try again later"));
                    } else {
                        say("250 2.1.5 ok");
                    }
                } else if command == "DATA" {
                    in_data = true;
                    say("354 go ahead");
                } else if command == "QUIT" {
                    say("221 bye");
                    break;
                } else {
                    say("250 ok");
                }
            }
        }
    });
    (address, seen)
}

async fn file_request(app: &TestApp, email: &str) {
    let filed = app
        .post(
            "/api/v1/requests",
            &app.admin_key,
            json!({ "kind": "access", "email": email }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
}

async fn drain(app: &TestApp, mailer: Arc<Mailer>, at: Timestamp) -> usize {
    let store = Arc::clone(&app.store);
    tokio::task::spawn_blocking(move || {
        let from: Mailbox = "Privacy <privacy@laskuripilvi.example>"
            .parse()
            .expect("mailbox");
        let secrets = ombud_app::secrets::Secrets::from_master(
            &ombud_store::crypto::MasterKey::from_hex(&"ab".repeat(32)).expect("key"),
        );
        let links = ombud_app::jobs::Links {
            secrets: &secrets,
            public_url: "http://ombud.test",
        };
        drain_outbox(store.as_ref(), &mailer, &from, &links, &Metrics::new(), at).expect("a round")
    })
    .await
    .expect("joined")
}

/// A mail read back from its .eml file by Python's `email` package, as a mail client reads it.
fn parse(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print(json.dumps({"mime": m["MIME-Version"], "type": m.get_content_type(), "charset": m.get_content_charset(),
  "id": m["Message-ID"], "auto": m["Auto-Submitted"], "subject": m["Subject"], "body": m.get_content(),
  "defects": len(m.defects) + sum(len(p.defects) for p in m.walk())}))"#,
        )
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn read_all(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_dir(dir)
        .expect("outbox")
        .map(|e| parse(&e.expect("entry").path()))
        .collect()
}

/// What every mail must be, however it was made.
fn assert_intact(mail: &serde_json::Value) {
    assert_eq!(mail["mime"], "1.0", "{mail}");
    assert_eq!(mail["type"], "text/plain", "{mail}");
    assert_eq!(mail["charset"], "utf-8", "{mail}");
    assert!(
        mail["id"]
            .as_str()
            .is_some_and(|id| id.starts_with('<') && id.contains('@')),
        "{mail}"
    );
    assert_eq!(mail["auto"], "auto-generated", "{mail}");
    assert_eq!(mail["defects"], 0, "{mail}");
}

async fn mail_records(app: &TestApp) -> serde_json::Value {
    let listed = app.get("/api/v1/requests", &app.admin_key).await;
    let id = listed.body["requests"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mails = app
        .get(&format!("/api/v1/requests/{id}/mails"), &app.admin_key)
        .await;
    assert_eq!(mails.status, 200, "{:?}", mails.body);
    mails.body
}

#[tokio::test]
async fn a_refused_mail_is_retried_after_its_backoff_and_sent_once() {
    let app = spawn_app().await;
    let (address, seen) = smtp_server(1);
    let mailer = Arc::new(
        Mailer::new(Some(&format!("smtp://{address}")), std::env::temp_dir()).expect("mailer"),
    );
    file_request(&app, "busy.person@example.fi").await;
    let t0 = app.clock.now();

    assert_eq!(drain(&app, Arc::clone(&mailer), t0).await, 0);
    let after_failure = mail_records(&app).await;
    let record = &after_failure["mails"][0];
    assert_eq!(record["attempts"], 1, "{after_failure}");
    assert_eq!(record["sent_at"], serde_json::Value::Null);
    let error = record["last_error"].as_str().expect("the error is kept");
    assert!(error.contains("SMTP"), "{error}");
    assert!(
        !error.contains("busy.person"),
        "the kept error names no address: {error}"
    );

    let early = t0 + jiff::SignedDuration::from_secs(30);
    assert_eq!(drain(&app, Arc::clone(&mailer), early).await, 0);
    assert_eq!(
        seen.lock().expect("seen").sessions,
        1,
        "not tried again before its backoff"
    );

    let due = t0 + jiff::SignedDuration::from_mins(1);
    assert_eq!(drain(&app, Arc::clone(&mailer), due).await, 1);
    for later in [2, 10, 60] {
        let at = t0 + jiff::SignedDuration::from_mins(later);
        assert_eq!(drain(&app, Arc::clone(&mailer), at).await, 0);
    }
    let messages = seen.lock().expect("seen").messages.clone();
    assert_eq!(messages.len(), 1, "sent once, never twice");
    assert!(messages[0].contains("Subject: Your confirmation code: "));
    assert!(messages[0].contains("To: busy.person@example.fi"));

    let sent = mail_records(&app).await;
    let record = &sent["mails"][0];
    assert_eq!(record["template"], "request_code");
    assert_eq!(
        record["attempts"], 2,
        "two tries, the second delivered: {sent}"
    );
    assert!(record["sent_at"].is_string(), "{sent}");
}

#[tokio::test]
async fn without_smtp_each_mail_is_written_once_as_an_eml_file() {
    let app = spawn_app().await;
    let outbox = tempfile::tempdir().expect("outbox");
    let mailer = Arc::new(Mailer::new(None, outbox.path().to_path_buf()).expect("mailer"));
    file_request(&app, "eml.person@example.fi").await;
    file_request(&app, "other.person@example.fi").await;
    let now = app.clock.now();
    assert_eq!(drain(&app, Arc::clone(&mailer), now).await, 2);
    for round in 1..4 {
        let at = now + jiff::SignedDuration::from_mins(round * 10);
        assert_eq!(drain(&app, Arc::clone(&mailer), at).await, 0);
    }
    let files: Vec<String> = std::fs::read_dir(outbox.path())
        .expect("listable")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("text"))
        .collect();
    assert_eq!(files.len(), 2, "one file per mail");
    assert_eq!(
        files
            .iter()
            .filter(|f| f.contains("To: eml.person@example.fi"))
            .count(),
        1
    );
}

#[test]
fn a_bad_smtp_url_names_the_flag_and_the_form_it_takes() {
    let error = Mailer::new(Some("mail.example.com"), std::env::temp_dir()).expect_err("refused");
    assert!(
        error.contains("--smtp-url") && error.contains("smtps://"),
        "{error}"
    );
}

/// Every kind of mail a request sends — the code, the answer that it was received, the
/// extension with its reason, the access answer and a refusal — goes through the mailer to an
/// .eml file and is read back by a real MIME parser (Python's `email` package, as a mail
/// client reads it): MIME 1.0, UTF-8 plain text, a Message-ID, Auto-Submitted, no defects,
/// and non-ASCII text intact.
#[tokio::test]
async fn every_kind_of_request_mail_reads_back_intact_in_a_mime_parser() {
    let app = spawn_app().await;
    let outbox = tempfile::tempdir().expect("outbox");
    let mailer = Arc::new(Mailer::new(None, outbox.path().to_path_buf()).expect("mailer"));
    let key = app.admin_key.clone();
    // An access request: its code, then (verified) the answer that it was received, an
    // extension with a reason in non-ASCII text, and the access answer.
    let filed = app
        .post(
            "/api/v1/requests",
            &key,
            json!({ "kind": "access", "email": "åsa@example.fi" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id").to_owned();
    drain(&app, Arc::clone(&mailer), app.clock.now()).await;
    let code = read_all(outbox.path())
        .iter()
        .find_map(|m| {
            m["subject"]
                .as_str()
                .and_then(|s| s.rsplit(' ').next())
                .map(str::to_owned)
        })
        .expect("a code mail");
    let verified = app
        .post(
            &format!("/api/v1/requests/{id}/verify"),
            &key,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let reason = "L'Autorité de contrôle asked us to check the archive of Åsa's invoices first";
    let extended = app
        .post(
            &format!("/api/v1/requests/{id}/extend"),
            &key,
            json!({ "reason": reason }),
        )
        .await;
    assert_eq!(extended.status, 200, "{:?}", extended.body);
    let fulfilled = app
        .post(&format!("/api/v1/requests/{id}/fulfil"), &key, json!({}))
        .await;
    assert_eq!(fulfilled.status, 200, "{:?}", fulfilled.body);
    // A second request, refused.
    let other = app
        .post(
            "/api/v1/requests",
            &key,
            json!({ "kind": "erasure", "email": "zoë@example.fi" }),
        )
        .await;
    let other = other.body["id"].as_str().expect("id").to_owned();
    let refused = app
        .post(
            &format!("/api/v1/requests/{other}/refuse"),
            &key,
            json!({ "reason": "Zoë's contract still runs; the invoices must be kept" }),
        )
        .await;
    assert_eq!(refused.status, 200, "{:?}", refused.body);
    drain(&app, Arc::clone(&mailer), app.clock.now()).await;

    let mails = read_all(outbox.path());
    assert!(mails.len() >= 5, "every kind was written: {mails:?}");
    mails.iter().for_each(assert_intact);
    let bodies: Vec<&str> = mails.iter().filter_map(|m| m["body"].as_str()).collect();
    assert!(
        bodies.iter().any(|b| b.contains(reason)),
        "the extension's reason intact: {bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Zoë's contract still runs")),
        "the refusal's reason intact"
    );
    assert!(
        bodies.iter().any(|b| b.contains("by the end of")),
        "a deadline as people are told it"
    );
}

/// The mails that go to others than the person asking: the Art. 19 notice to a recipient, a
/// breach notification to a customer's contact (Art. 33(2)), and the mails of a customer's
/// people, signed in the customer's name with the operator as its processor. Each read back
/// by the MIME parser, with non-ASCII names intact.
#[tokio::test]
async fn recipients_customers_and_a_customers_people_get_mails_that_read_back_intact() {
    let policy = include_str!("../../../examples/invoicing-saas.toml").replacen(
        "id = \"procountor\"\n",
        "id = \"procountor\"\ncontact = \"tietosuoja@procountor.example\"\n",
        1,
    );
    let app = common::spawn_app_with(&policy).await;
    let outbox = tempfile::tempdir().expect("outbox");
    let mailer = Arc::new(Mailer::new(None, outbox.path().to_path_buf()).expect("mailer"));
    let key = app.admin_key.clone();

    // Art. 19: Åsa's invoice went to Procountor; her erasure is owed to it.
    let service = app.key(&key, "service").await;
    let asa = app
        .person_with_contract(
            &service,
            "åsa@example.fi",
            json!([{ "category": "user.financial", "value": "INV-7 90.00 EUR", "source": "subject", "purposes": ["invoicing"] }]),
        )
        .await;
    let filed = app
        .post(
            "/api/v1/requests",
            &service,
            json!({ "kind": "erasure", "subject": asa, "verified": true, "email": "åsa@example.fi" }),
        )
        .await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.body["id"].as_str().expect("id");
    let done = app
        .post(&format!("/api/v1/requests/{id}/fulfil"), &key, json!({}))
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);

    // A customer with its details as controller; its contact is told of a breach.
    let (customer, customer_admin) = app.tenant_with_admin("Autorité Conseil SAS").await;
    let patched = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/tenants/{customer}"),
            Some(&key),
            None,
            Some(json!({ "contact": "vie.privee@autorite.example", "address": "1 rue Exemple, 75001 Paris" })),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let contact = app
        .post(
            "/api/v1/subjects",
            &key,
            json!({ "identities": [{ "kind": "email", "value": "zoé.dpo@autorite.example" }] }),
        )
        .await;
    let contact = contact.body["id"].as_str().expect("id").to_owned();
    let added = app
        .post(
            &format!("/api/v1/tenants/{customer}/contacts"),
            &key,
            json!({ "subject": contact }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    let buyer = app
        .post(
            "/api/v1/subjects",
            &customer_admin,
            json!({ "identities": [{ "kind": "email", "value": "léa@client.example" }] }),
        )
        .await;
    let buyer = buyer.body["id"].as_str().expect("id").to_owned();
    let written = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/subjects/{buyer}/records"),
            Some(&customer_admin),
            None,
            Some(json!({ "records": [{ "category": "user.contact.email", "value": "léa@client.example", "source": "subject", "collected_at": "2026-01-10T00:00:00Z" }] })),
        )
        .await;
    assert_eq!(written.status, 200, "{:?}", written.body);
    let aware = app.clock.now() - jiff::SignedDuration::from_hours(3);
    let opened = app
        .post(
            "/api/v1/incidents",
            &key,
            json!({ "title": "Réplique exposée", "description": "A misconfigured replica exposed the contact table.", "aware_at": aware }),
        )
        .await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let incident = opened.body["id"].as_str().expect("id").to_owned();
    let scoped = app
        .post(
            &format!("/api/v1/incidents/{incident}/scope"),
            &key,
            json!({ "categories": ["user.contact.email"], "tenants": [customer], "from": "2026-01-01T00:00:00Z", "until": aware }),
        )
        .await;
    assert_eq!(scoped.status, 200, "{:?}", scoped.body);
    let told = app
        .post(
            &format!("/api/v1/incidents/{incident}/notifications"),
            &key,
            json!({ "party": "customers" }),
        )
        .await;
    assert_eq!(told.status, 201, "{:?}", told.body);

    // One of the customer's people asks: the mail speaks for the customer.
    let asked = app
        .post(
            "/api/v1/requests",
            &customer_admin,
            json!({ "kind": "access", "email": "léa@client.example" }),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);

    drain(&app, Arc::clone(&mailer), app.clock.now()).await;
    let mails = read_all(outbox.path());
    mails.iter().for_each(assert_intact);
    let body_of = |needle: &str| -> String {
        mails
            .iter()
            .filter_map(|m| m["body"].as_str())
            .find(|b| b.contains(needle))
            .unwrap_or_else(|| panic!("a mail with {needle}: {mails:?}"))
            .to_owned()
    };
    let art19 = body_of("Dear Procountor");
    assert!(
        art19.contains("Art. 19 GDPR") && art19.contains("åsa@example.fi"),
        "{art19}"
    );
    let breach = body_of("Art. 33(2)");
    assert!(
        breach.contains("To Autorité Conseil SAS, as controller")
            && breach.contains("About 1 record. By category"),
        "{breach}"
    );
    let code = body_of("To confirm that the request is yours");
    assert!(
        code.contains("\nAutorité Conseil SAS\n1 rue Exemple, 75001 Paris\nPrivacy contact: vie.privee@autorite.example\n")
            && code.contains("Sent by Laskuri Pilvi Oy, which handles requests about your data for Autorité Conseil SAS as its processor."),
        "{code}"
    );
}
