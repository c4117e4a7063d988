//! The problem details every error becomes, without a server or a database: what
//! `ApiError`s, rejected JSON bodies and axum's own errors look like on the wire.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tower::ServiceExt;

use crate::problem::{ApiError, Json, PROBLEM_JSON, problemize};

async fn body(res: Response) -> (StatusCode, Option<String>, Value) {
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap_or_default();
    (status, ct, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn an_error_is_a_problem_with_its_stable_type_and_status() {
    let res = ApiError::Forbidden.into_response();
    assert_eq!(res.headers()[header::CONTENT_LANGUAGE], "en");
    let (status, ct, json) = body(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(json["type"], "urn:kapu:problem:forbidden");
    assert_eq!(json["status"], 403);
    assert!(json.get("errors").is_none() && json.get("request_id").is_none(), "left out, not null: {json}");
}

#[tokio::test]
async fn an_internal_error_keeps_its_cause_to_the_log() {
    let (status, _, json) = body(ApiError::Internal("password authentication failed for user kapu".into()).into_response()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json["type"], "urn:kapu:problem:internal");
    assert!(!json.to_string().contains("password"), "{json}");
}

#[tokio::test]
async fn a_throttled_request_says_how_many_whole_seconds_to_wait() {
    let until = (chrono::Utc::now() + chrono::Duration::milliseconds(29_500)).to_rfc3339();
    let res = ApiError::TooManyAttempts(until).into_response();
    let wait: i64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&wait), "{wait}");
    let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let res = ApiError::TooManyEmails(past).into_response();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[header::RETRY_AFTER], "1", "never less than a second");
}

#[derive(Debug, serde::Deserialize)]
struct Sample {
    #[allow(dead_code)]
    n: u32,
}

async fn sample(content_type: Option<&str>, text: &'static str) -> ApiError {
    let mut req = Request::builder().method("POST").uri("/");
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let req = req.body(Body::from(text)).unwrap();
    Json::<Sample>::from_request(req, &()).await.expect_err("the body is refused")
}

#[tokio::test]
async fn each_way_a_json_body_fails_is_its_own_problem() {
    assert!(matches!(sample(None, r#"{"n": 1}"#).await, ApiError::UnsupportedMediaType));
    assert!(matches!(sample(Some("text/plain"), r#"{"n": 1}"#).await, ApiError::UnsupportedMediaType));
    assert!(matches!(sample(Some("application/json"), r#"{"n": "#).await, ApiError::MalformedJson(_)));
    for (text, field) in [(r#"{"n": "one"}"#, "n"), (r#"{"n": -1}"#, "n"), ("{}", "n"), ("[]", "body")] {
        let (status, _, json) = body(sample(Some("application/json"), text).await.into_response()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert_eq!(json["errors"][0]["field"], field, "{text}: {json}");
    }
}

fn app() -> Router {
    Router::new()
        .route("/plain", get(|| async { (StatusCode::BAD_REQUEST, "nope") }))
        .route("/page", get(|| async { (StatusCode::NOT_FOUND, Html("<p>Nincs ilyen oldal</p>")) }))
        .route("/problem", get(|| async { ApiError::Conflict("taken".into()) }))
        .layer(axum::middleware::from_fn(problemize))
}

async fn call(method: &str, uri: &str) -> (StatusCode, Option<String>, Value) {
    let req = Request::builder().method(method).uri(uri).header("x-request-id", "req-1").body(Body::empty()).unwrap();
    body(app().oneshot(req).await.unwrap()).await
}

#[tokio::test]
async fn axum_s_own_errors_become_problems_with_the_request_id() {
    let (status, ct, json) = call("GET", "/nowhere").await;
    assert_eq!((status, ct.as_deref()), (StatusCode::NOT_FOUND, Some(PROBLEM_JSON)));
    assert_eq!(json["type"], "urn:kapu:problem:not-found");
    assert_eq!(json["request_id"], "req-1");
    let (status, _, json) = call("DELETE", "/problem").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json["type"], "urn:kapu:problem:method-not-allowed");
    let (_, _, json) = call("GET", "/plain").await;
    assert_eq!(json["type"], "urn:kapu:problem:bad-request");
    let (_, _, json) = call("GET", "/problem").await;
    assert_eq!((json["type"].as_str(), json["request_id"].as_str()), (Some("urn:kapu:problem:conflict"), Some("req-1")));
}

#[tokio::test]
async fn pages_for_people_are_left_as_they_are() {
    let req = Request::builder().uri("/page").body(Body::empty()).unwrap();
    let res = app().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
}
