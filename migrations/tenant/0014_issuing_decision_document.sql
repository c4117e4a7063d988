-- The sealed decision document of a decided case (issued through kapu-delivery's
-- `issued_document`; set in the transaction that queues its issuing, so a retried
-- `case.decided` job never issues twice) and when the decision was delivered.
ALTER TABLE "case" ADD COLUMN decision_document_id uuid UNIQUE;
ALTER TABLE "case" ADD COLUMN delivered_at timestamptz;
ALTER TABLE "case" ADD CONSTRAINT case_delivered_has_document CHECK (delivered_at IS NULL OR decision_document_id IS NOT NULL);
