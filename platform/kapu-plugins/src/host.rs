//! The store state of one plugin call: the tenant's configuration, the key-value store, the
//! log, WASI without files, environment or sockets, and `wasi:http` that reaches only the
//! manifest's hosts, and of those only the addresses the operator's network policy allows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::manifest::HostPattern;
use crate::outbound::{Denial, Outbound, Timeouts, Unvetted};
use crate::words::plugin_words;

/// Largest key of the key-value store, in bytes.
pub const KV_MAX_KEY: usize = 256;
/// Largest value of the key-value store, in bytes.
pub const KV_MAX_VALUE: usize = 64 * 1024;
/// Most keys a plugin may keep per tenant.
pub const KV_MAX_KEYS: i64 = 1000;

/// A tenant's configuration of one plugin, checked against the manifest's schema.
#[derive(Clone, Debug, Default)]
pub struct PluginConfig {
    /// Non-secret settings.
    pub values: HashMap<String, String>,
    /// Secret settings.
    pub secrets: HashMap<String, String>,
}

/// Why a key-value operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// A key that is empty or longer than [`KV_MAX_KEY`] bytes.
    #[error("a key must have 1 to {KV_MAX_KEY} bytes")]
    KeySize,
    /// A value longer than [`KV_MAX_VALUE`] bytes.
    #[error("a value may have at most {KV_MAX_VALUE} bytes")]
    ValueSize,
    /// A new key beyond [`KV_MAX_KEYS`].
    #[error("the store is full ({KV_MAX_KEYS} keys)")]
    Full,
    /// The tenant's transaction could not be opened.
    #[error("the key-value store failed: {0}")]
    Core(#[from] kapu_core::CoreError),
    /// The database failed.
    #[error("the key-value store failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl KvError {
    /// What the plugin is told (the contract's `result<_, string>`): the limit it broke, or
    /// that the store is unavailable; the platform's own failure stays in the log.
    pub fn for_plugin(&self) -> String {
        match self {
            KvError::KeySize | KvError::ValueSize | KvError::Full => self.to_string(),
            KvError::Core(_) | KvError::Database(_) => "the key-value store is unavailable; try again later".into(),
        }
    }
}

/// Where a plugin's key-value pairs live: the tenant's schema, or memory in the test harness.
#[async_trait::async_trait]
pub trait KvStore: Send + Sync {
    /// The value under `key`.
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Stores a value; refuses a new key beyond [`KV_MAX_KEYS`].
    async fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Removes a key.
    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError>;
}

/// A [`KvStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryKv(Mutex<HashMap<(String, String), Vec<u8>>>);

impl MemoryKv {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl KvStore for MemoryKv {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map().get(&(plugin.to_owned(), key.to_owned())).cloned())
    }

    async fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        let mut map = self.map();
        let k = (plugin.to_owned(), key.to_owned());
        let count = map.keys().filter(|(p, _)| p == plugin).count() as i64;
        if !map.contains_key(&k) && count >= KV_MAX_KEYS {
            return Err(KvError::Full);
        }
        map.insert(k, value.to_vec());
        Ok(())
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        self.map().remove(&(plugin.to_owned(), key.to_owned()));
        Ok(())
    }
}

/// A request as a plugin sent it, for fakes and for the harness's record.
#[derive(Clone, Debug)]
pub struct SentRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl SentRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A canned response.
#[derive(Clone, Debug)]
pub struct FakeResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Answers a plugin's HTTP requests instead of the network (the test harness).
pub trait FakeHttp: Send + Sync {
    /// The response to `request`.
    fn respond(&self, request: &SentRequest) -> FakeResponse;
}

/// How a call's outbound HTTP is served.
#[derive(Clone)]
pub enum HttpMode {
    /// Real requests, each to an address the operator's network policy allows, with connect
    /// and first-byte timeouts.
    Network,
    /// Answered by a fake.
    Fake(Arc<dyn FakeHttp>),
}

/// What a call needs besides its arguments: whose it is and what it may see.
#[derive(Clone)]
pub struct CallContext {
    /// The tenant, for logs.
    pub tenant: String,
    /// The tenant's configuration of this plugin.
    pub config: Arc<PluginConfig>,
    /// The plugin's key-value store in this tenant.
    pub kv: Arc<dyn KvStore>,
    /// How outbound HTTP is served.
    pub http: HttpMode,
}

/// A line the plugin logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The message, as [`crate::words::plugin_words`] keeps it (one line, at most 2 KiB).
    pub message: String,
}

/// Caps every memory of the instance.
pub(crate) struct MemoryCap {
    pub(crate) max_bytes: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The `wasi:http` hooks: the manifest's allow-list, and fakes or the network under the
/// operator's policy.
pub(crate) struct HttpHooks {
    allowed: Arc<Vec<HostPattern>>,
    mode: HttpMode,
    outbound: Arc<Outbound>,
    timeout: Duration,
    pub(crate) denied: Arc<Mutex<Option<Denial>>>,
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (http::Response<wasmtime_wasi_http::WasiBody>, Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let uri = request.uri().clone();
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if !self.allowed.iter().any(|p| p.allows(&host, port)) {
            let shown = match uri.port_u16() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            };
            *self.denied.lock().unwrap_or_else(|p| p.into_inner()) = Some(Denial::Manifest(shown));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let done: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> = Box::new(async { Ok(()) });
        match &self.mode {
            HttpMode::Fake(fake) => {
                let fake = fake.clone();
                Box::new(async move {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await?.to_bytes().to_vec();
                    let sent = SentRequest {
                        method: parts.method.to_string(),
                        url: parts.uri.to_string(),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body,
                    };
                    let answer = fake.respond(&sent);
                    let mut response = http::Response::builder().status(answer.status);
                    for (n, v) in &answer.headers {
                        response = response.header(n, v);
                    }
                    let response = response
                        .body(Full::new(Bytes::from(answer.body)).map_err(|never| match never {}).boxed_unsync())
                        .map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string())))?;
                    Ok((response, done))
                })
            }
            HttpMode::Network => {
                let cap = self.timeout;
                let options = options.unwrap_or_default();
                let timeouts = Timeouts {
                    connect: options.connect_timeout.unwrap_or(cap).min(cap),
                    first_byte: options.first_byte_timeout.unwrap_or(cap).min(cap),
                };
                let (outbound, denied) = (self.outbound.clone(), self.denied.clone());
                Box::new(async move {
                    let port = port.ok_or(wasmtime_wasi_http::Error::HttpRequestUriInvalid)?;
                    let addrs = match outbound.vet(&host, port).await {
                        Ok(addrs) => addrs,
                        Err(Unvetted::Refused(refusal)) => {
                            let shown = format!("{host}:{port}");
                            tracing::warn!(host = %shown, reason = %refusal, "a plugin's request was refused by the network policy");
                            *denied.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(Denial::Network { host: shown, reason: refusal.to_string() });
                            return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
                        }
                        Err(Unvetted::Failed(e)) => return Err(e),
                    };
                    crate::outbound::send(request, &host, &addrs, timeouts).await
                })
            }
        }
    }
}

/// The data of a plugin call's store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http_ctx: WasiHttpCtx,
    pub(crate) hooks: HttpHooks,
    pub(crate) memory: MemoryCap,
    plugin: String,
    ctx: CallContext,
    pub(crate) logs: Vec<LogLine>,
}

impl HostState {
    pub(crate) fn new(
        plugin: &str,
        allowed: Arc<Vec<HostPattern>>,
        outbound: Arc<Outbound>,
        ctx: CallContext,
        max_memory: usize,
        timeout: Duration,
    ) -> Self {
        let wasi = WasiCtxBuilder::new().allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).build();
        let hooks = HttpHooks { allowed, mode: ctx.http.clone(), outbound, timeout, denied: Arc::new(Mutex::new(None)) };
        Self {
            wasi,
            table: ResourceTable::new(),
            http_ctx: WasiHttpCtx::new(),
            hooks,
            memory: MemoryCap { max_bytes: max_memory, hit: false },
            plugin: plugin.to_owned(),
            ctx,
            logs: Vec::new(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http_ctx, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl HostState {
    fn config_get(&self, key: &str) -> Option<String> {
        self.ctx.config.values.get(key).cloned()
    }

    fn config_secret(&self, key: &str) -> Option<String> {
        self.ctx.config.secrets.get(key).cloned()
    }

    async fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
        if key.len() > KV_MAX_KEY {
            return None;
        }
        match self.ctx.kv.get(&self.plugin, &key).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(tenant = %self.ctx.tenant, plugin = %self.plugin, error = %e, "plugin kv read failed");
                None
            }
        }
    }

    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        if key.is_empty() || key.len() > KV_MAX_KEY {
            return Err(KvError::KeySize);
        }
        if value.len() > KV_MAX_VALUE {
            return Err(KvError::ValueSize);
        }
        self.ctx.kv.set(&self.plugin, &key, &value).await
    }

    /// [`HostState::kv_set`] at the contract's boundary, whose error is a string.
    async fn kv_set_for_plugin(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        self.kv_set(key, value).await.map_err(|e| {
            if matches!(e, KvError::Core(_) | KvError::Database(_)) {
                tracing::warn!(tenant = %self.ctx.tenant, plugin = %self.plugin, error = %e, "plugin kv write failed");
            }
            e.for_plugin()
        })
    }

    async fn kv_delete(&mut self, key: String) {
        if let Err(e) = self.ctx.kv.delete(&self.plugin, &key).await {
            tracing::warn!(tenant = %self.ctx.tenant, plugin = %self.plugin, error = %e, "plugin kv delete failed");
        }
    }

    /// Logs a plugin's line as its own words: one line, at most 2 KiB, in the field
    /// `plugin_said` (quoted), never as the log line's message.
    fn log_line(&mut self, level: &'static str, message: String) {
        let message = plugin_words(&message);
        let (tenant, plugin) = (&self.ctx.tenant, &self.plugin);
        match level {
            "debug" => tracing::debug!(%tenant, %plugin, plugin_said = ?message, "plugin log"),
            "info" => tracing::info!(%tenant, %plugin, plugin_said = ?message, "plugin log"),
            "warn" => tracing::warn!(%tenant, %plugin, plugin_said = ?message, "plugin log"),
            _ => tracing::error!(%tenant, %plugin, plugin_said = ?message, "plugin log"),
        }
        if self.logs.len() < 1000 {
            self.logs.push(LogLine { level, message });
        }
    }
}

/// The host capabilities of one contract version, forwarding to the shared implementation.
macro_rules! capabilities {
    ($version:ident) => {
        impl crate::bindings::$version::base::kapu::plugin::config::Host for HostState {
            fn get(&mut self, key: String) -> Option<String> {
                self.config_get(&key)
            }

            fn secret(&mut self, key: String) -> Option<String> {
                self.config_secret(&key)
            }
        }

        impl crate::bindings::$version::base::kapu::plugin::kv::Host for HostState {
            async fn get(&mut self, key: String) -> Option<Vec<u8>> {
                self.kv_get(key).await
            }

            async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
                self.kv_set_for_plugin(key, value).await
            }

            async fn delete(&mut self, key: String) {
                self.kv_delete(key).await
            }
        }

        impl crate::bindings::$version::base::kapu::plugin::log::Host for HostState {
            fn log(&mut self, level: crate::bindings::$version::base::kapu::plugin::log::Level, message: String) {
                use crate::bindings::$version::base::kapu::plugin::log::Level;
                let level = match level {
                    Level::Debug => "debug",
                    Level::Info => "info",
                    Level::Warn => "warn",
                    Level::Error => "error",
                };
                self.log_line(level, message)
            }
        }
    };
}

capabilities!(v0_1_0);
capabilities!(v0_2_0);
