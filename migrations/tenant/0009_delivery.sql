-- Issued documents (sealed decisions and download certificates) and their delivery.

-- The tenant's seal: the signing key (PKCS#8, sealed by kapu-crypto) and its certificate
-- chain (PEM, own certificate first). One per tenant; installing a new one replaces it.
CREATE TABLE tenant_seal (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    private_key_enc bytea NOT NULL,
    certificate_chain_pem text NOT NULL,
    subject text NOT NULL,
    installed_at timestamptz NOT NULL
);

-- A document issued to a client, sealed and time-stamped. The PDF is sealed at rest
-- (it carries personal data); `sha256` is the hash of the PDF as the client downloads it.
-- A row exists only once the document is sealed: issuing is all or nothing. Client and
-- account ids carry no foreign key: an official document is kept (records management)
-- after the client erases their portal account.
CREATE TABLE issued_document (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('decision', 'simplified_decision', 'download_certificate')),
    subject_ref text NOT NULL,
    title text NOT NULL,
    addressee_client_id uuid NOT NULL,
    representative_account_id uuid,
    certifies_document_id uuid REFERENCES issued_document (id),
    sha256 bytea NOT NULL CHECK (length(sha256) = 32),
    pdf_enc bytea NOT NULL,
    size_bytes integer NOT NULL,
    issued_at timestamptz NOT NULL,
    -- Frozen at issue from the tenant's settings: the deemed delivery and reminder periods.
    deemed_after_working_days integer NOT NULL CHECK (deemed_after_working_days > 0),
    reminder_after_working_days integer NOT NULL CHECK (reminder_after_working_days >= 0),
    reminder_sent_at timestamptz,
    CHECK ((kind = 'download_certificate') = (certifies_document_id IS NOT NULL))
);
CREATE INDEX issued_document_addressee ON issued_document (addressee_client_id, issued_at DESC);
CREATE INDEX issued_document_subject_ref ON issued_document (subject_ref);
-- One download certificate per document: a second request gets the one issued.
CREATE UNIQUE INDEX issued_document_one_certificate ON issued_document (certifies_document_id);

-- Delivery (kézbesítés): at most one per document, by the first download of the addressee
-- or a representative, or deemed after the period. The primary key makes it race-free.
CREATE TABLE delivery (
    document_id uuid PRIMARY KEY REFERENCES issued_document (id),
    how text NOT NULL CHECK (how IN ('downloaded', 'deemed')),
    delivered_at timestamptz NOT NULL,
    account_id uuid,
    on_behalf_of_client_id uuid,
    recorded_at timestamptz NOT NULL,
    CHECK ((how = 'downloaded') = (account_id IS NOT NULL))
);

-- Every download, for the record (the first one of the addressee is the delivery).
CREATE TABLE document_download (
    id bigserial PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES issued_document (id),
    account_id uuid NOT NULL,
    on_behalf_of_client_id uuid,
    downloaded_at timestamptz NOT NULL
);
CREATE INDEX document_download_document ON document_download (document_id);
