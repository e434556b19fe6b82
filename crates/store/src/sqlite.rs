//! The embedded backend: one SQLite file in WAL mode. Writes take the write lock at `BEGIN`
//! (`IMMEDIATE`), so writers queue instead of failing half-way and the audit chain of a tenant
//! is always extended from its true head.

use crate::audit::{self, AuditEntry, AuditFilter, NewAuditEntry, Verification};
use crate::crypto::{self, DataKey, Keyring, MasterKey, identity_aad, record_aad};
use crate::model::*;
use crate::requests::*;
use crate::retention::*;
use crate::{Actor, Result, Store, StoreError};
use jiff::Timestamp;
use ombud_core::requests::RequestStatus;
use ombud_core::{EventKind, Identity, IdentityKind};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::BTreeSet;
use std::path::Path;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_initial.sql"),
    include_str!("../migrations/sqlite/0002_policy_versions.sql"),
    include_str!("../migrations/sqlite/0003_idempotency_keys.sql"),
    include_str!("../migrations/sqlite/0004_requests.sql"),
    include_str!("../migrations/sqlite/0005_key_file.sql"),
    include_str!("../migrations/sqlite/0006_legal_holds.sql"),
    include_str!("../migrations/sqlite/0007_audit_checkpoints.sql"),
    include_str!("../migrations/sqlite/0008_incidents.sql"),
    include_str!("../migrations/sqlite/0009_audit_by_actor.sql"),
    include_str!("../migrations/sqlite/0010_notices.sql"),
    include_str!("../migrations/sqlite/0011_subprocessors.sql"),
];
/// The first migration that needs the key file: a data file at or past it without its key file
/// is refused instead of being given an empty one.
const KEY_FILE_SINCE: i64 = 5;
/// A key nothing points at is removed once this old: younger ones may belong to a write that
/// has committed its key and not yet its rows.
const ORPHAN_KEY_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// Swapped whole when the key file changes (a rotation), never edited in place.
    keyring: std::sync::RwLock<std::sync::Arc<Keyring>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn uuid(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn incident_document(document: &str) -> Result<crate::incidents::Incident> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("an incident: {e}")))
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))
}

/// Keys and mails rewrapped per transaction.
const REWRAP_BATCH: usize = 1000;

/// Where each kind of sealed key or mail lives: table, key columns, sealed columns (the
/// first is never NULL), and whether the AAD is (tenant, id) or the id alone (mail).
const SEALED: [(&str, &str, &[&str], bool); 3] = [
    (
        "keys.subject_keys",
        "tenant_id, subject_id, generation",
        &["wrapped_key"],
        false,
    ),
    (
        "main.requests",
        "tenant_id, request_id",
        &["wrapped_key"],
        false,
    ),
    (
        "main.outbox",
        "tenant_id, mail_id",
        &["sealed_to", "sealed_message"],
        true,
    ),
];

impl SqliteStore {
    fn keyring(&self) -> std::sync::Arc<Keyring> {
        std::sync::Arc::clone(&self.keyring.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens (or creates) the store at `path`, with the subjects' keys in the file beside it
    /// that [`SqliteStore::key_file`] names, and brings both schemas up to date.
    pub fn open(path: &Path, master: &MasterKey) -> Result<SqliteStore> {
        let keys = Self::key_file(path);
        if path.exists() && !keys.exists() {
            let version: i64 =
                rusqlite::Connection::open(path)?
                    .query_row("PRAGMA user_version", [], |row| row.get(0))?;
            if version >= KEY_FILE_SINCE {
                return Err(StoreError::Database(format!(
                    "the key file {} is missing beside {}: restore it from its backup; without it no personal value in the store can be read",
                    keys.display(),
                    path.display()
                )));
            }
        }
        let manager = SqliteConnectionManager::file(path).with_init(move |c| {
            c.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA secure_delete = ON;",
            )?;
            c.execute("ATTACH DATABASE ?1 AS keys", [keys.to_string_lossy()])?;
            // Every key leads with tenant_id, which without statistics looks selective: the
            // planner would then scan a tenant's identities to delete one subject's. Statistics
            // are refreshed here (cheaply, as SQLite advises at open) and by `maintain`.
            c.execute_batch("PRAGMA keys.journal_mode = WAL; PRAGMA keys.synchronous = NORMAL; PRAGMA keys.secure_delete = ON; PRAGMA optimize = 0x10002;")
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            // A checkout test costs a round trip on every call; a dead connection fails the
            // query instead, and r2d2 replaces it.
            .test_on_check_out(false)
            .build(manager)?;
        let store = SqliteStore {
            pool,
            keyring: std::sync::RwLock::new(std::sync::Arc::new(Keyring::new(master))),
        };
        store.migrate()?;
        store.drop_orphan_keys(Timestamp::now() - ORPHAN_KEY_GRACE)?;
        Ok(store)
    }

    /// Where the subjects' keys of the store at `path` live: `ombud.db` keeps them in
    /// `ombud-keys.db`. Backed up apart from the data file, or not at all.
    pub fn key_file(path: &Path) -> std::path::PathBuf {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match path.extension() {
            Some(ext) => format!("{stem}-keys.{}", ext.to_string_lossy()),
            None => format!("{stem}-keys"),
        };
        path.with_file_name(name)
    }

    /// Copies the running store into `data` and the key file beside it (named as
    /// [`SqliteStore::key_file`] names it), without stopping writers. Both copies come from one
    /// read transaction, the data file's snapshot first: a key is committed before the rows that
    /// need it, so every subject in the copy finds its key. Only an erasure's two commits (rows,
    /// then the old key) can fall between the snapshots; the copy is checked for that and taken
    /// again. The copies use a rollback journal, so each is one self-contained file.
    pub fn backup_into(&self, data: &Path) -> Result<()> {
        let keys = Self::key_file(data);
        for _ in 0..5 {
            for file in [data, keys.as_path()] {
                if file.exists() {
                    std::fs::remove_file(file)
                        .map_err(|e| StoreError::Database(format!("{}: {e}", file.display())))?;
                }
            }
            {
                let conn = self.pool.get()?;
                let snapshot = conn.unchecked_transaction()?;
                snapshot.query_row("SELECT COUNT(*) FROM main.sqlite_schema", [], |_| Ok(()))?;
                snapshot.query_row("SELECT COUNT(*) FROM keys.sqlite_schema", [], |_| Ok(()))?;
                conn.backup("main", data, None)?;
                conn.backup("keys", &keys, None)?;
                snapshot.rollback()?;
            }
            let copy = rusqlite::Connection::open(data)?;
            copy.execute_batch("PRAGMA journal_mode = DELETE")?;
            copy.execute("ATTACH DATABASE ?1 AS keys", [keys.to_string_lossy()])?;
            copy.execute_batch("PRAGMA keys.journal_mode = DELETE")?;
            let keyless: i64 = copy.query_row(
                "SELECT COUNT(*) FROM main.subjects s WHERE NOT EXISTS (
                     SELECT 1 FROM keys.subject_keys k WHERE k.tenant_id = s.tenant_id
                        AND k.subject_id = s.subject_id AND k.generation = s.key_generation)",
                [],
                |row| row.get(0),
            )?;
            if keyless == 0 {
                return Ok(());
            }
        }
        Err(StoreError::Database(
            "every copy caught an erasure halfway between the data and the key file; run the backup again".into(),
        ))
    }

    /// Fails unless the master key opens the subjects' keys (a store with no subject passes):
    /// a restore checks this before it replaces anything.
    pub fn check_master_key(&self) -> Result<()> {
        self.read(|conn| {
            let row: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = conn
                .query_row(
                    "SELECT k.tenant_id, k.subject_id, k.wrapped_key FROM main.subjects s
                     JOIN keys.subject_keys k ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id
                        AND k.generation = s.key_generation LIMIT 1",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((tenant, subject, wrapped)) = row {
                self.keyring().unwrap(&wrapped, uuid(tenant)?, uuid(subject)?)?;
            }
            Ok(())
        })
    }

    /// Removes keys written for rows that never committed and keys left behind by an erasure
    /// that stopped between its two commits. An erased subject's old keys go at once: only a
    /// key newer than the one its row names can belong to a write in flight.
    fn drop_orphan_keys(&self, before: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM keys.subject_keys WHERE EXISTS (
                     SELECT 1 FROM main.tombstones t WHERE t.tenant_id = subject_keys.tenant_id AND t.subject_id = subject_keys.subject_id)
                   AND NOT EXISTS (
                     SELECT 1 FROM main.subjects s WHERE s.tenant_id = subject_keys.tenant_id
                        AND s.subject_id = subject_keys.subject_id AND s.key_generation <= subject_keys.generation)",
                [],
            )?;
            tx.execute(
                "DELETE FROM keys.subject_keys WHERE created_at < ?1 AND NOT EXISTS (
                     SELECT 1 FROM main.subjects s WHERE s.tenant_id = subject_keys.tenant_id
                        AND s.subject_id = subject_keys.subject_id AND s.key_generation = subject_keys.generation)",
                params![micros(before)],
            )?;
            Ok(())
        })
    }

    /// Commits a subject's key on its own, before any row sealed with it.
    fn put_key(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        generation: i64,
        key: &DataKey,
        at: Timestamp,
    ) -> Result<()> {
        let wrapped = self.keyring().wrap(key, tenant.0, subject.0)?;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO keys.subject_keys (tenant_id, subject_id, generation, wrapped_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), generation, wrapped, micros(at)])?;
            Ok(())
        })
    }

    /// Deletes every key of a subject but the one its row points at (all of them once the
    /// row is gone).
    fn drop_stale_keys(&self, tenant: TenantId, subject: SubjectId) -> Result<()> {
        self.drop_stale_keys_of(tenant, &[subject])
    }

    fn drop_stale_keys_of(&self, tenant: TenantId, subjects: &[SubjectId]) -> Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut delete = tx.prepare_cached(
                "DELETE FROM keys.subject_keys WHERE tenant_id = ?1 AND subject_id = ?2 AND generation IS NOT (
                     SELECT key_generation FROM main.subjects WHERE tenant_id = ?1 AND subject_id = ?2)",
            )?;
            for subject in subjects {
                delete.execute(params![tenant.0.as_bytes(), subject.0.as_bytes()])?;
            }
            Ok(())
        })
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        for (index, migration) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(migration)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read<T>(&self, work: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        work(&conn)
    }

    fn data_key(
        &self,
        conn: &rusqlite::Connection,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<DataKey> {
        let wrapped: Vec<u8> = conn
            .prepare_cached(
                "SELECT k.wrapped_key FROM subjects s JOIN keys.subject_keys k
                   ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id AND k.generation = s.key_generation
                 WHERE s.tenant_id = ?1 AND s.subject_id = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes()], |row| {
                row.get(0)
            })
            .optional()?
            .ok_or(StoreError::NotFound("subject"))?;
        Ok(self.keyring().unwrap(&wrapped, tenant.0, subject.0)?)
    }

    fn append(
        tx: &Transaction,
        tenant: TenantId,
        at: Timestamp,
        entry: NewAuditEntry,
    ) -> Result<AuditEntry> {
        // A chain pruned to nothing goes on from its checkpoint, never from the genesis.
        let head: Option<(i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT seq, hash FROM (SELECT seq, hash FROM audit_log WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT 1)
                 UNION ALL SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = ?1
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![tenant.0.as_bytes()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let (seq, hash) = match head {
            Some((seq, hash)) => (seq, hash32(hash)?),
            None => (0, audit::GENESIS),
        };
        let entry = audit::next_entry(seq, hash, at, entry);
        tx.prepare_cached(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            tenant.0.as_bytes(),
            entry.seq,
            micros(entry.at),
            entry.actor,
            entry.action,
            entry.subject.map(|s| s.0.into_bytes().to_vec()),
            serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".into()),
            entry.purpose,
            entry.detail,
            entry.prev_hash.to_vec(),
            entry.hash.to_vec(),
        ])?;
        Ok(entry)
    }

    fn checkpoint(
        conn: &rusqlite::Connection,
        tenant: TenantId,
    ) -> Result<Option<audit::Checkpoint>> {
        let row: Option<(i64, Vec<u8>, i64, i64)> = conn
            .prepare_cached(
                "SELECT seq, hash, at, pruned_at FROM audit_checkpoints WHERE tenant_id = ?1",
            )?
            .query_row(params![tenant.0.as_bytes()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        row.map(|(seq, hash, at, pruned_at)| {
            Ok(audit::Checkpoint {
                seq,
                hash: hash32(hash)?,
                at: timestamp(at)?,
                pruned_at: timestamp(pruned_at)?,
            })
        })
        .transpose()
    }

    /// Appends several entries with one read of the chain head.
    fn append_many(
        tx: &Transaction,
        tenant: TenantId,
        at: Timestamp,
        entries: Vec<NewAuditEntry>,
    ) -> Result<()> {
        let Some(first) = entries.first().cloned() else {
            return Ok(());
        };
        let mut previous = Self::append(tx, tenant, at, first)?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for entry in entries.into_iter().skip(1) {
            let entry = audit::next_entry(previous.seq, previous.hash, at, entry);
            insert.execute(params![
                tenant.0.as_bytes(),
                entry.seq,
                micros(entry.at),
                entry.actor,
                entry.action,
                entry.subject.map(|s| s.0.into_bytes().to_vec()),
                serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".into()),
                entry.purpose,
                entry.detail,
                entry.prev_hash.to_vec(),
                entry.hash.to_vec(),
            ])?;
            previous = entry;
        }
        Ok(())
    }

    /// Queues mails inside the transaction that decided to send them.
    fn enqueue(
        &self,
        tx: &Transaction,
        tenant: TenantId,
        mails: &[NewMail],
        at: Timestamp,
    ) -> Result<()> {
        for mail in mails {
            let id = MailId::new();
            let (to, message) = seal_mail(&self.keyring(), id, mail)?;
            tx.prepare_cached(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), mail.request.map(|r| r.0.as_bytes().to_vec()), mail.template, to, message, micros(at)])?;
        }
        Ok(())
    }

    /// Makes deleted values unrecoverable from the file: `secure_delete` zeroes freed cells,
    /// and a checkpoint moves the rewritten pages out of the write-ahead log.
    fn scrub(&self) -> Result<()> {
        let conn = self.pool.get()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn insert_identity(
        &self,
        tx: &Transaction,
        tenant: TenantId,
        subject: SubjectId,
        key: &DataKey,
        identity: &Identity,
    ) -> Result<()> {
        let index = self.keyring().blind_index(tenant.0, identity);
        let sealed = key.seal(identity.expose().as_bytes(), &identity_aad(&index))?;
        let inserted = tx
            .prepare_cached(
                "INSERT INTO identities (tenant_id, blind_index, subject_id, kind, sealed_value) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, blind_index) DO NOTHING",
            )?
            .execute(params![tenant.0.as_bytes(), index.to_vec(), subject.0.as_bytes(), identity.kind().as_str(), sealed])?;
        if inserted == 0 {
            return Err(StoreError::IdentityTaken(identity.kind()));
        }
        Ok(())
    }
}

type EventRow = (
    Vec<u8>,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

/// A ledger line with its mail, if any is left; `d` is `notice_deliveries`.
const DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notice_deliveries d JOIN notices n ON n.tenant_id = d.tenant_id AND n.notice_id = d.notice_id
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

/// One person's ledger lines, notice by notice through the primary key (`?2` is the person).
const SUBJECT_DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notices n CROSS JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = ?2
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

fn delivery_row(row: &rusqlite::Row) -> rusqlite::Result<Result<crate::notices::DeliveryRow>> {
    let sealed_to: Option<Vec<u8>> = row.get(5)?;
    let outbox = match sealed_to {
        Some(to) => Some((
            to,
            row.get::<_, Option<i64>>(6)?,
            row.get::<_, u32>(7)?,
            row.get::<_, Option<String>>(8)?,
        )),
        None => None,
    };
    let (notice, subject, mail) = (
        row.get::<_, Vec<u8>>(0)?,
        row.get::<_, Vec<u8>>(1)?,
        row.get::<_, Option<Vec<u8>>>(2)?,
    );
    let (skipped, created_at) = (row.get(3)?, row.get(4)?);
    Ok((|| {
        Ok(crate::notices::DeliveryRow {
            notice: uuid(notice)?,
            subject: uuid(subject)?,
            mail: mail.map(uuid).transpose()?,
            skipped,
            created_at,
            outbox,
        })
    })())
}

fn notice_row(row: &rusqlite::Row) -> rusqlite::Result<crate::notices::NoticeRow> {
    let id: Vec<u8> = row.get(0)?;
    let incident: Option<Vec<u8>> = row.get(6)?;
    let bad = |i: usize| {
        rusqlite::Error::InvalidColumnType(i, "uuid".into(), rusqlite::types::Type::Blob)
    };
    Ok((
        Uuid::from_slice(&id).map_err(|_| bad(0))?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        incident
            .map(|i| Uuid::from_slice(&i).map_err(|_| bad(6)))
            .transpose()?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn stored_event(
    subject: SubjectId,
    (id, kind, purpose, occurred_at, recorded_at, channel, policy_version): EventRow,
) -> Result<StoredEvent> {
    Ok(StoredEvent {
        id: EventId(uuid(id)?),
        subject,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
        purpose,
        occurred_at: timestamp(occurred_at)?,
        recorded_at: timestamp(recorded_at)?,
        channel,
        policy_version,
    })
}

fn audit_row(row: &rusqlite::Row) -> rusqlite::Result<AuditRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

type AuditRow = (
    i64,
    i64,
    String,
    String,
    Option<Vec<u8>>,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    Vec<u8>,
);

fn audit_entry(row: AuditRow) -> Result<AuditEntry> {
    let (seq, at, actor, action, subject, categories, purpose, detail, prev_hash, hash) = row;
    Ok(AuditEntry {
        seq,
        at: timestamp(at)?,
        actor,
        action,
        subject: subject.map(uuid).transpose()?.map(SubjectId),
        categories: serde_json::from_str(&categories)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        purpose,
        detail,
        prev_hash: hash32(prev_hash)?,
        hash: hash32(hash)?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash";

fn tenant_row(row: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, String, bool, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn tenant(row: (Vec<u8>, String, bool, i64)) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(uuid(row.0)?),
        name: row.1,
        operator: row.2,
        created_at: timestamp(row.3)?,
    })
}

type KeyRow = (Vec<u8>, Vec<u8>, String, String, bool, i64, Option<i64>);

fn key_row(row: &rusqlite::Row) -> rusqlite::Result<KeyRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn api_key(row: KeyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        tenant: TenantId(uuid(row.0)?),
        id: ApiKeyId(uuid(row.1)?),
        name: row.2,
        role: Role::parse(&row.3)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {}", row.3)))?,
        operator_wide: row.4,
        created_at: timestamp(row.5)?,
        revoked_at: row.6.map(timestamp).transpose()?,
    })
}

const KEY_COLUMNS: &str = "tenant_id, key_id, name, role, operator_wide, created_at, revoked_at";

impl Store for SqliteStore {
    fn create_tenant(
        &self,
        name: &str,
        operator: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Tenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            name: name.to_owned(),
            operator,
            created_at: at,
        };
        self.write(|tx| {
            if operator {
                let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE operator = 1)", [], |r| r.get(0))?;
                if exists {
                    return Err(StoreError::OperatorExists);
                }
            }
            tx.execute(
                "INSERT INTO tenants (tenant_id, name, operator, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![tenant.id.0.as_bytes(), name, operator, micros(at)],
            )?;
            Self::append(tx, tenant.id, at, NewAuditEntry::tenant_created(actor, tenant.id))?;
            Ok(())
        })?;
        Ok(tenant)
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT tenant_id, name, operator, created_at FROM tenants ORDER BY created_at, tenant_id")?;
            let rows = statement.query_map([], tenant_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(tenant).collect()
        })
    }

    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT tenant_id, name, operator, created_at FROM tenants WHERE tenant_id = ?1",
            )?
            .query_row(params![id.0.as_bytes()], tenant_row)
            .optional()?
            .map(tenant)
            .transpose()
        })
    }

    fn create_api_key(&self, key: NewApiKey, actor: &Actor, at: Timestamp) -> Result<ApiKey> {
        let created = ApiKey {
            id: ApiKeyId::new(),
            tenant: key.tenant,
            operator_wide: key.operator_wide,
            name: key.name.clone(),
            role: key.role,
            created_at: at,
            revoked_at: None,
        };
        self.write(|tx| {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = ?1)", params![key.tenant.0.as_bytes()], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound("tenant"));
            }
            tx.execute(
                "INSERT INTO api_keys (tenant_id, key_id, name, role, operator_wide, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![key.tenant.0.as_bytes(), created.id.0.as_bytes(), key.name, key.role.as_str(), key.operator_wide, key.secret_hash.to_vec(), micros(at)],
            )?;
            Self::append(tx, key.tenant, at, NewAuditEntry::api_key_created(actor, created.id, key.role))?;
            Ok(())
        })?;
        Ok(created)
    }

    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, key_id"))?;
            let rows = statement.query_map(params![tenant.0.as_bytes()], key_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(api_key).collect()
        })
    }

    fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE tenant_id = ?1 AND key_id = ?2 AND revoked_at IS NULL",
                params![tenant.0.as_bytes(), id.0.as_bytes(), micros(at)],
            )?;
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::api_key_revoked(actor, id))?;
            }
            Ok(changed > 0)
        })
    }

    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?1 AND revoked_at IS NULL"
            ))?
            .query_row(params![secret_hash.to_vec()], key_row)
            .optional()?
            .map(api_key)
            .transpose()
        })
    }

    fn create_subject(
        &self,
        tenant: TenantId,
        identities: &[Identity],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<SubjectId> {
        let subject = SubjectId::new();
        let key = self.keyring().new_data_key()?;
        self.put_key(tenant, subject, 1, &key, at)?;
        let created = self.write(|tx| {
            tx.prepare_cached("INSERT INTO subjects (tenant_id, subject_id, key_generation, created_at) VALUES (?1, ?2, 1, ?3)")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), micros(at)])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::NotFound("tenant"),
                    other => other.into(),
                })?;
            for identity in identities {
                self.insert_identity(tx, tenant, subject, &key, identity)?;
            }
            Self::append(tx, tenant, at, NewAuditEntry::subject_created(actor, subject, identities))?;
            Ok(())
        });
        if let Err(error) = created {
            // Best effort: a key left here is an orphan the next open removes.
            let _ = self.drop_stale_keys(tenant, subject);
            return Err(error);
        }
        Ok(subject)
    }

    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT subject_id FROM identities WHERE tenant_id = ?1 AND blind_index = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), index.to_vec()], |row| {
                row.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .map(|bytes| uuid(bytes).map(SubjectId))
            .transpose()
        })
    }

    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.read(|conn| {
            let created: Option<i64> = conn
                .prepare_cached("SELECT created_at FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| row.get(0))
                .optional()?;
            let Some(created) = created else { return Ok(None) };
            let key = self.data_key(conn, tenant, id)?;
            let mut statement = conn.prepare_cached("SELECT blind_index, kind, sealed_value FROM identities WHERE tenant_id = ?1 AND subject_id = ?2")?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut identities = Vec::with_capacity(rows.len());
            for (index, kind, sealed) in rows {
                let index = hash32(index)?;
                let value = key.open(&sealed, &identity_aad(&index))?;
                let kind = IdentityKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown identity kind {kind}")))?;
                let text = std::str::from_utf8(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                identities.push(Identity::parse(kind, text).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
            identities.sort_by_key(|i| i.kind());
            Ok(Some(Subject { id, created_at: timestamp(created)?, identities }))
        })
    }

    fn put_records(
        &self,
        tenant: TenantId,
        records: &[NewRecord],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Vec<RecordId>> {
        self.write(|tx| {
            let mut ids = Vec::with_capacity(records.len());
            // Records arrive grouped by subject in imports; one key unwrap and one audit entry
            // per run of the same subject.
            let mut start = 0;
            while start < records.len() {
                let subject = records[start].subject;
                let end = records[start..].iter().position(|r| r.subject != subject).map_or(records.len(), |n| start + n);
                let key = self.data_key(tx, tenant, subject)?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO records (tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                )?;
                let mut categories = BTreeSet::new();
                for record in &records[start..end] {
                    let id = record.id.unwrap_or_default();
                    let sealed = key.seal(record.value.expose().as_bytes(), &record_aad(id.0, &record.category))?;
                    insert.execute(params![
                        tenant.0.as_bytes(),
                        subject.0.as_bytes(),
                        id.0.as_bytes(),
                        record.category,
                        record.purposes.join(","),
                        record.source,
                        micros(record.collected_at),
                        sealed,
                    ])?;
                    categories.insert(record.category.clone());
                    ids.push(id);
                }
                Self::append(tx, tenant, at, NewAuditEntry::records_written(actor, subject, categories, end - start))?;
                start = end;
            }
            Ok(ids)
        })
    }

    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)")?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| row.get(0))?)
        })
    }

    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.read(|conn| {
            let key = self.data_key(conn, tenant, subject)?;
            let mut statement = conn.prepare_cached(
                "SELECT record_id, category, purposes, source, collected_at, sealed_value FROM records WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY record_id",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), subject.0.as_bytes()], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, i64>(4)?, row.get::<_, Vec<u8>>(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, category, purposes, source, collected_at, sealed)| {
                    let id = RecordId(uuid(id)?);
                    let value = key.open(&sealed, &record_aad(id.0, &category))?;
                    let value = String::from_utf8(value.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Record {
                        id,
                        subject,
                        category,
                        purposes: split_purposes(&purposes),
                        source,
                        collected_at: timestamp(collected_at)?,
                        value: Secret::new(value),
                    })
                })
                .collect()
        })
    }

    fn add_event(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        event: &NewEvent,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<StoredEvent> {
        let stored = StoredEvent {
            id: event.id.unwrap_or_default(),
            subject,
            kind: event.kind,
            purpose: event.purpose.clone(),
            occurred_at: event.occurred_at,
            recorded_at: at,
            channel: event.channel.clone(),
            policy_version: event.policy_version.clone(),
        };
        self.write(|tx| {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)",
                params![tenant.0.as_bytes(), subject.0.as_bytes()],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StoreError::NotFound("subject"));
            }
            tx.prepare_cached(
                "INSERT INTO events (tenant_id, subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                tenant.0.as_bytes(),
                subject.0.as_bytes(),
                stored.id.0.as_bytes(),
                stored.kind.as_str(),
                stored.purpose,
                micros(stored.occurred_at),
                micros(at),
                stored.channel,
                stored.policy_version,
            ])?;
            Self::append(tx, tenant, at, NewAuditEntry::event_recorded(actor, &stored))?;
            Ok(())
        })?;
        Ok(stored)
    }

    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version FROM events
                 WHERE tenant_id = ?1 AND subject_id = ?2 ORDER BY occurred_at, event_id",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), subject.0.as_bytes()], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<String>>(2)?, row.get::<_, i64>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<String>>(5)?, row.get::<_, Option<String>>(6)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|raw| stored_event(subject, raw)).collect()
        })
    }

    fn facts_by_identity(
        &self,
        tenant: TenantId,
        identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>> {
        // In-process, two queries cost no round trip.
        match self.find_subject(tenant, identity)? {
            Some(subject) => Ok(Some((subject, self.events(tenant, subject)?))),
            None => Ok(None),
        }
    }

    fn keep_policy_version(
        &self,
        tenant: TenantId,
        version: &str,
        source: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO policy_versions (tenant_id, version, source, loaded_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![tenant.0.as_bytes(), version, source, micros(at)],
            )?;
            if inserted > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::policy_loaded(actor, version))?;
            }
            Ok(inserted > 0)
        })
    }

    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT version, loaded_at FROM policy_versions WHERE tenant_id = ?1 ORDER BY loaded_at, version")?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(version, at)| Ok((version, timestamp(at)?))).collect()
        })
    }

    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT source FROM policy_versions WHERE tenant_id = ?1 AND version = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), version], |row| row.get(0))
                .optional()?)
        })
    }

    fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        request_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Idempotency> {
        self.write(|tx| {
            let existing = tx
                .prepare_cached("SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE tenant_id = ?1 AND idempotency_key = ?2")?
                .query_row(params![tenant.0.as_bytes(), key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                .optional()?;
            let outcome = idempotency_outcome(existing, request_hash, at);
            if outcome == Idempotency::Claimed {
                tx.prepare_cached(
                    "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, NULL, NULL, ?4)
                     ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, status = NULL, body = NULL, created_at = excluded.created_at",
                )?
                .execute(params![tenant.0.as_bytes(), key, request_hash.to_vec(), micros(at)])?;
            }
            Ok(outcome)
        })
    }

    fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE tenant_id = ?1 AND idempotency_key = ?2")?
                .execute(params![tenant.0.as_bytes(), key, i64::from(status), body])?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND idempotency_key = ?2 AND status IS NULL")?
                .execute(params![tenant.0.as_bytes(), key])?;
            Ok(())
        })
    }

    fn append_audit(
        &self,
        tenant: TenantId,
        entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<AuditEntry> {
        self.write(|tx| Self::append(tx, tenant, at, entry))
    }

    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            let mut sql =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = ?1 AND seq > ?2");
            let mut values: Vec<rusqlite::types::Value> = vec![
                tenant.0.as_bytes().to_vec().into(),
                filter.after_seq.unwrap_or(0).into(),
            ];
            if let Some(subject) = filter.subject {
                values.push(subject.0.as_bytes().to_vec().into());
                sql.push_str(&format!(" AND subject_id = ?{}", values.len()));
            }
            if let Some(actor) = &filter.actor {
                values.push(actor.clone().into());
                sql.push_str(&format!(" AND actor = ?{}", values.len()));
            }
            if let Some(action) = &filter.action {
                values.push(action.clone().into());
                sql.push_str(&format!(" AND action = ?{}", values.len()));
            }
            if let Some(from) = filter.from {
                values.push(micros(from).into());
                sql.push_str(&format!(" AND at >= ?{}", values.len()));
            }
            if let Some(until) = filter.until {
                values.push(micros(until).into());
                sql.push_str(&format!(" AND at < ?{}", values.len()));
            }
            let limit = if filter.limit == 0 {
                100
            } else {
                filter.limit.min(1000)
            };
            sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(values), audit_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(audit_entry).collect()
        })
    }

    fn verify_audit(&self, tenant: TenantId) -> Result<Verification> {
        self.read(|conn| {
            // One snapshot: a prune committing between the two reads would look like a gap.
            let tx = conn.unchecked_transaction()?;
            let checkpoint = Self::checkpoint(&tx, tenant)?;
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = ?1 ORDER BY seq"
            ))?;
            let mut rows = statement.query(params![tenant.0.as_bytes()])?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                match audit_row(row)
                    .map_err(StoreError::from)
                    .and_then(audit_entry)
                {
                    Ok(entry) => entries.push(entry),
                    Err(error) => {
                        let seq: i64 = row.get(0)?;
                        return Ok(Verification::Broken {
                            seq,
                            reason: format!("the entry cannot be read: {error}"),
                        });
                    }
                }
            }
            Ok(audit::verify(entries, checkpoint.as_ref()))
        })
    }

    fn audit_checkpoint(&self, tenant: TenantId) -> Result<Option<audit::Checkpoint>> {
        self.read(|conn| Self::checkpoint(conn, tenant))
    }

    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|conn| {
            let count: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM audit_log WHERE tenant_id = ?1 AND seq < COALESCE(
                        (SELECT seq FROM audit_log WHERE tenant_id = ?1 AND at >= ?2 ORDER BY seq LIMIT 1),
                        9223372036854775807)",
                )?
                .query_row(params![tenant.0.as_bytes(), micros(before)], |row| row.get(0))?;
            Ok(count.max(0) as u64)
        })
    }

    fn prune_audit(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: usize,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<audit::Pruned> {
        self.write(|tx| {
            let t = tenant.0.as_bytes();
            let bounds: Option<(i64, i64)> = tx
                .prepare_cached("SELECT MIN(seq), MAX(seq) FROM audit_log WHERE tenant_id = ?1")?
                .query_row(params![t], |row| {
                    Ok(row.get::<_, Option<i64>>(0)?.zip(row.get::<_, Option<i64>>(1)?))
                })?;
            let Some((first, head)) = bounds else {
                return Ok(audit::Pruned::default());
            };
            let first_kept: Option<i64> = tx
                .prepare_cached(
                    "SELECT seq FROM audit_log WHERE tenant_id = ?1 AND at >= ?2 ORDER BY seq LIMIT 1",
                )?
                .query_row(params![t, micros(before)], |row| row.get(0))
                .optional()?;
            let Some(through) = audit::prune_through(first, head, first_kept, limit) else {
                return Ok(audit::Pruned::default());
            };
            let (hash, at): (Vec<u8>, i64) = tx
                .prepare_cached("SELECT hash, at FROM audit_log WHERE tenant_id = ?1 AND seq = ?2")?
                .query_row(params![t, through], |row| Ok((row.get(0)?, row.get(1)?)))?;
            tx.prepare_cached(
                "INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, pruned_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
                     at = excluded.at, pruned_at = excluded.pruned_at",
            )?
            .execute(params![t, through, hash, at, micros(now)])?;
            let entries = tx
                .prepare_cached("DELETE FROM audit_log WHERE tenant_id = ?1 AND seq <= ?2")?
                .execute(params![t, through])? as u64;
            let pruned = audit::Pruned { entries, through };
            Self::append(tx, tenant, now, NewAuditEntry::audit_pruned(actor, pruned, before))?;
            Ok(pruned)
        })
    }

    fn create_request(
        &self,
        tenant: TenantId,
        request: &DsRequest,
        mails: &[NewMail],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<DsRequest> {
        let (wrapped, sealed) = seal_request(
            &self.keyring(),
            tenant,
            request.id,
            request.contact.as_ref(),
            request.new_value.as_ref(),
        )?;
        self.write(|tx| {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = ?1)", params![tenant.0.as_bytes()], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound("tenant"));
            }
            tx.prepare_cached(
                "INSERT INTO requests (tenant_id, request_id, status, subject_id, purpose, category, record_id, sealed,
                   verified_at, verified_by, first_due_at, due_at, extended_at, extension_reason, closed_at, refusal_reason, outcome,
                   code_hash, code_expires_at, code_attempts, locked, overdue_at, version, kind, channel, wrapped_key, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, 1, ?23, ?24, ?25, ?26)",
            )?
            .execute(rusqlite::params_from_iter(
                request_values(tenant, request, sealed).into_iter().chain([
                    request.kind.as_str().to_owned().into(),
                    request.channel.clone().into(),
                    wrapped.into(),
                    micros(request.received_at).into(),
                ]),
            ))?;
            self.enqueue(tx, tenant, mails, at)?;
            Self::append(tx, tenant, at, NewAuditEntry::request_step(actor, request, "file"))?;
            Ok(())
        })?;
        Ok(DsRequest {
            version: 1,
            ..request.clone()
        })
    }

    fn request(&self, tenant: TenantId, id: RequestId) -> Result<Option<DsRequest>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = ?1 AND request_id = ?2"
            ))?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], request_row)
            .optional()?
            .map(|row| row?.decode(&self.keyring(), tenant))
            .transpose()
        })
    }

    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> Result<Vec<DsRequest>> {
        self.read(|conn| {
            let mut sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = ?1 AND request_id > ?2"
            );
            let mut values: Vec<rusqlite::types::Value> = vec![
                tenant.0.as_bytes().to_vec().into(),
                filter
                    .after
                    .map_or(vec![], |a| a.0.as_bytes().to_vec())
                    .into(),
            ];
            if let Some(status) = filter.status {
                values.push(status.as_str().to_owned().into());
                sql.push_str(&format!(" AND status = ?{}", values.len()));
            }
            if filter.open || filter.overdue {
                sql.push_str(" AND closed_at IS NULL");
            }
            if filter.overdue {
                sql.push_str(" AND overdue_at IS NOT NULL");
            }
            sql.push_str(&format!(
                " ORDER BY request_id LIMIT {}",
                filter.page_size()
            ));
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(values), request_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|row| row?.decode(&self.keyring(), tenant))
                .collect()
        })
    }

    fn update_request(
        &self,
        tenant: TenantId,
        request: &DsRequest,
        entry: NewAuditEntry,
        mails: &[NewMail],
        at: Timestamp,
    ) -> Result<DsRequest> {
        self.write(|tx| {
            let wrapped: Vec<u8> = tx
                .prepare_cached("SELECT wrapped_key FROM requests WHERE tenant_id = ?1 AND request_id = ?2")?
                .query_row(params![tenant.0.as_bytes(), request.id.0.as_bytes()], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound("request"))?;
            let sealed = reseal_with(&self.keyring(), tenant, request, &wrapped)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE requests SET status = ?3, subject_id = ?4, purpose = ?5, category = ?6, record_id = ?7, sealed = ?8,
                       verified_at = ?9, verified_by = ?10, first_due_at = ?11, due_at = ?12, extended_at = ?13, extension_reason = ?14,
                       closed_at = ?15, refusal_reason = ?16, outcome = ?17, code_hash = ?18, code_expires_at = ?19, code_attempts = ?20,
                       locked = ?21, overdue_at = ?22, version = version + 1
                     WHERE tenant_id = ?1 AND request_id = ?2 AND version = ?23",
                )?
                .execute(rusqlite::params_from_iter(
                    request_values(tenant, request, sealed)
                        .into_iter()
                        .chain([request.version.into()]),
                ))?;
            if changed == 0 {
                return Err(StoreError::Conflict("request"));
            }
            self.enqueue(tx, tenant, mails, at)?;
            Self::append(tx, tenant, at, entry)?;
            Ok(())
        })?;
        Ok(DsRequest {
            version: request.version + 1,
            ..request.clone()
        })
    }

    fn mark_overdue(&self, at: Timestamp) -> Result<Vec<(TenantId, RequestId)>> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT tenant_id, {REQUEST_COLUMNS} FROM requests WHERE closed_at IS NULL AND due_at <= ?1 AND overdue_at IS NULL"
                ))?
                .query_map(params![micros(at)], |row| Ok((row.get::<_, Vec<u8>>(0)?, request_row_at(row, 1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut marked = Vec::with_capacity(rows.len());
            for (tenant, row) in rows {
                let tenant = TenantId(uuid(tenant)?);
                let mut request = row?.decode(&self.keyring(), tenant)?;
                tx.prepare_cached("UPDATE requests SET overdue_at = ?3, version = version + 1 WHERE tenant_id = ?1 AND request_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), request.id.0.as_bytes(), micros(at)])?;
                request.overdue_at = Some(at);
                Self::append(tx, tenant, at, NewAuditEntry::request_step(&Actor::System, &request, "overdue"))?;
                marked.push((tenant, request.id));
            }
            Ok(marked)
        })
    }

    fn request_counts(&self) -> Result<Vec<RequestCount>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT status, overdue_at IS NOT NULL AND closed_at IS NULL, COUNT(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2",
            )?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?, row.get::<_, i64>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(status, overdue, count)| {
                    Ok(RequestCount {
                        status: RequestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
                        overdue,
                        count: u64::try_from(count).unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    fn erase_subject(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        keep: &[KeptRecord],
        request: Option<RequestId>,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Erasure> {
        // The kept records move to a new key, so the old key (and every copy of the data sealed
        // with it) is worthless once it is gone. The new key commits first; the old one goes
        // after the rows, so no crash leaves a row without its key.
        let rekey = if keep.is_empty() {
            None
        } else {
            let generation: i64 = self.read(|conn| {
                conn.prepare_cached(
                    "SELECT key_generation FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes()], |row| {
                    row.get(0)
                })
                .optional()?
                .ok_or(StoreError::NotFound("subject"))
            })?;
            let key = self.keyring().new_data_key()?;
            self.put_key(tenant, subject, generation + 1, &key, at)?;
            Some((generation + 1, key))
        };
        let erasure = self.write(|tx| {
            let old_key = self.data_key(tx, tenant, subject)?;
            let (t, s) = (tenant.0.as_bytes(), subject.0.as_bytes());
            let identities = tx.prepare_cached("DELETE FROM identities WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
            // The notices' mails to the person go (sent or not): the ledger keeps the line, not
            // the address.
            tx.prepare_cached("DELETE FROM outbox WHERE tenant_id = ?1 AND mail_id IN (SELECT d.mail_id FROM notices n CROSS JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = ?2 WHERE n.tenant_id = ?1 AND d.mail_id IS NOT NULL)")?
                .execute(params![t, s])?;
            let mut kept = 0u64;
            if let Some((generation, new_key)) = &rekey {
                for item in keep {
                    let row: Option<(String, Vec<u8>)> = tx
                        .prepare_cached("SELECT category, sealed_value FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                        .query_row(params![t, s, item.record.0.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()?;
                    let Some((category, sealed)) = row else { continue };
                    let aad = record_aad(item.record.0, &category);
                    let value = old_key.open(&sealed, &aad)?;
                    let resealed = new_key.seal(&value, &aad)?;
                    tx.prepare_cached("UPDATE records SET sealed_value = ?4, purposes = ?5 WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                        .execute(params![t, s, item.record.0.as_bytes(), resealed, item.purposes.join(",")])?;
                    kept += 1;
                }
                tx.prepare_cached("UPDATE subjects SET key_generation = ?3 WHERE tenant_id = ?1 AND subject_id = ?2")?
                    .execute(params![t, s, generation])?;
            }
            let kept_ids: Vec<Vec<u8>> = keep.iter().map(|k| k.record.0.as_bytes().to_vec()).collect();
            let mut deleted = 0u64;
            {
                let mut select = tx.prepare_cached("SELECT record_id FROM records WHERE tenant_id = ?1 AND subject_id = ?2")?;
                let ids = select.query_map(params![t, s], |row| row.get::<_, Vec<u8>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                let mut delete = tx.prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?;
                for id in ids.into_iter().filter(|id| !kept_ids.contains(id)) {
                    deleted += delete.execute(params![t, s, id])? as u64;
                }
            }
            let subject_deleted = kept == 0;
            if subject_deleted {
                tx.prepare_cached("DELETE FROM events WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                tx.prepare_cached("DELETE FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
            }
            tx.prepare_cached(
                "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = excluded.request_id, erased_at = excluded.erased_at, partial = excluded.partial",
            )?
            .execute(params![t, s, request.map(|r| r.0.as_bytes().to_vec()), micros(at), !subject_deleted])?;
            let erasure = Erasure { records_deleted: deleted, records_kept: kept, identities_deleted: identities as u64, subject_deleted };
            Self::append(tx, tenant, at, NewAuditEntry::subject_erased(actor, subject, request, &erasure))?;
            Ok(erasure)
        });
        self.drop_stale_keys(tenant, subject)?;
        let erasure = erasure?;
        self.scrub()?;
        Ok(erasure)
    }

    fn tombstones(&self, tenant: TenantId) -> Result<Vec<Tombstone>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT subject_id, request_id, erased_at, partial FROM tombstones WHERE tenant_id = ?1 ORDER BY erased_at, subject_id")?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes()], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<Vec<u8>>>(1)?, row.get::<_, i64>(2)?, row.get::<_, bool>(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(subject, request, erased_at, partial)| {
                    Ok(Tombstone { subject: SubjectId(uuid(subject)?), request: request.map(uuid).transpose()?.map(RequestId), erased_at: timestamp(erased_at)?, partial })
                })
                .collect()
        })
    }

    fn rectify_record(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        record: RecordId,
        value: &Secret,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            let key = self.data_key(tx, tenant, subject)?;
            let category: String = tx
                .prepare_cached("SELECT category FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                .query_row(params![tenant.0.as_bytes(), subject.0.as_bytes(), record.0.as_bytes()], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound("record"))?;
            let sealed = key.seal(value.expose().as_bytes(), &record_aad(record.0, &category))?;
            tx.prepare_cached("UPDATE records SET sealed_value = ?4 WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), record.0.as_bytes(), sealed])?;
            Self::append(tx, tenant, at, NewAuditEntry::record_rectified(actor, subject, record, &category))?;
            Ok(())
        })?;
        self.scrub()
    }

    fn put_export(
        &self,
        tenant: TenantId,
        request: RequestId,
        token_hash: &[u8; 32],
        file_name: &str,
        sealed: &[u8],
        expires_at: Timestamp,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO exports (tenant_id, token_hash, request_id, file_name, sealed, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
                .execute(params![tenant.0.as_bytes(), token_hash.to_vec(), request.0.as_bytes(), file_name, sealed, micros(at), micros(expires_at)])?;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(actor, request, "create"))?;
            Ok(())
        })
    }

    fn take_export(
        &self,
        tenant: TenantId,
        token_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<Export>> {
        self.write(|tx| {
            let row: Option<(Vec<u8>, String, Vec<u8>, i64)> = tx
                .prepare_cached("DELETE FROM exports WHERE tenant_id = ?1 AND token_hash = ?2 RETURNING request_id, file_name, sealed, expires_at")?
                .query_row(params![tenant.0.as_bytes(), token_hash.to_vec()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                .optional()?;
            let Some((request, file_name, sealed, expires_at)) = row else { return Ok(None) };
            let request = RequestId(uuid(request)?);
            let expired = timestamp(expires_at)? <= at;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(&Actor::System, request, if expired { "expire" } else { "download" }))?;
            Ok((!expired).then_some(Export { request, file_name, sealed }))
        })
    }

    fn pending_export(
        &self,
        tenant: TenantId,
        token_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<(String, Timestamp)>> {
        self.read(|conn| {
            let row: Option<(String, i64)> = conn
                .prepare_cached("SELECT file_name, expires_at FROM exports WHERE tenant_id = ?1 AND token_hash = ?2 AND expires_at > ?3")?
                .query_row(params![tenant.0.as_bytes(), token_hash.to_vec(), micros(at)], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            row.map(|(name, expires)| Ok((name, timestamp(expires)?))).transpose()
        })
    }

    fn create_hold(
        &self,
        tenant: TenantId,
        hold: &NewHold,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<LegalHold> {
        let created = hold.placed(at);
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO legal_holds (tenant_id, hold_id, reason, subject_id, category, note, created_at, ends_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                tenant.0.as_bytes(),
                created.id.0.as_bytes(),
                created.reason.as_str(),
                created.subject.map(|s| s.0.as_bytes().to_vec()),
                created.category,
                created.note,
                micros(at),
                created.ends_at.map(micros),
            ])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::NotFound("tenant"),
                other => other.into(),
            })?;
            Self::append(tx, tenant, at, NewAuditEntry::hold_step(actor, &created, "create"))?;
            Ok(())
        })?;
        Ok(created)
    }

    fn holds(&self, tenant: TenantId, active_at: Option<Timestamp>) -> Result<Vec<LegalHold>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT hold_id, reason, subject_id, category, note, created_at, ends_at, released_at FROM legal_holds
                 WHERE tenant_id = ?1 ORDER BY hold_id DESC",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes()], |row| {
                    Ok((
                        row.get::<_, Vec<u8>>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<Vec<u8>>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, Option<i64>>(6)?,
                        row.get::<_, Option<i64>>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let holds = rows
                .into_iter()
                .map(|(id, reason, subject, category, note, created_at, ends_at, released_at)| {
                    Ok(LegalHold {
                        id: HoldId(uuid(id)?),
                        reason: HoldReason::parse(&reason).ok_or_else(|| StoreError::Corrupt(format!("unknown hold reason {reason}")))?,
                        subject: subject.map(uuid).transpose()?.map(SubjectId),
                        category,
                        note,
                        created_at: timestamp(created_at)?,
                        ends_at: ends_at.map(timestamp).transpose()?,
                        released_at: released_at.map(timestamp).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(holds.into_iter().filter(|h| active_at.is_none_or(|at| h.active_at(at))).collect())
        })
    }

    fn release_hold(
        &self,
        tenant: TenantId,
        hold: HoldId,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool> {
        let Some(mut found) = self
            .holds(tenant, Some(at))?
            .into_iter()
            .find(|h| h.id == hold)
        else {
            return Ok(false);
        };
        found.released_at = Some(at);
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE legal_holds SET released_at = ?3 WHERE tenant_id = ?1 AND hold_id = ?2 AND released_at IS NULL")?
                .execute(params![tenant.0.as_bytes(), hold.0.as_bytes(), micros(at)])?;
            if changed == 1 {
                Self::append(tx, tenant, at, NewAuditEntry::hold_step(actor, &found, "release"))?;
            }
            Ok(changed == 1)
        })
    }

    fn save_incident(
        &self,
        tenant: TenantId,
        incident: &crate::incidents::Incident,
        kind: &str,
        detail: serde_json::Value,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<crate::incidents::Incident> {
        let (saved, document) = incident.next_version()?;
        let (t, i) = (tenant.0.as_bytes(), saved.id.0.as_bytes());
        self.write(|tx| {
            let changed = if incident.version == 0 {
                tx.prepare_cached(
                    "INSERT INTO incidents (tenant_id, incident_id, open, aware_at, deadline_at, version, document) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![t, i, saved.is_open(), micros(saved.aware_at), micros(saved.deadline_at), saved.version, document])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::Conflict("incident"),
                    other => other.into(),
                })?
            } else {
                tx.prepare_cached(
                    "UPDATE incidents SET open = ?3, aware_at = ?4, deadline_at = ?5, version = ?6, document = ?7
                     WHERE tenant_id = ?1 AND incident_id = ?2 AND version = ?8",
                )?
                .execute(params![t, i, saved.is_open(), micros(saved.aware_at), micros(saved.deadline_at), saved.version, document, incident.version])?
            };
            if changed == 0 {
                return Err(StoreError::Conflict("incident"));
            }
            let seq: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_steps WHERE tenant_id = ?1 AND incident_id = ?2")?
                .query_row(params![t, i], |row| row.get(0))?;
            tx.prepare_cached(
                "INSERT INTO incident_steps (tenant_id, incident_id, seq, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![t, i, seq, micros(at), actor.audit_name(), kind, detail.to_string()])?;
            Self::append(tx, tenant, at, NewAuditEntry::incident_step(actor, &saved, kind))?;
            Ok(())
        })?;
        Ok(saved)
    }

    fn incident(
        &self,
        tenant: TenantId,
        id: crate::incidents::IncidentId,
    ) -> Result<Option<crate::incidents::Incident>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT document FROM incidents WHERE tenant_id = ?1 AND incident_id = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .map(|document| incident_document(&document))
            .transpose()
        })
    }

    fn incident_timeline(
        &self,
        tenant: TenantId,
        id: crate::incidents::IncidentId,
    ) -> Result<Vec<crate::incidents::IncidentStep>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT seq, at, actor, kind, detail FROM incident_steps WHERE tenant_id = ?1 AND incident_id = ?2 ORDER BY seq",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, at, actor, kind, detail)| {
                    Ok(crate::incidents::IncidentStep {
                        seq,
                        at: timestamp(at)?,
                        actor,
                        kind,
                        detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("incident step {seq}: {e}")))?,
                    })
                })
                .collect()
        })
    }

    fn incidents(
        &self,
        tenant: TenantId,
        open_only: bool,
    ) -> Result<Vec<crate::incidents::Incident>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT document FROM incidents WHERE tenant_id = ?1 AND (open = 1 OR ?2 = 0) ORDER BY incident_id DESC",
            )?;
            let documents = statement
                .query_map(params![tenant.0.as_bytes(), open_only], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            documents.iter().map(|d| incident_document(d)).collect()
        })
    }

    fn reads_by(
        &self,
        tenant: TenantId,
        actor: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<crate::incidents::Read>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT subject_id, action, categories, detail FROM audit_log INDEXED BY audit_log_by_actor
                 WHERE tenant_id = ?1 AND actor = ?2 AND at >= ?3 AND at < ?4
                   AND action IN ('records.read', 'subject.read') AND subject_id IS NOT NULL",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), actor, micros(from), micros(until)], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, Option<String>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(subject, action, categories, detail)| {
                    let categories: Vec<String> = serde_json::from_str(&categories)
                        .map_err(|e| StoreError::Corrupt(format!("audit categories: {e}")))?;
                    Ok(crate::incidents::read_of(SubjectId(uuid(subject)?), &action, categories, detail.as_deref()))
                })
                .collect()
        })
    }

    fn open_incidents(&self) -> Result<Vec<(TenantId, crate::incidents::Incident)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT tenant_id, document FROM incidents WHERE open = 1 ORDER BY deadline_at",
            )?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(tenant, document)| {
                    Ok((TenantId(uuid(tenant)?), incident_document(&document)?))
                })
                .collect()
        })
    }

    fn notice_audience(
        &self,
        tenant: TenantId,
        audience: &crate::notices::Audience,
    ) -> Result<Vec<crate::notices::Addressee>> {
        use crate::notices::{Addressee, Audience, category_bounds};
        self.read(|conn| {
            // One snapshot: the people, their addresses and their events agree.
            let tx = conn.unchecked_transaction()?;
            let t = tenant.0.as_bytes();
            let mut ids: Vec<Vec<u8>> = match audience {
                Audience::Tenants(customers) => {
                    let mut statement = tx.prepare_cached("SELECT subject_id FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2")?;
                    let mut ids = vec![];
                    for customer in customers {
                        ids.extend(statement.query_map(params![t, customer.0.as_bytes()], |row| row.get(0))?.collect::<rusqlite::Result<Vec<Vec<u8>>>>()?);
                    }
                    ids
                }
                Audience::Customers => tx
                    .prepare_cached("SELECT c.subject_id FROM tenant_contacts c JOIN tenants t ON t.tenant_id = c.customer_id WHERE c.tenant_id = ?1 AND t.operator = 0")?
                    .query_map(params![t], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?,
                Audience::Category(category) => {
                    let (low, high) = category_bounds(category);
                    tx.prepare_cached("SELECT DISTINCT subject_id FROM records WHERE tenant_id = ?1 AND (category = ?2 OR (category >= ?3 AND category < ?4))")?
                        .query_map(params![t, category, low, high], |row| row.get(0))?
                        .collect::<rusqlite::Result<_>>()?
                }
                Audience::Subjects(subjects) => {
                    let mut statement = tx.prepare_cached("SELECT subject_id FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?;
                    let mut ids = vec![];
                    for subject in subjects {
                        ids.extend(statement.query_row(params![t, subject.0.as_bytes()], |row| row.get(0)).optional()?);
                    }
                    ids
                }
            };
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.clone()));
            let mut people: Vec<Addressee> = ids
                .into_iter()
                .map(|id| Ok(Addressee { subject: SubjectId(uuid(id)?), email: None, events: vec![] }))
                .collect::<Result<_>>()?;
            let position: std::collections::HashMap<SubjectId, usize> = people.iter().enumerate().map(|(i, p)| (p.subject, i)).collect();
            // A few people are looked up one by one; a large audience is read in one pass over
            // each table of the tenant, which is cheaper than three lookups per person.
            let few = people.len() <= 256;
            // One person per run (?2) when few, the whole tenant in one run (?2 NULL) otherwise.
            let only = |column: &str| if few { format!("AND {column} = ?2") } else { "AND ?2 IS NULL".to_owned() };
            let singles: Vec<Option<Vec<u8>>> = if few {
                people.iter().map(|p| Some(p.subject.0.as_bytes().to_vec())).collect()
            } else {
                vec![None]
            };
            let mut addresses = tx.prepare_cached(&format!(
                "SELECT subject_id, blind_index, sealed_value FROM identities WHERE tenant_id = ?1 AND kind = 'email' {}",
                only("subject_id")
            ))?;
            let mut keys = tx.prepare_cached(&format!(
                "SELECT s.subject_id, k.wrapped_key FROM subjects s
                   JOIN keys.subject_keys k ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id AND k.generation = s.key_generation
                 WHERE s.tenant_id = ?1 {}", only("s.subject_id")
            ))?;
            let mut events = tx.prepare_cached(&format!(
                "SELECT subject_id, kind, purpose, occurred_at FROM events
                 WHERE tenant_id = ?1 AND kind IN ('unsubscribe', 'objection') {}",
                only("subject_id")
            ))?;
            let mut sealed: Vec<Option<(Vec<u8>, Vec<u8>)>> = vec![None; people.len()];
            let mut wrapped: Vec<Option<Vec<u8>>> = vec![None; people.len()];
            for single in &singles {
                let rows = addresses.query_map(params![t, single], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, Vec<u8>>(2)?)))?;
                for row in rows {
                    let (subject, index, value) = row?;
                    let Some(&i) = position.get(&SubjectId(uuid(subject)?)) else { continue };
                    // Of several addresses, the one with the lowest index: the same every time.
                    if sealed[i].as_ref().is_none_or(|(known, _)| index < *known) {
                        sealed[i] = Some((index, value));
                    }
                }
                let rows = keys.query_map(params![t, single], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
                for row in rows {
                    let (subject, key) = row?;
                    let Some(&i) = position.get(&SubjectId(uuid(subject)?)) else { continue };
                    if sealed[i].is_some() {
                        wrapped[i] = Some(key);
                    }
                }
                let rows = events.query_map(params![t, single], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<String>>(2)?, row.get::<_, i64>(3)?)))?;
                for row in rows {
                    let (subject, kind, purpose, occurred_at) = row?;
                    let Some(&i) = position.get(&SubjectId(uuid(subject)?)) else { continue };
                    people[i].events.push(ombud_core::Event {
                        kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
                        purpose,
                        occurred_at: timestamp(occurred_at)?,
                    });
                }
            }
            let jobs: Vec<crate::notices::SealedAddress> = sealed
                .into_iter()
                .zip(wrapped)
                .enumerate()
                .filter_map(|(i, (address, key))| {
                    let (index, value) = address?;
                    Some(crate::notices::SealedAddress { person: i, subject: people[i].subject, wrapped_key: key?, index, sealed: value })
                })
                .collect();
            for (i, email) in crate::notices::open_emails(&self.keyring(), tenant, jobs)? {
                people[i].email = Some(email);
            }
            Ok(people)
        })
    }

    fn send_notice(
        &self,
        tenant: TenantId,
        notice: &crate::notices::NewNotice,
        deliveries: &[crate::notices::NewDelivery],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<crate::notices::Notice> {
        use crate::notices::NewDelivery;
        let (t, n) = (tenant.0.as_bytes(), notice.id.0.as_bytes());
        let hash = notice.body_hash();
        let audience = notice.audience_json()?;
        let template = notice.template();
        let sealed = crate::notices::seal_addresses(&self.keyring(), deliveries)?;
        let queued = deliveries
            .iter()
            .filter(|d| matches!(d, NewDelivery::Queue { .. }))
            .count() as u64;
        let skipped = deliveries.len() as u64 - queued;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO notice_bodies (tenant_id, body_hash, subject_line, body) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
                .execute(params![t, hash, notice.subject_line, notice.body])?;
            tx.prepare_cached(
                "INSERT INTO notices (tenant_id, notice_id, kind, mandatory, body_hash, audience, incident_id, created_at, created_by, queued, skipped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![t, n, notice.kind, notice.mandatory, hash, audience, notice.incident.map(|i| i.0.as_bytes().to_vec()), micros(at), actor.audit_name(), queued as i64, skipped as i64])?;
            let mut mail = tx.prepare_cached(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at, notice_id) VALUES (?1, ?2, NULL, ?3, ?4, NULL, ?5, ?5, ?6)",
            )?;
            let mut line = tx.prepare_cached("INSERT INTO notice_deliveries (tenant_id, notice_id, subject_id, mail_id, skipped) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for (delivery, mail_of) in deliveries.iter().zip(&sealed) {
                match (delivery, mail_of) {
                    (NewDelivery::Queue { subject, .. }, Some((id, to))) => {
                        mail.execute(params![t, id.0.as_bytes(), template, to, micros(at), n])?;
                        line.execute(params![t, n, subject.0.as_bytes(), Some(id.0.as_bytes()), None::<String>])?;
                    }
                    (NewDelivery::Skip { subject, reason }, _) => {
                        line.execute(params![t, n, subject.0.as_bytes(), None::<Vec<u8>>, reason])?;
                    }
                    (NewDelivery::Queue { .. }, None) => return Err(StoreError::Corrupt("a queued delivery without its mail".into())),
                }
            }
            Self::append(tx, tenant, at, NewAuditEntry::notice_sent(actor, notice, queued, skipped))?;
            Ok(())
        })?;
        self.notice(tenant, notice.id)?
            .map(|(stored, _)| stored)
            .ok_or(StoreError::NotFound("notice"))
    }

    fn notices(&self, tenant: TenantId) -> Result<Vec<crate::notices::Notice>> {
        use crate::notices::{NOTICE_COLUMNS, notice_of};
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                 WHERE n.tenant_id = ?1 ORDER BY n.created_at DESC, n.notice_id DESC"
            ))?
            .query_map(params![tenant.0.as_bytes()], notice_row)?
            .map(|row| notice_of(row?))
            .collect()
        })
    }

    fn notice(
        &self,
        tenant: TenantId,
        id: crate::notices::NoticeId,
    ) -> Result<Option<(crate::notices::Notice, String)>> {
        use crate::notices::{NOTICE_COLUMNS, notice_of};
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {NOTICE_COLUMNS}, b.body FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                 WHERE n.tenant_id = ?1 AND n.notice_id = ?2"
            ))?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| Ok((notice_row(row)?, row.get::<_, String>(11)?)))
            .optional()?
            .map(|(row, body)| Ok((notice_of(row)?, body)))
            .transpose()
        })
    }

    fn notice_deliveries(
        &self,
        tenant: TenantId,
        id: crate::notices::NoticeId,
    ) -> Result<Vec<crate::notices::Delivery>> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!("{DELIVERY_SELECT} WHERE d.tenant_id = ?1 AND d.notice_id = ?2 ORDER BY d.subject_id"))?
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], delivery_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let keyring = self.keyring();
            rows.into_iter().map(|row| row?.decode(&keyring)).collect()
        })
    }

    fn subject_notices(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<(crate::notices::Notice, crate::notices::Delivery)>> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!("{SUBJECT_DELIVERY_SELECT} WHERE n.tenant_id = ?1"))?
                .query_map(
                    params![tenant.0.as_bytes(), subject.0.as_bytes()],
                    delivery_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let keyring = self.keyring();
            let mut lines = Vec::with_capacity(rows.len());
            for row in rows {
                let delivery = row?.decode(&keyring)?;
                let (notice, _) = self
                    .notice(tenant, delivery.notice)?
                    .ok_or(StoreError::NotFound("notice"))?;
                lines.push((notice, delivery));
            }
            lines.sort_by_key(|(notice, _)| (notice.created_at, notice.id));
            Ok(lines)
        })
    }

    fn set_tenant_contact(
        &self,
        tenant: TenantId,
        customer: TenantId,
        subject: SubjectId,
        present: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool> {
        let (t, c, s) = (
            tenant.0.as_bytes(),
            customer.0.as_bytes(),
            subject.0.as_bytes(),
        );
        self.write(|tx| {
            let changed = if present {
                let exists: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2)")?
                    .query_row(params![t, s], |row| row.get(0))?;
                if !exists {
                    return Err(StoreError::NotFound("subject"));
                }
                tx.prepare_cached("INSERT INTO tenant_contacts (tenant_id, customer_id, subject_id, added_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
                    .execute(params![t, c, s, micros(at)])?
            } else {
                tx.prepare_cached("DELETE FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2 AND subject_id = ?3")?
                    .execute(params![t, c, s])?
            };
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::tenant_contact(actor, customer, subject, present))?;
            }
            Ok(changed > 0)
        })
    }

    fn tenant_contacts(&self, tenant: TenantId, customer: TenantId) -> Result<Vec<SubjectId>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT subject_id FROM tenant_contacts WHERE tenant_id = ?1 AND customer_id = ?2 ORDER BY added_at, subject_id")?
                .query_map(params![tenant.0.as_bytes(), customer.0.as_bytes()], |row| row.get::<_, Vec<u8>>(0))?
                .map(|id| Ok(SubjectId(uuid(id?)?)))
                .collect()
        })
    }

    fn select_recipient(
        &self,
        tenant: TenantId,
        recipient: &str,
        selected: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<bool> {
        let t = tenant.0.as_bytes();
        self.write(|tx| {
            let changed = if selected {
                tx.prepare_cached("INSERT INTO tenant_recipients (tenant_id, recipient_id, selected_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
                    .execute(params![t, recipient, micros(at)])?
            } else {
                tx.prepare_cached("DELETE FROM tenant_recipients WHERE tenant_id = ?1 AND recipient_id = ?2")?
                    .execute(params![t, recipient])?
            };
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::recipient_selected(actor, recipient, selected))?;
            }
            Ok(changed > 0)
        })
    }

    fn selected_recipients(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT recipient_id, selected_at FROM tenant_recipients WHERE tenant_id = ?1 ORDER BY recipient_id")?
                .query_map(params![tenant.0.as_bytes()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
                .map(|row| {
                    let (id, at) = row?;
                    Ok((id, timestamp(at)?))
                })
                .collect()
        })
    }

    fn tenants_selecting(&self, recipient: &str) -> Result<Vec<TenantId>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT tenant_id FROM tenant_recipients WHERE recipient_id = ?1 ORDER BY tenant_id")?
                .query_map(params![recipient], |row| row.get::<_, Vec<u8>>(0))?
                .map(|id| Ok(TenantId(uuid(id?)?)))
                .collect()
        })
    }

    fn save_recipient_change(
        &self,
        tenant: TenantId,
        change: &crate::subprocessors::RecipientChange,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<()> {
        let document = crate::subprocessors::change_document(change)?;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO recipient_changes (tenant_id, change_id, created_at, document) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![tenant.0.as_bytes(), change.id.0.as_bytes(), micros(change.created_at), document])?;
            Self::append(tx, tenant, at, NewAuditEntry::recipient_change(actor, change))?;
            Ok(())
        })
    }

    fn recipient_change(
        &self,
        tenant: TenantId,
        id: crate::subprocessors::ChangeId,
    ) -> Result<Option<crate::subprocessors::RecipientChange>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT document FROM recipient_changes WHERE tenant_id = ?1 AND change_id = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .map(|d| crate::subprocessors::change_of(&d))
            .transpose()
        })
    }

    fn recipient_changes(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<crate::subprocessors::RecipientChange>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT document FROM recipient_changes WHERE tenant_id = ?1 ORDER BY created_at DESC, change_id DESC")?
                .query_map(params![tenant.0.as_bytes()], |row| row.get::<_, String>(0))?
                .map(|d| crate::subprocessors::change_of(&d?))
                .collect()
        })
    }

    fn object_to_change(
        &self,
        tenant: TenantId,
        objection: &crate::subprocessors::Objection,
        actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            let added = tx
                .prepare_cached("INSERT INTO recipient_objections (tenant_id, change_id, customer_id, recipient_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING")?
                .execute(params![tenant.0.as_bytes(), objection.change.0.as_bytes(), objection.tenant.0.as_bytes(), objection.recipient, objection.reason, micros(objection.at)])?;
            if added > 0 {
                Self::append(tx, tenant, objection.at, NewAuditEntry::recipient_objection(actor, objection.change, objection.tenant, &objection.recipient))?;
            }
            Ok(added > 0)
        })
    }

    fn change_objections(
        &self,
        tenant: TenantId,
        id: crate::subprocessors::ChangeId,
    ) -> Result<Vec<crate::subprocessors::Objection>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT customer_id, recipient_id, reason, at FROM recipient_objections WHERE tenant_id = ?1 AND change_id = ?2 ORDER BY at, customer_id, recipient_id")?
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?)))?
                .map(|row| {
                    let (customer, recipient, reason, at) = row?;
                    Ok(crate::subprocessors::Objection { change: id, tenant: TenantId(uuid(customer)?), recipient, reason, at: timestamp(at)? })
                })
                .collect()
        })
    }

    fn reload_master_key(&self, master: &MasterKey) {
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) =
            std::sync::Arc::new(Keyring::new(master));
    }

    fn rewrap_keys(&self) -> Result<u64> {
        let keyring = self.keyring();
        let mut total = 0u64;
        for (table, key_columns, sealed_columns, mail) in SEALED {
            let keys = key_columns.split(", ").count();
            let columns = format!("{key_columns}, {}", sealed_columns.join(", "));
            let placeholders: Vec<String> = (1..=keys).map(|i| format!("?{i}")).collect();
            let select = format!(
                "SELECT {columns} FROM {table} WHERE ({key_columns}) > ({}) ORDER BY {key_columns} LIMIT {REWRAP_BATCH}",
                placeholders.join(", ")
            );
            let mut after: Vec<rusqlite::types::Value> = (0..keys)
                .map(|_| rusqlite::types::Value::Blob(vec![]))
                .collect();
            loop {
                let rows: Vec<Vec<rusqlite::types::Value>> = self.read(|conn| {
                    let mut statement = conn.prepare_cached(&select)?;
                    let rows =
                        statement.query_map(rusqlite::params_from_iter(after.iter()), |row| {
                            (0..keys + sealed_columns.len())
                                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                                .collect()
                        })?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })?;
                let Some(last) = rows.last() else { break };
                after = last[..keys].to_vec();
                let mut updates = Vec::new();
                for row in &rows {
                    let id = |i: usize| match &row[i] {
                        rusqlite::types::Value::Blob(bytes) => uuid(bytes.clone()),
                        _ => Err(StoreError::Corrupt(format!("{table}: an id is not a blob"))),
                    };
                    let (tenant, object) = (id(0)?, id(1)?);
                    for (i, column) in sealed_columns.iter().enumerate() {
                        let rusqlite::types::Value::Blob(sealed) = &row[keys + i] else {
                            continue;
                        };
                        let resealed = crate::requests::reseal_column(
                            &keyring, mail, column, tenant, object, sealed,
                        )?;
                        if let Some(resealed) = resealed {
                            updates.push((row[..keys].to_vec(), *column, sealed.clone(), resealed));
                        }
                    }
                }
                if updates.is_empty() {
                    continue;
                }
                self.write(|tx| {
                    for (key, column, old, new) in &updates {
                        // Only if unchanged meanwhile: an erasure may have dropped the row, a
                        // second rotation may have sealed it already.
                        let condition: Vec<String> = key_columns
                            .split(", ")
                            .enumerate()
                            .map(|(i, c)| format!("{c} = ?{}", i + 3))
                            .collect();
                        let sql = format!(
                            "UPDATE {table} SET {column} = ?1 WHERE {column} = ?2 AND {}",
                            condition.join(" AND ")
                        );
                        let mut values = vec![
                            rusqlite::types::Value::Blob(new.clone()),
                            rusqlite::types::Value::Blob(old.clone()),
                        ];
                        values.extend(key.iter().cloned());
                        total += tx
                            .prepare_cached(&sql)?
                            .execute(rusqlite::params_from_iter(values.iter()))?
                            as u64;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(total)
    }

    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>> {
        self.read(|conn| {
            let mut counts = std::collections::BTreeMap::new();
            for (table, _, sealed_columns, _) in SEALED {
                for column in sealed_columns {
                    // V1 values carry no generation (they are generation 1); V2 carry it in
                    // bytes 2 to 5.
                    let sql = format!(
                        "SELECT CASE WHEN substr({column}, 1, 1) = x'01' THEN x'01' ELSE substr({column}, 1, 5) END AS prefix, COUNT(*)
                         FROM {table} WHERE {column} IS NOT NULL GROUP BY prefix"
                    );
                    let mut statement = conn.prepare(&sql)?;
                    let rows = statement.query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))?;
                    for row in rows {
                        let (prefix, count) = row?;
                        let generation = crypto::sealed_generation(&prefix)
                            .ok_or_else(|| StoreError::Corrupt(format!("{table}.{column}: a sealed value of unknown format")))?;
                        *counts.entry(generation).or_insert(0) += count.max(0) as u64;
                    }
                }
            }
            Ok(counts)
        })
    }

    fn purge_deleted(&self) -> Result<()> {
        self.scrub()
    }

    fn maintain(&self) -> Result<()> {
        let conn = self.pool.get()?;
        // A sample is enough to tell a selective column from one that is not, and keeps the
        // analysis short on large tables.
        conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        Ok(())
    }

    fn retention_batch(
        &self,
        tenant: TenantId,
        after: Option<SubjectId>,
        limit: usize,
    ) -> Result<Vec<RetentionSubject>> {
        self.read(|conn| {
            // One snapshot for the three reads, so records and events agree with the subjects.
            let tx = conn.unchecked_transaction()?;
            let t = tenant.0.as_bytes();
            // An empty blob sorts before every id.
            let after = after.map(|s| s.0.as_bytes().to_vec()).unwrap_or_default();
            let subjects = tx
                .prepare_cached("SELECT subject_id FROM subjects WHERE tenant_id = ?1 AND subject_id > ?2 ORDER BY subject_id LIMIT ?3")?
                .query_map(params![t, after, i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some(last) = subjects.last().cloned() else { return Ok(vec![]) };
            let mut batch: Vec<RetentionSubject> = subjects
                .into_iter()
                .map(|id| Ok(RetentionSubject { subject: SubjectId(uuid(id)?), records: vec![], events: vec![] }))
                .collect::<Result<_>>()?;
            let position: std::collections::HashMap<SubjectId, usize> = batch.iter().enumerate().map(|(i, s)| (s.subject, i)).collect();
            let mut records = tx.prepare_cached(
                "SELECT subject_id, record_id, category, purposes, source, collected_at FROM records
                 WHERE tenant_id = ?1 AND subject_id > ?2 AND subject_id <= ?3",
            )?;
            let rows = records.query_map(params![t, after, last], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?, row.get::<_, i64>(5)?))
            })?;
            for row in rows {
                let (subject, id, category, purposes, source, collected_at) = row?;
                let subject = SubjectId(uuid(subject)?);
                let Some(&i) = position.get(&subject) else { continue };
                batch[i].records.push(RecordMeta {
                    id: RecordId(uuid(id)?),
                    category,
                    purposes: split_purposes(&purposes),
                    source,
                    collected_at: timestamp(collected_at)?,
                });
            }
            let mut events = tx.prepare_cached(
                "SELECT subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version FROM events
                 WHERE tenant_id = ?1 AND subject_id > ?2 AND subject_id <= ?3 ORDER BY subject_id, occurred_at, event_id",
            )?;
            let rows = events.query_map(params![t, after, last], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, (row.get::<_, Vec<u8>>(1)?, row.get::<_, String>(2)?, row.get::<_, Option<String>>(3)?, row.get::<_, i64>(4)?, row.get::<_, i64>(5)?, row.get::<_, Option<String>>(6)?, row.get::<_, Option<String>>(7)?)))
            })?;
            for row in rows {
                let (subject, raw) = row?;
                let subject = SubjectId(uuid(subject)?);
                let Some(&i) = position.get(&subject) else { continue };
                batch[i].events.push(stored_event(subject, raw)?);
            }
            Ok(batch)
        })
    }

    fn expire_records(
        &self,
        tenant: TenantId,
        expiries: &[Expiry],
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Swept> {
        let mut gone = vec![];
        let swept = self.write(|tx| {
            let t = tenant.0.as_bytes();
            let mut swept = Swept::default();
            let mut entries = Vec::new();
            for expiry in expiries {
                let s = expiry.subject.0.as_bytes();
                let mut by_rule: std::collections::BTreeMap<&str, (BTreeSet<String>, usize)> = Default::default();
                let rules: std::collections::HashMap<[u8; 16], &str> =
                    expiry.records.iter().map(|(r, rule)| (*r.0.as_bytes(), rule.as_str())).collect();
                // A subject losing every record loses them in one statement; should a record
                // the sweep did not see have arrived meanwhile, the savepoint undoes it and the
                // records go one by one.
                let mut bulk_done = false;
                if expiry.subject_may_go {
                    tx.execute_batch("SAVEPOINT whole_subject")?;
                    let removed = tx
                        .prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 RETURNING record_id, category")?
                        .query_map(params![t, s], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let all_expired = removed.iter().all(|(id, _)| <[u8; 16]>::try_from(id.as_slice()).is_ok_and(|id| rules.contains_key(&id)));
                    if all_expired {
                        tx.execute_batch("RELEASE whole_subject")?;
                        for (id, category) in removed {
                            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) else { continue };
                            let entry = by_rule.entry(rules[&id]).or_default();
                            entry.0.insert(category);
                            entry.1 += 1;
                        }
                        bulk_done = true;
                    } else {
                        tx.execute_batch("ROLLBACK TO whole_subject; RELEASE whole_subject")?;
                    }
                }
                if !bulk_done {
                    let mut delete = tx.prepare_cached("DELETE FROM records WHERE tenant_id = ?1 AND subject_id = ?2 AND record_id = ?3 RETURNING category")?;
                    for (record, rule) in &expiry.records {
                        let category: Option<String> = delete.query_row(params![t, s, record.0.as_bytes()], |row| row.get(0)).optional()?;
                        if let Some(category) = category {
                            let entry = by_rule.entry(rule.as_str()).or_default();
                            entry.0.insert(category);
                            entry.1 += 1;
                        }
                    }
                }
                if by_rule.is_empty() {
                    continue;
                }
                let left: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM records WHERE tenant_id = ?1 AND subject_id = ?2)")?
                    .query_row(params![t, s], |row| row.get(0))?;
                let whole = expiry.subject_may_go && !left;
                if whole {
                    tx.prepare_cached("DELETE FROM identities WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached("DELETE FROM events WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached("DELETE FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2")?.execute(params![t, s])?;
                    tx.prepare_cached(
                        "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES (?1, ?2, NULL, ?3, 0)
                         ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = NULL, erased_at = excluded.erased_at, partial = 0",
                    )?
                    .execute(params![t, s, micros(at)])?;
                    gone.push(expiry.subject);
                    swept.subjects += 1;
                }
                for (rule, (categories, count)) in by_rule {
                    swept.records += count as u64;
                    entries.push(NewAuditEntry::records_expired(actor, expiry.subject, rule, categories, count, whole));
                }
            }
            Self::append_many(tx, tenant, at, entries)?;
            Ok(swept)
        })?;
        // After the rows: a crash between the two leaves keys nothing names, which the next
        // open removes.
        self.drop_stale_keys_of(tenant, &gone)?;
        Ok(swept)
    }

    fn remove_expired_exports(&self, at: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(
                    "DELETE FROM exports WHERE expires_at <= ?1 RETURNING tenant_id, request_id",
                )?
                .query_map(params![micros(at)], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (tenant, request) in &rows {
                Self::append(
                    tx,
                    TenantId(uuid(tenant.clone())?),
                    at,
                    NewAuditEntry::export_step(
                        &Actor::System,
                        RequestId(uuid(request.clone())?),
                        "expire",
                    ),
                )?;
            }
            Ok(rows.len() as u64)
        })
    }

    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT o.tenant_id, o.mail_id, o.template, o.attempts, o.sealed_message, o.sealed_to, b.subject_line, b.body FROM outbox o
                       LEFT JOIN notices n ON n.tenant_id = o.tenant_id AND n.notice_id = o.notice_id
                       LEFT JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                     WHERE o.sent_at IS NULL AND o.next_attempt_at <= ?1 AND (o.leased_until IS NULL OR o.leased_until <= ?1) AND o.attempts < ?2
                     ORDER BY o.next_attempt_at LIMIT ?3",
                )?
                .query_map(params![micros(at), MAIL_MAX_ATTEMPTS, limit as i64], |row| {
                    let notice = match (row.get::<_, Option<String>>(6)?, row.get::<_, Option<String>>(7)?) {
                        (Some(subject), Some(body)) => Some((subject, body)),
                        _ => None,
                    };
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, String>(2)?, row.get::<_, u32>(3)?, row.get::<_, Option<Vec<u8>>>(4)?, row.get::<_, Vec<u8>>(5)?, notice))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut mails = Vec::with_capacity(rows.len());
            for (tenant, id, template, attempts, message, to, notice) in rows {
                let (tenant, id) = (TenantId(uuid(tenant)?), MailId(uuid(id)?));
                tx.prepare_cached("UPDATE outbox SET leased_until = ?3 WHERE tenant_id = ?1 AND mail_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), micros(until)])?;
                mails.push(leased_mail(&self.keyring(), tenant, id, template, attempts, message, &to, notice)?);
            }
            Ok(mails)
        })
    }

    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET sent_at = ?3, sealed_message = NULL, leased_until = NULL, attempts = attempts + 1, last_error = NULL WHERE tenant_id = ?1 AND mail_id = ?2")?
                .execute(params![tenant.0.as_bytes(), mail.0.as_bytes(), micros(at)])?;
            Ok(())
        })
    }

    fn mail_failed(
        &self,
        tenant: TenantId,
        mail: MailId,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET next_attempt_at = ?3, leased_until = NULL, attempts = attempts + 1, last_error = ?4 WHERE tenant_id = ?1 AND mail_id = ?2")?
                .execute(params![tenant.0.as_bytes(), mail.0.as_bytes(), micros(retry_at), error])?;
            Ok(())
        })
    }

    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT mail_id, request_id, template, sealed_to, created_at, sent_at, attempts, last_error FROM outbox
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR request_id = ?2) ORDER BY mail_id",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), request.map(|r| r.0.as_bytes().to_vec())], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<Vec<u8>>>(1)?, row.get::<_, String>(2)?, row.get::<_, Vec<u8>>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<i64>>(5)?, row.get::<_, u32>(6)?, row.get::<_, Option<String>>(7)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, request, template, to, created_at, sent_at, attempts, last_error)| {
                    let id = MailId(uuid(id)?);
                    Ok(MailRecord {
                        id,
                        request: request.map(uuid).transpose()?.map(RequestId),
                        to: Some(open_mail_to(&self.keyring(), id, &to)?),
                        template,
                        created_at: timestamp(created_at)?,
                        sent_at: sent_at.map(timestamp).transpose()?,
                        attempts,
                        last_error,
                    })
                })
                .collect()
        })
    }
}

/// The columns a request's INSERT and UPDATE share, in their parameter order (?1 to ?22).
fn request_values(
    tenant: TenantId,
    request: &DsRequest,
    sealed: Vec<u8>,
) -> Vec<rusqlite::types::Value> {
    let id = |uuid: uuid::Uuid| uuid.as_bytes().to_vec();
    vec![
        id(tenant.0).into(),
        id(request.id.0).into(),
        request.status.as_str().to_owned().into(),
        request.subject.map(|s| id(s.0)).into(),
        request.purpose.clone().into(),
        request.category.clone().into(),
        request.record.map(|r| id(r.0)).into(),
        sealed.into(),
        crate::requests::micros(request.verified_at).into(),
        request.verified_by.clone().into(),
        crate::requests::micros(request.first_due_at).into(),
        crate::requests::micros(request.due_at).into(),
        crate::requests::micros(request.extended_at).into(),
        request.extension_reason.clone().into(),
        crate::requests::micros(request.closed_at).into(),
        request.refusal_reason.clone().into(),
        request.outcome.clone().into(),
        request.code_hash.map(|h| h.to_vec()).into(),
        crate::requests::micros(request.code_expires_at).into(),
        i64::from(request.code_attempts).into(),
        request.locked.into(),
        crate::requests::micros(request.overdue_at).into(),
    ]
}

fn request_row(row: &rusqlite::Row) -> rusqlite::Result<Result<RequestRow>> {
    request_row_at(row, 0)
}

/// Reads a request row starting at column `base`; the inner result carries id decoding errors.
fn request_row_at(row: &rusqlite::Row, base: usize) -> rusqlite::Result<Result<RequestRow>> {
    let c = |i: usize| base + i;
    let id: Vec<u8> = row.get(c(0))?;
    let subject: Option<Vec<u8>> = row.get(c(3))?;
    let record: Option<Vec<u8>> = row.get(c(6))?;
    let raw = (
        row.get::<_, String>(c(1))?,
        row.get::<_, String>(c(2))?,
        row.get::<_, Option<String>>(c(4))?,
        row.get::<_, Option<String>>(c(5))?,
        row.get::<_, String>(c(7))?,
        row.get::<_, Vec<u8>>(c(8))?,
        row.get::<_, Vec<u8>>(c(9))?,
    );
    let times = [
        Some(row.get::<_, i64>(c(10))?),
        row.get(c(11))?,
        row.get(c(13))?,
        row.get(c(14))?,
        row.get(c(15))?,
        row.get(c(17))?,
    ];
    let rest = (
        row.get::<_, Option<String>>(c(12))?,
        row.get::<_, Option<String>>(c(16))?,
        row.get::<_, Option<String>>(c(18))?,
        row.get::<_, Option<String>>(c(19))?,
        row.get::<_, Option<Vec<u8>>>(c(20))?,
        row.get::<_, Option<i64>>(c(21))?,
        row.get::<_, i64>(c(22))?,
        row.get::<_, bool>(c(23))?,
        row.get::<_, Option<i64>>(c(24))?,
        row.get::<_, i64>(c(25))?,
    );
    Ok((|| {
        let (kind, status, purpose, category, channel, wrapped_key, sealed) = raw;
        let (
            verified_by,
            extension_reason,
            refusal_reason,
            outcome,
            code_hash,
            code_expires_at,
            code_attempts,
            locked,
            overdue_at,
            version,
        ) = rest;
        Ok(RequestRow {
            id: uuid(id)?,
            kind,
            status,
            subject: subject.map(uuid).transpose()?,
            purpose,
            category,
            record: record.map(uuid).transpose()?,
            channel,
            wrapped_key,
            sealed,
            times,
            verified_by,
            extension_reason,
            refusal_reason,
            outcome,
            code_hash,
            code_expires_at,
            code_attempts,
            locked,
            overdue_at,
            version,
        })
    })())
}
