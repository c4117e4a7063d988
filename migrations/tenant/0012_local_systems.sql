-- The cases' work in the tenant's local systems (kapu-local-systems): what each system
-- answered, one row per case and task. Work that is still to be done is not here but in
-- the job queue (queued in the transaction of the step that caused it); a row is written
-- in the transaction that completes the job, or, for a registration in the records system,
-- as soon as it is made, so that a retried job never registers the same application twice.
CREATE TABLE case_local_task (
    case_id uuid NOT NULL REFERENCES "case" (id),
    task text NOT NULL CHECK (task IN ('records.register', 'records.file', 'records.issue', 'finance.receivable',
                                       'finance.payment', 'parking.submit')),
    -- The issued document for `records.issue`; '' for the others.
    subject text NOT NULL DEFAULT '',
    -- `done`, or `not_installed` when the tenant had no plugin for the system (not attempted).
    outcome text NOT NULL CHECK (outcome IN ('done', 'not_installed')),
    -- The plugin that did it.
    plugin text CHECK ((outcome = 'done') = (plugin IS NOT NULL)),
    -- What the system gave: the arrival number, file number, posting id or permit id.
    reference text,
    -- More of the answer without personal data, e.g. the permit's state and zone.
    detail jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL,
    PRIMARY KEY (case_id, task, subject)
);

-- A case's open local-system jobs are looked up among the open jobs of a few kinds.
CREATE INDEX job_open_kind ON job (kind) WHERE state <> 'done';
