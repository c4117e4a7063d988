-- Plugins: connectors to the municipality's local systems, installed and configured by the
-- tenant's admin. The component is kept with its installation, so a tenant runs exactly what
-- its admin installed; non-secret settings are plain JSON, secret ones sealed (kapu-crypto).

CREATE TABLE plugin_installation (
    name text PRIMARY KEY,
    version text NOT NULL,
    sdk text NOT NULL,
    world text NOT NULL CHECK (world IN ('parking', 'records', 'finance', 'registry', 'queue')),
    manifest text NOT NULL,
    component bytea NOT NULL,
    digest text NOT NULL,
    config jsonb NOT NULL DEFAULT '{}',
    secrets_enc bytea,
    configured boolean NOT NULL DEFAULT false,
    installed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Each plugin's small key-value store.
CREATE TABLE plugin_kv (
    plugin text NOT NULL REFERENCES plugin_installation (name) ON DELETE CASCADE,
    key text NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 256),
    value bytea NOT NULL CHECK (octet_length(value) <= 65536),
    PRIMARY KEY (plugin, key)
);

-- Failed calls, for the admin: what the plugin did and when.
CREATE TABLE plugin_call_error (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plugin text NOT NULL REFERENCES plugin_installation (name) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    function text NOT NULL,
    code text NOT NULL,
    message text NOT NULL
);
CREATE INDEX plugin_call_error_plugin_at ON plugin_call_error (plugin, at DESC);
