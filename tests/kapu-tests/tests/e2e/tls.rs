//! HTTPS with rustls: TLS 1.3 preferred, TLS 1.2 accepted, Secure cookies.

use std::sync::Arc;

use anyhow::Result;
use kapu_http::{AppState, HttpConfig};
use kapu_testkit::{Kit, PASSWORD};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn handshake(
    port: u16,
    ca: &rustls::RootCertStore,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(rustls::ProtocolVersion, String)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_root_certificates(ca.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut tls = connector.connect(ServerName::try_from("localhost")?, tcp).await?;
    let version = tls.get_ref().1.protocol_version().unwrap();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
    let mut body = String::new();
    tls.read_to_string(&mut body).await?;
    Ok((version, body))
}

#[tokio::test]
async fn https_with_rustls_and_secure_cookies() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("tls", "TLS").await?;
    let (cert, key) = kapu_http::tls::dev_certificate(&[])?;
    let cfg = kapu_http::tls::server_config(cert.as_bytes(), key.as_bytes())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let http = HttpConfig {
        public_url: kapu_core::Origin::parse(&format!("https://localhost:{port}"))?,
        secure_cookies: true,
        hsts: true,
        ..HttpConfig::default()
    };
    let state = AppState::new(kit.db.clone(), kit.crypto.clone(), http);
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(kapu::wiring::serve(kapu_http::app(state), listener, Some(cfg), async move {
        let _ = rx.changed().await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile_certs(&cert) {
        roots.add(c)?;
    }
    let (v, body) = handshake(port, &roots, &[&rustls::version::TLS13, &rustls::version::TLS12]).await?;
    assert_eq!(v, rustls::ProtocolVersion::TLSv1_3, "TLS 1.3 is preferred");
    assert!(body.starts_with("HTTP/1.1 200") && body.ends_with("ok"), "{body}");
    let (v, _) = handshake(port, &roots, &[&rustls::version::TLS12]).await?;
    assert_eq!(v, rustls::ProtocolVersion::TLSv1_2, "TLS 1.2 is still accepted");
    // An untrusting client is refused at the handshake.
    assert!(handshake(port, &rustls::RootCertStore::empty(), &[&rustls::version::TLS13]).await.is_err());

    let client = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes())?).build()?;
    let r = client
        .post(format!("https://localhost:{port}/t/tls/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": t.clerk_email, "password": PASSWORD }))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str()?.to_owned();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    // Under TLS every answer tells the browser to use nothing else, pages and errors alike.
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let portal = client.get(format!("https://localhost:{port}/t/tls/")).send().await?;
    assert_eq!(portal.headers()["strict-transport-security"], "max-age=31536000");
    let csp = portal.headers()["content-security-policy"].to_str()?.to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let unknown = client.get(format!("https://localhost:{port}/t/nincs/")).send().await?;
    assert_eq!((unknown.status().as_u16(), unknown.headers().contains_key("strict-transport-security")), (404, true));
    // Plain HTTP says nothing of the sort (a browser would ignore it there anyway).
    let plain = reqwest::get(format!("{}/healthz", kit.base)).await?;
    assert!(!plain.headers().contains_key("strict-transport-security"));
    let _ = stop.send(true);
    server.await??;
    kit.stop().await;
    Ok(())
}

fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).map(|c| c.unwrap()).collect()
}
