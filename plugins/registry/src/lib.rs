//! The registry plugin: checks natural identity data and addresses against SZL and looks
//! vehicles up in the KEKKH vehicle registry, over the JSON APIs in `PROTOCOL.md`.

use kapu_plugin_sdk::http::{Request, Response};
use kapu_plugin_sdk::registry::*;
use kapu_plugin_sdk::{config, log};
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct SzlRegistry;

const CHECK_PATH: &str = "/szl/v1/szemelyazonosito-ellenorzes";
const ADDRESS_PATH: &str = "/szl/v1/lakcim-ellenorzes";
const VEHICLE_PATH: &str = "/kekkh/v1/jarmu-lekerdezes";

#[derive(Serialize)]
struct Okmany<'a> {
    tipus: &'static str,
    szam: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Lakcim {
    iranyitoszam: String,
    telepules: String,
    kozterulet: String,
}

impl From<&Address> for Lakcim {
    fn from(a: &Address) -> Self {
        Lakcim { iranyitoszam: a.postcode.clone(), telepules: a.city.clone(), kozterulet: a.street.clone() }
    }
}

impl From<Lakcim> for Address {
    fn from(l: Lakcim) -> Self {
        Address { postcode: l.iranyitoszam, city: l.telepules, street: l.kozterulet }
    }
}

#[derive(Serialize)]
struct Keres<'a> {
    csaladi_nev: &'a str,
    utonev: &'a str,
    szuletesi_nev: Option<&'a str>,
    anyja_neve: &'a str,
    szuletesi_hely: &'a str,
    szuletesi_ido: &'a str,
    okmany: Okmany<'a>,
    lakcim: Option<Lakcim>,
}

#[derive(Deserialize)]
struct Valasz {
    #[serde(default)]
    lekerdezes_azonosito: Option<String>,
    eredmeny: String,
    #[serde(default)]
    elteresek: Vec<String>,
}

#[derive(Deserialize)]
struct LakcimValasz {
    letezik: bool,
    lakcim: Option<Lakcim>,
}

#[derive(Serialize)]
struct JarmuKeres<'a> {
    rendszam: &'a str,
    uzembentarto_lakcim: Option<Lakcim>,
}

#[derive(Deserialize)]
struct Jarmu {
    rendszam: String,
    gyartmany: String,
    kereskedelmi_nev: String,
    kategoria: String,
}

#[derive(Deserialize)]
struct JarmuValasz {
    talalat: bool,
    jarmu: Option<Jarmu>,
    #[serde(default)]
    lakcim_egyezik: Option<bool>,
}

#[derive(Deserialize)]
struct Hiba {
    hiba: String,
    #[serde(default)]
    uzenet: String,
}

/// Kapu's name of an SZL field.
fn field_name(szl: &str) -> Option<&'static str> {
    Some(match szl {
        "csaladi_nev" => "family-name",
        "utonev" => "given-name",
        "szuletesi_nev" => "birth-name",
        "anyja_neve" => "mother-birth-name",
        "szuletesi_hely" => "birth-place",
        "szuletesi_ido" => "birth-date",
        "lakcim" => "address",
        "okmany_ervenyesseg" => "document-validity",
        _ => return None,
    })
}

/// Posts `body` as JSON to `base` + `path` with the bearer key and reads a 200 answer as `T`;
/// other statuses become the contract's errors.
fn post_json<T: for<'de> Deserialize<'de>>(base: &str, key: &str, path: &str, body: &impl Serialize) -> Result<T, PluginError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let body = serde_json::to_vec(body).map_err(|e| PluginError::InvalidInput(e.to_string()))?;
    let response = Request::post(url)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body)
        .send()?;
    read(response)
}

fn read<T: for<'de> Deserialize<'de>>(r: Response) -> Result<T, PluginError> {
    if r.status == 200 {
        return serde_json::from_slice(&r.body).map_err(|e| PluginError::Protocol(format!("an unreadable answer (status 200): {e}")));
    }
    let hiba: Option<Hiba> = serde_json::from_slice(&r.body).ok();
    let said = hiba.map(|h| format!("{}: {}", h.hiba, h.uzenet)).unwrap_or_else(|| "no error body".into());
    Err(match r.status {
        401 | 403 => PluginError::Config(format!("the registry refused the API key ({}, {said})", r.status)),
        400..=499 => PluginError::Rejected(format!("the registry refused the request ({}, {said})", r.status)),
        500..=599 => PluginError::Unavailable(format!("the registry failed ({}, {said})", r.status)),
        s => PluginError::Protocol(format!("an unexpected status {s}")),
    })
}

impl Registry for SzlRegistry {
    fn check_person(q: PersonQuery) -> Result<PersonAnswer, PluginError> {
        let base = config::require("base-url")?;
        let key = config::require_secret("api-key")?;
        let tipus = match q.document.kind {
            DocumentKind::IdentityCard => "szemelyi_igazolvany",
            DocumentKind::Passport => "utlevel",
            DocumentKind::DrivingLicence => "vezetoi_engedely",
        };
        let keres = Keres {
            csaladi_nev: &q.family_name,
            utonev: &q.given_name,
            szuletesi_nev: q.birth_name.as_deref(),
            anyja_neve: &q.mother_birth_name,
            szuletesi_hely: &q.birth_place,
            szuletesi_ido: &q.birth_date,
            okmany: Okmany { tipus, szam: &q.document.number },
            lakcim: q.address.as_ref().map(Lakcim::from),
        };
        let v: Valasz = post_json(&base, &key, CHECK_PATH, &keres)?;
        let check = match v.eredmeny.as_str() {
            "egyezik" => PersonCheck::Match,
            "nincs_talalat" => PersonCheck::NotFound,
            "elter" => {
                let mut fields = Vec::new();
                for f in &v.elteresek {
                    match field_name(f) {
                        Some(name) => fields.push(name.to_owned()),
                        None => return Err(PluginError::Protocol(format!("an unknown field {f:?} in elteresek"))),
                    }
                }
                PersonCheck::Mismatch(fields)
            }
            other => return Err(PluginError::Protocol(format!("an unknown result {other:?}"))),
        };
        Ok(PersonAnswer { check, query_id: v.lekerdezes_azonosito })
    }

    fn check_address(address: Address) -> Result<AddressCheck, PluginError> {
        let base = config::require("base-url")?;
        let key = config::require_secret("api-key")?;
        let v: LakcimValasz = post_json(&base, &key, ADDRESS_PATH, &Lakcim::from(&address))?;
        Ok(AddressCheck { exists: v.letezik, normalised: v.lakcim.map(Address::from) })
    }

    fn find_vehicle(plate: String, holder_address: Option<Address>) -> Result<Option<Vehicle>, PluginError> {
        let Some(base) = config::get("vehicle-url") else {
            return Err(PluginError::Config("vehicle-url is not set, so vehicles cannot be looked up".into()));
        };
        let key = config::require_secret("vehicle-api-key")?;
        let plate = plate.trim();
        if plate.is_empty() {
            return Err(PluginError::InvalidInput("the plate is empty".into()));
        }
        let keres = JarmuKeres { rendszam: plate, uzembentarto_lakcim: holder_address.as_ref().map(Lakcim::from) };
        let v: JarmuValasz = post_json(&base, &key, VEHICLE_PATH, &keres)?;
        match (v.talalat, v.jarmu) {
            (false, _) => Ok(None),
            (true, Some(j)) => Ok(Some(Vehicle {
                plate: j.rendszam,
                make_model: format!("{} {}", j.gyartmany, j.kereskedelmi_nev),
                category: j.kategoria,
                holder_at_address: v.lakcim_egyezik.unwrap_or(false),
            })),
            (true, None) => {
                log::warn("the vehicle registry reported a hit without a vehicle");
                Err(PluginError::Protocol("a hit without a vehicle".into()))
            }
        }
    }
}

kapu_plugin_sdk::export!(SzlRegistry);
