-- Sign-in and e-mail throttling (kapu-throttle): leaky buckets per (account, network), per
-- network, per account and per e-mail address. The key is a keyed HMAC of what a bucket
-- counts, so no address or network is stored. Replaces the per-account hard lock, which let
-- anyone lock a victim out.
CREATE TABLE throttle (
    key bytea PRIMARY KEY,
    hits integer NOT NULL CHECK (hits >= 0),
    last_hit_at timestamptz,
    succeeded_at timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX throttle_expires ON throttle (expires_at);

ALTER TABLE staff DROP COLUMN failed_logins, DROP COLUMN locked_until;
ALTER TABLE client_account DROP COLUMN failed_logins, DROP COLUMN locked_until;
