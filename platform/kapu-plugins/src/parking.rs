//! Typed calls of the parking world (pre-check, submit, status) for plugins of every supported
//! contract version, in the newest version's types.

use crate::bindings::call_at_its_version;
pub use crate::bindings::v0_2_0::parking::exports::kapu::plugin::parking::{Permit, PermitApplication, PermitState, PreCheckOutcome};
pub use crate::bindings::v0_2_0::parking::kapu::plugin::types::Address;
use crate::{CallContext, Called, Plugin, PluginError, Runtime};

impl Runtime {
    /// Checks a permit application without submitting it.
    pub async fn parking_pre_check(&self, plugin: &Plugin, ctx: CallContext, application: PermitApplication) -> Called<PreCheckOutcome> {
        let mut called = call_at_its_version!(self, plugin, ctx, ParkingV0_1 / ParkingV0_2, [application], |b, store| b
            .kapu_plugin_parking()
            .call_pre_check(store, &application));
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
        let called = call_at_its_version!(self, plugin, ctx, ParkingV0_1 / ParkingV0_2, [application], |b, store| b
            .kapu_plugin_parking()
            .call_submit(store, &application));
        checked_permit(called)
    }

    /// A permit's current state.
    pub async fn parking_status(&self, plugin: &Plugin, ctx: CallContext, permit_id: String) -> Called<Permit> {
        let called = call_at_its_version!(self, plugin, ctx, ParkingV0_1 / ParkingV0_2, [], |b, store| b
            .kapu_plugin_parking()
            .call_status(store, &permit_id));
        checked_permit(called)
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
