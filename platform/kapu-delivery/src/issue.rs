//! Issuing documents as jobs: [`issue_decision`] enqueues, in the caller's transaction, a
//! job that renders the document, seals and time-stamps it, stores it and notifies the
//! client. The decision's data travels in the job sealed by `kapu-crypto` (it names the
//! client).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::{Crypto, Keyring};
use kapu_documents::{DEFAULT_DECISION_TEMPLATE, Decision, IssueError, TsaClient};
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler, NewJob};
use kapu_mail::OutgoingMail;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{DeliveryError, DeliverySettings, DocumentKind, ISSUE_JOB, ISSUED_JOB, deadlines, invalid, seal};

/// The download certificate template (Typst); it reads [`CertificateData`].
pub const DOWNLOAD_CERTIFICATE_TEMPLATE: &str = include_str!("../templates/download_certificate.typ");

/// How many times the issuing job runs before it is dead (with the worker's backoff, a TSA
/// may be down for hours).
pub const ISSUE_ATTEMPTS: i32 = 20;

/// The sealed content of an issuing job's payload, placed by the document's id (the job's
/// own id is given by the database only when it is written).
const JOB_CONTENT: kapu_crypto::Column = kapu_crypto::Column::new("job", "document_id", "payload.sealed").legacy("job.delivery_issue");
/// An issued document's PDF, sealed.
pub const PDF: kapu_crypto::Column = kapu_crypto::Column::new("issued_document", "id", "pdf_enc").legacy("issued_document.pdf");

/// Whom a document is addressed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressee {
    /// The client (ügyfél) the document is addressed to.
    pub client_id: Uuid,
    /// The portal account of a representative acting for the client in the matter, who is
    /// notified instead of the client.
    pub representative_account_id: Option<Uuid>,
}

/// A decision to issue.
#[derive(Clone, Debug)]
pub struct DecisionToIssue {
    /// Whom it is addressed to.
    pub addressee: Addressee,
    /// What it belongs to, e.g. the case number `HV-2026-000123`.
    pub subject_ref: String,
    /// The decision's data; `simplified` makes it a simplified decision.
    pub decision: Decision,
    /// The tenant's Typst template for it; Kapu's default when `None`.
    pub template: Option<String>,
}

/// The data of a download certificate, as its template reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateData {
    /// The issuing municipality.
    pub authority: String,
    /// The certified document's title.
    pub document_title: String,
    /// Its kind, in Hungarian.
    pub document_kind: String,
    /// What it belongs to (case number).
    pub subject_ref: String,
    /// When it was issued, as printed.
    pub document_issued_at: String,
    /// The SHA-256 of the PDF downloaded, in hex.
    pub sha256: String,
    /// Who downloaded it (the portal account's name).
    pub downloaded_by: String,
    /// The client they acted for, when a representative downloaded it.
    pub on_behalf_of: Option<String>,
    /// When it was first downloaded (the delivery), as printed.
    pub downloaded_at: String,
    /// The certificate's date, as printed.
    pub issued_date: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Content {
    Decision { decision: Decision, template: Option<String> },
    Certificate { data: CertificateData },
}

/// The issuing job's payload. Only ids and references are in the clear.
#[derive(Serialize, Deserialize)]
pub(crate) struct IssuePayload {
    pub(crate) document_id: Uuid,
    pub(crate) kind: DocumentKind,
    pub(crate) addressee: Addressee,
    pub(crate) subject_ref: String,
    pub(crate) title: String,
    pub(crate) certifies: Option<Uuid>,
    sealed: String,
}

fn check_subject_ref(s: &str) -> Result<(), DeliveryError> {
    let n = s.chars().count();
    if s.trim().is_empty() || n > 100 {
        return Err(invalid("subject_ref", Refusal::length(1, 100)));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("subject_ref", Refusal::ControlCharacters));
    }
    Ok(())
}

/// Enqueues the issuing of a decision in the caller's transaction and returns the id the
/// document will have. The document exists once the job has sealed and time-stamped it;
/// then the client (or the representative) is e-mailed.
pub async fn issue_decision(tx: &mut TenantTx, ring: &Keyring, req: DecisionToIssue) -> Result<Uuid, DeliveryError> {
    check_subject_ref(&req.subject_ref)?;
    let d = &req.decision;
    if d.subject.trim().is_empty() || d.subject.chars().count() > 300 {
        return Err(invalid("decision.subject", Refusal::length(1, 300)));
    }
    if d.operative_part.is_empty() {
        return Err(invalid("decision.operative_part", Refusal::Required));
    }
    if req.template.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(invalid("template", Refusal::Required));
    }
    check_addressee(tx, &req.addressee).await?;
    let kind = if d.simplified { DocumentKind::SimplifiedDecision } else { DocumentKind::Decision };
    let title = format!("{} – {}", capitalised(kind.hungarian()), d.subject.trim());
    let content = Content::Decision { decision: req.decision, template: req.template };
    enqueue(tx, ring, kind, req.addressee, req.subject_ref, title, None, &content).await
}

/// Queues the download certificate of `certifies` (see `access::request_download_certificate`).
pub(crate) async fn enqueue_certificate(
    tx: &mut TenantTx,
    ring: &Keyring,
    addressee: Addressee,
    subject_ref: String,
    certifies: Uuid,
    data: CertificateData,
) -> Result<Uuid, DeliveryError> {
    let title = format!("Letöltési igazolás – {}", data.document_title);
    enqueue(tx, ring, DocumentKind::DownloadCertificate, addressee, subject_ref, title, Some(certifies), &Content::Certificate { data })
        .await
}

#[allow(clippy::too_many_arguments)]
async fn enqueue(
    tx: &mut TenantTx,
    ring: &Keyring,
    kind: DocumentKind,
    addressee: Addressee,
    subject_ref: String,
    title: String,
    certifies: Option<Uuid>,
    content: &Content,
) -> Result<Uuid, DeliveryError> {
    let json = serde_json::to_vec(content).map_err(|e| invalid("decision", Refusal::Unreadable { detail: e.to_string() }))?;
    let document_id = Uuid::now_v7();
    let payload = IssuePayload {
        document_id,
        kind,
        addressee,
        subject_ref,
        title,
        certifies,
        sealed: B64.encode(ring.seal(&JOB_CONTENT.at(document_id), &json)?),
    };
    kapu_jobs::enqueue(tx, NewJob { max_attempts: ISSUE_ATTEMPTS, ..NewJob::new(ISSUE_JOB, &payload) }).await?;
    Ok(document_id)
}

async fn check_addressee(tx: &mut TenantTx, a: &Addressee) -> Result<(), DeliveryError> {
    if !kapu_clients::account::client_exists(tx, a.client_id).await? {
        return Err(invalid("addressee.client_id", Refusal::UnknownClient));
    }
    if let Some(r) = a.representative_account_id
        && kapu_clients::account::get_account(tx, r).await?.is_none()
    {
        return Err(invalid("addressee.representative_account_id", Refusal::UnknownAccount));
    }
    Ok(())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// What issuing needs from the tenant and the deployment.
#[derive(Clone, Debug)]
pub struct IssueContext<'a> {
    /// The municipality's name, for the e-mail.
    pub tenant_name: &'a str,
    /// Its delivery settings, frozen into the document.
    pub settings: DeliverySettings,
    /// The portal's documents page, linked from the e-mail.
    pub documents_url: &'a str,
}

/// Why an issuing job failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueFailure {
    /// Rendering, sealing or time-stamping failed; [`IssueError::is_transient`] tells a TSA
    /// that is down apart.
    #[error(transparent)]
    Document(#[from] IssueError),
    /// Anything else.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

impl IssueFailure {
    /// Whether the job should run again later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Document(e) => e.is_transient(),
            Self::Delivery(DeliveryError::Database(_) | DeliveryError::Jobs(_)) => true,
            Self::Delivery(_) => false,
        }
    }
}

/// Runs one issuing job: render, seal, time-stamp, store, notify. Does nothing when the
/// document exists already.
pub(crate) async fn run(
    tx: &mut TenantTx,
    ring: &Keyring,
    tsa: &TsaClient,
    payload: &IssuePayload,
    ctx: &IssueContext<'_>,
    now: DateTime<Utc>,
) -> Result<(), IssueFailure> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM issued_document WHERE id = $1)")
        .bind(payload.document_id)
        .fetch_one(tx.conn())
        .await
        .map_err(DeliveryError::from)?;
    if exists {
        return Ok(());
    }
    let sealed = B64.decode(&payload.sealed).map_err(|e| DeliveryError::Corrupt(e.to_string()))?;
    let content: Content = serde_json::from_slice(&zeroize::Zeroizing::new(
        ring.open(&JOB_CONTENT.at(payload.document_id), &sealed).map_err(DeliveryError::from)?,
    ))
    .map_err(|e| DeliveryError::Corrupt(e.to_string()))?;
    let signer = seal::signer(tx, ring).await?;
    let pdf = match &content {
        Content::Decision { decision, template } => {
            kapu_documents::issue(template.as_deref().unwrap_or(DEFAULT_DECISION_TEMPLATE), decision, signer.as_ref(), tsa, now).await?
        }
        Content::Certificate { data } => kapu_documents::issue(DOWNLOAD_CERTIFICATE_TEMPLATE, data, signer.as_ref(), tsa, now).await?,
    };
    let sha256 = Sha256::digest(&pdf).to_vec();
    let inserted = sqlx::query(
        "INSERT INTO issued_document (id, kind, subject_ref, title, addressee_client_id, representative_account_id, certifies_document_id,
             sha256, pdf_enc, size_bytes, issued_at, deemed_after_working_days, reminder_after_working_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
    )
    .bind(payload.document_id)
    .bind(payload.kind.as_str())
    .bind(&payload.subject_ref)
    .bind(&payload.title)
    .bind(payload.addressee.client_id)
    .bind(payload.addressee.representative_account_id)
    .bind(payload.certifies)
    .bind(&sha256)
    .bind(ring.seal(&PDF.at(payload.document_id), &pdf).map_err(DeliveryError::from)?)
    .bind(i32::try_from(pdf.len()).unwrap_or(i32::MAX))
    .bind(now)
    .bind(i32::try_from(ctx.settings.deemed_after_working_days).unwrap_or(i32::MAX))
    .bind(i32::try_from(ctx.settings.reminder_after_working_days).unwrap_or(0))
    .execute(tx.conn())
    .await
    .map_err(DeliveryError::from)?
    .rows_affected();
    if inserted == 0 {
        // A second certificate of the same document: the first one stands.
        return Ok(());
    }
    notify(tx, ring, payload, ctx).await?;
    if matches!(payload.kind, DocumentKind::Decision | DocumentKind::SimplifiedDecision) {
        let issued = serde_json::json!({ "document_id": payload.document_id, "subject_ref": payload.subject_ref });
        kapu_jobs::enqueue(tx, NewJob { max_attempts: ISSUE_ATTEMPTS, ..NewJob::new(ISSUED_JOB, &issued) })
            .await
            .map_err(DeliveryError::from)?;
    }
    if payload.kind.needs_delivery() {
        deadlines::ensure_scheduled(tx, now).await?;
    }
    Ok(())
}

/// The e-mail address to notify about a document: the representative's, else the client's.
pub(crate) async fn recipient(tx: &mut TenantTx, addressee: &Addressee) -> Result<Option<String>, DeliveryError> {
    if let Some(r) = addressee.representative_account_id
        && let Some(a) = kapu_clients::account::get_account(tx, r).await?
    {
        return Ok(Some(a.email));
    }
    Ok(kapu_clients::account::contact_email(tx, addressee.client_id).await?)
}

async fn notify(tx: &mut TenantTx, ring: &Keyring, payload: &IssuePayload, ctx: &IssueContext<'_>) -> Result<(), DeliveryError> {
    let Some(to) = recipient(tx, &payload.addressee).await? else {
        tracing::warn!(document = %payload.document_id, "no e-mail address to notify the addressee of an issued document");
        return Ok(());
    };
    let kind = payload.kind.hungarian();
    let deemed = if payload.kind.needs_delivery() {
        format!(
            "\nHa a dokumentumot {n} munkanapon belül nem tölti le, a {n}. munkanapot követő napon kézbesítettnek minősül.\n",
            n = ctx.settings.deemed_after_working_days
        )
    } else {
        String::new()
    };
    let text = format!(
        "Tisztelt Ügyfelünk!\n\n{tenant} {kind} dokumentumot adott ki az Ön részére.\n\n  {title}\n  Ügyszám: {reference}\n\n\
         A dokumentumot a portálon, bejelentkezés után töltheti le:\n{url}\n{deemed}\n\
         A document ({kind}) has been issued to you; download it from the portal at the address above.\n",
        tenant = ctx.tenant_name,
        title = payload.title,
        reference = payload.subject_ref,
        url = ctx.documents_url,
    );
    let mail = OutgoingMail {
        to,
        subject: format!("{}: {} – {}", ctx.tenant_name, capitalised(kind), payload.subject_ref),
        text,
        html: None,
        message_id: format!("<{}@kapu>", Uuid::now_v7()),
    };
    kapu_jobs::enqueue(tx, NewJob::new(kapu_mail::SEND_JOB, &kapu_mail::MailJob::seal(ring, &mail)?)).await?;
    Ok(())
}

/// Runs [`ISSUE_JOB`]s: the tenant's name and settings as the worker hands them, the seal
/// from the tenant's schema, time-stamps from `tsa`.
pub struct IssueHandler {
    /// The keys.
    pub crypto: Arc<Crypto>,
    /// The time-stamping authority. Its own retries are short; the job retries later.
    pub tsa: TsaClient,
    /// The deployment's public URL, e.g. `https://kapu.example.hu`: with `/t/<slug>`, the
    /// portal of a tenant without an origin of its own (see [`kapu_core::Tenant::base_url`]).
    pub public_url: kapu_core::Origin,
}

impl std::fmt::Debug for IssueHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueHandler").field("tsa", &self.tsa.url()).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl JobHandler for IssueHandler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let payload: IssuePayload =
            serde_json::from_value(job.payload.clone()).map_err(|e| JobFailure::Permanent(format!("malformed issuing job: {e}")))?;
        let tenant = ctx.tenant;
        let settings =
            DeliverySettings::from_settings(&tenant.settings).map_err(|e| JobFailure::Permanent(format!("delivery settings: {e}")))?;
        let scope = tx.slug().as_str().to_owned();
        let ring = self.crypto.keyring(tx.conn(), &scope).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        let documents_url = format!("{}/dokumentumok", tenant.base_url(&self.public_url));
        let issuing = IssueContext { tenant_name: &tenant.name, settings, documents_url: &documents_url };
        run(tx, &ring, &self.tsa, &payload, &issuing, ctx.now).await.map_err(|e| {
            let what = format!("issuing document {}: {e}", payload.document_id);
            if e.is_transient() { JobFailure::Retry(what) } else { JobFailure::Permanent(what) }
        })
    }
}

/// An issued decision's PDF with its title and subject reference, for the tenant's records
/// system (a system read: the job that files it is not a staff access). `None` for another
/// kind of document or an unknown id.
pub async fn issued_decision_pdf(tx: &mut TenantTx, ring: &Keyring, id: Uuid) -> Result<Option<(String, String, Vec<u8>)>, DeliveryError> {
    let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT title, subject_ref, pdf_enc FROM issued_document WHERE id = $1 AND kind IN ('decision', 'simplified_decision')",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    match row {
        Some((title, subject_ref, sealed)) => Ok(Some((title, subject_ref, ring.open(&PDF.at(id), &sealed)?))),
        None => Ok(None),
    }
}
