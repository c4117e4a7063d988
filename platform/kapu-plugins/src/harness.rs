//! A test harness for plugin authors: hosts a plugin's component the way the platform does
//! (same engine, limits and checks) but without platform or database. HTTP replies are faked
//! per method and path, configuration is set directly, and the key-value store lives in memory.
//!
//! ```ignore
//! let h = Harness::load("plugin.toml", build_component(".")?)?
//!     .with("base-url", "https://szl.example/")
//!     .with("api-key", "k");
//! h.reply("POST", "/szl/v1/szemelyazonosito-ellenorzes", 200, r#"{"eredmeny":"egyezik","elteresek":[]}"#);
//! let called = h.runtime().check_person(h.plugin(), h.context(), query).await;
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::{
    CallContext, FakeHttp, FakeResponse, HttpMode, Limits, Manifest, MemoryKv, NetworkPolicy, Plugin, PluginConfig, PluginError, Runtime,
    SentRequest,
};

/// What [`Harness::load`] lets a plugin reach besides public addresses: loopback.
pub const HARNESS_ALLOW: &str = "127.0.0.0/8,::1,localhost";

/// A plugin hosted for tests.
pub struct Harness {
    runtime: Runtime,
    plugin: Plugin,
    config: PluginConfig,
    replies: Arc<Replies>,
    kv: Arc<MemoryKv>,
}

#[derive(Default)]
struct Replies {
    rules: Mutex<Vec<(String, String, FakeResponse)>>,
    sent: Mutex<Vec<SentRequest>>,
}

impl FakeHttp for Replies {
    fn respond(&self, request: &SentRequest) -> FakeResponse {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(request.clone());
        let path = url::Url::parse(&request.url).map(|u| u.path().to_owned()).unwrap_or_default();
        let rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        rules
            .iter()
            .rev()
            .find(|(m, p, _)| m.eq_ignore_ascii_case(&request.method) && *p == path)
            .map(|(_, _, r)| r.clone())
            .unwrap_or_else(|| FakeResponse {
                status: 599,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: format!("the harness has no reply for {} {path}", request.method).into_bytes(),
            })
    }
}

impl Harness {
    /// Loads the plugin from its manifest file and component file, with default limits and a
    /// network policy that allows loopback ([`HARNESS_ALLOW`]), where a plugin author's
    /// simulators run.
    pub fn load(manifest: impl AsRef<Path>, component: impl AsRef<Path>) -> Result<Self, PluginError> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| PluginError::Host(format!("{}: {e}", p.display())));
        let text = String::from_utf8(read(manifest.as_ref())?).map_err(|_| PluginError::Manifest("not UTF-8".into()))?;
        let network = NetworkPolicy::strict().allowing_list(HARNESS_ALLOW).map_err(|e| PluginError::Host(e.to_string()))?;
        Self::from_bytes(&text, &read(component.as_ref())?, Limits { network, ..Limits::default() })
    }

    /// Loads the plugin from a manifest's text and a component's bytes.
    pub fn from_bytes(manifest: &str, component: &[u8], limits: Limits) -> Result<Self, PluginError> {
        let manifest = Manifest::parse(manifest)?;
        let runtime = Runtime::new(limits, None)?;
        let plugin = runtime.load(&manifest, component, None)?;
        Ok(Self {
            runtime,
            plugin,
            config: PluginConfig::default(),
            replies: Arc::new(Replies::default()),
            kv: Arc::new(MemoryKv::default()),
        })
    }

    /// Sets a configuration value (a secret if the manifest says so).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        if self.plugin.manifest().is_secret(key) {
            self.config.secrets.insert(key.to_owned(), value.to_owned());
        } else {
            self.config.values.insert(key.to_owned(), value.to_owned());
        }
        self
    }

    /// Checks the configuration set so far against the manifest's schema, as the platform does
    /// before it stores one.
    pub fn check_config(&self) -> Result<(), PluginError> {
        let mut all = self.config.values.clone();
        all.extend(self.config.secrets.clone());
        self.plugin.manifest().check_config(&all)
    }

    /// Fakes the reply to `method` on `path` (the URL's path, without query); the latest
    /// matching reply wins. Unmatched requests get status 599 and a body saying so.
    pub fn reply(&self, method: &str, path: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.reply_with(method, path, FakeResponse { status, headers: Vec::new(), body: body.into() });
    }

    /// Fakes a reply with headers.
    pub fn reply_with(&self, method: &str, path: &str, response: FakeResponse) {
        self.replies.rules.lock().unwrap_or_else(|p| p.into_inner()).push((method.to_owned(), path.to_owned(), response));
    }

    /// The requests the plugin sent so far.
    pub fn requests(&self) -> Vec<SentRequest> {
        self.replies.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The context for a call: this configuration, the in-memory store and the fakes.
    pub fn context(&self) -> CallContext {
        CallContext {
            tenant: "harness".into(),
            config: Arc::new(self.config.clone()),
            kv: self.kv.clone(),
            http: HttpMode::Fake(self.replies.clone()),
        }
    }

    /// The context for a call that sends real HTTP requests (e.g. to a simulator).
    pub fn network_context(&self) -> CallContext {
        CallContext { http: HttpMode::Network, ..self.context() }
    }

    /// The host.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The loaded plugin.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }
}

/// Builds the plugin crate or each plugin of the workspace at `dir` for `wasm32-wasip2` in
/// release mode (the one documented build command, once per plugin) and returns the target directory's `wasm32-wasip2/release`
/// folder, where each plugin is `<crate name with underscores>.wasm`. The target directory is
/// `KAPU_WASM_TARGET_DIR`, else `CARGO_TARGET_DIR` with `-wasm` appended, else `target-wasm`
/// inside `dir`.
pub fn build_components(dir: impl AsRef<Path>) -> Result<PathBuf, PluginError> {
    let dir = dir.as_ref();
    let target = match (std::env::var_os("KAPU_WASM_TARGET_DIR"), std::env::var_os("CARGO_TARGET_DIR")) {
        (Some(t), _) => PathBuf::from(t),
        (None, Some(mut t)) => {
            t.push("-wasm");
            PathBuf::from(t)
        }
        (None, None) => dir.join("target-wasm"),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = |args: &[&str]| {
        Command::new(&cargo)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .args(args)
            .output()
            .map_err(|e| PluginError::Host(format!("running cargo: {e}")))
    };
    let out = run(&["metadata", "--no-deps", "--format-version", "1"])?;
    if !out.status.success() {
        return Err(PluginError::Host(format!("cargo metadata failed:\n{}", String::from_utf8_lossy(&out.stderr))));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| PluginError::Host(format!("cargo metadata's answer: {e}")))?;
    let manifests: Vec<String> = metadata["packages"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["manifest_path"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    // One build per plugin: each enables its own world feature of the SDK, and cargo would
    // unify the features of plugins built together.
    for manifest in manifests {
        let out = run(&["build", "--release", "--target", "wasm32-wasip2", "--manifest-path", &manifest])?;
        if !out.status.success() {
            return Err(PluginError::Host(format!(
                "building {manifest} failed (is the target installed? rustup target add wasm32-wasip2):\n{}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    Ok(target.join("wasm32-wasip2").join("release"))
}
