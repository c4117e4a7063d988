//! The plugin host: runs tenants' connectors to their local systems (parking, records,
//! finance, registries, queue) as WebAssembly components built against the versioned
//! `kapu:plugin` WIT contract in `sdk/wit/`.
//!
//! - [`manifest`]: `plugin.toml`, its schema for configuration and the allowed hosts.
//! - [`Runtime`]: wasmtime with a pooling allocator; every call gets a fresh instance under a
//!   memory cap, an epoch (CPU) deadline and a wall-clock timeout, and outbound HTTP only to the
//!   manifest's hosts. A plugin that misbehaves fails its own call with a [`PluginError`].
//! - [`network`]: the operator's network policy: a manifest's host is reached only at
//!   addresses the policy allows, checked after resolution (`outbound` connects to the
//!   vetted address itself). [`words`]: a plugin's log lines and error texts as kept.
//! - [`installation`]: per-tenant installation, configuration (secrets sealed by
//!   `kapu-crypto`), the key-value store and the admin's record of failed calls, all in the
//!   tenant's schema.
//! - Typed calls per world: [`parking`], [`records`], [`finance`], [`registry`], [`queue`].
//! - [`harness`]: hosts a plugin without platform or database, with faked HTTP replies, for
//!   plugin authors' tests.

pub mod bindings;
mod error;
pub mod finance;
pub mod harness;
mod host;
pub mod installation;

/// The columns this crate seals.
pub const SEALED: &[kapu_crypto::Column] = &[installation::SECRETS];
pub mod manifest;
pub mod network;
mod outbound;
pub mod parking;
pub mod queue;
pub mod records;
pub mod registry;
mod runtime;
pub mod words;

pub use error::{CallFailure, PluginError};
pub use host::{
    CallContext, FakeHttp, FakeResponse, HostState, HttpMode, KV_MAX_KEY, KV_MAX_KEYS, KV_MAX_VALUE, KvError, KvStore, LogLine, MemoryKv,
    PluginConfig, SentRequest,
};
pub use manifest::{ConfigProblem, Manifest, SUPPORTED_SDK_VERSIONS, World};
pub use network::{NetworkPolicy, PolicyError};
pub use runtime::{CallFuture, Called, Limits, Plugin, Runtime, WorldBinding, WorldPre, worlds};
