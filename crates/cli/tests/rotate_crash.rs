//! `ombud keys rotate` killed with SIGKILL while it rewraps 6,000 subject keys, several times
//! (each start adds a generation), then run to the end: every key is under the newest
//! generation, every record opens with the key file as it stands, and the audit chain
//! verifies.

use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const ROOT: &str = "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d";
const PEOPLE: usize = 6_000;

fn ombud(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ombud"));
    command
        .current_dir(data)
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .env("OMBUD_DATA_DIR", data)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn open(data: &Path) -> SqliteStore {
    let text = std::fs::read_to_string(data.join("master.key")).expect("key file");
    SqliteStore::open(
        &data.join("ombud.db"),
        &MasterKey::from_file_text(&text).expect("key"),
    )
    .expect("store")
}

#[test]
fn a_rotation_killed_while_it_rewraps_leaves_everything_readable_and_finishes() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("dir");
    std::fs::write(data.join("master.key"), format!("{ROOT}\n")).expect("key file");
    let store = open(&data);
    let now = jiff::Timestamp::now();
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let mut people: Vec<SubjectId> = Vec::with_capacity(PEOPLE);
    let mut records = Vec::with_capacity(PEOPLE);
    for n in 0..PEOPLE {
        let subject = store
            .create_subject(
                tenant,
                &[
                    Identity::parse(IdentityKind::Email, &format!("p{n}@example.fi"))
                        .expect("email"),
                ],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        records.push(NewRecord {
            id: None,
            subject,
            category: "user.name".into(),
            purposes: vec!["service-delivery".into()],
            source: "subject".into(),
            collected_at: now,
            value: Secret::new(format!("Person {n}")),
        });
        people.push(subject);
    }
    store
        .put_records(tenant, &records, &Actor::Cli, now)
        .expect("records");
    drop(store);

    let rotate = |data: &Path| {
        let mut command = ombud(data);
        command.args([
            "keys",
            "rotate",
            "--settle",
            "0",
            "--retire-after",
            "90 days",
        ]);
        command
    };
    let mut interrupted = 0;
    for millis in [250u64, 120, 400, 180] {
        let mut child = rotate(&data).spawn().expect("starts");
        std::thread::sleep(Duration::from_millis(millis));
        if child.try_wait().expect("status").is_none() {
            interrupted += 1;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    assert!(
        interrupted >= 2,
        "the kills hit a running rotation ({interrupted} of 4)"
    );
    assert!(rotate(&data).status().expect("runs").success());
    let key_file = std::fs::read_to_string(data.join("master.key")).expect("key file");
    assert!(
        key_file.lines().filter(|l| l.starts_with("gen ")).count() >= 3,
        "killed runs got as far as adding their generation: {}",
        key_file.lines().filter(|l| l.starts_with("gen ")).count()
    );

    let store = open(&data);
    let generations = store.sealed_generations().expect("counts");
    assert_eq!(
        generations.len(),
        1,
        "every key under one generation: {generations:?}"
    );
    for (n, subject) in people.iter().enumerate().step_by(97) {
        let read = store.records(tenant, *subject).expect("opens");
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].value.expose(), format!("Person {n}"));
    }
    assert!(matches!(
        store.verify_audit(tenant).expect("verifies"),
        ombud_store::audit::Verification::Intact { .. }
    ));
}
