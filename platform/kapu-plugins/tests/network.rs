//! The operator's network policy against a hostile plugin over the real network: names are
//! resolved through the DNS simulator, every refused request names the host and why, and
//! a local server the plugin aims at sees no connection at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use kapu_plugins::harness::{Harness, build_components};
use kapu_plugins::words::{CUT_MARKER, PLUGIN_TEXT_MAX};
use kapu_plugins::{CallContext, Limits, Manifest, NetworkPolicy, PluginError, Runtime};
use kapu_sim::dns;
use tokio::net::TcpListener;

fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_components(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).expect("the plugins build"))
}

fn hostile_files() -> (String, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/testing/hostile");
    let manifest = std::fs::read_to_string(root.join("plugin.toml")).expect("manifest");
    let component = std::fs::read(components().join("hostile.wasm")).expect("component");
    (manifest, component)
}

/// What the allowed server saw: the `Host` header and the path of each request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A server the operator allows: `/ok` answers, `/to/<url>` redirects to the URL.
async fn allowed_server() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    async fn any(State(seen): State<Seen>, headers: HeaderMap, uri: Uri) -> axum::response::Response {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
        seen.lock().unwrap().push((host, uri.path().to_owned()));
        match uri.path().strip_prefix("/to/") {
            Some(target) => (StatusCode::FOUND, [(header::LOCATION, target.replacen(":/", "://", 1))], "moved").into_response(),
            None => (StatusCode::OK, "fine").into_response(),
        }
    }
    let app = axum::Router::new().fallback(any).with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// A hostile plugin hosted under a strict policy that allows only the allowed server's port,
/// resolving through the DNS simulator.
struct Scene {
    h: Harness,
    dns: dns::DnsSim,
    allowed: SocketAddr,
    seen: Seen,
    /// A real local server the plugin must never reach.
    secret: TcpListener,
}

async fn scene(manifest_edit: impl FnOnce(String) -> String) -> Scene {
    let (allowed, seen) = allowed_server().await;
    let secret = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let zone = HashMap::from([
        ("allowed.hostile.test".to_owned(), dns::Entry { addresses: vec!["127.0.0.1".parse().unwrap()], mx: vec![] }),
        ("sneaky.hostile.test".to_owned(), dns::Entry { addresses: vec!["127.0.0.1".parse().unwrap()], mx: vec![] }),
        ("metadata.hostile.test".to_owned(), dns::Entry { addresses: vec!["169.254.169.254".parse().unwrap()], mx: vec![] }),
    ]);
    let dns = dns::start(0, zone).await.unwrap();
    let network = NetworkPolicy::strict().allowing(&format!("127.0.0.1:{}", allowed.port())).unwrap().with_name_servers(vec![dns.addr]);
    let limits = Limits { timeout: Duration::from_secs(5), concurrent_calls: 4, network, ..Limits::default() };
    let (manifest, component) = hostile_files();
    let h = Harness::from_bytes(&manifest_edit(manifest), &component, limits).expect("hostile loads");
    Scene { h, dns, allowed, seen, secret }
}

impl Scene {
    async fn command(&self, cmd: &str) -> Result<(String, String), PluginError> {
        let ctx: CallContext = self.h.network_context();
        let v = self.h.runtime().find_vehicle(self.h.plugin(), ctx, cmd.into(), None).await.result?.expect("a report");
        Ok((v.make_model, v.category))
    }

    /// Asserts that the secret server got no connection.
    async fn secret_untouched(&self) {
        let accepted = tokio::time::timeout(Duration::from_millis(300), self.secret.accept()).await;
        assert!(accepted.is_err(), "a connection reached the local server");
    }

    fn secret_port(&self) -> u16 {
        self.secret.local_addr().unwrap().port()
    }
}

fn denied(e: &PluginError) -> (&str, &str) {
    match e {
        PluginError::NetworkDenied { host, reason } => (host.as_str(), reason.as_str()),
        other => panic!("not a network denial: {other:?}"),
    }
}

#[tokio::test]
async fn the_allowed_server_is_reached_by_name_at_the_vetted_address_with_its_host_header() {
    let s = scene(|m| m).await;
    let r = s.command(&format!("forbidden http://allowed.hostile.test:{}/ok", s.allowed.port())).await.expect("allowed");
    assert_eq!(r, ("200".into(), "fine".into()));
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen, vec![(format!("allowed.hostile.test:{}", s.allowed.port()), "/ok".to_owned())]);
    let asked: Vec<String> = s.dns.queries().into_iter().map(|(name, _)| name).collect();
    assert!(asked.iter().all(|n| n == "allowed.hostile.test") && !asked.is_empty(), "resolved through the DNS simulator: {asked:?}");
}

#[tokio::test]
async fn the_metadata_address_is_refused_by_name_and_as_a_literal() {
    let s = scene(|m| m.replace("\"*.hostile.test\"", "\"*.hostile.test\", \"169.254.169.254\"")).await;
    let e = s.command("forbidden http://metadata.hostile.test/latest/meta-data/").await.expect_err("refused");
    assert_eq!(e.code(), "plugin-network-denied");
    assert_eq!(denied(&e), ("metadata.hostile.test:80", "169.254.169.254 is a link-local address (such as the cloud metadata service)"));
    assert_eq!(
        e.to_string(),
        "the plugin tried to reach metadata.hostile.test:80, which the operator's network policy does not allow: \
         169.254.169.254 is a link-local address (such as the cloud metadata service)"
    );
    let e = s.command("forbidden http://169.254.169.254/latest/meta-data/iam/").await.expect_err("refused");
    assert_eq!(denied(&e).0, "169.254.169.254:80");
    assert!(s.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_loopback_port_with_a_real_server_is_refused_by_name_and_as_a_literal() {
    let s = scene(|m| m.replace("\"*.hostile.test\"", "\"*.hostile.test\", \"127.0.0.1\"")).await;
    let port = s.secret_port();
    let e = s.command(&format!("forbidden http://sneaky.hostile.test:{port}/steal")).await.expect_err("refused");
    assert_eq!(denied(&e), (format!("sneaky.hostile.test:{port}").as_str(), "127.0.0.1 is a loopback address"));
    let e = s.command(&format!("forbidden http://127.0.0.1:{port}/steal")).await.expect_err("refused");
    assert_eq!(denied(&e), (format!("127.0.0.1:{port}").as_str(), "127.0.0.1 is a loopback address"));
    s.secret_untouched().await;
    // The operator allowed only the allowed server's port on loopback; that one answers.
    let ok = s.command(&format!("forbidden http://127.0.0.1:{}/ok", s.allowed.port())).await.expect("allowed port");
    assert_eq!(ok.0, "200");
}

#[tokio::test]
async fn a_redirect_from_an_allowed_server_to_a_forbidden_address_is_refused_at_the_hop() {
    let s = scene(|m| m).await;
    let (allowed, port) = (s.allowed.port(), s.secret_port());
    let e = s
        .command(&format!("follow http://allowed.hostile.test:{allowed}/to/http:/sneaky.hostile.test:{port}/steal"))
        .await
        .expect_err("the hop is refused");
    assert_eq!(denied(&e), (format!("sneaky.hostile.test:{port}").as_str(), "127.0.0.1 is a loopback address"));
    assert_eq!(s.seen.lock().unwrap().len(), 1, "the allowed server answered the first request");
    s.secret_untouched().await;
    let e = s.command(&format!("follow http://allowed.hostile.test:{allowed}/to/http:/metadata.hostile.test/")).await.expect_err("refused");
    assert_eq!(denied(&e).0, "metadata.hostile.test:80");
    // A redirect that stays on the allowed server is followed.
    let r = s
        .command(&format!("follow http://allowed.hostile.test:{allowed}/to/http:/allowed.hostile.test:{allowed}/ok"))
        .await
        .expect("followed");
    assert_eq!(r, ("200".into(), "fine".into()));
}

#[tokio::test]
async fn a_name_that_does_not_resolve_fails_as_unavailable_not_denied() {
    let s = scene(|m| m).await;
    let e = s.command("forbidden http://nowhere.hostile.test/").await.expect_err("fails");
    assert_eq!(e.code(), "plugin-failed-unavailable", "{e}");
}

#[test]
fn ip_literals_and_localhost_in_allowed_hosts_need_the_operator() {
    let (manifest, _) = hostile_files();
    let with = |hosts: &str| Manifest::parse(&manifest.replace("\"*.hostile.test\"", hosts)).expect("manifest");
    let strict = Runtime::new(Limits::default(), None).expect("runtime");
    assert!(strict.check_manifest(&with("\"*.hostile.test\"")).is_ok());
    for (hosts, said) in [
        ("\"127.0.0.1\"", "127.0.0.1 is an IP address"),
        ("\"169.254.169.254:80\"", "169.254.169.254 is an IP address"),
        ("\"localhost\"", "localhost names this machine"),
        ("\"*.localhost\"", "*.localhost names this machine"),
        ("\"10.0.0.7\"", "10.0.0.7 is an IP address"),
    ] {
        let e = strict.check_manifest(&with(hosts)).expect_err("refused");
        assert_eq!(e.code(), "plugin-manifest-invalid");
        assert!(e.to_string().contains(said), "{e} should say {said}");
    }
    let network = NetworkPolicy::strict().allowing_list("127.0.0.1:8041,localhost:8041,10.0.0.0/24").unwrap();
    let demo = Runtime::new(Limits { network, ..Limits::default() }, None).expect("runtime");
    assert!(demo.check_manifest(&with("\"127.0.0.1\", \"localhost\", \"10.0.0.7\"")).is_ok());
    assert!(demo.check_manifest(&with("\"127.0.0.2\"")).is_err());
}

/// Collects what is logged while it is the default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_plugins_words_are_cut_kept_on_one_line_and_labelled_as_its_own() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = scene(|m| m).await;
    let forged = format!("ok\n2026-12-07T10:00:00Z  INFO kapu: operator signed in{}", "x".repeat(3 * PLUGIN_TEXT_MAX));
    let called = s.h.runtime().find_vehicle(s.h.plugin(), s.h.network_context(), format!("say {forged}"), None).await;
    let e = called.result.expect_err("it fails with its words");
    let text = e.to_string();
    assert!(text.starts_with("the remote system refused the request (the plugin said: \"ok 2026-12-07T10:00:00Z"), "{text}");
    assert!(text.ends_with(&format!("{CUT_MARKER}\")")), "cut with a marker: …{}", &text[text.len() - 40..]);
    assert!(!text.contains('\n') && text.len() < PLUGIN_TEXT_MAX + 200, "one line, about 2 KiB");
    let line = &called.logs[0].message;
    assert!(line.starts_with("ok 2026") && line.ends_with(CUT_MARKER) && !line.contains('\n'), "{line:.60}");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("plugin log")).collect();
    assert_eq!(lines.len(), 1, "one log line: {log:.400}");
    assert!(lines[0].contains("plugin_said=\"ok 2026-12-07T10:00:00Z  INFO kapu: operator signed in"), "{:.300}", lines[0]);
    assert!(!log.lines().any(|l| l.starts_with("2026-12-07T10:00:00Z")), "no forged line");
}
