//! An SMTP server (RFC 5321) that keeps what it receives in memory.
//!
//! It speaks EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, VRFY, HELP, QUIT, STARTTLS (with a
//! self-signed certificate made at start-up) and AUTH PLAIN/LOGIN (any credentials pass),
//! advertises PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and ENHANCEDSTATUSCODES, and enforces the
//! RFC's line length limits and a maximum message size.
//!
//! The HTTP API:
//! - `GET /messages`: a JSON list of [`ReceivedSummary`].
//! - `GET /messages/{id}`: one [`ReceivedMessage`] (404 if unknown).
//! - `GET /messages/{id}/raw`: the message as received (after dot-unstuffing), `message/rfc822`.
//! - `DELETE /messages`: forget every message.
//! - `POST /hold`: from now on, a transaction whose DATA has ended gets no reply and is not
//!   stored until released; a client that disconnects meanwhile loses its message, as with a
//!   real MTA that never said 250.
//! - `POST /release`: held transactions are answered 250 and stored; new ones are no longer held.
//! - `GET /held`: `{"holding": bool, "held": n}`, `n` being the transactions waiting now
//!   (`POST /hold` and `POST /release` answer the same).

mod http;
mod session;
mod store;
mod tls;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Endpoint;
pub use store::{MessageHeader, ReceivedMessage, ReceivedSummary};

/// The SMTP port `kapu-sim smtp` and `kapu-sim all` use by default.
pub const DEFAULT_SMTP_PORT: u16 = 2525;
/// The HTTP API port `kapu-sim smtp` and `kapu-sim all` use by default.
pub const DEFAULT_HTTP_PORT: u16 = 8025;
/// The default maximum message size in bytes (advertised with SIZE).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SmtpSimConfig {
    /// SMTP port on 127.0.0.1; 0 picks a free one.
    pub smtp_port: u16,
    /// HTTP API port on 127.0.0.1; 0 picks a free one.
    pub http_port: u16,
    /// Largest accepted message in bytes; larger ones get 552.
    pub max_message_size: usize,
    /// Whether to offer STARTTLS.
    pub starttls: bool,
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
}

impl Default for SmtpSimConfig {
    fn default() -> Self {
        Self { smtp_port: 0, http_port: 0, max_message_size: DEFAULT_MAX_MESSAGE_SIZE, starttls: true, hostname: "localhost".to_owned() }
    }
}

/// A running SMTP simulator. Dropping it stops the servers; [`SmtpSim::shutdown`] also waits
/// for them.
pub struct SmtpSim {
    /// Where the SMTP server listens.
    pub smtp_addr: SocketAddr,
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    store: store::Store,
    certificate_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds both listeners on 127.0.0.1 (port 0 = a free port) and spawns the servers on the
/// current tokio runtime, with the other settings at their defaults.
pub async fn start(smtp_port: u16, http_port: u16) -> io::Result<SmtpSim> {
    start_with(SmtpSimConfig { smtp_port, http_port, ..SmtpSimConfig::default() }).await
}

/// Like [`start`], with every setting given.
pub async fn start_with(config: SmtpSimConfig) -> io::Result<SmtpSim> {
    let smtp_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.smtp_port)).await?;
    let http_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.http_port)).await?;
    let smtp_addr = smtp_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let (acceptor, certificate_pem) = if config.starttls {
        let (acceptor, pem) = tls::self_signed()?;
        (Some(acceptor), Some(pem))
    } else {
        (None, None)
    };
    let store = store::Store::new();
    let context = Arc::new(session::Context {
        store: store.clone(),
        hostname: config.hostname,
        max_message_size: config.max_message_size,
        tls: acceptor,
    });
    let (shutdown, _) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(accept_smtp(smtp_listener, context, shutdown.subscribe())),
        tokio::spawn(serve_http(http_listener, http::router(store.clone()), shutdown.subscribe())),
    ];
    tracing::info!(%smtp_addr, %http_addr, "SMTP simulator listening");
    Ok(SmtpSim { smtp_addr, http_addr, store, certificate_pem, shutdown, tasks })
}

async fn accept_smtp(listener: TcpListener, context: Arc<session::Context>, mut shutdown: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(session::serve(stream, context.clone()));
                }
                Err(error) => tracing::warn!(%error, "accepting an SMTP connection failed"),
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    sessions.shutdown().await;
}

async fn serve_http(listener: TcpListener, router: axum::Router, mut shutdown: watch::Receiver<bool>) {
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
        tracing::error!(%error, "the SMTP simulator's HTTP API failed");
    }
}

impl SmtpSim {
    /// The HTTP API's base URL, e.g. `http://127.0.0.1:8025`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![
            Endpoint { simulator: "smtp", protocol: "smtp", addr: self.smtp_addr },
            Endpoint { simulator: "smtp", protocol: "http", addr: self.http_addr },
        ]
    }

    /// The self-signed STARTTLS certificate (for `localhost` and `127.0.0.1`) in PEM, if
    /// STARTTLS is offered, for clients that want to verify it.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Every stored message, oldest first.
    pub async fn messages(&self) -> Vec<ReceivedSummary> {
        self.store.summaries()
    }

    /// One stored message, parsed.
    pub async fn message(&self, id: u64) -> Option<ReceivedMessage> {
        self.store.message(id)
    }

    /// One stored message as received.
    pub async fn raw(&self, id: u64) -> Option<Vec<u8>> {
        self.store.raw(id).map(|raw| raw.to_vec())
    }

    /// Forgets every stored message.
    pub async fn clear(&self) {
        self.store.clear();
    }

    /// Starts holding finished transactions unanswered (see the module documentation).
    pub async fn hold(&self) {
        self.store.set_hold(true);
    }

    /// Stops holding; held transactions are answered and stored.
    pub async fn release(&self) {
        self.store.set_hold(false);
    }

    /// How many transactions are held now.
    pub async fn held(&self) -> usize {
        self.store.held()
    }

    /// Waits until at least `count` messages are stored and returns them all, or `None`
    /// after `timeout`.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Option<Vec<ReceivedSummary>> {
        self.store
            .wait_until(timeout, |store| {
                let messages = store.summaries();
                (messages.len() >= count).then_some(messages)
            })
            .await
    }

    /// Waits until exactly `count` transactions are held; `false` after `timeout`.
    pub async fn wait_for_held(&self, count: usize, timeout: Duration) -> bool {
        self.store.wait_until(timeout, |store| (store.held() == count).then_some(())).await.is_some()
    }

    /// Stops accepting, closes every session and waits for the servers to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for SmtpSim {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
