-- Data-subject requests. The person's address and a rectification's new value are sealed with
-- the request's own key (wrapped_key); everything else here is free of personal data.
CREATE TABLE requests (
    tenant_id        uuid NOT NULL REFERENCES tenants (tenant_id),
    request_id       uuid NOT NULL,
    kind             text NOT NULL,
    status           text NOT NULL,
    subject_id       uuid,
    purpose          text,
    category         text,
    record_id        uuid,
    channel          text NOT NULL,
    wrapped_key      bytea NOT NULL,
    sealed           bytea NOT NULL,
    received_at      bigint NOT NULL,
    verified_at      bigint,
    verified_by      text,
    first_due_at     bigint,
    due_at           bigint,
    extended_at      bigint,
    extension_reason text,
    closed_at        bigint,
    refusal_reason   text,
    outcome          text,
    code_hash        bytea,
    code_expires_at  bigint,
    code_attempts    integer NOT NULL DEFAULT 0,
    locked           boolean NOT NULL DEFAULT false,
    overdue_at       bigint,
    version          bigint NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX requests_by_status ON requests (tenant_id, status, request_id);
CREATE INDEX requests_by_due ON requests (due_at) WHERE closed_at IS NULL;

-- Exports wait here, sealed with a key derived from their download token, until fetched once.
CREATE TABLE exports (
    tenant_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,
    request_id  uuid NOT NULL,
    file_name   text NOT NULL,
    sealed      bytea NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, request_id)
);

-- Erased subjects, so that a restore from an older backup can replay the erasures.
CREATE TABLE tombstones (
    tenant_id   uuid NOT NULL,
    subject_id  uuid NOT NULL,
    request_id  uuid,
    erased_at   bigint NOT NULL,
    partial     boolean NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

-- Mail waiting to go out and the record of mail sent. The message is dropped once sent; the
-- address, template and times stay as the record of who was told what, when.
CREATE TABLE outbox (
    tenant_id        uuid NOT NULL,
    mail_id          uuid NOT NULL,
    request_id       uuid,
    template         text NOT NULL,
    sealed_to        bytea NOT NULL,
    sealed_message   bytea,
    created_at       bigint NOT NULL,
    next_attempt_at  bigint NOT NULL,
    leased_until     bigint,
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    sent_at          bigint,
    PRIMARY KEY (tenant_id, mail_id)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;
