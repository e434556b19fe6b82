//! The backend for many replicas: PostgreSQL. The chain of a tenant is extended under a row
//! lock on that tenant, so two replicas writing for one tenant queue; writes for different
//! tenants do not wait for each other.

use crate::audit::{self, AuditEntry, AuditFilter, NewAuditEntry, Verification};
use crate::crypto::{DataKey, Keyring, MasterKey, identity_aad, record_aad};
use crate::model::*;
use crate::requests::*;
use crate::retention::*;
use crate::{Actor, Result, Store, StoreError};
use jiff::Timestamp;
use ombud_core::requests::RequestStatus;
use ombud_core::{EventKind, Identity, IdentityKind};
use postgres::types::ToSql;
use postgres::{NoTls, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use std::collections::BTreeSet;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_initial.sql"),
    include_str!("../migrations/postgres/0002_policy_versions.sql"),
    include_str!("../migrations/postgres/0003_idempotency_keys.sql"),
    include_str!("../migrations/postgres/0004_requests.sql"),
    include_str!("../migrations/postgres/0005_key_table.sql"),
    include_str!("../migrations/postgres/0006_legal_holds.sql"),
    include_str!("../migrations/postgres/0007_audit_checkpoints.sql"),
    include_str!("../migrations/postgres/0008_incidents.sql"),
    include_str!("../migrations/postgres/0009_audit_by_actor.sql"),
    include_str!("../migrations/postgres/0010_notices.sql"),
    include_str!("../migrations/postgres/0011_subprocessors.sql"),
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

fn incident_document(document: &str) -> Result<crate::incidents::Incident> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("an incident: {e}")))
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
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
    /// Swapped whole when the key file changes (a rotation), never edited in place.
    keyring: std::sync::RwLock<std::sync::Arc<Keyring>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

/// An event from `event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version`,
/// starting at column `at`.
fn stored_event(subject: SubjectId, row: &postgres::Row, at: usize) -> Result<StoredEvent> {
    let kind: String = row.get(at + 1);
    Ok(StoredEvent {
        id: EventId(row.get(at)),
        subject,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
        purpose: row.get(at + 2),
        occurred_at: timestamp(row.get(at + 3))?,
        recorded_at: timestamp(row.get(at + 4))?,
        channel: row.get(at + 5),
        policy_version: row.get(at + 6),
    })
}

/// A ledger line with its mail, if any is left; `d` is `notice_deliveries`.
const DELIVERY_SELECT: &str = "SELECT d.notice_id, d.subject_id, d.mail_id, d.skipped, n.created_at, o.sealed_to, o.sent_at, o.attempts, o.last_error
     FROM notice_deliveries d JOIN notices n ON n.tenant_id = d.tenant_id AND n.notice_id = d.notice_id
     LEFT JOIN outbox o ON o.tenant_id = d.tenant_id AND o.mail_id = d.mail_id";

fn delivery_row(row: &postgres::Row) -> crate::notices::DeliveryRow {
    let sealed_to: Option<Vec<u8>> = row.get(5);
    crate::notices::DeliveryRow {
        notice: row.get(0),
        subject: row.get(1),
        mail: row.get(2),
        skipped: row.get(3),
        created_at: row.get(4),
        outbox: sealed_to.map(|to| {
            (
                to,
                row.get::<_, Option<i64>>(6),
                u32::try_from(row.get::<_, i32>(7)).unwrap_or(0),
                row.get::<_, Option<String>>(8),
            )
        }),
    }
}

fn notice_row(row: &postgres::Row) -> crate::notices::NoticeRow {
    (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
        row.get(7),
        row.get(8),
        row.get(9),
        row.get(10),
    )
}

fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a hash is not 32 bytes".into()))
}

/// Keys and mails rewrapped per transaction.
const REWRAP_BATCH: i64 = 1000;

/// Where each kind of sealed key or mail lives: table, its second key column (the first is
/// tenant_id), the sealed columns (the first never NULL), and whether it is mail (AAD: the
/// mail) or a key (AAD: tenant and id).
const SEALED: [(&str, &str, &[&str], bool); 3] = [
    ("subject_keys", "subject_id", &["wrapped_key"], false),
    ("requests", "request_id", &["wrapped_key"], false),
    ("outbox", "mail_id", &["sealed_to", "sealed_message"], true),
];

impl PostgresStore {
    fn keyring(&self) -> std::sync::Arc<Keyring> {
        std::sync::Arc::clone(&self.keyring.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Connects with a `postgres://` URL and brings the schema up to date.
    pub fn connect(url: &str, master: &MasterKey) -> Result<PostgresStore> {
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::Database(format!("the database URL is not valid: {e}"))
        })?;
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(16)
            // A checkout test costs a round trip on every call; a dead connection fails the
            // query instead, and r2d2 replaces it.
            .test_on_check_out(false)
            .build(manager)?;
        let store = PostgresStore {
            pool,
            keyring: std::sync::RwLock::new(std::sync::Arc::new(Keyring::new(master))),
        };
        store.migrate()?;
        Ok(store)
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

    fn write<T>(&self, work: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        let value = work(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read<T>(&self, work: impl FnOnce(&mut postgres::Client) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        work(&mut conn)
    }

    /// Locks the tenant's row for the rest of the transaction: the chain head cannot move
    /// under us. Fails with `NotFound` for an unknown tenant.
    fn lock_tenant(tx: &mut Transaction, tenant: TenantId) -> Result<()> {
        tx.query_opt(
            "SELECT 1 FROM tenants WHERE tenant_id = $1 FOR NO KEY UPDATE",
            &[&tenant.0],
        )?
        .map(|_| ())
        .ok_or(StoreError::NotFound("tenant"))
    }

    fn data_key(
        &self,
        client: &mut impl postgres::GenericClient,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<DataKey> {
        let row = client
            .query_opt(
                "SELECT wrapped_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2",
                &[&tenant.0, &subject.0],
            )?
            .ok_or(StoreError::NotFound("subject"))?;
        let wrapped: Vec<u8> = row.get(0);
        Ok(self.keyring().unwrap(&wrapped, tenant.0, subject.0)?)
    }

    /// Appends to the chain; the caller holds the tenant lock.
    fn append(
        tx: &mut Transaction,
        tenant: TenantId,
        at: Timestamp,
        entry: NewAuditEntry,
    ) -> Result<AuditEntry> {
        let head = tx.query_opt(HEAD, &[&tenant.0])?;
        let (seq, hash) = match head {
            Some(row) => (row.get::<_, i64>(0), hash32(row.get(1))?),
            None => (0, audit::GENESIS),
        };
        let entry = audit::next_entry(seq, hash, at, entry);
        let categories = serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &tenant.0,
                &entry.seq,
                &micros(entry.at),
                &entry.actor,
                &entry.action,
                &entry.subject.map(|s| s.0),
                &categories,
                &entry.purpose,
                &entry.detail,
                &entry.prev_hash.as_slice(),
                &entry.hash.as_slice(),
            ],
        )?;
        Ok(entry)
    }

    fn checkpoint(
        client: &mut impl postgres::GenericClient,
        tenant: TenantId,
    ) -> Result<Option<audit::Checkpoint>> {
        client
            .query_opt(
                "SELECT seq, hash, at, pruned_at FROM audit_checkpoints WHERE tenant_id = $1",
                &[&tenant.0],
            )?
            .map(|row| {
                Ok(audit::Checkpoint {
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
        tx: &mut Transaction,
        tenant: TenantId,
        at: Timestamp,
        entries: Vec<NewAuditEntry>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let head = tx.query_opt(HEAD, &[&tenant.0])?;
        let (mut seq, mut hash) = match head {
            Some(row) => (row.get::<_, i64>(0), hash32(row.get(1))?),
            None => (0, audit::GENESIS),
        };
        let mut columns = AuditColumns::default();
        for entry in entries {
            let entry = audit::next_entry(seq, hash, at, entry);
            seq = entry.seq;
            hash = entry.hash;
            columns.seqs.push(entry.seq);
            columns
                .categories
                .push(serde_json::to_string(&entry.categories).unwrap_or_else(|_| "[]".into()));
            columns.actors.push(entry.actor);
            columns.actions.push(entry.action);
            columns.subjects.push(entry.subject.map(|s| s.0));
            columns.purposes.push(entry.purpose);
            columns.details.push(entry.detail);
            columns.prevs.push(entry.prev_hash.to_vec());
            columns.hashes.push(entry.hash.to_vec());
        }
        tx.execute(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash)
             SELECT $1, s, $2, a, ac, su, c, p, d, ph, h
             FROM unnest($3::bigint[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::bytea[], $11::bytea[])
                  AS t(s, a, ac, su, c, p, d, ph, h)",
            &[
                &tenant.0,
                &micros(at),
                &columns.seqs,
                &columns.actors,
                &columns.actions,
                &columns.subjects,
                &columns.categories,
                &columns.purposes,
                &columns.details,
                &columns.prevs,
                &columns.hashes,
            ],
        )?;
        Ok(())
    }

    /// Queues mails inside the transaction that decided to send them.
    fn enqueue(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        mails: &[NewMail],
        at: Timestamp,
    ) -> Result<()> {
        for mail in mails {
            let id = MailId::new();
            let (to, message) = seal_mail(&self.keyring(), id, mail)?;
            tx.execute(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                &[&tenant.0, &id.0, &mail.request.map(|r| r.0), &mail.template, &to, &message, &micros(at)],
            )?;
        }
        Ok(())
    }

    fn insert_identity(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        subject: SubjectId,
        key: &DataKey,
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

fn audit_entry(row: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.get(0),
        at: timestamp(row.get(1))?,
        actor: row.get(2),
        action: row.get(3),
        subject: row.get::<_, Option<Uuid>>(4).map(SubjectId),
        categories: serde_json::from_str(row.get(5))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        purpose: row.get(6),
        detail: row.get(7),
        prev_hash: hash32(row.get(8))?,
        hash: hash32(row.get(9))?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, subject_id, categories, purpose, detail, prev_hash, hash";

fn tenant(row: &Row) -> Result<Tenant> {
    Ok(Tenant {
        id: TenantId(row.get(0)),
        name: row.get(1),
        operator: row.get(2),
        created_at: timestamp(row.get(3))?,
    })
}

fn api_key(row: &Row) -> Result<ApiKey> {
    let role: String = row.get(3);
    Ok(ApiKey {
        tenant: TenantId(row.get(0)),
        id: ApiKeyId(row.get(1)),
        name: row.get(2),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        operator_wide: row.get(4),
        created_at: timestamp(row.get(5))?,
        revoked_at: row.get::<_, Option<i64>>(6).map(timestamp).transpose()?,
    })
}

const KEY_COLUMNS: &str = "tenant_id, key_id, name, role, operator_wide, created_at, revoked_at";

impl Store for PostgresStore {
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
            let inserted = tx.execute(
                "INSERT INTO tenants (tenant_id, name, operator, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.id.0, &name, &operator, &micros(at)],
            )?;
            if inserted == 0 {
                return Err(StoreError::OperatorExists);
            }
            Self::lock_tenant(tx, tenant.id)?;
            Self::append(tx, tenant.id, at, NewAuditEntry::tenant_created(actor, tenant.id))?;
            Ok(())
        })?;
        Ok(tenant)
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|client| {
            client
                .query("SELECT tenant_id, name, operator, created_at FROM tenants ORDER BY created_at, tenant_id", &[])?
                .iter()
                .map(tenant)
                .collect()
        })
    }

    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.read(|client| {
            client
                .query_opt("SELECT tenant_id, name, operator, created_at FROM tenants WHERE tenant_id = $1", &[&id.0])?
                .as_ref()
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
            Self::lock_tenant(tx, key.tenant)?;
            tx.execute(
                "INSERT INTO api_keys (tenant_id, key_id, name, role, operator_wide, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&key.tenant.0, &created.id.0, &key.name, &key.role.as_str(), &key.operator_wide, &key.secret_hash.as_slice(), &micros(at)],
            )?;
            Self::append(tx, key.tenant, at, NewAuditEntry::api_key_created(actor, created.id, key.role))?;
            Ok(())
        })?;
        Ok(created)
    }

    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(|client| {
            client
                .query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id"), &[&tenant.0])?
                .iter()
                .map(api_key)
                .collect()
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
            if Self::lock_tenant(tx, tenant).is_err() {
                return Ok(false);
            }
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND key_id = $2 AND revoked_at IS NULL",
                &[&tenant.0, &id.0, &micros(at)],
            )?;
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::api_key_revoked(actor, id))?;
            }
            Ok(changed > 0)
        })
    }

    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        self.read(|client| {
            client
                .query_opt(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"), &[&secret_hash.as_slice()])?
                .as_ref()
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
        let wrapped = self.keyring().wrap(&key, tenant.0, subject.0)?;
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES ($1, $2, $3)",
                &[&tenant.0, &subject.0, &micros(at)],
            )?;
            tx.execute(
                "INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
                &[&tenant.0, &subject.0, &wrapped, &micros(at)],
            )?;
            for identity in identities {
                self.insert_identity(tx, tenant, subject, &key, identity)?;
            }
            Self::append(tx, tenant, at, NewAuditEntry::subject_created(actor, subject, identities))?;
            Ok(())
        })?;
        Ok(subject)
    }

    fn find_subject(&self, tenant: TenantId, identity: &Identity) -> Result<Option<SubjectId>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        self.read(|client| {
            Ok(client
                .query_opt(
                    "SELECT subject_id FROM identities WHERE tenant_id = $1 AND blind_index = $2",
                    &[&tenant.0, &index.as_slice()],
                )?
                .map(|row| SubjectId(row.get(0))))
        })
    }

    fn subject(&self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.read(|client| {
            let Some(row) = client.query_opt("SELECT created_at FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &id.0])? else {
                return Ok(None);
            };
            let created: i64 = row.get(0);
            let key = self.data_key(client, tenant, id)?;
            let mut identities = Vec::new();
            for row in client.query("SELECT blind_index, kind, sealed_value FROM identities WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &id.0])? {
                let index = hash32(row.get(0))?;
                let kind: String = row.get(1);
                let sealed: Vec<u8> = row.get(2);
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
        // Four round trips per batch whatever its size: the keys, the records, the chain head,
        // the audit entries. Row-by-row inserts made PostgreSQL round-trip bound.
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let subjects: Vec<Uuid> = records.iter().map(|r| r.subject.0).collect::<BTreeSet<_>>().into_iter().collect();
            let mut keys = std::collections::HashMap::with_capacity(subjects.len());
            for row in tx.query("SELECT subject_id, wrapped_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = ANY($2)", &[&tenant.0, &subjects])? {
                let subject: Uuid = row.get(0);
                let wrapped: Vec<u8> = row.get(1);
                keys.insert(subject, self.keyring().unwrap(&wrapped, tenant.0, subject)?);
            }
            let mut rows = RecordColumns::default();
            let mut ids = Vec::with_capacity(records.len());
            let mut entries = Vec::new();
            let mut start = 0;
            while start < records.len() {
                let subject = records[start].subject;
                let end = records[start..].iter().position(|r| r.subject != subject).map_or(records.len(), |n| start + n);
                let key = keys.get(&subject.0).ok_or(StoreError::NotFound("subject"))?;
                let mut written = BTreeSet::new();
                for record in &records[start..end] {
                    let id = record.id.unwrap_or_default();
                    rows.subjects.push(subject.0);
                    rows.ids.push(id.0);
                    rows.sealed.push(key.seal(record.value.expose().as_bytes(), &record_aad(id.0, &record.category))?);
                    rows.categories.push(record.category.clone());
                    rows.purposes.push(record.purposes.join(","));
                    rows.sources.push(record.source.clone());
                    rows.collected.push(micros(record.collected_at));
                    written.insert(record.category.clone());
                    ids.push(id);
                }
                entries.push(NewAuditEntry::records_written(actor, subject, written, end - start));
                start = end;
            }
            tx.execute(
                "INSERT INTO records (tenant_id, subject_id, record_id, category, purposes, source, collected_at, sealed_value)
                 SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bytea[])
                 ON CONFLICT DO NOTHING",
                &[&tenant.0, &rows.subjects, &rows.ids, &rows.categories, &rows.purposes, &rows.sources, &rows.collected, &rows.sealed],
            )?;
            Self::append_many(tx, tenant, at, entries)?;
            Ok(ids)
        })
    }

    fn subject_exists(&self, tenant: TenantId, id: SubjectId) -> Result<bool> {
        self.read(|client| {
            Ok(client
                .query_opt(
                    "SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &id.0],
                )?
                .is_some())
        })
    }

    fn records(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.read(|client| {
            let key = self.data_key(client, tenant, subject)?;
            client
                .query(
                    "SELECT record_id, category, purposes, source, collected_at, sealed_value FROM records WHERE tenant_id = $1 AND subject_id = $2 ORDER BY record_id",
                    &[&tenant.0, &subject.0],
                )?
                .iter()
                .map(|row| {
                    let id = RecordId(row.get(0));
                    let category: String = row.get(1);
                    let purposes: String = row.get(2);
                    let sealed: Vec<u8> = row.get(5);
                    let value = key.open(&sealed, &record_aad(id.0, &category))?;
                    let value = String::from_utf8(value.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Record {
                        id,
                        subject,
                        category,
                        purposes: split_purposes(&purposes),
                        source: row.get(3),
                        collected_at: timestamp(row.get(4))?,
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
            if Self::lock_tenant(tx, tenant).is_err() {
                return Err(StoreError::NotFound("subject"));
            }
            let known = tx.query_opt("SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
            if known.is_none() {
                return Err(StoreError::NotFound("subject"));
            }
            tx.execute(
                "INSERT INTO events (tenant_id, subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[
                    &tenant.0,
                    &subject.0,
                    &stored.id.0,
                    &stored.kind.as_str(),
                    &stored.purpose,
                    &micros(stored.occurred_at),
                    &micros(at),
                    &stored.channel,
                    &stored.policy_version,
                ],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::event_recorded(actor, &stored))?;
            Ok(())
        })?;
        Ok(stored)
    }

    fn events(&self, tenant: TenantId, subject: SubjectId) -> Result<Vec<StoredEvent>> {
        self.read(|client| {
            client
                .query(
                    "SELECT event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version FROM events
                     WHERE tenant_id = $1 AND subject_id = $2 ORDER BY occurred_at, event_id",
                    &[&tenant.0, &subject.0],
                )?
                .iter()
                .map(|row| stored_event(subject, row, 0))
                .collect()
        })
    }

    fn facts_by_identity(
        &self,
        tenant: TenantId,
        identity: &Identity,
    ) -> Result<Option<(SubjectId, Vec<StoredEvent>)>> {
        let index = self.keyring().blind_index(tenant.0, identity);
        self.read(|client| {
            let rows = client.query(
                "SELECT i.subject_id, e.event_id, e.kind, e.purpose, e.occurred_at, e.recorded_at, e.channel, e.policy_version
                 FROM identities i
                 LEFT JOIN events e ON e.tenant_id = i.tenant_id AND e.subject_id = i.subject_id
                 WHERE i.tenant_id = $1 AND i.blind_index = $2
                 ORDER BY e.occurred_at, e.event_id",
                &[&tenant.0, &index.as_slice()],
            )?;
            let Some(first) = rows.first() else { return Ok(None) };
            let subject = SubjectId(first.get(0));
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                let Some(id) = row.get::<_, Option<Uuid>>(1) else { continue };
                let kind: String = row.get(2);
                events.push(StoredEvent {
                    id: EventId(id),
                    subject,
                    kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
                    purpose: row.get(3),
                    occurred_at: timestamp(row.get(4))?,
                    recorded_at: timestamp(row.get(5))?,
                    channel: row.get(6),
                    policy_version: row.get(7),
                });
            }
            Ok(Some((subject, events)))
        })
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
            Self::lock_tenant(tx, tenant)?;
            let inserted = tx.execute(
                "INSERT INTO policy_versions (tenant_id, version, source, loaded_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.0, &version, &source, &micros(at)],
            )?;
            if inserted > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::policy_loaded(actor, version))?;
            }
            Ok(inserted > 0)
        })
    }

    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|client| {
            client
                .query("SELECT version, loaded_at FROM policy_versions WHERE tenant_id = $1 ORDER BY loaded_at, version", &[&tenant.0])?
                .iter()
                .map(|row| Ok((row.get(0), timestamp(row.get(1))?)))
                .collect()
        })
    }

    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>> {
        self.read(|client| {
            Ok(client
                .query_opt(
                    "SELECT source FROM policy_versions WHERE tenant_id = $1 AND version = $2",
                    &[&tenant.0, &version],
                )?
                .map(|row| row.get(0)))
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
            // Inserting first takes the row lock whoever wins; the loser reads the winner's row.
            let inserted = tx.execute(
                "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, status, body, created_at) VALUES ($1, $2, $3, NULL, NULL, $4)
                 ON CONFLICT DO NOTHING",
                &[&tenant.0, &key, &request_hash.as_slice(), &micros(at)],
            )?;
            if inserted > 0 {
                return Ok(Idempotency::Claimed);
            }
            let existing = tx
                .query_opt(
                    "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 FOR UPDATE",
                    &[&tenant.0, &key],
                )?
                .map(|row| (row.get(0), row.get::<_, Option<i32>>(1).map(i64::from), row.get(2), row.get(3)));
            let outcome = idempotency_outcome(existing, request_hash, at);
            if outcome == Idempotency::Claimed {
                tx.execute(
                    "UPDATE idempotency_keys SET request_hash = $3, status = NULL, body = NULL, created_at = $4 WHERE tenant_id = $1 AND idempotency_key = $2",
                    &[&tenant.0, &key, &request_hash.as_slice(), &micros(at)],
                )?;
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
            tx.execute(
                "UPDATE idempotency_keys SET status = $3, body = $4 WHERE tenant_id = $1 AND idempotency_key = $2",
                &[&tenant.0, &key, &i32::from(status), &body],
            )?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND status IS NULL", &[&tenant.0, &key])?;
            Ok(())
        })
    }

    fn append_audit(
        &self,
        tenant: TenantId,
        entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<AuditEntry> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            Self::append(tx, tenant, at, entry)
        })
    }

    fn audit_entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|client| {
            let after = filter.after_seq.unwrap_or(0);
            let mut sql =
                format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq > $2");
            let subject = filter.subject.map(|s| s.0);
            let from = filter.from.map(micros);
            let until = filter.until.map(micros);
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant.0, &after];
            if let Some(subject) = &subject {
                params.push(subject);
                sql.push_str(&format!(" AND subject_id = ${}", params.len()));
            }
            if let Some(actor) = &filter.actor {
                params.push(actor);
                sql.push_str(&format!(" AND actor = ${}", params.len()));
            }
            if let Some(action) = &filter.action {
                params.push(action);
                sql.push_str(&format!(" AND action = ${}", params.len()));
            }
            if let Some(from) = &from {
                params.push(from);
                sql.push_str(&format!(" AND at >= ${}", params.len()));
            }
            if let Some(until) = &until {
                params.push(until);
                sql.push_str(&format!(" AND at < ${}", params.len()));
            }
            let limit = if filter.limit == 0 {
                100
            } else {
                filter.limit.min(1000)
            };
            sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
            client
                .query(&sql, &params)?
                .iter()
                .map(audit_entry)
                .collect()
        })
    }

    fn verify_audit(&self, tenant: TenantId) -> Result<Verification> {
        self.read(|client| {
            // One snapshot: a prune committing between the two reads would look like a gap.
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let checkpoint = Self::checkpoint(&mut tx, tenant)?;
            let mut entries = Vec::new();
            for row in tx.query(
                &format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 ORDER BY seq"),
                &[&tenant.0],
            )? {
                match audit_entry(&row) {
                    Ok(entry) => entries.push(entry),
                    Err(error) => {
                        return Ok(Verification::Broken {
                            seq: row.get(0),
                            reason: format!("the entry cannot be read: {error}"),
                        });
                    }
                }
            }
            tx.commit()?;
            Ok(audit::verify(entries, checkpoint.as_ref()))
        })
    }

    fn audit_checkpoint(&self, tenant: TenantId) -> Result<Option<audit::Checkpoint>> {
        self.read(|client| Self::checkpoint(client, tenant))
    }

    fn audit_prunable(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.read(|client| {
            let count: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND seq < COALESCE(
                        (SELECT seq FROM audit_log WHERE tenant_id = $1 AND at >= $2 ORDER BY seq LIMIT 1),
                        9223372036854775807)",
                    &[&tenant.0, &micros(before)],
                )?
                .get(0);
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
            Self::lock_tenant(tx, tenant)?;
            let bounds = tx.query_one(
                "SELECT MIN(seq), MAX(seq) FROM audit_log WHERE tenant_id = $1",
                &[&tenant.0],
            )?;
            let (Some(first), Some(head)) = (bounds.get::<_, Option<i64>>(0), bounds.get::<_, Option<i64>>(1)) else {
                return Ok(audit::Pruned::default());
            };
            let first_kept: Option<i64> = tx
                .query_opt(
                    "SELECT seq FROM audit_log WHERE tenant_id = $1 AND at >= $2 ORDER BY seq LIMIT 1",
                    &[&tenant.0, &micros(before)],
                )?
                .map(|row| row.get(0));
            let Some(through) = audit::prune_through(first, head, first_kept, limit) else {
                return Ok(audit::Pruned::default());
            };
            let row = tx.query_one(
                "SELECT hash, at FROM audit_log WHERE tenant_id = $1 AND seq = $2",
                &[&tenant.0, &through],
            )?;
            let (hash, at): (Vec<u8>, i64) = (row.get(0), row.get(1));
            tx.execute(
                "INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, pruned_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
                     at = excluded.at, pruned_at = excluded.pruned_at",
                &[&tenant.0, &through, &hash, &at, &micros(now)],
            )?;
            let entries = tx.execute(
                "DELETE FROM audit_log WHERE tenant_id = $1 AND seq <= $2",
                &[&tenant.0, &through],
            )?;
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
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO requests (tenant_id, request_id, status, subject_id, purpose, category, record_id, sealed,
                   verified_at, verified_by, first_due_at, due_at, extended_at, extension_reason, closed_at, refusal_reason, outcome,
                   code_hash, code_expires_at, code_attempts, locked, overdue_at, version, kind, channel, wrapped_key, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 1, $23, $24, $25, $26)",
                &refs(
                    &request_values(tenant, request, sealed)
                        .into_iter()
                        .chain(boxed![
                            request.kind.as_str(),
                            request.channel.clone(),
                            wrapped,
                            micros(request.received_at)
                        ])
                        .collect::<Vec<_>>(),
                ),
            )?;
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
        self.read(|client| {
            client
                .query_opt(
                    &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = $1 AND request_id = $2"),
                    &[&tenant.0, &id.0],
                )?
                .map(|row| request_row(&row, 0).decode(&self.keyring(), tenant))
                .transpose()
        })
    }

    fn requests(&self, tenant: TenantId, filter: &RequestFilter) -> Result<Vec<DsRequest>> {
        self.read(|client| {
            let status = filter.status.map(|s| s.as_str().to_owned());
            let after = filter.after.map(|a| a.0).unwrap_or(Uuid::nil());
            let limit = filter.page_size() as i64;
            let rows = client.query(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant_id = $1 AND request_id > $2
                       AND ($3::text IS NULL OR status = $3)
                       AND (NOT $4 OR closed_at IS NULL)
                       AND (NOT $5 OR overdue_at IS NOT NULL)
                     ORDER BY request_id LIMIT $6"
                ),
                &[
                    &tenant.0,
                    &after,
                    &status,
                    &(filter.open || filter.overdue),
                    &filter.overdue,
                    &limit,
                ],
            )?;
            rows.iter()
                .map(|row| request_row(row, 0).decode(&self.keyring(), tenant))
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
            Self::lock_tenant(tx, tenant)?;
            let wrapped: Vec<u8> = tx
                .query_opt("SELECT wrapped_key FROM requests WHERE tenant_id = $1 AND request_id = $2", &[&tenant.0, &request.id.0])?
                .ok_or(StoreError::NotFound("request"))?
                .get(0);
            let sealed = reseal_with(&self.keyring(), tenant, request, &wrapped)?;
            let changed = tx.execute(
                "UPDATE requests SET status = $3, subject_id = $4, purpose = $5, category = $6, record_id = $7, sealed = $8,
                   verified_at = $9, verified_by = $10, first_due_at = $11, due_at = $12, extended_at = $13, extension_reason = $14,
                   closed_at = $15, refusal_reason = $16, outcome = $17, code_hash = $18, code_expires_at = $19, code_attempts = $20,
                   locked = $21, overdue_at = $22, version = version + 1
                 WHERE tenant_id = $1 AND request_id = $2 AND version = $23",
                &refs(
                    &request_values(tenant, request, sealed)
                        .into_iter()
                        .chain(boxed![request.version])
                        .collect::<Vec<_>>(),
                ),
            )?;
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
        let due: Vec<(TenantId, RequestId)> = self.read(|client| {
            Ok(client
                .query(
                    "SELECT tenant_id, request_id FROM requests WHERE closed_at IS NULL AND due_at <= $1 AND overdue_at IS NULL",
                    &[&micros(at)],
                )?
                .iter()
                .map(|row| (TenantId(row.get(0)), RequestId(row.get(1))))
                .collect())
        })?;
        let mut marked = Vec::with_capacity(due.len());
        // One transaction per tenant's request, each under its tenant's lock like every write;
        // a replica that marked it first makes the update here a no-op.
        for (tenant, id) in due {
            let done = self.write(|tx| {
                Self::lock_tenant(tx, tenant)?;
                let Some(row) = tx.query_opt(
                    &format!("UPDATE requests SET overdue_at = $3, version = version + 1 WHERE tenant_id = $1 AND request_id = $2 AND overdue_at IS NULL AND closed_at IS NULL RETURNING {REQUEST_COLUMNS}"),
                    &[&tenant.0, &id.0, &micros(at)],
                )? else {
                    return Ok(false);
                };
                let request = request_row(&row, 0).decode(&self.keyring(), tenant)?;
                Self::append(tx, tenant, at, NewAuditEntry::request_step(&Actor::System, &request, "overdue"))?;
                Ok(true)
            })?;
            if done {
                marked.push((tenant, id));
            }
        }
        Ok(marked)
    }

    fn request_counts(&self) -> Result<Vec<RequestCount>> {
        self.read(|client| {
            client
                .query(
                    "SELECT status, overdue_at IS NOT NULL AND closed_at IS NULL, COUNT(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2",
                    &[],
                )?
                .iter()
                .map(|row| {
                    let status: String = row.get(0);
                    Ok(RequestCount {
                        status: RequestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
                        overdue: row.get(1),
                        count: u64::try_from(row.get::<_, i64>(2)).unwrap_or(0),
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
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let old_key = self.data_key(tx, tenant, subject)?;
            let identities = tx.execute("DELETE FROM identities WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
            // The notices' mails to the person go (sent or not): the ledger keeps the line, not
            // the address.
            tx.execute(
                "DELETE FROM outbox WHERE tenant_id = $1 AND mail_id IN (SELECT d.mail_id FROM notices n JOIN notice_deliveries d ON d.tenant_id = n.tenant_id AND d.notice_id = n.notice_id AND d.subject_id = $2 WHERE n.tenant_id = $1 AND d.mail_id IS NOT NULL)",
                &[&tenant.0, &subject.0],
            )?;
            let kept_ids: Vec<Uuid> = keep.iter().map(|k| k.record.0).collect();
            let mut kept = 0u64;
            if !keep.is_empty() {
                // The kept records move to a new key, so the old key (and every copy of the
                // data sealed with it) is worthless once it is gone.
                let new_key = self.keyring().new_data_key()?;
                let wrapped = self.keyring().wrap(&new_key, tenant.0, subject.0)?;
                let rows = tx.query(
                    "SELECT record_id, category, sealed_value FROM records WHERE tenant_id = $1 AND subject_id = $2 AND record_id = ANY($3)",
                    &[&tenant.0, &subject.0, &kept_ids],
                )?;
                for row in rows {
                    let id: Uuid = row.get(0);
                    let category: String = row.get(1);
                    let sealed: Vec<u8> = row.get(2);
                    let aad = record_aad(id, &category);
                    let value = old_key.open(&sealed, &aad)?;
                    let resealed = new_key.seal(&value, &aad)?;
                    let purposes = keep.iter().find(|k| k.record.0 == id).map(|k| k.purposes.join(",")).unwrap_or_default();
                    tx.execute(
                        "UPDATE records SET sealed_value = $4, purposes = $5 WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                        &[&tenant.0, &subject.0, &id, &resealed, &purposes],
                    )?;
                    kept += 1;
                }
                tx.execute(
                    "UPDATE subject_keys SET wrapped_key = $3, created_at = $4 WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &subject.0, &wrapped, &micros(at)],
                )?;
                tx.execute(
                    "UPDATE subjects SET key_generation = key_generation + 1 WHERE tenant_id = $1 AND subject_id = $2",
                    &[&tenant.0, &subject.0],
                )?;
            }
            let deleted = tx.execute(
                "DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2 AND NOT (record_id = ANY($3))",
                &[&tenant.0, &subject.0, &kept_ids],
            )?;
            let subject_deleted = kept == 0;
            if subject_deleted {
                tx.execute("DELETE FROM events WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
                tx.execute("DELETE FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?;
            }
            tx.execute(
                "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = excluded.request_id, erased_at = excluded.erased_at, partial = excluded.partial",
                &[&tenant.0, &subject.0, &request.map(|r| r.0), &micros(at), &!subject_deleted],
            )?;
            let erasure = Erasure { records_deleted: deleted, records_kept: kept, identities_deleted: identities, subject_deleted };
            Self::append(tx, tenant, at, NewAuditEntry::subject_erased(actor, subject, request, &erasure))?;
            Ok(erasure)
        })
    }

    fn tombstones(&self, tenant: TenantId) -> Result<Vec<Tombstone>> {
        self.read(|client| {
            client
                .query(
                    "SELECT subject_id, request_id, erased_at, partial FROM tombstones WHERE tenant_id = $1 ORDER BY erased_at, subject_id",
                    &[&tenant.0],
                )?
                .iter()
                .map(|row| {
                    Ok(Tombstone {
                        subject: SubjectId(row.get(0)),
                        request: row.get::<_, Option<Uuid>>(1).map(RequestId),
                        erased_at: timestamp(row.get(2))?,
                        partial: row.get(3),
                    })
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
            Self::lock_tenant(tx, tenant)?;
            let key = self.data_key(tx, tenant, subject)?;
            let category: String = tx
                .query_opt(
                    "SELECT category FROM records WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                    &[&tenant.0, &subject.0, &record.0],
                )?
                .ok_or(StoreError::NotFound("record"))?
                .get(0);
            let sealed = key.seal(value.expose().as_bytes(), &record_aad(record.0, &category))?;
            tx.execute(
                "UPDATE records SET sealed_value = $4 WHERE tenant_id = $1 AND subject_id = $2 AND record_id = $3",
                &[&tenant.0, &subject.0, &record.0, &sealed],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::record_rectified(actor, subject, record, &category))?;
            Ok(())
        })
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
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO exports (tenant_id, token_hash, request_id, file_name, sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&tenant.0, &token_hash.as_slice(), &request.0, &file_name, &sealed, &micros(at), &micros(expires_at)],
            )?;
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
            Self::lock_tenant(tx, tenant)?;
            let Some(row) = tx.query_opt(
                "DELETE FROM exports WHERE tenant_id = $1 AND token_hash = $2 RETURNING request_id, file_name, sealed, expires_at",
                &[&tenant.0, &token_hash.as_slice()],
            )? else {
                return Ok(None);
            };
            let request = RequestId(row.get(0));
            let expired = timestamp(row.get(3))? <= at;
            Self::append(tx, tenant, at, NewAuditEntry::export_step(&Actor::System, request, if expired { "expire" } else { "download" }))?;
            Ok((!expired).then(|| Export { request, file_name: row.get(1), sealed: row.get(2) }))
        })
    }

    fn pending_export(
        &self,
        tenant: TenantId,
        token_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<(String, Timestamp)>> {
        self.read(|client| {
            client
                .query_opt(
                    "SELECT file_name, expires_at FROM exports WHERE tenant_id = $1 AND token_hash = $2 AND expires_at > $3",
                    &[&tenant.0, &token_hash.as_slice(), &micros(at)],
                )?
                .map(|row| Ok((row.get(0), timestamp(row.get(1))?)))
                .transpose()
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
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO legal_holds (tenant_id, hold_id, reason, subject_id, category, note, created_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &tenant.0,
                    &created.id.0,
                    &created.reason.as_str(),
                    &created.subject.map(|s| s.0),
                    &created.category,
                    &created.note,
                    &micros(at),
                    &created.ends_at.map(micros),
                ],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::hold_step(actor, &created, "create"))?;
            Ok(())
        })?;
        Ok(created)
    }

    fn holds(&self, tenant: TenantId, active_at: Option<Timestamp>) -> Result<Vec<LegalHold>> {
        let holds = self.read(|client| {
            client
                .query(
                    "SELECT hold_id, reason, subject_id, category, note, created_at, ends_at, released_at FROM legal_holds
                     WHERE tenant_id = $1 ORDER BY hold_id DESC",
                    &[&tenant.0],
                )?
                .iter()
                .map(|row| {
                    let reason: String = row.get(1);
                    Ok(LegalHold {
                        id: HoldId(row.get(0)),
                        reason: HoldReason::parse(&reason).ok_or_else(|| StoreError::Corrupt(format!("unknown hold reason {reason}")))?,
                        subject: row.get::<_, Option<Uuid>>(2).map(SubjectId),
                        category: row.get(3),
                        note: row.get(4),
                        created_at: timestamp(row.get(5))?,
                        ends_at: row.get::<_, Option<i64>>(6).map(timestamp).transpose()?,
                        released_at: row.get::<_, Option<i64>>(7).map(timestamp).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(holds
            .into_iter()
            .filter(|h| active_at.is_none_or(|at| h.active_at(at)))
            .collect())
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
            Self::lock_tenant(tx, tenant)?;
            let changed = tx.execute(
                "UPDATE legal_holds SET released_at = $3 WHERE tenant_id = $1 AND hold_id = $2 AND released_at IS NULL",
                &[&tenant.0, &hold.0, &micros(at)],
            )?;
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
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = if incident.version == 0 {
                tx.execute(
                    "INSERT INTO incidents (tenant_id, incident_id, open, aware_at, deadline_at, version, document)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[&tenant.0, &saved.id.0, &saved.is_open(), &micros(saved.aware_at), &micros(saved.deadline_at), &saved.version, &document],
                )?
            } else {
                tx.execute(
                    "UPDATE incidents SET open = $3, aware_at = $4, deadline_at = $5, version = $6, document = $7
                     WHERE tenant_id = $1 AND incident_id = $2 AND version = $8",
                    &[&tenant.0, &saved.id.0, &saved.is_open(), &micros(saved.aware_at), &micros(saved.deadline_at), &saved.version, &document, &incident.version],
                )?
            };
            if changed == 0 {
                return Err(StoreError::Conflict("incident"));
            }
            let seq: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_steps WHERE tenant_id = $1 AND incident_id = $2",
                    &[&tenant.0, &saved.id.0],
                )?
                .get(0);
            tx.execute(
                "INSERT INTO incident_steps (tenant_id, incident_id, seq, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&tenant.0, &saved.id.0, &seq, &micros(at), &actor.audit_name(), &kind, &detail.to_string()],
            )?;
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
        self.read(|client| {
            client
                .query_opt(
                    "SELECT document FROM incidents WHERE tenant_id = $1 AND incident_id = $2",
                    &[&tenant.0, &id.0],
                )?
                .map(|row| incident_document(row.get(0)))
                .transpose()
        })
    }

    fn incident_timeline(
        &self,
        tenant: TenantId,
        id: crate::incidents::IncidentId,
    ) -> Result<Vec<crate::incidents::IncidentStep>> {
        self.read(|client| {
            client
                .query(
                    "SELECT seq, at, actor, kind, detail FROM incident_steps WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq",
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| {
                    let seq: i64 = row.get(0);
                    Ok(crate::incidents::IncidentStep {
                        seq,
                        at: timestamp(row.get(1))?,
                        actor: row.get(2),
                        kind: row.get(3),
                        detail: serde_json::from_str(row.get(4)).map_err(|e| StoreError::Corrupt(format!("incident step {seq}: {e}")))?,
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
        self.read(|client| {
            client
                .query(
                    "SELECT document FROM incidents WHERE tenant_id = $1 AND (open OR NOT $2) ORDER BY incident_id DESC",
                    &[&tenant.0, &open_only],
                )?
                .iter()
                .map(|row| incident_document(row.get(0)))
                .collect()
        })
    }

    fn reads_by(
        &self,
        tenant: TenantId,
        actor: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<crate::incidents::Read>> {
        self.read(|client| {
            client
                .query(
                    "SELECT subject_id, action, categories, detail FROM audit_log
                     WHERE tenant_id = $1 AND actor = $2 AND at >= $3 AND at < $4
                       AND action IN ('records.read', 'subject.read') AND subject_id IS NOT NULL",
                    &[&tenant.0, &actor, &micros(from), &micros(until)],
                )?
                .iter()
                .map(|row| {
                    let categories: Vec<String> = serde_json::from_str(row.get(2))
                        .map_err(|e| StoreError::Corrupt(format!("audit categories: {e}")))?;
                    Ok(crate::incidents::read_of(
                        SubjectId(row.get(0)),
                        row.get(1),
                        categories,
                        row.get::<_, Option<&str>>(3),
                    ))
                })
                .collect()
        })
    }

    fn open_incidents(&self) -> Result<Vec<(TenantId, crate::incidents::Incident)>> {
        self.read(|client| {
            client
                .query(
                    "SELECT tenant_id, document FROM incidents WHERE open ORDER BY deadline_at",
                    &[],
                )?
                .iter()
                .map(|row| Ok((TenantId(row.get(0)), incident_document(row.get(1))?)))
                .collect()
        })
    }

    fn notice_audience(
        &self,
        tenant: TenantId,
        audience: &crate::notices::Audience,
    ) -> Result<Vec<crate::notices::Addressee>> {
        use crate::notices::{Addressee, Audience, SealedAddress, category_bounds, open_emails};
        self.read(|client| {
            // One snapshot: the people, their addresses and their events agree.
            let mut tx = client.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
            let t = tenant.0;
            let rows = match audience {
                Audience::Tenants(customers) => {
                    let customers: Vec<Uuid> = customers.iter().map(|c| c.0).collect();
                    tx.query("SELECT subject_id FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = ANY($2) ORDER BY array_position($2, customer_id), added_at", &[&t, &customers])?
                }
                Audience::Customers => tx.query(
                    "SELECT c.subject_id FROM tenant_contacts c JOIN tenants t ON t.tenant_id = c.customer_id WHERE c.tenant_id = $1 AND NOT t.operator ORDER BY c.customer_id, c.added_at",
                    &[&t],
                )?,
                Audience::Category(category) => {
                    let (low, high) = category_bounds(category);
                    tx.query(
                        "SELECT DISTINCT subject_id FROM records WHERE tenant_id = $1 AND (category = $2 OR (category >= $3 AND category < $4))",
                        &[&t, category, &low, &high],
                    )?
                }
                Audience::Subjects(subjects) => {
                    let ids: Vec<Uuid> = subjects.iter().map(|s| s.0).collect();
                    tx.query("SELECT subject_id FROM subjects WHERE tenant_id = $1 AND subject_id = ANY($2) ORDER BY array_position($2, subject_id)", &[&t, &ids])?
                }
            };
            let mut seen = std::collections::HashSet::new();
            let mut people: Vec<Addressee> = rows
                .iter()
                .map(|row| SubjectId(row.get(0)))
                .filter(|id| seen.insert(*id))
                .map(|subject| Addressee { subject, email: None, events: vec![] })
                .collect();
            let position: std::collections::HashMap<SubjectId, usize> = people.iter().enumerate().map(|(i, p)| (p.subject, i)).collect();
            let ids: Vec<Uuid> = people.iter().map(|p| p.subject.0).collect();
            let mut jobs: Vec<SealedAddress> = Vec::new();
            let mut job_of: Vec<Option<usize>> = vec![None; people.len()];
            for row in tx.query(
                "SELECT i.subject_id, k.wrapped_key, i.blind_index, i.sealed_value FROM identities i
                   JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
                 WHERE i.tenant_id = $1 AND i.kind = 'email' AND i.subject_id = ANY($2)",
                &[&t, &ids],
            )? {
                let subject = SubjectId(row.get(0));
                let Some(&i) = position.get(&subject) else { continue };
                let index: Vec<u8> = row.get(2);
                match job_of[i] {
                    // Of several addresses, the one with the lowest index: the same every time.
                    Some(j) if index < jobs[j].index => {
                        jobs[j].index = index;
                        jobs[j].sealed = row.get(3);
                    }
                    Some(_) => {}
                    None => {
                        job_of[i] = Some(jobs.len());
                        jobs.push(SealedAddress { person: i, subject, wrapped_key: row.get(1), index, sealed: row.get(3) });
                    }
                }
            }
            for row in tx.query(
                "SELECT subject_id, kind, purpose, occurred_at FROM events
                 WHERE tenant_id = $1 AND kind IN ('unsubscribe', 'objection') AND subject_id = ANY($2)",
                &[&t, &ids],
            )? {
                let subject = SubjectId(row.get(0));
                let Some(&i) = position.get(&subject) else { continue };
                let kind: String = row.get(1);
                people[i].events.push(ombud_core::Event {
                    kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind}")))?,
                    purpose: row.get(2),
                    occurred_at: timestamp(row.get(3))?,
                });
            }
            tx.commit()?;
            for (i, email) in open_emails(&self.keyring(), tenant, jobs)? {
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
        let hash = notice.body_hash().to_vec();
        let audience = notice.audience_json()?;
        let template = notice.template();
        let sealed_all = crate::notices::seal_addresses(&self.keyring(), deliveries)?;
        // Column arrays for one `unnest` insert each: a notice to 100,000 people is a handful of
        // round trips, not 200,000.
        let (mut mails, mut sealed, mut subjects, mut lines, mut skips) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (delivery, mail_of) in deliveries.iter().zip(sealed_all) {
            subjects.push(delivery.subject().0);
            match (delivery, mail_of) {
                (NewDelivery::Queue { .. }, Some((id, to))) => {
                    sealed.push(to);
                    mails.push(id.0);
                    lines.push(Some(id.0));
                    skips.push(None);
                }
                (NewDelivery::Skip { reason, .. }, _) => {
                    lines.push(None);
                    skips.push(Some(reason.clone()));
                }
                (NewDelivery::Queue { .. }, None) => {
                    return Err(StoreError::Corrupt(
                        "a queued delivery without its mail".into(),
                    ));
                }
            }
        }
        let (queued, skipped) = (mails.len() as u64, (deliveries.len() - mails.len()) as u64);
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO notice_bodies (tenant_id, body_hash, subject_line, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.0, &hash, &notice.subject_line, &notice.body],
            )?;
            tx.execute(
                "INSERT INTO notices (tenant_id, notice_id, kind, mandatory, body_hash, audience, incident_id, created_at, created_by, queued, skipped)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[&tenant.0, &notice.id.0, &notice.kind, &notice.mandatory, &hash, &audience, &notice.incident.map(|i| i.0), &micros(at), &actor.audit_name(), &(queued as i64), &(skipped as i64)],
            )?;
            tx.execute(
                "INSERT INTO outbox (tenant_id, mail_id, request_id, template, sealed_to, sealed_message, created_at, next_attempt_at, notice_id)
                 SELECT $1, m, NULL, $2, s, NULL, $3, $3, $4 FROM unnest($5::uuid[], $6::bytea[]) AS u(m, s)",
                &[&tenant.0, &template, &micros(at), &notice.id.0, &mails, &sealed],
            )?;
            tx.execute(
                "INSERT INTO notice_deliveries (tenant_id, notice_id, subject_id, mail_id, skipped)
                 SELECT $1, $2, * FROM unnest($3::uuid[], $4::uuid[], $5::text[])",
                &[&tenant.0, &notice.id.0, &subjects, &lines, &skips],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::notice_sent(actor, notice, queued, skipped))?;
            Ok(())
        })?;
        self.notice(tenant, notice.id)?
            .map(|(stored, _)| stored)
            .ok_or(StoreError::NotFound("notice"))
    }

    fn notices(&self, tenant: TenantId) -> Result<Vec<crate::notices::Notice>> {
        use crate::notices::{NOTICE_COLUMNS, notice_of};
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {NOTICE_COLUMNS} FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                         WHERE n.tenant_id = $1 ORDER BY n.created_at DESC, n.notice_id DESC"
                    ),
                    &[&tenant.0],
                )?
                .iter()
                .map(|row| notice_of(notice_row(row)))
                .collect()
        })
    }

    fn notice(
        &self,
        tenant: TenantId,
        id: crate::notices::NoticeId,
    ) -> Result<Option<(crate::notices::Notice, String)>> {
        use crate::notices::{NOTICE_COLUMNS, notice_of};
        self.read(|client| {
            client
                .query_opt(
                    &format!(
                        "SELECT {NOTICE_COLUMNS}, b.body FROM notices n JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash
                         WHERE n.tenant_id = $1 AND n.notice_id = $2"
                    ),
                    &[&tenant.0, &id.0],
                )?
                .map(|row| Ok((notice_of(notice_row(&row))?, row.get(11))))
                .transpose()
        })
    }

    fn notice_deliveries(
        &self,
        tenant: TenantId,
        id: crate::notices::NoticeId,
    ) -> Result<Vec<crate::notices::Delivery>> {
        self.read(|client| {
            let keyring = self.keyring();
            client
                .query(
                    &format!("{DELIVERY_SELECT} WHERE d.tenant_id = $1 AND d.notice_id = $2 ORDER BY d.subject_id"),
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| delivery_row(row).decode(&keyring))
                .collect()
        })
    }

    fn subject_notices(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<(crate::notices::Notice, crate::notices::Delivery)>> {
        let deliveries = self.read(|client| {
            let keyring = self.keyring();
            client
                .query(
                    &format!("{DELIVERY_SELECT} WHERE n.tenant_id = $1 AND d.subject_id = $2"),
                    &[&tenant.0, &subject.0],
                )?
                .iter()
                .map(|row| delivery_row(row).decode(&keyring))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut lines = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let (notice, _) = self
                .notice(tenant, delivery.notice)?
                .ok_or(StoreError::NotFound("notice"))?;
            lines.push((notice, delivery));
        }
        lines.sort_by_key(|(notice, _)| (notice.created_at, notice.id));
        Ok(lines)
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
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = if present {
                if tx.query_opt("SELECT 1 FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &subject.0])?.is_none() {
                    return Err(StoreError::NotFound("subject"));
                }
                tx.execute(
                    "INSERT INTO tenant_contacts (tenant_id, customer_id, subject_id, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&tenant.0, &customer.0, &subject.0, &micros(at)],
                )?
            } else {
                tx.execute(
                    "DELETE FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = $2 AND subject_id = $3",
                    &[&tenant.0, &customer.0, &subject.0],
                )?
            };
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::tenant_contact(actor, customer, subject, present))?;
            }
            Ok(changed > 0)
        })
    }

    fn tenant_contacts(&self, tenant: TenantId, customer: TenantId) -> Result<Vec<SubjectId>> {
        self.read(|client| {
            Ok(client
                .query(
                    "SELECT subject_id FROM tenant_contacts WHERE tenant_id = $1 AND customer_id = $2 ORDER BY added_at, subject_id",
                    &[&tenant.0, &customer.0],
                )?
                .iter()
                .map(|row| SubjectId(row.get(0)))
                .collect())
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
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = if selected {
                tx.execute(
                    "INSERT INTO tenant_recipients (tenant_id, recipient_id, selected_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&tenant.0, &recipient, &micros(at)],
                )?
            } else {
                tx.execute("DELETE FROM tenant_recipients WHERE tenant_id = $1 AND recipient_id = $2", &[&tenant.0, &recipient])?
            };
            if changed > 0 {
                Self::append(tx, tenant, at, NewAuditEntry::recipient_selected(actor, recipient, selected))?;
            }
            Ok(changed > 0)
        })
    }

    fn selected_recipients(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|client| {
            client
                .query("SELECT recipient_id, selected_at FROM tenant_recipients WHERE tenant_id = $1 ORDER BY recipient_id", &[&tenant.0])?
                .iter()
                .map(|row| Ok((row.get(0), timestamp(row.get(1))?)))
                .collect()
        })
    }

    fn tenants_selecting(&self, recipient: &str) -> Result<Vec<TenantId>> {
        self.read(|client| {
            Ok(client
                .query("SELECT tenant_id FROM tenant_recipients WHERE recipient_id = $1 ORDER BY tenant_id", &[&recipient])?
                .iter()
                .map(|row| TenantId(row.get(0)))
                .collect())
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
            Self::lock_tenant(tx, tenant)?;
            tx.execute(
                "INSERT INTO recipient_changes (tenant_id, change_id, created_at, document) VALUES ($1, $2, $3, $4)",
                &[&tenant.0, &change.id.0, &micros(change.created_at), &document],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::recipient_change(actor, change))?;
            Ok(())
        })
    }

    fn recipient_change(
        &self,
        tenant: TenantId,
        id: crate::subprocessors::ChangeId,
    ) -> Result<Option<crate::subprocessors::RecipientChange>> {
        self.read(|client| {
            client
                .query_opt("SELECT document FROM recipient_changes WHERE tenant_id = $1 AND change_id = $2", &[&tenant.0, &id.0])?
                .map(|row| crate::subprocessors::change_of(row.get(0)))
                .transpose()
        })
    }

    fn recipient_changes(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<crate::subprocessors::RecipientChange>> {
        self.read(|client| {
            client
                .query("SELECT document FROM recipient_changes WHERE tenant_id = $1 ORDER BY created_at DESC, change_id DESC", &[&tenant.0])?
                .iter()
                .map(|row| crate::subprocessors::change_of(row.get(0)))
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
            Self::lock_tenant(tx, tenant)?;
            let added = tx.execute(
                "INSERT INTO recipient_objections (tenant_id, change_id, customer_id, recipient_id, reason, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&tenant.0, &objection.change.0, &objection.tenant.0, &objection.recipient, &objection.reason, &micros(objection.at)],
            )?;
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
        self.read(|client| {
            client
                .query(
                    "SELECT customer_id, recipient_id, reason, at FROM recipient_objections WHERE tenant_id = $1 AND change_id = $2 ORDER BY at, customer_id, recipient_id",
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| Ok(crate::subprocessors::Objection { change: id, tenant: TenantId(row.get(0)), recipient: row.get(1), reason: row.get(2), at: timestamp(row.get(3))? }))
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
        for (table, id_column, sealed_columns, mail) in SEALED {
            let columns = format!("tenant_id, {id_column}, {}", sealed_columns.join(", "));
            let mut after: Option<(Uuid, Uuid)> = None;
            loop {
                let rows = self.read(|client| {
                    Ok(match &after {
                        None => client.query(
                            &format!("SELECT {columns} FROM {table} ORDER BY 1, 2 LIMIT {REWRAP_BATCH}"),
                            &[],
                        )?,
                        Some((t, id)) => client.query(
                            &format!("SELECT {columns} FROM {table} WHERE (tenant_id, {id_column}) > ($1, $2) ORDER BY 1, 2 LIMIT {REWRAP_BATCH}"),
                            &[t, id],
                        )?,
                    })
                })?;
                let Some(last) = rows.last() else { break };
                after = Some((last.get(0), last.get(1)));
                let mut updates = Vec::new();
                for row in &rows {
                    let (tenant, object): (Uuid, Uuid) = (row.get(0), row.get(1));
                    for (i, column) in sealed_columns.iter().enumerate() {
                        let Some(sealed) = row.get::<_, Option<Vec<u8>>>(2 + i) else {
                            continue;
                        };
                        let resealed = crate::requests::reseal_column(
                            &keyring, mail, column, tenant, object, &sealed,
                        )?;
                        if let Some(resealed) = resealed {
                            updates.push((tenant, object, *column, sealed, resealed));
                        }
                    }
                }
                if updates.is_empty() {
                    continue;
                }
                self.write(|tx| {
                    for (tenant, object, column, old, new) in &updates {
                        // Only if unchanged meanwhile: an erasure may have dropped the row, a
                        // second rotation may have sealed it already.
                        total += tx.execute(
                            &format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND tenant_id = $3 AND {id_column} = $4"),
                            &[new, old, tenant, object],
                        )?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(total)
    }

    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>> {
        self.read(|client| {
            let mut counts = std::collections::BTreeMap::new();
            for (table, _, sealed_columns, _) in SEALED {
                for column in sealed_columns {
                    // V1 values carry no generation (they are generation 1); V2 carry it in
                    // bytes 2 to 5.
                    let sql = format!(
                        "SELECT CASE WHEN substring({column} from 1 for 1) = '\\x01'::bytea THEN '\\x01'::bytea ELSE substring({column} from 1 for 5) END AS prefix, COUNT(*)
                         FROM {table} WHERE {column} IS NOT NULL GROUP BY prefix"
                    );
                    for row in client.query(&sql, &[])? {
                        let (prefix, count): (Vec<u8>, i64) = (row.get(0), row.get(1));
                        let generation = crate::crypto::sealed_generation(&prefix)
                            .ok_or_else(|| StoreError::Corrupt(format!("{table}.{column}: a sealed value of unknown format")))?;
                        *counts.entry(generation).or_insert(0) += count.max(0) as u64;
                    }
                }
            }
            Ok(counts)
        })
    }

    fn purge_deleted(&self) -> Result<()> {
        // Deleted rows are PostgreSQL's to vacuum; no query can read them any more.
        Ok(())
    }

    fn maintain(&self) -> Result<()> {
        // Autovacuum keeps PostgreSQL's statistics.
        Ok(())
    }

    fn retention_batch(
        &self,
        tenant: TenantId,
        after: Option<SubjectId>,
        limit: usize,
    ) -> Result<Vec<RetentionSubject>> {
        self.read(|client| {
            // One snapshot for the three reads, so records and events agree with the subjects.
            let mut tx = client.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
            let after = after.map_or(Uuid::nil(), |s| s.0);
            let subjects: Vec<Uuid> = tx
                .query(
                    "SELECT subject_id FROM subjects WHERE tenant_id = $1 AND subject_id > $2 ORDER BY subject_id LIMIT $3",
                    &[&tenant.0, &after, &i64::try_from(limit).unwrap_or(i64::MAX)],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let Some(&last) = subjects.last() else { return Ok(vec![]) };
            let position: std::collections::HashMap<Uuid, usize> = subjects.iter().enumerate().map(|(i, s)| (*s, i)).collect();
            let mut batch: Vec<RetentionSubject> =
                subjects.iter().map(|s| RetentionSubject { subject: SubjectId(*s), records: vec![], events: vec![] }).collect();
            for row in tx.query(
                "SELECT subject_id, record_id, category, purposes, source, collected_at FROM records
                 WHERE tenant_id = $1 AND subject_id > $2 AND subject_id <= $3",
                &[&tenant.0, &after, &last],
            )? {
                let Some(&i) = position.get(&row.get::<_, Uuid>(0)) else { continue };
                let purposes: String = row.get(3);
                batch[i].records.push(RecordMeta {
                    id: RecordId(row.get(1)),
                    category: row.get(2),
                    purposes: split_purposes(&purposes),
                    source: row.get(4),
                    collected_at: timestamp(row.get(5))?,
                });
            }
            for row in tx.query(
                "SELECT subject_id, event_id, kind, purpose, occurred_at, recorded_at, channel, policy_version FROM events
                 WHERE tenant_id = $1 AND subject_id > $2 AND subject_id <= $3 ORDER BY subject_id, occurred_at, event_id",
                &[&tenant.0, &after, &last],
            )? {
                let subject: Uuid = row.get(0);
                let Some(&i) = position.get(&subject) else { continue };
                batch[i].events.push(stored_event(SubjectId(subject), &row, 1)?);
            }
            tx.commit()?;
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
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let mut swept = Swept::default();
            let mut entries = Vec::new();
            for expiry in expiries {
                let ids: Vec<Uuid> = expiry.records.iter().map(|(r, _)| r.0).collect();
                let removed: std::collections::HashMap<Uuid, String> = tx
                    .query(
                        "DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2 AND record_id = ANY($3) RETURNING record_id, category",
                        &[&tenant.0, &expiry.subject.0, &ids],
                    )?
                    .iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect();
                if removed.is_empty() {
                    continue;
                }
                let mut by_rule: std::collections::BTreeMap<&str, (BTreeSet<String>, usize)> = Default::default();
                for (record, rule) in &expiry.records {
                    if let Some(category) = removed.get(&record.0) {
                        let entry = by_rule.entry(rule.as_str()).or_default();
                        entry.0.insert(category.clone());
                        entry.1 += 1;
                    }
                }
                let left: bool = tx
                    .query_one("SELECT EXISTS (SELECT 1 FROM records WHERE tenant_id = $1 AND subject_id = $2)", &[&tenant.0, &expiry.subject.0])?
                    .get(0);
                let whole = expiry.subject_may_go && !left;
                if whole {
                    tx.execute("DELETE FROM identities WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &expiry.subject.0])?;
                    tx.execute("DELETE FROM events WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &expiry.subject.0])?;
                    // The key goes with the row (ON DELETE CASCADE).
                    tx.execute("DELETE FROM subjects WHERE tenant_id = $1 AND subject_id = $2", &[&tenant.0, &expiry.subject.0])?;
                    tx.execute(
                        "INSERT INTO tombstones (tenant_id, subject_id, request_id, erased_at, partial) VALUES ($1, $2, NULL, $3, false)
                         ON CONFLICT (tenant_id, subject_id) DO UPDATE SET request_id = NULL, erased_at = excluded.erased_at, partial = false",
                        &[&tenant.0, &expiry.subject.0, &micros(at)],
                    )?;
                    swept.subjects += 1;
                }
                for (rule, (categories, count)) in by_rule {
                    swept.records += count as u64;
                    entries.push(NewAuditEntry::records_expired(actor, expiry.subject, rule, categories, count, whole));
                }
            }
            Self::append_many(tx, tenant, at, entries)?;
            Ok(swept)
        })
    }

    fn remove_expired_exports(&self, at: Timestamp) -> Result<u64> {
        let expired: Vec<(TenantId, Vec<u8>)> = self.read(|client| {
            Ok(client
                .query(
                    "SELECT tenant_id, token_hash FROM exports WHERE expires_at <= $1",
                    &[&micros(at)],
                )?
                .iter()
                .map(|row| (TenantId(row.get(0)), row.get(1)))
                .collect())
        })?;
        let mut removed = 0;
        for (tenant, token_hash) in expired {
            let hash = hash32(token_hash)?;
            // take_export deletes and audits an expired export without handing it out.
            if self.take_export(tenant, &hash, at)?.is_none() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn lease_mails(&self, at: Timestamp, until: Timestamp, limit: usize) -> Result<Vec<Mail>> {
        self.write(|tx| {
            // SKIP LOCKED: replicas draining the outbox at the same moment take different mails.
            let rows = tx.query(
                "WITH leased AS (
                   UPDATE outbox SET leased_until = $2 WHERE (tenant_id, mail_id) IN (
                     SELECT tenant_id, mail_id FROM outbox
                     WHERE sent_at IS NULL AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) AND attempts < $3
                     ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                   RETURNING tenant_id, mail_id, template, attempts, sealed_message, sealed_to, notice_id)
                 SELECT l.tenant_id, l.mail_id, l.template, l.attempts, l.sealed_message, l.sealed_to, b.subject_line, b.body FROM leased l
                   LEFT JOIN notices n ON n.tenant_id = l.tenant_id AND n.notice_id = l.notice_id
                   LEFT JOIN notice_bodies b ON b.tenant_id = n.tenant_id AND b.body_hash = n.body_hash",
                &[&micros(at), &micros(until), &i32::try_from(MAIL_MAX_ATTEMPTS).unwrap_or(i32::MAX), &(limit as i64)],
            )?;
            rows.iter()
                .map(|row| {
                    let (tenant, id) = (TenantId(row.get(0)), MailId(row.get(1)));
                    let to: Vec<u8> = row.get(5);
                    let notice = match (row.get::<_, Option<String>>(6), row.get::<_, Option<String>>(7)) {
                        (Some(subject), Some(body)) => Some((subject, body)),
                        _ => None,
                    };
                    leased_mail(&self.keyring(), tenant, id, row.get(2), u32::try_from(row.get::<_, i32>(3)).unwrap_or(0), row.get(4), &to, notice)
                })
                .collect()
        })
    }

    fn mail_sent(&self, tenant: TenantId, mail: MailId, at: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET sent_at = $3, sealed_message = NULL, leased_until = NULL, attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND mail_id = $2",
                &[&tenant.0, &mail.0, &micros(at)],
            )?;
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
            tx.execute(
                "UPDATE outbox SET next_attempt_at = $3, leased_until = NULL, attempts = attempts + 1, last_error = $4 WHERE tenant_id = $1 AND mail_id = $2",
                &[&tenant.0, &mail.0, &micros(retry_at), &error],
            )?;
            Ok(())
        })
    }

    fn mails(&self, tenant: TenantId, request: Option<RequestId>) -> Result<Vec<MailRecord>> {
        self.read(|client| {
            client
                .query(
                    "SELECT mail_id, request_id, template, sealed_to, created_at, sent_at, attempts, last_error FROM outbox
                     WHERE tenant_id = $1 AND ($2::uuid IS NULL OR request_id = $2) ORDER BY mail_id",
                    &[&tenant.0, &request.map(|r| r.0)],
                )?
                .iter()
                .map(|row| {
                    let id = MailId(row.get(0));
                    let to: Vec<u8> = row.get(3);
                    Ok(MailRecord {
                        id,
                        request: row.get::<_, Option<Uuid>>(1).map(RequestId),
                        to: Some(open_mail_to(&self.keyring(), id, &to)?),
                        template: row.get(2),
                        created_at: timestamp(row.get(4))?,
                        sent_at: row.get::<_, Option<i64>>(5).map(timestamp).transpose()?,
                        attempts: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
                        last_error: row.get(7),
                    })
                })
                .collect()
        })
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
    seqs: Vec<i64>,
    actors: Vec<String>,
    actions: Vec<String>,
    subjects: Vec<Option<Uuid>>,
    categories: Vec<String>,
    purposes: Vec<Option<String>>,
    details: Vec<Option<String>>,
    prevs: Vec<Vec<u8>>,
    hashes: Vec<Vec<u8>>,
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

fn request_row(row: &Row, base: usize) -> RequestRow {
    let c = |i: usize| base + i;
    RequestRow {
        id: row.get(c(0)),
        kind: row.get(c(1)),
        status: row.get(c(2)),
        subject: row.get(c(3)),
        purpose: row.get(c(4)),
        category: row.get(c(5)),
        record: row.get(c(6)),
        channel: row.get(c(7)),
        wrapped_key: row.get(c(8)),
        sealed: row.get(c(9)),
        times: [
            Some(row.get(c(10))),
            row.get(c(11)),
            row.get(c(13)),
            row.get(c(14)),
            row.get(c(15)),
            row.get(c(17)),
        ],
        verified_by: row.get(c(12)),
        extension_reason: row.get(c(16)),
        refusal_reason: row.get(c(18)),
        outcome: row.get(c(19)),
        code_hash: row.get(c(20)),
        code_expires_at: row.get(c(21)),
        code_attempts: i64::from(row.get::<_, i32>(c(22))),
        locked: row.get(c(23)),
        overdue_at: row.get(c(24)),
        version: row.get(c(25)),
    }
}
