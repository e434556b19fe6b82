//! Purpose-bound reads under load, the server killed with SIGKILL among them: every read whose
//! answer a client received has its audit entry in the store afterwards (the entries are
//! committed in batches, and a read answers only once its batch is), and the chain verifies.

mod common;

use common::banner;
use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MASTER: &str = "5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d";
const PEOPLE: usize = 12;
const CLIENTS: usize = 8;

/// One request on a fresh connection; `None` once the server is gone.
fn try_request(address: &str, method: &str, path: &str, key: &str, body: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn every_answered_read_has_its_audit_entry_after_a_sigkill() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = Command::new(env!("CARGO_BIN_EXE_ombud"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .env("OMBUD_MASTER_KEY", MASTER)
        .env("OMBUD_DATA_DIR", dir.path())
        .env_remove("OMBUD_DATABASE_URL")
        .env_remove("OMBUD_POLICY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let (address, key) = banner(&mut stdout);
    // The rest of its output is not read; a full pipe must not stall the server.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    let people: Vec<String> = (0..PEOPLE)
        .map(|n| {
            let created = try_request(
                &address,
                "POST",
                "/api/v1/subjects",
                &key,
                &format!(r#"{{"identities":[{{"kind":"email","value":"p{n}@example.fi"}}]}}"#),
            )
            .expect("created");
            let id = created
                .split("\"id\":\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("subject id")
                .to_owned();
            let written = try_request(
                &address,
                "PUT",
                &format!("/api/v1/subjects/{id}/records"),
                &key,
                &format!(r#"{{"records":[{{"category":"user.name","value":"Person {n}"}}]}}"#),
            )
            .expect("written");
            assert!(written.starts_with("HTTP/1.1 200"), "{written}");
            id
        })
        .collect();

    let stop = AtomicBool::new(false);
    let answered: Vec<HashMap<String, usize>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (people, address, key, stop) = (&people, &address, &key, &stop);
                scope.spawn(move || {
                    let mut answered: HashMap<String, usize> = HashMap::new();
                    let mut n = client;
                    while !stop.load(Ordering::Relaxed) {
                        let id = &people[n % PEOPLE];
                        n += 1;
                        let path = format!("/api/v1/subjects/{id}/records?purpose=invoicing");
                        match try_request(address, "GET", &path, key, "") {
                            Some(response) if response.starts_with("HTTP/1.1 200") => {
                                assert!(
                                    response.contains(r#""purpose":"invoicing""#),
                                    "{response}"
                                );
                                *answered.entry(id.clone()).or_default() += 1;
                            }
                            _ => {}
                        }
                    }
                    answered
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1_500));
        server.kill().expect("SIGKILL");
        server.wait().expect("reaped");
        stop.store(true, Ordering::Relaxed);
        clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .collect()
    });
    let mut received: HashMap<String, usize> = HashMap::new();
    for client in answered {
        for (id, n) in client {
            *received.entry(id).or_default() += n;
        }
    }
    let total: usize = received.values().sum();
    assert!(
        total >= 50,
        "the load got going before the kill ({total} reads)"
    );

    let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
    let store = ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &key).expect("store");
    use ombud_store::prelude::*;
    let operator = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.operator)
        .expect("operator tenant")
        .id;
    for (id, answered) in &received {
        let subject = ombud_store::model::SubjectId(id.parse().expect("uuid"));
        let mut entries = 0;
        let mut after = None;
        loop {
            let page = store
                .audit_entries(
                    operator,
                    &ombud_store::audit::AuditFilter {
                        subject: Some(subject),
                        action: Some("records.read".into()),
                        after_seq: after,
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .expect("entries");
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            entries += page.len();
        }
        assert!(
            entries >= *answered,
            "{answered} reads of {id} were answered but only {entries} are in the audit log"
        );
    }
    assert!(matches!(
        store.verify_audit(operator).expect("verify"),
        ombud_store::audit::Verification::Intact { .. }
    ));
}
