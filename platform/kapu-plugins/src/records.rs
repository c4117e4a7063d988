//! Typed calls of the records world (register, file, issue, status) for plugins of every
//! supported contract version, in the newest version's types.

use crate::bindings::call_at_its_version;
pub use crate::bindings::v0_2_0::records::exports::kapu::plugin::records::{Document, FileStatus, Filing, Registration};
use crate::{CallContext, Called, Plugin, PluginError, Runtime};

fn non_empty<T>(mut called: Called<T>, what: &str, get: impl Fn(&T) -> &str) -> Called<T> {
    if let Ok(v) = &called.result
        && get(v).trim().is_empty()
    {
        called.result = Err(PluginError::Garbage(format!("an empty {what}")));
    }
    called
}

impl Runtime {
    /// Registers an incoming document.
    pub async fn records_register_incoming(&self, plugin: &Plugin, ctx: CallContext, document: Document) -> Called<Registration> {
        let called = call_at_its_version!(self, plugin, ctx, RecordsV0_1 / RecordsV0_2, [document], |b, store| b
            .kapu_plugin_records()
            .call_register_incoming(store, &document));
        non_empty(called, "arrival number", |r| &r.arrival_number)
    }

    /// Files a registered document, under `main_number` or a new main number.
    pub async fn records_file(
        &self,
        plugin: &Plugin,
        ctx: CallContext,
        arrival_number: String,
        main_number: Option<String>,
    ) -> Called<Filing> {
        let called = call_at_its_version!(self, plugin, ctx, RecordsV0_1 / RecordsV0_2, [], |b, store| b.kapu_plugin_records().call_file(
            store,
            &arrival_number,
            main_number.as_deref()
        ));
        non_empty(called, "file number", |f| &f.file_number)
    }

    /// Issues an outgoing document under a file number.
    pub async fn records_issue(
        &self,
        plugin: &Plugin,
        ctx: CallContext,
        file_number: String,
        document: Document,
        signer: String,
    ) -> Called<Filing> {
        let called = call_at_its_version!(self, plugin, ctx, RecordsV0_1 / RecordsV0_2, [document], |b, store| b
            .kapu_plugin_records()
            .call_issue(store, &file_number, &document, &signer));
        non_empty(called, "file number", |f| &f.file_number)
    }

    /// The state of a file.
    pub async fn records_status(&self, plugin: &Plugin, ctx: CallContext, file_number: String) -> Called<FileStatus> {
        let called = call_at_its_version!(self, plugin, ctx, RecordsV0_1 / RecordsV0_2, [], |b, store| b
            .kapu_plugin_records()
            .call_status(store, &file_number));
        non_empty(called, "file number", |s| &s.file_number)
    }
}
