//! National login (KAÜ) on the portal: the tenant's SAML service provider metadata, the
//! start of a sign-in (a redirect to the identity provider carrying a signed request) and
//! the assertion consumer service, which the identity provider's page posts the response
//! to. A refused response gets a page that says why, and changes nothing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use kapu_kau::KauConfig;
use kapu_saml::ServiceProvider;
use minijinja::context;

use super::account::{SESSION_COOKIE, session, set_cookie};
use super::{language_of, render, text};
use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/kau/metadata", get(sp_metadata)).route("/kau/belepes", get(start)).route("/kau/acs", post(acs))
}

/// The tenant as a service provider, at its configured base URL (never the request's Host).
fn service_provider(t: &ResolvedTenant) -> ServiceProvider {
    let base = &t.base_url;
    ServiceProvider { entity_id: format!("{base}/kau/metadata"), acs_url: format!("{base}/kau/acs"), name: t.tenant.name.clone() }
}

/// The page that says why the national login did not sign the person in.
fn refused(state: &AppState, t: &ResolvedTenant, lang: &str, status: StatusCode, code: &str) -> Response {
    let mut res =
        render(state, t, lang, false, "kau_refused.html", status, context! { reason => text(lang, &format!("err_{code}")), code => code });
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The tenant's configuration, or the status and code of the page to show instead.
fn config(t: &ResolvedTenant) -> Result<KauConfig, (StatusCode, &'static str)> {
    match KauConfig::from_settings(&t.tenant.settings) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err((StatusCode::NOT_FOUND, "kau_not_configured")),
        Err(e) => {
            tracing::error!(error = %e, "the national login is misconfigured");
            Err((StatusCode::SERVICE_UNAVAILABLE, "kau_config"))
        }
    }
}

async fn sp_metadata(State(state): State<AppState>, Extension(t): Extension<ResolvedTenant>) -> Result<Response, ApiError> {
    let sp = service_provider(&t);
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let xml = kapu_kau::metadata(&mut tx, &ring, state.saml.as_ref(), &sp, Utc::now()).await?;
    tx.commit().await?;
    Ok(([(header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response())
}

async fn start(State(state): State<AppState>, Extension(t): Extension<ResolvedTenant>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (lang, _) = language_of(None, &headers);
    let config = match config(&t) {
        Ok(c) => c,
        Err((status, code)) => return Ok(refused(&state, &t, &lang, status, code)),
    };
    // The binding cookie must come back to the ACS at the tenant's configured base URL: a
    // start on the tenant's other address (its domain, or the platform's `/t/{slug}/`) goes
    // there first. The target is configuration, never the request's Host.
    if t.prefix.is_empty() == t.tenant.origin().is_none() {
        return Ok(Redirect::to(&format!("{}/kau/belepes", t.base_url)).into_response());
    }
    let sp = service_provider(&t);
    let (account, mut tx) = match session(&state, &t, &headers).await? {
        Some((s, tx)) => (Some(s.account.id), tx),
        None => (None, state.db.tenant_tx(&t.tenant).await?),
    };
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let started = kapu_kau::begin(&mut tx, &ring, state.saml.as_ref(), &config, &sp, account, Utc::now()).await?;
    tx.commit().await?;
    let mut res = Redirect::to(&started.redirect_url).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    binding_cookie(&mut res, &state, &t, &started.binding, kapu_saml::REQUEST_TTL.num_seconds());
    Ok(res)
}

/// The cookie that binds a sign-in request to the browser that started it.
const BINDING_COOKIE: &str = "kapu_kau";

/// Sets (or, with `max_age` 0, clears) the binding cookie, sent only to the national login's
/// paths. The identity provider's page posts the response cross-site, which a SameSite=Lax
/// or Strict cookie would not follow: under TLS the cookie is `SameSite=None; Secure` (it
/// authenticates nothing, and only matches the request this browser started); on plain
/// HTTP, where browsers refuse `SameSite=None`, it is Lax, which reaches an identity
/// provider on the same site (the simulator on this machine).
fn binding_cookie(res: &mut Response, state: &AppState, t: &ResolvedTenant, value: &str, max_age: i64) {
    let same_site = if state.config.secure_cookies { "None; Secure" } else { "Lax" };
    let v = format!("{BINDING_COOKIE}={value}; Path={}/kau/; HttpOnly; SameSite={same_site}; Max-Age={max_age}", t.prefix);
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The assertion consumer service (HTTP-POST binding). It is posted to from the identity
/// provider's page, so it cannot carry our CSRF token: what protects it is the signature,
/// the audience and destination, the request ID it must answer once, the replay cache, and
/// the binding cookie of the browser that started that request (against login CSRF).
async fn acs(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (lang, _) = language_of(None, &headers);
    let config = match config(&t) {
        Ok(c) => c,
        Err((status, code)) => return Ok(refused(&state, &t, &lang, status, code)),
    };
    let sp = service_provider(&t);
    let saml_response =
        url::form_urlencoded::parse(&body).find(|(k, _)| k == "SAMLResponse").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let binding = crate::auth::cookie(&headers, BINDING_COOKIE);
    match kapu_kau::complete(&mut tx, &ring, state.saml.as_ref(), &config, &sp, &saml_response, binding, Utc::now()).await {
        Ok(done) => {
            tx.commit().await?;
            tracing::info!(client_created = done.outcome.client_created, account_created = done.outcome.account_created, "national login");
            let mut res = Redirect::to(&format!("{}/profil", t.prefix)).into_response();
            set_cookie(&mut res, &state, &t, SESSION_COOKIE, &done.token, kapu_clients::account::SESSION_TTL.num_seconds(), "Lax");
            binding_cookie(&mut res, &state, &t, "", 0);
            Ok(res)
        }
        Err(e) if e.is_refusal() => {
            // Dropping the transaction rolls back whatever the checks wrote.
            drop(tx);
            tracing::info!(code = %e.code(), reason = %e, "national login refused");
            let code = e.code();
            let status = if matches!(code.as_str(), "kau_other_person" | "kau_email_taken") {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            Ok(refused(&state, &t, &lang, status, &code))
        }
        Err(e) => Err(e.into()),
    }
}
