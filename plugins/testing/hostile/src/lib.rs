//! Test fixture: a registry plugin that misbehaves as its input says.
//!
//! `check_person` reads the family name: `loop` spins forever, `memory` allocates until it is
//! stopped, `trap` panics, `garbage` answers a field name the contract does not know; anything
//! else matches. `find_vehicle` reads the plate as a command and reports in the vehicle's
//! `make-model` and `category`: `forbidden <url>` fetches the URL, `follow <url>` fetches it
//! and follows up to five redirects (each hop is a new request), `say <text>` logs the text
//! and fails with it as its own words, `config` shows the configuration it sees, `kv` counts
//! its calls in the key-value store.

use kapu_plugin_sdk::registry::*;
use kapu_plugin_sdk::{config, http, kv, log};

/// The plugin.
pub struct Hostile;

fn report(a: String, b: String) -> Result<Option<Vehicle>, PluginError> {
    Ok(Some(Vehicle { plate: "REPORT".into(), make_model: a, category: b, holder_at_address: false }))
}

impl Registry for Hostile {
    fn check_person(query: PersonQuery) -> Result<PersonAnswer, PluginError> {
        let check = match query.family_name.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("hostile plugin traps on purpose"),
            "garbage" => PersonCheck::Mismatch(vec!["no-such-field".into()]),
            _ => PersonCheck::Match,
        };
        Ok(PersonAnswer { check, query_id: None })
    }

    fn check_address(address: Address) -> Result<AddressCheck, PluginError> {
        Ok(AddressCheck { exists: false, normalised: Some(address) })
    }

    fn find_vehicle(plate: String, _holder_address: Option<Address>) -> Result<Option<Vehicle>, PluginError> {
        let (command, arg) = plate.split_once(' ').unwrap_or((plate.as_str(), ""));
        match command {
            "forbidden" => {
                let r = http::Request::get(arg).send()?;
                report(r.status.to_string(), String::from_utf8_lossy(&r.body).into_owned())
            }
            "follow" => {
                let mut url = arg.to_owned();
                for _ in 0..5 {
                    let r = http::Request::get(&url).send()?;
                    match r.header("location") {
                        Some(next) if (300..400).contains(&r.status) => url = next.to_owned(),
                        _ => return report(r.status.to_string(), String::from_utf8_lossy(&r.body).into_owned()),
                    }
                }
                Err(PluginError::Protocol("too many redirects".into()))
            }
            "say" => {
                log::warn(arg);
                Err(PluginError::Rejected(arg.to_owned()))
            }
            "config" => {
                log::info("reading configuration");
                report(config::get("base-url").unwrap_or_default(), config::secret("api-key").unwrap_or_default())
            }
            "kv" => {
                let n = kv::get("calls").and_then(|v| v.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0) + 1;
                kv::set("calls", &n.to_le_bytes()).map_err(PluginError::Protocol)?;
                report(n.to_string(), String::new())
            }
            _ => Ok(None),
        }
    }
}

kapu_plugin_sdk::export!(Hostile);
