//! Links come from configured origins, never from the request's `Host` header (issue 14).
//!
//! The attacks: a poisoned `Host` on the requests that mail a link (staff and portal
//! password reset, registration) or publish one (OIDC discovery, the KAÜ service provider's
//! metadata and sign-in request). A malformed `Host` is refused with `bad-host` before any
//! tenant is looked up; a well-formed foreign one finds no tenant; an accepted one changes
//! nothing in the links, which start with the tenant's configured origin.

use std::time::Duration;

use anyhow::{Context, Result};
use kapu_http::{AppState, HttpConfig, MetricsAccess};
use kapu_testkit::{Kit, KitOptions, TestTenant};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one HTTP/1.1 request as raw bytes, with exactly the header lines given (so a
/// client library cannot tidy the `Host` up), and returns the status and the whole answer.
async fn raw(base: &str, method: &str, path: &str, header_lines: &[&str], body: &str) -> Result<(u16, String)> {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for h in header_lines {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).with_context(|| format!("a status line in {text:?}"))?;
    Ok((status, text))
}

/// How many jobs (e-mails among them) the tenant has queued.
async fn jobs(kit: &Kit, t: &TestTenant) -> Result<i64> {
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM job").fetch_one(tx.conn()).await?;
    tx.commit().await?;
    Ok(n)
}

/// Gives a tenant the KAÜ simulator's settings and, optionally, an origin of its own.
async fn configure(kit: &Kit, t: &TestTenant, kau: &kapu_sim::kau::KauSim, origin: Option<&str>) -> Result<()> {
    let mut tenant = t.tenant.clone();
    tenant.settings = json!({ "kau": kau.tenant_settings(), "origin": origin });
    let mut tx = kit.db.platform_tx().await?;
    kapu_core::update_tenant(tx.conn(), &tenant).await?;
    tx.commit().await?;
    Ok(())
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_owned()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

const MALFORMED: &[&str] = &[
    "mergezett.example:8080@attacker.example",
    "attacker.example@mergezett.example",
    "user:pw@mergezett.example",
    "mergezett.example/attacker.example",
    "mergezett.example:8080/x",
    "mergezett.example attacker.example",
    "mergezett.example:80:81",
    "mergezett.example:",
    "mergezett.example:http",
    "::1:8080",
    "[::1]attacker.example",
    "",
];

#[tokio::test]
async fn malformed_hosts_are_refused_before_any_tenant_and_nothing_is_sent() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let t = kit.tenant_with_domains("mergezett", "Mérgezett Község", vec!["mergezett.example".into()]).await?;
    let reset = json!({ "email": t.clerk_email }).to_string();
    let platform_host = kit.base.trim_start_matches("http://").to_owned();
    let mut with_platform_host = vec![format!("{platform_host}@attacker.example"), format!("attacker.example@{platform_host}")];
    with_platform_host.extend(MALFORMED.iter().map(|h| (*h).to_owned()));
    for host in &with_platform_host {
        let line = format!("Host: {host}");
        for (method, path, body) in [
            ("POST", "/api/v1/auth/password-reset", reset.as_str()),
            ("POST", "/t/mergezett/api/v1/auth/password-reset", reset.as_str()),
            ("POST", "/t/mergezett/elfelejtett-jelszo", ""),
            ("POST", "/t/mergezett/regisztracio", ""),
            ("GET", "/t/mergezett/.well-known/openid-configuration", ""),
            ("GET", "/.well-known/openid-configuration", ""),
            ("GET", "/t/mergezett/kau/metadata", ""),
            ("GET", "/t/mergezett/kau/belepes", ""),
            ("GET", "/api/v1/platform/tenants", ""),
        ] {
            let (status, answer) = raw(&kit.base, method, path, &[&line], body).await?;
            assert_eq!(status, 400, "{method} {path} with Host {host:?}: {answer}");
            assert!(answer.contains("application/problem+json") && answer.contains("urn:kapu:problem:bad-host"), "{answer}");
            assert!(!answer.contains("attacker"), "the answer does not repeat the host: {answer}");
        }
    }
    // Two Host headers, and none at all (HTTP/1.0 has no Host).
    let (status, answer) =
        raw(&kit.base, "POST", "/api/v1/auth/password-reset", &["Host: mergezett.example", "Host: attacker.example"], &reset).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("urn:kapu:problem:bad-host"), "{answer}");
    let (status, answer) = raw(&kit.base, "POST", "/api/v1/auth/password-reset", &[], &reset).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("urn:kapu:problem:bad-host"), "{answer}");
    assert_eq!(jobs(&kit, &t).await?, 0, "no e-mail was queued");
    assert!(kit.mail.messages().await.is_empty(), "and none was sent");

    // Well-formed but foreign hosts find no tenant, with or without the prefix.
    for (host, path) in [
        ("attacker.example", "/t/mergezett/api/v1/auth/password-reset"),
        ("attacker.example:8080", "/api/v1/auth/password-reset"),
        ("mergezett.example.attacker.example", "/api/v1/auth/password-reset"),
        ("localhost", "/t/mergezett/api/v1/auth/password-reset"),
    ] {
        let (status, answer) = raw(&kit.base, "POST", path, &[&format!("Host: {host}")], &reset).await?;
        assert_eq!(status, 404, "{host} {path}: {answer}");
        assert!(answer.contains("urn:kapu:problem:unknown-tenant"), "{answer}");
        assert!(!answer.contains("attacker"), "the answer does not repeat the host: {answer}");
    }
    assert_eq!(jobs(&kit, &t).await?, 0, "still no e-mail queued");
    kit.stop().await;
    Ok(())
}

/// Nothing in `text` names the poisoned host or port.
fn no_poison(what: &str, text: &str) {
    for poison in [":6666", "mergezett.example", "attacker"] {
        assert!(!text.contains(poison), "{what} names {poison}: {text}");
    }
}

/// Every link in `text` (words starting with http) starts with `base`, and nothing in it
/// names the poisoned host or port.
fn only_configured_links(what: &str, text: &str, base: &str) {
    no_poison(what, text);
    let links: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>').filter(|w| w.starts_with("http")).collect();
    for l in &links {
        assert!(l.starts_with(base), "{what}: {l} does not start with {base}");
    }
}

#[tokio::test]
async fn accepted_requests_link_to_the_configured_origin_whatever_the_host() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let sim = kapu_sim::kau::start(0).await?;
    let t = kit.tenant_with_domains("mergezett", "Mérgezett Község", vec!["mergezett.example".into()]).await?;
    configure(&kit, &t, &sim, None).await?;
    let configured = format!("{}/t/mergezett", kit.base);
    // On the tenant's domain with a foreign port, and on the platform host with one.
    let by_domain = "mergezett.example:6666";
    let by_platform = "127.0.0.1:6666";
    let http = browser();

    // Staff password reset, both ways.
    for (host, path) in [(by_domain, "/api/v1/auth/password-reset"), (by_platform, "/t/mergezett/api/v1/auth/password-reset")] {
        let r = http.post(format!("{}{path}", kit.base)).header("host", host).json(&json!({ "email": t.clerk_email })).send().await?;
        assert_eq!(r.status(), 202, "{host}");
    }

    // Registration on the portal by the tenant's domain: the confirmation e-mail.
    let c = browser();
    let page = c.get(format!("{}/regisztracio", kit.base)).header("host", by_domain).send().await?.text().await?;
    let csrf = hidden(&page, "csrf");
    assert!(!csrf.is_empty(), "{page}");
    let email = "mergezett.lakos@example.hu";
    let password = "Zöld-Kerítés-Alatt-Hét-Macska";
    let r = c
        .post(format!("{}/regisztracio", kit.base))
        .header("host", by_domain)
        .form(&[("csrf", csrf.as_str()), ("display_name", "Mérgezett Lakos"), ("email", email), ("password", password)])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    no_poison("the registration page", &r.text().await?);
    let msgs = kit.mail.wait_for_messages(3, Duration::from_secs(20)).await.context("two resets and a confirmation")?;
    let confirmation = msgs.iter().find(|m| m.rcpt_to == vec![email.to_owned()]).context("the confirmation e-mail")?;
    let text = kit.mail.message(confirmation.id).await.context("message")?.text.unwrap_or_default();
    let confirm = text.split_whitespace().find(|w| w.contains("email-megerosites?token=")).context("a confirmation link")?.to_owned();
    assert!(confirm.starts_with(&format!("{configured}/email-megerosites?token=")), "{confirm}");
    assert_eq!(c.get(&confirm).send().await?.status(), 200, "the configured link works");

    // The portal's password reset by the platform host with a foreign port.
    let r = c
        .post(format!("{configured}/elfelejtett-jelszo"))
        .header("host", by_platform)
        .form(&[("csrf", csrf.as_str()), ("email", email)])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let msgs = kit.mail.wait_for_messages(4, Duration::from_secs(20)).await.context("the portal's reset e-mail")?;
    for m in &msgs {
        let full = kit.mail.message(m.id).await.context("message")?;
        let text = full.text.clone().unwrap_or_default();
        only_configured_links(&format!("the e-mail {:?}", m.subject), &text, &configured);
        no_poison(&format!("the HTML of {:?}", m.subject), &full.html.clone().unwrap_or_default());
        assert!(text.contains(&format!("{configured}/")), "a link to the configured origin in {text}");
    }

    // OIDC discovery: the issuer and every endpoint are the configured ones.
    for (host, path) in [(by_domain, "/.well-known/openid-configuration"), (by_platform, "/t/mergezett/.well-known/openid-configuration")] {
        let r = http.get(format!("{}{path}", kit.base)).header("host", host).send().await?;
        assert_eq!(r.status(), 200);
        let text = r.text().await?;
        let doc: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(doc["issuer"], configured, "{text}");
        assert_eq!(doc["authorization_endpoint"], format!("{configured}/oidc/authorize"));
        only_configured_links("the discovery document", &text, &configured);
    }

    // The KAÜ service provider: metadata and the sign-in request name the configured origin.
    for (host, path) in [(by_domain, "/kau/metadata"), (by_platform, "/t/mergezett/kau/metadata")] {
        let md = http.get(format!("{}{path}", kit.base)).header("host", host).send().await?.text().await?;
        assert!(md.contains(&format!("entityID=\"{configured}/kau/metadata\"")), "{md}");
        assert!(md.contains(&format!("Location=\"{configured}/kau/acs\"")), "{md}");
        assert!(!md.contains(":6666") && !md.contains("mergezett.example"), "{md}");
    }
    let r = browser().get(format!("{configured}/kau/belepes")).header("host", by_platform).send().await?;
    assert_eq!(r.status(), 303);
    let sso = r.headers()["location"].to_str()?.to_owned();
    assert!(sso.starts_with(&sim.url()), "to the identity provider: {sso}");
    no_poison("the redirect to the identity provider", &sso);
    let saml = url::Url::parse(&sso)?.query_pairs().find(|(k, _)| k == "SAMLRequest").context("a SAMLRequest")?.1.into_owned();
    let request = kapu_saml::idp::decode_redirect_request(&saml)?;
    assert_eq!(request.issuer, format!("{configured}/kau/metadata"));
    assert_eq!(request.acs_url.as_deref(), Some(format!("{configured}/kau/acs").as_str()));
    // Started on the tenant's domain, it first goes to the configured address, where the
    // browser's binding cookie will come back with the identity provider's answer.
    let r = browser().get(format!("{}/kau/belepes", kit.base)).header("host", by_domain).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{configured}/kau/belepes"));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_tenant_with_its_own_origin_is_linked_there() -> Result<()> {
    let kit = Kit::start_with(KitOptions { worker: true, ..KitOptions::default() }).await?;
    let sim = kapu_sim::kau::start(0).await?;
    let t = kit.tenant_with_domains("sajat", "Saját Város", vec!["ugyintezes.sajat.example".into()]).await?;
    let origin = "https://ugyintezes.sajat.example";
    configure(&kit, &t, &sim, Some(origin)).await?;
    let http = browser();
    // Reached through the platform's prefix, and on its domain with a foreign port.
    let r = http.post(format!("{}/t/sajat/api/v1/auth/password-reset", kit.base)).json(&json!({ "email": t.clerk_email })).send().await?;
    assert_eq!(r.status(), 202);
    let r = http
        .post(format!("{}/api/v1/auth/password-reset", kit.base))
        .header("host", "ugyintezes.sajat.example:6666")
        .json(&json!({ "email": t.admin_email }))
        .send()
        .await?;
    assert_eq!(r.status(), 202);
    let msgs = kit.mail.wait_for_messages(2, Duration::from_secs(20)).await.context("two reset e-mails")?;
    for m in &msgs {
        let text = kit.mail.message(m.id).await.context("message")?.text.unwrap_or_default();
        assert!(text.contains(&format!("{origin}/admin/#/reset?token=")), "{text}");
        assert!(!text.contains(":6666") && !text.contains("127.0.0.1"), "{text}");
    }
    let doc: serde_json::Value = http.get(format!("{}/t/sajat/.well-known/openid-configuration", kit.base)).send().await?.json().await?;
    assert_eq!(doc["issuer"], origin);
    assert_eq!(doc["token_endpoint"], format!("{origin}/oidc/token"));
    let md = http.get(format!("{}/t/sajat/kau/metadata", kit.base)).send().await?.text().await?;
    assert!(md.contains(&format!("entityID=\"{origin}/kau/metadata\"")), "{md}");
    // A sign-in started under the prefix goes to the tenant's own address first.
    let r = browser().get(format!("{}/t/sajat/kau/belepes", kit.base)).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{origin}/kau/belepes"));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_platform_answers_only_on_its_configured_hosts() -> Result<()> {
    let kit = Kit::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = HttpConfig {
        public_url: kapu_core::Origin::parse("https://kapu.example.hu")?,
        platform_hosts: HttpConfig::parse_platform_hosts("konzol.example.hu, kapu.example.hu").map_err(anyhow::Error::msg)?,
        ..HttpConfig::default()
    };
    let state = AppState::new(kit.db.clone(), kit.crypto.clone(), config);
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(kapu::wiring::serve(kapu_http::app(state), listener, None, async move {
        let _ = rx.changed().await;
    }));
    for host in ["konzol.example.hu", "KAPU.example.hu:443"] {
        let (status, answer) = raw(&base, "GET", "/api/v1/platform/tenants", &[&format!("Host: {host}")], "").await?;
        assert_eq!(status, 401, "the platform API on {host}: {answer}");
    }
    // Loopback is no platform host here, nor is any host the sender picks.
    for host in ["127.0.0.1", "localhost", "attacker.example"] {
        let (status, answer) = raw(&base, "GET", "/api/v1/platform/tenants", &[&format!("Host: {host}")], "").await?;
        assert_eq!(status, 404, "{host}: {answer}");
        assert!(answer.contains("urn:kapu:problem:unknown-tenant"), "{answer}");
    }
    // A setting that is not a list of host names is refused.
    for bad in ["kapu.example.hu:8080", "https://kapu.example.hu", "kapu.example.hu/admin", "a@b"] {
        assert!(HttpConfig::parse_platform_hosts(bad).is_err(), "{bad}");
    }
    let _ = stop.send(true);
    server.await??;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn metrics_are_refused_or_served_as_configured() -> Result<()> {
    // Off: the public listener does not serve them.
    let kit = Kit::start_with(KitOptions { metrics: MetricsAccess::Off, ..KitOptions::default() }).await?;
    let p = kit.platform_client();
    let r = p.get("/metrics").await?;
    assert_eq!((r.status, r.problem().as_deref()), (404, Some("not-found")), "{}", r.text);
    kit.stop().await;

    // Behind a bearer token.
    let kit = Kit::start_with(KitOptions { metrics: MetricsAccess::Token("metrika-titok-2026".into()), ..KitOptions::default() }).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", kit.base);
    let r = http.get(&url).send().await?;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str()?.starts_with("Bearer"));
    assert_eq!(http.get(&url).bearer_auth("rossz-titok").send().await?.status(), 401);
    let r = http.get(&url).bearer_auth("metrika-titok-2026").send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("kapu_http_requests_total"));
    kit.stop().await;

    // On a listener of its own, which serves nothing else.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(kapu::wiring::serve(kapu_http::metrics_router(MetricsAccess::Open), listener, None, async move {
        let _ = rx.changed().await;
    }));
    let r = http.get(format!("{base}/metrics")).send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("kapu_http_requests_total"));
    assert_eq!(http.get(format!("{base}/api/v1/platform/tenants")).send().await?.status(), 404);
    let _ = stop.send(true);
    server.await??;
    Ok(())
}
