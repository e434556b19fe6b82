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

#[test]
fn a_customers_details_as_controller_are_set_shown_cleared_and_checked_before_anything_is_written()
{
    let dir = prepared();
    let ombud = || console(dir.path(), MASTER);
    let created = ombud()
        .args([
            "tenants",
            "create",
            "Autorité Conseil SAS",
            "--display-name",
            "Autorité",
            "--contact",
            "Vie.Privee@Autorite.example",
            "--colour",
            "#0B57D0",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("display name      Autorité"))
        .stdout(predicate::str::contains(
            "contact           vie.privee@autorite.example",
        ))
        .stdout(predicate::str::contains("colour            #0b57d0"))
        .get_output()
        .stdout
        .clone();
    let customer = id_in(&created);
    ombud()
        .args([
            "tenants",
            "update",
            &customer,
            "--address",
            "1 rue Exemple, 75001 Paris, France",
            "--dpo",
            "Åsa Lind, dpo@autorite.example",
            "--authority",
            "Commission nationale de l'informatique et des libertés (CNIL)",
            "--notice-url",
            "https://autorite.example/confidentialite",
        ])
        .assert()
        .success();
    ombud()
        .args(["tenants", "show", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains("name      Autorité Conseil SAS"))
        .stdout(predicate::str::contains(
            "DPO               Åsa Lind, dpo@autorite.example",
        ))
        .stdout(predicate::str::contains(
            "privacy notice    https://autorite.example/confidentialite",
        ))
        .stdout(predicate::str::contains("colour            #0b57d0"));
    // "" clears a detail; the others stay.
    ombud()
        .args(["tenants", "update", &customer, "--dpo", ""])
        .assert()
        .success()
        .stdout(predicate::str::contains("DPO").not())
        .stdout(predicate::str::contains("CNIL"));

    // Each refusal names the option and the fix, and changes nothing.
    for (args, says) in [
        (
            vec!["--colour", "#ffdd00"],
            "--colour: #ffdd00 is too light",
        ),
        (vec!["--colour", "blue"], "--colour: write the colour as #"),
        (
            vec!["--notice-url", "http://autorite.example/"],
            "--notice-url: give the notice url as an https address",
        ),
        (
            vec!["--contact", "not an address"],
            "--contact: give the contact as an email address",
        ),
        (vec!["--authority", "CNIL\u{202E}"], "--authority: "),
        (
            vec!["--name", " "],
            "--name: give the name 1 to 200 characters",
        ),
    ] {
        let mut line = vec!["tenants", "update", customer.as_str()];
        line.extend(args.iter().copied());
        line.extend(["--address", "changed, or not"]);
        ombud()
            .args(&line)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    ombud()
        .args(["tenants", "show", &customer])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 rue Exemple"))
        .stdout(predicate::str::contains("changed, or not").not());
    ombud()
        .args(["tenants", "update", &customer])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to change"));
    ombud()
        .args(["tenants", "update", "operator", "--dpo", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("privacy.toml's [controller]"));
    // A refused detail at creation creates no tenant.
    ombud()
        .args(["tenants", "create", "Pale Oy", "--colour", "#eeeeee"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--colour"));
    ombud()
        .args(["tenants", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Pale Oy").not());
}
