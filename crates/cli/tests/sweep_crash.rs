//! A sweep of 200,000 expired records killed with SIGKILL at several points, then run again to
//! the end: every expired record is gone, nothing unexpired is gone, no subject is left half
//! removed (identities, events or keys without their subject, or a subject without its key),
//! every removal is audited exactly once, and the audit chain verifies.

use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::model::{NewEvent, NewRecord, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const MASTER: &str = "9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e";
/// Subjects whose every record has expired: they go whole.
const GONE_SUBJECTS: usize = 19_000;
/// Subjects with expired logs and live contact data: they lose the logs only.
const MIXED_SUBJECTS: usize = 1_000;
/// Subjects with nothing expired.
const LIVE_SUBJECTS: usize = 500;
const LOGS_PER_SUBJECT: usize = 10;
const EXPIRED: usize = (GONE_SUBJECTS + MIXED_SUBJECTS) * LOGS_PER_SUBJECT;
const LIVE_RECORDS: usize = MIXED_SUBJECTS * 2 + LIVE_SUBJECTS * 3;

fn ombud(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ombud"));
    command
        .current_dir(dir)
        .env("OMBUD_MASTER_KEY", MASTER)
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .env("OMBUD_DATA_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn person(store: &SqliteStore, tenant: TenantId, n: usize) -> SubjectId {
    let at = "2020-01-01T00:00:00Z".parse().expect("time");
    store
        .create_subject(
            tenant,
            &[Identity::parse(IdentityKind::Email, &format!("p{n}@example.fi")).expect("email")],
            &Actor::Cli,
            at,
        )
        .expect("subject")
}

fn fill(dir: &Path) {
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = SqliteStore::open(&dir.join("ombud.db"), &key).expect("store");
    let then: jiff::Timestamp = "2020-01-01T00:00:00Z".parse().expect("time");
    let clock = ombud_core::ManualClock::new(then);
    let tenant = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    let log = |subject| NewRecord {
        id: None,
        subject,
        category: "user.device.ip_address".into(),
        purposes: vec!["security".into()],
        source: "subject".into(),
        collected_at: then,
        value: Secret::new("192.0.2.44"),
    };
    let live = |subject| NewRecord {
        id: None,
        subject,
        category: "user.contact.email".into(),
        purposes: vec!["service-delivery".into()],
        source: "subject".into(),
        collected_at: then,
        value: Secret::new("live@example.fi"),
    };
    let mut records = Vec::new();
    let mut n = 0;
    for kind in 0..3 {
        let count = [GONE_SUBJECTS, MIXED_SUBJECTS, LIVE_SUBJECTS][kind];
        for _ in 0..count {
            let subject = person(&store, tenant, n);
            n += 1;
            if kind < 2 {
                records.extend((0..LOGS_PER_SUBJECT).map(|_| log(subject)));
            }
            if kind > 0 {
                records.extend((0..kind + 1).map(|_| live(subject)));
                // The contract runs: contact data has no end yet.
                store
                    .add_event(
                        tenant,
                        subject,
                        &NewEvent {
                            id: None,
                            kind: EventKind::ContractStart,
                            purpose: None,
                            occurred_at: then,
                            channel: None,
                            policy_version: None,
                        },
                        &Actor::Cli,
                        then,
                    )
                    .expect("event");
            }
            if records.len() >= 10_000 {
                store
                    .put_records(tenant, &records, &Actor::Cli, then)
                    .expect("records");
                records.clear();
            }
        }
    }
    store
        .put_records(tenant, &records, &Actor::Cli, then)
        .expect("records");
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn a_sweep_killed_at_random_points_finishes_cleanly_when_run_again() {
    let dir = tempfile::tempdir().expect("temporary directory");
    fill(dir.path());

    // A fixed sequence of "random" points, so a failure can be replayed.
    let mut interrupted = 0;
    for millis in [700u64, 1_300, 400, 2_100, 900, 1_600] {
        let mut child = ombud(dir.path()).arg("sweep").spawn().expect("starts");
        std::thread::sleep(Duration::from_millis(millis));
        if child.try_wait().expect("status").is_none() {
            interrupted += 1;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    assert!(
        interrupted >= 3,
        "the kills hit a running sweep ({interrupted} of 6)"
    );
    let finished = ombud(dir.path()).arg("sweep").status().expect("runs");
    assert!(finished.success(), "the sweep finishes after the crashes");

    let db = rusqlite::Connection::open(dir.path().join("ombud.db")).expect("raw");
    db.execute(
        "ATTACH DATABASE ?1 AS keys",
        [dir.path().join("ombud-keys.db").to_string_lossy()],
    )
    .expect("keys");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records WHERE category = 'user.device.ip_address'"
        ),
        0,
        "every expired record is gone"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM records") as usize,
        LIVE_RECORDS,
        "nothing unexpired is gone"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM subjects") as usize,
        MIXED_SUBJECTS + LIVE_SUBJECTS
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM tombstones") as usize,
        GONE_SUBJECTS
    );
    for orphan in [
        "SELECT count(*) FROM identities i WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.tenant_id = i.tenant_id AND s.subject_id = i.subject_id)",
        "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.tenant_id = e.tenant_id AND s.subject_id = e.subject_id)",
        "SELECT count(*) FROM subjects s WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.tenant_id = s.tenant_id AND i.subject_id = s.subject_id)",
        "SELECT count(*) FROM subjects s WHERE NOT EXISTS (SELECT 1 FROM keys.subject_keys k WHERE k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id AND k.generation = s.key_generation)",
        "SELECT count(*) FROM keys.subject_keys k WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.tenant_id = k.tenant_id AND s.subject_id = k.subject_id)",
    ] {
        assert_eq!(
            count(&db, orphan),
            0,
            "no subject is half removed: {orphan}"
        );
    }
    let audited: i64 = db
        .prepare("SELECT detail FROM audit_log WHERE action = 'records.expire'")
        .expect("query")
        .query_map([], |row| row.get::<_, String>(0))
        .expect("rows")
        .map(|detail| {
            let detail = detail.expect("detail");
            detail
                .split_whitespace()
                .find_map(|part| part.strip_prefix("records="))
                .and_then(|n| n.parse::<i64>().ok())
                .expect("records=N")
        })
        .sum();
    assert_eq!(
        audited as usize, EXPIRED,
        "every removal is audited exactly once"
    );
    drop(db);
    let verified = ombud(dir.path())
        .args(["audit", "verify"])
        .status()
        .expect("runs");
    assert!(verified.success(), "the audit chain verifies");
}
