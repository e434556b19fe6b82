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
        .stdout(predicate::str::contains(&id).and(predicate::str::contains("1 incidents")));
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
