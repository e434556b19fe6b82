-- Stored responses to idempotent requests are sealed from now on, and bound to the API key that
-- made the request; the responses kept in clear until now (at most a day's) are dropped.
DELETE FROM idempotency_keys;
