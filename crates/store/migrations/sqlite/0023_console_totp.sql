-- A console user's second factor: the TOTP key, sealed under the master key, and the last time
-- step a code was accepted for (a code is accepted once). Both NULL until one is set up.
ALTER TABLE console_users ADD COLUMN totp_sealed BLOB;
ALTER TABLE console_users ADD COLUMN totp_step INTEGER;
