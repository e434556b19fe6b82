-- The store recognises its master key: a value derived one way from the root key, written on
-- first open (or, for a store that predates it, once an existing subject key proves the key).
CREATE TABLE key_check (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    check_value  BLOB NOT NULL
);
