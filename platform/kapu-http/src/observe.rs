//! Request ids, structured request logs, metrics, panics and body limits.
//!
//! Logs carry method, path (never the query string, which may hold personal data), status,
//! latency, tenant and request id; nothing from bodies, cookies or headers.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::AppState;

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
pub fn install_metrics() -> PrometheusHandle {
    METRICS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by a test harness); then our
            // handle renders an empty page rather than failing the server.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub(crate) fn render_metrics() -> String {
    install_metrics().render()
}

pub(crate) fn layers(router: Router, state: &AppState) -> Router {
    install_metrics();
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, tenant = tracing::field::Empty)
                    })
                    .on_request(())
                    .on_response(|res: &Response, latency: Duration, _span: &Span| {
                        tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
                    }),
            )
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(axum::middleware::from_fn_with_state(state.config.hsts, security_headers))
            .layer(from_fn(record_metrics))
            .layer(from_fn(crate::problem::problemize))
            .layer(CatchPanicLayer::new())
            .layer(DefaultBodyLimit::max(state.config.body_limit))
            // Extractors hold every route to `body_limit` except the application form,
            // which raises its own limit for attachments; this is the outer bound.
            .layer(RequestBodyLimitLayer::new(state.config.body_limit.max(state.config.upload_limit))),
    )
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let route = route.unwrap_or_else(|| "other".into());
    metrics::counter!("kapu_http_requests_total", "method" => method, "status" => status).increment(1);
    metrics::histogram!("kapu_http_request_duration_seconds", "route" => route).record(start.elapsed().as_secs_f64());
    res
}

/// Headers every response gets: no sniffing, no framing, no referrer leaks, a strict
/// content security policy (the portal's one inline style block aside), no caching of
/// API answers, which may carry personal data or the CSRF token, and under TLS
/// `Strict-Transport-Security`, so a browser that has been here once never tries plain HTTP.
async fn security_headers(axum::extract::State(hsts): axum::extract::State<bool>, req: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let api = req.uri().path().contains("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // A page may set its own policy (the OpenID Provider's pages widen `form-action`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
                 object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
    if hsts {
        // A year, the usual minimum for preload lists; no includeSubDomains, since the
        // platform's own domain may have subdomains the operator does not serve.
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
