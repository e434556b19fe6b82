//! The store suite on SQLite, and what only a file-backed store can show: the file holds no
//! personal data in clear, tampering is found, concurrent writers do not fork the chain.

mod suite;

use ombud_store::audit::Verification;
use ombud_store::crypto::MasterKey;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore, StoreError};
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
fn a_rotation_rewraps_everything_on_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    rotation_rewraps_every_key_and_mail(&open(&dir.path().join("ombud.db")), &"ab".repeat(32));
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
fn another_master_key_is_refused_at_open() {
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
    // Another key is refused at the door, before it can read nothing or seal anything.
    let other = MasterKey::generate().expect("randomness");
    assert!(matches!(
        SqliteStore::open(&path, &other),
        Err(StoreError::KeyMismatch)
    ));
    // A store from before the check value: an existing subject's key tells the right key from
    // a wrong one, and the right one leaves the value for next time.
    rusqlite::Connection::open(&path)
        .expect("raw")
        .execute("DELETE FROM key_check", [])
        .expect("forget the check value");
    assert!(matches!(
        SqliteStore::open(&path, &other),
        Err(StoreError::KeyMismatch)
    ));
    let reopened = open(&path);
    assert_eq!(
        reopened
            .find_subject(tenant.id, &email("ana@example.com"))
            .expect("lookup"),
        Some(ana)
    );
    drop(reopened);
    assert!(matches!(
        SqliteStore::open(&path, &other),
        Err(StoreError::KeyMismatch)
    ));
}

#[test]
fn an_entry_edited_behind_the_engines_back_is_reported_exactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let now = at("2025-02-01T00:00:00Z");
    let (tenant, _) = tenant_with_people(&store, "Acme", 5, now);
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

/// Copies the store's two files (closed, so the write-ahead logs are folded in) to `to`.
fn snapshot(path: &Path, to: &Path, with_keys: bool) {
    std::fs::create_dir_all(to).expect("snapshot directory");
    std::fs::copy(path, to.join("ombud.db")).expect("data file copied");
    if with_keys {
        std::fs::copy(
            SqliteStore::key_file(path),
            SqliteStore::key_file(&to.join("ombud.db")),
        )
        .expect("key file copied");
    }
}

#[test]
fn a_copy_of_the_data_file_taken_before_an_erasure_yields_nothing_once_the_key_is_gone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let now = at("2026-03-01T10:00:00Z");
    let (tenant, ana, ben, invoice) = {
        let store = open(&path);
        let tenant = store
            .create_tenant("Acme", false, &Actor::Cli, now)
            .expect("tenant");
        let ana = store
            .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
            .expect("ana");
        let ben = store
            .create_subject(tenant.id, &[email("ben@example.com")], &Actor::Cli, now)
            .expect("ben");
        let ids = store
            .put_records(
                tenant.id,
                &[
                    record(ana, "user.name", "Ana"),
                    record(ben, "user.name", "Ben"),
                    record(ben, "user.financial", "INV-7 80 EUR"),
                ],
                &Actor::Cli,
                now,
            )
            .expect("written");
        (tenant, ana, ben, ids[2])
    };
    let before = dir.path().join("before");
    snapshot(&path, &before, true);

    {
        let store = open(&path);
        store
            .erase_subject(tenant.id, ana, &[], None, &Actor::Cli, now)
            .expect("ana erased");
        let kept = [ombud_store::requests::KeptRecord {
            record: invoice,
            purposes: vec!["accounting".into()],
        }];
        store
            .erase_subject(tenant.id, ben, &kept, None, &Actor::Cli, now)
            .expect("ben erased but for the invoice");
    }

    // The copy with the keys it was taken with still opens: it held the values.
    let old = open(&before.join("ombud.db"));
    assert_eq!(
        old.records(tenant.id, ana).expect("readable")[0]
            .value
            .expose(),
        "Ana"
    );
    drop(old);

    // The same copy beside today's key file: Ana's key is gone, and Ben's records were sealed
    // with a key that was replaced when his invoice was kept.
    let restored = dir.path().join("restored");
    snapshot(&before.join("ombud.db"), &restored, false);
    std::fs::copy(
        SqliteStore::key_file(&path),
        SqliteStore::key_file(&restored.join("ombud.db")),
    )
    .expect("today's key file");
    let copy = open(&restored.join("ombud.db"));
    assert!(
        copy.subject_exists(tenant.id, ana)
            .expect("the row is in the copy")
    );
    assert!(matches!(
        copy.records(tenant.id, ana),
        Err(StoreError::NotFound("subject"))
    ));
    assert!(matches!(
        copy.records(tenant.id, ben),
        Err(StoreError::NotFound("subject"))
    ));
    assert_eq!(
        copy.find_subject(tenant.id, &email("ana@example.com"))
            .expect("lookup"),
        Some(ana),
        "the blind index survives in the copy, the value behind it does not"
    );
    assert!(matches!(
        copy.subject(tenant.id, ana),
        Err(StoreError::NotFound("subject"))
    ));
    drop(copy);

    // The live store still reads the invoice the law keeps, under its new key.
    let live = open(&path);
    let left = live.records(tenant.id, ben).expect("held record");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].value.expose(), "INV-7 80 EUR");
}

#[test]
fn a_data_file_without_its_key_file_is_refused_not_emptied() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    drop(open(&path));
    let keys = SqliteStore::key_file(&path);
    assert_eq!(keys, dir.path().join("ombud-keys.db"));
    std::fs::remove_file(&keys).expect("key file removed");
    let error = SqliteStore::open(&path, &MasterKey::from_hex(&"ab".repeat(32)).expect("key"))
        .expect_err("refused");
    assert!(error.to_string().contains("ombud-keys.db"), "{error}");
    assert!(!keys.exists(), "no empty key file was made in its place");
}

#[test]
fn only_entries_behind_a_checkpoint_may_be_deleted_and_a_checkpoint_only_moves_forward() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let old = at("2023-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, old)
        .expect("tenant");
    for n in 0..4 {
        store
            .create_subject(
                tenant.id,
                &[email(&format!("p{n}@example.com"))],
                &Actor::Cli,
                if n < 2 {
                    old
                } else {
                    at("2025-02-01T00:00:00Z")
                },
            )
            .expect("subject");
    }
    let now = at("2025-03-01T00:00:00Z");
    let step = store
        .prune_audit(
            tenant.id,
            at("2024-01-01T00:00:00Z"),
            100,
            &Actor::System,
            now,
        )
        .expect("prune");
    assert_eq!((step.entries, step.through), (3, 3));

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    for (sql, what) in [
        (
            "DELETE FROM audit_log WHERE seq = 4",
            "an entry ahead of the checkpoint",
        ),
        (
            "UPDATE audit_checkpoints SET seq = 1",
            "a checkpoint moved back",
        ),
        ("DELETE FROM audit_checkpoints", "the checkpoint removed"),
        (
            "UPDATE audit_checkpoints SET seq = 5",
            "entries are not behind it yet, but moving on is allowed",
        ),
    ] {
        let result = raw.execute(sql, []);
        if what.contains("allowed") {
            assert!(result.is_ok(), "{what}: {result:?}");
        } else {
            assert!(result.is_err(), "{what} was allowed");
        }
    }
    // A checkpoint moved past entries that are still there does not make them verify.
    match store.verify_audit(tenant.id).expect("verify") {
        Verification::Broken { seq, reason } => {
            assert_eq!(seq, 4);
            assert!(reason.contains("missing or reordered"), "{reason}");
        }
        intact => panic!("a forged checkpoint went unnoticed: {intact:?}"),
    }
}

/// Under overlapping reads SQLite never starts its write-ahead log over by itself; `maintain`
/// (every jobs round of the server) must bring it back while the readers carry on.
#[test]
fn maintenance_empties_a_write_ahead_log_that_constant_readers_keep_growing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let wal = dir.path().join("ombud.db-wal");
    let writer = rusqlite::Connection::open(&path).expect("opens");
    writer
        .execute_batch("PRAGMA busy_timeout = 10000; CREATE TABLE scratch (payload BLOB)")
        .expect("scratch table");

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open(&path).expect("opens");
                conn.execute_batch("PRAGMA busy_timeout = 10000")
                    .expect("timeout");
                std::thread::sleep(std::time::Duration::from_millis(i));
                // Each read is short, but the three overlap, so the log always has a reader.
                while !stop.load(Ordering::Relaxed) {
                    conn.execute_batch("BEGIN").expect("begins");
                    let _: i64 = conn
                        .query_row("SELECT COUNT(*) FROM scratch", [], |row| row.get(0))
                        .expect("reads");
                    std::thread::sleep(std::time::Duration::from_millis(3));
                    conn.execute_batch("COMMIT").expect("ends");
                }
            })
        })
        .collect();

    let megabyte = vec![7u8; 1024 * 1024];
    for _ in 0..96 {
        writer
            .execute("INSERT INTO scratch (payload) VALUES (?1)", [&megabyte])
            .expect("writes");
    }
    let grown = std::fs::metadata(&wal).expect("the log exists").len();
    assert!(
        grown > 80 * 1024 * 1024,
        "the log grew past the bound: {grown} bytes"
    );

    store.maintain().expect("maintains");
    let after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("the reader ran to the end");
    }
    assert!(
        after < 1024 * 1024,
        "the log is back under the bound while the readers went on: {after} bytes"
    );
    let kept: i64 = writer
        .query_row("SELECT COUNT(*) FROM scratch", [], |row| row.get(0))
        .expect("counts");
    assert_eq!(kept, 96, "nothing written was lost");
}

/// Each commit that takes the log past its bound folds it back before it returns, and every
/// read's audit entry waits for that commit: the bound is kept small (250 pages, SQLite's
/// default is 1,000) so that no fold holds a read back long.
#[test]
fn the_log_is_folded_back_every_few_hundred_pages() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let now = jiff::Timestamp::now();
    let (tenant, people) = tenant_with_people(&store, "Fold", 1, now);
    let log = dir.path().join("ombud.db-wal");
    let mut longest = 0;
    for n in 0..1_000 {
        store
            .append_audit(
                tenant.id,
                ombud_store::audit::NewAuditEntry {
                    actor: "key:test".into(),
                    action: "records.read".into(),
                    subject: Some(people[0]),
                    categories: vec!["user.name".into()],
                    purpose: Some("invoicing".into()),
                    detail: Some(format!("returned={n}")),
                },
                now,
            )
            .expect("appended");
        longest = longest.max(std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0));
    }
    // 250 pages of 4 KiB and the commit that passed them; 1,000 pages would be 4 MiB.
    assert!(
        longest < 1_600_000,
        "the log grew to {longest} bytes over 1,000 commits"
    );
}

/// An erasure returns once it is committed; the checkpoint that folds both write-ahead logs
/// back (where the old pages, and the erased person's key, would stay) follows within moments
/// on the scrubber's thread, with nobody calling `maintain`.
#[test]
fn an_erasure_leaves_both_write_ahead_logs_within_moments_of_returning() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ombud.db");
    let store = open(&path);
    let now = jiff::Timestamp::now();
    let (tenant, people) = tenant_with_people(&store, "Scrub", 1, now);
    let ana = people[0];
    store
        .put_records(
            tenant.id,
            &[record(ana, "user.name", "Ana")],
            &Actor::Cli,
            now,
        )
        .expect("record");
    let logs = [
        dir.path().join("ombud.db-wal"),
        std::path::PathBuf::from(format!("{}-wal", SqliteStore::key_file(&path).display())),
    ];
    let length = |log: &std::path::Path| std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    assert!(
        logs.iter().all(|log| length(log) > 0),
        "both logs hold the writes before the erasure"
    );
    store
        .erase_subject(tenant.id, ana, &[], None, &Actor::Cli, now)
        .expect("erased");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while logs.iter().any(|log| length(log) > 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the logs still hold {:?} bytes ten seconds after the erasure",
            logs.iter().map(|log| length(log)).collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(matches!(
        store.records(tenant.id, ana),
        Err(StoreError::NotFound(_))
    ));
}
