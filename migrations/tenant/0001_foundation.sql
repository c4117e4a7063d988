-- A tenant's foundation tables. Runs as the tenant's role with search_path set to the
-- tenant's schema, so every object lands in that schema and is owned by that role.

-- Data keys: per-tenant AES-256 keys, wrapped by the deployment's master key.
CREATE TABLE data_key (
    version integer PRIMARY KEY,
    purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
    master_key_id text NOT NULL,
    wrapped bytea NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Staff: clerks and tenant admins.
CREATE TABLE staff (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('clerk', 'admin')),
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
CREATE INDEX staff_session_staff ON staff_session (staff_id);

CREATE TABLE password_reset (
    token_hash bytea PRIMARY KEY,
    staff_id uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- Clients: natural persons and organisations. Natural identity data and ID document
-- numbers are stored only encrypted; `*_bidx` are keyed blind indexes for equality search.
CREATE TABLE client (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('person', 'organisation')),
    email text,
    identity_enc bytea NOT NULL,
    identity_bidx bytea NOT NULL,
    id_document_enc bytea,
    id_document_bidx bytea,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX client_identity_bidx ON client (identity_bidx);
CREATE INDEX client_id_document_bidx ON client (id_document_bidx);
CREATE INDEX client_email ON client (lower(email));

-- Audit: append-only and hash-chained. `audit_head` holds the chain's tip and serialises
-- writers; the trigger refuses any change to a written record.
CREATE TABLE audit_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_record (
    seq bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    actor_id uuid,
    actor text NOT NULL,
    action text NOT NULL,
    subject_client_id uuid,
    reason text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}',
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX audit_record_subject ON audit_record (subject_client_id);

CREATE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$;
CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only();

-- Durable jobs (the outbox): written in the same transaction as the change that causes them.
CREATE TABLE job (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
    run_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX job_ready ON job (run_at) WHERE state IN ('pending', 'running');
