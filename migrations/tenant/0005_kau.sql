-- National login (KAÜ): the tenant's SAML service provider key (generated at first use, the
-- private key sealed with the tenant's data key), the authentication requests sent (so a
-- response must answer one of ours, once), and the assertions already used (replay cache).

CREATE TABLE kau_sp_key (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    private_key_enc bytea NOT NULL,
    certificate_der bytea NOT NULL,
    created_at timestamptz NOT NULL
);

-- `account_id`: the portal account that was signed in when the request was sent, which the
-- national identity then links to; NULL for a plain sign-in.
CREATE TABLE kau_request (
    id text PRIMARY KEY,
    account_id uuid REFERENCES client_account (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX kau_request_expires ON kau_request (expires_at);

CREATE TABLE kau_assertion_seen (
    assertion_id text PRIMARY KEY,
    seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX kau_assertion_seen_expires ON kau_assertion_seen (expires_at);
