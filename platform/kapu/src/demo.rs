//! `kapu demo`: a private PostgreSQL, the demo tenant, the simulators and the server, all
//! in one command; Ctrl-C stops everything it started, a second run reuses the data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use kapu_core::PLATFORM_SCOPE;
use kapu_http::{AppState, HttpConfig};
use kapu_mail::SmtpConfig;
use tokio::signal::unix::{SignalKind, signal};

use crate::settings::{Settings, connect, ensure_app_database};
use crate::tenant_config::{self, Applied};

/// The demo operator's sign-in.
pub const OPERATOR_EMAIL: &str = "operator@kapu.localhost";
/// The demo operator's password.
pub const OPERATOR_PASSWORD: &str = "Platform-Ops-Tavasz-2026";
/// The demo operator's TOTP secret (base32).
pub const OPERATOR_TOTP: &str = "KAPUDEMOOPERATORKAPUDEMOOPERATOR";

/// Options of `kapu demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoOpts {
    /// Where the demo keeps its PostgreSQL cluster and master key.
    #[arg(long, env = "KAPU_DEMO_DIR", default_value = "/var/tmp/kapu-demo")]
    pub dir: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The tenant folders.
    #[arg(long, env = "KAPU_TENANTS_DIR", default_value = "tenants")]
    pub tenants_dir: PathBuf,
    /// The built admin UI.
    #[arg(long, env = "KAPU_ADMIN_UI_DIR", default_value = "admin-ui/dist")]
    pub admin_ui_dir: PathBuf,
    /// SMTP simulator port.
    #[arg(long, default_value_t = 2525)]
    pub smtp_port: u16,
    /// SMTP simulator's HTTP API port (received messages).
    #[arg(long, default_value_t = 8025)]
    pub mailbox_port: u16,
    /// Registry (SZL) simulator port.
    #[arg(long, default_value_t = 8031)]
    pub registry_port: u16,
    /// National login (KAÜ) simulator port.
    #[arg(long, default_value_t = kapu_sim::kau::DEFAULT_PORT)]
    pub kau_port: u16,
    /// Time-stamping authority simulator port.
    #[arg(long, default_value_t = kapu_sim::tsa::DEFAULT_PORT)]
    pub tsa_port: u16,
    /// First port of the local systems' simulators: Citynform, DMS One, Forrás and Q-Fusion
    /// listen on it and the next three (0 picks free ports).
    #[arg(long, default_value_t = kapu_sim::citynform::DEFAULT_PORT)]
    pub local_systems_port: u16,
}

fn master_key(dir: &Path) -> Result<String> {
    let path = dir.join("master.key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_owned());
    }
    let k = kapu_crypto::MasterKey::generate_base64();
    std::fs::write(&path, &k).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(k)
}

/// Runs the demo until Ctrl-C.
pub async fn run(mut settings: Settings, opts: DemoOpts) -> Result<()> {
    // Listen for Ctrl-C (and SIGTERM) before starting anything: a signal that arrives while
    // the demo is still starting up is kept and stops it once it is up, instead of killing
    // the process by default and leaving PostgreSQL and the simulators behind.
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    // A broken calendar file stops the demo before PostgreSQL is started.
    let calendar = settings.calendar()?;
    std::fs::create_dir_all(&opts.dir).with_context(|| format!("creating {}", opts.dir.display()))?;
    let mut cluster = None;
    if settings.database_url.is_none() {
        eprintln!("Starting a private PostgreSQL cluster in {} …", opts.dir.join("pg").display());
        let pg_dir = opts.dir.join("pg");
        let c = tokio::task::spawn_blocking(move || kapu_pgcluster::PgCluster::start(&pg_dir, 0)).await??;
        // The application connects as a role of its own (NOSUPERUSER NOINHERIT CREATEROLE,
        // owning the database), as in production, so the tenant roles guard the data here too.
        let admin = connect(&c.url("postgres"), &settings.role_prefix, 1).await?;
        let app_role = format!("{}_app", settings.role_prefix);
        ensure_app_database(admin.pool(), &app_role, None, "kapu").await?;
        admin.pool().close().await;
        settings.database_url = Some(c.url_as(&app_role, "kapu"));
        cluster = Some(c);
    }
    if settings.master_key.is_none() && settings.master_key_file.is_none() {
        settings.master_key = Some(master_key(&opts.dir)?);
    }
    // The demo warns about a login role that leaves the tenants unguarded (one given in
    // KAPU_DATABASE_URL); every other command refuses it.
    let url = settings.database_url.as_deref().context("the demo's database")?;
    let db = connect(url, &settings.role_prefix, settings.db_pool).await?;
    if let Some(problem) = db.login_role().await?.problem() {
        eprintln!("WARNING: {problem}. The demo runs anyway; `kapu serve` would refuse to start.");
    }
    let crypto = settings.crypto()?;
    kapu_core::migrate_platform(&db).await?;
    let report = db.migrate_all_tenants(|_| {}).await?;
    if let Some(f) = report.failures().next() {
        anyhow::bail!("migrating tenant {} failed: {:?}", f.slug, f.result);
    }
    let dir = tenant_config::load(&opts.tenants_dir.join("hegyvidek"))?;
    let seed = dir.demo.clone().map(|d| tenant_config::demo_seeder(d, crypto.clone()));
    let mut tenant = match tenant_config::apply(&db, &dir, seed, false).await?.0 {
        Applied::Created(t) => {
            eprintln!("Provisioned the demo tenant {}.", t.slug);
            t
        }
        Applied::Updated(t) => {
            eprintln!("Updated the demo tenant {} from its folder.", t.slug);
            t
        }
    };
    ensure_operator(&db, &crypto).await?;
    // The KAÜ simulator makes its keys at start: the demo tenant trusts this run's ones,
    // unless its folder names an identity provider of its own.
    let kau = kapu_sim::kau::start(opts.kau_port).await.context("starting the KAÜ simulator")?;
    if tenant.settings.get("kau").is_none_or(serde_json::Value::is_null) {
        tenant.settings["kau"] = kau.tenant_settings();
        let mut tx = db.platform_tx().await?;
        kapu_core::update_tenant(tx.conn(), &tenant).await?;
        tx.commit().await?;
    }

    let mail = kapu_sim::smtp::start(opts.smtp_port, opts.mailbox_port).await.context("starting the SMTP simulator")?;
    let registry = kapu_sim::registry::start(opts.registry_port, kapu_sim::registry::DEFAULT_API_KEY)
        .await
        .context("starting the registry simulator")?;
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: mail.smtp_addr.port(),
        from: "Kapu <noreply@kapu.localhost>".into(),
        tls: Default::default(),
        username: None,
        password: None,
    };
    // Bound first: the demo's public URL is its own address, so links in its e-mails work.
    let listener = tokio::net::TcpListener::bind(&opts.listen).await.with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let public = public_addr(addr);
    let http = HttpConfig {
        public_url: kapu_core::Origin::parse(&format!("http://{public}"))?,
        // The platform on every loopback name, as the printed addresses use them.
        platform_hosts: vec![public.ip().to_string(), "127.0.0.1".into(), "localhost".into(), "[::1]".into()],
        // Reachable for a look at the numbers; a real deployment keeps it off the public listener.
        metrics: kapu_http::MetricsAccess::Open,
        admin_ui_dir: opts.admin_ui_dir.clone(),
        tenants_dir: opts.tenants_dir.clone(),
        attachments: opts.dir.join("attachments").display().to_string(),
        ..HttpConfig::default()
    };
    let vendors = crate::demo_plugins::Vendors::start(opts.local_systems_port).await?;
    // The demo's operator allows its simulators' loopback ports, and nothing else local.
    let mut network = kapu_plugins::NetworkPolicy::from_env().map_err(anyhow::Error::msg)?;
    for url in std::iter::once(registry.url()).chain(vendors.urls()) {
        let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).with_context(|| format!("the port of {url}"))?;
        network = network
            .allowing(&format!("127.0.0.1:{port}"))
            .and_then(|n| n.allowing(&format!("localhost:{port}")))
            .map_err(anyhow::Error::msg)?;
    }
    let runtime = Arc::new(crate::wiring::plugin_runtime_with(network)?);
    if let Err(e) = vendors.install(&db, &crypto, &runtime, &tenant, Path::new("plugins"), &registry.url()).await {
        eprintln!("The plugins were not installed for {} ({e:#}); the demo runs without them.", tenant.slug);
    }
    let mut facts = kapu_cases::FixedFacts::default();
    for (code, f) in dir.demo.iter().flat_map(|d| d.facts.iter()) {
        facts.insert(tenant.slug.as_str(), code, f.clone());
    }
    let state = AppState::new(db.clone(), crypto.clone(), http)
        .with_plugins(runtime.clone())
        .with_facts(Arc::new(facts))
        .with_calendar(calendar.clone());
    runtime.add_own_listener(addr);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (tsa, delivery) = documents(&opts, &db, &crypto, &tenant, public).await?;
    let delivery = crate::wiring::DeliveryConfig { calendar, ..delivery };
    let attachments = opts.dir.join("attachments").display().to_string();
    let worker = crate::wiring::full_worker(db.clone(), crypto.clone(), &smtp, Default::default(), &delivery, runtime, &attachments)?;
    let mut rx = stop_rx.clone();
    let worker_task = tokio::spawn(async move {
        worker
            .run(async move {
                let _ = rx.changed().await;
            })
            .await
    });
    let mut rx = stop_rx.clone();
    let server = tokio::spawn(crate::wiring::serve(kapu_http::app(state), listener, None, async move {
        let _ = rx.changed().await;
    }));

    let port = addr.port();
    println!();
    println!("Kapu demo is running.");
    println!("  Citizen portal (Hegyvidék):  http://hegyvidek.localhost:{port}/   or  http://{addr}/t/hegyvidek/");
    println!("  Staff admin UI:              http://hegyvidek.localhost:{port}/admin/   or  http://{addr}/t/hegyvidek/admin/");
    println!("  Operators' console:          http://{addr}/admin/");
    println!("  API docs:                    http://{addr}/t/hegyvidek/api/v1/docs/");
    println!("  Health / metrics:            http://{addr}/healthz  http://{addr}/metrics");
    println!("  SMTP simulator:              smtp://{}   mailbox: {}/messages", mail.smtp_addr, mail.http_url());
    println!("  Registry (SZL) simulator:    {}   test persons for in-person identification:", registry.url());
    for p in kapu_sim::registry::test_persons() {
        println!("    {p}");
    }
    vendors.print();
    println!("  KAÜ (national login) simulator: {}/kau/metadata   \"Belépés KAÜ-val\" on the portal's sign-in page", kau.url());
    println!("  TSA simulator:               {}   test PKI (CA, seal, TSA): {}", tsa.url(), opts.dir.join("pki").display());
    println!();
    println!("Demo logins (TOTP secrets are base32; add them to an authenticator app):");
    if let Some(demo) = &dir.demo {
        for s in &demo.staff {
            println!(
                "  {:<8} {:<32} password {:<24} TOTP {}",
                s.role,
                s.email,
                s.password,
                s.totp_secret.as_deref().unwrap_or(if s.role == "admin" {
                    "(set up at first sign-in)"
                } else {
                    "(not required for clerks)"
                })
            );
        }
    }
    println!("  {:<8} {:<32} password {:<24} TOTP {}", "operator", OPERATOR_EMAIL, OPERATOR_PASSWORD, OPERATOR_TOTP);
    println!("  Current code for a secret: kapu totp <SECRET>");
    println!();
    println!("Press Ctrl-C to stop.");

    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("Stopping …");
    // Each part is stopped in turn, the ones that use the database before the database, and
    // a part that fails to stop is reported without keeping the others running.
    let mut failures = Vec::new();
    let _ = stop_tx.send(true);
    if let Err(e) = server.await.map_err(anyhow::Error::from).and_then(|r| r) {
        failures.push(format!("the server: {e:#}"));
    }
    if let Err(e) = worker_task.await.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from)) {
        failures.push(format!("the job worker: {e:#}"));
    }
    mail.shutdown().await;
    registry.shutdown().await;
    vendors.shutdown().await;
    kau.shutdown().await;
    tsa.shutdown().await;
    db.pool().close().await;
    if let Some(mut c) = cluster
        && let Err(e) =
            tokio::task::spawn_blocking(move || c.stop()).await.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from))
    {
        failures.push(format!("PostgreSQL: {e:#}"));
    }
    if !failures.is_empty() {
        anyhow::bail!("stopping the demo failed: {}", failures.join("; "));
    }
    eprintln!("Stopped.");
    Ok(())
}

/// The local test PKI, made once in the demo's folder; the tenant's seal installed from it;
/// the time-stamping authority simulator started with its TSA certificate.
async fn documents(
    opts: &DemoOpts,
    db: &kapu_core::Db,
    crypto: &Arc<kapu_crypto::Crypto>,
    tenant: &kapu_core::Tenant,
    addr: std::net::SocketAddr,
) -> Result<(kapu_sim::tsa::TsaSim, crate::wiring::DeliveryConfig)> {
    let pki = kapu_documents::pki::TestPki::load_or_create(&opts.dir.join("pki"), &tenant.name, chrono::Utc::now())?;
    crate::documents::install_seal_pem(db, crypto, &tenant.slug, &pki.seal_key, &format!("{}{}", pki.seal_cert, pki.ca_cert)).await?;
    let tsa = kapu_sim::tsa::start(opts.tsa_port, Arc::new(pki.tsa_signer()?)).await.context("starting the TSA simulator")?;
    let config = crate::wiring::DeliveryConfig::new(tsa.url(), Some(pki.ca_cert.clone()), format!("http://{addr}"));
    Ok((tsa, config))
}

/// The address links name: the bound one, or loopback when bound to all interfaces.
fn public_addr(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.ip().is_unspecified() { std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr }
}

/// Creates the demo operator when missing.
pub async fn ensure_operator(db: &kapu_core::Db, crypto: &Arc<kapu_crypto::Crypto>) -> Result<()> {
    let mut tx = db.platform_tx().await?;
    if kapu_staff::find_staff_by_email(&mut tx, OPERATOR_EMAIL).await?.is_none() {
        let op = kapu_staff::create_staff(
            &mut tx,
            kapu_staff::NewStaff {
                email: OPERATOR_EMAIL.into(),
                display_name: "Demo Operator".into(),
                role: kapu_staff::Role::Operator,
                password: OPERATOR_PASSWORD.into(),
            },
        )
        .await?;
        let ring = crypto.keyring(tx.conn(), PLATFORM_SCOPE).await?;
        let secret = totp_rs::Secret::Encoded(OPERATOR_TOTP.into()).to_bytes().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        kapu_staff::enable_totp_with_secret(&mut tx, &ring, op.id, &secret).await?;
    }
    tx.commit().await?;
    Ok(())
}
