//! `ombud subprocessors` at the console: a customer's list, the change notice drafted from the
//! previous policy version and sent with `--send` to the customers using the changed provider.

mod common;

use assert_cmd::Command;
use ombud_store::crypto::MasterKey;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a";
const OLD: &str = include_str!("../../../examples/managed-erp-hosting.toml");

fn ombud(dir: &std::path::Path) -> Command {
    common::console(dir, MASTER)
}

#[test]
fn a_change_notice_is_drafted_and_sent_at_the_console() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let new = OLD.replacen(
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"US\"",
        "purpose = \"Cloud infrastructure for customer environments\"\ncountry = \"SG\"",
        1,
    );
    std::fs::write(dir.path().join("privacy.toml"), &new).expect("policy");
    let now = jiff::Timestamp::now();
    let (acme, globex) = {
        let store = SqliteStore::open(
            &dir.path().join("ombud.db"),
            &MasterKey::from_hex(MASTER).expect("key"),
        )
        .expect("store");
        let operator = store
            .create_tenant("Pilvi", true, &Actor::Cli, now)
            .expect("operator")
            .id;
        let old = ombud_policy::check(OLD).policy.expect("checks").version.0;
        store
            .keep_policy_version(operator, &old, OLD, &Actor::Cli, now)
            .expect("kept");
        let acme = store
            .create_tenant("Acme", false, &Actor::Cli, now)
            .expect("acme")
            .id;
        let globex = store
            .create_tenant("Globex", false, &Actor::Cli, now)
            .expect("globex")
            .id;
        store
            .select_recipient(acme, "vultr", true, &Actor::Cli, now)
            .expect("chosen");
        (acme.to_string(), globex.to_string())
    };

    ombud(dir.path())
        .args(["subprocessors", "list", "--tenant", &acme])
        .assert()
        .success()
        .stdout(predicate::str::contains("vultr").and(predicate::str::contains("Singapore")));
    ombud(dir.path())
        .args(["subprocessors", "list", "--tenant", &globex])
        .assert()
        .success()
        .stdout(predicate::str::contains("vultr").not());
    ombud(dir.path())
        .args(["subprocessors", "changes", "--since", "feedface"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--since"));
    ombud(dir.path())
        .args(["subprocessors", "changes"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("new-third-country-transfer")
                .and(predicate::str::contains("--- to Acme"))
                .and(predicate::str::contains("Globex").not())
                .and(predicate::str::contains("nothing sent")),
        );
    let sent = ombud(dir.path())
        .args(["subprocessors", "changes", "--send"])
        .assert()
        .success()
        .stdout(predicate::str::contains("to 1 customers"))
        .get_output()
        .stdout
        .clone();
    let sent = String::from_utf8(sent).expect("text");
    let change = sent
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(3))
        .expect("the change id")
        .to_owned();
    ombud(dir.path())
        .args(["subprocessors", "objections", &change])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 objections"));
    ombud(dir.path())
        .args(["notice", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("subprocessor_change")
                .and(predicate::str::contains("1 notice\n")),
        );
}
