-- Every version of privacy.toml the server has loaded, by its hash, with its full text, so a
-- consent or a decision recorded under a version can be read against that version later.
CREATE TABLE policy_versions (
    tenant_id  uuid NOT NULL,
    version    text NOT NULL,
    source     text NOT NULL,
    loaded_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
