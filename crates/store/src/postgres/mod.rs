//! The backend for many replicas: PostgreSQL. The chain of a tenant is extended under a row
//! lock on that tenant, so two replicas writing for one tenant queue; writes for different
//! tenants do not wait for each other.

use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry, Verification};
use crate::crypto::{DataKey, Keyring, MasterKey, identity_aad, record_aad};
use crate::model::*;
use crate::requests::*;
use crate::retention::*;
use crate::rows::{self, Columns, hash32, incident_document, micros, timestamp};
use crate::{Actor, Result, StoreError};
use jiff::Timestamp;
use ombud_core::Identity;
use ombud_core::requests::RequestStatus;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Row};
use statements::{Db, Sql, Tx};
use std::collections::BTreeSet;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_initial.sql"),
    include_str!("../../migrations/postgres/0002_policy_versions.sql"),
    include_str!("../../migrations/postgres/0003_idempotency_keys.sql"),
    include_str!("../../migrations/postgres/0004_requests.sql"),
    include_str!("../../migrations/postgres/0005_key_table.sql"),
    include_str!("../../migrations/postgres/0006_legal_holds.sql"),
    include_str!("../../migrations/postgres/0007_audit_checkpoints.sql"),
    include_str!("../../migrations/postgres/0008_incidents.sql"),
    include_str!("../../migrations/postgres/0009_audit_by_actor.sql"),
    include_str!("../../migrations/postgres/0010_notices.sql"),
    include_str!("../../migrations/postgres/0011_subprocessors.sql"),
    include_str!("../../migrations/postgres/0012_ledger_retention.sql"),
    include_str!("../../migrations/postgres/0013_objection_resolutions.sql"),
    include_str!("../../migrations/postgres/0014_idempotency_sealed.sql"),
    include_str!("../../migrations/postgres/0015_key_check.sql"),
    include_str!("../../migrations/postgres/0016_job_leases.sql"),
    include_str!("../../migrations/postgres/0017_outbox_subject.sql"),
    include_str!("../../migrations/postgres/0018_tenant_profile.sql"),
    include_str!("../../migrations/postgres/0019_request_assignee.sql"),
    include_str!("../../migrations/postgres/0020_facts_generation.sql"),
    include_str!("../../migrations/postgres/0021_receipts.sql"),
    include_str!("../../migrations/postgres/0022_console_users.sql"),
    include_str!("../../migrations/postgres/0023_console_totp.sql"),
];
/// The head of a tenant's chain; a chain pruned to nothing goes on from its checkpoint, never
/// from the genesis.
const HEAD: &str = "SELECT seq, hash FROM (SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1) h
     UNION ALL SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = $1
     ORDER BY seq DESC LIMIT 1";

/// Taken while migrating, so replicas that start together do not migrate twice.
const MIGRATION_LOCK: i64 = 0x6f6d_6275_645f_6d31;

type Param = Box<dyn postgres::types::ToSql + Sync>;

macro_rules! boxed {
    ($($value:expr),* $(,)?) => {
        [$(Box::new($value) as Param),*]
    };
}

/// Borrows boxed parameters the way `execute` takes them.
fn refs(values: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    values.iter().map(|v| v.as_ref() as _).collect()
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        // The server's code and message say what failed; its detail can quote values, so it
        // stays out.
        StoreError::Database(match error.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => error.to_string(),
        })
    }
}

pub struct PostgresStore {
    pool: r2d2::Pool<statements::Manager>,
    keyring: crate::crypto::CurrentKeyring,
    /// For the connection a running server keeps apart from the pool (see [`ServerLock`]).
    config: postgres::Config,
    bell: crate::outbox::Bell,
}

/// The advisory lock every running server holds shared, and a restore's erasure replay
/// exclusively: a replay must not run while replicas write into the database it replays.
/// Advisory locks are per database; the key names the schema too, as a store is a schema.
const SERVER_LOCK: &str = "hashtextextended('ombud serve ' || current_schema(), 0)";

/// A hold on the database as one of its running servers (shared) or alone (a restore's
/// replay); released when dropped, or by PostgreSQL when the process dies.
pub struct ServerLock {
    _client: postgres::Client,
}

impl std::fmt::Debug for ServerLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLock").finish_non_exhaustive()
    }
}

/// PostgreSQL has native `uuid` and `boolean`; integers are `bigint` but for a few `integer`
/// counters. A column of another type is a damaged row, reported, never a panic.
impl Columns for Row {
    fn id(&self, column: usize) -> Result<Uuid> {
        Ok(self.try_get(column)?)
    }
    fn opt_id(&self, column: usize) -> Result<Option<Uuid>> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: usize) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: usize) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: usize) -> Result<i64> {
        self.opt_int(column)?.ok_or_else(|| {
            StoreError::Corrupt(format!("column {column} is NULL where a number belongs"))
        })
    }
    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        // Read at the column's own width: asking for another fails, and a failed read per row
        // is work a large ledger would pay on every line.
        let narrow = self
            .columns()
            .get(column)
            .is_some_and(|c| *c.type_() == postgres::types::Type::INT4);
        Ok(if narrow {
            self.try_get::<_, Option<i32>>(column)?.map(i64::from)
        } else {
            self.try_get::<_, Option<i64>>(column)?
        })
    }
    fn flag(&self, column: usize) -> Result<bool> {
        Ok(self.try_get(column)?)
    }
    fn bytes(&self, column: usize) -> Result<Vec<u8>> {
        Ok(self.try_get(column)?)
    }
    fn opt_bytes(&self, column: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.try_get(column)?)
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// A ledger line with its mail, if any is left; `d` is `notice_deliveries`.
const DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notice_deliveries d JOIN notices n ON n.tenant_id = d.tenant_id AND n.notice_id = d.notice_id
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

/// Keys and mails rewrapped per transaction.
const REWRAP_BATCH: i64 = 1000;

/// Where each kind of sealed key or mail lives: table, its second key column (the first is
/// tenant_id), the sealed columns (the first never NULL), and whether it is mail (AAD: the
/// mail) or a key (AAD: tenant and id).
const SEALED: [(&str, &str, &[&str], bool); 4] = [
    ("subject_keys", "subject_id", &["wrapped_key"], false),
    ("requests", "request_id", &["wrapped_key"], false),
    ("outbox", "mail_id", &["sealed_to", "sealed_message"], true),
    // Sealed as a mail is, under the user's id.
    (
        "console_users",
        "user_id",
        &["email_sealed", "totp_sealed"],
        true,
    ),
];

impl PostgresStore {
    fn keyring(&self) -> std::sync::Arc<Keyring> {
        self.keyring.get()
    }

    /// Connections a process keeps at most, unless told otherwise.
    pub const DEFAULT_POOL: u32 = 16;

    /// Connects with a `postgres://` URL and brings the schema up to date.
    pub fn connect(url: &str, master: &MasterKey) -> Result<PostgresStore> {
        Self::connect_with(url, master, Self::DEFAULT_POOL)
    }

    /// As [`Self::connect`], keeping at most `pool` connections (at least 1): replicas on one
    /// server share its `max_connections`.
    pub fn connect_with(url: &str, master: &MasterKey, pool: u32) -> Result<PostgresStore> {
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::Database(format!("the database URL is not valid: {e}"))
        })?;
        let manager = statements::Manager(config.clone());
        let pool = r2d2::Pool::builder()
            .max_size(pool.max(1))
            // A checkout test costs a round trip on every call; a dead connection fails the
            // query instead, and r2d2 replaces it.
            .test_on_check_out(false)
            .build(manager)?;
        let store = PostgresStore {
            pool,
            keyring: crate::crypto::CurrentKeyring::new(master),
            config,
            bell: crate::outbox::Bell::default(),
        };
        store.migrate()?;
        store.check_key(master)?;
        Ok(store)
    }

    /// A connection of its own, outside the pool, named for `pg_stat_activity` so that a refused
    /// restore can say which process holds the database.
    fn lock_connection(&self, role: &str) -> Result<postgres::Client> {
        let mut config = self.config.clone();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        config.application_name(&format!(
            "ombud {role} (process {} on {})",
            std::process::id(),
            host.trim()
        ));
        Ok(config.connect(NoTls)?)
    }

    /// Holds the database as one of its running servers until the lock is dropped. Replicas
    /// share it; only [`Self::hold_alone`] is kept out.
    pub fn hold_as_server(&self) -> Result<ServerLock> {
        let mut client = self.lock_connection("serve")?;
        // Waits only while a replay holds it alone: a server starting then runs after it.
        client.execute(
            &format!("SELECT pg_advisory_lock_shared({SERVER_LOCK})"),
            &[],
        )?;
        Ok(ServerLock { _client: client })
    }

    /// Holds the database alone (no server runs on it) or says which servers do:
    /// `Err(StoreError::InUse)` with their names, addresses and start times.
    pub fn hold_alone(&self) -> Result<ServerLock> {
        let mut client = self.lock_connection("restore")?;
        let alone: bool = client
            .query_one(&format!("SELECT pg_try_advisory_lock({SERVER_LOCK})"), &[])?
            .get(0);
        if alone {
            return Ok(ServerLock { _client: client });
        }
        let holders = client.query(
            &format!("SELECT a.application_name, COALESCE(host(a.client_addr), 'a local socket'), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND ((l.classid::bigint << 32) | l.objid::bigint) = {SERVER_LOCK}
             ORDER BY a.backend_start"),
            &[],
        )?;
        let names: Vec<String> = holders
            .iter()
            .map(|row| {
                let (name, from, since): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                format!("{name} from {from} since {since}")
            })
            .collect();
        Err(StoreError::InUse(if names.is_empty() {
            "another ombud process".into()
        } else {
            names.join("; ")
        }))
    }

    /// Refuses a master key that is not the store's: by its check value, or, for a store that
    /// has none yet, by whether it opens a subject key already kept; then keeps the value.
    /// Replicas starting together race to write it; the first wins and the others compare.
    fn check_key(&self, master: &MasterKey) -> Result<()> {
        let check = master.check_value().to_vec();
        self.write(|tx| {
            let kept: Option<Vec<u8>> = tx
                .query_opt("SELECT check_value FROM key_check WHERE id = 1", &[])?
                .map(|row| row.get(0));
            match kept {
                Some(kept) if kept == check => Ok(()),
                Some(_) => Err(StoreError::KeyMismatch),
                None => {
                    let sample = tx.query_opt("SELECT k.tenant_id, k.subject_id, k.wrapped_key FROM subjects s JOIN subject_keys k ON k.tenant_id = s.tenant_id AND k.subject_id = s.subject_id LIMIT 1", &[])?;
                    if let Some(row) = sample {
                        let (tenant, subject, wrapped): (uuid::Uuid, uuid::Uuid, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
                        if self.keyring().unwrap(&wrapped, tenant, subject).is_err() {
                            return Err(StoreError::KeyMismatch);
                        }
                    }
                    tx.execute("INSERT INTO key_check (id, check_value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING", &[&check])?;
                    let kept: Vec<u8> = tx.query_one("SELECT check_value FROM key_check WHERE id = 1", &[])?.get(0);
                    if kept == check { Ok(()) } else { Err(StoreError::KeyMismatch) }
                }
            }
        })
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS ombud_schema_version (version integer NOT NULL)",
        )?;
        let version: i32 = tx
            .query_opt("SELECT version FROM ombud_schema_version", &[])?
            .map_or(0, |row| row.get(0));
        for (index, migration) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.batch_execute(migration)?;
            let next = i32::try_from(index + 1).unwrap_or(i32::MAX);
            tx.execute("DELETE FROM ombud_schema_version", &[])?;
            tx.execute(
                "INSERT INTO ombud_schema_version (version) VALUES ($1)",
                &[&next],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write<T>(&self, work: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        let done = work(&mut tx).and_then(|value| {
            tx.commit()?;
            Ok(value)
        });
        self.bell.after(done.is_ok());
        done
    }

    fn read<T>(&self, work: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        work(&mut conn.db())
    }

    /// Locks the tenant's row for the rest of the transaction: the chain head cannot move
    /// under us. Fails with `NotFound` for an unknown tenant.
    fn lock_tenant(tx: &mut Tx, tenant: TenantId) -> Result<()> {
        tx.query_typed_opt(
            "SELECT 1 FROM tenants WHERE tenant_id = $1 FOR NO KEY UPDATE",
            &[(&tenant.0, Type::UUID)],
        )?
        .map(|_| ())
        .ok_or(StoreError::NotFound("tenant"))
    }

    fn data_key(
        &self, client: &mut impl Sql, tenant: TenantId, subject: SubjectId,
    ) -> Result<DataKey> {
        let row = client
            .query_typed_opt(
                "SELECT wrapped_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2",
                &[(&tenant.0, Type::UUID), (&subject.0, Type::UUID)],
            )?
            .ok_or(StoreError::NotFound("subject"))?;
        let wrapped: Vec<u8> = row.get(0);
        Ok(self.keyring().unwrap(&wrapped, tenant.0, subject.0)?)
    }

    /// Appends to the chain; the caller holds the tenant lock.
    /// Appends the audit entry of a write, in the write's transaction.
    fn append(tx: &mut Tx, tenant: TenantId, at: Timestamp, entry: NewAuditEntry) -> Result<()> {
        Self::append_entry(tx, tenant, at, entry).map(drop)
    }

    /// Appends `entry` only when the write changed something, and says whether it did.
    fn append_if(
        tx: &mut Tx, changed: bool, tenant: TenantId, at: Timestamp, entry: NewAuditEntry,
    ) -> Result<bool> {
        if changed {
            Self::append(tx, tenant, at, entry)?;
        }
        Ok(changed)
    }

    /// Appends an entry and returns it as chained.
    fn append_entry(
        tx: &mut Tx, tenant: TenantId, at: Timestamp, entry: NewAuditEntry,
    ) -> Result<AuditEntry> {
        let (seq, hash) = Self::head(tx, tenant)?;
        let entry = crate::audit::next_entry(seq, hash, at, entry);
        let mut columns = AuditColumns::default();
        columns.push(tenant, entry.clone());
        columns.insert(tx)?;
        Ok(entry)
    }

    /// The sequence number and hash the tenant's next entry chains on from.
    fn head(tx: &mut Tx, tenant: TenantId) -> Result<(i64, [u8; 32])> {
        Ok(
            match tx.query_typed_opt(HEAD, &[(&tenant.0, Type::UUID)])? {
                Some(row) => (row.get::<_, i64>(0), hash32(row.get(1))?),
                None => (0, crate::audit::GENESIS),
            },
        )
    }

    fn checkpoint(
        client: &mut impl Sql, tenant: TenantId,
    ) -> Result<Option<crate::audit::Checkpoint>> {
        client
            .query_opt(
                "SELECT seq, hash, at, pruned_at FROM audit_checkpoints WHERE tenant_id = $1",
                &[&tenant.0],
            )?
            .map(|row| {
                Ok(crate::audit::Checkpoint {
                    seq: row.get(0),
                    hash: hash32(row.get(1))?,
                    at: timestamp(row.get(2))?,
                    pruned_at: timestamp(row.get(3))?,
                })
            })
            .transpose()
    }

    /// Appends several entries in one insert; the caller holds the tenant lock.
    fn append_many(
        tx: &mut Tx, tenant: TenantId, at: Timestamp, entries: Vec<NewAuditEntry>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (mut seq, mut hash) = Self::head(tx, tenant)?;
        let mut columns = AuditColumns::default();
        for entry in entries {
            let entry = crate::audit::next_entry(seq, hash, at, entry);
            seq = entry.seq;
            hash = entry.hash;
            columns.push(tenant, entry);
        }
        columns.insert(tx)
    }

    /// Queues mails, and the step's audit entry, inside the transaction that decided them.
    fn enqueue(
        &self, tx: &mut Tx, tenant: TenantId, mails: &[NewMail], entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<()> {
        if !mails.is_empty() {
            crate::outbox::queued();
        }
        for mail in mails {
            let id = MailId::new();
            let (to, message) = seal_mail(&self.keyring(), id, mail)?;
            tx.execute(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                &[&tenant.0, &id.0, &mail.request.map(|r| r.0), &mail.template, &to, &message, &micros(at)],
            )?;
        }
        Self::append(tx, tenant, at, entry)
    }

    fn insert_identity(
        &self, tx: &mut Tx, tenant: TenantId, subject: SubjectId, key: &DataKey,
        identity: &Identity,
    ) -> Result<()> {
        let index = self.keyring().blind_index(tenant.0, identity);
        let sealed = key.seal(identity.expose().as_bytes(), &identity_aad(&index))?;
        let inserted = tx.execute(
            "INSERT INTO identities (tenant_id, blind_index, subject_id, kind, sealed_value) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, blind_index) DO NOTHING",
            &[&tenant.0, &index.as_slice(), &subject.0, &identity.kind().as_str(), &sealed],
        )?;
        if inserted == 0 {
            return Err(StoreError::IdentityTaken(identity.kind()));
        }
        Ok(())
    }
}

/// A batch of records, column by column, for one `unnest` insert.
#[derive(Default)]
struct RecordColumns {
    subjects: Vec<Uuid>,
    ids: Vec<Uuid>,
    categories: Vec<String>,
    purposes: Vec<String>,
    sources: Vec<String>,
    collected: Vec<i64>,
    sealed: Vec<Vec<u8>>,
}

/// A run of audit entries, column by column, for one `unnest` insert.
#[derive(Default)]
struct AuditColumns {
    tenants: Vec<Uuid>,
    seqs: Vec<i64>,
    ats: Vec<i64>,
    actors: Vec<String>,
    actions: Vec<String>,
    subjects: Vec<Option<Uuid>>,
    categories: Vec<String>,
    purposes: Vec<Option<String>>,
    details: Vec<Option<String>>,
    prevs: Vec<Vec<u8>>,
    hashes: Vec<Vec<u8>>,
}

impl AuditColumns {
    fn push(&mut self, tenant: TenantId, entry: AuditEntry) {
        self.tenants.push(tenant.0);
        self.seqs.push(entry.seq);
        self.ats.push(micros(entry.at));
        self.categories
            .push(serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".into()));
        self.actors.push(entry.actor);
        self.actions.push(entry.action);
        self.subjects.push(entry.subject.map(|s| s.0));
        self.purposes.push(entry.purpose);
        self.details.push(entry.detail);
        self.prevs.push(entry.prev_hash.to_vec());
        self.hashes.push(entry.hash.to_vec());
    }

    /// One statement for every entry pushed: a round trip per entry is what it saves. Typed:
    /// the server cannot infer the arrays' element types from `unnest`.
    fn insert(&self, tx: &mut Tx) -> Result<()> {
        tx.query_typed(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
             SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::uuid[],
                                  $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bytea[])",
            &[
                (&self.tenants, Type::UUID_ARRAY),
                (&self.seqs, Type::INT8_ARRAY),
                (&self.ats, Type::INT8_ARRAY),
                (&self.actors, Type::TEXT_ARRAY),
                (&self.actions, Type::TEXT_ARRAY),
                (&self.subjects, Type::UUID_ARRAY),
                (&self.categories, Type::TEXT_ARRAY),
                (&self.purposes, Type::TEXT_ARRAY),
                (&self.details, Type::TEXT_ARRAY),
                (&self.prevs, Type::BYTEA_ARRAY),
                (&self.hashes, Type::BYTEA_ARRAY),
            ],
        )?;
        Ok(())
    }
}

/// The columns a request's INSERT and UPDATE share, in their parameter order ($1 to $22).
fn request_values(tenant: TenantId, request: &DsRequest, sealed: Vec<u8>) -> Vec<Param> {
    boxed![
        tenant.0,
        request.id.0,
        request.status.as_str(),
        request.subject.map(|s| s.0),
        request.purpose.clone(),
        request.category.clone(),
        request.record.map(|r| r.0),
        sealed,
        crate::requests::micros(request.verified_at),
        request.verified_by.clone(),
        crate::requests::micros(request.first_due_at),
        crate::requests::micros(request.due_at),
        crate::requests::micros(request.extended_at),
        request.extension_reason.clone(),
        crate::requests::micros(request.closed_at),
        request.refusal_reason.clone(),
        request.outcome.clone(),
        request.code_hash.map(|h| h.to_vec()),
        crate::requests::micros(request.code_expires_at),
        i32::try_from(request.code_attempts).unwrap_or(i32::MAX),
        request.locked,
        crate::requests::micros(request.overdue_at),
    ]
    .into()
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
mod statements;
mod subjects;
mod subprocessors;
mod tenants;
mod users;
