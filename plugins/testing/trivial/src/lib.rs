//! Test fixture: a registry plugin whose `find-vehicle` answers from its arguments alone
//! ([`vehicle::lookup`]), so a call measures only the host's overhead. `kapu bench plugins`
//! runs the same function natively for comparison.

use kapu_plugin_sdk::registry::*;

pub mod vehicle;

/// The plugin.
pub struct Trivial;

impl Registry for Trivial {
    fn check_person(query: PersonQuery) -> Result<PersonAnswer, PluginError> {
        let check = if query.document.number.is_empty() { PersonCheck::NotFound } else { PersonCheck::Match };
        Ok(PersonAnswer { check, query_id: Some("trivial".into()) })
    }

    fn check_address(address: Address) -> Result<AddressCheck, PluginError> {
        Ok(AddressCheck { exists: true, normalised: Some(address) })
    }

    fn find_vehicle(plate: String, holder_address: Option<Address>) -> Result<Option<Vehicle>, PluginError> {
        Ok(vehicle::lookup(&plate, holder_address.as_ref().map(|a| a.postcode.as_str())).map(|v| Vehicle {
            plate: v.plate,
            make_model: v.make_model,
            category: v.category,
            holder_at_address: v.holder_at_address,
        }))
    }
}

kapu_plugin_sdk::export!(Trivial);
