//! Staff and operator sessions over HTTP: cookies, CSRF, the sign-in throttle per IP, and
//! the extractors that hand handlers an identity together with their transaction.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use kapu_core::{PlatformTx, ScopedTx, TenantTx};
use kapu_crypto::Keyring;
use kapu_staff::{Mfa, Permission, Session};
use sqlx::PgConnection;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

/// Which side a request is on: one tenant, or the platform.
#[derive(Clone, Debug)]
pub enum Scope {
    /// A tenant's staff.
    Tenant(ResolvedTenant),
    /// The platform's operators.
    Platform,
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(match parts.extensions.get::<ResolvedTenant>() {
            Some(t) => Scope::Tenant(t.clone()),
            None => Scope::Platform,
        })
    }
}

impl Scope {
    /// Opens this scope's transaction.
    pub async fn tx(&self, state: &AppState) -> Result<AnyTx, ApiError> {
        Ok(match self {
            Scope::Tenant(t) => AnyTx::Tenant(state.db.tenant_tx(&t.tenant).await?),
            Scope::Platform => AnyTx::Platform(state.db.platform_tx().await?),
        })
    }

    fn cookie_name(&self) -> &'static str {
        match self {
            Scope::Tenant(_) => "kapu_staff",
            Scope::Platform => "kapu_operator",
        }
    }

    fn cookie_path(&self) -> String {
        match self {
            Scope::Tenant(t) => format!("{}/", t.prefix),
            Scope::Platform => "/".into(),
        }
    }

    /// The issuer name shown in authenticator apps.
    pub fn issuer(&self) -> String {
        match self {
            Scope::Tenant(t) => format!("Kapu {}", t.tenant.slug),
            Scope::Platform => "Kapu platform".into(),
        }
    }

    /// A `Set-Cookie` value carrying the session token.
    pub fn session_cookie(&self, state: &AppState, token: &str, max_age: i64) -> HeaderValue {
        session_cookie(self.cookie_name(), token, &self.cookie_path(), max_age, state.config.secure_cookies)
    }

    /// A `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self, state: &AppState) -> HeaderValue {
        self.session_cookie(state, "", 0)
    }
}

/// A session cookie: readable by no script, sent only to the scope's own pages (its path) and
/// never with a request from another site, over TLS only when the server speaks it.
fn session_cookie(name: &str, token: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={token}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A transaction of either scope.
#[derive(Debug)]
pub enum AnyTx {
    /// A tenant's.
    Tenant(TenantTx),
    /// The platform's.
    Platform(PlatformTx),
}

impl ScopedTx for AnyTx {
    fn conn(&mut self) -> &mut PgConnection {
        match self {
            AnyTx::Tenant(t) => t.conn(),
            AnyTx::Platform(p) => p.conn(),
        }
    }
    fn scope(&self) -> &str {
        match self {
            AnyTx::Tenant(t) => ScopedTx::scope(t),
            AnyTx::Platform(p) => ScopedTx::scope(p),
        }
    }
}

impl AnyTx {
    /// Commits.
    pub async fn commit(self) -> Result<(), ApiError> {
        match self {
            AnyTx::Tenant(t) => t.commit().await?,
            AnyTx::Platform(p) => p.commit().await?,
        }
        Ok(())
    }

    /// The tenant transaction; tenant routes always have one.
    pub fn tenant(&mut self) -> Result<&mut TenantTx, ApiError> {
        match self {
            AnyTx::Tenant(t) => Ok(t),
            AnyTx::Platform(_) => Err(ApiError::NotFound("this is a municipality's endpoint".into())),
        }
    }

    /// The scope's keyring (for TOTP secrets and personal data).
    pub async fn keyring(&mut self, state: &AppState) -> Result<Arc<Keyring>, ApiError> {
        let scope = ScopedTx::scope(self).to_owned();
        Ok(state.crypto.keyring(self.conn(), &scope).await?)
    }
}

/// A cookie's value from the request headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuses unsafe requests that come from another site, whatever their token.
pub(crate) fn check_same_origin(method: &Method, h: &HeaderMap) -> Result<(), ApiError> {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return Ok(());
    }
    if h.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return Err(ApiError::Csrf);
    }
    if let (Some(origin), Some(host)) =
        (h.get(header::ORIGIN).and_then(|v| v.to_str().ok()), h.get(header::HOST).and_then(|v| v.to_str().ok()))
    {
        let origin_host = origin.split("://").nth(1).unwrap_or(origin);
        if origin != "null" && origin_host != host {
            return Err(ApiError::Csrf);
        }
    }
    Ok(())
}

/// A session, whatever its second-factor state, with the scope's open transaction.
/// Unsafe methods must carry the session's CSRF token in `X-CSRF-Token`.
#[derive(Debug)]
pub struct Authed {
    /// Tenant or platform.
    pub scope: Scope,
    /// The session.
    pub session: Session,
    /// The transaction the session was checked in; handlers continue in it.
    pub tx: AnyTx,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let scope = Scope::from_request_parts(parts, state).await?;
        let token = cookie(&parts.headers, scope.cookie_name()).filter(|t| !t.is_empty()).ok_or(ApiError::Unauthenticated)?;
        let mut tx = scope.tx(state).await?;
        let now = chrono::Utc::now();
        let session = kapu_staff::authenticate(&mut tx, token, &state.config.login_policy, now).await?.ok_or(ApiError::Unauthenticated)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            check_same_origin(&parts.method, &parts.headers)?;
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !bool::from(sent.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
                return Err(ApiError::Csrf);
            }
        }
        Ok(Authed { scope, session, tx })
    }
}

/// A session checked without opening a transaction, for read handlers that need the session
/// and nothing else (or read through `Db::tenant_read`): on a tenant, one round trip to the
/// database. Safe methods only, so there is no CSRF token to check.
#[derive(Debug)]
pub struct SessionOnly {
    /// Tenant or platform.
    pub scope: Scope,
    /// The session.
    pub session: Session,
}

impl FromRequestParts<AppState> for SessionOnly {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            return Err(ApiError::Internal("a read-only session extractor on an unsafe method".into()));
        }
        let scope = Scope::from_request_parts(parts, state).await?;
        let token = cookie(&parts.headers, scope.cookie_name()).filter(|t| !t.is_empty()).ok_or(ApiError::Unauthenticated)?;
        let now = chrono::Utc::now();
        let policy = &state.config.login_policy;
        let session = match &scope {
            Scope::Tenant(t) => kapu_staff::authenticate_read(&state.db, &t.tenant.slug, token, policy, now).await?,
            Scope::Platform => {
                let mut tx = scope.tx(state).await?;
                let s = kapu_staff::authenticate(&mut tx, token, policy, now).await?;
                tx.commit().await?;
                s
            }
        };
        Ok(SessionOnly { scope, session: session.ok_or(ApiError::Unauthenticated)? })
    }
}

/// A fully signed-in session (second factor passed).
#[derive(Debug)]
pub struct SignedIn(pub Authed);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let a = Authed::from_request_parts(parts, state).await?;
        if a.session.mfa != Mfa::Passed {
            return Err(ApiError::MfaRequired);
        }
        Ok(SignedIn(a))
    }
}

impl SignedIn {
    /// Fails with 403 unless the role has the permission.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.0.session.staff.role.permits(p) { Ok(()) } else { Err(ApiError::Forbidden) }
    }

    /// The audit actor for this session.
    pub fn actor(&self) -> kapu_audit::Actor {
        let s = &self.0.session.staff;
        kapu_audit::Actor { id: Some(s.id), label: format!("{} <{}>", s.display_name, s.email) }
    }
}

/// The client's IP, when the server knows it: the peer's, or behind a trusted reverse proxy
/// the address it forwarded ([`crate::client_ip::TrustedProxies`]).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(peer.map(|p| state.config.trusted_proxies.client(p, parts.headers.get_all("x-forwarded-for").iter()))))
    }
}

/// Sign-in and reset attempts per client IP in a fixed one-minute window, in this process's
/// memory: a cheap first guard against floods before any database work. The throttle that
/// counts across processes and slows guessing is `kapu-throttle`'s, in the database.
#[derive(Debug)]
pub struct IpLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl IpLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self { per_minute, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt; refuses it when the IP is over its budget.
    pub fn check(&self, ip: ClientIp) -> Result<(), ApiError> {
        let Some(ip) = ip.0 else { return Ok(()) };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if seen.len() > 100_000 {
            seen.retain(|_, (_, start)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = seen.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= Duration::from_secs(60) {
            *entry = (0, now);
        }
        entry.0 += 1;
        if entry.0 > self.per_minute {
            let until = chrono::Utc::now() + (Duration::from_secs(60).saturating_sub(now.duration_since(entry.1)));
            return Err(ApiError::TooManyAttempts(until.to_rfc3339()));
        }
        Ok(())
    }
}

/// Adds a header to a response.
pub(crate) fn with_header(res: impl IntoResponse, name: header::HeaderName, value: HeaderValue) -> Response {
    let mut res = res.into_response();
    res.headers_mut().append(name, value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_cookie_is_found_by_its_exact_name_in_any_cookie_header() {
        let h = headers(&[("cookie", "kapu_lang=en; kapu_staff_x=wrong"), ("cookie", " kapu_staff=abc=def ;other=1")]);
        assert_eq!(cookie(&h, "kapu_staff"), Some("abc=def"));
        assert_eq!(cookie(&h, "kapu_lang"), Some("en"));
        assert_eq!(cookie(&h, "kapu_operator"), None);
        assert_eq!(cookie(&headers(&[("cookie", "kapu_staff")]), "kapu_staff"), None, "a name without a value");
    }

    #[test]
    fn session_cookies_are_strict_http_only_and_secure_under_tls() {
        let c = session_cookie("kapu_staff", "tok", "/t/hegyvidek/", 3600, false);
        assert_eq!(c.to_str().unwrap(), "kapu_staff=tok; Path=/t/hegyvidek/; HttpOnly; SameSite=Strict; Max-Age=3600");
        let c = session_cookie("kapu_operator", "", "/", 0, true);
        assert_eq!(c.to_str().unwrap(), "kapu_operator=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure");
        // A value that cannot be a header gives an empty one rather than a broken cookie.
        assert_eq!(session_cookie("kapu_staff", "a\nb", "/", 1, false), HeaderValue::from_static(""));
    }

    #[test]
    fn unsafe_requests_from_another_site_are_refused() {
        let post = Method::POST;
        let ok = |h: &[(&str, &str)]| check_same_origin(&post, &headers(h)).is_ok();
        assert!(ok(&[("host", "hegyvidek.localhost:8080")]), "no Origin: a same-site tool");
        assert!(ok(&[("host", "hegyvidek.localhost:8080"), ("origin", "http://hegyvidek.localhost:8080")]));
        assert!(ok(&[("host", "a.example"), ("origin", "null")]), "an opaque origin is left to the token");
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[("host", "hegyvidek.localhost:8080"), ("origin", "http://attacker.example")]));
        assert!(!ok(&[("host", "hegyvidek.localhost:8080"), ("origin", "http://hegyvidek.localhost:9090")]), "another port");
        assert!(!ok(&[("sec-fetch-site", "cross-site")]));
        // Safe methods are never refused: they change nothing.
        let cross = headers(&[("sec-fetch-site", "cross-site"), ("host", "a.example"), ("origin", "http://b.example")]);
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(check_same_origin(&m, &cross).is_ok(), "{m}");
        }
        for m in [Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(matches!(check_same_origin(&m, &cross), Err(ApiError::Csrf)), "{m}");
        }
    }

    #[test]
    fn the_ip_limiter_refuses_past_its_budget_and_counts_each_address_alone() {
        let limiter = IpLimiter::new(2);
        let a = ClientIp(Some("192.0.2.1".parse().unwrap()));
        let b = ClientIp(Some("192.0.2.2".parse().unwrap()));
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let Err(ApiError::TooManyAttempts(until)) = limiter.check(a) else { panic!("the third attempt in a minute passed") };
        let until = chrono::DateTime::parse_from_rfc3339(&until).unwrap();
        let wait = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
        assert!(wait > chrono::Duration::zero() && wait <= chrono::Duration::seconds(60), "{wait}");
        assert!(limiter.check(b).is_ok(), "another address has its own budget");
        assert!(limiter.check(ClientIp(None)).is_ok(), "an unknown address is not limited here");
    }
}
