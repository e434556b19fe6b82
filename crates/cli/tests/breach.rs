//! `ombud breach` at the console: open with the clock from awareness, list and show with the
//! time left, mistakes named by flag with nothing stored, close once.

mod common;

use assert_cmd::Command;
use ombud_store::crypto::MasterKey;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a";

fn ombud(dir: &std::path::Path) -> Command {
    common::console(dir, MASTER)
}

#[test]
fn an_incident_is_opened_listed_shown_and_closed_at_the_console() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::from_hex(MASTER).expect("key"),
    )
    .expect("store");
    let operator = store
        .create_tenant("Laskuri", true, &Actor::Cli, jiff::Timestamp::now())
        .expect("tenant")
        .id;
    drop(store);

    let aware = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    for (args, says) in [
        (vec!["--title", "", "--description", "x"], "--title"),
        (
            vec![
                "--title",
                "t",
                "--description",
                "x",
                "--category",
                "user.horoscope",
            ],
            "--category",
        ),
        (
            vec![
                "--title",
                "t",
                "--description",
                "x",
                "--aware-at",
                "2099-01-01T00:00:00Z",
            ],
            "--aware-at",
        ),
    ] {
        ombud(dir.path())
            .args(["breach", "open"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    ombud(dir.path())
        .args([
            "breach",
            "open",
            "--aware-at",
            "yesterday",
            "--title",
            "t",
            "--description",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--aware-at"));

    let opened = ombud(dir.path())
        .args([
            "breach",
            "open",
            "--title",
            "Laptop stolen",
            "--description",
            "A support laptop with cached exports was stolen from a car.",
            "--aware-at",
            &aware.to_string(),
            "--category",
            "user.contact.email",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("notice is due").and(predicate::str::contains("69 h")))
        .get_output()
        .stdout
        .clone();
    let opened = String::from_utf8(opened).expect("text");
    let id = opened
        .split_whitespace()
        .nth(2)
        .expect("id")
        .trim_end_matches(';')
        .to_owned();
    ombud(dir.path())
        .args(["breach", "list", "--open"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).and(predicate::str::contains("1 incident\n")));
    // Drafts come from the incident's facts; what cannot be told yet is refused by flag.
    ombud(dir.path())
        .args(["breach", "draft", &id, "--party", "authority"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Nature of the breach")
                .and(predicate::str::contains("A support laptop"))
                .and(predicate::str::contains("Not yet established")),
        );
    ombud(dir.path())
        .args(["breach", "draft", &id, "--party", "customers"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--party")
                .and(predicate::str::contains("scope the incident first")),
        );
    ombud(dir.path())
        .args(["breach", "notify", &id, "--party", "press"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--party"));
    ombud(dir.path())
        .args([
            "breach",
            "close",
            &id,
            "--measures",
            "Exports revoked; laptop wiped remotely.",
        ])
        .assert()
        .success();
    ombud(dir.path())
        .args(["breach", "close", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("closed already"));
    ombud(dir.path())
        .args(["breach", "show", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("open").and(predicate::str::contains("close")));
    ombud(dir.path())
        .args(["breach", "list", "--open"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 incidents"));
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::from_hex(MASTER).expect("key"),
    )
    .expect("store");
    assert_eq!(
        store.incidents(operator, false).expect("all").len(),
        1,
        "mistakes stored nothing"
    );
}

/// Scoping at the console: by the data of some categories held in a window, across the
/// operator's tenant and its customers, with counts and names of tenants, never values.
#[test]
fn an_incident_is_scoped_at_the_console_by_categories_across_tenants() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::from_hex(MASTER).expect("key"),
    )
    .expect("store");
    let now = jiff::Timestamp::now();
    let collected = now - jiff::SignedDuration::from_hours(24 * 30);
    let operator = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let customer = store
        .create_tenant("Asiakas Oy", false, &Actor::Cli, now)
        .expect("tenant")
        .id;
    for (tenant, email) in [
        (operator, "ana@example.com"),
        (customer, "bo@example.com"),
        (customer, "cy@example.com"),
    ] {
        let identity =
            ombud_core::Identity::parse(ombud_core::IdentityKind::Email, email).expect("email");
        let subject = store
            .create_subject(tenant, &[identity], &Actor::Cli, now)
            .expect("subject");
        let record = ombud_store::model::NewRecord {
            id: None,
            subject,
            category: "user.contact.email".into(),
            purposes: vec![],
            source: "subject".into(),
            collected_at: collected,
            value: ombud_store::model::Secret::new(email),
        };
        store
            .put_records(tenant, &[record], &Actor::Cli, now)
            .expect("record");
    }
    drop(store);
    let opened = ombud(dir.path())
        .args([
            "breach",
            "open",
            "--title",
            "Mail export left public",
            "--description",
            "A mailing list export was readable without sign-in.",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = String::from_utf8_lossy(&opened)
        .split_whitespace()
        .nth(2)
        .expect("id")
        .trim_end_matches(';')
        .to_owned();
    let from = (collected - jiff::SignedDuration::from_hours(1)).to_string();
    ombud(dir.path())
        .args([
            "breach",
            "scope",
            &id,
            "--category",
            "user.contact.email",
            "--from",
            &from,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 people and 3 records in 2 tenants",
        ))
        .stdout(predicate::str::contains("Asiakas Oy: 2 people"))
        .stdout(predicate::str::contains("Laskuri: 1 person"))
        .stdout(predicate::str::contains("example.com").not());
    // Times are the controller's, with the zone named (the built-in policy is in Helsinki).
    ombud(dir.path())
        .args(["breach", "show", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("scope"))
        .stdout(predicate::str::is_match(r"due \d{4}-\d\d-\d\d \d\d:\d\d EES?T").expect("regex"));
    // Only one customer, by --customer.
    ombud(dir.path())
        .args([
            "breach",
            "scope",
            &id,
            "--category",
            "user.contact.email",
            "--from",
            &from,
            "--customer",
            &customer.to_string(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 people and 2 records in 1 tenant",
        ));
    for (args, says) in [
        (vec!["--category", "user.horoscope"], "--category"),
        (
            vec!["--category", "user.name", "--until", "2020-01-01T00:00:00Z"],
            "--until",
        ),
        (vec!["--key", "not-a-key"], "--key"),
        (
            vec!["--category", "user.name", "--customer", "nope"],
            "--customer",
        ),
    ] {
        ombud(dir.path())
            .args(["breach", "scope", &id, "--from", &from])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    ombud(dir.path())
        .args([
            "breach",
            "scope",
            &id,
            "--from",
            &from,
            "--key",
            "x",
            "--category",
            "user.name",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
