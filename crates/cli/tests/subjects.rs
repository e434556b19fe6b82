//! `ombud subjects find`: a person found at the console by any identity, typed the way people
//! type it, shown in counts and masked identities, never a value; each lookup audited.

mod common;

use common::console;
use ombud_core::{Identity, IdentityKind};
use ombud_store::audit::AuditFilter;
use ombud_store::model::{NewRecord, Secret};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d";

#[test]
fn a_person_is_found_by_any_identity_and_shown_without_values() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let now = jiff::Timestamp::now();
    let clock = ombud_core::ManualClock::new(now);
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Laskuri Pilvi Oy")
        .expect("bootstrap")
        .operator;
    let customer = store
        .create_tenant("Asiakas Oy", false, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let ana = store
        .create_subject(
            operator,
            &[
                Identity::parse(IdentityKind::Email, "ana.lopez@example.com").expect("email"),
                Identity::parse(IdentityKind::Phone, "+358 40 123 4567").expect("phone"),
                Identity::parse(IdentityKind::NationalId, "131052-308T").expect("id"),
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
                subject: ana,
                category: "user.name".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: now,
                value: Secret::new("Ana Lopez"),
            }],
            &Actor::Cli,
            now,
        )
        .expect("record");
    store
        .create_subject(
            customer,
            &[Identity::parse(IdentityKind::Email, "ana.lopez@example.com").expect("email")],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    drop(store);
    let ombud = || {
        let mut command = console(dir.path(), MASTER);
        command.env_remove("OMBUD_POLICY");
        command
    };

    // However it was typed: a national phone number (the built-in policy's controller is in
    // Finland), an address in capitals, a national id in lower case.
    for typed in [
        "040 123 4567",
        "phone:+358401234567",
        "email:Ana.Lopez@Example.com",
        "ANA.LOPEZ@example.com",
        "national_id:131052-308t",
    ] {
        ombud()
            .args(["subjects", "find", typed])
            .assert()
            .success()
            .stdout(predicate::str::contains(ana.to_string()))
            .stdout(predicate::str::contains("a…@example.com"))
            .stdout(predicate::str::contains("records     1 record"))
            .stdout(predicate::str::contains("user.name"))
            .stdout(predicate::str::contains("Ana Lopez").not())
            .stdout(predicate::str::contains("ana.lopez@").not())
            .stdout(predicate::str::contains("401234567").not());
    }
    ombud()
        .args(["subjects", "find", "ana.lopez@example.com", "--all-tenants"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Laskuri Pilvi Oy (the operator's own)",
        ))
        .stdout(predicate::str::contains("Asiakas Oy (a customer's)"));
    ombud()
        .args(["subjects", "find", "nobody@example.com"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "nobody with that email in Laskuri Pilvi Oy",
        ));
    ombud()
        .args(["subjects", "find", "Ana Lopez"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("say which kind of identity it is"));
    ombud()
        .args(["subjects", "find", "99999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("as dialled in FI"))
        .stderr(predicate::str::contains("99999").not());

    let store = SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let reads = store
        .audit_entries(
            operator,
            &AuditFilter {
                action: Some("subject.read".into()),
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    assert_eq!(reads.len(), 6, "each lookup that found Ana is audited");
    assert!(
        reads
            .iter()
            .all(|e| e.subject == Some(ana) && e.actor == "cli")
    );
}
