-- The application database of the invoicing service (fictional): its own users and their
-- access log, and the data customer companies keep in it, in one database shared by every
-- customer (company_id says whose a row is). Portable SQL: SQLite, PostgreSQL, MySQL/MariaDB.
CREATE TABLE app_users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    full_name VARCHAR(200),
    password_hash VARCHAR(200),
    role VARCHAR(40),
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    user_id INTEGER,
    ip_address VARCHAR(64),
    path VARCHAR(400),
    at TIMESTAMP NOT NULL
);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    email VARCHAR(200),
    name VARCHAR(200),
    phone VARCHAR(40),
    street VARCHAR(200),
    city VARCHAR(100)
);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    contact_id INTEGER,
    number VARCHAR(40),
    issued_on DATE,
    amount DECIMAL(12, 2)
);
INSERT INTO app_users VALUES
(1, 'aino.virta@example.fi', 'Aino Virta', 'argon2id$v=19$example', 'admin', '2024-02-01 09:00:00'),
(2, 'pekka.laine@example.fi', 'Pekka Laine', 'argon2id$v=19$example', 'user', '2025-06-10 12:30:00');
INSERT INTO access_log VALUES
(1, 1, '192.0.2.10', '/invoices', '2023-01-15 08:00:00'),
(2, 1, '192.0.2.10', '/invoices/new', '2023-11-20 08:05:00'),
(3, 1, '192.0.2.11', '/reports', '2025-03-02 10:00:00'),
(4, 2, '198.51.100.4', '/invoices', '2026-10-01 14:00:00');
INSERT INTO contacts VALUES
(1, 17, 'matti.meikalainen@example.com', 'Matti Meikäläinen', '+358401234567', 'Kauppakatu 1', 'Tampere'),
(2, 17, 'liisa@example.com', 'Liisa Lahti', NULL, 'Rantatie 5', 'Turku'),
(3, 18, 'matti.meikalainen@example.com', 'Matti M.', NULL, NULL, 'Tampere');
INSERT INTO invoices VALUES
(1, 17, 1, 'ACME-1001', '2025-01-31', 120.00),
(2, 17, 1, 'ACME-1002', '2025-02-28', 80.50),
(3, 17, 2, 'ACME-1003', '2025-03-31', 42.00),
(4, 18, 3, 'BETA-0001', '2025-05-15', 990.00);
