-- A notice's mail names the person it goes to (an id, not an address), so that the mail of an
-- opt-out kind can carry that person's one-click unsubscribe link. Mails queued before stay
-- without it and go out with the sentence alone.
ALTER TABLE outbox ADD COLUMN subject_id uuid;
