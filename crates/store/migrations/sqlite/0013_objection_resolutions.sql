-- How an objection to a sub-processor change ended: accepted (the customer's selection excludes
-- the provider, or its contract ends) or withdrawn. One resolution per objection, kept as
-- recorded; the objection itself stays as raised.
CREATE TABLE recipient_objection_resolutions (
    tenant_id     BLOB NOT NULL,
    change_id     BLOB NOT NULL,
    customer_id   BLOB NOT NULL,
    recipient_id  TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('accepted', 'withdrawn')),
    note          TEXT NOT NULL,
    at            INTEGER NOT NULL,
    by_actor      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, change_id, customer_id, recipient_id),
    FOREIGN KEY (tenant_id, change_id, customer_id, recipient_id)
        REFERENCES recipient_objections (tenant_id, change_id, customer_id, recipient_id)
) WITHOUT ROWID;
CREATE TRIGGER recipient_objection_resolutions_no_update BEFORE UPDATE ON recipient_objection_resolutions
BEGIN
    SELECT RAISE(ABORT, 'a resolution is kept as recorded');
END;
CREATE TRIGGER recipient_objection_resolutions_no_delete BEFORE DELETE ON recipient_objection_resolutions
BEGIN
    SELECT RAISE(ABORT, 'a resolution is kept as recorded');
END;
