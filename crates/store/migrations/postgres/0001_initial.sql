-- The same schema as SQLite's, in PostgreSQL types. tenant_id leads every key, so the tables
-- can later be distributed by tenant. Times are microseconds since the Unix epoch (UTC).

CREATE TABLE tenants (
    tenant_id   uuid PRIMARY KEY,
    name        text NOT NULL,
    operator    boolean NOT NULL DEFAULT false,
    created_at  bigint NOT NULL
);
CREATE UNIQUE INDEX tenants_single_operator ON tenants (operator) WHERE operator;

CREATE TABLE api_keys (
    tenant_id      uuid NOT NULL REFERENCES tenants (tenant_id),
    key_id         uuid NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL,
    operator_wide  boolean NOT NULL DEFAULT false,
    secret_hash    bytea NOT NULL,
    created_at     bigint NOT NULL,
    revoked_at     bigint,
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);

CREATE TABLE subjects (
    tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id),
    subject_id      uuid NOT NULL,
    wrapped_key     bytea NOT NULL,
    key_generation  integer NOT NULL DEFAULT 1,
    created_at      bigint NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

CREATE TABLE identities (
    tenant_id     uuid NOT NULL,
    blind_index   bytea NOT NULL,
    subject_id    uuid NOT NULL,
    kind          text NOT NULL,
    sealed_value  bytea NOT NULL,
    PRIMARY KEY (tenant_id, blind_index),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
);
CREATE INDEX identities_by_subject ON identities (tenant_id, subject_id);

CREATE TABLE records (
    tenant_id     uuid NOT NULL,
    subject_id    uuid NOT NULL,
    record_id     uuid NOT NULL,
    category      text NOT NULL,
    purposes      text NOT NULL,
    source        text NOT NULL,
    collected_at  bigint NOT NULL,
    sealed_value  bytea NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, record_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
);

CREATE TABLE events (
    tenant_id       uuid NOT NULL,
    subject_id      uuid NOT NULL,
    event_id        uuid NOT NULL,
    kind            text NOT NULL,
    purpose         text,
    occurred_at     bigint NOT NULL,
    recorded_at     bigint NOT NULL,
    channel         text,
    policy_version  text,
    PRIMARY KEY (tenant_id, subject_id, event_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
);

CREATE TABLE audit_log (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    at          bigint NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    subject_id  uuid,
    categories  text NOT NULL,
    purpose     text,
    detail      text,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_by_subject ON audit_log (tenant_id, subject_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
