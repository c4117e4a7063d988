//! Client accounts on the portal: registration, e-mail confirmation, sign-in, the profile
//! page, sign-out and password reset. Plain HTML forms (no JavaScript); every form carries
//! a CSRF token, checked against a cookie before sign-in and against the session after.

use kapu_core::Refusal;
use std::collections::HashMap;

use axum::Router;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use kapu_clients::ClientError;
use kapu_clients::account::{self, ClientSession, IdentificationLevel, Mailing, Registration, SignIn};
use minijinja::context;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::{language_of, render, text};
use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

pub(crate) const SESSION_COOKIE: &str = "kapu_client";
const FORM_COOKIE: &str = "kapu_form";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/regisztracio", get(register_form).post(register))
        .route("/email-megerosites", get(confirm_email))
        .route("/belepes", get(login_form).post(login))
        .route("/profil", get(profile))
        .route("/kijelentkezes", post(logout))
        .route("/kepviselet", post(act_for))
        .route("/adataim-letoltese", get(download))
        .route("/fiok-torlese", post(erase))
        .route("/elfelejtett-jelszo", get(forgot_form).post(forgot))
        .route("/jelszo-visszaallitas", get(reset_form).post(reset))
}

type Fields = HashMap<String, String>;

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    crate::auth::cookie(headers, name).filter(|v| !v.is_empty())
}

pub(crate) fn has_session_cookie(headers: &HeaderMap) -> bool {
    cookie(headers, SESSION_COOKIE).is_some()
}

fn random() -> String {
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn set_cookie(res: &mut Response, state: &AppState, t: &ResolvedTenant, name: &str, value: &str, max_age: i64, same_site: &str) {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path={}/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}", t.prefix);
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A form page: its CSRF token (re-using the visitor's form cookie) and language.
struct FormCtx {
    csrf: String,
    fresh: bool,
    lang: String,
    lang_chosen: bool,
}

fn form_ctx(headers: &HeaderMap) -> FormCtx {
    form_ctx_with(None, headers)
}

fn form_ctx_with(query: Option<&str>, headers: &HeaderMap) -> FormCtx {
    let (lang, lang_chosen) = language_of(query, headers);
    let (csrf, fresh) = match cookie(headers, FORM_COOKIE) {
        Some(c) => (c.to_owned(), false),
        None => (random(), true),
    };
    FormCtx { csrf, fresh, lang, lang_chosen }
}

fn show_form(
    state: &AppState,
    t: &ResolvedTenant,
    f: &FormCtx,
    template: &str,
    status: StatusCode,
    form: &Fields,
    errors: &[(String, String)],
) -> Response {
    let list: Vec<_> = errors.iter().map(|(field, message)| context! { field, message }).collect();
    let map: HashMap<&str, &str> = errors.iter().map(|(f, m)| (f.as_str(), m.as_str())).collect();
    let keep_query = form.get("keep_query").cloned().unwrap_or_default();
    let mut res = render(
        state,
        t,
        &f.lang,
        f.lang_chosen,
        template,
        status,
        context! { csrf => &f.csrf, form => form, errors => list, field_errors => map, keep_query },
    );
    if f.fresh {
        set_cookie(&mut res, state, t, FORM_COOKIE, &f.csrf, 7200, "Strict");
    }
    if let Some(next) = form.get("next").filter(|n| crate::oidc::is_return_path(t, n)) {
        // Signing in ends with a redirect to a relying party, which the CSP must allow.
        crate::oidc::allow_form_target(&mut res, next);
    }
    res
}

pub(super) fn message(
    state: &AppState,
    t: &ResolvedTenant,
    lang: &str,
    status: StatusCode,
    heading: &str,
    body: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let (link, link_text) = link.map_or((String::new(), String::new()), |(href, label)| (format!("{}{href}", t.prefix), text(lang, label)));
    render(
        state,
        t,
        lang,
        false,
        "message.html",
        status,
        context! { heading => text(lang, heading), text => text(lang, body), link, link_text },
    )
}

/// Refuses a form post that did not come from our own form.
pub(crate) fn check_form(method: &Method, headers: &HeaderMap, fields: &Fields, expected: Option<&str>) -> Result<(), ApiError> {
    crate::auth::check_same_origin(method, headers)?;
    let sent = fields.get("csrf").map(String::as_str).unwrap_or("");
    let want = expected.or_else(|| cookie(headers, FORM_COOKIE)).unwrap_or("");
    if want.is_empty() || !bool::from(sent.as_bytes().ct_eq(want.as_bytes())) {
        return Err(ApiError::Csrf);
    }
    Ok(())
}

/// The form again with an "expired form" error when a post lacks our form's token.
fn refuse_foreign_post(
    state: &AppState,
    t: &ResolvedTenant,
    f: &FormCtx,
    headers: &HeaderMap,
    fields: &Fields,
    template: &str,
    field: &str,
) -> Option<Response> {
    check_form(&Method::POST, headers, fields, None)
        .is_err()
        .then(|| show_form(state, t, f, template, StatusCode::FORBIDDEN, fields, &[(field.to_owned(), text(&f.lang, "err_csrf"))]))
}

fn field_errors(lang: &str, e: ClientError) -> Result<Vec<(String, String)>, ApiError> {
    match e {
        ClientError::Invalid { field, reason } => Ok(vec![(field.to_owned(), super::refusals::worded(lang, &reason))]),
        other => Err(other.into()),
    }
}

/// Links in the portal's e-mails, from the tenant's configured base URL (never the
/// request's Host).
fn mailing_link(t: &ResolvedTenant) -> impl Fn(&str, &str) -> String + Sync + use<> {
    let base = t.base_url.clone();
    move |path: &str, token: &str| if token.is_empty() { format!("{base}/{path}") } else { format!("{base}/{path}?token={token}") }
}

async fn register_form(State(state): State<AppState>, Extension(t): Extension<ResolvedTenant>, uri: Uri, headers: HeaderMap) -> Response {
    show_form(&state, &t, &form_ctx_with(uri.query(), &headers), "register.html", StatusCode::OK, &Fields::new(), &[])
}

async fn register(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    ip: crate::auth::ClientIp,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let f = form_ctx(&headers);
    if let Some(refused) = refuse_foreign_post(&state, &t, &f, &headers, &fields, "register.html", "display_name") {
        return Ok(refused);
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let reg = Registration { display_name: get("display_name"), email: get("email"), password: get("password") };
    let link = mailing_link(&t);
    let address = reg.email.clone();
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let mailing = Mailing { tenant_name: &t.tenant.name, link: &link, ring: &ring };
    match account::register(&mut tx, reg, &mailing, Utc::now()).await {
        Ok(()) => {
            // The confirmation (or "you already have an account") e-mail is counted against
            // the address's and the network's budgets; a refusal drops it with the account.
            if let Err(refused) = crate::throttle::admit_mail(&state, &mut tx, "register", &address, ip, Utc::now()).await {
                return mail_refused(&state, &t, &f.lang, refused);
            }
            tx.commit().await?;
            Ok(message(&state, &t, &f.lang, StatusCode::OK, "check_mail_title", "check_mail_text", None))
        }
        Err(e) => {
            let errors = field_errors(&f.lang, e)?;
            Ok(show_form(&state, &t, &f, "register.html", StatusCode::UNPROCESSABLE_ENTITY, &fields, &errors))
        }
    }
}

async fn confirm_email(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Query(q): Query<Fields>,
) -> Result<Response, ApiError> {
    let (lang, _) = language_of(None, &headers);
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    match account::verify_email(&mut tx, q.get("token").map(String::as_str).unwrap_or(""), Utc::now()).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(message(&state, &t, &lang, StatusCode::OK, "verified_title", "verified_text", Some(("/belepes", "login_link"))))
        }
        Err(ClientError::Invalid { .. }) => Ok(message(
            &state,
            &t,
            &lang,
            StatusCode::BAD_REQUEST,
            "link_invalid_title",
            "err_invalid_link",
            Some(("/belepes", "login_link")),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn login_form(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<Fields>,
) -> Response {
    let mut form = Fields::new();
    let next = q.get("next").filter(|n| crate::oidc::is_return_path(&t, n));
    if let Some(n) = next {
        form.insert("next".into(), n.clone());
        form.insert("keep_query".into(), format!("next={}&", percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC)));
    }
    show_form(&state, &t, &form_ctx_with(uri.query(), &headers), "login.html", StatusCode::OK, &form, &[])
}

async fn login(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    ip: crate::auth::ClientIp,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let f = form_ctx(&headers);
    if let Some(refused) = refuse_foreign_post(&state, &t, &f, &headers, &fields, "login.html", "email") {
        return Ok(refused);
    }
    // The same page whichever guard refuses: the process's flood guard or the throttle.
    let too_many = || {
        show_form(&state, &t, &f, "login.html", StatusCode::TOO_MANY_REQUESTS, &fields, &[("email".into(), text(&f.lang, "err_locked"))])
    };
    if state.limiter.check(ip).is_err() {
        return Ok(too_many());
    }
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let now = Utc::now();
    let scope = crate::auth::Scope::Tenant(t.clone());
    let ticket =
        match crate::throttle::admit_sign_in(&state, &scope, "client", &kapu_throttle::normalise_email(get("email")), ip, now).await {
            Ok(ticket) => ticket,
            Err(ApiError::TooManyAttempts(until)) => return Ok(with_retry_after(too_many(), &until)),
            Err(e) => return Err(e),
        };
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let outcome = account::sign_in(&mut tx, get("email"), get("password"), now).await?;
    if !matches!(outcome, SignIn::InvalidCredentials) {
        // The password was right (even if the address is not confirmed yet).
        crate::throttle::sign_in_succeeded(&state, &mut tx, ticket, now).await?;
    }
    tx.commit().await?;
    let (status, key) = match outcome {
        SignIn::SignedIn(token, _) => {
            // Back to the authorization request that sent the client here, if any.
            let to = fields.get("next").filter(|n| crate::oidc::is_return_path(&t, n)).cloned();
            let mut res = Redirect::to(&to.unwrap_or_else(|| format!("{}/profil", t.prefix))).into_response();
            set_cookie(&mut res, &state, &t, SESSION_COOKIE, &token, account::SESSION_TTL.num_seconds(), "Lax");
            return Ok(res);
        }
        SignIn::InvalidCredentials => (StatusCode::UNAUTHORIZED, "err_credentials"),
        SignIn::Unverified => (StatusCode::FORBIDDEN, "err_unverified"),
    };
    Ok(show_form(&state, &t, &f, "login.html", status, &fields, &[("email".into(), text(&f.lang, key))]))
}

pub(crate) async fn session(
    state: &AppState,
    t: &ResolvedTenant,
    headers: &HeaderMap,
) -> Result<Option<(ClientSession, kapu_core::TenantTx)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    Ok(account::authenticate(&mut tx, token, Utc::now()).await?.map(|s| (s, tx)))
}

async fn profile(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((mut s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(Redirect::to(&format!("{}/belepes", t.prefix)).into_response());
    };
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let today = Utc::now().date_naive();
    let mandates = kapu_clients::organisation::mandates_of(&mut tx, &ring, s.account.id, today).await?;
    if s.acting_for.is_some_and(|p| !mandates.iter().any(|m| m.principal_client_id == p)) {
        // The mandate ended since it was chosen: back to acting for oneself.
        account::act_for(&mut tx, &mut s, None, today).await?;
    }
    tx.commit().await?;
    let acting_for = s.acting_for.and_then(|p| mandates.iter().find(|m| m.principal_client_id == p)).map(|m| m.principal_name.clone());
    let principals: Vec<_> = mandates
        .iter()
        .map(|m| context! { id => m.principal_client_id.to_string(), name => &m.principal_name, chosen => s.acting_for == Some(m.principal_client_id) })
        .collect();
    let (lang, lang_chosen) = language_of(uri.query(), &headers);
    let level = text(
        &lang,
        match s.account.level {
            IdentificationLevel::Registered => "level_registered",
            IdentificationLevel::InPerson => "level_in_person",
            IdentificationLevel::Kau => "level_kau",
        },
    );
    let mut res = render(
        &state,
        &t,
        &lang,
        lang_chosen,
        "profile.html",
        StatusCode::OK,
        context! { account => &s.account, level, csrf => &s.csrf_token, signed_in => true, principals, acting_for },
    );
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn logout(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(Redirect::to(&format!("{}/", t.prefix)).into_response());
    };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    account::sign_out(&mut tx, &s).await?;
    tx.commit().await?;
    let mut res = Redirect::to(&format!("{}/", t.prefix)).into_response();
    set_cookie(&mut res, &state, &t, SESSION_COOKIE, "", 0, "Lax");
    Ok(res)
}

async fn act_for(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let Some((mut s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(Redirect::to(&format!("{}/belepes", t.prefix)).into_response());
    };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    let principal = match fields.get("principal").map(String::as_str) {
        None | Some("self") => None,
        Some(id) => Some(id.parse().map_err(|_| ApiError::field("principal", Refusal::UnknownClient))?),
    };
    match account::act_for(&mut tx, &mut s, principal, Utc::now().date_naive()).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("{}/profil", t.prefix)).into_response())
        }
        Err(ClientError::Invalid { .. }) => {
            let (lang, _) = language_of(None, &headers);
            Ok(message(&state, &t, &lang, StatusCode::FORBIDDEN, "acting_title", "err_no_mandate", Some(("/profil", "profile_link"))))
        }
        Err(e) => Err(e.into()),
    }
}

async fn download(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(Redirect::to(&format!("{}/belepes", t.prefix)).into_response());
    };
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let data = account::export(&mut tx, &ring, &s, Utc::now()).await?;
    tx.commit().await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"adataim.json\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

async fn erase(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else {
        return Ok(Redirect::to(&format!("{}/belepes", t.prefix)).into_response());
    };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    let (lang, _) = language_of(None, &headers);
    // Drafts are wiped and the records a retention rule keeps are gathered first, in the same
    // transaction: a wrong password rolls it all back.
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let (mut retained, drafts) = kapu_cases::prepare_erasure(&mut tx, &ring, s.account.id, s.account.client_id, Utc::now()).await?;
    if let Some(c) = s.account.client_id {
        retained.extend(kapu_delivery::access::retained_on_erasure(&mut tx, c).await?);
    }
    match account::erase(&mut tx, &ring, &s, fields.get("password").map(String::as_str).unwrap_or(""), retained, Utc::now()).await {
        Ok(report) => {
            tx.commit().await?;
            // The wiped drafts' files go once the erasure is committed (or the sweeper's later).
            super::uploads::delete_attachments(&state, &t, &drafts).await?;
            let mut kept: Vec<_> =
                report.kept.iter().map(|(what, why)| context! { what => text(&lang, &format!("kept_{what}")), why }).collect();
            kept.extend(report.retained.iter().map(|r| context! { what => &r.what, why => &r.why, english => true }));
            let mut res = render(&state, &t, &lang, false, "erased.html", StatusCode::OK, context! { removed => report.removed, kept });
            set_cookie(&mut res, &state, &t, SESSION_COOKIE, "", 0, "Lax");
            Ok(res)
        }
        Err(ClientError::Invalid { .. }) => {
            Ok(message(&state, &t, &lang, StatusCode::FORBIDDEN, "erase_title", "err_wrong_password", Some(("/profil", "profile_link"))))
        }
        Err(e) => Err(e.into()),
    }
}

/// A `Retry-After` header for a page answering 429, from the time the throttle gave.
fn with_retry_after(mut res: Response, until: &str) -> Response {
    let secs = chrono::DateTime::parse_from_rfc3339(until)
        .map(|u| ((u.with_timezone(&Utc) - Utc::now()).num_milliseconds() + 999).div_euclid(1000).max(1))
        .unwrap_or(60);
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// The page for a refused e-mail (429, the same whether or not the address has an account);
/// any other error stays an error.
fn mail_refused(state: &AppState, t: &ResolvedTenant, lang: &str, e: ApiError) -> Result<Response, ApiError> {
    let ApiError::TooManyEmails(until) = e else { return Err(e) };
    let page = message(state, t, lang, StatusCode::TOO_MANY_REQUESTS, "too_many_mails_title", "err_too_many_mails", None);
    Ok(with_retry_after(page, &until))
}

async fn forgot_form(State(state): State<AppState>, Extension(t): Extension<ResolvedTenant>, uri: Uri, headers: HeaderMap) -> Response {
    show_form(&state, &t, &form_ctx_with(uri.query(), &headers), "forgot.html", StatusCode::OK, &Fields::new(), &[])
}

async fn forgot(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    ip: crate::auth::ClientIp,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let f = form_ctx(&headers);
    if let Some(refused) = refuse_foreign_post(&state, &t, &f, &headers, &fields, "forgot.html", "email") {
        return Ok(refused);
    }
    let email = fields.get("email").map(String::as_str).unwrap_or("").trim();
    if !email.contains('@') {
        return Ok(show_form(
            &state,
            &t,
            &f,
            "forgot.html",
            StatusCode::UNPROCESSABLE_ENTITY,
            &fields,
            &[("email".into(), text(&f.lang, "err_email"))],
        ));
    }
    state.limiter.check(ip)?;
    let link = mailing_link(&t);
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    account::request_password_reset(&mut tx, email, &Mailing { tenant_name: &t.tenant.name, link: &link, ring: &ring }, Utc::now()).await?;
    // Counted whether or not the address has an account, so a refusal tells nothing either.
    if let Err(refused) = crate::throttle::admit_mail(&state, &mut tx, "reset", email, ip, Utc::now()).await {
        return mail_refused(&state, &t, &f.lang, refused);
    }
    tx.commit().await?;
    Ok(message(&state, &t, &f.lang, StatusCode::OK, "reset_sent_title", "reset_sent_text", None))
}

async fn reset_form(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<Fields>,
) -> Response {
    let mut form = Fields::new();
    let token = q.get("token").cloned().unwrap_or_default();
    // The language switch must keep the token, or the form could no longer be sent.
    form.insert(
        "keep_query".into(),
        format!("token={}&", token.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>()),
    );
    form.insert("token".into(), token);
    show_form(&state, &t, &form_ctx_with(uri.query(), &headers), "reset.html", StatusCode::OK, &form, &[])
}

async fn reset(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ApiError> {
    let f = form_ctx(&headers);
    if let Some(refused) = refuse_foreign_post(&state, &t, &f, &headers, &fields, "reset.html", "password") {
        return Ok(refused);
    }
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    match account::reset_password(&mut tx, get("token"), get("password"), Utc::now()).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(message(&state, &t, &f.lang, StatusCode::OK, "reset_done_title", "reset_done_text", Some(("/belepes", "login_link"))))
        }
        Err(ClientError::Invalid { field: "token", .. }) => Ok(message(
            &state,
            &t,
            &f.lang,
            StatusCode::BAD_REQUEST,
            "link_invalid_title",
            "err_invalid_link",
            Some(("/elfelejtett-jelszo", "forgot_link")),
        )),
        Err(e) => {
            let errors = field_errors(&f.lang, e)?;
            Ok(show_form(&state, &t, &f, "reset.html", StatusCode::UNPROCESSABLE_ENTITY, &fields, &errors))
        }
    }
}
