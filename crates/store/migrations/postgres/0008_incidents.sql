-- The breach register. An incident is one JSON document (its fields change as it is handled)
-- with the columns lists and the deadline gauge need; its timeline only grows.
CREATE TABLE incidents (
    tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
    incident_id  uuid NOT NULL,
    open         boolean NOT NULL,
    aware_at     bigint NOT NULL,
    deadline_at  bigint NOT NULL,
    version      bigint NOT NULL,
    document     text NOT NULL,
    PRIMARY KEY (tenant_id, incident_id)
);
CREATE INDEX incidents_open ON incidents (open, deadline_at);

CREATE TABLE incident_steps (
    tenant_id    uuid NOT NULL,
    incident_id  uuid NOT NULL,
    seq          bigint NOT NULL,
    at           bigint NOT NULL,
    actor        text NOT NULL,
    kind         text NOT NULL,
    detail       text NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, seq),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, incident_id)
);

CREATE FUNCTION incident_history_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incidents are never deleted and their timeline only grows';
END;
$$;
CREATE TRIGGER incident_steps_append_only BEFORE UPDATE OR DELETE ON incident_steps FOR EACH ROW EXECUTE FUNCTION incident_history_only_grows();
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents FOR EACH ROW EXECUTE FUNCTION incident_history_only_grows();
