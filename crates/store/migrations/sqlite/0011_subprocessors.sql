-- The optional recipients a customer chose (a hosting provider it picked), and the change
-- notices about recipients sent to customers with the objections they raised. A change is one
-- JSON document (what changed, who was told by which notice, until when they may object);
-- objections only grow.
CREATE TABLE tenant_recipients (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    recipient_id  TEXT NOT NULL,
    selected_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, recipient_id)
) WITHOUT ROWID;
CREATE INDEX tenant_recipients_by_recipient ON tenant_recipients (recipient_id, tenant_id);

CREATE TABLE recipient_changes (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    change_id   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, change_id)
) WITHOUT ROWID;

CREATE TABLE recipient_objections (
    tenant_id     BLOB NOT NULL,
    change_id     BLOB NOT NULL,
    customer_id   BLOB NOT NULL,
    recipient_id  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, change_id, customer_id, recipient_id),
    FOREIGN KEY (tenant_id, change_id) REFERENCES recipient_changes (tenant_id, change_id)
) WITHOUT ROWID;
CREATE TRIGGER recipient_objections_no_update BEFORE UPDATE ON recipient_objections
BEGIN
    SELECT RAISE(ABORT, 'objections are kept as raised');
END;
CREATE TRIGGER recipient_objections_no_delete BEFORE DELETE ON recipient_objections
BEGIN
    SELECT RAISE(ABORT, 'objections are kept as raised');
END;
