//! The wasmtime engine: a pooling allocator, epoch deadlines, memory caps, compiled
//! components cached on disk, and one fresh instance per call.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use crate::error::{CallFailure, PluginError};
use crate::host::{CallContext, HostState, LogLine};
use crate::manifest::{HostPattern, Manifest, World};
use crate::network::NetworkPolicy;
use crate::outbound::{Denial, Outbound};

/// How often the engine's epoch advances; deadlines are counted in these ticks.
const TICK: Duration = Duration::from_millis(5);

/// The limits every call runs under.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The most linear memory one instance may use, in MiB.
    pub memory_mib: u64,
    /// The wall-clock time a call may take, including its HTTP requests.
    pub timeout: Duration,
    /// The CPU time a call may take before it is interrupted (epoch deadline).
    pub cpu_time: Duration,
    /// How many calls may run at once (instance slots in the pool).
    pub concurrent_calls: u32,
    /// Where outbound HTTP may connect: the operator's network policy (strict by default).
    pub network: NetworkPolicy,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            timeout: Duration::from_secs(10),
            cpu_time: Duration::from_secs(2),
            concurrent_calls: 64,
            network: NetworkPolicy::strict(),
        }
    }
}

/// A loaded plugin: its manifest and its component, compiled and linked, ready to instantiate.
#[derive(Clone)]
pub struct Plugin(Arc<Loaded>);

struct Loaded {
    manifest: Manifest,
    digest: String,
    hosts: Arc<Vec<HostPattern>>,
    pre: WorldPre,
}

impl Plugin {
    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.0.manifest
    }

    /// The SHA-256 digest of its component, in hex.
    pub fn digest(&self) -> &str {
        &self.0.digest
    }
}

/// A future borrowed from a call's store.
pub type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// A world's generated bindings at one contract version, so that [`Runtime::call`] can
/// instantiate any of them.
pub trait WorldBinding {
    /// The instantiated bindings.
    type Bindings: Send + Sync;
    /// The world.
    const WORLD: World;
    /// The contract version.
    const SDK: &'static str;
    /// Instantiates the plugin if it implements this world at this version.
    fn instantiate<'a>(pre: &'a WorldPre, store: &'a mut Store<HostState>) -> Option<CallFuture<'a, Self::Bindings>>;
}

macro_rules! worlds {
    ($($variant:ident: $version:ident, $sdk:literal, $world:ident, $module:ident, $bindings:ident, $pre:ident;)*) => {
        /// The pre-instantiated component, per contract version and world.
        #[derive(Clone)]
        pub enum WorldPre {
            $(
                #[doc = concat!("`", stringify!($module), "` at ", $sdk, ".")]
                $variant(crate::bindings::$version::$module::$pre<HostState>),
            )*
        }

        fn world_pre(
            sdk: &str,
            world: World,
            pre: wasmtime::component::InstancePre<HostState>,
        ) -> Result<WorldPre, PluginError> {
            let mismatch = |e: wasmtime::Error| PluginError::WorldMismatch(format!("{e:#}"));
            match (sdk, world) {
                $(($sdk, World::$world) => Ok(WorldPre::$variant(crate::bindings::$version::$module::$pre::new(pre).map_err(mismatch)?)),)*
                _ => Err(PluginError::UnsupportedSdk {
                    requested: sdk.to_owned(),
                    supported: crate::manifest::SUPPORTED_SDK_VERSIONS.join(", "),
                }),
            }
        }

        /// Markers of the worlds, per contract version, for [`Runtime::call`].
        pub mod worlds {
            use super::*;
            $(
                #[doc = concat!("The `", stringify!($module), "` world at ", $sdk, ".")]
                #[derive(Debug)]
                pub struct $variant;

                impl WorldBinding for $variant {
                    type Bindings = crate::bindings::$version::$module::$bindings;
                    const WORLD: World = World::$world;
                    const SDK: &'static str = $sdk;

                    fn instantiate<'a>(pre: &'a WorldPre, store: &'a mut Store<HostState>) -> Option<CallFuture<'a, Self::Bindings>> {
                        match pre {
                            WorldPre::$variant(p) => Some(Box::pin(p.instantiate_async(store))),
                            _ => None,
                        }
                    }
                }
            )*
        }
    };
}

worlds! {
    ParkingV0_1: v0_1_0, "0.1.0", Parking, parking, ParkingPlugin, ParkingPluginPre;
    RecordsV0_1: v0_1_0, "0.1.0", Records, records, RecordsPlugin, RecordsPluginPre;
    FinanceV0_1: v0_1_0, "0.1.0", Finance, finance, FinancePlugin, FinancePluginPre;
    RegistryV0_1: v0_1_0, "0.1.0", Registry, registry, RegistryPlugin, RegistryPluginPre;
    QueueV0_1: v0_1_0, "0.1.0", Queue, queue, QueuePlugin, QueuePluginPre;
    ParkingV0_2: v0_2_0, "0.2.0", Parking, parking, ParkingPlugin, ParkingPluginPre;
    RecordsV0_2: v0_2_0, "0.2.0", Records, records, RecordsPlugin, RecordsPluginPre;
    FinanceV0_2: v0_2_0, "0.2.0", Finance, finance, FinancePlugin, FinancePluginPre;
    RegistryV0_2: v0_2_0, "0.2.0", Registry, registry, RegistryPlugin, RegistryPluginPre;
    QueueV0_2: v0_2_0, "0.2.0", Queue, queue, QueuePlugin, QueuePluginPre;
}

/// The outcome of a call together with what the plugin logged.
#[derive(Debug)]
pub struct Called<R> {
    /// The result.
    pub result: Result<R, PluginError>,
    /// The plugin's log lines during the call.
    pub logs: Vec<LogLine>,
}

/// The plugin host: one per process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    loaded: Mutex<HashMap<String, Plugin>>,
    outbound: Arc<Outbound>,
    stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// A host with these limits; compiled components are cached in `cache_dir` (created if
    /// missing), or only in memory when `None`.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> Result<Self, PluginError> {
        let host = |e: wasmtime::Error| PluginError::Host(format!("{e:#}"));
        let mut pool = PoolingAllocationConfig::default();
        let slots = limits.concurrent_calls.max(1);
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 4)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size((limits.memory_mib as usize) << 20);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .max_wasm_stack(1 << 20);
        if let Some(dir) = cache_dir {
            std::fs::create_dir_all(&dir).map_err(|e| PluginError::Host(format!("cache directory {}: {e}", dir.display())))?;
            let mut cc = wasmtime::CacheConfig::new();
            cc.with_directory(dir);
            config.cache(Some(wasmtime::Cache::new(cc).map_err(host)?));
        }
        let engine = Engine::new(&config).map_err(host)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(host)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(host)?;
        crate::bindings::v0_1_0::base::Host_::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(host)?;
        crate::bindings::v0_2_0::base::Host_::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(host)?;
        // `types` holds only types, but components import it as an (empty) instance.
        linker.instance(crate::bindings::v0_1_0::TYPES).map_err(host)?;
        linker.instance(crate::bindings::v0_2_0::TYPES).map_err(host)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ticking, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("kapu-plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match ticking.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| PluginError::Host(format!("epoch thread: {e}")))?;
        let outbound = Arc::new(Outbound::new(limits.network.clone()));
        Ok(Self { engine, linker, limits, loaded: Mutex::new(HashMap::new()), outbound, stop })
    }

    /// The limits calls run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The operator's network policy plugins' requests run under.
    pub fn network_policy(&self) -> &NetworkPolicy {
        self.outbound.policy()
    }

    /// Marks `addr` as one of the platform's own listeners: no plugin reaches it unless the
    /// operator allows its port explicitly.
    pub fn add_own_listener(&self, addr: std::net::SocketAddr) {
        self.outbound.add_own_listener(addr);
    }

    /// What is wrong with a manifest under the operator's network policy: IP addresses and
    /// `localhost` names in `allowed-hosts` that the policy does not allow.
    pub fn check_manifest(&self, manifest: &Manifest) -> Result<(), PluginError> {
        let problems: Vec<String> = manifest
            .host_patterns()
            .iter()
            .filter_map(|p| self.outbound.policy().manifest_host_problem(p.host(), p.is_wildcard()))
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(PluginError::Manifest(problems.join("; "))) }
    }

    /// Loads a plugin: checks that `bytes` are a component implementing the manifest's world
    /// and version and importing only what the host offers, compiles it (or takes it from the
    /// cache) and links it. `expected_digest`, when given, must equal the component's SHA-256.
    pub fn load(&self, manifest: &Manifest, bytes: &[u8], expected_digest: Option<&str>) -> Result<Plugin, PluginError> {
        let digest = hex::encode(Sha256::digest(bytes));
        if let Some(expected) = expected_digest
            && !expected.eq_ignore_ascii_case(&digest)
        {
            return Err(PluginError::Digest { expected: expected.to_owned(), actual: digest });
        }
        let key = format!("{digest}/{}", manifest_key(manifest));
        if let Some(p) = self.lock().get(&key) {
            return Ok(p.clone());
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(PluginError::Malformed("it does not start with the WebAssembly magic number".into()));
        }
        if wasmparser_is_core_module(bytes) {
            return Err(PluginError::Malformed("it is a core WebAssembly module, not a component (build for wasm32-wasip2)".into()));
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| PluginError::Malformed(format!("{e:#}")))?;
        let export = manifest.world.export_name(&manifest.sdk);
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&self.engine).map(|(name, _)| name.to_owned()).collect();
        if !exports.contains(&export) {
            return Err(PluginError::WorldMismatch(format!(
                "the manifest says world {} (SDK {}), so the component must export {export}; it exports {}",
                manifest.world.as_str(),
                manifest.sdk,
                if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") }
            )));
        }
        let pre = self.linker.instantiate_pre(&component).map_err(|e| PluginError::WorldMismatch(format!("{e:#}")))?;
        let pre = world_pre(&manifest.sdk, manifest.world, pre)?;
        let plugin = Plugin(Arc::new(Loaded { manifest: manifest.clone(), digest, hosts: Arc::new(manifest.host_patterns()), pre }));
        self.lock().insert(key, plugin.clone());
        Ok(plugin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Plugin>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls a plugin of world `W` in a fresh instance: `f` gets the bindings and the store and
    /// calls one export. The call runs under the memory cap, the CPU deadline and the
    /// wall-clock timeout; whatever the plugin does, only this call fails.
    pub async fn call<W, R, F>(&self, plugin: &Plugin, ctx: CallContext, f: F) -> Called<R>
    where
        W: WorldBinding,
        R: Send,
        F: for<'a> FnOnce(&'a W::Bindings, &'a mut Store<HostState>) -> CallFuture<'a, R> + Send,
    {
        let loaded = &plugin.0;
        if loaded.manifest.world != W::WORLD || loaded.manifest.sdk != W::SDK {
            return Called {
                result: Err(PluginError::WrongWorld {
                    name: loaded.manifest.name.clone(),
                    actual: format!("{} {}", loaded.manifest.world.as_str(), loaded.manifest.sdk),
                    expected: format!("{} {}", W::WORLD.as_str(), W::SDK),
                }),
                logs: Vec::new(),
            };
        }
        let max_memory = (self.limits.memory_mib as usize) << 20;
        let state =
            HostState::new(&loaded.manifest.name, loaded.hosts.clone(), self.outbound.clone(), ctx, max_memory, self.limits.timeout);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let ticks = (self.limits.cpu_time.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let outcome = tokio::time::timeout(self.limits.timeout, async {
            let Some(instantiating) = W::instantiate(&loaded.pre, &mut store) else {
                return Err(wasmtime::Error::msg("world mismatch"));
            };
            let bindings = instantiating.await?;
            f(&bindings, &mut store).await
        })
        .await;
        let denied = store.data().hooks.denied.lock().unwrap_or_else(|p| p.into_inner()).take();
        let memory_hit = store.data().memory.hit;
        let logs = std::mem::take(&mut store.data_mut().logs);
        let result = match (denied, outcome) {
            (Some(Denial::Manifest(host)), _) => Err(PluginError::ForbiddenHost(host)),
            (Some(Denial::Network { host, reason }), _) => Err(PluginError::NetworkDenied { host, reason }),
            (None, Err(_elapsed)) => Err(PluginError::Timeout(self.limits.timeout.as_millis() as u64)),
            (None, Ok(Ok(r))) => Ok(r),
            (None, Ok(Err(e))) => Err(self.classify(e, memory_hit)),
        };
        Called { result, logs }
    }

    fn classify(&self, e: wasmtime::Error, memory_hit: bool) -> PluginError {
        if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
            return PluginError::Busy;
        }
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => PluginError::Timeout(self.limits.cpu_time.as_millis() as u64),
            Some(_) if memory_hit => PluginError::Memory(self.limits.memory_mib),
            Some(trap) => PluginError::Trap(crate::words::plugin_words(&trap.to_string())),
            None if memory_hit => PluginError::Memory(self.limits.memory_mib),
            // The description may quote what the plugin answered.
            None => PluginError::Garbage(crate::words::plugin_words(&format!("{e:#}"))),
        }
    }
}

/// What identifies a loaded plugin besides its bytes: the manifest's world, version and hosts.
fn manifest_key(m: &Manifest) -> String {
    format!("{}@{}/{}/{}", m.name, m.sdk, m.world.as_str(), m.allowed_hosts.join(","))
}

/// Whether the bytes are a core module (version 1) rather than a component.
fn wasmparser_is_core_module(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(&[1, 0, 0, 0])
}

/// Converts a world's `plugin-error` into the host's [`CallFailure`].
macro_rules! failure_from {
    ($($version:ident :: $module:ident),*) => {$(
        impl From<crate::bindings::$version::$module::kapu::plugin::types::PluginError> for CallFailure {
            fn from(e: crate::bindings::$version::$module::kapu::plugin::types::PluginError) -> Self {
                use crate::bindings::$version::$module::kapu::plugin::types::PluginError as E;
                use crate::words::plugin_words as w;
                match e {
                    E::Config(m) => CallFailure::Config(w(&m)),
                    E::InvalidInput(m) => CallFailure::InvalidInput(w(&m)),
                    E::Rejected(m) => CallFailure::Rejected(w(&m)),
                    E::Unavailable(m) => CallFailure::Unavailable(w(&m)),
                    E::Protocol(m) => CallFailure::Protocol(w(&m)),
                }
            }
        }
    )*};
}

failure_from!(
    v0_1_0::parking,
    v0_1_0::records,
    v0_1_0::finance,
    v0_1_0::registry,
    v0_1_0::queue,
    v0_2_0::parking,
    v0_2_0::records,
    v0_2_0::finance,
    v0_2_0::registry,
    v0_2_0::queue
);
