-- Idempotency-Key claims: the first request with a key runs; a repeat gets its response.
-- status is NULL while the first request runs.
CREATE TABLE idempotency_keys (
    tenant_id        uuid NOT NULL,
    idempotency_key  text NOT NULL,
    request_hash     bytea NOT NULL,
    status           integer,
    body             bytea,
    created_at       bigint NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
