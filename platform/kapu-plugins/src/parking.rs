//! Typed calls of the parking world (pre-check, submit, status), in the newest contract's
//! types. Plugins of this world are called at contract 0.2.0; an older one fails its call with
//! [`PluginError::WrongWorld`].

pub use crate::bindings::v0_2_0::parking::exports::kapu::plugin::parking::{Permit, PermitApplication, PermitState, PreCheckOutcome};
pub use crate::bindings::v0_2_0::parking::kapu::plugin::types::Address;
use crate::{CallContext, Called, Plugin, PluginError, Runtime, worlds};

impl Runtime {
    /// Checks a permit application without submitting it.
    pub async fn parking_pre_check(&self, plugin: &Plugin, ctx: CallContext, application: PermitApplication) -> Called<PreCheckOutcome> {
        let called = self
            .call::<worlds::ParkingV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_parking().call_pre_check(store, &application).await })
            })
            .await;
        let mut called = crate::registry::flatten(called);
        if let Ok(o) = &called.result
            && !o.eligible
            && o.reasons.is_empty()
        {
            called.result = Err(PluginError::Garbage("an ineligible pre-check without reasons".into()));
        }
        called
    }

    /// Submits a permit application.
    pub async fn parking_submit(&self, plugin: &Plugin, ctx: CallContext, application: PermitApplication) -> Called<Permit> {
        let called = self
            .call::<worlds::ParkingV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_parking().call_submit(store, &application).await })
            })
            .await;
        checked_permit(crate::registry::flatten(called))
    }

    /// A permit's current state.
    pub async fn parking_status(&self, plugin: &Plugin, ctx: CallContext, permit_id: String) -> Called<Permit> {
        let called = self
            .call::<worlds::ParkingV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_parking().call_status(store, &permit_id).await })
            })
            .await;
        checked_permit(crate::registry::flatten(called))
    }
}

fn checked_permit(mut called: Called<Permit>) -> Called<Permit> {
    if let Ok(p) = &called.result
        && p.permit_id.trim().is_empty()
    {
        called.result = Err(PluginError::Garbage("a permit without an id".into()));
    }
    called
}
