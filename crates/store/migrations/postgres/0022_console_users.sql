-- People who sign in to the console. The address is found by a keyed hash (sign-in knows no
-- tenant) and kept sealed under the master key; the password as an argon2id hash; the setup
-- link and sessions as hashes of their tokens, never the tokens.
CREATE TABLE console_users (
    tenant_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    email_index       bytea NOT NULL,
    email_sealed      bytea NOT NULL,
    role              text NOT NULL,
    password_hash     text,
    setup_hash        bytea,
    setup_expires_at  bigint,
    failed_attempts   integer NOT NULL DEFAULT 0,
    locked_until      bigint,
    created_at        bigint NOT NULL,
    disabled_at       bigint,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE UNIQUE INDEX console_users_email ON console_users (email_index);
CREATE UNIQUE INDEX console_users_setup ON console_users (setup_hash);

CREATE TABLE console_sessions (
    tenant_id     uuid NOT NULL,
    session_hash  bytea NOT NULL,
    user_id       uuid NOT NULL,
    created_at    bigint NOT NULL,
    last_seen_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, session_hash)
);
CREATE UNIQUE INDEX console_sessions_hash ON console_sessions (session_hash);
CREATE INDEX console_sessions_user ON console_sessions (tenant_id, user_id);
