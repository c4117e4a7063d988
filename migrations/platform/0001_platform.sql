-- The platform schema `kapu`: the tenant registry and the platform's own operators.
-- Nothing tenant-specific lives here apart from the registry row, so Citus can distribute
-- each tenant's schema as it is.

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA kapu FROM PUBLIC;

CREATE TABLE tenant (
    id uuid PRIMARY KEY,
    slug text NOT NULL CONSTRAINT tenant_slug_key UNIQUE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    settings jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenant_domain (
    domain text CONSTRAINT tenant_domain_pkey PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domain_tenant ON tenant_domain (tenant_id);

-- Platform operators reuse the staff tables' shape, in schema `kapu`.
CREATE TABLE data_key (
    version integer PRIMARY KEY,
    purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
    master_key_id text NOT NULL,
    wrapped bytea NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('operator')),
    password_hash text NOT NULL,
    totp_secret bytea,
    totp_enabled boolean NOT NULL DEFAULT false,
    totp_last_step bigint,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_email_key ON staff (lower(email));

CREATE TABLE staff_session (
    token_hash bytea PRIMARY KEY,
    staff_id uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    mfa_passed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);

CREATE TABLE password_reset (
    token_hash bytea PRIMARY KEY,
    staff_id uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
