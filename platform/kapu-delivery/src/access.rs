//! Reading issued documents: the client's list and downloads on the portal (the first
//! download by the addressee or a representative is the delivery), download certificates,
//! and the staff's audited view of the delivery state.

use chrono::{DateTime, NaiveDate, Utc};
use kapu_calendar::Calendar;
use kapu_clients::Access;
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use serde::Serialize;
use uuid::Uuid;

use crate::issue::{self, Addressee, CertificateData, PDF};
use crate::{DeliveryError, DocumentKind, ISSUE_JOB, OnDelivery, Recorded, deadlines, hungarian_date, hungarian_time, invalid, local_date};

/// Who reads a client's documents on the portal.
#[derive(Clone, Debug)]
pub struct Reader {
    /// The signed-in portal account.
    pub account_id: Uuid,
    /// Its name.
    pub account_name: String,
    /// Whose documents: the account's own client, or the client it acts for under a mandate
    /// the caller has checked.
    pub client_id: Uuid,
    /// The represented client's name when acting for another client.
    pub principal_name: Option<String>,
}

/// How a document was delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryHow {
    /// Downloaded by the addressee or a representative.
    Downloaded,
    /// Deemed delivered after the period.
    Deemed,
}

/// A delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// How.
    pub how: DeliveryHow,
    /// When it took legal effect.
    pub at: DateTime<Utc>,
    /// The portal account that downloaded it.
    pub account_id: Option<Uuid>,
    /// The client that account acted for, when a representative downloaded it.
    pub on_behalf_of_client_id: Option<Uuid>,
}

/// An issued document, without its content.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentSummary {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: DocumentKind,
    /// Title, e.g. `Határozat – Lakossági várakozási hozzájárulás kiadása`.
    pub title: String,
    /// What it belongs to (case number).
    pub subject_ref: String,
    /// The addressee.
    pub addressee_client_id: Uuid,
    /// When it was sealed and made available.
    pub issued_at: DateTime<Utc>,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    /// Size of the PDF.
    pub size_bytes: i32,
    /// The delivery, once there is one.
    pub delivery: Option<Delivery>,
    /// When the reminder was sent.
    pub reminder_sent_at: Option<DateTime<Utc>>,
    /// The download certificate issued for it.
    pub certificate_id: Option<Uuid>,
    /// The document it certifies, for a download certificate.
    pub certifies_document_id: Option<Uuid>,
    /// The working-day period after which it is deemed delivered.
    pub deemed_after_working_days: i32,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    kind: String,
    title: String,
    subject_ref: String,
    addressee_client_id: Uuid,
    issued_at: DateTime<Utc>,
    sha256: Vec<u8>,
    size_bytes: i32,
    how: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    account_id: Option<Uuid>,
    on_behalf_of_client_id: Option<Uuid>,
    reminder_sent_at: Option<DateTime<Utc>>,
    certificate_id: Option<Uuid>,
    certifies_document_id: Option<Uuid>,
    deemed_after_working_days: i32,
}

impl TryFrom<SummaryRow> for DocumentSummary {
    type Error = DeliveryError;

    fn try_from(r: SummaryRow) -> Result<Self, DeliveryError> {
        let kind = DocumentKind::parse(&r.kind).ok_or_else(|| DeliveryError::Corrupt(format!("document kind {}", r.kind)))?;
        let delivery = match (r.how.as_deref(), r.delivered_at) {
            (Some(how), Some(at)) => Some(Delivery {
                how: if how == "deemed" { DeliveryHow::Deemed } else { DeliveryHow::Downloaded },
                at,
                account_id: r.account_id,
                on_behalf_of_client_id: r.on_behalf_of_client_id,
            }),
            _ => None,
        };
        Ok(Self {
            id: r.id,
            kind,
            title: r.title,
            subject_ref: r.subject_ref,
            addressee_client_id: r.addressee_client_id,
            issued_at: r.issued_at,
            sha256: hex::encode(r.sha256),
            size_bytes: r.size_bytes,
            delivery,
            reminder_sent_at: r.reminder_sent_at,
            certificate_id: r.certificate_id,
            certifies_document_id: r.certifies_document_id,
            deemed_after_working_days: r.deemed_after_working_days,
        })
    }
}

const SUMMARY: &str = "SELECT d.id, d.kind, d.title, d.subject_ref, d.addressee_client_id, d.issued_at, d.sha256, d.size_bytes,
        dl.how, dl.delivered_at, dl.account_id, dl.on_behalf_of_client_id, d.reminder_sent_at, c.id AS certificate_id,
        d.certifies_document_id, d.deemed_after_working_days
    FROM issued_document d
    LEFT JOIN delivery dl ON dl.document_id = d.id
    LEFT JOIN issued_document c ON c.certifies_document_id = d.id";

/// A client's documents, newest first.
pub async fn list_for_client(tx: &mut TenantTx, client_id: Uuid) -> Result<Vec<DocumentSummary>, DeliveryError> {
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} WHERE d.addressee_client_id = $1 ORDER BY d.issued_at DESC, d.id"))
        .bind(client_id)
        .fetch_all(tx.conn())
        .await?;
    rows.into_iter().map(DocumentSummary::try_from).collect()
}

/// One document of the reader's, if it is theirs.
pub async fn get_for_client(tx: &mut TenantTx, client_id: Uuid, id: Uuid) -> Result<Option<DocumentSummary>, DeliveryError> {
    let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} WHERE d.id = $1 AND d.addressee_client_id = $2"))
        .bind(id)
        .bind(client_id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(DocumentSummary::try_from).transpose()
}

/// Why issued documents outlive an erasure request.
pub const DOCUMENT_RETENTION_REASON: &str = "documents issued to you and the record of their delivery have legal effect and \
     belong to the case files: the office keeps them for the period its records retention schedule sets under Act LXVI of \
     1995 on public records";

/// The documents issued to a client that an erasure of their account keeps, for its report.
pub async fn retained_on_erasure(tx: &mut TenantTx, client_id: Uuid) -> Result<Option<kapu_clients::account::Retained>, DeliveryError> {
    let docs = list_for_client(tx, client_id).await?;
    if docs.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = docs.iter().map(|d| format!("{} ({})", d.title, d.subject_ref)).collect();
    Ok(Some(kapu_clients::account::Retained {
        what: format!("issued documents: {}", names.join("; ")),
        why: DOCUMENT_RETENTION_REASON.to_owned(),
        needs_client_record: false,
    }))
}

/// A document by id, whoever it is addressed to (for staff views such as the case card; the
/// caller audits).
pub async fn summary(tx: &mut TenantTx, id: Uuid) -> Result<Option<DocumentSummary>, DeliveryError> {
    let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} WHERE d.id = $1")).bind(id).fetch_optional(tx.conn()).await?;
    row.map(DocumentSummary::try_from).transpose()
}

/// Whether the issuing of a download certificate for `document_id` is under way.
pub async fn certificate_pending(tx: &mut TenantTx, document_id: Uuid) -> Result<bool, DeliveryError> {
    Ok(kapu_jobs::find_open(tx, ISSUE_JOB, &serde_json::json!({ "certifies": document_id })).await?.is_some())
}

/// A downloaded document.
#[derive(Clone)]
pub struct Downloaded {
    /// The sealed PDF.
    pub pdf: Vec<u8>,
    /// A file name for it (ASCII).
    pub filename: String,
    /// Whether this download was the delivery.
    pub delivered_now: bool,
}

impl std::fmt::Debug for Downloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloaded").field("filename", &self.filename).field("delivered_now", &self.delivered_now).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct StoredPdf {
    kind: String,
    subject_ref: String,
    pdf_enc: Vec<u8>,
    issued_at: DateTime<Utc>,
    deemed_after_working_days: i32,
}

/// Hands the reader a document of theirs and records the download; the first download of a
/// decision is its delivery (one row, whichever concurrent download commits first), unless
/// the decision was deemed delivered already (then that is recorded, if the deadlines job has
/// not done so yet). A delivery recorded here is passed to `on_delivery` in the same
/// transaction. Another client's document is [`DeliveryError::NotFound`].
pub async fn download(
    tx: &mut TenantTx,
    ring: &Keyring,
    calendar: &Calendar,
    reader: &Reader,
    id: Uuid,
    on_delivery: &dyn OnDelivery,
    now: DateTime<Utc>,
) -> Result<Downloaded, DeliveryError> {
    let row: Option<StoredPdf> = sqlx::query_as(
        "SELECT kind, subject_ref, pdf_enc, issued_at, deemed_after_working_days FROM issued_document WHERE id = $1 AND addressee_client_id = $2",
    )
    .bind(id)
    .bind(reader.client_id)
    .fetch_optional(tx.conn())
    .await?;
    let StoredPdf { kind, subject_ref, pdf_enc, issued_at, deemed_after_working_days: deemed_days } = row.ok_or(DeliveryError::NotFound)?;
    let kind = DocumentKind::parse(&kind).ok_or_else(|| DeliveryError::Corrupt(format!("document kind {kind}")))?;
    let on_behalf = reader.principal_name.as_ref().map(|_| reader.client_id);
    sqlx::query("INSERT INTO document_download (document_id, account_id, on_behalf_of_client_id, downloaded_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(reader.account_id)
        .bind(on_behalf)
        .bind(now)
        .execute(tx.conn())
        .await?;
    let mut delivered_now = false;
    if kind.needs_delivery() {
        let deemed = deadlines::deemed_after(calendar, issued_at, deemed_days)
            .ok()
            .filter(|last| local_date(now) > *last)
            .and_then(|last| last.checked_add_days(chrono::Days::new(1)));
        let recorded = match deemed {
            Some(day) => {
                let at = crate::start_of_local_day(day);
                let n = sqlx::query(
                    "INSERT INTO delivery (document_id, how, delivered_at, recorded_at) VALUES ($1, 'deemed', $2, $3)
                     ON CONFLICT (document_id) DO NOTHING",
                )
                .bind(id)
                .bind(at)
                .bind(now)
                .execute(tx.conn())
                .await?
                .rows_affected();
                (n == 1).then_some(Recorded { document_id: id, how: DeliveryHow::Deemed, at })
            }
            None => {
                let n = sqlx::query(
                    "INSERT INTO delivery (document_id, how, delivered_at, account_id, on_behalf_of_client_id, recorded_at)
                     VALUES ($1, 'downloaded', $2, $3, $4, $2) ON CONFLICT (document_id) DO NOTHING",
                )
                .bind(id)
                .bind(now)
                .bind(reader.account_id)
                .bind(on_behalf)
                .execute(tx.conn())
                .await?
                .rows_affected();
                (n == 1).then_some(Recorded { document_id: id, how: DeliveryHow::Downloaded, at: now })
            }
        };
        if let Some(r) = recorded {
            delivered_now = r.how == DeliveryHow::Downloaded;
            on_delivery.delivered(tx, r, now).await?;
        }
    }
    let pdf = ring.open(&PDF.at(id), &pdf_enc)?;
    Ok(Downloaded { pdf, filename: filename(kind, &subject_ref), delivered_now })
}

fn filename(kind: DocumentKind, subject_ref: &str) -> String {
    let base = match kind {
        DocumentKind::Decision => "hatarozat",
        DocumentKind::SimplifiedDecision => "egyszerusitett-hatarozat",
        DocumentKind::DownloadCertificate => "letoltesi-igazolas",
    };
    let reference: String = subject_ref.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(60).collect();
    format!("{base}-{reference}.pdf")
}

/// Asks for the download certificate of a delivered decision of the reader's; returns the
/// certificate's id. A second request gets the same certificate. The certificate names the
/// document's hash, who downloaded it first and when.
pub async fn request_download_certificate(
    tx: &mut TenantTx,
    reader: &Reader,
    ring: &Keyring,
    id: Uuid,
    authority: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DeliveryError> {
    let doc = get_for_client(tx, reader.client_id, id).await?.ok_or(DeliveryError::NotFound)?;
    if !doc.kind.needs_delivery() {
        return Err(invalid("document", Refusal::CertifiesCertificate));
    }
    if let Some(c) = doc.certificate_id {
        return Ok(c);
    }
    if let Some(p) = kapu_jobs::find_open(tx, ISSUE_JOB, &serde_json::json!({ "certifies": id })).await?
        && let Some(c) = p.get("document_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
    {
        return Ok(c);
    }
    let Some(delivery) = doc.delivery.filter(|d| d.how == DeliveryHow::Downloaded) else {
        return Err(DeliveryError::NotDownloaded);
    };
    let downloader = delivery.account_id.unwrap_or_default();
    let downloaded_by = if downloader == reader.account_id {
        reader.account_name.clone()
    } else {
        kapu_clients::account::get_account(tx, downloader)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_else(|| "(a letöltő portálfiókja azóta megszűnt)".into())
    };
    let on_behalf_of =
        delivery.on_behalf_of_client_id.map(|_| reader.principal_name.clone().unwrap_or_else(|| reader.account_name.clone()));
    let data = CertificateData {
        authority: authority.to_owned(),
        document_title: doc.title,
        document_kind: doc.kind.hungarian().to_owned(),
        subject_ref: doc.subject_ref.clone(),
        document_issued_at: hungarian_time(doc.issued_at),
        sha256: doc.sha256,
        downloaded_by,
        on_behalf_of,
        downloaded_at: hungarian_time(delivery.at),
        issued_date: hungarian_date(local_date(now)),
    };
    let addressee = Addressee { client_id: reader.client_id, representative_account_id: None };
    issue::enqueue_certificate(tx, ring, addressee, doc.subject_ref, id, data).await
}

/// A document with its delivery state, for staff.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryState {
    /// The document.
    pub document: DocumentSummary,
    /// For an undelivered decision: the day after which it is deemed delivered.
    pub deemed_after: Option<NaiveDate>,
    /// Why `deemed_after` is unknown (e.g. the next year's working-day decree is not on file).
    pub deadline_note: Option<String>,
}

/// A client's documents and their delivery, for staff; writes an audit record.
pub async fn delivery_state(
    tx: &mut TenantTx,
    access: Access<'_>,
    calendar: &Calendar,
    client_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<DeliveryState>, DeliveryError> {
    let docs = list_for_client(tx, client_id).await?;
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent {
            actor: access.actor,
            action: "document.delivery_read",
            subject_client_id: Some(client_id),
            reason: access.reason,
            details: serde_json::json!({ "documents": docs.len() }),
        },
        now,
    )
    .await?;
    Ok(docs
        .into_iter()
        .map(|document| {
            let (deemed_after, deadline_note) = if document.kind.needs_delivery() && document.delivery.is_none() {
                match deadlines::deemed_after(calendar, document.issued_at, document.deemed_after_working_days) {
                    Ok(d) => (Some(d), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            } else {
                (None, None)
            };
            DeliveryState { document, deemed_after, deadline_note }
        })
        .collect())
}
