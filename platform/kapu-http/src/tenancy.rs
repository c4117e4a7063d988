//! Resolving a request's tenant and dispatching it to the tenant or platform router.
//!
//! A request belongs to a tenant when its Host is one of the tenant's domains, or when it
//! arrives on a platform host under `/t/{slug}/` (the prefix is stripped before routing
//! and remembered in [`ResolvedTenant::prefix`]). Any other host is an unknown tenant.

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
    /// `/t/{slug}` when resolved by path prefix, empty when by host. Links and cookie paths
    /// start with it.
    pub prefix: String,
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

fn host_of(req: &Request) -> String {
    let raw = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| req.uri().host()).unwrap_or("");
    let host =
        if raw.starts_with('[') { raw.split_inclusive(']').next().unwrap_or(raw) } else { raw.rsplit_once(':').map_or(raw, |(h, _)| h) };
    host.trim_end_matches('.').to_ascii_lowercase()
}

async fn dispatch(State(r): State<Routers>, mut req: Request) -> Response {
    let host = host_of(&req);
    let on_platform_host = r.state.config.platform_hosts.contains(&host);
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
            Ok(None) => return ApiError::UnknownTenant(host).into_response(),
            Err(e) => return e.into_response(),
        }
    };
    if tenant.status == TenantStatus::Suspended {
        return ApiError::TenantSuspended.into_response();
    }
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    req.extensions_mut().insert(ResolvedTenant { tenant, prefix });
    r.tenant.oneshot(req).await.into_response()
}
