-- Legal holds: data that must outlive its retention, and erasure, for a stated reason. A hold
-- covers a whole tenant, one subject, one category, or one category of one subject. The note
-- says why, for the people who decide; it is not a place for personal data.
CREATE TABLE legal_holds (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    hold_id      BLOB NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('legal_obligation', 'legal_claim', 'security_investigation')),
    subject_id   BLOB,
    category     TEXT,
    note         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    ends_at      INTEGER,
    released_at  INTEGER,
    PRIMARY KEY (tenant_id, hold_id)
) WITHOUT ROWID;
