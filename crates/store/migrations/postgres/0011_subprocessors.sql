-- The optional recipients a customer chose (a hosting provider it picked), and the change
-- notices about recipients sent to customers with the objections they raised. A change is one
-- JSON document (what changed, who was told by which notice, until when they may object);
-- objections only grow.
CREATE TABLE tenant_recipients (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
    recipient_id  text NOT NULL,
    selected_at   bigint NOT NULL,
    PRIMARY KEY (tenant_id, recipient_id)
);
CREATE INDEX tenant_recipients_by_recipient ON tenant_recipients (recipient_id, tenant_id);

CREATE TABLE recipient_changes (
    tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
    change_id   uuid NOT NULL,
    created_at  bigint NOT NULL,
    document    text NOT NULL,
    PRIMARY KEY (tenant_id, change_id)
);

CREATE TABLE recipient_objections (
    tenant_id     uuid NOT NULL,
    change_id     uuid NOT NULL,
    customer_id   uuid NOT NULL,
    recipient_id  text NOT NULL,
    reason        text NOT NULL,
    at            bigint NOT NULL,
    PRIMARY KEY (tenant_id, change_id, customer_id, recipient_id),
    FOREIGN KEY (tenant_id, change_id) REFERENCES recipient_changes (tenant_id, change_id)
);
CREATE FUNCTION recipient_objections_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'objections are kept as raised';
END;
$$;
CREATE TRIGGER recipient_objections_append_only BEFORE UPDATE OR DELETE ON recipient_objections FOR EACH ROW EXECUTE FUNCTION recipient_objections_kept();
