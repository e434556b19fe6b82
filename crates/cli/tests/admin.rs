//! `ombud keys` and `ombud audit verify` against a store on disk.

use assert_cmd::Command;
use predicates::prelude::*;

const MASTER: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn prepared_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new("2026-01-01T00:00:00Z".parse().expect("time"));
    ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("bootstrap");
    dir
}

fn ombud(dir: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("ombud").expect("binary");
    command
        .env("OMBUD_MASTER_KEY", MASTER)
        .env_remove("OMBUD_DATABASE_URL")
        .env("OMBUD_DATA_DIR", dir);
    command
}

#[test]
fn keys_are_created_once_listed_and_revoked() {
    let dir = prepared_store();
    let output = ombud(dir.path())
        .args([
            "keys",
            "create",
            "--role",
            "service",
            "--name",
            "billing app",
        ])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(printed.matches("ombud_sk_").count(), 1);
    let id = printed
        .split_whitespace()
        .nth(2)
        .expect("key id")
        .to_owned();

    ombud(dir.path())
        .args(["keys", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("billing app")
                .and(predicate::str::contains("bootstrap admin"))
                .and(predicate::str::contains("ombud_sk_").not()),
        );
    ombud(dir.path())
        .args(["keys", "revoke", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("revoked"));
    ombud(dir.path())
        .args(["keys", "revoke", &id])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no active key"));
    ombud(dir.path())
        .args(["keys", "create", "--role", "root", "--name", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a role"));
    ombud(dir.path())
        .args(["keys", "list", "--tenant", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a tenant id"));
}

#[test]
fn audit_verify_reports_the_first_broken_entry_and_fails() {
    let dir = prepared_store();
    ombud(dir.path())
        .args(["keys", "create", "--role", "auditor", "--name", "auditor"])
        .assert()
        .success();
    ombud(dir.path())
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact, 3 entries"));

    let raw = rusqlite::Connection::open(dir.path().join("ombud.db")).expect("raw");
    raw.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'key=forged role=admin' WHERE seq = 3;").expect("tampered");
    ombud(dir.path())
        .args(["audit", "verify", "--tenant", "operator"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("BROKEN at entry 3").and(predicate::str::contains("edited")),
        );
}

#[test]
fn admin_commands_without_a_store_say_where_they_looked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    ombud(dir.path())
        .args(["keys", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("there is no store in"));
}

#[test]
fn console_commands_never_invent_a_master_key() {
    let dir = prepared_store();
    let output = Command::cargo_bin("ombud")
        .expect("binary")
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_DATABASE_URL")
        .env("OMBUD_DATA_DIR", dir.path())
        .args(["keys", "list"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("OMBUD_MASTER_KEY"));
    assert!(
        !dir.path().join("master.key").exists(),
        "no key was created"
    );
}
