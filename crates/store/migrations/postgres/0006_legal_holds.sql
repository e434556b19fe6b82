-- Legal holds: data that must outlive its retention, and erasure, for a stated reason. A hold
-- covers a whole tenant, one subject, one category, or one category of one subject. The note
-- says why, for the people who decide; it is not a place for personal data.
CREATE TABLE legal_holds (
    tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
    hold_id      uuid NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('legal_obligation', 'legal_claim', 'security_investigation')),
    subject_id   uuid,
    category     text,
    note         text NOT NULL,
    created_at   bigint NOT NULL,
    ends_at      bigint,
    released_at  bigint,
    PRIMARY KEY (tenant_id, hold_id)
);
