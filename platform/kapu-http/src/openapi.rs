//! The OpenAPI 3.1 document, generated from the handlers' annotations, and its docs page.

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::problem::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kapu API",
        version = "1",
        description = "The JSON API of a Kapu municipality (under `/api/v1` of the tenant's host, or `/t/{slug}/api/v1` on the platform host) \
                       and of the platform (`/api/v1/platform`). Errors are RFC 9457 problem details with stable `type` URIs \
                       `urn:kapu:problem:<code>`. Unsafe requests of a signed-in session must carry `X-CSRF-Token`."
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Staff sign-in"),
        (name = "tenant", description = "The tenant's overview, staff and jobs"),
        (name = "clients", description = "Clients' personal data (audited)"),
        (name = "audit", description = "The audit log"),
        (name = "platform", description = "Operators: sign-in, tenants, dead jobs"),
    )
)]
struct ApiDoc;

/// The whole document: tenant and platform APIs.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) =
        OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi()).nest("/api/v1", crate::api::tenant_api()).split_for_parts();
    let (_, platform) = OpenApiRouter::<AppState>::new().nest("/api/v1/platform", crate::api::platform_api()).split_for_parts();
    doc.merge(platform);
    doc
}

/// The document as pretty JSON (what `kapu openapi` prints and the admin UI's types come from).
pub fn json() -> String {
    document().to_pretty_json().unwrap_or_default()
}

pub(crate) fn docs_router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", document()))
}
