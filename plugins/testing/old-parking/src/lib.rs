//! Test fixture: a parking plugin built against `kapu:plugin@0.1.0` as its author did then,
//! with the bindings generated straight from the frozen `sdk/wit/since_v0.1.0`. The host
//! calls it at 0.1.0 and hands its answers on in the newest contract's types.

wit_bindgen::generate!({ path: "../../../sdk/wit/since_v0.1.0", world: "parking-plugin" });

use exports::kapu::plugin::parking::{Guest, Permit, PermitApplication, PermitState, PreCheckOutcome};
use kapu::plugin::types::PluginError;

struct OldParking;

impl Guest for OldParking {
    fn pre_check(application: PermitApplication) -> Result<PreCheckOutcome, PluginError> {
        kapu::plugin::log::log(kapu::plugin::log::Level::Info, "0.1.0 plugin pre-checking a permit");
        let zone = (application.address.postcode == "1126").then(|| "B".to_owned());
        let reasons = if zone.is_some() { Vec::new() } else { vec![format!("{} is outside the zones", application.address.postcode)] };
        Ok(PreCheckOutcome { eligible: zone.is_some(), zone, reasons })
    }

    fn submit(application: PermitApplication) -> Result<Permit, PluginError> {
        Ok(Permit {
            permit_id: format!("P-{}", application.plate),
            state: PermitState::Issued,
            zone: Some("B".into()),
            valid_until: Some("2027-12-31".into()),
        })
    }

    fn status(permit_id: String) -> Result<Permit, PluginError> {
        Ok(Permit { permit_id, state: PermitState::Revoked, zone: None, valid_until: None })
    }
}

export!(OldParking);
