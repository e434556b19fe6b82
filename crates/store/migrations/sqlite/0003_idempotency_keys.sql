-- Idempotency-Key claims: the first request with a key runs; a repeat gets its response.
-- status is NULL while the first request runs.
CREATE TABLE idempotency_keys (
    tenant_id        BLOB NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request_hash     BLOB NOT NULL,
    status           INTEGER,
    body             BLOB,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
) WITHOUT ROWID;
