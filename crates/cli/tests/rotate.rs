//! `ombud keys rotate`: keys move to a new master-key generation and stay readable; a generation
//! superseded longer ago than backups are kept is retired, and a backup that needs it can no
//! longer be read or restored.

mod common;

use assert_cmd::Command;
use common::{banner, request};
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;
use std::path::Path;

const ROOT: &str = "6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e";

fn ombud(data: &Path) -> Command {
    let mut command = Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(data)
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .env("OMBUD_DATA_DIR", data);
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
        .expect("record");
    subject
}

/// Moves the creation time of generation `number` in the key file, as if it had been made then.
fn backdate(data: &Path, number: u32, to: &str) {
    let path = data.join("master.key");
    let text = std::fs::read_to_string(&path).expect("key file");
    let prefix = format!("gen {number} ");
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) {
                let mut parts: Vec<&str> = line.split_whitespace().collect();
                parts[3] = to;
                parts.join(" ")
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, edited.join("\n") + "\n").expect("write");
}

#[test]
fn rotation_keeps_data_readable_and_retiring_a_generation_seals_old_backups() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("dir");
    std::fs::write(data.join("master.key"), format!("{ROOT}\n")).expect("key file");
    let store = open(&data);
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, jiff::Timestamp::now())
        .expect("tenant")
        .id;
    let people: Vec<SubjectId> = (0..3).map(|n| person(&store, tenant, n)).collect();
    drop(store);
    let before = root.path().join("before-rotation");
    ombud(&data)
        .args(["backup", before.to_str().expect("path")])
        .assert()
        .success();

    // Mistakes first: no way to know the backup period, a key from the environment.
    ombud(&data)
        .args(["keys", "rotate", "--settle", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--retire-after"));
    ombud(&data)
        .args(["keys", "rotate", "--settle", "0", "--retire-after", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--retire-after"));
    ombud(&data)
        .env("OMBUD_MASTER_KEY", ROOT)
        .args([
            "keys",
            "rotate",
            "--settle",
            "0",
            "--retire-after",
            "90 days",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OMBUD_MASTER_KEY_FILE"));

    ombud(&data)
        .args([
            "keys",
            "rotate",
            "--settle",
            "0",
            "--retire-after",
            "90 days",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("generation 2 of the master key is current")
                .and(predicate::str::contains("rewrapped 3 keys"))
                .and(predicate::str::contains(
                    "generation 1 is kept for backups until",
                ))
                .and(predicate::str::contains("generation 2: 3")),
        );
    let key_file = std::fs::read_to_string(data.join("master.key")).expect("key file");
    assert!(key_file.starts_with(ROOT), "the root key stays");
    let store = open(&data);
    for subject in &people {
        assert_eq!(
            store
                .records(tenant, *subject)
                .expect("still readable")
                .len(),
            1
        );
    }
    assert_eq!(
        store
            .sealed_generations()
            .expect("counts")
            .into_iter()
            .collect::<Vec<_>>(),
        [(2, 3)]
    );
    person(&store, tenant, 3);
    drop(store);
    let after = root.path().join("after-rotation");
    ombud(&data)
        .args(["backup", after.to_str().expect("path")])
        .assert()
        .success();

    // 100 days later (generation 2 took over then): generation 1 goes at the next rotation.
    backdate(&data, 2, "2026-01-01T00:00:00Z");
    ombud(&data)
        .args([
            "keys",
            "rotate",
            "--settle",
            "0",
            "--retire-after",
            "90 days",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("generation 3 of the master key is current")
                .and(predicate::str::contains("retired generation 1"))
                .and(predicate::str::contains(
                    "generation 2 is kept for backups until",
                )),
        );
    let key_file = std::fs::read_to_string(data.join("master.key")).expect("key file");
    assert!(!key_file.contains("gen 1 "), "{key_file}");

    // The backup from before the first rotation needs generation 1: it cannot be restored.
    let live = std::fs::read(data.join("ombud.db")).expect("live");
    ombud(&data)
        .args(["restore", before.to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("does not open with this master key")
                .and(predicate::str::contains("generation 1")),
        );
    assert_eq!(std::fs::read(data.join("ombud.db")).expect("live"), live);
    // The one taken under generation 2 still can, and reads.
    ombud(&data)
        .args(["restore", after.to_str().expect("path")])
        .assert()
        .success();
    let store = open(&data);
    assert_eq!(store.records(tenant, people[0]).expect("readable").len(), 1);
}

#[test]
fn a_running_server_reads_the_new_generation_and_keeps_serving_through_a_rotation() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .env_remove("OMBUD_MASTER_KEY")
        .env_remove("OMBUD_MASTER_KEY_FILE")
        .env_remove("OMBUD_DATABASE_URL")
        .env("OMBUD_DATA_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let (address, key) = banner(&mut stdout);
    let subject = |email: &str| {
        let created = request(
            &address,
            "POST",
            "/api/v1/subjects",
            &key,
            Some(&format!(
                r#"{{"identities":[{{"kind":"email","value":"{email}"}}]}}"#
            )),
        );
        let id = created
            .split("\"id\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("subject id")
            .to_owned();
        let written = request(
            &address,
            "PUT",
            &format!("/api/v1/subjects/{id}/records"),
            &key,
            Some(
                r#"{"records":[{"category":"user.device.ip_address","value":"192.0.2.77","purposes":["security"]}]}"#,
            ),
        );
        assert!(written.starts_with("HTTP/1.1 200"), "{written}");
        id
    };
    let before = subject("before@example.fi");

    ombud(dir.path())
        .args([
            "keys",
            "rotate",
            "--settle",
            "6",
            "--retire-after",
            "90 days",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "generation 2 of the master key is current",
        ));

    // Written before and rewrapped while the server ran; written after, under generation 2.
    let after = subject("after@example.fi");
    for id in [&before, &after] {
        let read = request(
            &address,
            "GET",
            &format!("/api/v1/subjects/{id}/records?purpose=security"),
            &key,
            None,
        );
        assert!(
            read.starts_with("HTTP/1.1 200") && read.contains("192.0.2.77"),
            "{read}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let store = open(dir.path());
    let generations: Vec<u32> = store
        .sealed_generations()
        .expect("counts")
        .into_keys()
        .collect();
    assert_eq!(
        generations,
        [2],
        "nothing was sealed under generation 1 after the rotation"
    );
}
