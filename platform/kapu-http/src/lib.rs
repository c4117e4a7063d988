//! Kapu's HTTP layer: the only crate that knows axum.
//!
//! A request first has its tenant resolved (from the Host header or a `/t/{slug}/` prefix,
//! see [`tenancy`]); tenant requests then go to the tenant router (JSON API under
//! `/api/v1`, the citizen portal at `/`, the admin UI at `/admin/`), other requests to the
//! platform router (health, metrics, the operators' API and console). Handlers are thin:
//! they extract tenant, identity and input, call a domain crate with the current time, and
//! map its error through [`problem::ApiError`], the one place errors become HTTP.

pub mod api;
pub mod auth;
pub mod client_ip;
mod observe;
mod oidc;
pub mod openapi;
mod portal;
pub mod problem;
pub mod registry_plugin;
mod state;
pub mod tenancy;
mod throttle;
pub mod tls;

pub use api::metrics_router;
pub use observe::install_metrics;
pub use state::{AppState, BadPlatformHost, HttpConfig, MetricsAccess};

use axum::Router;

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    tenancy::dispatcher(state)
}
