//! Time and peak memory of verifying a long audit log: builds a tenant's chain of N entries
//! (real hashes, written straight into the table: appending them one transaction at a time
//! would take hours), then runs the store's `verify_audit` and prints its wall time and the
//! process's peak resident memory during it.
//!
//! cargo run --release -p ombud-store --example audit_verify -- [N, default 1000000] [DIR]
//!
//! With DIR (and the master key in OMBUD_MASTER_KEY) the store is built there and kept, so
//! `ombud audit verify` of another build can be timed on the same log.

use jiff::Timestamp;
use ombud_store::audit::{NewAuditEntry, Verification, next_entry};
use ombud_store::crypto::MasterKey;
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};
use std::time::Instant;

/// The peak resident set size so far, in KiB (Linux's VmHWM).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let entries: i64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("N is a number of entries"))
        .unwrap_or(1_000_000);
    let temporary = tempfile::tempdir().expect("temporary directory");
    let dir = std::env::args()
        .nth(2)
        .map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the directory");
    let path = dir.join("ombud.db");
    let key = match std::env::var("OMBUD_MASTER_KEY") {
        Ok(hex) => MasterKey::from_hex(&hex).expect("OMBUD_MASTER_KEY is 64 hex digits"),
        Err(_) => MasterKey::generate().expect("key"),
    };
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let tenant = {
        let store = SqliteStore::open(&path, &key).expect("store");
        store
            .create_tenant("Bench", true, &Actor::Cli, start)
            .expect("tenant")
            .id
    };
    let built = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
            .expect("pragmas");
        let (mut seq, mut hash): (i64, [u8; 32]) = conn
            .query_row(
                "SELECT seq, hash FROM audit_log WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT 1",
                [tenant.0.as_bytes()],
                |row| {
                    let hash: Vec<u8> = row.get(1)?;
                    Ok((row.get(0)?, hash.try_into().expect("32 bytes")))
                },
            )
            .expect("the chain's head");
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .expect("prepare");
            for n in 0..entries {
                let entry = next_entry(
                    seq,
                    hash,
                    start + jiff::SignedDuration::from_millis(n),
                    NewAuditEntry {
                        actor: format!("key:00000000-0000-7000-8000-{:012}", n % 50),
                        action: "records.read".into(),
                        subject: Some(ombud_store::model::SubjectId(uuid::Uuid::from_u128(
                            u128::from(n.unsigned_abs() % 100_000) + 1,
                        ))),
                        categories: vec!["user.contact.email".into()],
                        purpose: Some("invoicing".into()),
                        detail: Some("returned=1 withheld=0".into()),
                    },
                );
                insert
                    .execute(rusqlite::params![
                        tenant.0.as_bytes(),
                        entry.seq,
                        entry.at.as_microsecond(),
                        entry.actor,
                        entry.action,
                        entry.subject.map(|s| s.0.as_bytes().to_vec()),
                        serde_json::to_string(&entry.categories).expect("json"),
                        entry.purpose,
                        entry.detail,
                        entry.prev_hash.to_vec(),
                        entry.hash.to_vec(),
                    ])
                    .expect("insert");
                seq = entry.seq;
                hash = entry.hash;
            }
        }
        tx.commit().expect("commit");
    }
    println!(
        "built a chain of {entries} entries in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let store = SqliteStore::open(&path, &key).expect("store");
    // Forget the build's peak, so the figure below is the verification's alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_kib();
    let verified = Instant::now();
    let verdict = store.verify_audit(tenant).expect("verify");
    let took = verified.elapsed();
    let peak = peak_kib();
    match verdict {
        Verification::Intact { entries: n, .. } => println!(
            "verified {n} entries in {:.1} s ({:.0} entries/s); peak RSS {} MiB (before the walk {} MiB)",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            peak / 1024,
            before / 1024
        ),
        broken => panic!("the chain does not verify: {broken:?}"),
    }
}
