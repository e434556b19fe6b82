//! The embedded backend: one SQLite file in WAL mode. Writes take the write lock at `BEGIN`
//! (`IMMEDIATE`), so writers queue instead of failing half-way and the audit chain of a tenant
//! is always extended from its true head.

use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry, Verification};
use crate::crypto::{self, DataKey, Keyring, MasterKey, identity_aad, record_aad};
use crate::model::*;
use crate::requests::*;
use crate::retention::*;
use crate::rows::{self, Columns, hash32, incident_document, micros, timestamp, uuid};
use crate::{Actor, Result, StoreError};
use jiff::Timestamp;
use ombud_core::Identity;
use ombud_core::requests::RequestStatus;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::BTreeSet;
use std::path::Path;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_policy_versions.sql"),
    include_str!("../../migrations/sqlite/0003_idempotency_keys.sql"),
    include_str!("../../migrations/sqlite/0004_requests.sql"),
    include_str!("../../migrations/sqlite/0005_key_file.sql"),
    include_str!("../../migrations/sqlite/0006_legal_holds.sql"),
    include_str!("../../migrations/sqlite/0007_audit_checkpoints.sql"),
    include_str!("../../migrations/sqlite/0008_incidents.sql"),
    include_str!("../../migrations/sqlite/0009_audit_by_actor.sql"),
    include_str!("../../migrations/sqlite/0010_notices.sql"),
    include_str!("../../migrations/sqlite/0011_subprocessors.sql"),
    include_str!("../../migrations/sqlite/0012_ledger_retention.sql"),
    include_str!("../../migrations/sqlite/0013_objection_resolutions.sql"),
    include_str!("../../migrations/sqlite/0014_idempotency_sealed.sql"),
    include_str!("../../migrations/sqlite/0015_key_check.sql"),
    include_str!("../../migrations/sqlite/0016_job_leases.sql"),
    include_str!("../../migrations/sqlite/0017_outbox_subject.sql"),
    include_str!("../../migrations/sqlite/0018_tenant_profile.sql"),
    include_str!("../../migrations/sqlite/0019_request_assignee.sql"),
    include_str!("../../migrations/sqlite/0020_facts_generation.sql"),
    include_str!("../../migrations/sqlite/0021_receipts.sql"),
    include_str!("../../migrations/sqlite/0022_console_users.sql"),
    include_str!("../../migrations/sqlite/0023_console_totp.sql"),
];
/// The first migration that needs the key file: a data file at or past it without its key file
/// is refused instead of being given an empty one.
const KEY_FILE_SINCE: i64 = 5;

/// How long a statement waits for another connection's lock before it gives up.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// The pool's busy handler: tries again every 100 µs at first, then every 250 µs, then every
/// millisecond, until about [`BUSY_TIMEOUT_MS`] have passed. SQLite's own handler sleeps 1, 2,
/// 5, 10, 15, 20, 25 ms and more between tries, so a writer that found the write lock taken
/// for 3 ms (a commit, a checkpoint after an erasure) slept 8, and its caller with it.
fn wait_for_lock(tries: i32) -> bool {
    match lock_wait(tries) {
        Some(pause) => {
            std::thread::sleep(pause);
            true
        }
        None => false,
    }
}

/// The pause before try `tries + 1`, or `None` once the pauses before it sum to the timeout.
fn lock_wait(tries: i32) -> Option<std::time::Duration> {
    let (pause_us, waited_us) = match tries {
        0..20 => (100, i64::from(tries) * 100),
        20..60 => (250, 2_000 + i64::from(tries - 20) * 250),
        _ => (1_000, 12_000 + i64::from(tries - 60) * 1_000),
    };
    (waited_us < i64::from(BUSY_TIMEOUT_MS) * 1_000)
        .then(|| std::time::Duration::from_micros(pause_us))
}
/// The write-ahead log's bound: past it, `maintain` truncates the log, and a log that starts
/// over on its own is cut back to this size.
const WAL_LIMIT_BYTES: i64 = 64 * 1024 * 1024;
/// How long the bounding checkpoint holds writers while it waits for readers to finish.
const LOG_TRUNCATE_WAIT_MS: u32 = 2_000;
/// Pages a write-ahead log holds before the commit that passes it folds it back (SQLite's
/// default is 1,000). The fold runs inside that commit, and every read's audit entry waits for
/// the commit: at 1,000 pages the fold took ~10 ms every half second under load and set the
/// reads' 99th percentile (11-12 ms); at 250 it takes a few ms, four times as often, and the
/// 99th percentile halves for about 6 % of the throughput (bench/read-load.sh).
const AUTOCHECKPOINT_PAGES: u32 = 250;
/// Prepared statements kept per pooled connection: every statement of the store fits.
const STATEMENT_CACHE: usize = 256;
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
    keyring: crate::crypto::CurrentKeyring,
    /// A scrub whose checkpoint met a reader it could not outwait: deleted values may still sit
    /// in old frames of the write-ahead log until the next `maintain` truncates it.
    scrub_owed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Runs the scrubs erasures and rectifications ask for, a few at a time.
    scrubber: scrub::Scrubber,
    bell: crate::outbox::Bell,
    /// Reads the facts generation and nothing else: a connection of its own, so asking never
    /// waits for the pool.
    generations: std::sync::Mutex<rusqlite::Connection>,
}

/// SQLite keeps ids as 16-byte blobs and flags as integers.
impl Columns for rusqlite::Row<'_> {
    fn id(&self, column: usize) -> Result<Uuid> {
        uuid(self.get::<_, Vec<u8>>(column)?)
    }
    fn opt_id(&self, column: usize) -> Result<Option<Uuid>> {
        self.get::<_, Option<Vec<u8>>>(column)?
            .map(uuid)
            .transpose()
    }
    fn text(&self, column: usize) -> Result<String> {
        Ok(self.get(column)?)
    }
    fn opt_text(&self, column: usize) -> Result<Option<String>> {
        Ok(self.get(column)?)
    }
    fn int(&self, column: usize) -> Result<i64> {
        Ok(self.get(column)?)
    }
    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        Ok(self.get(column)?)
    }
    fn flag(&self, column: usize) -> Result<bool> {
        Ok(self.get(column)?)
    }
    fn bytes(&self, column: usize) -> Result<Vec<u8>> {
        Ok(self.get(column)?)
    }
    fn opt_bytes(&self, column: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get(column)?)
    }
}

/// Every row of a cached query, each read by one of the shared readers in [`rows`].
fn all<T>(
    conn: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// The first row of a cached query, if any, read by one of the shared readers in [`rows`].
fn first<T>(
    conn: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row) -> Result<T>,
) -> Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    rows.next()?.map(read).transpose()
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// Keys and mails rewrapped per transaction.
const REWRAP_BATCH: usize = 1000;

/// Where each kind of sealed key or mail lives: table, key columns, sealed columns (the
/// first is never NULL), and whether the AAD is (tenant, id) or the id alone (mail).
const SEALED: [(&str, &str, &[&str], bool); 4] = [
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
    // Sealed as a mail is, under the user's id.
    (
        "main.console_users",
        "tenant_id, user_id",
        &["email_sealed", "totp_sealed"],
        true,
    ),
];

impl SqliteStore {
    /// Connections the embedded store keeps: one writes at a time, the others read.
    pub const POOL: u32 = 8;

    fn keyring(&self) -> std::sync::Arc<Keyring> {
        self.keyring.get()
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
        // The write-ahead log is a property of the files: switched on once, here, on one
        // connection. Switched by the pool's connections in parallel, two of them could each
        // hold a read lock and want the write lock, which SQLite refuses at once rather than
        // wait (a deadlock), and setup failed with "database is locked".
        {
            let c = rusqlite::Connection::open(path)?;
            c.execute_batch(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
            ))?;
            c.execute("ATTACH DATABASE ?1 AS keys", [keys.to_string_lossy()])?;
            // Every key leads with tenant_id, which without statistics looks selective: the
            // planner would then scan a tenant's identities to delete one subject's. Statistics
            // are refreshed here (cheaply, as SQLite advises at open, and on a sample) and by
            // `maintain`; they live in the file, so every connection reads them.
            c.execute_batch(
                "PRAGMA keys.journal_mode = WAL; PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;",
            )?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(move |c| {
            // The busy handler comes first: a connection opened while another holds a lock (a
            // checkpoint truncating the log) must wait for it, not fail its setup.
            c.busy_handler(Some(wait_for_lock))?;
            c.execute_batch(&format!(
                "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}; PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES};",
            ))?;
            // rusqlite keeps 16 prepared statements per connection by default; the store has
            // over a hundred, and a mixed load (an erasure alone runs ten) prepared most of
            // its statements again on every call.
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            c.execute("ATTACH DATABASE ?1 AS keys", [keys.to_string_lossy()])?;
            c.execute_batch(&format!("PRAGMA keys.synchronous = NORMAL; PRAGMA keys.secure_delete = ON; PRAGMA keys.journal_size_limit = {WAL_LIMIT_BYTES};"))
        });
        let pool = r2d2::Pool::builder()
            .max_size(Self::POOL)
            // A checkout test costs a round trip on every call; a dead connection fails the
            // query instead, and r2d2 replaces it.
            .test_on_check_out(false)
            // A connection to a local file never goes stale; recycling it would only run its
            // setup (statistics, attach) again in the middle of the load.
            .max_lifetime(None)
            .idle_timeout(None)
            .build(manager)?;
        let scrub_owed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let scrubber = scrub::Scrubber::start(pool.clone(), scrub_owed.clone());
        let store = SqliteStore {
            pool,
            keyring: crate::crypto::CurrentKeyring::new(master),
            scrub_owed,
            scrubber,
            bell: crate::outbox::Bell::default(),
            generations: std::sync::Mutex::new({
                let c = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.execute_batch(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
                c
            }),
        };
        store.migrate()?;
        store.check_key(master)?;
        store.drop_orphan_keys(Timestamp::now() - ORPHAN_KEY_GRACE)?;
        Ok(store)
    }

    /// Refuses a master key that is not the store's: by its check value, or, for a store that
    /// has none yet, by whether it opens a subject key already kept; then keeps the value.
    fn check_key(&self, master: &MasterKey) -> Result<()> {
        let check = master.check_value();
        self.write(|tx| {
            let kept: Option<Vec<u8>> = tx
                .query_row("SELECT check_value FROM key_check WHERE id = 1", [], |row| row.get(0))
                .optional()?;
            match kept {
                Some(kept) if kept == check => Ok(()),
                Some(_) => Err(StoreError::KeyMismatch),
                None => {
                    let sample: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = tx
                        .query_row(
                            "SELECT k.tenant_id, k.subject_id, k.wrapped_key FROM main.subjects s
                             JOIN keys.subject_keys k ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id
                                AND k.generation = s.key_generation LIMIT 1",
                            [],
                            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                        )
                        .optional()?;
                    if let Some((tenant, subject, wrapped)) = sample
                        && self.keyring().unwrap(&wrapped, uuid(tenant)?, uuid(subject)?).is_err()
                    {
                        return Err(StoreError::KeyMismatch);
                    }
                    tx.execute("INSERT INTO key_check (id, check_value) VALUES (1, ?1)", params![check.to_vec()])?;
                    Ok(())
                }
            }
        })
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
        &self, tenant: TenantId, subject: SubjectId, generation: i64, key: &DataKey, at: Timestamp,
    ) -> Result<()> {
        let wrapped = self.keyring().wrap(key, tenant.0, subject.0)?;
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO keys.subject_keys (tenant_id, subject_id, generation, wrapped_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), generation, wrapped, micros(at)])?;
            Ok(())
        })
    }

    /// First keys of new subjects, in one transaction of the key file.
    fn put_new_keys<'k>(
        &self, tenant: TenantId, keys: impl Iterator<Item = &'k (SubjectId, DataKey)>,
        at: Timestamp,
    ) -> Result<()> {
        let wrapped: Vec<(SubjectId, Vec<u8>)> = keys
            .map(|(subject, key)| Ok((*subject, self.keyring().wrap(key, tenant.0, subject.0)?)))
            .collect::<Result<_>>()?;
        if wrapped.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut insert = tx.prepare_cached("INSERT INTO keys.subject_keys (tenant_id, subject_id, generation, wrapped_key, created_at) VALUES (?1, ?2, 1, ?3, ?4)")?;
            for (subject, wrapped) in &wrapped {
                insert.execute(params![tenant.0.as_bytes(), subject.0.as_bytes(), wrapped, micros(at)])?;
            }
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
        let done = work(&tx).and_then(|value| {
            tx.commit()?;
            Ok(value)
        });
        self.bell.after(done.is_ok());
        done
    }

    fn read<T>(&self, work: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        work(&conn)
    }

    fn data_key(
        &self, conn: &rusqlite::Connection, tenant: TenantId, subject: SubjectId,
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

    /// Appends the audit entry of a write, in the write's transaction.
    fn append(
        tx: &Transaction, tenant: TenantId, at: Timestamp, entry: NewAuditEntry,
    ) -> Result<()> {
        Self::append_entry(tx, tenant, at, entry).map(drop)
    }

    /// Appends `entry` only when the write changed something, and says whether it did.
    fn append_if(
        tx: &Transaction, changed: bool, tenant: TenantId, at: Timestamp, entry: NewAuditEntry,
    ) -> Result<bool> {
        if changed {
            Self::append(tx, tenant, at, entry)?;
        }
        Ok(changed)
    }

    /// Appends an entry and returns it as chained.
    fn append_entry(
        tx: &Transaction, tenant: TenantId, at: Timestamp, entry: NewAuditEntry,
    ) -> Result<AuditEntry> {
        let (seq, hash) = Self::head(tx, tenant)?;
        let entry = crate::audit::next_entry(seq, hash, at, entry);
        Self::insert_entry(tx, tenant, &entry)?;
        Ok(entry)
    }

    /// The sequence number and hash the tenant's next entry chains on from.
    fn head(tx: &Transaction, tenant: TenantId) -> Result<(i64, [u8; 32])> {
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
        Ok(match head {
            Some((seq, hash)) => (seq, hash32(hash)?),
            None => (0, crate::audit::GENESIS),
        })
    }

    /// Writes one chained entry; the caller computed it from the head.
    fn insert_entry(tx: &Transaction, tenant: TenantId, entry: &AuditEntry) -> Result<()> {
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
        Ok(())
    }

    fn checkpoint(
        conn: &rusqlite::Connection, tenant: TenantId,
    ) -> Result<Option<crate::audit::Checkpoint>> {
        let row: Option<(i64, Vec<u8>, i64, i64)> = conn
            .prepare_cached(
                "SELECT seq, hash, at, pruned_at FROM audit_checkpoints WHERE tenant_id = ?1",
            )?
            .query_row(params![tenant.0.as_bytes()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        row.map(|(seq, hash, at, pruned_at)| {
            Ok(crate::audit::Checkpoint {
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
        tx: &Transaction, tenant: TenantId, at: Timestamp, entries: Vec<NewAuditEntry>,
    ) -> Result<()> {
        let Some(first) = entries.first().cloned() else {
            return Ok(());
        };
        let mut previous = Self::append_entry(tx, tenant, at, first)?;
        for entry in entries.into_iter().skip(1) {
            let entry = crate::audit::next_entry(previous.seq, previous.hash, at, entry);
            Self::insert_entry(tx, tenant, &entry)?;
            previous = entry;
        }
        Ok(())
    }

    /// Queues mails, and the step's audit entry, inside the transaction that decided them.
    fn enqueue(
        &self, tx: &Transaction, tenant: TenantId, mails: &[NewMail], entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<()> {
        if !mails.is_empty() {
            crate::outbox::queued();
        }
        for mail in mails {
            let id = MailId::new();
            let (to, message) = seal_mail(&self.keyring(), id, mail)?;
            tx.prepare_cached(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), mail.request.map(|r| r.0.as_bytes().to_vec()), mail.template, to, message, micros(at)])?;
        }
        Self::append(tx, tenant, at, entry)
    }

    /// Makes deleted values unrecoverable from the file: `secure_delete` zeroes freed cells,
    /// and a truncating checkpoint moves the rewritten pages into the database file and empties
    /// the write-ahead log, where the old pages (with the values) would otherwise stay until
    /// overwritten. If a reader outlasts the wait, the next `maintain` truncates it. Waits for
    /// any scrub already asked of the scrubber, so everything deleted before the call is gone.
    fn scrub(&self) -> Result<()> {
        self.scrubber.wait();
        let conn = self.pool.get()?;
        let done = Self::truncate_log(&conn, BUSY_TIMEOUT_MS)?;
        self.scrub_owed
            .store(!done, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Asks the scrubber for a scrub within [`scrub::SCRUB_WINDOW`] and returns at once, so an
    /// erasure does not wait for the checkpoint's fsyncs; erasures close together share one.
    fn scrub_soon(&self) -> Result<()> {
        if self.scrubber.ask() {
            Ok(())
        } else {
            self.scrub()
        }
    }

    /// Keeps the write-ahead log bounded. SQLite starts the log over only when no reader is
    /// using it, which under constant overlapping reads never happens by itself: the log then
    /// grows without end (gigabytes in half an hour of load). Once it passes the limit, a
    /// truncating checkpoint waits (briefly, writers held meanwhile) for the readers of the
    /// moment to finish — new readers read the database file — and empties it.
    fn bound_log(&self) -> Result<()> {
        let conn = self.pool.get()?;
        let owed = self.scrub_owed.load(std::sync::atomic::Ordering::Relaxed);
        let page: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        let mut over = false;
        for schema in ["main", "keys"] {
            // A passive checkpoint waits for nobody and reports the log's length in frames.
            let (_, frames, _): (i64, i64, i64) = conn.query_row(
                &format!("PRAGMA {schema}.wal_checkpoint(PASSIVE)"),
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?;
            over |= frames.saturating_mul(page) > WAL_LIMIT_BYTES;
        }
        // Not done (a reader outlasted the wait): the next round tries again.
        if (over || owed) && Self::truncate_log(&conn, LOG_TRUNCATE_WAIT_MS)? {
            self.scrub_owed
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// A truncating checkpoint of both databases that waits at most `wait_ms` for readers;
    /// whether it completed (false: a reader outlasted the wait, or a writer held the lock).
    fn truncate_log(conn: &rusqlite::Connection, wait_ms: u32) -> Result<bool> {
        conn.execute_batch(&format!("PRAGMA busy_timeout = {wait_ms}"))?;
        let outcome = ["main", "keys"].iter().try_fold(true, |done, schema| {
            conn.query_row(
                &format!("PRAGMA {schema}.wal_checkpoint(TRUNCATE)"),
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|busy| done && busy == 0)
        });
        conn.busy_handler(Some(wait_for_lock))?;
        Ok(outcome?)
    }

    fn insert_identity(
        &self, tx: &Transaction, tenant: TenantId, subject: SubjectId, key: &DataKey,
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

/// A ledger line with its mail, if any is left; `d` is `notice_deliveries`.
const DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notice_deliveries d JOIN notices n ON n.tenant_id = d.tenant_id AND n.notice_id = d.notice_id
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

/// One person's ledger lines, notice by notice through the primary key (`?2` is the person).
const SUBJECT_DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notices n CROSS JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = ?2
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

/// The columns a request's INSERT and UPDATE share, in their parameter order (?1 to ?22).
fn request_values(
    tenant: TenantId, request: &DsRequest, sealed: Vec<u8>,
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

// The SQL of each capability, after the macros and helpers above that they use.
mod audit;
mod incidents;
mod maintenance;
mod notices;
mod outbox;
mod receipts;
mod requests;
mod retention;
mod scrub;
mod subjects;
mod subprocessors;
mod tenants;
mod users;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_retries_within_a_fraction_of_a_millisecond_and_gives_up_after_the_timeout() {
        let start = std::time::Instant::now();
        assert!(wait_for_lock(0), "the first try waits");
        assert!(
            start.elapsed() < std::time::Duration::from_millis(50),
            "a first pause of 100 µs, not SQLite's 1 ms and up"
        );
        let pauses: Vec<std::time::Duration> = (0..).map_while(lock_wait).collect();
        assert_eq!(pauses[0], std::time::Duration::from_micros(100));
        assert!(
            pauses
                .iter()
                .all(|p| *p <= std::time::Duration::from_millis(1))
        );
        let waited: std::time::Duration = pauses.iter().sum();
        let timeout = std::time::Duration::from_millis(BUSY_TIMEOUT_MS.into());
        assert!(
            (timeout..timeout + std::time::Duration::from_millis(1)).contains(&waited),
            "waits the busy timeout, no less: {waited:?}"
        );
        let tries = i32::try_from(pauses.len()).expect("fits");
        assert!(
            !wait_for_lock(tries),
            "gives up once the timeout has passed"
        );
    }
}
