-- The audit log has a retention of its own. Pruning removes a tenant's oldest entries and
-- leaves a checkpoint: the last removed entry's number, hash and time. Verification starts
-- from it, so what remains still proves itself. Entries may be deleted only behind a
-- checkpoint, and a checkpoint only moves forward: the log stays append-only everywhere else.
CREATE TABLE audit_checkpoints (
    tenant_id  BLOB NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    at         INTEGER NOT NULL,
    pruned_at  INTEGER NOT NULL
) WITHOUT ROWID;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (
    SELECT 1 FROM audit_checkpoints c WHERE c.tenant_id = OLD.tenant_id AND c.seq >= OLD.seq
)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only; only entries behind a checkpoint are pruned');
END;

CREATE TRIGGER audit_checkpoints_forward BEFORE UPDATE ON audit_checkpoints
WHEN NEW.seq < OLD.seq OR NEW.tenant_id != OLD.tenant_id
BEGIN
    SELECT RAISE(ABORT, 'an audit checkpoint only moves forward');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'an audit checkpoint only moves forward');
END;
