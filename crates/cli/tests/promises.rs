//! `ombud promises check` against a store on disk: a record past its retention and audit
//! entries past the log's keep are broken promises (exit 1, the notice's sentences, ids only),
//! each run is on record in the audit log, a sweep mends both (exit 0), JSON has the
//! documented shape, and bad flags are refused.

mod common;

use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::model::{NewEvent, NewRecord, Secret};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d";

fn ombud(dir: &std::path::Path) -> assert_cmd::Command {
    common::console(dir, MASTER)
}

#[test]
fn a_record_past_its_retention_breaks_a_promise_until_the_sweep() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let then = "2023-01-01T00:00:00Z".parse().expect("time");
    let clock = ombud_core::ManualClock::new(then);
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    let subject = store
        .create_subject(
            operator,
            &[Identity::parse(IdentityKind::Email, "old@example.fi").expect("email")],
            &Actor::Cli,
            then,
        )
        .expect("subject");
    store
        .put_records(
            operator,
            &[NewRecord {
                id: None,
                subject,
                category: "user.contact.phone_number".into(),
                purposes: vec!["service-delivery".into()],
                source: "subject".into(),
                collected_at: then,
                value: Secret::new("+358401234567"),
            }],
            &Actor::Cli,
            then,
        )
        .expect("record");
    store
        .add_event(
            operator,
            subject,
            &NewEvent {
                id: None,
                kind: EventKind::ContractEnd,
                purpose: None,
                occurred_at: then,
                channel: None,
                policy_version: None,
            },
            &Actor::Cli,
            then,
        )
        .expect("event");
    drop(store);

    ombud(dir.path())
        .args(["promises", "check"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("BROKEN retention: 1 record past the end of their retention")
                .and(predicate::str::contains(format!("tenant {operator}")))
                .and(predicate::str::contains("rule customer-relationship"))
                .and(predicate::str::contains("the notice says: "))
                // The entries written then are older than the two years the log keeps them.
                .and(predicate::str::contains(
                    "BROKEN audit_log_keep: 5 audit entries older than the log keeps them",
                ))
                .and(predicate::str::contains("8 of 10 promises kept, 2 broken"))
                .and(predicate::str::contains("+358").not())
                .and(predicate::str::contains("old@example.fi").not()),
        );
    let output = ombud(dir.path())
        .args(["promises", "check", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["broken"][0]["promise"], "retention");
    assert_eq!(report["broken"][0]["count"], 1);
    assert_eq!(
        report["broken"][0]["place"]["rule"],
        "customer-relationship"
    );
    assert_eq!(report["checked"].as_array().expect("checked").len(), 10);

    let page = ombud(dir.path())
        .args(["promises", "check", "--format", "html"])
        .output()
        .expect("runs");
    assert_eq!(page.status.code(), Some(1));
    let page = String::from_utf8(page.stdout).expect("utf-8");
    assert!(
        page.starts_with("<!DOCTYPE html>")
            && page.contains("8 of 10 promises kept")
            && page.contains("rule customer-relationship")
            && !page.contains("<script")
            && !page.contains("+358"),
        "{page}"
    );

    ombud(dir.path()).args(["sweep"]).assert().success();
    ombud(dir.path())
        .args(["promises", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10 of 10 promises kept"));
    // Each run is on record, with its counts, and the chain still verifies.
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let runs: Vec<String> = store
        .audit_entries(
            operator,
            &ombud_store::audit::AuditFilter {
                action: Some("promises.check".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .expect("entries")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(
        runs.iter().any(|d| d.contains("retention=1"))
            && runs.iter().any(|d| d.contains("retention=0")),
        "{runs:?}"
    );
    drop(store);
    ombud(dir.path())
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn bad_flags_are_refused_with_the_flag_and_the_fix() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (args, says) in [
        (
            vec!["--format", "xml"],
            "--format xml: give text, json or html",
        ),
        (
            vec!["--sample", "0"],
            "--sample 0: give the rows to sample per table, 1 to 100000",
        ),
    ] {
        ombud(dir.path())
            .args(["promises", "check"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}
