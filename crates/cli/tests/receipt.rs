//! `ombud receipt` against a store on disk: a sweep that removes a record signs a receipt,
//! which `ombud receipt verify` checks with a keys file, with the store's own keys and against
//! the audit chain; a rotation keeps old receipts verifying, a retirement ends them; bad
//! flags, files and keys are refused with what to do.

mod common;

use ombud_store::model::{NewRecord, Secret};
use ombud_store::prelude::*;
use ombud_store::receipts::{ReceiptFilter, ReceiptKind};
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;

const MASTER: &str = "6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e";

fn ombud(dir: &std::path::Path) -> assert_cmd::Command {
    common::console(dir, MASTER)
}

fn open(dir: &std::path::Path) -> SqliteStore {
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    SqliteStore::open(&dir.join("ombud.db"), &key).expect("store")
}

/// A store whose operator holds a security log from 2023, past the example's two years; the
/// sweep receipt `ombud sweep` signed for it, written to `receipt.jws`; and its key id.
fn swept(dir: &std::path::Path) -> String {
    let store = open(dir);
    let then = "2023-01-01T00:00:00Z".parse().expect("time");
    let operator = ombud_app::bootstrap::ensure_operator(
        &store,
        &ombud_core::ManualClock::new(then),
        "Operator",
    )
    .expect("bootstrap")
    .operator;
    let subject = store
        .create_subject(
            operator,
            &[
                ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "log@example.fi")
                    .expect("email"),
            ],
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
                category: "user.device.ip_address".into(),
                purposes: vec!["security".into()],
                source: "system".into(),
                collected_at: then,
                value: Secret::new("192.0.2.44"),
            }],
            &Actor::Cli,
            then,
        )
        .expect("record");
    drop(store);
    ombud(dir)
        .arg("sweep")
        .assert()
        .success()
        .stdout(predicate::str::contains("1 receipt of this sweep signed"));
    let store = open(dir);
    let receipts = store
        .receipts(
            operator,
            &ReceiptFilter {
                kind: Some(ReceiptKind::Sweep),
                before: None,
                limit: 10,
            },
        )
        .expect("receipts");
    assert_eq!(receipts.len(), 1);
    std::fs::write(dir.join("receipt.jws"), &receipts[0].jws).expect("written");
    ombud_app::receipts::key_id(&receipts[0].jws).expect("kid")
}

#[test]
fn a_sweep_receipt_verifies_with_a_keys_file_the_stores_keys_and_the_chain_until_its_key_retires() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kid = swept(dir.path());

    let keys = ombud(dir.path())
        .args(["receipt", "keys"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    std::fs::write(dir.path().join("keys.json"), &keys).expect("written");
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws", "--keys", "keys.json"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("signature: valid — a receipt of a sweep run")
                .and(predicate::str::contains("1 records removed"))
                .and(predicate::str::contains("rule security-logs: 1"))
                .and(predicate::str::contains("192.0.2.44").not()),
        );
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws", "--chain"])
        .assert()
        .success()
        .stdout(predicate::str::contains("audit chain: holds"));
    let json = ombud(dir.path())
        .args([
            "receipt",
            "verify",
            "receipt.jws",
            "--chain",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(json["valid"], true);
    assert_eq!(json["chain"]["result"], "holds");
    assert_eq!(
        json["payload"]["sweep"]["by_category"]["user.device.ip_address"],
        1
    );

    // A rotation signs with a new key; the old one still verifies what it signed.
    ombud(dir.path())
        .args(["receipt", "rotate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("from now on"));
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws"])
        .assert()
        .success();
    // Retired, it is no longer published, and the receipt no longer verifies.
    ombud(dir.path())
        .args(["receipt", "retire", &kid])
        .assert()
        .success()
        .stdout(predicate::str::contains("is retired"));
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("signed with key `{kid}`")));
    // A keys file saved before the retirement still lists it: offline checks trust the keys
    // they are given.
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws", "--keys", "keys.json"])
        .assert()
        .success();
    ombud(dir.path())
        .args(["receipt", "retire", &kid])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("retired already"));
    ombud(dir.path())
        .args(["receipt", "retire", "no-such-key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no receipt key `no-such-key`"));

    let store = open(dir.path());
    let operator = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.operator)
        .expect("operator")
        .id;
    let actions: Vec<String> = store
        .audit_entries(
            operator,
            &ombud_store::audit::AuditFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .expect("entries")
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("receipts."))
        .collect();
    assert_eq!(actions, ["receipts.key_rotated", "receipts.key_retired"]);
}

#[test]
fn bad_flags_files_and_keys_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("temporary directory");
    swept(dir.path());
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws", "--format", "xml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format xml: give text or json"));
    ombud(dir.path())
        .args(["receipt", "verify", "missing.jws"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("while reading missing.jws"));
    std::fs::write(dir.path().join("not-keys.json"), "{\"keys\": 3}").expect("written");
    ombud(dir.path())
        .args([
            "receipt",
            "verify",
            "receipt.jws",
            "--keys",
            "not-keys.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--keys not-keys.json: not a JSON Web Key Set",
        ));
    ombud(dir.path())
        .args(["receipt", "verify", "receipt.jws", "--keys", "absent.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--keys absent.json: the file could not be read",
        ));
    std::fs::write(dir.path().join("note.txt"), "dear customer, all is well").expect("written");
    ombud(dir.path())
        .args(["receipt", "verify", "note.txt"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("does not verify: not a receipt"));
}
