//! `ombud holds create|list|release` against a store on disk.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

const MASTER: &str = "8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d";

fn ombud(dir: &std::path::Path) -> Command {
    common::console(dir, MASTER)
}

#[test]
fn holds_are_placed_listed_and_released_and_bad_ones_name_the_flag() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new(jiff::Timestamp::now());
    ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("bootstrap");
    drop(store);

    for (args, message) in [
        (vec!["--reason", "whim", "--note", "x"], "--reason"),
        (vec!["--reason", "legal_claim", "--note", " "], "--note"),
        (
            vec![
                "--reason",
                "legal_claim",
                "--note",
                "x",
                "--category",
                "user.nope",
            ],
            "--category",
        ),
        (
            vec![
                "--reason",
                "legal_claim",
                "--note",
                "x",
                "--ends-at",
                "2020-01-01T00:00:00Z",
            ],
            "--ends-at",
        ),
        (
            vec![
                "--reason",
                "legal_claim",
                "--note",
                "x",
                "--ends-at",
                "next week",
            ],
            "--ends-at",
        ),
        (
            vec![
                "--reason",
                "legal_claim",
                "--note",
                "x",
                "--subject",
                "0199aaaa-0000-7000-8000-000000000000",
            ],
            "--subject",
        ),
    ] {
        let mut all = vec!["holds", "create"];
        all.extend(args);
        ombud(dir.path())
            .args(&all)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    ombud(dir.path())
        .args(["holds", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("legal_claim").not());

    let placed = ombud(dir.path())
        .args([
            "holds",
            "create",
            "--reason",
            "legal_claim",
            "--note",
            "Case 2026-17",
            "--category",
            "user.financial",
        ])
        .output()
        .expect("runs");
    assert!(
        placed.status.success(),
        "{}",
        String::from_utf8_lossy(&placed.stderr)
    );
    let printed = String::from_utf8_lossy(&placed.stdout).to_string();
    let id = printed
        .split_whitespace()
        .nth(2)
        .expect("hold id")
        .to_owned();
    ombud(dir.path())
        .args(["holds", "list", "--active"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(&id)
                .and(predicate::str::contains("Case 2026-17"))
                .and(predicate::str::contains("open")),
        );
    ombud(dir.path())
        .args(["holds", "release", &id])
        .assert()
        .success();
    ombud(dir.path())
        .args(["holds", "release", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no hold"));
    ombud(dir.path())
        .args(["holds", "list", "--active"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).not());
    ombud(dir.path())
        .args(["holds", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("released"));
}

/// A hold's end is shown on the controller's calendar (the built-in policy's is Helsinki):
/// 22:30 UTC on 31 March is already 1 April there.
#[test]
fn a_holds_end_is_the_controllers_day() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new(jiff::Timestamp::now());
    ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("bootstrap");
    drop(store);
    ombud(dir.path())
        .args([
            "holds",
            "create",
            "--reason",
            "legal_claim",
            "--note",
            "Case 2099-1",
            "--ends-at",
            "2099-03-31T22:30:00Z",
        ])
        .assert()
        .success();
    ombud(dir.path())
        .args(["holds", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("until 2099-04-01 EEST"))
        .stdout(predicate::str::contains("2099-03-31").not());
}
