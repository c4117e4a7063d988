//! Host bindings of the `kapu:plugin` contract, one module per supported version.
//!
//! Published versions never change: a new version gets its own `sdk/wit/since_vX.Y.Z` folder
//! and its own module here, and the old modules stay. Calls to older versions are converted
//! to the newest version's types (see `registry.rs`).

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
                            additional_derives: [PartialEq, Eq],
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
