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
        (name = "case types", description = "Case types: their definitions and versions"),
        (name = "cases", description = "Cases: the clerks' worklist, history, rule trace and workflow"),
        (name = "oidc", description = "Relying parties of the tenant's OpenID Provider and its signing keys"),
        (name = "plugins", description = "The tenant's plugins: connectors to its local systems and the central registries"),
        (name = "queue", description = "The queue system at the counters: tickets for clients, calls, the called client's card (audited)"),
        (name = "platform", description = "Operators: sign-in, tenants, dead jobs, the working-day calendar"),
    )
)]
struct ApiDoc;

/// The whole document: tenant and platform APIs.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) =
        OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi()).nest("/api/v1", crate::api::tenant_api()).split_for_parts();
    let (_, platform) = OpenApiRouter::<AppState>::new().nest("/api/v1/platform", crate::api::platform_api()).split_for_parts();
    doc.merge(platform);
    add_common_problems(&mut doc);
    doc
}

/// Documents the problems any endpoint can answer with, besides its own: every request
/// can fail with an unknown tenant or an internal error, every body with malformed JSON,
/// the wrong media type or an oversize body, and every unsafe request with a CSRF refusal.
fn add_common_problems(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::Operation;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                .build(),
        )
    };
    let add = |op: &mut Operation, code: &str, description: &str| {
        op.responses.responses.entry(code.to_owned()).or_insert_with(|| problem(description));
    };
    for item in doc.paths.paths.values_mut() {
        let unsafe_ops = [item.post.as_mut(), item.put.as_mut(), item.patch.as_mut(), item.delete.as_mut()];
        for op in unsafe_ops.into_iter().flatten() {
            if op.request_body.is_some() {
                add(op, "400", "`malformed-json`: the body is not valid JSON");
                add(op, "413", "`payload-too-large`: the body is over the limit");
                add(op, "415", "`unsupported-media-type`: the body is not application/json");
                add(op, "422", "`validation`: fields are missing or invalid; see `errors`");
            }
            add(op, "403", "`csrf`: the X-CSRF-Token is missing or wrong, or the request is cross-site");
        }
        for op in
            [item.get.as_mut(), item.post.as_mut(), item.put.as_mut(), item.patch.as_mut(), item.delete.as_mut()].into_iter().flatten()
        {
            add(op, "404", "`unknown-tenant` or `not-found`");
            add(op, "500", "`internal`: details are in the log under the request id");
            add(op, "503", "`tenant-suspended` or `unavailable`: the municipality is suspended or the database cannot be reached");
        }
    }
}

/// The document as pretty JSON (what `kapu openapi` prints and the admin UI's types come from).
pub fn json() -> String {
    document().to_pretty_json().unwrap_or_default()
}

pub(crate) fn docs_router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", document()))
}
