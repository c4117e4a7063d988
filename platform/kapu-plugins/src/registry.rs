//! Typed calls of the registry world (persons, addresses, vehicles) for plugins of every
//! supported contract version, in the newest version's types, with the host's checks of what
//! the plugin answers. Older versions are converted: a 0.1.0 plugin's person check has no
//! query id.

pub use crate::bindings::v0_2_0::registry::exports::kapu::plugin::registry::{
    AddressCheck, Document, DocumentKind, PersonAnswer, PersonCheck, PersonQuery, Vehicle,
};
pub use crate::bindings::v0_2_0::registry::kapu::plugin::types::Address;
use crate::bindings::{v0_1_0 as old, v0_2_0 as new};
use crate::{CallContext, CallFailure, Called, Plugin, PluginError, Runtime, worlds};

/// The field names a person check may report as differing.
pub const PERSON_FIELDS: &[&str] =
    &["family-name", "given-name", "birth-name", "mother-birth-name", "birth-place", "birth-date", "address", "document-validity"];

pub(crate) fn flatten<T, E: Into<CallFailure>>(called: Called<Result<T, E>>) -> Called<T> {
    Called { result: called.result.and_then(|r| r.map_err(|e| PluginError::Failed(e.into()))), logs: called.logs }
}

fn map<T, U>(called: Called<T>, f: impl FnOnce(T) -> U) -> Called<U> {
    Called { result: called.result.map(f), logs: called.logs }
}

mod convert {
    use super::{new, old};
    use crate::bindings::v0_1_0::registry::exports::kapu::plugin::registry as o;
    use crate::bindings::v0_2_0::registry::exports::kapu::plugin::registry as n;

    pub fn address(a: &new::registry::kapu::plugin::types::Address) -> old::registry::kapu::plugin::types::Address {
        old::registry::kapu::plugin::types::Address { postcode: a.postcode.clone(), city: a.city.clone(), street: a.street.clone() }
    }

    pub fn address_back(a: old::registry::kapu::plugin::types::Address) -> new::registry::kapu::plugin::types::Address {
        new::registry::kapu::plugin::types::Address { postcode: a.postcode, city: a.city, street: a.street }
    }

    pub fn query(q: &n::PersonQuery) -> o::PersonQuery {
        o::PersonQuery {
            family_name: q.family_name.clone(),
            given_name: q.given_name.clone(),
            birth_name: q.birth_name.clone(),
            mother_birth_name: q.mother_birth_name.clone(),
            birth_place: q.birth_place.clone(),
            birth_date: q.birth_date.clone(),
            document: o::Document {
                kind: match q.document.kind {
                    n::DocumentKind::IdentityCard => o::DocumentKind::IdentityCard,
                    n::DocumentKind::Passport => o::DocumentKind::Passport,
                    n::DocumentKind::DrivingLicence => o::DocumentKind::DrivingLicence,
                },
                number: q.document.number.clone(),
            },
            address: q.address.as_ref().map(address),
        }
    }

    pub fn check(c: o::PersonCheck) -> n::PersonAnswer {
        let check = match c {
            o::PersonCheck::Match => n::PersonCheck::Match,
            o::PersonCheck::Mismatch(f) => n::PersonCheck::Mismatch(f),
            o::PersonCheck::NotFound => n::PersonCheck::NotFound,
        };
        n::PersonAnswer { check, query_id: None }
    }

    pub fn address_check(c: o::AddressCheck) -> n::AddressCheck {
        n::AddressCheck { exists: c.exists, normalised: c.normalised.map(address_back) }
    }

    pub fn vehicle(v: o::Vehicle) -> n::Vehicle {
        n::Vehicle { plate: v.plate, make_model: v.make_model, category: v.category, holder_at_address: v.holder_at_address }
    }
}

impl Runtime {
    /// Checks a person's natural identity data against the registry.
    pub async fn check_person(&self, plugin: &Plugin, ctx: CallContext, query: PersonQuery) -> Called<PersonAnswer> {
        let mut called = if plugin.manifest().sdk == "0.1.0" {
            let q = convert::query(&query);
            let called = self
                .call::<worlds::RegistryV0_1, _, _>(plugin, ctx, move |b, store| {
                    Box::pin(async move { b.kapu_plugin_registry().call_check_person(store, &q).await })
                })
                .await;
            map(flatten(called), convert::check)
        } else {
            let called = self
                .call::<worlds::RegistryV0_2, _, _>(plugin, ctx, move |b, store| {
                    Box::pin(async move { b.kapu_plugin_registry().call_check_person(store, &query).await })
                })
                .await;
            flatten(called)
        };
        if let Ok(PersonAnswer { check: PersonCheck::Mismatch(fields), .. }) = &called.result
            && let Some(bad) = fields.iter().find(|f| !PERSON_FIELDS.contains(&f.as_str()))
        {
            called.result = Err(PluginError::Garbage(format!("unknown field name {bad:?} in a person check")));
        }
        called
    }

    /// Checks an address against the address registry.
    pub async fn check_address(&self, plugin: &Plugin, ctx: CallContext, address: Address) -> Called<AddressCheck> {
        if plugin.manifest().sdk == "0.1.0" {
            let a = convert::address(&address);
            let called = self
                .call::<worlds::RegistryV0_1, _, _>(plugin, ctx, move |b, store| {
                    Box::pin(async move { b.kapu_plugin_registry().call_check_address(store, &a).await })
                })
                .await;
            return map(flatten(called), convert::address_check);
        }
        let called = self
            .call::<worlds::RegistryV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_registry().call_check_address(store, &address).await })
            })
            .await;
        flatten(called)
    }

    /// Looks a vehicle up by plate.
    pub async fn find_vehicle(
        &self,
        plugin: &Plugin,
        ctx: CallContext,
        plate: String,
        holder_address: Option<Address>,
    ) -> Called<Option<Vehicle>> {
        let mut called = if plugin.manifest().sdk == "0.1.0" {
            let a = holder_address.as_ref().map(convert::address);
            let called = self
                .call::<worlds::RegistryV0_1, _, _>(plugin, ctx, move |b, store| {
                    Box::pin(async move { b.kapu_plugin_registry().call_find_vehicle(store, &plate, a.as_ref()).await })
                })
                .await;
            map(flatten(called), |v| v.map(convert::vehicle))
        } else {
            let called = self
                .call::<worlds::RegistryV0_2, _, _>(plugin, ctx, move |b, store| {
                    Box::pin(async move { b.kapu_plugin_registry().call_find_vehicle(store, &plate, holder_address.as_ref()).await })
                })
                .await;
            flatten(called)
        };
        if let Ok(Some(v)) = &called.result
            && v.plate.trim().is_empty()
        {
            called.result = Err(PluginError::Garbage("a vehicle without a plate".into()));
        }
        called
    }
}
