-- The files stored for drafts and cases, beside the case in the attachment store
-- (`<tenant>/cases/<case>/<path>`, `path` = `<field>/<n>-<name>`). A row is written in the
-- transaction that saves the draft or submits the case, while its object still waits under
-- its staging key; after the commit the object moves to its place and `staging_key` is
-- cleared. A file taken off keeps its row, `removed_at` set, until its object is deleted after
-- the commit. The sweeper job finishes what a crash interrupted (see kapu-cases' attachments).
CREATE TABLE case_attachment (
    case_id uuid NOT NULL REFERENCES "case" (id) ON DELETE CASCADE,
    path text NOT NULL CHECK (path ~ '^[^/]+/[0-9]+-[^/]+$'),
    -- Whose storage quota the file counts against.
    account_id uuid REFERENCES client_account (id) ON DELETE SET NULL,
    size bigint NOT NULL CHECK (size >= 0),
    sha256 bytea NOT NULL CHECK (length(sha256) = 32),
    staging_key text UNIQUE,
    created_at timestamptz NOT NULL,
    removed_at timestamptz,
    PRIMARY KEY (case_id, path)
);

CREATE INDEX case_attachment_account ON case_attachment (account_id) WHERE removed_at IS NULL;
CREATE INDEX case_attachment_unsettled ON case_attachment (created_at) WHERE staging_key IS NOT NULL OR removed_at IS NOT NULL;
