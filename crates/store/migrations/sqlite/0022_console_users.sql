-- People who sign in to the console. The address is found by a keyed hash (sign-in knows no
-- tenant) and kept sealed under the master key; the password as an argon2id hash; the setup
-- link and sessions as hashes of their tokens, never the tokens.
CREATE TABLE console_users (
    tenant_id         BLOB NOT NULL,
    user_id           BLOB NOT NULL,
    email_index       BLOB NOT NULL,
    email_sealed      BLOB NOT NULL,
    role              TEXT NOT NULL,
    password_hash     TEXT,
    setup_hash        BLOB,
    setup_expires_at  INTEGER,
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    locked_until      INTEGER,
    created_at        INTEGER NOT NULL,
    disabled_at       INTEGER,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE UNIQUE INDEX console_users_email ON console_users (email_index);
CREATE UNIQUE INDEX console_users_setup ON console_users (setup_hash);

CREATE TABLE console_sessions (
    tenant_id     BLOB NOT NULL,
    session_hash  BLOB NOT NULL,
    user_id       BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_hash)
);
CREATE UNIQUE INDEX console_sessions_hash ON console_sessions (session_hash);
CREATE INDEX console_sessions_user ON console_sessions (tenant_id, user_id);
