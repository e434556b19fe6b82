-- The notice ledger obeys retention too: the lines of notices older than the policy's rule for
-- message records, and the lines of people erased or expired, go with the addresses their mails
-- went to; each notice keeps its counts. Only the store's pruning step may delete a line: it
-- sets ombud.ledger_pruning for the length of its transaction.
CREATE OR REPLACE FUNCTION notice_ledger_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('ombud.ledger_pruning', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the notice ledger only grows';
END;
$$;
