//! `ombud import`: bad lines are reported by number and never stop the rest; a run can resume,
//! and repeating lines stores nothing twice.

use assert_cmd::Command;
use ombud_store::prelude::*;
use predicates::prelude::*;

const MASTER: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

fn prepared() -> (tempfile::TempDir, ombud_store::SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    let clock = ombud_core::ManualClock::new("2026-01-01T00:00:00Z".parse().expect("time"));
    ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("bootstrap");
    (dir, store)
}

fn import(
    dir: &std::path::Path,
    file: &std::path::Path,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    Command::cargo_bin("ombud")
        .expect("binary")
        .env("OMBUD_MASTER_KEY", MASTER)
        .env("OMBUD_DATA_DIR", dir)
        .env_remove("OMBUD_DATABASE_URL")
        .current_dir(dir)
        .arg("import")
        .arg(file)
        .args(["--tenant", "operator"])
        .args(extra)
        .assert()
}

const LINES: &str = r#"{"identities":[{"kind":"email","value":"ana@example.com"}],"records":[{"category":"user.name","value":"Ana"}],"events":[{"kind":"contract_start","occurred_at":"2025-01-01T00:00:00Z"}]}
{"identities":[{"kind":"email","value":"bo@example.com"}],"records":[{"category":"user.name","value":"Bo"
{"identities":[{"kind":"email","value":"cy@example.com"}],"records":[{"category":"user.name","value":"Cy"},{"category":"user.contact.email","value":"cy@example.com"}]}
{"identities":[{"kind":"email","value":"di@example.com"}],"records":[{"category":"user.shoe_size","value":"38"}]}
{"identities":[]}

{"identities":[{"kind":"email","value":"ANA@example.com"}],"records":[{"category":"user.contact.phone_number","value":"+358 40 1"}]}
"#;

fn subject_records(store: &ombud_store::SqliteStore, email: &str) -> usize {
    let tenant = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.operator)
        .expect("operator")
        .id;
    let identity =
        ombud_core::Identity::parse(ombud_core::IdentityKind::Email, email).expect("email");
    match store.find_subject(tenant, &identity).expect("lookup") {
        Some(subject) => store.records(tenant, subject).expect("records").len(),
        None => 0,
    }
}

#[test]
fn bad_lines_are_named_and_the_rest_is_imported() {
    let (dir, store) = prepared();
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, LINES).expect("writable");
    import(dir.path(), &file, &[])
        .code(1)
        .stdout(predicate::str::contains(
            "people.jsonl: 2 new people, 4 new records, 1 new event",
        ))
        .stdout(predicate::str::contains("read 3 lines of "))
        .stdout(predicate::str::contains("rejected 3 lines:"))
        .stdout(predicate::str::contains("line 2: not valid JSON"))
        .stdout(predicate::str::contains(
            "line 4: records[0].category: `user.shoe_size` is not a category",
        ))
        .stdout(predicate::str::contains("line 5: `identities` is empty"))
        .stdout(predicate::str::contains("bo@example.com").not());
    assert_eq!(
        subject_records(&store, "ana@example.com"),
        2,
        "line 7 added to the subject of line 1"
    );
    assert_eq!(subject_records(&store, "cy@example.com"), 2);
    assert_eq!(subject_records(&store, "bo@example.com"), 0);
    assert!(
        !dir.path().join("people.jsonl.ombud-progress").exists(),
        "a finished import leaves no progress file"
    );

    import(dir.path(), &file, &["--restart"])
        .code(1)
        .stdout(predicate::str::contains(
            "0 new people, 0 new records, 0 new events",
        ))
        .stdout(predicate::str::contains(
            "3 lines added nothing: everything in them was imported before",
        ));
    assert_eq!(
        subject_records(&store, "ana@example.com"),
        2,
        "importing the same lines again stores nothing twice"
    );
    assert_eq!(subject_records(&store, "cy@example.com"), 2);
}

/// The way a file is usually fixed: the bad lines are corrected and the file imported again.
/// The lines imported the first time add nothing, whatever else in the file changed; only the
/// corrected lines are new. An event without `occurred_at` is dated at the import, and the
/// output says so; importing that line again does not date it a second time.
#[test]
fn a_file_corrected_and_imported_again_adds_only_what_is_new() {
    let (dir, store) = prepared();
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, LINES).expect("writable");
    import(dir.path(), &file, &[]).code(1);

    let corrected = LINES
        .replace(
            r#"{"category":"user.name","value":"Bo"
"#,
            r#"{"category":"user.name","value":"Bo"}],"events":[{"kind":"contract_start"}]}
"#,
        )
        .replace("user.shoe_size", "user.name")
        .replace("{\"identities\":[]}\n", "");
    assert_ne!(corrected, LINES);
    std::fs::write(&file, &corrected).expect("writable");
    import(dir.path(), &file, &[])
        .success()
        .stdout(predicate::str::contains(
            "2 new people, 2 new records, 1 new event",
        ))
        .stdout(predicate::str::contains("3 lines added nothing"))
        .stdout(predicate::str::contains(
            "1 event gave no occurred_at and is dated at this import, 20",
        ));
    assert_eq!(subject_records(&store, "ana@example.com"), 2, "not 4");
    assert_eq!(subject_records(&store, "cy@example.com"), 2);
    assert_eq!(subject_records(&store, "bo@example.com"), 1);
    assert_eq!(subject_records(&store, "di@example.com"), 1);

    import(dir.path(), &file, &[])
        .success()
        .stdout(predicate::str::contains(
            "0 new people, 0 new records, 0 new events",
        ))
        .stdout(predicate::str::contains("5 lines added nothing"))
        .stdout(predicate::str::contains("occurred_at").not());
    let tenant = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.operator)
        .expect("operator")
        .id;
    let bo = store
        .find_subject(
            tenant,
            &ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "bo@example.com")
                .expect("email"),
        )
        .expect("lookup")
        .expect("Bo");
    assert_eq!(store.events(tenant, bo).expect("events").len(), 1);
}

#[test]
fn an_interrupted_import_resumes_after_the_last_line_it_saved() {
    let (dir, store) = prepared();
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, LINES).expect("writable");
    let hash = blake3::hash(LINES.as_bytes()).to_hex().to_string();
    let first_two = LINES.lines().take(2).map(|l| l.len() + 1).sum::<usize>();
    std::fs::write(
        dir.path().join("people.jsonl.ombud-progress"),
        format!(r#"{{"file":"{hash}","lines_done":2,"bytes_done":{first_two}}}"#),
    )
    .expect("writable");
    import(dir.path(), &file, &[])
        .code(1)
        .stdout(predicate::str::contains("resuming"))
        .stdout(predicate::str::contains("after line 2"))
        .stdout(predicate::str::contains("line 2:").not())
        .stdout(predicate::str::contains("line 4:"));
    assert_eq!(
        subject_records(&store, "ana@example.com"),
        1,
        "line 1 was not imported again; line 7 was"
    );
    assert_eq!(subject_records(&store, "cy@example.com"), 2);
}

#[test]
fn progress_of_another_file_is_not_reused() {
    let (dir, _store) = prepared();
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, LINES).expect("writable");
    std::fs::write(
        dir.path().join("people.jsonl.ombud-progress"),
        r#"{"file":"00","lines_done":3,"bytes_done":10}"#,
    )
    .expect("writable");
    import(dir.path(), &file, &[])
        .code(2)
        .stderr(predicate::str::contains("--restart"));
}
