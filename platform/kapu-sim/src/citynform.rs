//! Citynform, the parking permits system, as the REST/JSON API in
//! `plugins/citynform/PROTOCOL.md`: pre-checks, permits issued at once (or refused, or
//! pending for diplomatic plates), idempotent per case reference, in memory.

#![allow(clippy::result_large_err, reason = "handlers return the vendor's error response early, as `Err`")]

use std::io;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{Value, json};

use crate::vendor::{Received, Served};

/// The port `kapu-sim citynform` uses by default.
pub const DEFAULT_PORT: u16 = 8041;
/// The API key it accepts by default.
pub const DEFAULT_API_KEY: &str = "kapu-demo-citynform-key";

/// A permit the simulator made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permit {
    /// E.g. `CP-2026-000001`.
    pub permit_id: String,
    /// Kapu's case number.
    pub case_reference: String,
    /// Canonical plate.
    pub license_plate: String,
    /// `PENDING`, `ISSUED`, `REFUSED`, `REVOKED` or `EXPIRED`.
    pub status: &'static str,
    /// The zone.
    pub zone: Option<&'static str>,
    /// First valid day.
    pub valid_from: String,
    /// Last valid day, once issued.
    pub valid_until: Option<String>,
    /// Why refused.
    pub reasons: Vec<Reason>,
    #[serde(skip)]
    address_key: String,
}

/// Why a permit cannot be issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// E.g. `ADDRESS_OUTSIDE_ZONES`.
    pub code: &'static str,
    /// In Hungarian.
    pub message: &'static str,
}

struct Shared {
    api_key: String,
    permits: Mutex<Vec<Permit>>,
}

/// A running Citynform simulator.
pub struct CitynformSim {
    served: Served,
    shared: Arc<Shared>,
}

/// Starts the simulator on 127.0.0.1:`port` (0 picks a free port), accepting `api_key`.
pub async fn start(port: u16, api_key: &str) -> io::Result<CitynformSim> {
    let shared = Arc::new(Shared { api_key: api_key.to_owned(), permits: Mutex::default() });
    let router = Router::new()
        .route("/api/v2/permit-checks", post(check))
        .route("/api/v2/permits", post(submit))
        .route("/api/v2/permits/{id}", get(status))
        .route("/sim/permits/{id}/revoke", post(revoke))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NOT_FOUND", "Nincs ilyen erőforrás.", vec![]) })
        .with_state(shared.clone());
    let served = Served::start("citynform", port, router, failure).await?;
    Ok(CitynformSim { served, shared })
}

impl CitynformSim {
    /// The base URL.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
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

    /// The permits made so far.
    pub fn permits(&self) -> Vec<Permit> {
        lock(&self.shared).clone()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<Permit>> {
    shared.permits.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: StatusCode, code: &str, message: &str, details: Vec<Value>) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if !details.is_empty() {
        body["error"]["details"] = Value::Array(details);
    }
    (status, Json(body)).into_response()
}

fn failure(status: StatusCode) -> Response {
    let code = if status == StatusCode::SERVICE_UNAVAILABLE { "SERVICE_UNAVAILABLE" } else { "INTERNAL_ERROR" };
    error(status, code, "A szolgáltatás átmenetileg nem érhető el.", vec![])
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(k) if k == shared.api_key => Ok(()),
        _ => Err(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Hiányzó vagy hibás API-kulcs.", vec![])),
    }
}

/// The canonical plate, if `raw` is one: `ABC-123` or `AA-BB-123`.
pub fn canonical_plate(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    let (letters, digits) = compact.split_at(compact.find(|c: char| c.is_ascii_digit())?);
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    match letters.len() {
        3 => Some(format!("{letters}-{digits}")),
        4 => Some(format!("{}-{}-{digits}", &letters[..2], &letters[2..])),
        _ => None,
    }
}

/// The zone of an address in Budapest XII., if it has one.
pub fn zone(postcode: &str, city: &str) -> Option<&'static str> {
    if !city.trim().eq_ignore_ascii_case("budapest") {
        return None;
    }
    match postcode.trim() {
        "1122" | "1126" => Some("XII-1"),
        "1123" | "1124" => Some("XII-2"),
        _ => None,
    }
}

struct Application {
    case_reference: String,
    plate: String,
    zone: Option<&'static str>,
    address_key: String,
    valid_from: NaiveDate,
}

fn parse(body: &[u8]) -> Result<Application, Response> {
    let invalid = |details: Vec<Value>| error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Hibás kérés.", details);
    let v: Value = serde_json::from_slice(body).map_err(|e| invalid(vec![json!({"field": "", "message": format!("Nem JSON: {e}")})]))?;
    let mut details = Vec::new();
    let mut text = |path: &str| -> String {
        let mut at = &v;
        for part in path.split('.') {
            at = &at[part];
        }
        match at.as_str() {
            Some(s) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                details.push(json!({"field": path, "message": "Kötelező szöveges mező."}));
                String::new()
            }
        }
    };
    let case_reference = text("caseReference");
    let _name = text("applicant.name");
    let postcode = text("address.postalCode");
    let city = text("address.city");
    let street = text("address.street");
    let plate_raw = text("vehicle.licensePlate");
    let valid_from_raw = text("validFrom");
    let plate = canonical_plate(&plate_raw);
    if plate.is_none() && !plate_raw.is_empty() {
        details.push(json!({"field": "vehicle.licensePlate", "message": "Érvénytelen rendszám."}));
    }
    let valid_from = NaiveDate::parse_from_str(&valid_from_raw, "%Y-%m-%d").ok();
    if valid_from.is_none() && !valid_from_raw.is_empty() {
        details.push(json!({"field": "validFrom", "message": "Dátum ÉÉÉÉ-HH-NN alakban."}));
    }
    match (plate, valid_from) {
        (Some(plate), Some(valid_from)) if details.is_empty() => Ok(Application {
            case_reference,
            plate,
            zone: zone(&postcode, &city),
            address_key: format!("{postcode}|{}|{}", city.to_lowercase(), street.to_lowercase().trim_end_matches('.')),
            valid_from,
        }),
        _ => Err(invalid(details)),
    }
}

fn reasons(permits: &[Permit], a: &Application) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if a.zone.is_none() {
        reasons.push(Reason { code: "ADDRESS_OUTSIDE_ZONES", message: "A cím nem tartozik várakozási övezetbe." });
    }
    let issued = || permits.iter().filter(|p| p.status == "ISSUED");
    if issued().any(|p| p.license_plate == a.plate) {
        reasons.push(Reason { code: "VEHICLE_HAS_PERMIT", message: "A járműnek már van érvényes várakozási hozzájárulása." });
    }
    if issued().filter(|p| p.address_key == a.address_key).count() >= 2 {
        reasons.push(Reason { code: "ADDRESS_QUOTA_REACHED", message: "A címre már két hozzájárulást adtak ki." });
    }
    reasons
}

async fn check(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    let a = match parse(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let reasons = reasons(&lock(&shared), &a);
    Json(json!({ "eligible": reasons.is_empty(), "zone": a.zone, "reasons": reasons })).into_response()
}

async fn submit(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    let a = match parse(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut permits = lock(&shared);
    if let Some(p) = permits.iter().find(|p| p.case_reference == a.case_reference) {
        if p.license_plate == a.plate {
            return (StatusCode::OK, Json(p.clone())).into_response();
        }
        return error(
            StatusCode::CONFLICT,
            "CASE_REFERENCE_CONFLICT",
            "Ezzel az ügyszámmal már más rendszámra nyújtottak be kérelmet.",
            vec![],
        );
    }
    let reasons = reasons(&permits, &a);
    let (status, valid_until) = if !reasons.is_empty() {
        ("REFUSED", None)
    } else if a.plate.starts_with("CD") {
        ("PENDING", None)
    } else {
        let next_year = a.valid_from.with_year(a.valid_from.year() + 1).unwrap_or(a.valid_from);
        ("ISSUED", next_year.pred_opt().map(|d| d.to_string()))
    };
    let permit = Permit {
        permit_id: format!("CP-{}-{:06}", a.valid_from.year(), permits.len() + 1),
        case_reference: a.case_reference,
        license_plate: a.plate,
        status,
        zone: a.zone,
        valid_from: a.valid_from.to_string(),
        valid_until,
        reasons,
        address_key: a.address_key,
    };
    permits.push(permit.clone());
    (StatusCode::CREATED, Json(permit)).into_response()
}

async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    match lock(&shared).iter().find(|p| p.permit_id == id) {
        Some(p) => Json(p.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "PERMIT_NOT_FOUND", "Nincs ilyen azonosítójú hozzájárulás.", vec![]),
    }
}

async fn revoke(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> StatusCode {
    match lock(&shared).iter_mut().find(|p| p.permit_id == id && p.status == "ISSUED") {
        Some(p) => {
            p.status = "REVOKED";
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plates_are_made_canonical() {
        assert_eq!(canonical_plate("abc 123").as_deref(), Some("ABC-123"));
        assert_eq!(canonical_plate("AABB123").as_deref(), Some("AA-BB-123"));
        assert_eq!(canonical_plate("AA-BB-123").as_deref(), Some("AA-BB-123"));
        for bad in ["AB-123", "ABC-1234", "123-ABC", "", "ÁBC-123"] {
            assert_eq!(canonical_plate(bad), None, "{bad}");
        }
    }
}
