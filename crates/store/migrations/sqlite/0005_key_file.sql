-- Subject keys leave the data file for a file of their own, attached as `keys`: a copy of the
-- data file taken before an erasure stays sealed once the person's key is deleted. A subject
-- points at its key by generation, so a key can be written (and committed) before the rows
-- that need it, and dropped only after they are gone; the two files never commit as one.
CREATE TABLE keys.subject_keys (
    tenant_id    BLOB NOT NULL,
    subject_id   BLOB NOT NULL,
    generation   INTEGER NOT NULL,
    wrapped_key  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, generation)
) WITHOUT ROWID;

INSERT INTO keys.subject_keys (tenant_id, subject_id, generation, wrapped_key, created_at)
    SELECT tenant_id, subject_id, key_generation, wrapped_key, created_at FROM subjects;

ALTER TABLE subjects DROP COLUMN wrapped_key;
