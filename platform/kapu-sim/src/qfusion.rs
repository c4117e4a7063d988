//! Q-Fusion, the office's queue system, as the REST/JSON API and event feed in
//! `plugins/qfusion/PROTOCOL.md`: tickets, counter calls and the events integrators poll, in
//! memory.

#![allow(clippy::result_large_err, reason = "handlers return the vendor's error response early, as `Err`")]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use crate::vendor::{Received, Served};

/// The port `kapu-sim qfusion` uses by default.
pub const DEFAULT_PORT: u16 = 8044;
/// The site id it serves by default.
pub const DEFAULT_SITE: &str = "hegyvidek-1";
/// The token it accepts by default.
pub const DEFAULT_TOKEN: &str = "kapu-demo-qfusion-token";

/// The services of the simulated site: code and name.
pub const SERVICES: [(&str, &str); 4] = [("A", "Általános ügyintézés"), ("B", "Helyi adók"), ("C", "Parkolás"), ("D", "Anyakönyvi ügyek")];

/// A ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// `T-000001`.
    pub ticket_id: String,
    /// E.g. `C003`.
    pub display_number: String,
    /// The service's code.
    pub service_code: String,
    /// RFC 3339.
    pub issued_at: String,
}

/// An event of the feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Sequence number, from 1.
    pub seq: u64,
    /// `TICKET_ISSUED`, `TICKET_CALLED`, `TICKET_SERVED` or `TICKET_NO_SHOW`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The ticket.
    pub ticket_id: String,
    /// The counter, for calls.
    pub counter_id: Option<String>,
    /// RFC 3339.
    pub at: String,
}

#[derive(Default)]
struct Office {
    tickets: Vec<Ticket>,
    waiting: VecDeque<usize>,
    per_service: HashMap<String, u32>,
    events: Vec<Event>,
}

impl Office {
    fn event(&mut self, kind: &'static str, ticket_id: &str, counter_id: Option<&str>) {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event { seq, kind, ticket_id: ticket_id.to_owned(), counter_id: counter_id.map(str::to_owned), at: now() });
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Shared {
    site: String,
    token: String,
    office: Mutex<Office>,
}

/// A running Q-Fusion simulator.
pub struct QFusionSim {
    served: Served,
    shared: Arc<Shared>,
}

/// Starts the simulator on 127.0.0.1:`port` (0 picks a free port) for `site` with `token`.
pub async fn start(port: u16, site: &str, token: &str) -> io::Result<QFusionSim> {
    let shared = Arc::new(Shared { site: site.to_owned(), token: token.to_owned(), office: Mutex::default() });
    let router = Router::new()
        .route("/qfusion/v1/services", get(services))
        .route("/qfusion/v1/tickets", post(issue))
        .route("/qfusion/v1/counters/{counter}/call-next", post(call_next))
        .route("/qfusion/v1/events", get(events))
        .route("/sim/tickets/{id}/{outcome}", post(finish))
        .route("/sim/counters/{counter}/call-next", post(terminal_call_next))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such resource.") })
        .with_state(shared.clone());
    let served = Served::start("qfusion", port, router, failure).await?;
    Ok(QFusionSim { served, shared })
}

impl QFusionSim {
    /// The base URL.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The site id and token it accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.shared.site, &self.shared.token)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<crate::Endpoint> {
        self.served.endpoints()
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.served.received()
    }

    /// Makes the next `count` requests fail with `status`.
    pub fn outage(&self, status: u16, count: usize) {
        self.served.outage(status, count);
    }

    /// What a clerk records on the counter terminal: the called ticket was served (`true`)
    /// or its client did not come (`false`). `false` if no such ticket.
    pub fn finish(&self, ticket_id: &str, served: bool) -> bool {
        finish_ticket(&self.shared, ticket_id, served)
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        office(&self.shared).events.clone()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

fn office(shared: &Shared) -> std::sync::MutexGuard<'_, Office> {
    shared.office.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "errorCode": code, "errorMessage": message }))).into_response()
}

fn failure(status: StatusCode) -> Response {
    let code = if status == StatusCode::SERVICE_UNAVAILABLE { "MAINTENANCE" } else { "INTERNAL" };
    error(status, code, "Q-Fusion is temporarily unavailable.")
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(shared.token.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", "Missing or invalid integration token."));
    }
    if headers.get("x-qf-site").and_then(|v| v.to_str().ok()) != Some(shared.site.as_str()) {
        return Err(error(StatusCode::FORBIDDEN, "WRONG_SITE", "The token does not belong to the site in X-QF-Site."));
    }
    Ok(())
}

async fn services(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    Json(json!({ "services": SERVICES.iter().map(|(c, n)| json!({"code": c, "name": n})).collect::<Vec<_>>() })).into_response()
}

async fn issue(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    let Some(code) = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["serviceCode"].as_str().map(str::to_owned)) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_BODY", "Expected {\"serviceCode\": \"<code>\"}.");
    };
    if !SERVICES.iter().any(|(c, _)| *c == code) {
        return error(StatusCode::NOT_FOUND, "UNKNOWN_SERVICE", &format!("No service with code {code} at this site."));
    }
    let mut o = office(&shared);
    let n = {
        let n = o.per_service.entry(code.clone()).or_default();
        *n += 1;
        *n
    };
    let ticket = Ticket {
        ticket_id: format!("T-{:06}", o.tickets.len() + 1),
        display_number: format!("{code}{:03}", n % 1000),
        service_code: code,
        issued_at: now(),
    };
    o.tickets.push(ticket.clone());
    let index = o.tickets.len() - 1;
    o.waiting.push_back(index);
    o.event("TICKET_ISSUED", &ticket.ticket_id, None);
    (StatusCode::CREATED, Json(ticket)).into_response()
}

async fn call_next(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(counter): Path<String>) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    call_next_to(&shared, &counter)
}

/// The counter terminal's "next" button (a control, so it works during a simulated outage).
async fn terminal_call_next(State(shared): State<Arc<Shared>>, Path(counter): Path<String>) -> Response {
    call_next_to(&shared, &counter)
}

fn call_next_to(shared: &Shared, counter: &str) -> Response {
    if !matches!(counter, "1" | "2" | "3" | "4" | "5" | "6") {
        return error(StatusCode::NOT_FOUND, "UNKNOWN_COUNTER", &format!("No counter {counter} at this site."));
    }
    let mut o = office(shared);
    let Some(i) = o.waiting.pop_front() else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let ticket = o.tickets[i].clone();
    o.event("TICKET_CALLED", &ticket.ticket_id, Some(counter));
    Json(json!({ "ticket": ticket })).into_response()
}

async fn events(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    let (mut after, mut limit) = (0u64, 100usize);
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (k.as_ref(), v.parse::<u64>()) {
            ("after", Ok(n)) => after = n,
            ("limit", Ok(n)) if (1..=500).contains(&n) => limit = n as usize,
            _ => return error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", &format!("Bad query parameter {k}={v}.")),
        }
    }
    let o = office(&shared);
    let events: Vec<&Event> = o.events.iter().filter(|e| e.seq > after).take(limit).collect();
    Json(json!({ "events": events, "lastSeq": o.events.len() })).into_response()
}

fn finish_ticket(shared: &Shared, ticket_id: &str, served: bool) -> bool {
    let mut o = office(shared);
    let called = o.events.iter().any(|e| e.ticket_id == ticket_id && e.kind == "TICKET_CALLED");
    let done = o.events.iter().any(|e| e.ticket_id == ticket_id && matches!(e.kind, "TICKET_SERVED" | "TICKET_NO_SHOW"));
    if !called || done {
        return false;
    }
    o.event(if served { "TICKET_SERVED" } else { "TICKET_NO_SHOW" }, ticket_id, None);
    true
}

async fn finish(State(shared): State<Arc<Shared>>, Path((id, outcome)): Path<(String, String)>) -> StatusCode {
    let served = match outcome.as_str() {
        "served" => true,
        "no-show" => false,
        _ => return StatusCode::NOT_FOUND,
    };
    if finish_ticket(&shared, &id, served) { StatusCode::NO_CONTENT } else { StatusCode::CONFLICT }
}
