-- Every table carries tenant_id and it leads every key, so the PostgreSQL schema can later be
-- distributed by tenant. Times are microseconds since the Unix epoch (UTC). Personal data is
-- stored only sealed (sealed_value) or as keyed hashes (blind_index).

CREATE TABLE tenants (
    tenant_id   BLOB NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    operator    INTEGER NOT NULL DEFAULT 0 CHECK (operator IN (0, 1)),
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX tenants_single_operator ON tenants (operator) WHERE operator = 1;

CREATE TABLE api_keys (
    tenant_id      BLOB NOT NULL REFERENCES tenants (tenant_id),
    key_id         BLOB NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    operator_wide  INTEGER NOT NULL DEFAULT 0 CHECK (operator_wide IN (0, 1)),
    secret_hash    BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    PRIMARY KEY (tenant_id, key_id)
) WITHOUT ROWID;
-- Authentication finds a key by its hash before the tenant is known: the one lookup that does
-- not start from a tenant.
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);

CREATE TABLE subjects (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    subject_id      BLOB NOT NULL,
    wrapped_key     BLOB NOT NULL,
    key_generation  INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
) WITHOUT ROWID;

CREATE TABLE identities (
    tenant_id     BLOB NOT NULL,
    blind_index   BLOB NOT NULL,
    subject_id    BLOB NOT NULL,
    kind          TEXT NOT NULL,
    sealed_value  BLOB NOT NULL,
    PRIMARY KEY (tenant_id, blind_index),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX identities_by_subject ON identities (tenant_id, subject_id);

CREATE TABLE records (
    tenant_id     BLOB NOT NULL,
    subject_id    BLOB NOT NULL,
    record_id     BLOB NOT NULL,
    category      TEXT NOT NULL,
    purposes      TEXT NOT NULL,
    source        TEXT NOT NULL,
    collected_at  INTEGER NOT NULL,
    sealed_value  BLOB NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, record_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE events (
    tenant_id       BLOB NOT NULL,
    subject_id      BLOB NOT NULL,
    event_id        BLOB NOT NULL,
    kind            TEXT NOT NULL,
    purpose         TEXT,
    occurred_at     INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    channel         TEXT,
    policy_version  TEXT,
    PRIMARY KEY (tenant_id, subject_id, event_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE audit_log (
    tenant_id   BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject_id  BLOB,
    categories  TEXT NOT NULL,
    purpose     TEXT,
    detail      TEXT,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_log_by_subject ON audit_log (tenant_id, subject_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
