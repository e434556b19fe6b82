-- The audit log has a retention of its own. Pruning removes a tenant's oldest entries and
-- leaves a checkpoint: the last removed entry's number, hash and time. Verification starts
-- from it, so what remains still proves itself. Entries may be deleted only behind a
-- checkpoint, and a checkpoint only moves forward: the log stays append-only everywhere else.
CREATE TABLE audit_checkpoints (
    tenant_id  uuid NOT NULL PRIMARY KEY,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    at         bigint NOT NULL,
    pruned_at  bigint NOT NULL
);

CREATE FUNCTION audit_log_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.tenant_id = OLD.tenant_id AND c.seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only; only entries behind a checkpoint are pruned';
END;
$$;
DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_prune_only();

CREATE FUNCTION audit_checkpoints_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq AND NEW.tenant_id = OLD.tenant_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an audit checkpoint only moves forward';
END;
$$;
CREATE TRIGGER audit_checkpoints_forward BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_forward();
