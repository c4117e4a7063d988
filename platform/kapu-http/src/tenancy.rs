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

/// An in-memory copy of the tenant registry, reloaded when stale or on a miss.
#[derive(Clone)]
pub struct TenantDirectory {
    db: Db,
    inner: Arc<RwLock<Directory>>,
}

struct Directory {
    by_slug: HashMap<String, Arc<Tenant>>,
    by_domain: HashMap<String, Arc<Tenant>>,
    loaded_at: Option<Instant>,
}

const FRESH: Duration = Duration::from_secs(5);
const MISS_RELOAD: Duration = Duration::from_millis(200);

impl TenantDirectory {
    pub(crate) fn new(db: Db) -> Self {
        Self { db, inner: Arc::new(RwLock::new(Directory { by_slug: HashMap::new(), by_domain: HashMap::new(), loaded_at: None })) }
    }

    /// The tenant with this slug.
    pub async fn by_slug(&self, slug: &str) -> Result<Option<Arc<Tenant>>, ApiError> {
        self.lookup(|d| d.by_slug.get(slug).cloned()).await
    }

    /// The tenant that serves this host.
    pub async fn by_domain(&self, host: &str) -> Result<Option<Arc<Tenant>>, ApiError> {
        self.lookup(|d| d.by_domain.get(host).cloned()).await
    }

    /// Forgets the cached registry, so the next lookup reloads it.
    pub async fn invalidate(&self) {
        self.inner.write().await.loaded_at = None;
    }

    async fn lookup(&self, find: impl Fn(&Directory) -> Option<Arc<Tenant>>) -> Result<Option<Arc<Tenant>>, ApiError> {
        {
            let d = self.inner.read().await;
            let age = d.loaded_at.map(|t| t.elapsed());
            match (find(&d), age) {
                (Some(t), Some(age)) if age < FRESH => return Ok(Some(t)),
                (None, Some(age)) if age < MISS_RELOAD => return Ok(None),
                _ => {}
            }
        }
        let mut d = self.inner.write().await;
        if d.loaded_at.is_none_or(|t| t.elapsed() >= MISS_RELOAD) {
            let mut conn = self.db.pool().acquire().await?;
            let all = kapu_core::list_tenants(&mut conn).await?;
            d.by_slug.clear();
            d.by_domain.clear();
            for t in all {
                let t = Arc::new(t);
                for domain in &t.domains {
                    d.by_domain.insert(domain.clone(), t.clone());
                }
                d.by_slug.insert(t.slug.to_string(), t);
            }
            d.loaded_at = Some(Instant::now());
        }
        Ok(find(&d))
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
    let on_platform_host = r.state.config.platform_hosts.iter().any(|h| *h == host);
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
