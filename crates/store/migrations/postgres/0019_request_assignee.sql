-- Who on the privacy team works a request: a colleague's name or address, free text, so the
-- queue can be shared out. Requests filed before are unassigned.
ALTER TABLE requests ADD COLUMN assignee text;
