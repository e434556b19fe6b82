-- The notice ledger obeys retention too: the lines of notices older than the policy's rule for
-- message records, and the lines of people erased or expired, go with the addresses their mails
-- went to; each notice keeps its counts. Only the store's pruning step may delete a line: it
-- marks its tenant in ledger_pruning for the length of its transaction.
CREATE TABLE ledger_pruning (
    tenant_id BLOB NOT NULL PRIMARY KEY
) WITHOUT ROWID;

DROP TRIGGER notice_deliveries_no_delete;
CREATE TRIGGER notice_deliveries_no_delete BEFORE DELETE ON notice_deliveries
WHEN NOT EXISTS (SELECT 1 FROM ledger_pruning p WHERE p.tenant_id = OLD.tenant_id)
BEGIN
    SELECT RAISE(ABORT, 'the notice ledger only grows');
END;
