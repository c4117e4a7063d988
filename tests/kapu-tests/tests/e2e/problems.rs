//! The HTTP conventions: problem+json for every error, request ids, health, metrics, OpenAPI.

use anyhow::Result;
use kapu_testkit::Kit;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_error_is_a_specific_problem() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("hibak", "Hibák Városa").await?;
    let raw = reqwest::Client::new();
    let login = format!("{}/t/{}/api/v1/auth/login", kit.base, t.slug());

    let check = |r: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let ct = r.headers()["content-type"].to_str()?.to_owned();
        let id = r.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = r.json().await?;
        assert_eq!(ct, "application/problem+json", "{body}");
        assert_eq!(body["type"], format!("urn:kapu:problem:{code}"), "{body}");
        assert_eq!(body["status"], status);
        assert!(!body["detail"].as_str().unwrap().is_empty());
        assert_eq!(body["request_id"].as_str(), id.as_deref(), "the problem names the request id of the response header");
        anyhow::Ok(body)
    };

    let b = check(raw.post(&login).header("content-type", "application/json").body("{\"email\": ").send().await?, 400, "malformed-json")
        .await?;
    assert!(b["detail"].as_str().unwrap().contains("not valid JSON"));
    check(raw.post(&login).header("content-type", "text/plain").body("{}").send().await?, 415, "unsupported-media-type").await?;
    let b = check(raw.post(&login).json(&json!({ "email": "x@y.hu" })).send().await?, 422, "validation").await?;
    assert_eq!(b["errors"][0]["field"], "password");
    assert_eq!(b["errors"][0]["code"], "required", "a missing field is a code too: {b}");
    let b = check(raw.post(&login).json(&json!({ "email": 5, "password": "x" })).send().await?, 422, "validation").await?;
    assert!(b["errors"][0]["field"].as_str().unwrap().contains("email"), "{b}");
    let big = "x".repeat(2 * 1024 * 1024);
    check(raw.post(&login).header("content-type", "application/json").body(big).send().await?, 413, "payload-too-large").await?;
    check(raw.get(format!("{}/t/nincs-ilyen/api/v1/me", kit.base)).send().await?, 404, "unknown-tenant").await?;
    check(raw.get(format!("{}/api/v1/me", kit.base)).header("host", "nincs.example").send().await?, 404, "unknown-tenant").await?;
    check(raw.get(format!("{}/t/{}/api/v1/nincs", kit.base, t.slug())).send().await?, 404, "not-found").await?;
    check(raw.get(format!("{}/api/v1/nincs", kit.base)).send().await?, 404, "not-found").await?;
    check(raw.delete(&login).send().await?, 405, "method-not-allowed").await?;
    check(raw.get(format!("{}/t/{}/api/v1/overview", kit.base, t.slug())).send().await?, 401, "unauthenticated").await?;
    let b = check(
        raw.post(&login).json(&json!({ "email": t.clerk_email, "password": "rossz jelszó" })).send().await?,
        401,
        "invalid-credentials",
    )
    .await?;
    assert!(!b.to_string().contains("Tesztelo"), "no secret in a problem");

    // A signed-in request with invalid fields gets per-field errors from the domain.
    let admin = kit.admin(&t).await?;
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({ "identity": { "family_name": "", "given_name": "Éva", "mother_birth_name": "X", "birth_place": "Y", "birth_date": "1990-01-01" } })),
            &[("x-access-reason", "test")],
        )
        .await?;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["errors"][0]["field"], "identity.family_name");
    // Every field error carries a stable code and its arguments, to translate by.
    assert_eq!(r.json()["errors"][0]["code"], "required");
    assert_eq!(r.json()["errors"][0]["args"], json!({}));
    assert_eq!(r.json()["code"], "validation");
    let r = admin.send(Method::GET, "/api/v1/jobs?state=exploded", None, &[]).await?;
    assert_eq!(r.problem().as_deref(), Some("validation"));
    assert_eq!(r.json()["errors"][0]["field"], "state");
    assert_eq!(r.json()["errors"][0]["code"], "not_in_list");
    assert_eq!(r.json()["errors"][0]["args"], json!({ "allowed": ["pending", "running", "done", "dead"] }));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn health_metrics_and_openapi() -> Result<()> {
    let kit = Kit::start().await?;
    let p = kit.platform_client();
    assert_eq!(p.get("/healthz").await?.text, "ok");
    let ready = p.get("/readyz").await?;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let r = p.get("/healthz").await?;
    assert!(uuid::Uuid::parse_str(&r.header("x-request-id").unwrap()).is_ok());
    let metrics = p.get("/metrics").await?;
    assert!(metrics.text.contains("kapu_http_requests_total"), "{}", metrics.text);

    // The operators' document on the platform host, naming it as the server.
    let platform = p.get("/api/v1/platform/openapi.json").await?.json();
    assert_eq!(platform["openapi"], "3.1.0");
    assert!(platform["paths"]["/api/v1/platform/tenants"].is_object());
    assert!(platform["paths"]["/api/v1/clients/{id}"].is_null(), "no tenant operation");
    assert_eq!(platform["servers"], serde_json::json!([{ "url": kit.base }]));
    let docs = p.get("/api/v1/platform/docs/").await?;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger-ui"), "a browsable docs page");
    // A tenant's document under its prefix: its operations only, its base URL as the server.
    let t = kit.tenant("doksi", "Doksi").await?;
    let c = kit.client(t.slug());
    let doc = c.get("/api/v1/openapi.json").await?.json();
    for path in ["/api/v1/auth/login", "/api/v1/clients/{id}", "/api/v1/audit/verify"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["paths"].as_object().unwrap().keys().all(|p| !p.starts_with("/api/v1/platform")), "no operator operation");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(doc["servers"], serde_json::json!([{ "url": format!("{}/t/doksi", kit.base) }]));
    // Otherwise it is the one `kapu openapi` prints (and the admin UI's types come from).
    let mut printed = serde_json::from_str::<serde_json::Value>(&kapu_http::openapi::json(kapu_http::openapi::Side::Tenant))?;
    printed["servers"] = doc["servers"].clone();
    assert_eq!(doc, printed);
    assert_eq!(c.get("/api/v1/docs/").await?.status, 200);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_database_outage_is_a_503_problem_not_a_500() -> Result<()> {
    // A server whose database is gone: nothing listens on port 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_lazy(&format!("postgres://postgres@127.0.0.1:{closed}/kapu"))?;
    let key = kapu_crypto::MasterKey::from_base64(&kapu_crypto::MasterKey::generate_base64())?;
    let state = kapu_http::AppState::new(
        kapu_core::Db::new(pool, "x"),
        std::sync::Arc::new(kapu_crypto::Crypto::new(key, vec![])),
        Default::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(kapu::wiring::serve(kapu_http::app(state), listener, None, async move {
        let _ = rx.changed().await;
    }));
    let r = reqwest::get(format!("{base}/t/valahol/api/v1/me")).await?;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<serde_json::Value>().await?["type"], "urn:kapu:problem:unavailable");
    let r = reqwest::get(format!("{base}/readyz")).await?;
    assert_eq!(r.status(), 503);
    let body = r.text().await?;
    assert!(body.contains("not-ready") && !body.contains(&closed.to_string()), "no connection details leak: {body}");
    assert_eq!(reqwest::get(format!("{base}/healthz")).await?.status(), 200, "liveness does not depend on the database");
    let _ = stop.send(true);
    server.await??;
    Ok(())
}
