-- Client accounts on the citizen portal: self-registration with e-mail verification.
-- An account starts at identification level `registered`; identifying in person or through
-- the national login (KAÜ) raises it and links the account to a client record.

CREATE TABLE client_account (
    id uuid PRIMARY KEY,
    client_id uuid REFERENCES client (id),
    email text NOT NULL,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    email_verified_at timestamptz,
    identification_level text NOT NULL DEFAULT 'registered' CHECK (identification_level IN ('registered', 'in_person', 'kau')),
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX client_account_email_key ON client_account (lower(email));

CREATE TABLE client_session (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES client_account (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX client_session_account ON client_session (account_id);

-- One-time links sent by e-mail: address verification and password reset.
CREATE TABLE client_token (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES client_account (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
