//! A Kapu registry plugin: replace the bodies with calls to your vendor's API.

use kapu_plugin_sdk::http::Request;
use kapu_plugin_sdk::registry::*;
use kapu_plugin_sdk::{config, log};
use serde::Deserialize;

/// The plugin.
pub struct MyPlugin;

#[derive(Deserialize)]
struct Answer {
    exists: bool,
}

impl Registry for MyPlugin {
    fn check_person(_query: PersonQuery) -> Result<PersonAnswer, PluginError> {
        Err(PluginError::Rejected("person checks are not offered by this system".into()))
    }

    fn check_address(address: Address) -> Result<AddressCheck, PluginError> {
        let base = config::require("base-url")?;
        let key = config::require_secret("api-key")?;
        let url = format!("{}/addresses/{}", base.trim_end_matches('/'), address.postcode);
        let r = Request::get(url).header("authorization", format!("Bearer {key}")).send()?;
        if !r.is_success() {
            log::warn(&format!("the address service answered {}", r.status));
            return Err(PluginError::Unavailable(format!("status {}", r.status)));
        }
        let a: Answer = serde_json::from_slice(&r.body).map_err(|e| PluginError::Protocol(e.to_string()))?;
        Ok(AddressCheck { exists: a.exists, normalised: a.exists.then_some(address) })
    }

    fn find_vehicle(_plate: String, _holder_address: Option<Address>) -> Result<Option<Vehicle>, PluginError> {
        Ok(None)
    }
}

kapu_plugin_sdk::export!(MyPlugin);
