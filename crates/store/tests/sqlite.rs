//! The store suite on SQLite, and what only a file-backed store can show: the file holds no
//! personal data in clear, tampering is found, concurrent writers do not fork the chain.

mod suite;

use ombud_store::audit::Verification;
use ombud_store::crypto::MasterKey;
use ombud_store::{Actor, SqliteStore, Store, StoreError};
use std::path::Path;
use suite::*;

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, &MasterKey::from_hex(&"ab".repeat(32)).expect("key")).expect("opens")
}

#[test]
fn the_store_suite_passes_on_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    suite::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(open(&dir.path().join(format!("store-{n}.db"))))
    });
}

#[test]
fn the_database_file_holds_no_personal_data_in_clear() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    plant_known_personal_data(&store);
    drop(store);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("listable") {
        bytes.extend(std::fs::read(entry.expect("entry").path()).expect("readable"));
    }
    assert!(bytes.len() > 4096, "something was written");
    for needle in PLANTED {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is in the database files in clear"
        );
    }
}

#[test]
fn another_master_key_reads_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let now = at("2025-02-01T00:00:00Z");
    let (tenant, ana) = {
        let store = open(&path);
        let tenant = store
            .create_tenant("Acme", false, &Actor::Cli, now)
            .expect("tenant");
        let ana = store
            .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
            .expect("ana");
        store
            .put_records(
                tenant.id,
                &[record(ana, "user.name", "Ana")],
                &Actor::Cli,
                now,
            )
            .expect("written");
        (tenant, ana)
    };
    let other =
        SqliteStore::open(&path, &MasterKey::generate().expect("randomness")).expect("opens");
    assert!(matches!(
        other.records(tenant.id, ana),
        Err(StoreError::Crypto(_))
    ));
    assert_eq!(
        other
            .find_subject(tenant.id, &email("ana@example.com"))
            .expect("lookup"),
        None,
        "the blind index differs too"
    );
}

#[test]
fn an_entry_edited_behind_the_engines_back_is_reported_exactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    for n in 0..5 {
        store
            .create_subject(
                tenant.id,
                &[email(&format!("p{n}@example.com"))],
                &Actor::Cli,
                now,
            )
            .expect("subject");
    }
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { entries: 6, .. }
    ));

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    let blocked = raw.execute(
        "UPDATE audit_log SET action = 'subject.read' WHERE seq = 4",
        [],
    );
    assert!(blocked.is_err(), "the table refuses updates");
    raw.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'subject.read' WHERE seq = 4;").expect("tampered");
    match store.verify_audit(tenant.id).expect("verify") {
        Verification::Broken { seq, reason } => {
            assert_eq!(seq, 4);
            assert!(reason.contains("edited"), "{reason}");
        }
        intact => panic!("tampering went unnoticed: {intact:?}"),
    }

    raw.execute_batch("DROP TRIGGER audit_log_no_delete; UPDATE audit_log SET action = 'subject.create' WHERE seq = 4; DELETE FROM audit_log WHERE seq = 2;")
        .expect("tampered");
    match store.verify_audit(tenant.id).expect("verify") {
        Verification::Broken { seq, reason } => {
            assert_eq!(seq, 3, "the entry after the gap");
            assert!(reason.contains("missing"), "{reason}");
        }
        intact => panic!("deletion went unnoticed: {intact:?}"),
    }
}
