//! `ombud sweep [--dry-run]` against a store on disk.

mod common;

use assert_cmd::Command;
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::model::{NewEvent, NewRecord, Secret};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c";

fn ombud(dir: &std::path::Path) -> Command {
    common::console(dir, MASTER)
}

#[test]
fn a_dry_run_lists_what_would_go_and_the_sweep_removes_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new("2023-01-01T00:00:00Z".parse().expect("time"));
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    let then = "2023-01-01T00:00:00Z".parse().expect("time");
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
        .args(["sweep", "--dry-run"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("dry run")
                .and(predicate::str::contains(subject.to_string()))
                .and(predicate::str::contains("customer-relationship"))
                .and(predicate::str::contains("would remove 1 record"))
                .and(predicate::str::contains("+358").not()),
        );
    ombud(dir.path())
        .args(["sweep"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "removed 1 record (1 subject whole)",
        ));
    ombud(dir.path())
        .args(["sweep"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed 0 records"));
    ombud(dir.path())
        .args(["sweep", "--tenant", "nobody"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a tenant id"));
    ombud(dir.path())
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn the_forecast_lists_what_leaves_in_the_window_by_rule() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let now = jiff::Timestamp::now();
    let clock = ombud_core::ManualClock::new(now);
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    // Collected two years ago less ten days: the security-log rule ends it in ten days.
    let collected = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(jiff::Span::new().years(2))
        .and_then(|z| z.checked_add(jiff::Span::new().days(10)))
        .expect("time")
        .timestamp();
    let subject = store
        .create_subject(
            operator,
            &[Identity::parse(IdentityKind::Email, "log@example.fi").expect("email")],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    store
        .put_records(
            operator,
            &[NewRecord {
                id: None,
                subject,
                category: "user.device.ip_address".into(),
                purposes: vec!["security".into()],
                source: "subject".into(),
                collected_at: collected,
                value: Secret::new("192.0.2.1"),
            }],
            &Actor::Cli,
            now,
        )
        .expect("record");
    drop(store);
    ombud(dir.path())
        .args(["retention", "forecast", "--days", "30"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("security-logs")
                .and(predicate::str::contains("user.device.ip_address"))
                .and(predicate::str::contains(
                    "1 record leaves in the next 30 days",
                ))
                .and(predicate::str::contains("192.0.2.1").not()),
        );
    ombud(dir.path())
        .args(["retention", "forecast", "--days", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0 records leave in the next 5 days",
        ));
    ombud(dir.path())
        .args(["retention", "forecast", "--days", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--days"));
}

#[test]
fn prospects_due_for_review_are_listed_kept_until_decided_and_then_kept_or_deleted() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let now = jiff::Timestamp::now();
    let clock = ombud_core::ManualClock::new(now);
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    let ago = |months: i64, days: i64| {
        now.to_zoned(jiff::tz::TimeZone::UTC)
            .checked_sub(jiff::Span::new().months(months).days(days))
            .expect("time")
            .timestamp()
    };
    // The first was due for review ten days ago and goes unreviewed in about three weeks
    // (a month's grace); the second is due in five months.
    let mut prospects = vec![];
    for (n, collected) in [(0, ago(6, 10)), (1, ago(1, 0))] {
        let subject = store
            .create_subject(
                operator,
                &[
                    Identity::parse(IdentityKind::Email, &format!("lead{n}@example.fi"))
                        .expect("email"),
                ],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        store
            .put_records(
                operator,
                &[NewRecord {
                    id: None,
                    subject,
                    category: "user.contact.email".into(),
                    purposes: vec!["prospects".into()],
                    source: "subject".into(),
                    collected_at: collected,
                    value: Secret::new(format!("lead{n}@example.fi")),
                }],
                &Actor::Cli,
                now,
            )
            .expect("record");
        prospects.push(subject);
    }
    drop(store);
    ombud(dir.path())
        .args(["retention", "review"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(prospects[0].to_string())
                .and(predicate::str::contains(prospects[1].to_string()).not())
                .and(predicate::str::contains("prospect-review"))
                .and(predicate::str::contains(
                    "1 record due for review within 0 days (1 overdue",
                ))
                .and(predicate::str::contains("goes unreviewed"))
                .and(predicate::str::contains("lead0@").not()),
        );
    ombud(dir.path())
        .args(["retention", "review", "--days", "180"])
        .assert()
        .success()
        .stdout(predicate::str::contains(prospects[1].to_string()));
    ombud(dir.path()).args(["sweep"]).assert().success().stdout(
        predicate::str::contains("removed 0 records")
            .and(predicate::str::contains("past their review date")),
    );
    ombud(dir.path())
        .args(["retention", "review", "--days=-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--days"));

    // The decision: one kept for another six months, the other deleted at once.
    ombud(dir.path())
        .args(["retention", "decide", &prospects[0].to_string(), "keep"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kept; next review due"));
    ombud(dir.path())
        .args(["retention", "review"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 records due for review"));
    ombud(dir.path())
        .args(["retention", "decide", &prospects[1].to_string(), "delete"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("deleted 1 record").and(predicate::str::contains("tombstone")),
        );
    // Mistakes name what to fix and change nothing.
    for (args, says) in [
        (
            vec!["retention", "decide", "lead0", "keep"],
            "is not a subject id",
        ),
        (
            vec!["retention", "decide", &prospects[1].to_string(), "keep"],
            "no subject with that id",
        ),
        (
            vec![
                "retention",
                "decide",
                &prospects[0].to_string(),
                "keep",
                "--purpose",
                "astrology",
            ],
            "--purpose",
        ),
    ] {
        ombud(dir.path())
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
    ombud(dir.path())
        .args(["retention", "decide", &prospects[0].to_string(), "maybe"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("keep, delete"));
    ombud(dir.path())
        .args(["retention", "review", "--days", "200"])
        .assert()
        .success()
        .stdout(predicate::str::contains(prospects[0].to_string()));
}

#[test]
fn a_named_policy_that_does_not_exist_stops_the_command_instead_of_the_built_in_example() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    for args in [
        vec!["sweep", "--policy", "polcy.toml"],
        vec!["retention", "forecast", "--policy", "polcy.toml"],
    ] {
        ombud(dir.path()).args(&args).assert().failure().stderr(
            predicate::str::contains("--policy polcy.toml: no such file")
                .and(predicate::str::contains("built-in example")),
        );
    }
    ombud(dir.path())
        .env("OMBUD_POLICY", "elsewhere/privacy.toml")
        .args(["sweep", "--dry-run"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "elsewhere/privacy.toml: no such file",
        ));
    // Named nowhere, and no privacy.toml here: the built-in example, as the log says.
    ombud(dir.path())
        .args(["sweep", "--dry-run"])
        .assert()
        .success();
}
