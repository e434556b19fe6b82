-- Scoping a breach by who read what: "everything this key read between T1 and T2" walks one
-- actor's entries in time order instead of the whole log.
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor, at);
