//! `ombud request …` against a store on disk, with requests filed as the API files them.

use assert_cmd::Command;
use jiff::Timestamp;
use ombud_app::rights::{Desk, Filing};
use ombud_app::secrets::Secrets;
use ombud_core::requests::RequestKind;
use ombud_store::model::{NewRecord, Secret, TenantId};
use ombud_store::requests::RequestId;
use ombud_store::{Actor, SqliteStore, Store};
use predicates::prelude::*;
use std::sync::Arc;

const MASTER: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";
const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

struct Fixture {
    dir: tempfile::TempDir,
    desk: Desk,
    operator: TenantId,
}

/// A store with the operator tenant and a customer, and a desk on the built-in policy the
/// console falls back to when there is no privacy.toml.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let master = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"));
    let clock = ombud_core::ManualClock::new(Timestamp::now());
    let booted = ombud_app::bootstrap::ensure_operator(store.as_ref(), &clock, "Operator")
        .expect("bootstrap");
    let policy = ombud_policy::check(POLICY).policy.expect("a valid policy");
    let desk = Desk {
        store,
        time_zone: jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone"),
        policy: Arc::new(policy),
        secrets: Arc::new(Secrets::from_master(&master)),
        public_url: "https://privacy.example".into(),
        connectors: Arc::default(),
    };
    Fixture {
        dir,
        desk,
        operator: booted.operator,
    }
}

impl Fixture {
    fn ombud(&self) -> Command {
        let mut command = Command::cargo_bin("ombud").expect("binary");
        command
            .current_dir(self.dir.path())
            .env("OMBUD_MASTER_KEY", MASTER)
            .env_remove("OMBUD_DATABASE_URL")
            .env_remove("OMBUD_POLICY")
            .env("OMBUD_DATA_DIR", self.dir.path());
        command
    }

    fn file(&self, tenant: TenantId, kind: RequestKind, email: &str) -> RequestId {
        self.file_at(tenant, kind, email, Timestamp::now())
    }

    fn file_at(
        &self,
        tenant: TenantId,
        kind: RequestKind,
        email: &str,
        at: Timestamp,
    ) -> RequestId {
        let filing = Filing {
            kind,
            email: Some(email.into()),
            subject: None,
            purpose: None,
            category: None,
            record: None,
            new_value: None,
            channel: "api".into(),
            vouched: false,
        };
        self.desk
            .file(tenant, filing, &Actor::Cli, at)
            .expect("filed")
            .id
    }

    /// The code of the newest code mail, read from the outbox as the person would.
    fn code(&self) -> String {
        let now = Timestamp::now();
        let until = now
            .checked_add(jiff::SignedDuration::from_mins(1))
            .expect("time");
        let mails = self
            .desk
            .store
            .lease_mails(now, until, 100)
            .expect("outbox");
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.template == "request_code")
            .expect("a code mail");
        for mail in &mails {
            self.desk
                .store
                .mail_sent(mail.tenant, mail.id, now)
                .expect("sent");
        }
        mail.subject.rsplit(' ').next().expect("code").to_owned()
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_access_request_is_listed_verified_with_its_code_fulfilled_and_shown() {
    let fixture = fixture();
    let store = &fixture.desk.store;
    let now = Timestamp::now();
    let ana = store
        .create_subject(
            fixture.operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "ana@example.com")
                    .expect("email"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    store
        .put_records(
            fixture.operator,
            &[NewRecord {
                id: None,
                subject: ana,
                category: "user.name".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: now,
                value: Secret::new("Ana"),
            }],
            &Actor::Cli,
            now,
        )
        .expect("record");
    let id = fixture.file(fixture.operator, RequestKind::Access, "ana@example.com");
    let id = id.to_string();

    fixture
        .ombud()
        .args(["request", "list", "--open"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(&id)
                .and(predicate::str::contains("access"))
                .and(predicate::str::contains("received")),
        );

    fixture
        .ombud()
        .args(["request", "fulfil", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("verify the request first"));
    let code = fixture.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    fixture
        .ombud()
        .args(["request", "verify", &id, "--code", wrong])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2 tries left"));
    fixture
        .ombud()
        .args(["request", "verify", &id, "--code", &code])
        .assert()
        .success()
        .stdout(predicate::str::contains("verified; due by the end of"));
    // The console says the due day in the words the person is told (mail and portal).
    let request = fixture
        .desk
        .store
        .request(fixture.operator, id.parse().expect("id"))
        .expect("reads")
        .expect("the request");
    let told = ombud_app::mail::by_the_end_of(
        request.due_at.expect("due once verified"),
        &fixture.desk.time_zone,
    );
    assert!(
        told.starts_with("the end of ") && told.ends_with(')'),
        "{told}"
    );
    fixture
        .ombud()
        .args(["request", "show", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("by {told}")));
    fixture
        .ombud()
        .args(["request", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("by {told}")));

    let done = fixture
        .ombud()
        .args(["request", "fulfil", &id])
        .output()
        .expect("runs");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let printed = stdout(&done);
    assert!(printed.contains("fulfilled"), "{printed}");
    assert!(
        !printed.contains("/privacy/exports/"),
        "the link went to the person, not to the console: {printed}"
    );
    assert!(!printed.contains("ana@example.com"), "{printed}");

    let shown = fixture
        .ombud()
        .args(["request", "show", &id])
        .output()
        .expect("runs");
    let shown = stdout(&shown);
    assert!(
        shown.contains("fulfilled") && shown.contains("email_code"),
        "{shown}"
    );
    assert!(shown.contains("outcome"), "{shown}");
    assert!(
        !shown.contains("ana@example.com"),
        "no personal data: {shown}"
    );

    fixture
        .ombud()
        .args(["request", "refuse", &id, "--reason", "too late"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("can no longer change"));
}

#[test]
fn a_new_code_is_mailed_from_the_console_but_not_more_often_than_every_five_minutes() {
    let fixture = fixture();
    // Filed 40 minutes ago: its code has expired.
    let filed_at = Timestamp::now() - jiff::SignedDuration::from_mins(40);
    let id = fixture
        .file_at(
            fixture.operator,
            RequestKind::Access,
            "ulla@example.fi",
            filed_at,
        )
        .to_string();
    let expired = fixture.code();
    fixture
        .ombud()
        .args(["request", "verify", &id, "--code", &expired])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ask for a new one"));
    fixture
        .ombud()
        .args(["request", "code", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("a new code was mailed"));
    let fresh = fixture.code();
    fixture
        .ombud()
        .args(["request", "code", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("5 minutes after the last one"));
    fixture
        .ombud()
        .args(["request", "verify", &id, "--code", &fresh])
        .assert()
        .success()
        .stdout(predicate::str::contains("verified; due"));
}

#[test]
fn bad_flags_are_named_and_change_nothing() {
    let fixture = fixture();
    let id = fixture
        .file(fixture.operator, RequestKind::Erasure, "bo@example.com")
        .to_string();
    for (args, message) in [
        (vec!["request", "show", "not-an-id"], "is not a request id"),
        (vec!["request", "code", "not-an-id"], "is not a request id"),
        (
            vec!["request", "list", "--status", "done"],
            "--status: `done` is not a status",
        ),
        (vec!["request", "extend", &id, "--reason", " "], "--reason"),
        (
            vec![
                "request", "extend", &id, "--reason", "archives", "--by", "3 months",
            ],
            "--by: an extension may be at most 2 months",
        ),
        (
            vec![
                "request", "extend", &id, "--reason", "archives", "--by", "soon",
            ],
            "--by:",
        ),
        (vec!["request", "refuse", &id, "--reason", ""], "--reason"),
        (
            vec!["request", "show", "0199aaaa-0000-7000-8000-000000000000"],
            "no such request",
        ),
        (
            vec!["request", "list", "--tenant", "nobody"],
            "is not a tenant id",
        ),
    ] {
        fixture
            .ombud()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    fixture
        .ombud()
        .args(["request", "verify", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--code"));
    let request = fixture
        .desk
        .get(fixture.operator, id.parse().expect("id"))
        .expect("still there");
    assert_eq!(request.status.as_str(), "received");
    assert!(request.extended_at.is_none() && request.closed_at.is_none());
}

#[test]
fn in_a_customers_tenant_the_console_reads_but_the_customer_decides() {
    let fixture = fixture();
    let customer = fixture
        .desk
        .store
        .create_tenant("Asiakas Oy", false, &Actor::Cli, Timestamp::now())
        .expect("tenant");
    let id = fixture
        .file(customer.id, RequestKind::Erasure, "cy@example.com")
        .to_string();
    let tenant = customer.id.to_string();
    fixture
        .ombud()
        .args(["request", "list", "--tenant", &tenant])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id));
    fixture
        .ombud()
        .args(["request", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).not());
    fixture
        .ombud()
        .args(["request", "show", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such request"));
    for args in [
        vec!["request", "verify", &id, "--manual", "--tenant", &tenant],
        vec![
            "request", "verify", &id, "--code", "000000", "--tenant", &tenant,
        ],
        vec![
            "request", "refuse", &id, "--reason", "no", "--tenant", &tenant,
        ],
        vec!["request", "fulfil", &id, "--tenant", &tenant],
    ] {
        fixture
            .ombud()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("decides on its requests"));
    }
}

#[test]
fn an_objection_is_decided_at_the_console_with_compelling_grounds_per_purpose() {
    let fixture = fixture();
    let now = Timestamp::now();
    fixture
        .desk
        .store
        .create_subject(
            fixture.operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "ville@example.com")
                    .expect("email"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    let id = fixture
        .file(
            fixture.operator,
            RequestKind::Objection,
            "ville@example.com",
        )
        .to_string();
    let code = fixture.code();
    fixture
        .ombud()
        .args(["request", "verify", &id, "--code", &code])
        .assert()
        .success();
    for (grounds, says) in [
        ("security", "--grounds"),
        ("b2b-marketing=We want to", "absolute"),
        ("accounting=A law", "does not reach"),
    ] {
        fixture
            .ombud()
            .args(["request", "fulfil", &id, "--grounds", grounds])
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
    fixture
        .ombud()
        .args([
            "request",
            "fulfil",
            &id,
            "--grounds",
            "security=Sign-ins from this account probe other customers' data",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("objection        security: goes on: Sign-ins").and(
                predicate::str::contains("objection        b2b-marketing: stopped"),
            ),
        );
}

/// The operator's privacy team sees every customer's queue in one list, soonest deadline first,
/// each request labelled with its tenant, and shares the work out.
#[test]
fn one_queue_across_tenants_shows_each_requests_tenant_due_day_and_assignee() {
    let fixture = fixture();
    let customer = fixture
        .desk
        .store
        .create_tenant("Asiakas Oy", false, &Actor::Cli, Timestamp::now())
        .expect("tenant");
    // Filed earlier, so due earlier: it comes first.
    let earlier = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 10))
        .expect("time");
    let theirs = fixture
        .file_at(customer.id, RequestKind::Erasure, "cy@example.com", earlier)
        .to_string();
    let ours = fixture
        .file(fixture.operator, RequestKind::Access, "ana@example.com")
        .to_string();
    fixture
        .ombud()
        .args(["request", "assign", &ours, "--to", "Åsa Lind"])
        .assert()
        .success()
        .stdout(predicate::str::contains("is Åsa Lind's now"));
    let tenant = customer.id.to_string();
    fixture
        .ombud()
        .args([
            "request", "assign", &theirs, "--to", "Bo", "--tenant", &tenant,
        ])
        .assert()
        .success();
    let listed = fixture
        .ombud()
        .args(["request", "list", "--all-tenants"])
        .assert()
        .success()
        .stderr(predicate::str::contains("2 requests"))
        .get_output()
        .clone();
    let text = stdout(&listed);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("tenant"), "{text}");
    assert!(
        lines[1].starts_with("Asiakas Oy")
            && lines[1].contains(&theirs)
            && lines[1].contains("erasure"),
        "the customer's request, due first, comes first: {text}"
    );
    assert!(
        lines[2].starts_with("Operator")
            && lines[2].contains(&ours)
            && lines[2].contains("Åsa Lind"),
        "{text}"
    );
    // Both due days are said as the person is told them.
    assert_eq!(text.matches("by the end of").count(), 2, "{text}");
    assert!(text.contains("(EET)") || text.contains("(EEST)"), "{text}");
    fixture
        .ombud()
        .args(["request", "list", "--all-tenants", "--assignee", "Bo"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&theirs).and(predicate::str::contains(&ours).not()));
    fixture
        .ombud()
        .args(["request", "show", &ours])
        .assert()
        .success()
        .stdout(predicate::str::contains("Åsa Lind"));
    fixture
        .ombud()
        .args(["request", "assign", &ours, "--nobody"])
        .assert()
        .success()
        .stdout(predicate::str::contains("unassigned"));
    fixture
        .ombud()
        .args(["request", "assign", &ours, "--to", "A\u{202E}B"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--to: "));
    fixture
        .ombud()
        .args(["request", "assign", &ours])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--to"));
    fixture
        .ombud()
        .args(["request", "list", "--all-tenants", "--tenant", &tenant])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
