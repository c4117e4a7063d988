//! Typed calls of the finance world (post receivable, post payment) for plugins of every
//! supported contract version, in the newest version's types.

use crate::bindings::call_at_its_version;
pub use crate::bindings::v0_2_0::finance::exports::kapu::plugin::finance::{Money, Payment, Posting, Receivable};
use crate::{CallContext, Called, Plugin, PluginError, Runtime};

impl Money {
    /// An amount of money from a `rust_decimal` amount, e.g. `Money::new(dec!(12500), "HUF")`.
    pub fn new(amount: rust_decimal::Decimal, currency: &str) -> Self {
        Money { amount: amount.to_string(), currency: currency.to_owned() }
    }
}

fn posted(mut called: Called<Posting>) -> Called<Posting> {
    if let Ok(p) = &called.result
        && p.posting_id.trim().is_empty()
    {
        called.result = Err(PluginError::Garbage("a posting without an id".into()));
    }
    called
}

impl Runtime {
    /// Posts a receivable.
    pub async fn finance_post_receivable(&self, plugin: &Plugin, ctx: CallContext, receivable: Receivable) -> Called<Posting> {
        let called = call_at_its_version!(self, plugin, ctx, FinanceV0_1 / FinanceV0_2, [receivable], |b, store| b
            .kapu_plugin_finance()
            .call_post_receivable(store, &receivable));
        posted(called)
    }

    /// Posts a payment.
    pub async fn finance_post_payment(&self, plugin: &Plugin, ctx: CallContext, payment: Payment) -> Called<Posting> {
        let called = call_at_its_version!(self, plugin, ctx, FinanceV0_1 / FinanceV0_2, [payment], |b, store| b
            .kapu_plugin_finance()
            .call_post_payment(store, &payment));
        posted(called)
    }
}
