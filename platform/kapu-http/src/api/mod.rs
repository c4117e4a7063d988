//! The JSON API (`/api/v1`) and the routers that carry it, the portal and the admin UI.

pub mod audit;
pub mod auth;
pub mod case_types;
pub mod cases;
pub mod clients;
pub mod documents;
pub mod jobs;
pub mod oidc;
pub mod platform;
pub mod plugins;
pub mod queue;
pub mod staff;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

/// The tenant API's routes with their OpenAPI descriptions, rooted at `/api/v1`.
pub(crate) fn tenant_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::totp))
        .routes(routes!(auth::totp_enrol))
        .routes(routes!(auth::totp_enrol_confirm))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::password_reset))
        .routes(routes!(auth::password_reset_confirm))
        .routes(routes!(staff::overview))
        .routes(routes!(staff::list_staff, staff::create_staff))
        .routes(routes!(clients::create_client, clients::search_clients))
        .routes(routes!(clients::get_client))
        .routes(routes!(clients::identify))
        .routes(routes!(clients::create_organisation))
        .routes(routes!(clients::get_organisation))
        .routes(routes!(clients::grant_mandate))
        .routes(routes!(clients::revoke_mandate))
        .routes(routes!(documents::client_documents))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(jobs::retry_job))
        .routes(routes!(case_types::list_case_types))
        .routes(routes!(case_types::get_case_type))
        .routes(routes!(case_types::get_case_type_version))
        .routes(routes!(case_types::save_case_type_version))
        .routes(routes!(cases::list_cases))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::assign_case))
        .routes(routes!(cases::request_information))
        .routes(routes!(cases::draft_decision))
        .routes(routes!(cases::send_to_signatory))
        .routes(routes!(cases::approve_decision))
        .routes(routes!(cases::reject_case))
        .routes(routes!(cases::list_case_handlers))
        .routes(routes!(oidc::list_relying_parties, oidc::create_relying_party))
        .routes(routes!(oidc::get_relying_party, oidc::delete_relying_party))
        .routes(routes!(oidc::rotate_keys))
        .routes(routes!(plugins::list_plugins, plugins::install_plugin))
        .routes(routes!(plugins::get_plugin, plugins::remove_plugin))
        .routes(routes!(plugins::configure_plugin))
        .routes(routes!(plugins::plugin_errors))
        .routes(routes!(queue::counter_page, queue::set_counter))
        .routes(routes!(queue::call_next))
        .routes(routes!(queue::issue_ticket))
        .routes(routes!(queue::call_card))
}

/// The platform API's routes, rooted at `/api/v1/platform`.
pub(crate) fn platform_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(platform::login))
        .routes(routes!(platform::totp))
        .routes(routes!(platform::totp_enrol))
        .routes(routes!(platform::totp_enrol_confirm))
        .routes(routes!(platform::logout))
        .routes(routes!(platform::me))
        .routes(routes!(platform::list_tenants))
        .routes(routes!(platform::dead_jobs))
        .routes(routes!(platform::calendar))
}

pub(crate) fn tenant_router(state: AppState) -> Router {
    let (api, _) = OpenApiRouter::new().nest("/api/v1", tenant_api()).split_for_parts();
    api.merge(crate::openapi::tenant_docs_router())
        .merge(crate::portal::routes(&state, state.config.upload_limit))
        .merge(crate::oidc::routes())
        .route("/api/v1", get(|| async { Redirect::temporary("v1/docs/") }))
        .fallback_service(tower::service_fn({
            let state = state.clone();
            move |req: Request| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(tenant_pages(state, req).await) }
            }
        }))
        .with_state(state)
}

pub(crate) fn platform_router(state: AppState) -> Router {
    let (api, _) = OpenApiRouter::new().nest("/api/v1/platform", platform_api()).split_for_parts();
    api.merge(crate::openapi::platform_docs_router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/", get(platform_home))
        .route("/favicon.ico", get(favicon))
        .fallback_service(tower::service_fn({
            let state = state.clone();
            move |req: Request| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(admin_ui(&state, "", req).await) }
            }
        }))
        .with_state(state)
}

/// Portal pages, tenant assets and the admin UI of a tenant.
async fn tenant_pages(state: AppState, req: Request) -> Response {
    let Some(resolved) = req.extensions().get::<ResolvedTenant>().cloned() else {
        return ApiError::NotFound("nothing is served at this path".into()).into_response();
    };
    let path = req.uri().path().to_owned();
    if path == "/healthz" {
        return healthz().await.into_response();
    }
    if path.starts_with("/admin") {
        return admin_ui(&state, &resolved.prefix, req).await;
    }
    crate::portal::page(&state, &resolved, req).await
}

/// Serves the built admin UI under `/admin/`, falling back to its `index.html`.
async fn admin_ui(state: &AppState, prefix: &str, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/admin" {
        return Redirect::permanent(&format!("{prefix}/admin/")).into_response();
    }
    let Some(rest) = path.strip_prefix("/admin/") else {
        return ApiError::NotFound("nothing is served at this path".into()).into_response();
    };
    let dir = &state.config.admin_ui_dir;
    let index = dir.join("index.html");
    if !index.exists() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<!doctype html><html lang=\"en\"><title>Kapu admin</title><main><h1>The admin UI is not built</h1><p>Run <code>npm ci &amp;&amp; npm run build</code> in <code>admin-ui/</code>.</p></main></html>"),
        )
            .into_response();
    }
    let (mut parts, body) = req.into_parts();
    let Ok(uri) = format!("/{rest}").parse() else {
        return ApiError::NotFound("nothing is served at this path".into()).into_response();
    };
    parts.uri = uri;
    let req = Request::from_parts(parts, body);
    let res = ServeDir::new(dir).fallback(ServeFile::new(index)).oneshot(req).await;
    match res {
        Ok(r) => r.into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let unavailable = |detail: &str| {
        crate::problem::problem_response("not-ready", "Not ready", StatusCode::SERVICE_UNAVAILABLE, detail.to_owned(), Vec::new())
    };
    match sqlx::query_scalar::<_, i64>("SELECT count(*) FROM kapu.schema_migration").fetch_one(state.db.pool()).await {
        Ok(n) if n > 0 => "ready".into_response(),
        Ok(_) => unavailable("the platform schema is not migrated; run `kapu migrate`"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("the database cannot be reached")
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    serve_metrics(&state.config.metrics, &headers)
}

/// The Prometheus metrics, if `access` lets this request read them: not found when they are
/// off here, `unauthenticated` without the right bearer token.
pub(crate) fn serve_metrics(access: &crate::state::MetricsAccess, headers: &axum::http::HeaderMap) -> Response {
    use crate::state::MetricsAccess;
    use subtle::ConstantTimeEq;
    let allowed = match access {
        MetricsAccess::Off => return ApiError::NotFound("nothing is served at this path".into()).into_response(),
        MetricsAccess::Open => true,
        MetricsAccess::Token(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))),
    };
    if !allowed {
        let mut res = ApiError::Unauthenticated.into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"metrics\""));
        return res;
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::observe::render_metrics()).into_response()
}

/// A router that serves only `/metrics`, for a listener of its own (`KAPU_METRICS_LISTEN`).
pub fn metrics_router(access: crate::state::MetricsAccess) -> Router {
    let access = std::sync::Arc::new(access);
    crate::observe::install_metrics();
    Router::new()
        .route("/metrics", get(move |headers: axum::http::HeaderMap| async move { serve_metrics(&access, &headers) }))
        .fallback(|| async { ApiError::NotFound("only /metrics is served here".into()) })
}

async fn platform_home() -> Redirect {
    Redirect::temporary("/admin/")
}

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], crate::portal::DEFAULT_CREST).into_response()
}
