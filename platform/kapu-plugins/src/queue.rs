//! Typed calls of the queue world (tickets, counter calls, events) for plugins of every
//! supported contract version, in the newest version's types.

use crate::bindings::call_at_its_version;
pub use crate::bindings::v0_2_0::queue::exports::kapu::plugin::queue::{Event, EventKind, Ticket};
use crate::{CallContext, Called, Plugin, PluginError, Runtime};

impl Runtime {
    /// Issues a ticket for a service.
    pub async fn queue_issue_ticket(&self, plugin: &Plugin, ctx: CallContext, service: String) -> Called<Ticket> {
        call_at_its_version!(self, plugin, ctx, QueueV0_1 / QueueV0_2, [], |b, store| b
            .kapu_plugin_queue()
            .call_issue_ticket(store, &service))
    }

    /// Calls the next waiting ticket to a counter; `None` if nobody waits.
    pub async fn queue_call_next(&self, plugin: &Plugin, ctx: CallContext, counter: String) -> Called<Option<Ticket>> {
        call_at_its_version!(self, plugin, ctx, QueueV0_1 / QueueV0_2, [], |b, store| b.kapu_plugin_queue().call_call_next(store, &counter))
    }

    /// Events after `cursor`, oldest first, at most `limit`. The host checks that the plugin
    /// kept to that: cursors above `cursor`, rising, and no more than `limit`.
    pub async fn queue_events(&self, plugin: &Plugin, ctx: CallContext, cursor: u64, limit: u32) -> Called<Vec<Event>> {
        let mut called = call_at_its_version!(self, plugin, ctx, QueueV0_1 / QueueV0_2, [], |b, store| b
            .kapu_plugin_queue()
            .call_events(store, cursor, limit));
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
