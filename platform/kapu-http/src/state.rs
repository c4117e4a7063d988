use std::path::PathBuf;
use std::sync::Arc;

use kapu_core::{Db, Origin};
use kapu_crypto::Crypto;
use kapu_staff::LoginPolicy;

use crate::tenancy::TenantDirectory;

/// HTTP settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The deployment's public URL (`KAPU_PUBLIC_URL`): the origin of the platform host,
    /// and with `/t/{slug}` the base of the links of tenants without their own origin.
    pub public_url: Origin,
    /// Host names (without port, lowercase; IPv6 in brackets) where the operator console and
    /// the platform API answer and `/t/{slug}/` is resolved (`KAPU_PLATFORM_HOSTS`). Empty:
    /// the public URL's host alone.
    pub platform_hosts: Vec<String>,
    /// Whether cookies get `Secure` (set when serving TLS).
    pub secure_cookies: bool,
    /// Whether responses carry `Strict-Transport-Security` (set when serving TLS).
    pub hsts: bool,
    /// Who may read `/metrics` on this listener.
    pub metrics: MetricsAccess,
    /// Where the built admin UI lives (`admin-ui/dist`).
    pub admin_ui_dir: PathBuf,
    /// Where tenant assets live (`tenants/`), for crests.
    pub tenants_dir: PathBuf,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Sign-in throttling and session lifetimes.
    pub login_policy: LoginPolicy,
    /// Sign-in attempts allowed per client IP per minute, counted in each process's
    /// memory: a cheap first guard before the database; the throttle that counts is `throttle`.
    pub login_attempts_per_minute: u32,
    /// Sign-in backoff and e-mail budgets, kept in the database (shared by all processes).
    pub throttle: kapu_throttle::ThrottlePolicy,
    /// Largest accepted application form with its attachments.
    pub upload_limit: usize,
    /// Where attachments are stored: a local folder, or an object store URL such as
    /// `s3://bucket/prefix` (credentials from the usual `AWS_*` variables).
    pub attachments: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`KAPU_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: Origin::loopback(8080),
            platform_hosts: Vec::new(),
            secure_cookies: false,
            hsts: false,
            metrics: MetricsAccess::Off,
            admin_ui_dir: PathBuf::from("admin-ui/dist"),
            tenants_dir: PathBuf::from("tenants"),
            body_limit: 1024 * 1024,
            login_policy: LoginPolicy::default(),
            login_attempts_per_minute: 30,
            throttle: kapu_throttle::ThrottlePolicy::default(),
            upload_limit: 64 * 1024 * 1024,
            attachments: "/var/tmp/kapu-attachments".into(),
            trusted_proxies: crate::client_ip::TrustedProxies::default(),
        }
    }
}

impl HttpConfig {
    /// Whether `host` (as [`crate::tenancy`] parsed it) is a platform host.
    pub fn is_platform_host(&self, host: &str) -> bool {
        if self.platform_hosts.is_empty() { host == self.public_url.host() } else { self.platform_hosts.iter().any(|h| h == host) }
    }

    /// A settings value such as `kapu.example.hu, 127.0.0.1, [::1]` as platform hosts; an
    /// entry that is not a host name or IP address (a port, a scheme, a path) is refused.
    pub fn parse_platform_hosts(setting: &str) -> Result<Vec<String>, BadPlatformHost> {
        let mut hosts = Vec::new();
        for entry in setting.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let bad = |why| BadPlatformHost { entry: entry.to_owned(), why };
            let host = crate::tenancy::parse_host(entry.as_bytes()).map_err(|e| bad(e.0))?;
            let has_port = if entry.starts_with('[') { !entry.ends_with(']') } else { entry.contains(':') };
            if has_port {
                return Err(bad("give host names without port"));
            }
            hosts.push(host);
        }
        Ok(hosts)
    }
}

/// A platform host setting's entry that is not a host name or IP address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?}: {why}")]
pub struct BadPlatformHost {
    /// The entry.
    pub entry: String,
    /// Why it is refused.
    pub why: &'static str,
}

/// Who may read the Prometheus metrics at `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Not served (404): the default of the public listener.
    Off,
    /// Served to a request with `Authorization: Bearer <token>`.
    Token(String),
    /// Served to anyone: the demo, and a listener of its own that only the monitoring
    /// network reaches.
    Open,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Keys for personal data.
    pub crypto: Arc<Crypto>,
    /// Settings.
    pub config: Arc<HttpConfig>,
    /// Cached tenant registry.
    pub tenants: TenantDirectory,
    /// The central registry (SZL), for in-person identification; `None` when not configured.
    pub registry: Option<Arc<dyn kapu_clients::identification::Registry>>,
    /// The plugin host and tenants' installations; `None` when plugins are off.
    pub plugins: Option<kapu_plugins::installation::Plugins>,
    /// The SAML service provider implementation, for the national login (KAÜ).
    pub saml: Arc<dyn kapu_saml::ServiceProviderEngine>,
    pub(crate) limiter: Arc<crate::auth::IpLimiter>,
    pub(crate) oidc_keys: Arc<kapu_oidc::keys::KeyCache>,
    /// Relying parties read lately (for the flow's one-round-trip requests).
    pub(crate) oidc_parties: Arc<kapu_oidc::registry::PartyCache>,
    pub(crate) templates: Arc<minijinja::Environment<'static>>,
    pub(crate) calendar: Arc<kapu_calendar::Calendar>,
    /// Where the facts of case types' rules come from (registries, connectors): the source
    /// given to [`AppState::with_facts`], with the parking pre-check of tenants' parking
    /// plugins once plugins run.
    pub facts: Arc<dyn kapu_cases::FactSource>,
    base_facts: Arc<dyn kapu_cases::FactSource>,
    pub(crate) attachments: Result<Arc<dyn object_store::ObjectStore>, Arc<kapu_cases::attachments::OpenStoreError>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Counts working days with this calendar (the deployment's, with the operator's decree
    /// file) instead of the shipped one.
    pub fn with_calendar(mut self, calendar: Arc<kapu_calendar::Calendar>) -> Self {
        self.calendar = calendar;
        self
    }

    /// Uses this registry for in-person identification.
    pub fn with_registry(mut self, registry: Arc<dyn kapu_clients::identification::Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Takes the facts of case types' rules from this source.
    pub fn with_facts(mut self, facts: Arc<dyn kapu_cases::FactSource>) -> Self {
        self.base_facts = facts;
        self.compose_facts();
        self
    }

    fn compose_facts(&mut self) {
        self.facts = match &self.plugins {
            Some(p) => Arc::new(kapu_local_systems::ParkingPrecheck::new(self.base_facts.clone(), p.clone())),
            None => self.base_facts.clone(),
        };
    }

    /// Runs tenants' plugins with this runtime: the plugin admin API, in-person
    /// identification through each tenant's registry plugin, and the parking pre-check.
    pub fn with_plugins(mut self, runtime: Arc<kapu_plugins::Runtime>) -> Self {
        let plugins = kapu_plugins::installation::Plugins::new(self.db.clone(), self.crypto.clone(), runtime);
        self.registry = Some(Arc::new(crate::registry_plugin::PluginRegistry(plugins.clone())));
        self.plugins = Some(plugins);
        self.compose_facts();
        self
    }

    /// Builds the state.
    pub fn new(db: Db, crypto: Arc<Crypto>, config: HttpConfig) -> Self {
        let attachments = kapu_cases::attachments::open_store(&config.attachments).map_err(Arc::new);
        if let Err(e) = &attachments {
            tracing::error!(error = %e, "attachment storage is not usable; applications with files will fail");
        }
        let limiter = Arc::new(crate::auth::IpLimiter::new(config.login_attempts_per_minute));
        Self {
            tenants: TenantDirectory::new(db.clone()),
            db,
            crypto,
            config: Arc::new(config),
            limiter,
            oidc_keys: Arc::default(),
            oidc_parties: Arc::default(),
            registry: None,
            plugins: None,
            saml: Arc::new(kapu_saml::Samael),
            templates: Arc::new(crate::portal::templates()),
            calendar: Arc::new(kapu_calendar::Calendar::hungary()),
            facts: Arc::new(kapu_cases::NoFacts),
            base_facts: Arc::new(kapu_cases::NoFacts),
            attachments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_hosts_come_from_settings_or_the_public_url() {
        let default = HttpConfig { public_url: Origin::parse("https://kapu.example.hu").unwrap(), ..HttpConfig::default() };
        assert!(default.is_platform_host("kapu.example.hu"));
        for other in ["127.0.0.1", "localhost", "[::1]", "hegyvidek.kapu.example.hu"] {
            assert!(!default.is_platform_host(other), "{other}");
        }
        let hosts = HttpConfig::parse_platform_hosts(" Konzol.Example.HU, 127.0.0.1,[::1] ,").unwrap();
        assert_eq!(hosts, ["konzol.example.hu", "127.0.0.1", "[::1]"]);
        let set = HttpConfig { platform_hosts: hosts, ..default };
        assert!(set.is_platform_host("[::1]") && !set.is_platform_host("kapu.example.hu"));
        for bad in ["kapu.example.hu:8080", "[::1]:80", "https://kapu.example.hu", "kapu.example.hu/admin", "a@b", "a b"] {
            let e = HttpConfig::parse_platform_hosts(&format!("kapu.example.hu, {bad}")).unwrap_err();
            assert_eq!(e.entry, bad);
        }
    }
}
