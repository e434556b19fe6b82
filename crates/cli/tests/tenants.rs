//! `ombud tenants …`: the operator's customers and their service-message contacts at the
//! console, with the same checks as the API and nothing changed by a refused command.

mod common;

use common::console;
use predicates::prelude::*;

const MASTER: &str = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c";

fn prepared() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new("2026-01-01T00:00:00Z".parse().expect("time"));
    ombud_app::bootstrap::ensure_operator(&store, &clock, "Laskuri Oy").expect("bootstrap");
    dir
}

fn id_in(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .split_whitespace()
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .expect("an id")
        .to_owned()
}

#[test]
fn a_customer_is_created_listed_shown_and_given_contacts_at_the_console() {
    let dir = prepared();
    let ombud = || console(dir.path(), MASTER);
    let created = ombud()
        .args(["tenants", "create", "  Bryggeri Åbo Ab "])
        .assert()
        .success()
        .stdout(predicate::str::contains("(Bryggeri Åbo Ab)"))
        .get_output()
        .stdout
        .clone();
    let customer = id_in(&created);

    ombud().args(["tenants", "list"]).assert().success().stdout(
        predicate::str::is_match("(?s)operator +Laskuri Oy.*customer +Bryggeri Åbo Ab")
            .expect("regex"),
    );

    ombud()
        .args([
            "tenants",
            "contacts",
            "add",
            &customer,
            "--email",
            "It.Lead@Bryggeri.example",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("added contact"));
    ombud()
        .args([
            "tenants",
            "contacts",
            "add",
            &customer,
            "--email",
            "it.lead@bryggeri.example",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("already a contact"));
    let listed = ombud()
        .args(["tenants", "contacts", "list", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains("it.lead@bryggeri.example").not())
        .get_output()
        .stdout
        .clone();
    let contact = id_in(&listed);
    ombud()
        .args(["tenants", "show", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains("name      Bryggeri Åbo Ab"))
        .stdout(predicate::str::contains("contacts  1"))
        .stdout(predicate::str::contains(&contact));

    ombud()
        .args([
            "tenants",
            "contacts",
            "remove",
            &customer,
            "--subject",
            &contact,
        ])
        .assert()
        .success();
    ombud()
        .args([
            "tenants",
            "contacts",
            "remove",
            &customer,
            "--subject",
            &contact,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a contact of this tenant"));
    ombud()
        .args(["tenants", "contacts", "list", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains("no contacts"));
}

#[test]
fn bad_input_is_refused_with_the_place_and_the_fix_and_changes_nothing() {
    let dir = prepared();
    let ombud = || console(dir.path(), MASTER);
    ombud()
        .args(["tenants", "create", "Acme\u{202E}Oy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("name holds U+202E"));
    ombud()
        .args(["tenants", "create", "   "])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "give the name 1 to 200 characters",
        ));
    ombud()
        .args([
            "tenants",
            "contacts",
            "add",
            "operator",
            "--email",
            "a@example.com",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the operator's own tenant names no contacts",
        ));
    ombud()
        .args([
            "tenants",
            "contacts",
            "add",
            "not-an-id",
            "--email",
            "a@example.com",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`not-an-id` is not a tenant id"));
    let created = ombud()
        .args(["tenants", "create", "Customer"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let customer = id_in(&created);
    ombud()
        .args([
            "tenants",
            "contacts",
            "add",
            &customer,
            "--email",
            "not an address",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--email"));
    ombud()
        .args(["tenants", "contacts", "add", &customer])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--email").and(predicate::str::contains("--subject")));
    ombud()
        .args(["tenants", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Acme").not());
}
