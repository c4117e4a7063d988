//! The guest SDK for Kapu plugins.
//!
//! A plugin is a WebAssembly component (target `wasm32-wasip2`) that implements one world of
//! the `kapu:plugin` WIT package (`sdk/wit/`). Enable exactly one feature, the world your
//! plugin implements (`parking`, `records`, `finance`, `registry`, `queue`), implement its
//! trait and register the type with [`export!`]:
//!
//! ```ignore
//! use kapu_plugin_sdk::registry::*;
//!
//! struct MyRegistry;
//!
//! impl Registry for MyRegistry {
//!     fn check_person(query: PersonQuery) -> Result<PersonAnswer, PluginError> {
//!         // Ask the registry over HTTP (see `http::Request`) and map its answer.
//!         Err(PluginError::Unavailable("the registry is not wired up yet".into()))
//!     }
//!     // ... the world's other functions
//! }
//!
//! kapu_plugin_sdk::export!(MyRegistry);
//! ```
//!
//! Host capabilities are in [`config`], [`kv`], [`log`] and [`http`]; the component records the
//! contract's version in its import and export names (`kapu:plugin/...@0.2.0`), which the host
//! checks against the plugin's manifest.

#[cfg(any(
    all(feature = "parking", any(feature = "records", feature = "finance", feature = "registry", feature = "queue")),
    all(feature = "records", any(feature = "finance", feature = "registry", feature = "queue")),
    all(feature = "finance", any(feature = "registry", feature = "queue")),
    all(feature = "registry", feature = "queue"),
))]
compile_error!("enable exactly one world feature of kapu-plugin-sdk: a plugin implements one world");

#[cfg(not(any(feature = "parking", feature = "records", feature = "finance", feature = "registry", feature = "queue")))]
compile_error!("enable one world feature of kapu-plugin-sdk: parking, records, finance, registry or queue");

pub mod http;

/// The version of the `kapu:plugin` contract this SDK builds against.
pub const SDK_VERSION: &str = "0.2.0";

/// Generated bindings (one world, chosen by feature). Use the re-exports instead.
#[doc(hidden)]
pub mod bindings {
    #[cfg(feature = "parking")]
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "parking-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "kapu_plugin_sdk::bindings",
    });
    #[cfg(feature = "records")]
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "records-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "kapu_plugin_sdk::bindings",
    });
    #[cfg(feature = "finance")]
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "finance-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "kapu_plugin_sdk::bindings",
    });
    #[cfg(feature = "registry")]
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "registry-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "kapu_plugin_sdk::bindings",
    });
    #[cfg(feature = "queue")]
    wit_bindgen::generate!({
        path: "../wit/since_v0.2.0",
        world: "queue-plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "kapu_plugin_sdk::bindings",
    });
}

/// Registers the type that implements the world's trait as the component's export.
pub use bindings::export;
pub use bindings::kapu::plugin::types::{Address, PluginError};

/// Residential parking permits: implement [`parking::Parking`].
#[cfg(feature = "parking")]
pub mod parking {
    pub use crate::bindings::exports::kapu::plugin::parking::{Guest as Parking, Permit, PermitApplication, PermitState, PreCheckOutcome};
    pub use crate::{Address, PluginError};
}

/// Records management: implement [`records::Records`].
#[cfg(feature = "records")]
pub mod records {
    pub use crate::PluginError;
    pub use crate::bindings::exports::kapu::plugin::records::{Document, FileStatus, Filing, Guest as Records, Registration};
}

/// Finance: implement [`finance::Finance`].
#[cfg(feature = "finance")]
pub mod finance {
    pub use crate::PluginError;
    pub use crate::bindings::exports::kapu::plugin::finance::{Guest as Finance, Money, Payment, Posting, Receivable};
}

/// Central registries: implement [`registry::Registry`].
#[cfg(feature = "registry")]
pub mod registry {
    pub use crate::bindings::exports::kapu::plugin::registry::{
        AddressCheck, Document, DocumentKind, Guest as Registry, PersonAnswer, PersonCheck, PersonQuery, Vehicle,
    };
    pub use crate::{Address, PluginError};
}

/// Queue system: implement [`queue::Queue`].
#[cfg(feature = "queue")]
pub mod queue {
    pub use crate::PluginError;
    pub use crate::bindings::exports::kapu::plugin::queue::{Event, EventKind, Guest as Queue, Ticket};
}

/// The tenant's configuration of this plugin (checked against the manifest's schema).
pub mod config {
    use crate::PluginError;
    use crate::bindings::kapu::plugin::config as host;

    /// A non-secret setting, `None` if not set.
    pub fn get(key: &str) -> Option<String> {
        host::get(key)
    }

    /// A required non-secret setting; a [`PluginError::Config`] naming it if not set.
    pub fn require(key: &str) -> Result<String, PluginError> {
        host::get(key).ok_or_else(|| PluginError::Config(format!("the setting {key} is not set")))
    }

    /// A secret setting (never log it), `None` if not set.
    pub fn secret(key: &str) -> Option<String> {
        host::secret(key)
    }

    /// A required secret setting; a [`PluginError::Config`] naming it if not set.
    pub fn require_secret(key: &str) -> Result<String, PluginError> {
        host::secret(key).ok_or_else(|| PluginError::Config(format!("the secret {key} is not set")))
    }
}

/// A small key-value store private to this plugin in this tenant.
pub mod kv {
    use crate::bindings::kapu::plugin::kv as host;

    /// The value under `key`.
    pub fn get(key: &str) -> Option<Vec<u8>> {
        host::get(key)
    }

    /// Stores `value` under `key`; an error if the key or value is too large or the store full.
    pub fn set(key: &str, value: &[u8]) -> Result<(), String> {
        host::set(key, value)
    }

    /// Removes `key`.
    pub fn delete(key: &str) {
        host::delete(key)
    }
}

/// Logging into the platform's log (never log personal data or secrets).
pub mod log {
    use crate::bindings::kapu::plugin::log::{Level, log};

    /// A debug line.
    pub fn debug(message: &str) {
        log(Level::Debug, message)
    }

    /// An informational line.
    pub fn info(message: &str) {
        log(Level::Info, message)
    }

    /// A warning.
    pub fn warn(message: &str) {
        log(Level::Warn, message)
    }

    /// An error.
    pub fn error(message: &str) {
        log(Level::Error, message)
    }
}
