-- Cases (ügyek): applications filed under a case type version, their states and history.
-- Form values, facts and decision data are personal data and stored sealed (`*_enc`).

-- The tenant's case numbering: `<prefix>-<year>-<number>`, e.g. `HV-2026-000123`.
CREATE TABLE case_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    number_prefix text NOT NULL CHECK (number_prefix ~ '^[A-Z][A-Z0-9]{0,9}$')
);

-- One row per year; the submitting transaction locks and bumps it, so numbers have no
-- gaps (a rolled-back submission gives its number back) and are never used twice.
CREATE TABLE case_number_counter (
    year integer PRIMARY KEY,
    last_number integer NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE "case" (
    id uuid PRIMARY KEY,
    case_type_id uuid NOT NULL,
    case_type_version integer NOT NULL,
    state text NOT NULL CHECK (state IN ('draft', 'submitted', 'awaiting_payment', 'in_review', 'awaiting_information',
                                         'decided', 'delivered', 'rejected', 'withdrawn')),
    -- The portal account that files (itself or as representative); NULL once erased.
    account_id uuid REFERENCES client_account (id) ON DELETE SET NULL,
    -- The principal a representative files for, under a mandate.
    principal_client_id uuid REFERENCES client (id),
    -- A key the filer chose so that a repeated submission gives the same case.
    idempotency_key text,
    application_enc bytea NOT NULL,
    -- What the rules read besides the form: the applicant as the rules saw them, and the facts.
    inputs_enc bytea,
    number_year integer,
    number_seq integer,
    number text UNIQUE,
    submitted_at timestamptz,
    -- The rules' evaluation at submission: outcome, deciding rule, reason, trace, fee.
    evaluation jsonb,
    fee_gross numeric(14, 2),
    paid_amount numeric(14, 2),
    payment_reference text,
    paid_at timestamptz,
    -- Deadline in days of the case type; paused while missing information is awaited.
    due_date date,
    paused_at timestamptz,
    information_request text,
    information_due date,
    information_answer_enc bytea,
    assignee_id uuid REFERENCES staff (id),
    -- The decision: outcome (grant/refuse), reason, how it was made, and its text data.
    decision_outcome text CHECK (decision_outcome IN ('grant', 'refuse')),
    decision_reason text,
    decision_text_enc bytea,
    decision_data_enc bytea,
    decided_automatically boolean,
    drafted_by uuid REFERENCES staff (id),
    signatory_id uuid REFERENCES staff (id),
    approved_by uuid REFERENCES staff (id),
    decided_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    FOREIGN KEY (case_type_id, case_type_version) REFERENCES case_type_version (case_type_id, version),
    UNIQUE (number_year, number_seq),
    CHECK ((number IS NULL) = (state = 'draft' OR (state = 'withdrawn' AND submitted_at IS NULL))),
    CHECK (approved_by IS NULL OR approved_by IS DISTINCT FROM drafted_by)
);
CREATE UNIQUE INDEX case_idempotency_key ON "case" (account_id, idempotency_key);
CREATE INDEX case_account ON "case" (account_id, created_at);
CREATE INDEX case_worklist ON "case" (state, due_date);

-- Every transition: who, when, why.
CREATE TABLE case_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id uuid NOT NULL REFERENCES "case" (id),
    at timestamptz NOT NULL,
    from_state text,
    to_state text NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('client', 'staff', 'system')),
    actor_id uuid,
    actor_label text NOT NULL,
    reason text NOT NULL
);
CREATE INDEX case_event_case ON case_event (case_id, id);

CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case history is append-only';
END $$;

CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event
    FOR EACH ROW EXECUTE FUNCTION case_event_append_only();
