-- The notice ledger. A notice's text is stored once per tenant under its content hash; every
-- person in its audience gets one delivery row (queued with its mail, or skipped with why),
-- which outlives the person: the ledger is the record of who was told what. Service messages
-- are operator text, not personal data; the address each went to is sealed in the outbox.
CREATE TABLE notice_bodies (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    body_hash     BLOB NOT NULL,
    subject_line  TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, body_hash)
) WITHOUT ROWID;

CREATE TABLE notices (
    tenant_id    BLOB NOT NULL,
    notice_id    BLOB NOT NULL,
    kind         TEXT NOT NULL,
    mandatory    INTEGER NOT NULL CHECK (mandatory IN (0, 1)),
    body_hash    BLOB NOT NULL,
    audience     TEXT NOT NULL,
    incident_id  BLOB,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    queued       INTEGER NOT NULL,
    skipped      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, notice_id),
    FOREIGN KEY (tenant_id, body_hash) REFERENCES notice_bodies (tenant_id, body_hash)
) WITHOUT ROWID;
CREATE INDEX notices_by_time ON notices (tenant_id, created_at);

CREATE TABLE notice_deliveries (
    tenant_id   BLOB NOT NULL,
    notice_id   BLOB NOT NULL,
    subject_id  BLOB NOT NULL,
    mail_id     BLOB,
    skipped     TEXT,
    PRIMARY KEY (tenant_id, notice_id, subject_id),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES notices (tenant_id, notice_id)
) WITHOUT ROWID;
-- No index by person: it would take a random write per person of every notice. What one
-- person received is read notice by notice through the primary key; a tenant sends notices
-- by the hundred, people by the hundred thousand.

CREATE TRIGGER notice_deliveries_no_update BEFORE UPDATE ON notice_deliveries
BEGIN
    SELECT RAISE(ABORT, 'the notice ledger only grows');
END;
CREATE TRIGGER notice_deliveries_no_delete BEFORE DELETE ON notice_deliveries
BEGIN
    SELECT RAISE(ABORT, 'the notice ledger only grows');
END;

-- The people at a customer who receive its service messages: subjects of the operator's own
-- tenant (the operator is controller of its customers' contact details).
CREATE TABLE tenant_contacts (
    tenant_id    BLOB NOT NULL,
    customer_id  BLOB NOT NULL REFERENCES tenants (tenant_id),
    subject_id   BLOB NOT NULL,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- A notice's mails carry no message of their own: the text is the notice's.
ALTER TABLE outbox ADD COLUMN notice_id BLOB;
