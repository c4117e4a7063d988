//! A time-stamping authority (TSA) speaking RFC 3161 over HTTP (see `TSA-PROTOCOL.md`).
//!
//! - `POST /tsa` with `Content-Type: application/timestamp-query` and a DER `TimeStampReq`
//!   answers `200` with `Content-Type: application/timestamp-reply` and a DER `TimeStampResp`:
//!   a granted token (a CMS `SignedData` over a `TSTInfo`, signed with the TSA certificate) or
//!   a rejection with a status string.
//!
//! The simulator's own controls (not part of RFC 3161):
//! - `GET /sim/stats`: `{"requests": n, "granted": m}`.
//! - `POST /sim/fail-next` with `{"count": n}`: the next `n` queries answer `503`, as an
//!   overloaded or restarting authority would.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use der::asn1::{GeneralizedTime, ObjectIdentifier, Utf8StringRef};
use der::{Decode, Encode};
use kapu_documents::{Signer, cms as kcms, oid, tsp};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::Endpoint;

/// The port `kapu-sim tsa` and `kapu-sim all` use by default.
pub const DEFAULT_PORT: u16 = 8033;
/// The path time-stamp queries are POSTed to.
pub const TSA_PATH: &str = "/tsa";
/// The TSA policy the simulator stamps under (under the reserved private enterprise number 0, which no one owns).
pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.0.3161.1");
/// The largest accepted query in bytes.
pub const MAX_QUERY_SIZE: usize = 16 * 1024;

struct Shared {
    signer: Arc<dyn Signer>,
    serial: AtomicU64,
    requests: AtomicUsize,
    granted: AtomicUsize,
    fail_next: AtomicUsize,
}

/// A running TSA simulator.
pub struct TsaSim {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Binds 127.0.0.1:`port` (0 = a free port) and spawns the authority, which signs with `signer`
/// (whose certificate must carry the critical extended key usage timeStamping).
pub async fn start(port: u16, signer: Arc<dyn Signer>) -> io::Result<TsaSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let first_serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() << 20).unwrap_or(1);
    let shared = Arc::new(Shared {
        signer,
        serial: AtomicU64::new(first_serial),
        requests: AtomicUsize::new(0),
        granted: AtomicUsize::new(0),
        fail_next: AtomicUsize::new(0),
    });
    let (shutdown, mut stop) = watch::channel(false);
    let router = Router::new()
        .route(TSA_PATH, post(query))
        .route("/sim/stats", get(stats))
        .route("/sim/fail-next", post(fail_next))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_QUERY_SIZE))
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
            tracing::error!(%error, "the TSA simulator failed");
        }
    });
    tracing::info!(%addr, "time-stamping authority (RFC 3161) simulator listening");
    Ok(TsaSim { addr, shared, shutdown, task: Some(task) })
}

impl TsaSim {
    /// The URL to POST queries to, e.g. `http://127.0.0.1:8033/tsa`.
    pub fn url(&self) -> String {
        format!("http://{}{TSA_PATH}", self.addr)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![Endpoint { simulator: "tsa", protocol: "http", addr: self.addr }]
    }

    /// Queries received on the RFC 3161 path (including ones answered 503).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Tokens granted.
    pub fn granted(&self) -> usize {
        self.shared.granted.load(Ordering::SeqCst)
    }

    /// Makes the next `count` queries answer 503.
    pub fn fail_next(&self, count: usize) {
        self.shared.fail_next.store(count, Ordering::SeqCst);
    }

    /// Stops accepting, lets the requests in progress finish and waits for the server.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TsaSim {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({"requests": shared.requests.load(Ordering::SeqCst), "granted": shared.granted.load(Ordering::SeqCst)}))
}

#[derive(Deserialize)]
struct FailNext {
    count: usize,
}

async fn fail_next(State(shared): State<Arc<Shared>>, Json(body): Json<FailNext>) -> StatusCode {
    shared.fail_next.store(body.count, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

async fn query(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if shared.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the time-stamping authority is unavailable").into_response();
    }
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !media_type.starts_with(tsp::QUERY_MEDIA_TYPE) {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("send {}", tsp::QUERY_MEDIA_TYPE)).into_response();
    }
    let shared2 = shared.clone();
    let answer = tokio::task::spawn_blocking(move || respond(&shared2, &body, SystemTime::now())).await;
    match answer {
        Ok(Ok((der, granted))) => {
            if granted {
                shared.granted.fetch_add(1, Ordering::SeqCst);
            }
            ([(header::CONTENT_TYPE, tsp::REPLY_MEDIA_TYPE)], der).into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "the TSA simulator could not answer");
            (StatusCode::INTERNAL_SERVER_ERROR, "the time-stamping authority failed").into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn rejection(text: &str) -> Result<(Vec<u8>, bool), String> {
    let text = Utf8StringRef::new(text).map_err(|e| e.to_string())?;
    let response = TimeStampResp {
        status: PkiStatusInfo { status: PkiStatus::Rejection, status_string: Some(vec![text]), fail_info: None },
        time_stamp_token: None,
    };
    Ok((response.to_der().map_err(|e| e.to_string())?, false))
}

/// The DER `TimeStampResp` for a DER `TimeStampReq`, and whether a token was granted.
fn respond(shared: &Shared, query: &[u8], now: SystemTime) -> Result<(Vec<u8>, bool), String> {
    let Ok(request) = TimeStampReq::from_der(query) else {
        return rejection("badDataFormat: the query is not a DER TimeStampReq");
    };
    let imprint = &request.message_imprint;
    if imprint.hash_algorithm.oid != oid::SHA256 || imprint.hashed_message.as_bytes().len() != 32 {
        return rejection("badAlg: only SHA-256 message imprints are accepted");
    }
    if request.req_policy.is_some_and(|policy| policy != POLICY) {
        return rejection("unacceptedPolicy: this authority stamps under policy 1.3.6.1.4.1.0.3161.1 only");
    }
    let serial = shared.serial.fetch_add(1, Ordering::SeqCst);
    let info = TstInfo {
        version: TspVersion::V1,
        policy: POLICY,
        message_imprint: imprint.clone(),
        serial_number: tsp::int(serial).map_err(|e| e.to_string())?,
        gen_time: GeneralizedTime::from_system_time(now).map_err(|e| e.to_string())?,
        accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
        ordering: false,
        nonce: request.nonce.clone(),
        tsa: Some(GeneralName::DirectoryName(shared.signer.certificate().tbs_certificate.subject.clone())),
        extensions: None,
    };
    let info_der = info.to_der().map_err(|e| e.to_string())?;
    let digest = Sha256::digest(&info_der);
    let mut signed = kcms::sign(shared.signer.as_ref(), oid::TST_INFO, Some(&info_der), &digest).map_err(|e| e.to_string())?;
    if !request.cert_req {
        signed.certificates = None;
    }
    let token = kcms::content_info(&signed).map_err(|e| e.to_string())?;
    let response = TimeStampResp {
        status: PkiStatusInfo { status: PkiStatus::Accepted, status_string: None, fail_info: None },
        time_stamp_token: Some(token),
    };
    Ok((response.to_der().map_err(|e| e.to_string())?, true))
}
