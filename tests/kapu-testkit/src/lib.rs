//! Kapu's test kit: boots the real server on a free loopback port against a throwaway
//! PostgreSQL database, with the SMTP simulator beside it, and hands tests a typed client.
//!
//! One PostgreSQL cluster serves the whole test process: the one named by
//! `KAPU_TEST_DATABASE_URL` (CI starts it), or else a private cluster the kit starts once.
//! Every [`Kit`] gets its own database and its own tenant-role prefix, so tests run in
//! parallel without seeing each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod logs;
pub use logs::{log_dir, note_json, note_secret};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kapu_core::{Db, NewTenant, Tenant, TenantSlug};
use kapu_crypto::{Crypto, MasterKey};
use kapu_http::{AppState, HttpConfig};
use kapu_mail::SmtpConfig;
use kapu_sim::smtp::SmtpSim;
use rand::Rng;
use serde_json::Value;

/// The password every kit account has.
pub const PASSWORD: &str = "Tesztelo-Jelszo-2026";

struct Cluster {
    admin_url: String,
    _cluster: Option<kapu_pgcluster::PgCluster>,
    _dir: Option<tempfile::TempDir>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        if let Ok(url) = std::env::var("KAPU_TEST_DATABASE_URL") {
            return Cluster { admin_url: url, _cluster: None, _dir: None };
        }
        let dir = tempfile::Builder::new().prefix("kapu-testpg-").tempdir().expect("temp dir");
        let c = kapu_pgcluster::PgCluster::start(dir.path(), 0).expect("starting a private PostgreSQL for the tests");
        logs::link_server_log(&c.log_path());
        Cluster { admin_url: c.url("postgres"), _cluster: Some(c), _dir: Some(dir) }
    })
}

fn with_db(admin_url: &str, db: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => admin_url.to_owned(),
    }
}

/// `url` with its user and password replaced.
fn as_user(url: &str, user: &str, password: &str) -> Result<String> {
    let mut u = url::Url::parse(url).context("the test cluster's URL")?;
    u.set_username(user).ok().context("setting the URL's user")?;
    u.set_password(Some(password)).ok().context("setting the URL's password")?;
    Ok(u.to_string())
}

fn random_name(prefix: &str) -> String {
    let n: u64 = rand::thread_rng().r#gen();
    format!("{prefix}{:012x}", n & 0xffff_ffff_ffff)
}

/// The operator's plugin network allow-list of the kits: the simulators listen on loopback
/// at free ports, so the kits allow 127.0.0.1 (any port) and `localhost`. (The kits' own
/// servers are not marked as the platform's listeners in this shared runtime: a later
/// simulator may get a stopped kit's port.) Tests of hostile plugins use a runtime of their
/// own with a strict policy.
pub const KIT_PLUGIN_ALLOW: &str = "127.0.0.1,localhost";

/// The plugin host every kit of this test process shares (compiled components are kept in
/// memory, so each plugin compiles once per process), under [`KIT_PLUGIN_ALLOW`].
pub fn plugin_runtime() -> Arc<kapu_plugins::Runtime> {
    static RUNTIME: OnceLock<Arc<kapu_plugins::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let network = kapu_plugins::NetworkPolicy::strict().allowing_list(KIT_PLUGIN_ALLOW).expect("the kit's allow-list");
            let limits = kapu_plugins::Limits { concurrent_calls: 16, network, ..kapu_plugins::Limits::default() };
            Arc::new(kapu_plugins::Runtime::new(limits, None).expect("the plugin host starts"))
        })
        .clone()
}

/// The folder of the plugins' components (`plugins/`, built for wasm32-wasip2 on first use).
pub fn plugin_components() -> &'static std::path::Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| kapu_plugins::harness::build_components(workspace_root().join("plugins")).expect("the plugins build"))
}

/// Kit options.
#[derive(Clone, Debug)]
pub struct KitOptions {
    /// Run a job worker inside the test process.
    pub worker: bool,
    /// Worker timing.
    pub worker_config: kapu_jobs::WorkerConfig,
    /// Point outgoing mail at this port instead of the simulator (e.g. a closed port).
    pub smtp_port: Option<u16>,
    /// Let the worker issue documents (with this time-stamping authority) and run the
    /// delivery deadlines. The public URL is the kit's own unless set.
    pub delivery: Option<kapu::wiring::DeliveryConfig>,
    /// Where the rules of case types get their facts; none by default.
    pub facts: Option<Arc<dyn kapu_cases::FactSource>>,
    /// How the worker's queue feed job paces itself (fast by default, for tests).
    pub queue_feed: kapu_queue::FeedSettings,
    /// Who may read `/metrics` (open by default, as in the demo).
    pub metrics: kapu_http::MetricsAccess,
    /// Reverse proxies whose `X-Forwarded-For` is believed (none by default).
    pub trusted_proxies: kapu_http::client_ip::TrustedProxies,
    /// The deployment's working-day calendar for the server and the worker, as
    /// `KAPU_CALENDAR_FILE` makes it; the shipped one by default.
    pub calendar: Option<Arc<kapu_calendar::Calendar>>,
}

impl Default for KitOptions {
    fn default() -> Self {
        Self {
            worker: false,
            worker_config: kapu_jobs::WorkerConfig {
                lease: Duration::from_secs(2),
                backoff: Duration::from_millis(50),
                poll: Duration::from_millis(200),
            },
            smtp_port: None,
            delivery: None,
            facts: None,
            queue_feed: kapu_queue::FeedSettings { interval: Duration::from_millis(100), max_backoff: Duration::from_secs(2), batch: 100 },
            metrics: kapu_http::MetricsAccess::Open,
            trusted_proxies: kapu_http::client_ip::TrustedProxies::default(),
            calendar: None,
        }
    }
}

/// A running server with its own database.
pub struct Kit {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The app's database handle.
    pub db: Db,
    /// The app's keys.
    pub crypto: Arc<Crypto>,
    /// The master key, base64.
    pub master_key: String,
    /// URL of this kit's database as the app's login role (what the server and the `kapu`
    /// commands connect as).
    pub database_url: String,
    /// URL of this kit's database as the cluster's superuser, for tests that tamper on purpose.
    pub admin_database_url: String,
    /// The tenant-role prefix of this kit.
    pub role_prefix: String,
    /// The SMTP simulator.
    pub mail: SmtpSim,
    /// The central registry (SZL) simulator.
    pub registry: kapu_sim::registry::RegistrySim,
    /// SMTP settings pointing at the simulator.
    pub smtp: SmtpConfig,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The attachment folder, removed with the kit.
    pub attachments: tempfile::TempDir,
}

/// A tenant made by the kit, with an admin (TOTP on, known secret) and a clerk (no TOTP).
#[derive(Clone, Debug)]
pub struct TestTenant {
    /// The registry entry.
    pub tenant: Tenant,
    /// Admin e-mail.
    pub admin_email: String,
    /// Admin TOTP secret (raw bytes).
    pub admin_totp: Vec<u8>,
    /// Clerk e-mail.
    pub clerk_email: String,
}

impl TestTenant {
    /// The tenant's slug.
    pub fn slug(&self) -> &str {
        self.tenant.slug.as_str()
    }

    /// The admin's TOTP secret in base32.
    pub fn admin_totp_base32(&self) -> String {
        totp_rs::Secret::Raw(self.admin_totp.clone()).to_encoded().to_string()
    }
}

/// The current TOTP code of a secret, `offset_steps` steps of 30 s away.
pub fn totp_code(secret: &[u8], offset_steps: i64) -> String {
    let t = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, secret.to_vec(), None, String::new());
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    t.generate(u64::try_from(now).unwrap_or(0))
}

impl Kit {
    /// Boots a kit with default options.
    pub async fn start() -> Result<Kit> {
        Self::start_with(KitOptions::default()).await
    }

    /// Boots a kit.
    pub async fn start_with(opts: KitOptions) -> Result<Kit> {
        // KAPU_TEST_LOG=<filter> shows the server's logs, for debugging a failing test;
        // otherwise they go to the suite's log file, which the log scan reads.
        logs::init();
        note_secret(PASSWORD);
        let admin_url = tokio::task::spawn_blocking(|| cluster().admin_url.clone()).await?;
        let name = random_name("kapu_test_");
        let role_prefix = random_name("kt");
        // The app connects as a login role of its own, as in production (NOSUPERUSER
        // NOINHERIT CREATEROLE, owning the kit's database): roles are cluster-wide, so its
        // name carries the kit's random prefix.
        let app_role = format!("{role_prefix}_app");
        let app_password = random_name("pw");
        let admin = sqlx::PgPool::connect(&admin_url).await.context("connecting to the test cluster")?;
        kapu::settings::ensure_app_database(&admin, &app_role, Some(&app_password), &name).await?;
        admin.close().await;
        let admin_database_url = with_db(&admin_url, &name);
        let database_url = as_user(&admin_database_url, &app_role, &app_password)?;
        let db = kapu::settings::connect(&database_url, &role_prefix, 12).await?;
        kapu::settings::require_safe_login_role(&db).await?;
        kapu_core::migrate_platform(&db).await?;
        let master_key = MasterKey::generate_base64();
        note_secret(&master_key);
        let crypto = Arc::new(Crypto::new(MasterKey::from_base64(&master_key)?, vec![]));
        let mail = kapu_sim::smtp::start(0, 0).await?;
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port: opts.smtp_port.unwrap_or(mail.smtp_addr.port()),
            from: "Kapu teszt <noreply@kapu.localhost>".into(),
            tls: Default::default(),
            username: None,
            password: None,
        };
        let attachments = tempfile::tempdir()?;
        // Bound first: the kit's own address is its public URL, the base of every link.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let attachment_store = attachments.path().display().to_string();
        let http = HttpConfig {
            public_url: kapu_core::Origin::parse(&base)?,
            metrics: opts.metrics.clone(),
            admin_ui_dir: workspace_root().join("admin-ui/dist"),
            tenants_dir: workspace_root().join("tenants"),
            attachments: attachment_store.clone(),
            trusted_proxies: opts.trusted_proxies.clone(),
            ..HttpConfig::default()
        };
        let registry = kapu_sim::registry::start(0, kapu_sim::registry::DEFAULT_API_KEY).await?;
        let mut state = AppState::new(db.clone(), crypto.clone(), http).with_plugins(plugin_runtime());
        if let Some(f) = opts.facts.clone() {
            state = state.with_facts(f);
        }
        if let Some(c) = opts.calendar.clone() {
            state = state.with_calendar(c);
        }
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        let mut srx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = kapu::wiring::serve(kapu_http::app(state), listener, None, async move {
                let _ = srx.changed().await;
            })
            .await;
        }));
        if opts.worker {
            let mut w = kapu::wiring::with_attachments(
                kapu::wiring::worker(db.clone(), crypto.clone(), &smtp, opts.worker_config.clone())?,
                &attachment_store,
            )?;
            if let Some(mut d) = opts.delivery.clone() {
                if d.public_url.is_empty() {
                    d.public_url.clone_from(&base);
                }
                if let Some(c) = opts.calendar.clone() {
                    d.calendar = c;
                }
                w = kapu::wiring::with_delivery(w, crypto.clone(), &d)?;
            }
            w = kapu::wiring::with_local_systems(w, db.clone(), crypto.clone(), plugin_runtime());
            w = kapu::wiring::with_queue(w, db.clone(), crypto.clone(), plugin_runtime(), opts.queue_feed.clone());
            let mut wrx = rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = w
                    .run(async move {
                        let _ = wrx.changed().await;
                    })
                    .await;
            }));
        }
        Ok(Kit {
            base,
            db,
            crypto,
            master_key,
            database_url,
            admin_database_url,
            role_prefix,
            mail,
            registry,
            smtp,
            stop,
            tasks,
            attachments,
        })
    }

    /// Stops the server and worker and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.db.pool().close().await;
    }

    /// A job worker with the mail and local-system handlers that runs only when a test
    /// drives it (`run_one`, `drain`): for tests that take the queue step by step.
    pub fn job_worker(&self, config: kapu_jobs::WorkerConfig) -> Result<kapu_jobs::Worker> {
        let w = kapu::wiring::worker(self.db.clone(), self.crypto.clone(), &self.smtp, config)?;
        Ok(kapu::wiring::with_local_systems(w, self.db.clone(), self.crypto.clone(), plugin_runtime()))
    }

    /// Installs the plugin `plugins/<name>` for tenant `t` and configures it with `values`,
    /// as its admin would.
    pub async fn install_plugin(&self, t: &TestTenant, name: &str, values: &[(&str, &str)]) -> Result<()> {
        let dir = workspace_root().join("plugins").join(name);
        let manifest = std::fs::read_to_string(dir.join("plugin.toml"))?;
        let component = std::fs::read(plugin_components().join(format!("{}.wasm", name.replace('-', "_"))))?;
        let now = chrono::Utc::now();
        let mut tx = self.db.tenant_tx(&t.tenant).await?;
        kapu_plugins::installation::install(&mut tx, &plugin_runtime(), &manifest, &component, None, now).await?;
        let ring = self.crypto.keyring(tx.conn(), t.slug()).await?;
        let values = values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        kapu_plugins::installation::configure(&mut tx, &ring, name, values, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Installs the registry plugin for tenant `t`, configured for the kit's SZL simulator.
    pub async fn install_registry_plugin(&self, t: &TestTenant) -> Result<()> {
        let url = self.registry.url();
        self.install_plugin(t, "registry", &[("base-url", &url), ("api-key", self.registry.api_key())]).await
    }

    /// Provisions a tenant with an admin and a clerk, both e-mailed `<role>@<slug>.test`.
    pub async fn tenant(&self, slug: &str, name: &str) -> Result<TestTenant> {
        self.tenant_with_domains(slug, name, vec![format!("{slug}.test")]).await
    }

    /// Like [`Kit::tenant`] with chosen domains.
    pub async fn tenant_with_domains(&self, slug: &str, name: &str, domains: Vec<String>) -> Result<TestTenant> {
        let admin_email = format!("admin@{slug}.test");
        let clerk_email = format!("clerk@{slug}.test");
        let mut secret = vec![0u8; 20];
        rand::thread_rng().fill(&mut secret[..]);
        let (a, c, s, crypto) = (admin_email.clone(), clerk_email.clone(), secret.clone(), self.crypto.clone());
        let seed: kapu_core::Seeder<'static> = Box::new(move |tx| {
            Box::pin(async move {
                let mk = |email: String, name: &str, role| kapu_staff::NewStaff {
                    email,
                    display_name: name.into(),
                    role,
                    password: PASSWORD.into(),
                };
                let admin = kapu_staff::create_staff(tx, mk(a, "Teszt Admin", kapu_staff::Role::Admin)).await?;
                kapu_staff::create_staff(tx, mk(c, "Teszt Ügyintéző", kapu_staff::Role::Clerk)).await?;
                let scope = tx.slug().to_string();
                let ring = crypto.keyring(tx.conn(), &scope).await?;
                kapu_staff::enable_totp_with_secret(tx, &ring, admin.id, &s).await?;
                Ok(())
            })
        });
        let tenant = kapu_core::provision_tenant(
            &self.db,
            NewTenant { slug: TenantSlug::parse(slug)?, name: name.into(), domains, settings: serde_json::json!({}) },
            Some(seed),
        )
        .await?;
        let t = TestTenant { tenant, admin_email, admin_totp: secret, clerk_email };
        for s in [&t.admin_email, &t.clerk_email, &t.admin_totp_base32()] {
            note_secret(s);
        }
        Ok(t)
    }

    /// Creates a platform operator with TOTP; returns (e-mail, secret).
    pub async fn operator(&self) -> Result<(String, Vec<u8>)> {
        let email = "operator@platform.test".to_owned();
        let mut secret = vec![0u8; 20];
        rand::thread_rng().fill(&mut secret[..]);
        let mut tx = self.db.platform_tx().await?;
        let op = kapu_staff::create_staff(
            &mut tx,
            kapu_staff::NewStaff {
                email: email.clone(),
                display_name: "Teszt Operátor".into(),
                role: kapu_staff::Role::Operator,
                password: PASSWORD.into(),
            },
        )
        .await?;
        let ring = self.crypto.keyring(tx.conn(), kapu_core::PLATFORM_SCOPE).await?;
        kapu_staff::enable_totp_with_secret(&mut tx, &ring, op.id, &secret).await?;
        tx.commit().await?;
        note_secret(&email);
        note_secret(&totp_rs::Secret::Raw(secret.clone()).to_encoded().to_string());
        Ok((email, secret))
    }

    /// A fresh API client for a tenant reached by `/t/{slug}` on the platform host.
    pub fn client(&self, slug: &str) -> Client {
        Client::new(format!("{}/t/{slug}", self.base), None)
    }

    /// A fresh API client for a tenant reached by its host name.
    pub fn client_by_host(&self, host: &str) -> Client {
        Client::new(self.base.clone(), Some(host.to_owned()))
    }

    /// A fresh API client for the platform API.
    pub fn platform_client(&self) -> Client {
        Client::new(self.base.clone(), None)
    }

    /// Signs a tenant's clerk in.
    pub async fn clerk(&self, t: &TestTenant) -> Result<Client> {
        let mut c = self.client(t.slug());
        c.login(&t.clerk_email, PASSWORD).await?.expect_status(200)?;
        Ok(c)
    }

    /// Signs a tenant's admin in, with TOTP.
    pub async fn admin(&self, t: &TestTenant) -> Result<Client> {
        let mut c = self.client(t.slug());
        c.login(&t.admin_email, PASSWORD).await?.expect_status(200)?;
        c.totp(&t.admin_totp).await?;
        Ok(c)
    }

    /// The `kapu` binary (built by `cargo build -p kapu` before the tests), or `KAPU_BIN`
    /// (for a build directory shared by several checkouts, where `target/debug/kapu` may be
    /// another checkout's).
    pub fn kapu_bin() -> PathBuf {
        if let Some(bin) = std::env::var_os("KAPU_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
        let bin = dir.join("kapu");
        assert!(bin.exists(), "{} is missing: run `cargo build -p kapu` before the tests", bin.display());
        bin
    }

    /// A `kapu` command with this kit's database and keys in its environment.
    pub fn kapu_command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(Self::kapu_bin());
        cmd.env("KAPU_DATABASE_URL", &self.database_url)
            .env("KAPU_MASTER_KEY", &self.master_key)
            .env("KAPU_ROLE_PREFIX", &self.role_prefix)
            .env("KAPU_LOG", "warn")
            .env(kapu_plugins::network::ALLOW_ENV, KIT_PLUGIN_ALLOW)
            .env_remove("RUST_BACKTRACE")
            .current_dir(workspace_root())
            .kill_on_drop(true);
        cmd
    }

    /// A superuser connection to this kit's database (for tests that tamper on purpose).
    pub async fn superuser(&self) -> Result<sqlx::PgPool> {
        Ok(sqlx::PgPool::connect(&self.admin_database_url).await?)
    }
}

/// The workspace root (for tenant folders, the admin UI and the binaries).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// Fails unless the status is `status`.
    pub fn expect_status(&self, status: u16) -> Result<&Self> {
        if self.status != status {
            bail!("expected {status}, got {}: {}", self.status, self.text);
        }
        Ok(self)
    }

    /// The problem type's code (`urn:kapu:problem:<code>`), if the body is a problem.
    pub fn problem(&self) -> Option<String> {
        let ct = self.headers.get("content-type")?.to_str().ok()?;
        if ct != "application/problem+json" {
            return None;
        }
        self.json()["type"].as_str()?.strip_prefix("urn:kapu:problem:").map(str::to_owned)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// A typed API client: keeps the session cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Client {
    /// Base URL, e.g. `http://127.0.0.1:1234/t/a`.
    pub base: String,
    host: Option<String>,
    http: reqwest::Client,
    /// The session cookie (`name=value`), once signed in.
    pub cookie: Option<String>,
    /// The CSRF token, once signed in.
    pub csrf: Option<String>,
}

impl Client {
    fn new(base: String, host: Option<String>) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client");
        Self { base, host, http, cookie: None, csrf: None }
    }

    /// The same client connecting from `ip`, to present another client network (on Linux
    /// any 127.x.y.z reaches the kit's loopback listener; the server throttles by IPv4 /24).
    pub fn from_address(mut self, ip: std::net::IpAddr) -> Self {
        self.http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).local_address(ip).build().expect("http client");
        self
    }

    /// Sends a request to `{base}{path}` with the session cookie and CSRF token.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Result<Reply> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(h) = &self.host {
            req = req.header("host", h);
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            note_json(b);
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await?;
        let reply = Reply { status, headers, text };
        note_json(&reply.json());
        Ok(reply)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Result<Reply> {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply> {
        self.send(reqwest::Method::POST, path, Some(body), &[]).await
    }

    /// Signs in; keeps cookie and CSRF token on success.
    pub async fn login(&mut self, email: &str, password: &str) -> Result<Reply> {
        let r = self.post("/api/v1/auth/login", &serde_json::json!({ "email": email, "password": password })).await?;
        self.take_session(&r);
        Ok(r)
    }

    /// Signs in on the platform API.
    pub async fn platform_login(&mut self, email: &str, password: &str) -> Result<Reply> {
        let r = self.post("/api/v1/platform/auth/login", &serde_json::json!({ "email": email, "password": password })).await?;
        self.take_session(&r);
        Ok(r)
    }

    fn take_session(&mut self, r: &Reply) {
        if r.status == 200 {
            self.cookie =
                r.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| v.split(';').next().map(str::to_owned));
            self.csrf = r.json()["csrf_token"].as_str().map(str::to_owned);
            if let Some((_, value)) = self.cookie.as_deref().and_then(|c| c.split_once('=')) {
                note_secret(value);
            }
        }
    }

    /// Passes TOTP with the current code (or the next one, if the current step was used).
    pub async fn totp(&self, secret: &[u8]) -> Result<Reply> {
        self.totp_at("/api/v1/auth/totp", secret).await
    }

    /// Passes the operator's TOTP.
    pub async fn platform_totp(&self, secret: &[u8]) -> Result<Reply> {
        self.totp_at("/api/v1/platform/auth/totp", secret).await
    }

    async fn totp_at(&self, path: &str, secret: &[u8]) -> Result<Reply> {
        for offset in [0, 1] {
            let r = self.post(path, &serde_json::json!({ "code": totp_code(secret, offset) })).await?;
            if r.status == 200 {
                return Ok(r);
            }
        }
        bail!("TOTP was refused with the current and the next code")
    }
}

/// Polls `check` every 25 ms until it yields a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    loop {
        tick.tick().await;
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
    }
}
