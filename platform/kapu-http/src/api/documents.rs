//! Documents issued to a client and their delivery state, for staff. Audited like every
//! read of a client's data: the purpose goes in the `X-Access-Reason` header.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use kapu_clients::Access;
use kapu_delivery::access::DeliveryHow;
use kapu_staff::Permission;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::clients::PersonalData;
use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// A document's delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `downloaded` (by the addressee or a representative) or `deemed` (after the period).
    pub how: String,
    /// When it took effect.
    pub at: DateTime<Utc>,
    /// The portal account that downloaded it.
    pub account_id: Option<Uuid>,
    /// The client that account acted for, if a representative downloaded it.
    pub on_behalf_of_client_id: Option<Uuid>,
}

/// An issued document with its delivery state.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedDocumentView {
    /// Id.
    pub id: Uuid,
    /// `decision`, `simplified_decision` or `download_certificate`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// What it belongs to (case number).
    pub subject_ref: String,
    /// When it was sealed and made available.
    pub issued_at: DateTime<Utc>,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    /// The delivery, if there is one yet.
    pub delivery: Option<DeliveryView>,
    /// When the reminder was sent.
    pub reminder_sent_at: Option<DateTime<Utc>>,
    /// For an undelivered decision: the last day of the period; it is deemed delivered the
    /// day after.
    pub deemed_after: Option<NaiveDate>,
    /// Why `deemed_after` cannot be counted yet, if so.
    pub deadline_note: Option<String>,
    /// The download certificate issued for it.
    pub certificate_id: Option<Uuid>,
    /// The document a download certificate certifies.
    pub certifies_document_id: Option<Uuid>,
}

/// A client's issued documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedDocumentList {
    /// Newest first.
    pub documents: Vec<IssuedDocumentView>,
}

/// The documents issued to a client and their delivery state.
#[utoipa::path(get, path = "/clients/{id}/documents", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 200, body = IssuedDocumentList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn client_documents(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<IssuedDocumentList>, ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::ReadClients).await?;
    let states = kapu_delivery::access::delivery_state(
        p.a.tx.tenant()?,
        Access { actor: &p.actor, reason: &p.reason },
        &state.calendar,
        id,
        Utc::now(),
    )
    .await?;
    p.a.tx.commit().await?;
    let documents = states
        .into_iter()
        .map(|st| {
            let d = st.document;
            IssuedDocumentView {
                id: d.id,
                kind: d.kind.as_str().to_owned(),
                title: d.title,
                subject_ref: d.subject_ref,
                issued_at: d.issued_at,
                sha256: d.sha256,
                delivery: d.delivery.map(|x| DeliveryView {
                    how: match x.how {
                        DeliveryHow::Downloaded => "downloaded",
                        DeliveryHow::Deemed => "deemed",
                    }
                    .to_owned(),
                    at: x.at,
                    account_id: x.account_id,
                    on_behalf_of_client_id: x.on_behalf_of_client_id,
                }),
                reminder_sent_at: d.reminder_sent_at,
                deemed_after: st.deemed_after,
                deadline_note: st.deadline_note,
                certificate_id: d.certificate_id,
                certifies_document_id: d.certifies_document_id,
            }
        })
        .collect();
    Ok(Json(IssuedDocumentList { documents }))
}
