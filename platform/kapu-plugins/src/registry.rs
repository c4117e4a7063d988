//! Typed calls of the registry world (persons, addresses, vehicles), with the host's checks of
//! what the plugin answers.

use crate::bindings::v0_1_0::registry as v1;
pub use crate::bindings::v0_1_0::registry::exports::kapu::plugin::registry::{
    AddressCheck, Document, DocumentKind, PersonCheck, PersonQuery, Vehicle,
};
pub use crate::bindings::v0_1_0::registry::kapu::plugin::types::Address;
use crate::{CallContext, CallFailure, Called, Plugin, PluginError, RegistryWorld, Runtime};

/// The field names a person check may report as differing.
pub const PERSON_FIELDS: &[&str] =
    &["family-name", "given-name", "birth-name", "mother-birth-name", "birth-place", "birth-date", "address", "document-validity"];

fn flatten<T>(called: Called<Result<T, v1::kapu::plugin::types::PluginError>>) -> Called<T> {
    Called { result: called.result.and_then(|r| r.map_err(|e| PluginError::Failed(CallFailure::from(e)))), logs: called.logs }
}

impl Runtime {
    /// Checks a person's natural identity data against the registry.
    pub async fn check_person(&self, plugin: &Plugin, ctx: CallContext, query: PersonQuery) -> Called<PersonCheck> {
        let called = self
            .call::<RegistryWorld, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_registry().call_check_person(store, &query).await })
            })
            .await;
        let mut called = flatten(called);
        if let Ok(PersonCheck::Mismatch(fields)) = &called.result
            && let Some(bad) = fields.iter().find(|f| !PERSON_FIELDS.contains(&f.as_str()))
        {
            called.result = Err(PluginError::Garbage(format!("unknown field name {bad:?} in a person check")));
        }
        called
    }

    /// Checks an address against the address registry.
    pub async fn check_address(&self, plugin: &Plugin, ctx: CallContext, address: Address) -> Called<AddressCheck> {
        let called = self
            .call::<RegistryWorld, _, _>(plugin, ctx, move |b, store| {
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
        let called = self
            .call::<RegistryWorld, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_registry().call_find_vehicle(store, &plate, holder_address.as_ref()).await })
            })
            .await;
        let mut called = flatten(called);
        if let Ok(Some(v)) = &called.result
            && v.plate.trim().is_empty()
        {
            called.result = Err(PluginError::Garbage("a vehicle without a plate".into()));
        }
        called
    }
}
