-- One customer's hosted ERP database, shaped as Odoo keeps partners, users, invoices and
-- messages (fictional rows). Portable SQL: SQLite, PostgreSQL, MySQL/MariaDB. The messages
-- are not declared by odoo.toml: the policy's hosted-environments activity does not name
-- correspondence, so a request does not reach them until both say so.
CREATE TABLE res_partner (
    id INTEGER PRIMARY KEY,
    name VARCHAR(200),
    email VARCHAR(200),
    phone VARCHAR(40),
    street VARCHAR(200),
    zip VARCHAR(20),
    city VARCHAR(100),
    company_name VARCHAR(200),
    create_date TIMESTAMP NOT NULL
);
CREATE TABLE res_users (
    id INTEGER PRIMARY KEY,
    partner_id INTEGER NOT NULL REFERENCES res_partner (id),
    login VARCHAR(200) NOT NULL,
    password VARCHAR(200)
);
CREATE TABLE account_move (
    id INTEGER PRIMARY KEY,
    partner_id INTEGER REFERENCES res_partner (id),
    name VARCHAR(40),
    invoice_date DATE,
    amount_total DECIMAL(12, 2)
);
CREATE TABLE mail_message (
    id INTEGER PRIMARY KEY,
    author_id INTEGER REFERENCES res_partner (id),
    subject VARCHAR(200),
    body TEXT,
    date TIMESTAMP NOT NULL
);
INSERT INTO res_partner VALUES
(7, 'Jan de Vries', 'jan.devries@example.nl', '+31201234567', 'Keizersgracht 1', '1015 CJ', 'Amsterdam', 'Voorbeeld BV', '2023-04-03 09:00:00'),
(8, 'Eva Jansen', 'eva@example.nl', NULL, 'Dorpsstraat 12', '3511 AB', 'Utrecht', NULL, '2024-10-21 15:45:00');
INSERT INTO res_users VALUES
(2, 7, 'jan.devries@example.nl', '$pbkdf2-sha512$example');
INSERT INTO account_move VALUES
(100, 7, 'INV/2024/0001', '2024-02-29', 1250.00),
(101, 8, 'INV/2025/0007', '2025-06-30', 89.95);
INSERT INTO mail_message VALUES
(500, 7, 'Order question', 'Could the delivery come a week later?', '2025-11-30 23:30:00'),
(501, 8, 'Invoice', 'Thank you, paid.', '2025-07-01 08:00:00');
