-- A number that changes with every change to a tenant's people, identities or events: an
-- access decision taken from facts read at one value is current while the value is.
-- Triggers keep it, so no writer (the server, an import running beside it) can forget to.
ALTER TABLE tenants ADD COLUMN facts_generation INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER subjects_insert_changes_facts AFTER INSERT ON subjects
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER subjects_update_changes_facts AFTER UPDATE ON subjects
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER subjects_delete_changes_facts AFTER DELETE ON subjects
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER identities_insert_changes_facts AFTER INSERT ON identities
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER identities_update_changes_facts AFTER UPDATE ON identities
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER identities_delete_changes_facts AFTER DELETE ON identities
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER events_insert_changes_facts AFTER INSERT ON events
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER events_update_changes_facts AFTER UPDATE ON events
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER events_delete_changes_facts AFTER DELETE ON events
BEGIN
    UPDATE tenants SET facts_generation = facts_generation + 1 WHERE tenant_id = OLD.tenant_id;
END;
