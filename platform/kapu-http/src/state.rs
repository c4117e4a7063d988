use std::path::PathBuf;
use std::sync::Arc;

use kapu_core::Db;
use kapu_crypto::Crypto;
use kapu_staff::LoginPolicy;

use crate::tenancy::TenantDirectory;

/// HTTP settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Host names (without port) that mean "the platform itself", not a tenant.
    pub platform_hosts: Vec<String>,
    /// Whether cookies get `Secure` (set when serving TLS).
    pub secure_cookies: bool,
    /// Where the built admin UI lives (`admin-ui/dist`).
    pub admin_ui_dir: PathBuf,
    /// Where tenant assets live (`tenants/`), for crests.
    pub tenants_dir: PathBuf,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Sign-in throttling and session lifetimes.
    pub login_policy: LoginPolicy,
    /// Sign-in attempts allowed per client IP per minute.
    pub login_attempts_per_minute: u32,
    /// Largest accepted application form with its attachments.
    pub upload_limit: usize,
    /// Where attachments are stored: a local folder, or an object store URL such as
    /// `s3://bucket/prefix` (credentials from the usual `AWS_*` variables).
    pub attachments: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            platform_hosts: vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()],
            secure_cookies: false,
            admin_ui_dir: PathBuf::from("admin-ui/dist"),
            tenants_dir: PathBuf::from("tenants"),
            body_limit: 1024 * 1024,
            login_policy: LoginPolicy::default(),
            login_attempts_per_minute: 30,
            upload_limit: 64 * 1024 * 1024,
            attachments: "/var/tmp/kapu-attachments".into(),
        }
    }
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
    pub(crate) attachments: Result<Arc<dyn object_store::ObjectStore>, String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
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
        let attachments = kapu_cases::attachments::open_store(&config.attachments);
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
