//! Typed calls of the queue world (tickets, counter calls, events), in the newest
//! contract's types. Plugins of this world are called at contract 0.2.0; an older one fails
//! its call with [`PluginError::WrongWorld`].

pub use crate::bindings::v0_2_0::queue::exports::kapu::plugin::queue::{Event, EventKind, Ticket};
use crate::{CallContext, Called, Plugin, PluginError, Runtime, worlds};

impl Runtime {
    /// Issues a ticket for a service.
    pub async fn queue_issue_ticket(&self, plugin: &Plugin, ctx: CallContext, service: String) -> Called<Ticket> {
        let called = self
            .call::<worlds::QueueV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_queue().call_issue_ticket(store, &service).await })
            })
            .await;
        crate::registry::flatten(called)
    }

    /// Calls the next waiting ticket to a counter; `None` if nobody waits.
    pub async fn queue_call_next(&self, plugin: &Plugin, ctx: CallContext, counter: String) -> Called<Option<Ticket>> {
        let called = self
            .call::<worlds::QueueV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_queue().call_call_next(store, &counter).await })
            })
            .await;
        crate::registry::flatten(called)
    }

    /// Events after `cursor`, oldest first, at most `limit`. The host checks that the plugin
    /// kept to that: cursors above `cursor`, rising, and no more than `limit`.
    pub async fn queue_events(&self, plugin: &Plugin, ctx: CallContext, cursor: u64, limit: u32) -> Called<Vec<Event>> {
        let called = self
            .call::<worlds::QueueV0_2, _, _>(plugin, ctx, move |b, store| {
                Box::pin(async move { b.kapu_plugin_queue().call_events(store, cursor, limit).await })
            })
            .await;
        let mut called = crate::registry::flatten(called);
        if let Ok(events) = &called.result {
            let rising = events.iter().try_fold(cursor, |last, e| (e.cursor > last).then_some(e.cursor)).is_some();
            if !rising {
                called.result = Err(PluginError::Garbage(format!("events not after cursor {cursor} in rising order")));
            } else if events.len() > limit as usize {
                called.result = Err(PluginError::Garbage(format!("{} events where at most {limit} were asked for", events.len())));
            }
        }
        called
    }
}
