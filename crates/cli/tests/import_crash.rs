//! An import of 8,000 people killed with SIGKILL at several points, then run again to the
//! end: every line is in exactly once, no person has records without the contract event of
//! the same line (which would let the sweeper take them as kept for nothing), and the audit
//! chain verifies.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const MASTER: &str = "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c";
const PEOPLE: usize = 8_000;

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

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn an_import_killed_at_random_points_leaves_whole_lines_and_finishes_when_run_again() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
        let store =
            ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
        let clock = ombud_core::ManualClock::new("2026-01-01T00:00:00Z".parse().expect("time"));
        ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("bootstrap");
    }
    let file = dir.path().join("people.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("file"));
    for n in 0..PEOPLE {
        writeln!(
            out,
            r#"{{"identities":[{{"kind":"email","value":"p{n}@example.fi"}}],"records":[{{"category":"user.contact.email","value":"p{n}@example.fi","source":"subject","purposes":["service-delivery"]}},{{"category":"user.name","value":"Person {n}","source":"subject","purposes":["service-delivery"]}}],"events":[{{"kind":"contract_start","occurred_at":"2025-06-01T00:00:00Z"}}]}}"#
        )
        .expect("line");
    }
    drop(out);

    let import = |dir: &Path| {
        let mut command = ombud(dir);
        command.args(["import", "people.jsonl", "--tenant", "operator"]);
        command
    };
    // A fixed sequence of "random" points, so a failure can be replayed.
    let mut interrupted = 0;
    for millis in [600u64, 1_100, 350, 1_700, 800] {
        let mut child = import(dir.path()).spawn().expect("starts");
        std::thread::sleep(Duration::from_millis(millis));
        if child.try_wait().expect("status").is_none() {
            interrupted += 1;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    assert!(
        interrupted >= 3,
        "the kills hit a running import ({interrupted} of 5)"
    );
    let finished = import(dir.path()).status().expect("runs");
    assert!(finished.success(), "the import finishes after the crashes");

    let db = rusqlite::Connection::open(dir.path().join("ombud.db")).expect("raw");
    assert_eq!(
        count(&db, "SELECT count(*) FROM subjects") as usize,
        PEOPLE,
        "every person once"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM records") as usize,
        PEOPLE * 2,
        "every record once"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM events") as usize,
        PEOPLE,
        "every event once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM subjects s WHERE EXISTS (SELECT 1 FROM records r WHERE r.tenant_id = s.tenant_id AND r.subject_id = s.subject_id)
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = s.tenant_id AND e.subject_id = s.subject_id)"
        ),
        0,
        "no person has records without the line's event"
    );
    drop(db);
    let verified = ombud(dir.path())
        .args(["audit", "verify"])
        .status()
        .expect("runs");
    assert!(verified.success(), "the audit chain verifies");
}
