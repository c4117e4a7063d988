//! The OpenAPI 3.1 documents, generated from the handlers' annotations and made exact by
//! [`refine`]: one for a municipality's API (`/api/v1`, what `kapu openapi` prints) and one
//! for the operators' API (`/api/v1/platform`, `kapu openapi --platform`). Each is served
//! where its API answers, naming that place in `servers`: the tenant's document at
//! `/api/v1/openapi.json` of the tenant (its base URL), the operators' at
//! `/api/v1/platform/openapi.json` of the platform host. So a tool pointed at a tenant's
//! document never reaches the operator API.

mod refine;

use std::sync::LazyLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::AppState;
use crate::problem::{FieldError, Problem};
use crate::tenancy::ResolvedTenant;

pub use refine::Side;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kapu API",
        version = "1",
        description = "The JSON API of a Kapu municipality: under `/api/v1` of the municipality's base URL (its own host, or \
                       `/t/{slug}` on the platform host). Errors are RFC 9457 problem details with stable `type` URIs \
                       `urn:kapu:problem:<code>`. Staff sign in with `POST /api/v1/auth/login`, which sets the session cookie \
                       `kapu_staff`; every unsafe request of a session carries the session's CSRF token (`csrf_token` of the \
                       sign-in answer or of `GET /api/v1/me`) in `X-CSRF-Token`."
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Staff sign-in"),
        (name = "tenant", description = "The tenant's overview, staff and jobs"),
        (name = "clients", description = "Clients' personal data (audited)"),
        (name = "audit", description = "The audit log"),
        (name = "case types", description = "Case types: their definitions and versions"),
        (name = "cases", description = "Cases: the clerks' worklist, history, rule trace and workflow"),
        (name = "oidc", description = "Relying parties of the tenant's OpenID Provider and its signing keys"),
        (name = "plugins", description = "The tenant's plugins: connectors to its local systems and the central registries"),
        (name = "queue", description = "The queue system at the counters: tickets for clients, calls, the called client's card (audited)"),
    )
)]
struct TenantDoc;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kapu platform API",
        version = "1",
        description = "The operators' API of a Kapu deployment, under `/api/v1/platform` of the platform host (the \
                       deployment's public URL). Errors are RFC 9457 problem details with stable `type` URIs \
                       `urn:kapu:problem:<code>`. Operators sign in with `POST /api/v1/platform/auth/login`, which sets the \
                       session cookie `kapu_operator`; every unsafe request of a session carries its CSRF token in \
                       `X-CSRF-Token`."
    ),
    components(schemas(Problem, FieldError)),
    tags((name = "platform", description = "Operators: sign-in, tenants, dead jobs, the working-day calendar"))
)]
struct PlatformDoc;

fn generated(side: Side) -> utoipa::openapi::OpenApi {
    let (_, doc) = match side {
        Side::Tenant => OpenApiRouter::<AppState>::with_openapi(TenantDoc::openapi()).nest("/api/v1", crate::api::tenant_api()),
        Side::Platform => {
            OpenApiRouter::<AppState>::with_openapi(PlatformDoc::openapi()).nest("/api/v1/platform", crate::api::platform_api())
        }
    }
    .split_for_parts();
    doc
}

/// The document of one side, refined, with its `servers` as a template (see
/// [`refine::Side::server_template`]); built once.
pub fn document(side: Side) -> &'static Value {
    static TENANT: LazyLock<Value> = LazyLock::new(|| refine::refine(&generated(Side::Tenant), Side::Tenant));
    static PLATFORM: LazyLock<Value> = LazyLock::new(|| refine::refine(&generated(Side::Platform), Side::Platform));
    match side {
        Side::Tenant => &TENANT,
        Side::Platform => &PLATFORM,
    }
}

/// The document as pretty JSON (what `kapu openapi` prints; the admin UI's types come from
/// both sides' documents).
pub fn json(side: Side) -> String {
    serde_json::to_string_pretty(document(side)).unwrap_or_default()
}

/// The document as served at `base_url`: its one server is that URL.
pub(crate) fn served_at(side: Side, base_url: &str) -> Value {
    let mut doc = document(side).clone();
    doc["servers"] = json!([{ "url": base_url.trim_end_matches('/') }]);
    doc
}

/// The tenant's document (`/api/v1/openapi.json`) and its docs page (`/api/v1/docs/`).
pub(crate) fn tenant_docs_router() -> Router<AppState> {
    let page = SwaggerUi::new("/api/v1/docs").config(Config::from("../openapi.json"));
    Router::from(page).route("/api/v1/openapi.json", get(tenant_document))
}

/// The operators' document (`/api/v1/platform/openapi.json`) and its docs page.
pub(crate) fn platform_docs_router() -> Router<AppState> {
    let page = SwaggerUi::new("/api/v1/platform/docs").config(Config::from("../openapi.json"));
    Router::from(page).route("/api/v1/platform/openapi.json", get(platform_document))
}

async fn tenant_document(Extension(t): Extension<ResolvedTenant>) -> Response {
    axum::Json(served_at(Side::Tenant, &t.base_url)).into_response()
}

async fn platform_document(State(state): State<AppState>) -> Response {
    axum::Json(served_at(Side::Platform, state.config.public_url.as_str())).into_response()
}

#[cfg(test)]
mod tests;
