-- A number that changes with every change to a tenant's people, identities or events: an
-- access decision taken from facts read at one value is current while the value is, on every
-- replica. Triggers keep it, so no writer (a replica, an import beside the servers) can forget
-- to. They fire once per statement, so a batch of a thousand rows moves it once, and writers
-- already hold the tenant's row (`FOR NO KEY UPDATE`) when they write these tables.
ALTER TABLE tenants ADD COLUMN facts_generation bigint NOT NULL DEFAULT 0;

CREATE FUNCTION ombud_facts_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1
     WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM changed_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER subjects_insert_changes_facts AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER subjects_update_changes_facts AFTER UPDATE ON subjects
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER subjects_delete_changes_facts AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER identities_insert_changes_facts AFTER INSERT ON identities
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER identities_update_changes_facts AFTER UPDATE ON identities
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER identities_delete_changes_facts AFTER DELETE ON identities
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER events_insert_changes_facts AFTER INSERT ON events
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER events_update_changes_facts AFTER UPDATE ON events
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
CREATE TRIGGER events_delete_changes_facts AFTER DELETE ON events
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ombud_facts_changed_new();
