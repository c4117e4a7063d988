//! A plugin's outbound HTTP over the network: resolve the host once, vet every address it
//! resolved to against the operator's [`NetworkPolicy`], and connect to a vetted address
//! itself (no second resolution, so DNS rebinding cannot swap the address), keeping the
//! request's `Host` header and, for `https`, the name for SNI and certificate verification
//! (rustls with the webpki roots, as `wasmtime-wasi-http`'s own sender does).
//!
//! Nothing here follows redirects: `wasi:http` hands a `3xx` to the plugin, and each request
//! the plugin then sends comes through the hooks, and so through this check, again.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use http_body_util::BodyExt;
use tokio::net::TcpStream;
use wasmtime_wasi_http::Error;
use wasmtime_wasi_http::io::TokioIo;

use crate::network::{NetworkPolicy, Refusal};

/// What the host refused, for the call's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The manifest does not list the host (`host[:port]`).
    Manifest(String),
    /// The operator's network policy refused where the host resolved to.
    Network {
        /// `host:port` as the plugin asked for it.
        host: String,
        /// Why, e.g. `127.0.0.1 is a loopback address`.
        reason: String,
    },
}

/// The runtime's outbound network: the policy, the resolver and the platform's own
/// listeners.
pub(crate) struct Outbound {
    policy: NetworkPolicy,
    own: RwLock<Vec<SocketAddr>>,
    resolver: tokio::sync::OnceCell<Result<TokioResolver, String>>,
}

/// How a vetting ended when it did not give addresses.
pub(crate) enum Unvetted {
    /// The policy refused an address.
    Refused(Refusal),
    /// The name did not resolve.
    Failed(Error),
}

impl Outbound {
    pub(crate) fn new(policy: NetworkPolicy) -> Self {
        Self { policy, own: RwLock::new(Vec::new()), resolver: tokio::sync::OnceCell::new() }
    }

    pub(crate) fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    pub(crate) fn add_own_listener(&self, addr: SocketAddr) {
        let mut own = self.own.write().unwrap_or_else(|p| p.into_inner());
        if !own.contains(&addr) {
            own.push(addr);
        }
    }

    async fn resolver(&self) -> Result<&TokioResolver, Error> {
        let built = self
            .resolver
            .get_or_init(|| async {
                let servers = self.policy.name_servers();
                let mut builder = if servers.is_empty() {
                    TokioResolver::builder_tokio().map_err(|e| format!("reading the system's resolver configuration: {e}"))?
                } else {
                    let ns = servers
                        .iter()
                        .map(|s| {
                            let (mut udp, mut tcp) = (ConnectionConfig::udp(), ConnectionConfig::tcp());
                            udp.port = s.port();
                            tcp.port = s.port();
                            NameServerConfig::new(s.ip(), true, vec![udp, tcp])
                        })
                        .collect();
                    Resolver::builder_with_config(ResolverConfig::from_name_servers(ns), TokioRuntimeProvider::default())
                };
                let opts = builder.options_mut();
                opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
                opts.timeout = Duration::from_secs(2);
                opts.attempts = 1;
                builder.build().map_err(|e| format!("building the resolver: {e}"))
            })
            .await;
        built.as_ref().map_err(|e| Error::InternalError(Some(e.clone())))
    }

    /// The addresses `host` resolves to, every one of them allowed for `port`, or why not.
    pub(crate) async fn vet(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Unvetted> {
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let addrs: Vec<IpAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let resolver = self.resolver().await.map_err(Unvetted::Failed)?;
                let name = if host.ends_with('.') { host.to_owned() } else { format!("{host}.") };
                match resolver.lookup_ip(name.as_str()).await {
                    Ok(found) => found.iter().collect(),
                    Err(e) if e.is_no_records_found() => Vec::new(),
                    Err(e) => return Err(Unvetted::Failed(Error::DnsError { rcode: Some(e.to_string()), info_code: None })),
                }
            }
        };
        if addrs.is_empty() {
            return Err(Unvetted::Failed(Error::DnsError { rcode: Some("NXDOMAIN".into()), info_code: None }));
        }
        let own = self.own.read().unwrap_or_else(|p| p.into_inner()).clone();
        for ip in &addrs {
            self.policy.check(host, port, *ip, &own).map_err(Unvetted::Refused)?;
        }
        Ok(addrs.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }
}

/// Timeouts of one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) first_byte: Duration,
}

static TLS: LazyLock<Result<Arc<rustls::ClientConfig>, String>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
});

/// The response and the future that drives the connection.
pub(crate) type Sent = (http::Response<wasmtime_wasi_http::WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>);

/// Sends `request` to one of `addrs` (already vetted): TCP to the address, TLS for `https`
/// with `host` as the server name, HTTP/1.1.
pub(crate) async fn send(
    mut request: http::Request<wasmtime_wasi_http::WasiBody>,
    host: &str,
    addrs: &[SocketAddr],
    timeouts: Timeouts,
) -> Result<Sent, Error> {
    let https = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
    let mut last = Error::ConnectionRefused;
    let mut stream = None;
    for addr in addrs {
        match tokio::time::timeout(timeouts.connect, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = Error::Connect(e),
            Err(_) => last = Error::ConnectionTimeout,
        }
    }
    let stream = stream.ok_or(last)?;
    let path = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = http::Uri::builder().path_and_query(path).build().map_err(|_| Error::HttpRequestUriInvalid)?;
    if https {
        let config = TLS.as_ref().map_err(|e| Error::InternalError(Some(e.clone())))?.clone();
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name = match literal.parse::<IpAddr>() {
            Ok(ip) => rustls::pki_types::ServerName::from(ip),
            Err(_) => rustls::pki_types::ServerName::try_from(literal.to_owned())?,
        };
        let tls = tokio::time::timeout(timeouts.connect, tokio_rustls::TlsConnector::from(config).connect(name, stream))
            .await
            .map_err(|_| Error::ConnectionTimeout)?
            .map_err(Error::Tls)?;
        exchange(TokioIo::new(tls), request, timeouts).await
    } else {
        exchange(TokioIo::new(stream), request, timeouts).await
    }
}

async fn exchange<T>(io: TokioIo<T>, request: http::Request<wasmtime_wasi_http::WasiBody>, timeouts: Timeouts) -> Result<Sent, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = tokio::time::timeout(timeouts.connect, hyper::client::conn::http1::Builder::new().handshake(io))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    // The connection is driven beside the request; it ends when the response body is read.
    let driver = tokio::spawn(conn);
    let response =
        tokio::time::timeout(timeouts.first_byte, sender.send_request(request)).await.map_err(|_| Error::ConnectionReadTimeout)??;
    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async move {
        match driver.await {
            Ok(r) => r.map_err(Error::from),
            Err(e) => Err(Error::InternalError(Some(e.to_string()))),
        }
    });
    Ok((response.map(|b| b.map_err(Error::from).boxed_unsync()), io))
}
