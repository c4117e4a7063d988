//! The Citynform plugin: residential parking permits over Citynform's REST/JSON API
//! (`PROTOCOL.md`): pre-check, submit, status.

use kapu_plugin_sdk::config;
use kapu_plugin_sdk::http::{Request, Response};
use kapu_plugin_sdk::parking::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct Citynform;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    case_reference: &'a str,
    applicant: Applicant<'a>,
    address: Cim<'a>,
    vehicle: Vehicle<'a>,
    valid_from: &'a str,
}

#[derive(Serialize)]
struct Applicant<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cim<'a> {
    postal_code: &'a str,
    city: &'a str,
    street: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Vehicle<'a> {
    license_plate: &'a str,
}

#[derive(Deserialize)]
struct Reason {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct Check {
    eligible: bool,
    zone: Option<String>,
    #[serde(default)]
    reasons: Vec<Reason>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermitBody {
    permit_id: String,
    status: String,
    zone: Option<String>,
    valid_until: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    field: String,
    message: String,
}

fn body(a: &PermitApplication) -> Result<Vec<u8>, PluginError> {
    for (name, value) in [("case-ref", &a.case_ref), ("applicant-name", &a.applicant_name), ("plate", &a.plate)] {
        if value.trim().is_empty() {
            return Err(PluginError::InvalidInput(format!("{name} is empty")));
        }
    }
    let b = Body {
        case_reference: &a.case_ref,
        applicant: Applicant { name: &a.applicant_name },
        address: Cim { postal_code: &a.address.postcode, city: &a.address.city, street: &a.address.street },
        vehicle: Vehicle { license_plate: &a.plate },
        valid_from: &a.valid_from,
    };
    serde_json::to_vec(&b).map_err(|e| PluginError::InvalidInput(e.to_string()))
}

fn send(method: &str, path: &str, body: Option<Vec<u8>>) -> Result<Response, PluginError> {
    let base = config::require("base-url")?;
    let key = config::require_secret("api-key")?;
    let mut r = Request::new(method, format!("{}/api/v2{path}", base.trim_end_matches('/')))
        .header("x-api-key", key)
        .header("accept", "application/json");
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b);
    }
    Ok(r.send()?)
}

fn read<T: for<'de> Deserialize<'de>>(r: Response) -> Result<T, PluginError> {
    if r.is_success() {
        return serde_json::from_slice(&r.body)
            .map_err(|e| PluginError::Protocol(format!("Citynform answered {} with an unreadable body: {e}", r.status)));
    }
    let said = match serde_json::from_slice::<ErrorBody>(&r.body) {
        Ok(ErrorBody { error }) => {
            let mut s = format!("{}: {}", error.code, error.message);
            for d in error.details {
                s.push_str(&format!("; {}: {}", d.field, d.message));
            }
            s
        }
        Err(_) => "no error body".to_owned(),
    };
    Err(match r.status {
        401 | 403 => PluginError::Config(format!("Citynform refused the API key ({}, {said})", r.status)),
        400..=499 => PluginError::Rejected(format!("Citynform refused the request ({}, {said})", r.status)),
        500..=599 => PluginError::Unavailable(format!("Citynform failed ({}, {said})", r.status)),
        s => PluginError::Protocol(format!("Citynform answered an unexpected status {s}")),
    })
}

fn permit(p: PermitBody) -> Result<Permit, PluginError> {
    let state = match p.status.as_str() {
        "PENDING" => PermitState::Pending,
        "ISSUED" => PermitState::Issued,
        "REFUSED" => PermitState::Refused,
        "REVOKED" => PermitState::Revoked,
        "EXPIRED" => PermitState::Expired,
        other => return Err(PluginError::Protocol(format!("an unknown permit status {other:?}"))),
    };
    Ok(Permit { permit_id: p.permit_id, state, zone: p.zone, valid_until: p.valid_until })
}

impl Parking for Citynform {
    fn pre_check(application: PermitApplication) -> Result<PreCheckOutcome, PluginError> {
        let c: Check = read(send("POST", "/permit-checks", Some(body(&application)?))?)?;
        Ok(PreCheckOutcome {
            eligible: c.eligible,
            zone: c.zone,
            reasons: c.reasons.into_iter().map(|r| format!("{}: {}", r.code, r.message)).collect(),
        })
    }

    fn submit(application: PermitApplication) -> Result<Permit, PluginError> {
        permit(read(send("POST", "/permits", Some(body(&application)?))?)?)
    }

    fn status(permit_id: String) -> Result<Permit, PluginError> {
        let id = permit_id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(PluginError::InvalidInput(format!("{permit_id:?} is not a Citynform permit id")));
        }
        permit(read(send("GET", &format!("/permits/{id}"), None)?)?)
    }
}

kapu_plugin_sdk::export!(Citynform);
