-- Subject keys get a table of their own, so data dumps can leave them out
-- (`pg_dump --exclude-table-data=subject_keys`) and a copy of the data taken before an erasure
-- stays sealed once the person's key is deleted.
CREATE TABLE subject_keys (
    tenant_id    uuid NOT NULL,
    subject_id   uuid NOT NULL,
    wrapped_key  bytea NOT NULL,
    created_at   bigint NOT NULL,
    PRIMARY KEY (tenant_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, subject_id) ON DELETE CASCADE
);

INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at)
    SELECT tenant_id, subject_id, wrapped_key, created_at FROM subjects;

ALTER TABLE subjects DROP COLUMN wrapped_key;
