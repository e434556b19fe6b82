-- Every version of privacy.toml the server has loaded, by its hash, with its full text, so a
-- consent or a decision recorded under a version can be read against that version later.
CREATE TABLE policy_versions (
    tenant_id  BLOB NOT NULL,
    version    TEXT NOT NULL,
    source     TEXT NOT NULL,
    loaded_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) WITHOUT ROWID;
