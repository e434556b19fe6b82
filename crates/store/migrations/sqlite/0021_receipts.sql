-- The public halves of the keys receipts are signed with. The private halves are derived from
-- the master key by key id and never stored; a retired key is no longer published, so what it
-- signed stops verifying.
CREATE TABLE receipt_keys (
    kid         TEXT PRIMARY KEY,
    public_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- Signed receipts of sweep runs and of each day's audit-chain head (a request's receipt is
-- kept with the request). One per tenant, kind and subject: issuing again changes nothing.
CREATE TABLE receipts (
    tenant_id   BLOB NOT NULL,
    receipt_id  BLOB NOT NULL,
    kind        TEXT NOT NULL,
    about       TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    jws         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, receipt_id),
    UNIQUE (tenant_id, kind, about)
);
