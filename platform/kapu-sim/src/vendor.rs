//! What the simulators of municipalities' local systems (Citynform, DMS One, Forrás,
//! Q-Fusion) share: a server on a real port with graceful shutdown, a record of every request
//! the service received (for tests to inspect), and a switch that makes the next requests
//! fail the way the vendor's system does when it is down.
//!
//! Every such simulator serves, beside its protocol, the same controls (no authentication):
//! - `GET /sim/requests`: the requests received so far, oldest first, as a JSON list of
//!   [`Received`] (the body as text).
//! - `POST /sim/outage` with `{"status": 503, "count": 2}`: the next `count` requests to the
//!   service are answered with `status` and the vendor's own error body.

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Endpoint;

/// The largest request body a vendor simulator reads (4 MiB).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A request the service received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Received {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path with the query, e.g. `/qfusion/v1/events?after=3`.
    pub path: String,
    /// The headers (names in lower case), without `authorization`.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Received {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The record and the outage switch, shared by the server and its handle.
#[derive(Default)]
pub struct Controls {
    received: Mutex<Vec<Received>>,
    outage: Mutex<VecDeque<u16>>,
}

impl Controls {
    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes the next `count` requests fail with `status`.
    pub fn outage(&self, status: u16, count: usize) {
        let mut q = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        q.extend(std::iter::repeat_n(status, count));
    }

    fn next_failure(&self) -> Option<u16> {
        self.outage.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }
}

/// How a vendor answers when it is down: its error body for a status.
pub type FailureBody = fn(StatusCode) -> Response;

#[derive(Clone)]
struct Layer {
    controls: Arc<Controls>,
    failure: FailureBody,
}

#[derive(Deserialize)]
struct OutageRequest {
    status: u16,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn record(State(layer): State<Layer>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/sim/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body over 4 MiB").into_response();
    };
    layer.controls.received.lock().unwrap_or_else(|p| p.into_inner()).push(Received {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter(|(n, _)| *n != "authorization")
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    if let Some(status) = layer.controls.next_failure() {
        return (layer.failure)(StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE));
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

async fn requests(State(layer): State<Layer>) -> axum::Json<Vec<Received>> {
    axum::Json(layer.controls.received())
}

async fn outage(State(layer): State<Layer>, axum::Json(o): axum::Json<OutageRequest>) -> StatusCode {
    if !(400..=599).contains(&o.status) {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    layer.controls.outage(o.status, o.count);
    StatusCode::NO_CONTENT
}

/// A running vendor simulator. Dropping it stops the server; [`Served::shutdown`] also waits.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    name: &'static str,
    controls: Arc<Controls>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Served {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves `service` with the record, the
    /// outage switch and the `/sim/` controls.
    pub async fn start(name: &'static str, port: u16, service: Router, failure: FailureBody) -> io::Result<Served> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let controls = Arc::new(Controls::default());
        let layer = Layer { controls: controls.clone(), failure };
        let sim = Router::new().route("/sim/requests", get(requests)).route("/sim/outage", post(outage)).with_state(layer.clone());
        let router = service.merge(sim).layer(middleware::from_fn_with_state(layer, record));
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                tracing::error!(%error, simulator = name, "the simulator failed");
            }
        });
        tracing::info!(%addr, simulator = name, "simulator listening");
        Ok(Served { addr, name, controls, shutdown, task: Some(task) })
    }

    /// The base URL, e.g. `http://127.0.0.1:8041`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![Endpoint { simulator: self.name, protocol: "http", addr: self.addr }]
    }

    /// The requests the service received so far (not the `/sim/` controls).
    pub fn received(&self) -> Vec<Received> {
        self.controls.received()
    }

    /// Makes the next `count` requests fail with `status` and the vendor's error body.
    pub fn outage(&self, status: u16, count: usize) {
        self.controls.outage(status, count);
    }

    /// Stops accepting, lets the requests in progress finish and waits for the server.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
