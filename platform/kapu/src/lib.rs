//! The `kapu` command's library: settings, tenant configuration files, and the wiring of
//! server, worker and demo. `main.rs` only parses the command line; the test kit uses this
//! library to boot the very same server.

pub mod bench;
pub mod bench_cases;
pub mod bench_oidc;
pub mod bench_plugins;
pub mod calendar_cmd;
pub mod case_type_test;
pub mod demo;
pub mod demo_plugins;
pub mod documents;
pub mod keys;
pub mod plugin_cmd;
pub mod settings;
pub mod tenant_config;
pub mod wiring;
