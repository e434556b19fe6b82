-- The public halves of the keys receipts are signed with. The private halves are derived from
-- the master key by key id and never stored; a retired key is no longer published, so what it
-- signed stops verifying. Shared by all tenants: a reference table.
CREATE TABLE receipt_keys (
    kid         text PRIMARY KEY,
    public_key  bytea NOT NULL,
    created_at  bigint NOT NULL,
    retired_at  bigint
);

-- Signed receipts of sweep runs and of each day's audit-chain head (a request's receipt is
-- kept with the request). One per tenant, kind and subject: issuing again changes nothing.
CREATE TABLE receipts (
    tenant_id   uuid NOT NULL,
    receipt_id  uuid NOT NULL,
    kind        text NOT NULL,
    about       text NOT NULL,
    issued_at   bigint NOT NULL,
    jws         text NOT NULL,
    PRIMARY KEY (tenant_id, receipt_id),
    UNIQUE (tenant_id, kind, about)
);
