//! The client's documents on the portal: the list, downloads (the first download of a
//! decision is its delivery) and download certificates. A representative acting for a client
//! under a mandate sees and downloads that client's documents.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Extension, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use kapu_clients::account::{self, ClientSession};
use kapu_core::TenantTx;
use kapu_delivery::access::{self, DeliveryHow, Reader};
use kapu_delivery::{DeliveryError, DocumentKind, hungarian_date, hungarian_time};
use minijinja::context;
use uuid::Uuid;

use super::account::{check_form, message, session};
use super::{language_of, render};
use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dokumentumok", get(list))
        .route("/dokumentumok/{id}", get(download))
        .route("/dokumentumok/{id}/letoltesi-igazolas", post(request_certificate))
}

/// Whose documents the session reads: the client it acts for under a still valid mandate,
/// else the account's own client. `None` for an account not linked to a client yet.
async fn reader(state: &AppState, t: &ResolvedTenant, tx: &mut TenantTx, s: &mut ClientSession) -> Result<Option<Reader>, ApiError> {
    let today = Utc::now().date_naive();
    if let Some(p) = s.acting_for {
        let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
        let mandates = kapu_clients::organisation::mandates_of(tx, &ring, s.account.id, today).await?;
        if let Some(m) = mandates.iter().find(|m| m.principal_client_id == p) {
            return Ok(Some(Reader {
                account_id: s.account.id,
                account_name: s.account.display_name.clone(),
                client_id: p,
                principal_name: Some(m.principal_name.clone()),
            }));
        }
        // The mandate ended since it was chosen: back to acting for oneself.
        account::act_for(tx, s, None, today).await?;
    }
    Ok(s.account.client_id.map(|c| Reader {
        account_id: s.account.id,
        account_name: s.account.display_name.clone(),
        client_id: c,
        principal_name: None,
    }))
}

fn to_login(t: &ResolvedTenant) -> Response {
    Redirect::to(&format!("{}/belepes", t.prefix)).into_response()
}

fn not_found(state: &AppState, t: &ResolvedTenant, lang: &str) -> Response {
    let mut res = render(state, t, lang, false, "not_found.html", StatusCode::NOT_FOUND, context! { signed_in => true });
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn list(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((mut s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(to_login(&t)) };
    let (lang, lang_chosen) = language_of(uri.query(), &headers);
    let reader = reader(&state, &t, &mut tx, &mut s).await?;
    let mut documents = Vec::new();
    if let Some(r) = &reader {
        for d in access::list_for_client(&mut tx, r.client_id).await? {
            let pending = d.kind.needs_delivery()
                && d.certificate_id.is_none()
                && d.delivery.as_ref().is_some_and(|x| x.how == DeliveryHow::Downloaded)
                && access::certificate_pending(&mut tx, d.id).await?;
            let kind = match d.kind {
                DocumentKind::Decision => "kind_decision",
                DocumentKind::SimplifiedDecision => "kind_simplified_decision",
                DocumentKind::DownloadCertificate => "kind_download_certificate",
            };
            let state_key = match d.delivery.as_ref().map(|x| x.how) {
                _ if !d.kind.needs_delivery() => "",
                Some(DeliveryHow::Downloaded) => "state_downloaded",
                Some(DeliveryHow::Deemed) => "state_deemed",
                None => "state_waiting",
            };
            documents.push(context! {
                id => d.id.to_string(),
                title => d.title,
                subject_ref => d.subject_ref,
                kind => kind,
                issued_at => hungarian_time(d.issued_at),
                sha256 => d.sha256,
                state => state_key,
                delivered_at => d.delivery.as_ref().map(|x| hungarian_time(x.at)),
                can_certify => state_key == "state_downloaded" && d.certificate_id.is_none() && !pending,
                certificate_pending => pending,
                certificate_id => d.certificate_id.map(|c| c.to_string()),
                deemed_days => d.deemed_after_working_days,
            });
        }
    }
    tx.commit().await?;
    let mut res = render(
        &state,
        &t,
        &lang,
        lang_chosen,
        "documents.html",
        StatusCode::OK,
        context! {
            signed_in => true,
            csrf => &s.csrf_token,
            linked => reader.is_some(),
            acting_for => reader.as_ref().and_then(|r| r.principal_name.clone()),
            documents,
            today => hungarian_date(Utc::now().date_naive()),
        },
    );
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn download(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((mut s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(to_login(&t)) };
    let (lang, _) = language_of(uri.query(), &headers);
    let (Ok(id), Some(reader)) = (Uuid::parse_str(&id), reader(&state, &t, &mut tx, &mut s).await?) else {
        return Ok(not_found(&state, &t, &lang));
    };
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let doc = match access::download(&mut tx, &ring, &state.calendar, &reader, id, &kapu_cases::CaseDeliveries, Utc::now()).await {
        Ok(d) => d,
        Err(DeliveryError::NotFound) => return Ok(not_found(&state, &t, &lang)),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let disposition = format!("attachment; filename=\"{}\"", doc.filename);
    let mut res = (StatusCode::OK, doc.pdf).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

async fn request_certificate(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some((mut s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(to_login(&t)) };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    let (lang, _) = language_of(uri.query(), &headers);
    let (Ok(id), Some(reader)) = (Uuid::parse_str(&id), reader(&state, &t, &mut tx, &mut s).await?) else {
        return Ok(not_found(&state, &t, &lang));
    };
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    match access::request_download_certificate(&mut tx, &reader, &ring, id, &t.tenant.name, Utc::now()).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("{}/dokumentumok#doc-{id}", t.prefix)).into_response())
        }
        Err(DeliveryError::NotFound) => Ok(not_found(&state, &t, &lang)),
        Err(DeliveryError::NotDownloaded | DeliveryError::Invalid { .. }) => Ok(message(
            &state,
            &t,
            &lang,
            StatusCode::CONFLICT,
            "certificate_refused_title",
            "certificate_refused_text",
            Some(("/dokumentumok", "documents_back")),
        )),
        Err(e) => Err(e.into()),
    }
}
