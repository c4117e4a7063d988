//! Test fixture: a registry plugin built against `kapu:plugin@0.1.0` as its author did then,
//! with the bindings generated straight from the frozen `sdk/wit/since_v0.1.0` (the SDK has
//! moved on). It must keep loading and answering in every later host.

wit_bindgen::generate!({ path: "../../../sdk/wit/since_v0.1.0", world: "registry-plugin" });

use exports::kapu::plugin::registry::{AddressCheck, Guest, PersonCheck, PersonQuery, Vehicle};
use kapu::plugin::types::{Address, PluginError};

struct OldRegistry;

impl Guest for OldRegistry {
    fn check_person(query: PersonQuery) -> Result<PersonCheck, PluginError> {
        kapu::plugin::log::log(kapu::plugin::log::Level::Info, "0.1.0 plugin checking a person");
        if query.family_name == "Minta" { Ok(PersonCheck::Match) } else { Ok(PersonCheck::NotFound) }
    }

    fn check_address(address: Address) -> Result<AddressCheck, PluginError> {
        Ok(AddressCheck { exists: true, normalised: Some(address) })
    }

    fn find_vehicle(plate: String, _holder_address: Option<Address>) -> Result<Option<Vehicle>, PluginError> {
        Ok(Some(Vehicle { plate, make_model: "Lada 1200".into(), category: "M1".into(), holder_at_address: false }))
    }
}

export!(OldRegistry);
