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
