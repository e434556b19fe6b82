//! `ombud backup` of a store that is being written to, erasures after it, and `ombud restore`:
//! the erased stay erased (rows and keys), what a legal obligation kept stays readable, and a
//! damaged backup, a wrong key or a bad ledger change nothing.

use assert_cmd::Command;
use ombud_core::{Identity, IdentityKind};
use ombud_store::audit::Verification;
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, SubjectId, TenantId};
use ombud_store::prelude::*;
use ombud_store::requests::KeptRecord;
use ombud_store::{Actor, SqliteStore};
use predicates::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const MASTER: &str = "5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d";

fn ombud(data: &Path) -> Command {
    let mut command = Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(data)
        .env("OMBUD_MASTER_KEY", MASTER)
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_MASTER_KEY_FILE")
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

fn person(store: &SqliteStore, tenant: TenantId, name: &str) -> SubjectId {
    let now = jiff::Timestamp::now();
    let subject = store
        .create_subject(
            tenant,
            &[Identity::parse(IdentityKind::Email, &format!("{name}@example.fi")).expect("email")],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    let records: Vec<NewRecord> = [
        ("user.name", format!("{name} Virtanen"), "service-delivery"),
        ("user.financial", format!("invoice of {name}"), "accounting"),
    ]
    .into_iter()
    .map(|(category, value, purpose)| NewRecord {
        id: None,
        subject,
        category: category.into(),
        purposes: vec![purpose.into()],
        source: "subject".into(),
        collected_at: now,
        value: Secret::new(value),
    })
    .collect();
    store
        .put_records(tenant, &records, &Actor::Cli, now)
        .expect("records");
    subject
}

fn keys_of(data: &Path, subject: SubjectId) -> i64 {
    rusqlite::Connection::open(data.join("ombud-keys.db"))
        .expect("key file")
        .query_row(
            "SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?1",
            [subject.0.as_bytes().to_vec()],
            |row| row.get(0),
        )
        .expect("count")
}

fn file_hash(path: &Path) -> blake3::Hash {
    blake3::hash(&std::fs::read(path).expect("readable"))
}

#[test]
fn a_backup_restored_after_erasures_keeps_the_erased_erased() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let store = open(&data);
    let now = jiff::Timestamp::now();
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let ana = person(&store, tenant, "ana");
    let bo = person(&store, tenant, "bo");
    let cy = person(&store, tenant, "cy");

    // Online: a writer keeps adding people while the backup runs.
    let backup = root.path().join("backup-1");
    let writing = AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0;
            while writing.load(Ordering::Relaxed) || n < 20 {
                person(&store, tenant, &format!("busy{n}"));
                n += 1;
            }
        });
        ombud(&data)
            .args(["backup", backup.to_str().expect("path")])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("backed up to")
                    .and(predicate::str::contains("master key is not in the backup")),
            );
        writing.store(false, Ordering::Relaxed);
    });
    for name in ["ombud.db", "ombud-keys.db", "backup.json"] {
        assert!(backup.join(name).exists(), "{name}");
    }

    // After the backup: Ana erased whole; Bo erased but for the invoice the law keeps.
    let later = jiff::Timestamp::now();
    store
        .erase_subject(tenant, ana, &[], None, &Actor::Cli, later)
        .expect("erase ana");
    let bo_invoice = store
        .records(tenant, bo)
        .expect("records")
        .into_iter()
        .find(|r| r.category == "user.financial")
        .expect("invoice")
        .id;
    store
        .erase_subject(
            tenant,
            bo,
            &[KeptRecord {
                record: bo_invoice,
                purposes: vec!["accounting".into()],
            }],
            None,
            &Actor::Cli,
            later,
        )
        .expect("erase bo");

    // The ledger names the erasures by id, never by value.
    let ledger = ombud(&data)
        .args(["erasures", "export"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ledger = String::from_utf8(ledger).expect("text");
    assert!(ledger.contains(&ana.to_string()) && ledger.contains(&bo.to_string()));
    assert!(
        ledger.contains(&bo_invoice.to_string()),
        "what Bo's erasure kept"
    );
    assert!(!ledger.contains("example.fi") && !ledger.contains("Virtanen"));
    let ledger_file = root.path().join("ledger.jsonl");
    std::fs::write(&ledger_file, &ledger).expect("ledger");
    drop(store);

    // Mistakes change nothing: a non-empty target, a damaged copy, a wrong key, a bad ledger.
    let live_hash = file_hash(&data.join("ombud.db"));
    ombud(&data)
        .args(["backup", backup.to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not empty"));
    let damaged = root.path().join("damaged");
    std::fs::create_dir_all(&damaged).expect("dir");
    for name in ["ombud.db", "ombud-keys.db", "backup.json"] {
        std::fs::copy(backup.join(name), damaged.join(name)).expect("copy");
    }
    let mut bytes = std::fs::read(damaged.join("ombud.db")).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(damaged.join("ombud.db"), bytes).expect("write");
    ombud(&data)
        .args(["restore", damaged.to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("does not match its manifest")
                .and(predicate::str::contains("nothing was changed")),
        );
    ombud(&data)
        .args(["restore", data.to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("backup.json"));
    ombud(&data)
        .env("OMBUD_MASTER_KEY", "11".repeat(32))
        .args(["restore", backup.to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does not open with this master key",
        ));
    let bad_ledger = root.path().join("bad.jsonl");
    std::fs::write(
        &bad_ledger,
        format!("{}\nnot json\n", ledger.lines().next().expect("line")),
    )
    .expect("write");
    ombud(&data)
        .args([
            "restore",
            backup.to_str().expect("path"),
            "--replay-erasures",
            bad_ledger.to_str().expect("path"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"));
    assert_eq!(
        file_hash(&data.join("ombud.db")),
        live_hash,
        "the live store is untouched"
    );
    assert!(!data.join("ombud.restoring.db").exists());

    ombud(&data)
        .args(["restore", backup.to_str().expect("path")])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("2 subjects erased again")
                .and(predicate::str::contains(
                    "every tenant's audit log verifies",
                ))
                .and(predicate::str::contains("replaced-")),
        );

    let store = open(&data);
    assert!(
        !store.subject_exists(tenant, ana).expect("exists"),
        "Ana stays erased"
    );
    assert_eq!(
        keys_of(&data, ana),
        0,
        "and her key is gone from the restored key file"
    );
    let kept = store.records(tenant, bo).expect("Bo's kept record opens");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id, bo_invoice);
    assert_eq!(kept[0].purposes, ["accounting"]);
    assert_eq!(kept[0].value.expose(), "invoice of bo");
    assert_eq!(
        keys_of(&data, bo),
        1,
        "Bo's old key went when the invoice moved to a new one"
    );
    let cy_records = store.records(tenant, cy).expect("Cy untouched");
    assert_eq!(cy_records.len(), 2);
    assert!(matches!(
        store.verify_audit(tenant).expect("verify"),
        Verification::Intact { .. }
    ));
    let tombstones = store.tombstones(tenant).expect("tombstones");
    assert!(tombstones.iter().any(|t| t.subject == ana && !t.partial));
    assert!(tombstones.iter().any(|t| t.subject == bo && t.partial));
    drop(store);

    // Restoring again, with the ledger kept apart, replays nothing twice.
    ombud(&data)
        .args([
            "restore",
            backup.to_str().expect("path"),
            "--replay-erasures",
            ledger_file.to_str().expect("path"),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 subjects erased again"));
    let store = open(&data);
    assert!(!store.subject_exists(tenant, ana).expect("exists"));
    assert_eq!(store.records(tenant, bo).expect("records").len(), 1);
}

#[test]
fn postgres_is_backed_up_with_its_own_tools_and_only_the_ledger_is_replayed() {
    let root = tempfile::tempdir().expect("temporary directory");
    ombud(root.path())
        .env("OMBUD_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["backup", root.path().join("b").to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pg_dump"));
    ombud(root.path())
        .env("OMBUD_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["restore", root.path().to_str().expect("path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--replay-erasures"));
}

/// The documented PostgreSQL path end to end: `pg_dump` the schema, erase, export the ledger,
/// put the dump back with `pg_restore`, and `ombud restore --replay-erasures`. Runs where
/// `OMBUD_TEST_POSTGRES_URL` names a database (CI sets it).
#[test]
fn a_postgres_dump_restored_after_an_erasure_is_corrected_by_the_ledger() {
    let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") else {
        eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL restore test did not run");
        return;
    };
    let schema = format!("ombud_restore_{}", uuid_like());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let root = tempfile::tempdir().expect("temporary directory");

    let key = MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::PostgresStore::connect(&url, &key).expect("store");
    let now = jiff::Timestamp::now();
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    let mut people = vec![];
    for name in ["ana", "cy"] {
        let subject = store
            .create_subject(
                tenant,
                &[
                    Identity::parse(IdentityKind::Email, &format!("{name}@example.fi"))
                        .expect("email"),
                ],
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
                    value: Secret::new(format!("{name} Virtanen")),
                }],
                &Actor::Cli,
                now,
            )
            .expect("record");
        people.push(subject);
    }
    let dump = root.path().join("ombud.dump");
    let dumped = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--schema", &schema, "--file"])
        .arg(&dump)
        .arg(&base)
        .status()
        .expect("pg_dump runs");
    assert!(dumped.success());

    store
        .erase_subject(
            tenant,
            people[0],
            &[],
            None,
            &Actor::Cli,
            jiff::Timestamp::now(),
        )
        .expect("erase ana");
    drop(store);
    let ledger = ombud(root.path())
        .env("OMBUD_DATABASE_URL", &url)
        .args(["erasures", "export"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ledger_file = root.path().join("erasures.jsonl");
    std::fs::write(&ledger_file, &ledger).expect("ledger");

    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop");
    let restored = std::process::Command::new("pg_restore")
        .args(["--dbname", &base])
        .arg(&dump)
        .status()
        .expect("pg_restore runs");
    assert!(restored.success());
    let store = ombud_store::PostgresStore::connect(&url, &key).expect("store");
    assert!(
        store.subject_exists(tenant, people[0]).expect("exists"),
        "the dump brought Ana back"
    );
    drop(store);

    // A replay under a running server would miss what it writes meanwhile: refused, naming it.
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", "off"])
        .current_dir(root.path())
        .env("OMBUD_MASTER_KEY", MASTER)
        .env("OMBUD_DATABASE_URL", &url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut listening = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().expect("stdout")),
        &mut listening,
    )
    .expect("a line");
    assert!(listening.contains("listening"), "{listening}");
    ombud(root.path())
        .env("OMBUD_DATABASE_URL", &url)
        .args([
            "restore",
            "--replay-erasures",
            ledger_file.to_str().expect("path"),
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(format!("ombud serve (process {} on", server.id())).and(
                predicate::str::contains("stop them before replaying erasures"),
            ),
        );
    server.kill().expect("stops");
    server.wait().expect("stopped");

    ombud(root.path())
        .env("OMBUD_DATABASE_URL", &url)
        .args([
            "restore",
            "--replay-erasures",
            ledger_file.to_str().expect("path"),
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("1 subjects erased again").and(predicate::str::contains(
                "every tenant's audit log verifies",
            )),
        );
    let store = ombud_store::PostgresStore::connect(&url, &key).expect("store");
    assert!(
        !store.subject_exists(tenant, people[0]).expect("exists"),
        "Ana stays erased"
    );
    assert_eq!(store.records(tenant, people[1]).expect("Cy reads").len(), 1);
    drop(store);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop");
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )
}

#[test]
fn a_damaged_restore_journal_stops_every_command_and_says_how_to_start_over() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let store = open(&data);
    let now = jiff::Timestamp::now();
    let tenant = store
        .create_tenant("Laskuri", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    person(&store, tenant, "ana");
    drop(store);
    let before = file_hash(&data.join("ombud.db"));
    // Cut short mid-write by something outside ombud (the journal is replaced by rename).
    std::fs::write(
        data.join("restore.pending.json"),
        "{\"stamp\": \"20261127\", \"pha",
    )
    .expect("journal");

    ombud(&data)
        .args(["sweep", "--dry-run"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("a restore into"))
        .stderr(predicate::str::contains("ombud restore"));
    ombud(&data)
        .args(["restore"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("restore.pending.json is damaged"))
        .stderr(predicate::str::contains(".replaced-<stamp>"))
        .stderr(predicate::str::contains("run the restore again"));
    assert_eq!(
        file_hash(&data.join("ombud.db")),
        before,
        "nothing in the store changed"
    );
    assert!(
        data.join("restore.pending.json").exists(),
        "the journal stays for whoever repairs it"
    );
}
