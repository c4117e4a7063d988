//! Resolving a request's tenant and dispatching it to the tenant or platform router.
//!
//! The `Host` header is checked first: anything but exactly `host[:port]` is refused with
//! `bad-host` before any tenant is looked up. A request belongs to a tenant when its host is
//! one of the tenant's domains, or when it arrives on a platform host (configured, see
//! [`crate::HttpConfig::platform_hosts`]) under `/t/{slug}/` (the prefix is stripped before
//! routing and remembered in [`ResolvedTenant::prefix`]). Any other host is an unknown
//! tenant. Links never come from the host: [`ResolvedTenant::base_url`] is configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::{Db, Tenant, TenantStatus};
use tokio::sync::RwLock;
use tower::ServiceExt;

use crate::AppState;
use crate::problem::ApiError;

/// The tenant a request was resolved to, in the request's extensions.
#[derive(Clone, Debug)]
pub struct ResolvedTenant {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// `/t/{slug}` when resolved by path prefix, empty when by host. Relative links and
    /// cookie paths start with it.
    pub prefix: String,
    /// The tenant's canonical base URL from configuration ([`Tenant::base_url`]), without a
    /// trailing slash: the start of every absolute link (e-mails, OIDC, SAML).
    pub base_url: String,
}

/// An in-memory cache of the tenant registry. Each entry is re-read from the database when
/// older than a few seconds, and a miss is always looked up, so a tenant created a moment
/// ago is served at once and a suspension takes effect within seconds.
#[derive(Clone)]
pub struct TenantDirectory {
    db: Db,
    inner: Arc<RwLock<Directory>>,
}

#[derive(Default)]
struct Directory {
    by_slug: HashMap<String, (Arc<Tenant>, Instant)>,
    by_domain: HashMap<String, (Arc<Tenant>, Instant)>,
}

const FRESH: Duration = Duration::from_secs(5);

enum Key<'a> {
    Slug(&'a str),
    Domain(&'a str),
}

impl TenantDirectory {
    pub(crate) fn new(db: Db) -> Self {
        let dir = Self { db, inner: Arc::new(RwLock::new(Directory::default())) };
        dir.follow_changes();
        dir
    }

    /// Forgets the cache whenever the registry announces a change (`kapu_tenants`), so a
    /// suspension or a new domain takes effect at once rather than after [`FRESH`].
    fn follow_changes(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let inner = Arc::downgrade(&self.inner);
        let pool = self.db.pool().clone();
        rt.spawn(async move {
            let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await else { return };
            if listener.listen("kapu_tenants").await.is_err() {
                return;
            }
            // Ends when the directory is dropped or the pool closes.
            while let Ok(_n) = listener.recv().await {
                let Some(inner) = inner.upgrade() else { return };
                let mut d = inner.write().await;
                d.by_slug.clear();
                d.by_domain.clear();
            }
        });
    }

    /// The tenant with this slug.
    pub async fn by_slug(&self, slug: &str) -> Result<Option<Arc<Tenant>>, ApiError> {
        self.lookup(Key::Slug(slug)).await
    }

    /// The tenant that serves this host.
    pub async fn by_domain(&self, host: &str) -> Result<Option<Arc<Tenant>>, ApiError> {
        self.lookup(Key::Domain(host)).await
    }

    async fn lookup(&self, key: Key<'_>) -> Result<Option<Arc<Tenant>>, ApiError> {
        {
            let d = self.inner.read().await;
            let hit = match key {
                Key::Slug(s) => d.by_slug.get(s),
                Key::Domain(h) => d.by_domain.get(h),
            };
            if let Some((t, _)) = hit.filter(|(_, at)| at.elapsed() < FRESH) {
                return Ok(Some(t.clone()));
            }
        }
        let mut conn = self.db.pool().acquire().await?;
        let found = match key {
            Key::Slug(s) => kapu_core::find_tenant_by_slug(&mut conn, s).await?,
            Key::Domain(h) => kapu_core::find_tenant_by_domain(&mut conn, h).await?,
        };
        drop(conn);
        let mut d = self.inner.write().await;
        match key {
            Key::Slug(s) => d.by_slug.remove(s),
            Key::Domain(h) => d.by_domain.remove(h),
        };
        let Some(t) = found else { return Ok(None) };
        let t = Arc::new(t);
        let now = Instant::now();
        d.by_slug.insert(t.slug.to_string(), (t.clone(), now));
        for domain in &t.domains {
            d.by_domain.insert(domain.clone(), (t.clone(), now));
        }
        Ok(Some(t))
    }
}

#[derive(Clone)]
struct Routers {
    state: AppState,
    tenant: Router,
    platform: Router,
}

/// The top-level router: resolves the tenant, then hands the request on.
pub(crate) fn dispatcher(state: AppState) -> Router {
    let routers = Routers {
        tenant: crate::api::tenant_router(state.clone()),
        platform: crate::api::platform_router(state.clone()),
        state: state.clone(),
    };
    crate::observe::layers(Router::new().fallback(dispatch).with_state(routers), &state)
}

/// Why a `Host` is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadHost(pub(crate) &'static str);

/// The host of a `Host` header (or of an HTTP/2 `:authority`), lowercase, without port and
/// trailing dot; an IPv6 address keeps its brackets. Only `host[:port]` is accepted: a
/// DNS name or IPv4 address, or `[IPv6]`, then optionally `:` and a port number. Userinfo,
/// paths, spaces, empty values and colons outside brackets are refused.
pub(crate) fn parse_host(raw: &[u8]) -> Result<String, BadHost> {
    let raw = std::str::from_utf8(raw).map_err(|_| BadHost("it is not ASCII"))?;
    if raw.is_empty() {
        return Err(BadHost("it is empty"));
    }
    if raw.len() > 260 {
        return Err(BadHost("it is too long"));
    }
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or(BadHost("a bracket is not closed"))?;
        addr.parse::<std::net::Ipv6Addr>().map_err(|_| BadHost("the bracketed part is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(BadHost("something follows the IPv6 address"))?),
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (name, port) = match raw.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (raw, None),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(BadHost("the host is not a DNS name or an IP address"));
        }
        (name.to_ascii_lowercase(), port)
    };
    if let Some(p) = port {
        let digits = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits || p.parse::<u16>().is_err() {
            return Err(BadHost("the port is not a number from 0 to 65535"));
        }
    }
    Ok(host)
}

/// The request's host: its one `Host` header, or else the `:authority` of an HTTP/2 request.
fn host_of(req: &Request) -> Result<String, BadHost> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(BadHost("there are several Host headers")),
        (Some(h), None) => parse_host(h.as_bytes()),
        (None, _) => match req.uri().authority() {
            Some(a) => parse_host(a.as_str().as_bytes()),
            None => Err(BadHost("it is missing")),
        },
    }
}

async fn dispatch(State(r): State<Routers>, mut req: Request) -> Response {
    let host = match host_of(&req) {
        Ok(h) => h,
        Err(BadHost(why)) => {
            tracing::info!(reason = why, "refused a request whose Host header is not host[:port]");
            return ApiError::BadHost(format!("the Host header is not host[:port]: {why}")).into_response();
        }
    };
    let on_platform_host = r.state.config.is_platform_host(&host);
    let path = req.uri().path().to_owned();
    let (tenant, prefix) = if on_platform_host {
        let Some(rest) = path.strip_prefix("/t/") else {
            return r.platform.oneshot(req).await.into_response();
        };
        let (slug, remainder) = rest.split_once('/').map_or((rest, None), |(s, p)| (s, Some(p)));
        let tenant = match r.state.tenants.by_slug(slug).await {
            Ok(Some(t)) => t,
            Ok(None) => return ApiError::UnknownTenant(format!("/t/{slug}/")).into_response(),
            Err(e) => return e.into_response(),
        };
        let Some(remainder) = remainder else {
            return Redirect::permanent(&format!("/t/{slug}/")).into_response();
        };
        let new_path = format!("/{remainder}");
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let Ok(uri) = pq.parse::<Uri>() else {
            return ApiError::NotFound("nothing is served at this path".into()).into_response();
        };
        *req.uri_mut() = uri;
        (tenant, format!("/t/{slug}"))
    } else {
        match r.state.tenants.by_domain(&host).await {
            Ok(Some(t)) => (t, String::new()),
            Ok(None) => return ApiError::UnknownTenant("this host name".into()).into_response(),
            Err(e) => return e.into_response(),
        }
    };
    if tenant.status == TenantStatus::Suspended {
        return ApiError::TenantSuspended.into_response();
    }
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    let base_url = tenant.base_url(&r.state.config.public_url);
    req.extensions_mut().insert(ResolvedTenant { tenant, prefix, base_url });
    r.tenant.oneshot(req).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_are_host_and_port_are_accepted() {
        for (raw, host) in [
            ("hegyvidek.localhost", "hegyvidek.localhost"),
            ("hegyvidek.localhost:8080", "hegyvidek.localhost"),
            ("Hegyvidek.LOCALHOST:8080", "hegyvidek.localhost"),
            ("ugyintezes.hegyvidek.hu.", "ugyintezes.hegyvidek.hu"),
            ("ugyintezes.hegyvidek.hu.:443", "ugyintezes.hegyvidek.hu"),
            ("localhost", "localhost"),
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:1", "127.0.0.1"),
            ("10.0.0.1:65535", "10.0.0.1"),
            ("[::1]", "[::1]"),
            ("[::1]:8080", "[::1]"),
            ("[2001:DB8::1]:443", "[2001:db8::1]"),
            ("xn--gyintzs-fyab6p.example.hu", "xn--gyintzs-fyab6p.example.hu"),
            ("a-b.c-d.example:0", "a-b.c-d.example"),
        ] {
            assert_eq!(parse_host(raw.as_bytes()), Ok(host.to_owned()), "{raw:?}");
        }
    }

    #[test]
    fn anything_else_is_a_bad_host() {
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = ["abcdefghi"; 26].join(".");
        for raw in [
            "",
            " ",
            "hegyvidek.localhost:8080@attacker.example",
            "attacker.example@hegyvidek.localhost",
            "user:pw@hegyvidek.localhost",
            "hegyvidek.localhost/evil",
            "hegyvidek.localhost:8080/evil",
            "hegyvidek.localhost?x",
            "hegyvidek.localhost#x",
            "hegyvidek.localhost\\attacker.example",
            "hegyvidek.localhost attacker.example",
            " hegyvidek.localhost",
            "hegyvidek.localhost ",
            "hegyvidek.localhost\t",
            "hegyvidek.localhost:",
            "hegyvidek.localhost:8080:9090",
            "hegyvidek.localhost:80a",
            "hegyvidek.localhost:-1",
            "hegyvidek.localhost:+80",
            "hegyvidek.localhost:65536",
            "hegyvidek.localhost:000080",
            "::1",
            "::1:8080",
            "[::1",
            "[::1]8080",
            "[::1]:",
            "[::1]:x",
            "[not-ipv6]",
            "[127.0.0.1]",
            "[::1]@attacker.example",
            ":8080",
            ".",
            "..",
            "a..b",
            ".hegyvidek.localhost",
            "-a.example",
            "a-.example",
            "under_score.example",
            "hegyvidek.localhost%2f",
            "ügyintézés.example.hu",
            "http://hegyvidek.localhost",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(parse_host(raw.as_bytes()).is_err(), "{raw:?} was accepted");
        }
        assert!(parse_host(b"hegyvidek.localhost\xff").is_err(), "bytes that are not ASCII");
        assert!(parse_host(&[b'a', 0, b'b']).is_err(), "a NUL byte");
    }
}
