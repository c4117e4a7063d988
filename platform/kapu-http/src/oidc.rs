//! Each tenant as an OpenID Provider: discovery, JWKS, the authorization endpoint with the
//! consent screen, the token, userinfo, revocation and introspection endpoints, and
//! RP-initiated logout. The issuer is `{scheme}://{host}{prefix}`: the tenant's own host, or
//! the `/t/{slug}` prefix on a platform host.
//!
//! Endpoints that relying parties call answer errors as OAuth JSON (`error`,
//! `error_description`, RFC 6749 §5.2); people get readable pages; redirects back to a
//! relying party carry the OAuth error code. The person signs in with their portal account.

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use chrono::Utc;
use kapu_clients::account;
use kapu_oidc::flow::{self, AuthorizationRequest, CodeExchange, Issuer, Prompt, ValidAuthorization};
use kapu_oidc::registry::{self, ClientCredentials};
use kapu_oidc::{AuthPageError, OAuthCode, OidcError};
use minijinja::context;
use serde_json::{Value, json};
use sqlx::postgres::PgRow;

use crate::AppState;
use crate::portal::account::{SESSION_COOKIE, check_form, session, set_cookie};
use crate::portal::{language_of, render};
use crate::problem::{ApiError, ProtocolError};
use crate::tenancy::ResolvedTenant;

type Fields = HashMap<String, String>;

pub(crate) fn routes() -> Router<AppState> {
    // What a browser app (a public client running in the page) calls with `fetch`: open to
    // every origin, without cookies, since these endpoints authenticate by client credentials,
    // PKCE or bearer token and never by the portal session. The pages (authorize, consent,
    // logout) are navigated to, not fetched; introspection is for servers.
    let cross_origin = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/revoke", post(revoke))
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([header::WWW_AUTHENTICATE])
                .max_age(std::time::Duration::from_secs(3600)),
        );
    Router::new()
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/oidc/consent", post(consent))
        .route("/oidc/introspect", post(introspect))
        .route("/oidc/logout", get(logout_get).post(logout_post))
        .merge(cross_origin)
}

/// The tenant's issuer URL: its configured base URL, whichever host the request named.
pub(crate) fn issuer(t: &ResolvedTenant) -> String {
    t.base_url.clone()
}

/// Whether `next` is an authorization request of this tenant, the only place the sign-in
/// form returns to besides the profile.
pub(crate) fn is_return_path(t: &ResolvedTenant, next: &str) -> bool {
    next.strip_prefix(&t.prefix).is_some_and(|rest| rest.starts_with("/oidc/authorize?")) && !next.chars().any(char::is_control)
}

/// Widens the page's `form-action` to the origin of the redirect URI in `authorize_path`:
/// Chromium applies `form-action` to the redirects that follow a form post.
pub(crate) fn allow_form_target(res: &mut Response, authorize_path: &str) {
    let query = authorize_path.split_once('?').map(|(_, q)| q).unwrap_or("");
    if let Some((_, uri)) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "redirect_uri") {
        allow_origin_of(res, &uri);
    }
}

fn allow_origin_of(res: &mut Response, uri: &str) {
    let Ok(u) = url::Url::parse(uri) else { return };
    let origin = u.origin().ascii_serialization();
    if origin == "null" || origin.chars().any(|c| c.is_whitespace() || c == ';' || c == ',' || c == '\'') {
        return;
    }
    let csp = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self' {origin}; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// An OAuth error as JSON (RFC 6749 §5.2).
fn oauth_error(code: OAuthCode, description: &str) -> Response {
    let status = match code {
        OAuthCode::InvalidClient | OAuthCode::InvalidToken => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut res = (status, axum::Json(json!({ "error": code.as_str(), "error_description": description }))).into_response();
    no_store(&mut res);
    res.extensions_mut().insert(ProtocolError);
    res
}

fn no_store(res: &mut Response) {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn json_no_store(v: impl serde::Serialize) -> Response {
    let mut res = axum::Json(v).into_response();
    no_store(&mut res);
    res
}

async fn discovery(Extension(t): Extension<ResolvedTenant>) -> Response {
    let iss = issuer(&t);
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": kapu_oidc::SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "name", "email", "email_verified",
            "address", "phone_number", "family_name", "given_name", "birthdate", "kapu_birth_name", "kapu_mother_birth_name",
            "kapu_birth_place", "kapu_identification_level"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "ui_locales_supported": ["hu", "en"],
    });
    let mut res = axum::Json(doc).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

async fn tenant_keys(
    state: &AppState,
    t: &ResolvedTenant,
    tx: &mut kapu_core::TenantTx,
) -> Result<std::sync::Arc<kapu_oidc::keys::TenantKeys>, ApiError> {
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    Ok(state.oidc_keys.get(tx, &ring, Utc::now()).await?)
}

/// The tenant's signing keys: from the cache without touching the database while they are
/// fresh, else loaded (and made, the first time) in a transaction of their own.
async fn cached_keys(state: &AppState, t: &ResolvedTenant) -> Result<std::sync::Arc<kapu_oidc::keys::TenantKeys>, ApiError> {
    if let Some(k) = state.oidc_keys.cached(t.tenant.slug.as_str(), Utc::now()) {
        return Ok(k);
    }
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let keys = tenant_keys(state, t, &mut tx).await?;
    tx.commit().await?;
    Ok(keys)
}

async fn jwks(State(state): State<AppState>, Extension(t): Extension<ResolvedTenant>) -> Result<Response, ApiError> {
    let keys = cached_keys(&state, &t).await?;
    let mut res = ([(header::CONTENT_TYPE, "application/jwk-set+json")], keys.jwks().to_string()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(res)
}

/// The dictionary of the provider's pages.
fn texts(lang: &str) -> Value {
    let en = lang == "en";
    let pairs: &[(&str, &str, &str)] = &[
        ("consent_title", "Hozzájárulás adatai átadásához", "Share your data with an application"),
        ("consent_intro_before", "A(z)", "The application"),
        (
            "consent_intro_after",
            "alkalmazás az önkormányzati fiókjával szeretné azonosítani Önt, és az alábbi adatokat kéri:",
            "wants to identify you with your municipal account and asks for the following data:",
        ),
        ("signed_in_as", "Belépve mint", "Signed in as"),
        ("consent_scopes", "Kért adatok", "Data asked for"),
        ("consent_return", "Döntése után visszairányítjuk ide:", "After your decision you return to:"),
        ("allow", "Engedélyezem", "Allow"),
        ("deny", "Elutasítom", "Deny"),
        ("scope_openid", "Azonosító a fiókjához", "An identifier of your account"),
        ("scope_profile", "A neve", "Your name"),
        ("scope_email", "Az e-mail-címe", "Your e-mail address"),
        ("scope_address", "A lakcíme", "Your address"),
        ("scope_phone", "A telefonszáma", "Your phone number"),
        (
            "scope_kapu_identity",
            "Természetes személyazonosító adatai és azonosítási szintje",
            "Your natural identity data and identification level",
        ),
        ("error_title", "Az alkalmazásba nem lehet belépni", "You cannot sign in to the application"),
        (
            "err_unknown_client",
            "Az alkalmazás nincs nyilvántartva ennél az önkormányzatnál. Jelezze az alkalmazás üzemeltetőjének.",
            "The application is not registered with this municipality. Please tell the application's operator.",
        ),
        (
            "err_redirect_mismatch",
            "Az alkalmazás olyan visszatérési címet adott meg, amelyet nem regisztrált; biztonsági okból nem küldjük tovább. Jelezze az alkalmazás üzemeltetőjének.",
            "The application gave a return address it did not register; for your safety we do not send you there. Please tell the application's operator.",
        ),
        (
            "err_bad_request",
            "A bejelentkezési kérés hibás. Kezdje újra az alkalmazásban.",
            "The sign-in request is malformed. Please start again in the application.",
        ),
        (
            "err_logout_target",
            "Az alkalmazás olyan címre kérte a visszairányítást, amelyet nem regisztrált.",
            "The application asked to return to an address it did not register.",
        ),
        ("logout_title", "Kilépés", "Sign out"),
        ("logout_question", "Ki szeretne lépni az önkormányzati fiókjából?", "Do you want to sign out of your municipal account?"),
        ("logout_button", "Kilépés", "Sign out"),
        ("logged_out_title", "Kilépett", "You are signed out"),
        ("logged_out_text", "Kilépett az önkormányzati fiókjából.", "You have signed out of your municipal account."),
        ("back_home", "Vissza a kezdőlapra", "Back to the home page"),
    ];
    Value::Object(pairs.iter().map(|(k, h, e)| ((*k).to_owned(), Value::String(if en { *e } else { *h }.to_owned()))).collect())
}

fn page(state: &AppState, t: &ResolvedTenant, lang: &str, status: StatusCode, heading: &str, body: &str) -> Response {
    let o = texts(lang);
    let get = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or(k).to_owned();
    let mut res = render(
        state,
        t,
        lang,
        false,
        "message.html",
        status,
        context! { heading => get(heading), text => get(body), link => format!("{}/", t.prefix), link_text => get("back_home") },
    );
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut u) = url::Url::parse(uri) else {
        return ApiError::Internal("a registered redirect URI does not parse".into()).into_response();
    };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    let mut res = Redirect::to(u.as_str()).into_response();
    no_store(&mut res);
    res
}

fn redirect_error(iss: &str, req: &AuthorizationRequest, code: OAuthCode, description: &str) -> Response {
    let mut p = vec![("error", code.as_str()), ("error_description", description), ("iss", iss)];
    if let Some(s) = &req.state {
        p.push(("state", s));
    }
    redirect_with(req.redirect_uri.as_deref().unwrap_or_default(), &p)
}

fn request_params(req: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    [
        ("client_id", &req.client_id),
        ("redirect_uri", &req.redirect_uri),
        ("response_type", &req.response_type),
        ("scope", &req.scope),
        ("state", &req.state),
        ("nonce", &req.nonce),
        ("code_challenge", &req.code_challenge),
        ("code_challenge_method", &req.code_challenge_method),
        ("prompt", &req.prompt),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

fn request_from(fields: &Fields) -> AuthorizationRequest {
    let get = |k: &str| fields.get(k).cloned();
    AuthorizationRequest {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        response_type: get("response_type"),
        scope: get("scope"),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        prompt: get("prompt"),
    }
}

async fn authorize_get(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
    q: Result<Query<Fields>, QueryRejection>,
) -> Result<Response, ApiError> {
    let lang = language_of(uri.query(), &headers).0;
    let Ok(Query(q)) = q else { return Ok(page(&state, &t, &lang, StatusCode::BAD_REQUEST, "error_title", "err_bad_request")) };
    authorize(&state, &t, &headers, &lang, request_from(&q)).await
}

async fn authorize_post(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, ApiError> {
    let lang = language_of(None, &headers).0;
    let Ok(Form(f)) = f else { return Ok(page(&state, &t, &lang, StatusCode::BAD_REQUEST, "error_title", "err_bad_request")) };
    authorize(&state, &t, &headers, &lang, request_from(&f)).await
}

/// Checks the request, then sends the person to sign in, to the consent screen, or back
/// to the relying party with a code.
async fn authorize(
    state: &AppState,
    t: &ResolvedTenant,
    headers: &HeaderMap,
    lang: &str,
    req: AuthorizationRequest,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let iss = issuer(t);
    let slug = &t.tenant.slug;
    let token = crate::auth::cookie(headers, SESSION_COOKIE).filter(|c| !c.is_empty());
    let client_id = req.client_id.as_deref().unwrap_or_default();
    // The usual case in one round trip: the relying party read lately, a valid request and
    // a session cookie whose account already consented. Anything else (no session, consent
    // still to give, a party deleted meanwhile) takes the way below, which reads the party
    // and the session afresh.
    if let Some(token) = token
        && let Some(party) = state.oidc_parties.get(slug.as_str(), client_id, now)
        && let Ok(auth) = flow::check_request(Some(party.party().clone()), &req)
        && matches!(auth.prompt, Prompt::Default | Prompt::None)
    {
        match flow::issue_code_for_session(&state.db, slug, token, &auth, now).await {
            Ok(Some(code)) => return Ok(code_redirect(&iss, &auth, &code)),
            Ok(None) => {}
            Err(OidcError::BadAuthorizationRequest(_)) => state.oidc_parties.forget(slug.as_str(), client_id),
            Err(e) => return Err(e.into()),
        }
    }
    // One round trip reads the relying party and the session; one more writes the code.
    let mut reads = vec![registry::party_statement(client_id)];
    if let Some(token) = token {
        reads.push(account::session_statement(token, now));
    }
    let rows = state.db.tenant_read_all(slug, &reads).await?;
    let registered = registry::Registered::from_rows(part(&rows, 0))?;
    match &registered {
        Some(r) => state.oidc_parties.put(slug.as_str(), r.clone(), now),
        None => state.oidc_parties.forget(slug.as_str(), client_id),
    }
    let auth = match flow::check_request(registered.map(registry::Registered::into_party), &req) {
        Ok(a) => a,
        Err(e) => return auth_failure(state, t, lang, &iss, &req, e),
    };
    let signed_in = match token {
        Some(token) => account::session_from(part(&rows, 1), token, now)?,
        None => None,
    };
    let (session, touch) = match (signed_in, auth.prompt) {
        (Some(s), p) if p != Prompt::Login => s,
        (None, Prompt::None) => return Ok(without_code(state, t, lang, &iss, &req, &auth, None)),
        _ => return Ok(sign_in_first(t, &req)),
    };
    if auth.prompt != Prompt::Consent {
        // The code is written only if the person already consented to every scope asked for.
        let code = flow::issue_code_if_consented(&state.db, slug, session.account.id, &auth, session.signed_in_at, now, touch).await?;
        if let Some(code) = code {
            return Ok(code_redirect(&iss, &auth, &code));
        }
    } else if let Some(touch) = touch {
        state.db.tenant_write(slug, &[touch]).await?;
    }
    Ok(without_code(state, t, lang, &iss, &req, &auth, Some(&session)))
}

/// The answer to a valid authorization request that got no code: sign in first, or consent
/// (`prompt=none`: the OAuth error instead of a page).
fn without_code(
    state: &AppState,
    t: &ResolvedTenant,
    lang: &str,
    iss: &str,
    req: &AuthorizationRequest,
    auth: &ValidAuthorization,
    signed_in: Option<&account::ClientSession>,
) -> Response {
    match (signed_in, auth.prompt) {
        (None, Prompt::None) => redirect_error(iss, req, OAuthCode::LoginRequired, "nobody is signed in"),
        (None, _) => sign_in_first(t, req),
        (Some(_), Prompt::None) => redirect_error(iss, req, OAuthCode::ConsentRequired, "the person has not consented to these scopes yet"),
        (Some(s), _) => consent_page(state, t, lang, req, auth, s),
    }
}

/// Sends the person to sign in, then back here (without `prompt=login`, which is then met).
fn sign_in_first(t: &ResolvedTenant, req: &AuthorizationRequest) -> Response {
    let mut again = req.clone();
    again.prompt = req.prompt.as_deref().map(|p| p.replace("login", "")).filter(|p| !p.trim().is_empty());
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(request_params(&again)).finish();
    let next = format!("{}/oidc/authorize?{query}", t.prefix);
    let login = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish();
    Redirect::to(&format!("{}/belepes?{login}", t.prefix)).into_response()
}

/// The rows of the `i`th statement of a one-round-trip read.
fn part(rows: &[Vec<PgRow>], i: usize) -> &[PgRow] {
    rows.get(i).map(Vec::as_slice).unwrap_or_default()
}

fn code_redirect(iss: &str, auth: &ValidAuthorization, code: &str) -> Response {
    let mut p = vec![("code", code), ("iss", iss)];
    if let Some(s) = &auth.state {
        p.push(("state", s));
    }
    redirect_with(&auth.redirect_uri, &p)
}

fn auth_failure(
    state: &AppState,
    t: &ResolvedTenant,
    lang: &str,
    iss: &str,
    req: &AuthorizationRequest,
    e: OidcError,
) -> Result<Response, ApiError> {
    match e {
        OidcError::BadAuthorizationRequest(why) => {
            let key = match why {
                AuthPageError::UnknownClient => "err_unknown_client",
                AuthPageError::RedirectMismatch => "err_redirect_mismatch",
            };
            Ok(page(state, t, lang, StatusCode::BAD_REQUEST, "error_title", key))
        }
        OidcError::OAuth { code, description, .. } => Ok(redirect_error(iss, req, code, &description)),
        other => Err(other.into()),
    }
}

fn consent_page(
    state: &AppState,
    t: &ResolvedTenant,
    lang: &str,
    req: &AuthorizationRequest,
    auth: &ValidAuthorization,
    s: &account::ClientSession,
) -> Response {
    let o = texts(lang);
    let scopes: Vec<String> =
        auth.scopes.iter().map(|sc| o.get(format!("scope_{sc}")).and_then(Value::as_str).unwrap_or(sc).to_owned()).collect();
    let return_host = url::Url::parse(&auth.redirect_uri).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let params: Vec<(&str, String)> = request_params(req);
    let mut res = render(
        state,
        t,
        lang,
        false,
        "consent.html",
        StatusCode::OK,
        context! {
            o => o, party_name => &auth.party.name, account_name => &s.account.display_name, account_email => &s.account.email,
            scopes, return_host, params, csrf => &s.csrf_token, signed_in => true,
        },
    );
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    allow_origin_of(&mut res, &auth.redirect_uri);
    res
}

async fn consent(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let lang = language_of(None, &headers).0;
    let iss = issuer(&t);
    let req = request_from(&fields);
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        return authorize(&state, &t, &headers, &lang, req).await;
    };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    let auth = match flow::check_authorization(&mut tx, &req).await {
        Ok(a) => a,
        Err(e) => return auth_failure(&state, &t, &lang, &iss, &req, e),
    };
    if fields.get("decision").map(String::as_str) != Some("allow") {
        return Ok(redirect_error(&iss, &req, OAuthCode::AccessDenied, "the person did not allow the application access"));
    }
    flow::record_consent(&mut tx, s.account.id, &auth, now).await?;
    let code = flow::issue_code(&mut tx, s.account.id, &auth, s.signed_in_at, now).await?;
    tx.commit().await?;
    Ok(code_redirect(&iss, &auth, &code))
}

/// Client credentials from HTTP Basic (form-encoded id and secret, RFC 6749 §2.3.1) or
/// the form; using both is refused.
fn credentials(headers: &HeaderMap, f: &Fields) -> Result<ClientCredentials, (OAuthCode, &'static str)> {
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim().to_owned())
    });
    match basic {
        Some(b) => {
            if f.contains_key("client_secret") {
                return Err((OAuthCode::InvalidRequest, "use one client authentication method, not both HTTP Basic and client_secret"));
            }
            let bad = || (OAuthCode::InvalidClient, "the HTTP Basic credentials do not decode");
            let raw = base64::engine::general_purpose::STANDARD.decode(b).map_err(|_| bad())?;
            let raw = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
            let dec =
                |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
            let id = dec(id);
            if f.get("client_id").is_some_and(|c| *c != id) {
                return Err((OAuthCode::InvalidRequest, "client_id in the form differs from the HTTP Basic one"));
            }
            Ok(ClientCredentials { client_id: Some(id), secret: Some(dec(secret)) })
        }
        None => Ok(ClientCredentials { client_id: f.get("client_id").cloned(), secret: f.get("client_secret").cloned() }),
    }
}

fn oauth_result<T: serde::Serialize>(r: Result<T, OidcError>) -> Result<(Response, bool), ApiError> {
    match r {
        Ok(v) => Ok((json_no_store(v), true)),
        Err(OidcError::OAuth { code, description, commit }) => Ok((oauth_error(code, &description), commit)),
        Err(e) => Err(e.into()),
    }
}

async fn token(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let Ok(Form(f)) = form else {
        return Ok(oauth_error(OAuthCode::InvalidRequest, "send the parameters as application/x-www-form-urlencoded"));
    };
    let creds = match credentials(&headers, &f) {
        Ok(c) => c,
        Err((code, why)) => return Ok(oauth_error(code, why)),
    };
    let get = |k: &str| f.get(k).map(String::as_str);
    let iss = issuer(&t);
    if let (Some("authorization_code"), Some(code)) = (get("grant_type"), get("code").filter(|c| !c.is_empty())) {
        // The code exchange needs no open transaction: a read and a write of one message each.
        let keys = cached_keys(&state, &t).await?;
        let issuer = Issuer { url: &iss, keys: &keys };
        let x = CodeExchange { creds: &creds, code, redirect_uri: get("redirect_uri"), verifier: get("code_verifier") };
        let result = flow::exchange_code(&state.db, &t.tenant.slug, &state.oidc_parties, issuer, x, now).await;
        return Ok(oauth_result(result)?.0);
    }
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let party = match registry::authenticate(&mut tx, &creds).await {
        Ok(p) => p,
        Err(e) => return Ok(oauth_result::<()>(Err(e))?.0),
    };
    let result = match get("grant_type") {
        Some("authorization_code") => {
            Err(OidcError::OAuth { code: OAuthCode::InvalidRequest, description: "code is missing".into(), commit: false })
        }
        Some("refresh_token") => match get("refresh_token").filter(|c| !c.is_empty()) {
            Some(rt) => {
                let keys = tenant_keys(&state, &t, &mut tx).await?;
                flow::refresh(&mut tx, Issuer { url: &iss, keys: &keys }, &party, rt, get("scope"), now).await
            }
            None => {
                Err(OidcError::OAuth { code: OAuthCode::InvalidRequest, description: "refresh_token is missing".into(), commit: false })
            }
        },
        None => Err(OidcError::OAuth { code: OAuthCode::InvalidRequest, description: "grant_type is missing".into(), commit: false }),
        Some(g) => Err(OidcError::OAuth {
            code: OAuthCode::UnsupportedGrantType,
            description: format!("grant_type {g:?} is not supported; use authorization_code or refresh_token"),
            commit: false,
        }),
    };
    let (res, commit) = oauth_result(result)?;
    if commit {
        tx.commit().await?;
    }
    Ok(res)
}

fn bearer_error(iss: &str, code: Option<OAuthCode>, description: &str) -> Response {
    let www = match code {
        Some(c) => format!("Bearer realm=\"{iss}\", error=\"{}\", error_description=\"{description}\"", c.as_str()),
        None => format!("Bearer realm=\"{iss}\""),
    };
    let mut res = oauth_error(code.unwrap_or(OAuthCode::InvalidRequest), description);
    *res.status_mut() = StatusCode::UNAUTHORIZED;
    if let Ok(v) = HeaderValue::from_str(&www) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

async fn userinfo(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let iss = issuer(&t);
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_owned())
    });
    let Some(token) = token else {
        return Ok(bearer_error(&iss, None, "send the access token as Authorization: Bearer"));
    };
    // One round trip reads the grant and the account; claims from the client record (an
    // audited read of personal data) need a transaction.
    let rows = state.db.tenant_read_all(&t.tenant.slug, &flow::access_statements(&token, now)).await?;
    let Some(grant) = flow::access_from(part(&rows, 0))? else {
        return Ok(bearer_error(&iss, Some(OAuthCode::InvalidToken), "the access token is unknown here, expired or revoked"));
    };
    match account::account_from(part(&rows, 1))? {
        None => return Ok(bearer_error(&iss, Some(OAuthCode::InvalidToken), "the account no longer exists")),
        Some(a) => {
            if let Some(claims) = kapu_oidc::claims::without_record(&a, &grant) {
                return Ok(json_no_store(claims));
            }
        }
    }
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let Some(claims) = kapu_oidc::claims::userinfo(&mut tx, &ring, &grant, now).await? else {
        return Ok(bearer_error(&iss, Some(OAuthCode::InvalidToken), "the account no longer exists"));
    };
    tx.commit().await?;
    Ok(json_no_store(claims))
}

async fn revoke(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(f)) = form else {
        return Ok(oauth_error(OAuthCode::InvalidRequest, "send the parameters as application/x-www-form-urlencoded"));
    };
    let creds = match credentials(&headers, &f) {
        Ok(c) => c,
        Err((code, why)) => return Ok(oauth_error(code, why)),
    };
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let party = match registry::authenticate(&mut tx, &creds).await {
        Ok(p) => p,
        Err(e) => return Ok(oauth_result::<()>(Err(e))?.0),
    };
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return Ok(oauth_error(OAuthCode::InvalidRequest, "token is missing"));
    };
    flow::revoke(&mut tx, &party, token, Utc::now()).await?;
    tx.commit().await?;
    let mut res = StatusCode::OK.into_response();
    no_store(&mut res);
    Ok(res)
}

async fn introspect(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(f)) = form else {
        return Ok(oauth_error(OAuthCode::InvalidRequest, "send the parameters as application/x-www-form-urlencoded"));
    };
    let creds = match credentials(&headers, &f) {
        Ok(c) => c,
        Err((code, why)) => return Ok(oauth_error(code, why)),
    };
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let party = match registry::authenticate(&mut tx, &creds).await {
        Ok(p) => p,
        Err(e) => return Ok(oauth_result::<()>(Err(e))?.0),
    };
    if party.kind != registry::ClientKind::Confidential {
        return Ok(oauth_error(OAuthCode::InvalidClient, "only confidential clients may introspect tokens"));
    }
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return Ok(oauth_error(OAuthCode::InvalidRequest, "token is missing"));
    };
    let iss = issuer(&t);
    let answer = flow::introspect(&mut tx, &party, &iss, token, Utc::now()).await?;
    tx.commit().await?;
    Ok(json_no_store(answer))
}

/// Where RP-initiated logout may return: a post-logout URI registered for the client the
/// hint was issued to (or that `client_id` names).
struct LogoutTarget {
    uri: Option<String>,
    state: Option<String>,
    hint_sub: Option<String>,
}

async fn logout_target(
    state: &AppState,
    t: &ResolvedTenant,
    tx: &mut kapu_core::TenantTx,
    f: &Fields,
) -> Result<Result<LogoutTarget, ()>, ApiError> {
    let iss = issuer(t);
    let hint = match f.get("id_token_hint").filter(|h| !h.is_empty()) {
        Some(h) => Some(tenant_keys(state, t, tx).await?.verify_ignoring_expiry(h, &iss).ok_or(())),
        None => None,
    };
    let hint = match hint {
        Some(Ok(c)) => Some(c),
        Some(Err(())) => return Ok(Err(())),
        None => None,
    };
    let hint_aud = hint.as_ref().and_then(|c| match &c["aud"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    });
    let client_id = f.get("client_id").cloned().or(hint_aud.clone());
    if hint_aud.is_some() && client_id != hint_aud {
        return Ok(Err(()));
    }
    let uri = match f.get("post_logout_redirect_uri").filter(|u| !u.is_empty()) {
        Some(u) => {
            let party = match client_id.as_deref() {
                Some(c) => registry::get(tx, c).await?,
                None => None,
            };
            match party.filter(|p| p.post_logout_redirect_uris.contains(u)) {
                Some(_) => Some(u.clone()),
                None => return Ok(Err(())),
            }
        }
        None => None,
    };
    Ok(Ok(LogoutTarget { uri, state: f.get("state").cloned(), hint_sub: hint.as_ref().and_then(|c| c["sub"].as_str().map(str::to_owned)) }))
}

fn logged_out(state: &AppState, t: &ResolvedTenant, lang: &str, target: &LogoutTarget) -> Response {
    let mut res = match &target.uri {
        Some(u) => {
            let p: Vec<(&str, &str)> = target.state.as_deref().map(|s| vec![("state", s)]).unwrap_or_default();
            redirect_with(u, &p)
        }
        None => page(state, t, lang, StatusCode::OK, "logged_out_title", "logged_out_text"),
    };
    set_cookie(&mut res, state, t, SESSION_COOKIE, "", 0, "Lax");
    res
}

async fn logout_get(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
    q: Result<Query<Fields>, QueryRejection>,
) -> Result<Response, ApiError> {
    let lang = language_of(uri.query(), &headers).0;
    let Ok(Query(f)) = q else { return Ok(page(&state, &t, &lang, StatusCode::BAD_REQUEST, "logout_title", "err_bad_request")) };
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        let mut tx = state.db.tenant_tx(&t.tenant).await?;
        return Ok(match logout_target(&state, &t, &mut tx, &f).await? {
            Ok(target) => logged_out(&state, &t, &lang, &target),
            Err(()) => page(&state, &t, &lang, StatusCode::BAD_REQUEST, "logout_title", "err_logout_target"),
        });
    };
    let target = match logout_target(&state, &t, &mut tx, &f).await? {
        Ok(target) => target,
        Err(()) => return Ok(page(&state, &t, &lang, StatusCode::BAD_REQUEST, "logout_title", "err_logout_target")),
    };
    if target.hint_sub.as_deref() == Some(s.account.id.to_string().as_str()) {
        account::sign_out(&mut tx, &s).await?;
        tx.commit().await?;
        return Ok(logged_out(&state, &t, &lang, &target));
    }
    // Without a hint naming this person, ask before signing out.
    let params: Vec<(&str, String)> = ["id_token_hint", "post_logout_redirect_uri", "state", "client_id"]
        .into_iter()
        .filter_map(|k| f.get(k).map(|v| (k, v.clone())))
        .collect();
    let mut res = render(
        &state,
        &t,
        &lang,
        false,
        "logout.html",
        StatusCode::OK,
        context! { o => texts(&lang), params, csrf => &s.csrf_token, signed_in => true },
    );
    if let Some(u) = &target.uri {
        allow_origin_of(&mut res, u);
    }
    Ok(res)
}

async fn logout_post(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Result<Response, ApiError> {
    let lang = language_of(None, &headers).0;
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(page(&state, &t, &lang, StatusCode::OK, "logged_out_title", "logged_out_text"));
    };
    check_form(&Method::POST, &headers, &f, Some(&s.csrf_token))?;
    let target = match logout_target(&state, &t, &mut tx, &f).await? {
        Ok(target) => target,
        Err(()) => return Ok(page(&state, &t, &lang, StatusCode::BAD_REQUEST, "logout_title", "err_logout_target")),
    };
    account::sign_out(&mut tx, &s).await?;
    tx.commit().await?;
    Ok(logged_out(&state, &t, &lang, &target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn client_credentials_come_from_http_basic_form_decoded_or_from_the_form() {
        let c = credentials(&basic("my%20app:s%3Acr%2Bet"), &form(&[])).unwrap();
        assert_eq!((c.client_id.as_deref(), c.secret.as_deref()), (Some("my app"), Some("s:cr+et")));
        let c = credentials(&HeaderMap::new(), &form(&[("client_id", "app"), ("client_secret", "s")])).unwrap();
        assert_eq!((c.client_id.as_deref(), c.secret.as_deref()), (Some("app"), Some("s")));
        let c = credentials(&HeaderMap::new(), &form(&[("client_id", "public-app")])).unwrap();
        assert_eq!((c.client_id.as_deref(), c.secret), (Some("public-app"), None));
        // The same client_id in the form as in HTTP Basic is allowed.
        assert!(credentials(&basic("app:s"), &form(&[("client_id", "app")])).is_ok());
    }

    #[test]
    fn conflicting_or_undecodable_client_credentials_are_refused() {
        let code = |h: &HeaderMap, f: &Fields| credentials(h, f).err().map(|(c, _)| c);
        assert_eq!(code(&basic("app:s"), &form(&[("client_secret", "s")])), Some(OAuthCode::InvalidRequest), "both methods");
        assert_eq!(code(&basic("app:s"), &form(&[("client_id", "other")])), Some(OAuthCode::InvalidRequest));
        assert_eq!(code(&basic("no-colon"), &form(&[])), Some(OAuthCode::InvalidClient));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("basic !!not-base64!!"));
        assert_eq!(code(&h, &form(&[])), Some(OAuthCode::InvalidClient), "the scheme's case does not matter");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(code(&h, &form(&[])), None, "another scheme is not client authentication");
    }
}
