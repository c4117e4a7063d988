//! Host bindings of the `kapu:plugin` contract, one module per supported version and world.
//!
//! Published versions never change: a new version gets its own `sdk/wit/since_vX.Y.Z` folder
//! and its own module here, and the old modules stay.

/// `kapu:plugin@0.1.0`.
pub mod v0_1_0 {
    /// The host capabilities every world imports (config, kv, log).
    pub mod base {
        wasmtime::component::bindgen!({
            path: "../../sdk/wit/since_v0.1.0",
            world: "host",
            imports: { "kapu:plugin/kv": async },
        });
    }

    macro_rules! world {
        ($module:ident, $world:literal) => {
            #[doc = concat!("The `", $world, "` world.")]
            pub mod $module {
                wasmtime::component::bindgen!({
                    path: "../../sdk/wit/since_v0.1.0",
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
