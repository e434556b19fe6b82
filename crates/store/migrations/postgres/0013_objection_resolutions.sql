-- How an objection to a sub-processor change ended: accepted (the customer's selection excludes
-- the provider, or its contract ends) or withdrawn. One resolution per objection, kept as
-- recorded; the objection itself stays as raised.
CREATE TABLE recipient_objection_resolutions (
    tenant_id     UUID NOT NULL,
    change_id     UUID NOT NULL,
    customer_id   UUID NOT NULL,
    recipient_id  TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('accepted', 'withdrawn')),
    note          TEXT NOT NULL,
    at            BIGINT NOT NULL,
    by_actor      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, change_id, customer_id, recipient_id),
    FOREIGN KEY (tenant_id, change_id, customer_id, recipient_id)
        REFERENCES recipient_objections (tenant_id, change_id, customer_id, recipient_id)
);
CREATE FUNCTION objection_resolution_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a resolution is kept as recorded';
END;
$$;
CREATE TRIGGER recipient_objection_resolutions_kept BEFORE UPDATE OR DELETE ON recipient_objection_resolutions
    FOR EACH ROW EXECUTE FUNCTION objection_resolution_kept();
