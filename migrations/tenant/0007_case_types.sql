-- Case types (ügytípusok) and their versions. A version is never changed or deleted once
-- written, so a case keeps the rules, form and fee it started under.

CREATE TABLE case_type (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text NOT NULL,
    current_version integer NOT NULL CHECK (current_version > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE case_type_version (
    case_type_id uuid NOT NULL REFERENCES case_type (id),
    version integer NOT NULL CHECK (version > 0),
    content_hash bytea NOT NULL CHECK (length(content_hash) = 32),
    source text NOT NULL,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    PRIMARY KEY (case_type_id, version)
);

CREATE FUNCTION case_type_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case type versions are kept as written; save a new version instead';
END $$;

CREATE TRIGGER case_type_version_immutable BEFORE UPDATE OR DELETE ON case_type_version
    FOR EACH ROW EXECUTE FUNCTION case_type_version_immutable();
