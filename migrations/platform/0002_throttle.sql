-- Operators' sign-in throttling (kapu-throttle), as in each tenant's schema: leaky buckets
-- keyed by a keyed HMAC of the account and network. Replaces the per-account hard lock.
CREATE TABLE throttle (
    key bytea PRIMARY KEY,
    hits integer NOT NULL CHECK (hits >= 0),
    last_hit_at timestamptz,
    succeeded_at timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX throttle_expires ON throttle (expires_at);

ALTER TABLE staff DROP COLUMN failed_logins, DROP COLUMN locked_until;
