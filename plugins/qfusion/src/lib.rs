//! The Q-Fusion plugin: issues tickets, calls the next client to a counter and reads the
//! office's event feed over Q-Fusion's REST/JSON API (`PROTOCOL.md`).

use kapu_plugin_sdk::http::{Request, Response};
use kapu_plugin_sdk::queue::*;
use kapu_plugin_sdk::{config, log};
use serde::Deserialize;

/// The plugin.
pub struct QFusion;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketBody {
    ticket_id: String,
    display_number: String,
    service_code: String,
    issued_at: String,
}

impl From<TicketBody> for Ticket {
    fn from(t: TicketBody) -> Self {
        Ticket { ticket_id: t.ticket_id, display_number: t.display_number, service: t.service_code, issued_at: t.issued_at }
    }
}

#[derive(Deserialize)]
struct Called {
    ticket: TicketBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventBody {
    seq: u64,
    #[serde(rename = "type")]
    kind: String,
    ticket_id: String,
    counter_id: Option<String>,
    at: String,
}

#[derive(Deserialize)]
struct Feed {
    events: Vec<EventBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: String,
    #[serde(default)]
    error_message: String,
}

fn send(method: &str, path: &str, body: Option<Vec<u8>>) -> Result<Response, PluginError> {
    let base = config::require("base-url")?;
    let site = config::require("site")?;
    let token = config::require_secret("token")?;
    let mut r = Request::new(method, format!("{}/qfusion/v1{path}", base.trim_end_matches('/')))
        .header("authorization", format!("Bearer {token}"))
        .header("x-qf-site", site)
        .header("accept", "application/json");
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b);
    }
    let r = r.send()?;
    if r.is_success() {
        return Ok(r);
    }
    let said = serde_json::from_slice::<ErrorBody>(&r.body)
        .map(|e| format!("{}: {}", e.error_code, e.error_message))
        .unwrap_or_else(|_| "no error body".to_owned());
    Err(match r.status {
        401 | 403 => PluginError::Config(format!("Q-Fusion refused the site or token ({}, {said})", r.status)),
        400..=499 => PluginError::Rejected(format!("Q-Fusion refused the request ({}, {said})", r.status)),
        500..=599 => PluginError::Unavailable(format!("Q-Fusion failed ({}, {said})", r.status)),
        s => PluginError::Protocol(format!("Q-Fusion answered an unexpected status {s}")),
    })
}

fn json<T: for<'de> Deserialize<'de>>(r: &Response) -> Result<T, PluginError> {
    serde_json::from_slice(&r.body)
        .map_err(|e| PluginError::Protocol(format!("Q-Fusion answered {} with an unreadable body: {e}", r.status)))
}

/// A path segment of letters, digits and hyphens.
fn segment<'a>(what: &str, s: &'a str) -> Result<&'a str, PluginError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(PluginError::InvalidInput(format!("{s:?} is not a Q-Fusion {what}")));
    }
    Ok(s)
}

impl Queue for QFusion {
    fn issue_ticket(service: String) -> Result<Ticket, PluginError> {
        let service = segment("service code", &service)?;
        let body =
            serde_json::to_vec(&serde_json::json!({ "serviceCode": service })).map_err(|e| PluginError::InvalidInput(e.to_string()))?;
        let r = send("POST", "/tickets", Some(body))?;
        Ok(json::<TicketBody>(&r)?.into())
    }

    fn call_next(counter: String) -> Result<Option<Ticket>, PluginError> {
        let counter = segment("counter", &counter)?;
        let r = send("POST", &format!("/counters/{counter}/call-next"), None)?;
        if r.status == 204 {
            return Ok(None);
        }
        Ok(Some(json::<Called>(&r)?.ticket.into()))
    }

    fn events(cursor: u64, limit: u32) -> Result<Vec<Event>, PluginError> {
        let limit = limit.clamp(1, 500);
        let r = send("GET", &format!("/events?after={cursor}&limit={limit}"), None)?;
        let feed: Feed = json(&r)?;
        let mut out = Vec::with_capacity(feed.events.len());
        for e in feed.events {
            if e.seq <= cursor {
                return Err(PluginError::Protocol(format!("Q-Fusion sent event {} after cursor {cursor}", e.seq)));
            }
            let kind = match (e.kind.as_str(), e.counter_id) {
                ("TICKET_ISSUED", _) => EventKind::Issued,
                ("TICKET_CALLED", Some(counter)) => EventKind::Called(counter),
                ("TICKET_CALLED", None) => return Err(PluginError::Protocol(format!("call event {} names no counter", e.seq))),
                ("TICKET_SERVED", _) => EventKind::Served,
                ("TICKET_NO_SHOW", _) => EventKind::NoShow,
                (other, _) => {
                    log::warn(&format!("skipping Q-Fusion event {} of an unknown type {other:?}", e.seq));
                    continue;
                }
            };
            out.push(Event { cursor: e.seq, ticket_id: e.ticket_id, kind, at: e.at });
        }
        Ok(out)
    }
}

kapu_plugin_sdk::export!(QFusion);
