-- The notice ledger. A notice's text is stored once per tenant under its content hash; every
-- person in its audience gets one delivery row (queued with its mail, or skipped with why),
-- which outlives the person: the ledger is the record of who was told what. Service messages
-- are operator text, not personal data; the address each went to is sealed in the outbox.
CREATE TABLE notice_bodies (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
    body_hash     bytea NOT NULL,
    subject_line  text NOT NULL,
    body          text NOT NULL,
    PRIMARY KEY (tenant_id, body_hash)
);

CREATE TABLE notices (
    tenant_id    uuid NOT NULL,
    notice_id    uuid NOT NULL,
    kind         text NOT NULL,
    mandatory    boolean NOT NULL,
    body_hash    bytea NOT NULL,
    audience     text NOT NULL,
    incident_id  uuid,
    created_at   bigint NOT NULL,
    created_by   text NOT NULL,
    queued       bigint NOT NULL,
    skipped      bigint NOT NULL,
    PRIMARY KEY (tenant_id, notice_id),
    FOREIGN KEY (tenant_id, body_hash) REFERENCES notice_bodies (tenant_id, body_hash)
);
CREATE INDEX notices_by_time ON notices (tenant_id, created_at);

CREATE TABLE notice_deliveries (
    tenant_id   uuid NOT NULL,
    notice_id   uuid NOT NULL,
    subject_id  uuid NOT NULL,
    mail_id     uuid,
    skipped     text,
    PRIMARY KEY (tenant_id, notice_id, subject_id),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES notices (tenant_id, notice_id)
);
-- No index by person: it would take a random write per person of every notice. What one
-- person received is read notice by notice through the primary key; a tenant sends notices
-- by the hundred, people by the hundred thousand.

CREATE FUNCTION notice_ledger_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the notice ledger only grows';
END;
$$;
CREATE TRIGGER notice_deliveries_append_only BEFORE UPDATE OR DELETE ON notice_deliveries FOR EACH ROW EXECUTE FUNCTION notice_ledger_only_grows();

-- The people at a customer who receive its service messages: subjects of the operator's own
-- tenant (the operator is controller of its customers' contact details).
CREATE TABLE tenant_contacts (
    tenant_id    uuid NOT NULL,
    customer_id  uuid NOT NULL REFERENCES tenants (tenant_id),
    subject_id   uuid NOT NULL,
    added_at     bigint NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
);

-- A notice's mails carry no message of their own: the text is the notice's.
ALTER TABLE outbox ADD COLUMN notice_id uuid;
