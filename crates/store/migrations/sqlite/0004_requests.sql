-- Data-subject requests. The person's address and a rectification's new value are sealed with
-- the request's own key (wrapped_key); everything else here is free of personal data.
CREATE TABLE requests (
    tenant_id        BLOB NOT NULL REFERENCES tenants (tenant_id),
    request_id       BLOB NOT NULL,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    subject_id       BLOB,
    purpose          TEXT,
    category         TEXT,
    record_id        BLOB,
    channel          TEXT NOT NULL,
    wrapped_key      BLOB NOT NULL,
    sealed           BLOB NOT NULL,
    received_at      INTEGER NOT NULL,
    verified_at      INTEGER,
    verified_by      TEXT,
    first_due_at     INTEGER,
    due_at           INTEGER,
    extended_at      INTEGER,
    extension_reason TEXT,
    closed_at        INTEGER,
    refusal_reason   TEXT,
    outcome          TEXT,
    code_hash        BLOB,
    code_expires_at  INTEGER,
    code_attempts    INTEGER NOT NULL DEFAULT 0,
    locked           INTEGER NOT NULL DEFAULT 0,
    overdue_at       INTEGER,
    version          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
) WITHOUT ROWID;
CREATE INDEX requests_by_status ON requests (tenant_id, status, request_id);
CREATE INDEX requests_by_due ON requests (due_at) WHERE closed_at IS NULL;

-- Exports wait here, sealed with a key derived from their download token, until fetched once.
CREATE TABLE exports (
    tenant_id   BLOB NOT NULL,
    token_hash  BLOB NOT NULL,
    request_id  BLOB NOT NULL,
    file_name   TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, request_id)
) WITHOUT ROWID;

-- Erased subjects, so that a restore from an older backup can replay the erasures.
CREATE TABLE tombstones (
    tenant_id   BLOB NOT NULL,
    subject_id  BLOB NOT NULL,
    request_id  BLOB,
    erased_at   INTEGER NOT NULL,
    partial     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
) WITHOUT ROWID;

-- Mail waiting to go out and the record of mail sent. The message is dropped once sent; the
-- address, template and times stay as the record of who was told what, when.
CREATE TABLE outbox (
    tenant_id        BLOB NOT NULL,
    mail_id          BLOB NOT NULL,
    request_id       BLOB,
    template         TEXT NOT NULL,
    sealed_to        BLOB NOT NULL,
    sealed_message   BLOB,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    leased_until     INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          INTEGER,
    PRIMARY KEY (tenant_id, mail_id)
) WITHOUT ROWID;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;
