-- Organisations beside natural persons, contact and address data of clients, and mandates:
-- a representative (a client account) acting for an organisation or another person.

ALTER TABLE client
    ALTER COLUMN identity_enc DROP NOT NULL,
    ALTER COLUMN identity_bidx DROP NOT NULL,
    ADD COLUMN organisation_name text,
    ADD COLUMN tax_number text,
    ADD COLUMN registration_number text,
    ADD COLUMN addresses_enc bytea,
    ADD COLUMN phone text,
    ADD COLUMN resident_card text,
    ADD CONSTRAINT client_kind_fields CHECK (
        (kind = 'person' AND identity_enc IS NOT NULL AND organisation_name IS NULL)
        OR (kind = 'organisation' AND organisation_name IS NOT NULL AND tax_number IS NOT NULL AND identity_enc IS NULL)
    );
CREATE UNIQUE INDEX client_tax_number_key ON client (tax_number) WHERE tax_number IS NOT NULL;
CREATE UNIQUE INDEX client_resident_card_key ON client (resident_card) WHERE resident_card IS NOT NULL;

CREATE TABLE mandate (
    id uuid PRIMARY KEY,
    principal_client_id uuid NOT NULL REFERENCES client (id),
    representative_account_id uuid NOT NULL REFERENCES client_account (id),
    scope text[] NOT NULL CHECK (cardinality(scope) > 0),
    valid_from date NOT NULL,
    valid_until date,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX mandate_representative ON mandate (representative_account_id);
CREATE INDEX mandate_principal ON mandate (principal_client_id);

-- Whom a signed-in representative is acting for now (NULL: for themselves).
ALTER TABLE client_session ADD COLUMN acting_for_client_id uuid REFERENCES client (id);
