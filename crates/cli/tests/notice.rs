//! `ombud notice` at the console: contacts of a customer, a mandatory and an opt-out notice to
//! the same people (the unsubscribed person gets one, not the other), the ledger both ways, and
//! mistakes named by flag with nothing sent.

mod common;

use assert_cmd::Command;
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::NewEvent;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a";
const POLICY: &str = include_str!("../../../examples/public-cloud.toml");

fn ombud(dir: &std::path::Path) -> Command {
    common::console(dir, MASTER)
}

#[test]
fn notices_are_sent_and_ledgered_at_the_console() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("privacy.toml"), POLICY).expect("policy");
    let now = jiff::Timestamp::now();
    let (customer, ana, bo) = {
        let store = SqliteStore::open(
            &dir.path().join("ombud.db"),
            &MasterKey::from_hex(MASTER).expect("key"),
        )
        .expect("store");
        let operator = store
            .create_tenant("Pilvi", true, &Actor::Cli, now)
            .expect("operator")
            .id;
        let customer = store
            .create_tenant("Acme", false, &Actor::Cli, now)
            .expect("customer")
            .id;
        let person = |address: &str| {
            store
                .create_subject(
                    operator,
                    &[Identity::parse(IdentityKind::Email, address).expect("email")],
                    &Actor::Cli,
                    now,
                )
                .expect("subject")
        };
        let (ana, bo) = (person("ana@acme.example"), person("bo@acme.example"));
        store
            .add_event(
                operator,
                bo,
                &NewEvent {
                    id: None,
                    kind: EventKind::Unsubscribe,
                    purpose: None,
                    occurred_at: now - jiff::SignedDuration::from_hours(1),
                    channel: None,
                    policy_version: None,
                },
                &Actor::Cli,
                now,
            )
            .expect("unsubscribed");
        (customer.to_string(), ana.to_string(), bo.to_string())
    };

    for subject in [&ana, &bo] {
        ombud(dir.path())
            .args(["notice", "contacts", &customer, "--add", subject])
            .assert()
            .success();
    }
    ombud(dir.path())
        .args(["notice", "contacts", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains(&ana).and(predicate::str::contains(&bo)));

    // Mistakes name the flag and send nothing.
    for (args, says) in [
        (
            vec![
                "--kind",
                "promo",
                "--subject",
                "s",
                "--body",
                "b",
                "--to-customers",
            ],
            "--kind",
        ),
        (
            vec![
                "--kind",
                "news",
                "--subject",
                "s",
                "--body",
                " ",
                "--to-customers",
            ],
            "--body",
        ),
        (
            vec![
                "--kind",
                "news",
                "--subject",
                "s",
                "--body",
                "b",
                "--to-category",
                "user.horoscope",
            ],
            "--to-category",
        ),
        (
            vec![
                "--kind",
                "news",
                "--subject",
                "s",
                "--body",
                "b",
                "--to-tenant",
                "nope",
            ],
            "--to-tenant",
        ),
    ] {
        ombud(dir.path())
            .args(["notice", "send"])
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
    ombud(dir.path())
        .args([
            "notice",
            "send",
            "--kind",
            "news",
            "--subject",
            "s",
            "--body",
            "b",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--to-"));
    ombud(dir.path())
        .args(["notice", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 notices"));

    std::fs::write(
        dir.path().join("body.txt"),
        "The console was patched on Monday.\n",
    )
    .expect("body");
    ombud(dir.path())
        .args([
            "notice",
            "send",
            "--kind",
            "security",
            "--subject",
            "A patched issue",
            "--body-file",
            "body.txt",
            "--to-tenant",
            &customer,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 queued, 0 skipped"));
    let news = ombud(dir.path())
        .args([
            "notice",
            "send",
            "--kind",
            "news",
            "--subject",
            "New regions",
            "--body",
            "Two new regions.",
            "--to-customers",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 queued, 1 skipped"));
    let news_id = String::from_utf8_lossy(&news.get_output().stdout)
        .split_whitespace()
        .nth(1)
        .expect("id")
        .trim_end_matches(':')
        .to_owned();
    ombud(dir.path())
        .args(["notice", "show", &news_id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Subject: New regions")
                .and(predicate::str::contains("unsubscribed at"))
                .and(predicate::str::contains("a…@acme.example"))
                .and(predicate::str::contains("ana@acme.example").not()),
        );
    ombud(dir.path())
        .args(["notice", "received", &bo])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("security")
                .and(predicate::str::contains("queued"))
                .and(predicate::str::contains("news"))
                .and(predicate::str::contains("skipped"))
                .and(predicate::str::contains("2 notices")),
        );
    ombud(dir.path())
        .args(["notice", "contacts", &customer, "--remove", &bo])
        .assert()
        .success()
        .stdout(predicate::str::contains(&bo).not());
    ombud(dir.path())
        .args(["notice", "contacts", &customer, "--remove", &bo])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--remove"));
}
