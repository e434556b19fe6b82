-- The cloud's account and billing database (fictional). Portable SQL: SQLite, PostgreSQL,
-- MySQL/MariaDB.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    name VARCHAR(200),
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE billing_profiles (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    billing_name VARCHAR(200),
    street VARCHAR(200),
    postal_code VARCHAR(20),
    city VARCHAR(100),
    card_fingerprint VARCHAR(64)
);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    issued_on DATE NOT NULL,
    billed_to VARCHAR(200),
    billing_address VARCHAR(400),
    total DECIMAL(12, 2)
);
CREATE TABLE api_audit_log (
    id INTEGER PRIMARY KEY,
    account_id INTEGER,
    action VARCHAR(100),
    at TIMESTAMP NOT NULL
);
INSERT INTO accounts VALUES
(1, 'ops@example.se', 'Sara Lind', '2022-03-01 10:00:00'),
(2, 'dev@example.se', 'Olof Berg', '2024-08-12 09:30:00');
INSERT INTO billing_profiles VALUES
(1, 1, 'Sara Lind', 'Storgatan 1', '111 22', 'Stockholm', 'a3f9c2e8b1d4'),
(2, 2, 'Olof Berg', 'Lillgatan 9', '411 01', 'Göteborg', '77c1e0a94b3f');
INSERT INTO invoices VALUES
(1, 1, '2024-01-31', 'Sara Lind', 'Storgatan 1, 111 22 Stockholm', 310.00),
(2, 1, '2025-01-31', 'Sara Lind', 'Storgatan 1, 111 22 Stockholm', 295.50),
(3, 2, '2025-09-30', 'Olof Berg', 'Lillgatan 9, 411 01 Göteborg', 12.00);
INSERT INTO api_audit_log VALUES
(1, 1, 'instance.create', '2025-05-01 08:00:00'),
(2, 1, 'key.rotate', '2026-02-14 16:20:00'),
(3, 2, 'bucket.delete', '2026-09-09 11:11:00');
