-- The tenant as an OpenID Provider: registered relying parties, the signing keys of its
-- ID tokens (sealed by kapu-crypto, rotated with the old ones kept until their tokens
-- expire), consents, authorization codes, grants and their tokens. Codes and tokens are
-- stored only as SHA-256 hashes.

CREATE TABLE oidc_client (
    client_id text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('confidential', 'public')),
    secret_hash bytea,
    redirect_uris text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    allowed_scopes text[] NOT NULL,
    id_token_alg text NOT NULL DEFAULT 'RS256' CHECK (id_token_alg IN ('RS256', 'ES256')),
    created_at timestamptz NOT NULL,
    CHECK ((kind = 'confidential') = (secret_hash IS NOT NULL))
);

CREATE TABLE oidc_signing_key (
    kid text PRIMARY KEY,
    alg text NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    private_key bytea NOT NULL,
    public_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
CREATE UNIQUE INDEX oidc_signing_key_active ON oidc_signing_key (alg) WHERE retired_at IS NULL;

CREATE TABLE oidc_consent (
    account_id uuid NOT NULL REFERENCES client_account (id) ON DELETE CASCADE,
    client_id text NOT NULL REFERENCES oidc_client (client_id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- One sign-in of an account at a relying party; its tokens live and die with it.
CREATE TABLE oidc_grant (
    id uuid PRIMARY KEY,
    client_id text NOT NULL REFERENCES oidc_client (client_id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES client_account (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    auth_time timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX oidc_grant_account ON oidc_grant (account_id);

CREATE TABLE oidc_code (
    code_hash bytea PRIMARY KEY,
    grant_id uuid NOT NULL REFERENCES oidc_grant (id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    nonce text,
    code_challenge text,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX oidc_code_grant ON oidc_code (grant_id);

CREATE TABLE oidc_access_token (
    token_hash bytea PRIMARY KEY,
    grant_id uuid NOT NULL REFERENCES oidc_grant (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX oidc_access_token_grant ON oidc_access_token (grant_id);

-- Refresh tokens rotate: each use replaces the token; a second use of a replaced one
-- revokes the whole grant (reuse detection).
CREATE TABLE oidc_refresh_token (
    token_hash bytea PRIMARY KEY,
    grant_id uuid NOT NULL REFERENCES oidc_grant (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX oidc_refresh_token_grant ON oidc_refresh_token (grant_id);
