//! `ombud restore` cut short at every point where it can be (debug builds abort at the Nth
//! point when `OMBUD_TEST_CRASH_AT=N`), then run again: nothing opens the store in between,
//! and the second run ends where an uninterrupted restore ends — the backup in place, every
//! erasure made after it carried out again, the audit chain intact, no staged or journal
//! file left behind.

use assert_cmd::Command;
use ombud_core::{Identity, IdentityKind};
use ombud_store::audit::Verification;
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::path::Path;

const MASTER: &str = "6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e";

fn ombud(data: &Path) -> Command {
    let mut command = Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(data)
        .env("OMBUD_MASTER_KEY", MASTER)
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_POLICY")
        .env_remove("OMBUD_TEST_CRASH_AT")
        .env("OMBUD_DATA_DIR", data);
    command
}

fn open(data: &Path) -> SqliteStore {
    SqliteStore::open(
        &data.join("ombud.db"),
        &MasterKey::from_hex(MASTER).expect("key"),
    )
    .expect("store")
}

fn person(store: &SqliteStore, tenant: TenantId, n: usize) -> SubjectId {
    let now = jiff::Timestamp::now();
    let subject = store
        .create_subject(
            tenant,
            &[Identity::parse(IdentityKind::Email, &format!("p{n}@example.fi")).expect("email")],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    store
        .put_records(
            tenant,
            &[NewRecord {
                id: None,
                subject,
                category: "user.name".into(),
                purposes: vec!["service-delivery".into()],
                source: "subject".into(),
                collected_at: now,
                value: Secret::new(format!("Person {n}")),
            }],
            &Actor::Cli,
            now,
        )
        .expect("records");
    subject
}

/// A data directory with 12 people backed up, then 4 of them erased and 2 more added.
struct Scene {
    _root: tempfile::TempDir,
    data: std::path::PathBuf,
    backup: std::path::PathBuf,
    tenant: TenantId,
    kept: Vec<(usize, SubjectId)>,
    erased: Vec<SubjectId>,
}

fn scene() -> Scene {
    let root = tempfile::tempdir().expect("temporary directory");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let store = open(&data);
    let now = jiff::Timestamp::now();
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let people: Vec<SubjectId> = (0..12).map(|n| person(&store, tenant, n)).collect();
    drop(store);
    let backup = root.path().join("backup");
    ombud(&data)
        .args(["backup", backup.to_str().expect("path")])
        .assert()
        .success();
    let store = open(&data);
    let erased: Vec<SubjectId> = people.iter().copied().step_by(3).collect();
    for subject in &erased {
        store
            .erase_subject(
                tenant,
                *subject,
                &[],
                None,
                &Actor::Cli,
                jiff::Timestamp::now(),
            )
            .expect("erases");
    }
    person(&store, tenant, 100);
    person(&store, tenant, 101);
    drop(store);
    let kept = people
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| !erased.contains(s))
        .collect();
    Scene {
        _root: root,
        data,
        backup,
        tenant,
        kept,
        erased,
    }
}

/// What an uninterrupted restore leaves: the backup's people but the erased, and no leftovers.
fn assert_restored(scene: &Scene, context: &str) {
    let store = open(&scene.data);
    for (n, subject) in &scene.kept {
        let records = store.records(scene.tenant, *subject).expect("reads");
        assert_eq!(records.len(), 1, "{context}: person {n} is back");
        assert_eq!(
            records[0].value.expose(),
            format!("Person {n}"),
            "{context}"
        );
    }
    for subject in &scene.erased {
        assert!(
            matches!(
                store.records(scene.tenant, *subject),
                Err(ombud_store::StoreError::NotFound("subject"))
            ),
            "{context}: an erased person stays erased"
        );
    }
    assert!(
        matches!(
            store.verify_audit(scene.tenant).expect("verifies"),
            Verification::Intact { .. }
        ),
        "{context}: the audit chain verifies"
    );
    // The two added after the backup went with the replaced store.
    let added = Identity::parse(IdentityKind::Email, "p100@example.fi").expect("email");
    assert!(
        store
            .find_subject(scene.tenant, &added)
            .expect("looks up")
            .is_none(),
        "{context}: the restored store is the backup"
    );
    drop(store);
    let left: Vec<String> = std::fs::read_dir(&scene.data)
        .expect("lists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("restoring") || name.contains("pending"))
        .collect();
    assert!(left.is_empty(), "{context}: left behind {left:?}");
}

#[test]
fn a_restore_cut_short_at_any_point_is_finished_by_running_it_again() {
    let reference = scene();
    ombud(&reference.data)
        .args(["restore", reference.backup.to_str().expect("path")])
        .assert()
        .success();
    assert_restored(&reference, "uninterrupted");

    let mut crashed = 0;
    for at in 1.. {
        let scene = scene();
        let run = ombud(&scene.data)
            .env("OMBUD_TEST_CRASH_AT", at.to_string())
            .args(["restore", scene.backup.to_str().expect("path")])
            .output()
            .expect("runs");
        if run.status.success() {
            // Past the last point: the run went through uninterrupted.
            assert_restored(&scene, "no crash point left");
            break;
        }
        crashed += 1;
        let journal = scene.data.join("restore.pending.json").exists();
        if journal {
            // Nothing opens a half-restored store.
            ombud(&scene.data)
                .args(["keys", "list"])
                .assert()
                .failure()
                .stderr(predicates::str::contains("was interrupted"));
        }
        // Run again as the operator would: the same command.
        ombud(&scene.data)
            .args(["restore", scene.backup.to_str().expect("path")])
            .assert()
            .success();
        assert_restored(&scene, &format!("crashed at point {at}"));
        assert!(at < 100, "the restore has a bounded number of crash points");
    }
    println!("cut short at {crashed} points, each finished by a second run");
    assert!(
        crashed >= 8,
        "every phase was cut short at least once ({crashed} points)"
    );
}
