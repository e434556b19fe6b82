-- The breach register. An incident is one JSON document (its fields change as it is handled)
-- with the columns lists and the deadline gauge need; its timeline only grows.
CREATE TABLE incidents (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    incident_id  BLOB NOT NULL,
    open         INTEGER NOT NULL CHECK (open IN (0, 1)),
    aware_at     INTEGER NOT NULL,
    deadline_at  INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id)
) WITHOUT ROWID;
CREATE INDEX incidents_open ON incidents (open, deadline_at);

CREATE TABLE incident_steps (
    tenant_id    BLOB NOT NULL,
    incident_id  BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, seq),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, incident_id)
) WITHOUT ROWID;

CREATE TRIGGER incident_steps_no_update BEFORE UPDATE ON incident_steps
BEGIN
    SELECT RAISE(ABORT, 'an incident timeline only grows');
END;
CREATE TRIGGER incident_steps_no_delete BEFORE DELETE ON incident_steps
BEGIN
    SELECT RAISE(ABORT, 'an incident timeline only grows');
END;
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
BEGIN
    SELECT RAISE(ABORT, 'incidents are never deleted');
END;
