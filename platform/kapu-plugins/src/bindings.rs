//! Host bindings of the `kapu:plugin` contract, one module per supported version.
//!
//! Published versions never change: a new version gets its own `sdk/wit/since_vX.Y.Z` folder
//! and its own module here, and the old modules stay. Calls to older versions are converted
//! to the newest version's types: field by field where a type changed (`registry.rs`), through
//! serde where it did not ([`older`]).

macro_rules! version {
    ($(#[$doc:meta])* $version:ident, $path:literal, $types:literal) => {
        $(#[$doc])*
        pub mod $version {
            /// The host capabilities every world imports (config, kv, log).
            pub mod base {
                wasmtime::component::bindgen!({
                    path: $path,
                    world: "host",
                    imports: { "kapu:plugin/kv": async },
                });
            }

            /// The (empty) instance name of the `types` interface.
            pub const TYPES: &str = $types;

            macro_rules! world {
                ($module:ident, $world:literal) => {
                    #[doc = concat!("The `", $world, "` world.")]
                    pub mod $module {
                        wasmtime::component::bindgen!({
                            path: $path,
                            world: $world,
                            exports: { default: async },
                            additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
                            with: {
                                "kapu:plugin/config": super::base::kapu::plugin::config,
                                "kapu:plugin/kv": super::base::kapu::plugin::kv,
                                "kapu:plugin/log": super::base::kapu::plugin::log,
                            },
                        });
                    }
                };
            }

            world!(parking, "parking-plugin");
            world!(records, "records-plugin");
            world!(finance, "finance-plugin");
            world!(registry, "registry-plugin");
            world!(queue, "queue-plugin");
        }
    };
}

version!(
    /// `kapu:plugin@0.1.0`.
    v0_1_0,
    "../../sdk/wit/since_v0.1.0",
    "kapu:plugin/types@0.1.0"
);
version!(
    /// `kapu:plugin@0.2.0`: `check-person` answers the registry's query id too.
    v0_2_0,
    "../../sdk/wit/since_v0.2.0",
    "kapu:plugin/types@0.2.0"
);

/// Moving values between contract versions whose types have the same shape (every world but
/// the registry's is unchanged from 0.1.0 to 0.2.0): the generated types of both versions
/// serialise alike, so a value goes through serde from one to the other.
pub(crate) mod older {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::{Called, PluginError};

    /// An argument in an older version's types.
    pub(crate) fn down<T: Serialize, U: DeserializeOwned>(value: &T) -> Result<U, PluginError> {
        serde_json::to_value(value)
            .and_then(serde_json::from_value)
            .map_err(|e| PluginError::Host(format!("a value does not fit the older contract version: {e}")))
    }

    /// An older version's answer in the newest types.
    pub(crate) fn up<T: Serialize, U: DeserializeOwned>(called: Called<T>) -> Called<U> {
        let result = called.result.and_then(|v| {
            serde_json::to_value(&v)
                .and_then(serde_json::from_value)
                .map_err(|e| PluginError::Garbage(format!("an answer that does not fit the newest contract: {e}")))
        });
        Called { result, logs: called.logs }
    }

    /// A call that failed before it reached the plugin.
    pub(crate) fn failed<U>(e: PluginError) -> Called<U> {
        Called { result: Err(e), logs: Vec::new() }
    }
}

/// Calls a plugin at the contract version it was built against: at 0.1.0 with the named
/// arguments moved down to that version's types and the answer moved up (see [`older`]), else
/// at 0.2.0. The call's tokens are used for both versions, so they must read the same in both.
///
/// `call_at_its_version!(runtime, plugin, ctx, ParkingV0_1 / ParkingV0_2, [application],
/// |b, store| b.kapu_plugin_parking().call_submit(store, &application))`
macro_rules! call_at_its_version {
    ($rt:expr, $plugin:expr, $ctx:expr, $v1:ident / $v2:ident, [$($arg:ident),*], |$b:ident, $store:ident| $call:expr) => {{
        if $plugin.manifest().sdk == "0.1.0" {
            $(let $arg = match $crate::bindings::older::down(&$arg) {
                Ok(v) => v,
                Err(e) => return $crate::bindings::older::failed(e),
            };)*
            $crate::bindings::older::up($crate::registry::flatten(
                $rt.call::<$crate::worlds::$v1, _, _>($plugin, $ctx, move |$b, $store| Box::pin(async move { $call.await })).await,
            ))
        } else {
            $crate::registry::flatten(
                $rt.call::<$crate::worlds::$v2, _, _>($plugin, $ctx, move |$b, $store| Box::pin(async move { $call.await })).await,
            )
        }
    }};
}
pub(crate) use call_at_its_version;
