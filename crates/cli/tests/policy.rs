//! `ombud policy …` as a user runs it: exit codes, output formats, files written, and the
//! errors for bad paths, bad flags and bad policies.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn ombud() -> Command {
    Command::cargo_bin("ombud").expect("the ombud binary is built")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../policy/tests/fixtures/check/{name}.toml"))
}

#[test]
fn check_of_a_clean_policy_exits_zero_even_with_warnings_denied() {
    ombud()
        .args(["policy", "check", "--deny-warnings"])
        .arg(example("invoicing-saas"))
        .assert()
        .success()
        .stdout(predicate::str::ends_with("0 errors, 0 warnings\n"));
}

#[test]
fn check_reports_an_error_with_file_line_column_and_exits_one() {
    let path = fixture("unknown-category");
    ombud()
        .args(["policy", "check"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{}:28:15",
            path.display()
        )))
        .stdout(predicate::str::contains("error[unknown-category]"))
        .stdout(predicate::str::contains(
            "hint: did you mean `user.contact.email`?",
        ));
}

#[test]
fn warnings_fail_the_check_only_when_denied() {
    let path = fixture("unused-recipient");
    ombud()
        .args(["policy", "check"])
        .arg(&path)
        .assert()
        .success();
    ombud()
        .args(["policy", "check", "--deny-warnings"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("warning[unused-recipient]"));
}

#[test]
fn check_as_json_gives_the_same_findings_for_machines() {
    let output = ombud()
        .args(["policy", "check", "--format", "json"])
        .arg(fixture("transfer-without-safeguard"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 0);
    let finding = &report["findings"][0];
    for key in [
        "code", "severity", "path", "line", "column", "message", "hint",
    ] {
        assert!(!finding[key].is_null(), "{key} is present");
    }
    assert_eq!(finding["code"], "transfer-without-safeguard");
    assert_eq!(finding["path"], "recipient[stripe].country");
}

#[test]
fn a_missing_file_is_an_error_that_names_the_path_and_exits_two() {
    ombud()
        .args(["policy", "check", "no/such/privacy.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/privacy.toml"))
        .stderr(predicate::str::contains("ombud init"));
}

#[test]
fn an_unknown_format_is_rejected_with_the_choices() {
    ombud()
        .args(["policy", "render", "--format", "pdf"])
        .arg(example("invoicing-saas"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("md, html, ropa-csv, ropa-json"));
}

#[test]
fn render_writes_each_format_to_standard_output() {
    for (format, start) in [
        ("md", "# Privacy policy"),
        ("html", "<!DOCTYPE html>"),
        ("ropa-csv", "article,activity_id,"),
        ("ropa-json", "{"),
    ] {
        ombud()
            .args(["policy", "render", "--format", format])
            .arg(example("managed-erp-hosting"))
            .assert()
            .success()
            .stdout(predicate::str::starts_with(start));
    }
}

#[test]
fn render_to_a_file_replaces_it_whole() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("notice.html");
    std::fs::write(&out, "the old notice").expect("writable");
    ombud()
        .args(["policy", "render", "--format", "html", "--output"])
        .arg(&out)
        .arg(example("public-cloud"))
        .assert()
        .success()
        .stdout("");
    let written = std::fs::read_to_string(&out).expect("written");
    assert!(written.starts_with("<!DOCTYPE html>") && written.contains("Fjärdmoln AB"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("listable").collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

#[test]
fn render_of_a_broken_policy_prints_the_findings_and_leaves_the_old_output_alone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("notice.md");
    std::fs::write(&out, "the published notice").expect("writable");
    ombud()
        .args(["policy", "render", "--format", "md", "-o"])
        .arg(&out)
        .arg(fixture("missing-basis"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[missing-basis]"))
        .stderr(predicate::str::contains("fix the errors above first"));
    assert_eq!(
        std::fs::read_to_string(&out).expect("still there"),
        "the published notice"
    );
}

#[test]
fn render_into_a_missing_directory_says_so() {
    ombud()
        .args([
            "policy",
            "render",
            "--format",
            "md",
            "-o",
            "/nonexistent-dir/notice.md",
        ])
        .arg(example("invoicing-saas"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent-dir/notice.md"));
}

#[test]
fn diff_classifies_changes_and_drafts_the_notice() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let new = dir.path().join("new.toml");
    let source = std::fs::read_to_string(example("invoicing-saas")).expect("readable");
    std::fs::write(
        &new,
        source.replace("keep = \"180 days\"", "keep = \"1 year\""),
    )
    .expect("writable");
    ombud()
        .args(["policy", "diff"])
        .arg(example("invoicing-saas"))
        .arg(&new)
        .assert()
        .success()
        .stdout(predicate::str::contains("material changes (1):"))
        .stdout(predicate::str::contains("[longer-retention]"))
        .stdout(predicate::str::contains(
            "draft change notice for customers:",
        ));
    let output = ombud()
        .args(["policy", "diff", "--format", "json"])
        .arg(example("invoicing-saas"))
        .arg(&new)
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(report["material"], true);
    assert_eq!(report["changes"][0]["kind"], "material");
    assert!(
        report["change_notice"]
            .as_str()
            .is_some_and(|n| n.contains("1 year"))
    );
}

#[test]
fn diff_refuses_a_broken_version() {
    ombud()
        .args(["policy", "diff"])
        .arg(example("invoicing-saas"))
        .arg(fixture("toml-syntax"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[toml-syntax]"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["policy", "--help"],
        vec!["policy", "check", "--help"],
        vec!["policy", "render", "--help"],
        vec!["policy", "diff", "--help"],
        vec!["init", "--help"],
    ] {
        ombud()
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage:"));
    }
}

#[test]
fn init_writes_a_starter_policy_that_checks_clean_and_never_overwrites_by_accident() {
    let dir = tempfile::tempdir().expect("temporary directory");
    ombud()
        .current_dir(dir.path())
        .args(["init", "--example", "public-cloud"])
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATA_DIR")
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote privacy.toml"))
        .stdout(predicate::str::contains("ombud_sk_").count(1));
    assert!(
        dir.path().join("ombud-data/ombud.db").exists(),
        "init creates the store"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("ombud-data/master.key"))
            .expect("key file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    ombud()
        .current_dir(dir.path())
        .args(["policy", "check", "--deny-warnings"])
        .assert()
        .success();
    std::fs::write(dir.path().join("privacy.toml"), "my own edits").expect("writable");
    ombud()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("privacy.toml")).expect("kept"),
        "my own edits"
    );
    ombud()
        .current_dir(dir.path())
        .args(["init", "--force"])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(dir.path().join("privacy.toml"))
            .expect("replaced")
            .contains("Laskuri Pilvi Oy")
    );
}

#[test]
fn init_run_again_keeps_the_policy_and_gives_the_operator_tenant_the_controllers_new_name() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let init = || {
        let mut command = ombud();
        command
            .current_dir(dir.path())
            .arg("init")
            .env_remove("OMBUD_MASTER_KEY")
            .env_remove("OMBUD_DATA_DIR")
            .env_remove("OMBUD_DATABASE_URL");
        command
    };
    init().assert().success();
    let path = dir.path().join("privacy.toml");
    let policy = std::fs::read_to_string(&path).expect("written");
    std::fs::write(
        &path,
        policy.replace("Laskuri Pilvi Oy", "Laskuri Cloud Oy"),
    )
    .expect("edited");
    init()
        .assert()
        .success()
        .stdout(predicate::str::contains("kept privacy.toml"))
        .stdout(predicate::str::contains(
            "the operator tenant is now named Laskuri Cloud Oy (was Laskuri Pilvi Oy)",
        ))
        .stdout(predicate::str::contains("ombud_sk_").not());
    ombud()
        .current_dir(dir.path())
        .args(["tenants", "list"])
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATA_DIR")
        .env_remove("OMBUD_DATABASE_URL")
        .assert()
        .success()
        .stdout(predicate::str::contains("operator  Laskuri Cloud Oy"));
    init()
        .assert()
        .success()
        .stdout(predicate::str::contains("now named").not());
    assert!(
        std::fs::read_to_string(&path)
            .expect("kept")
            .contains("Laskuri Cloud Oy"),
        "init never rewrites an existing policy without --force"
    );
}

/// `ombud init --database-url` sets up PostgreSQL: the schema, the operator tenant and the
/// first admin key. Runs where `OMBUD_TEST_POSTGRES_URL` names a database (CI sets it).
#[test]
fn init_sets_up_postgres_too() {
    let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") else {
        eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL init test did not run");
        return;
    };
    let schema = format!(
        "ombud_init_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos()
    );
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().expect("temporary directory");
    ombud()
        .current_dir(dir.path())
        .args(["init", "--database-url", &url])
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_DATA_DIR")
        .assert()
        .success()
        .stdout(predicate::str::contains("the store in PostgreSQL"))
        .stdout(predicate::str::contains("ombud_sk_").count(1))
        .stdout(predicate::str::contains("ombud serve --database-url"));
    assert!(
        !dir.path().join("ombud-data/ombud.db").exists(),
        "no SQLite store is made beside PostgreSQL"
    );
    let operator: String = admin
        .query_one(
            &format!("SELECT name FROM {schema}.tenants WHERE operator"),
            &[],
        )
        .expect("the operator tenant")
        .get(0);
    assert_eq!(operator, "Laskuri Pilvi Oy");
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("dropped");
}
