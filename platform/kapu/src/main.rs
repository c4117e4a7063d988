//! The `kapu` command.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kapu::demo::{self, DemoOpts};
use kapu::settings::Settings;
use kapu::tenant_config::{self, Applied};
use kapu_core::{NewTenant, TenantSlug};
use kapu_http::{AppState, HttpConfig, MetricsAccess};
use kapu_mail::{SmtpConfig, SmtpTls};

/// Kapu: a multi-tenant e-government platform for municipalities.
#[derive(Parser)]
#[command(name = "kapu", version, about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform with the demo tenant, a private PostgreSQL and the simulators.
    Demo(DemoOpts),
    /// Serve the platform (and run the job worker, unless --no-worker).
    Serve(ServeOpts),
    /// Run only the job worker.
    Worker(WorkerOpts),
    /// Apply platform and tenant migrations.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage platform operators.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Manage a tenant's staff.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Master and data keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Print the OpenAPI document of a municipality's API (`/api/v1`), or with `--platform`
    /// the operators' (`/api/v1/platform`).
    Openapi {
        /// The operators' API instead of a municipality's.
        #[arg(long)]
        platform: bool,
    },
    /// Print the current TOTP code of a base32 secret (for the demo logins).
    Totp {
        /// Base32 secret.
        secret: String,
    },
    /// Benchmark provisioning, migration and API reads (see the README); `kapu bench oidc`,
    /// `plugins` and `documents` benchmark those parts.
    Bench(kapu::bench::BenchOpts),
    /// Manage a tenant's plugins.
    #[command(subcommand)]
    Plugin(kapu::plugin_cmd::PluginCmd),
    /// Official documents: a test PKI, issuing a sealed decision.
    #[command(subcommand)]
    Documents(kapu::documents::DocumentsCmd),
    /// The working-day calendar: check a decree file, list the years on file.
    #[command(subcommand)]
    Calendar(kapu::calendar_cmd::CalendarCmd),
}

#[derive(clap::Args)]
struct SmtpOpts {
    /// SMTP server host for outgoing e-mail.
    #[arg(long, env = "KAPU_SMTP_HOST", default_value = "127.0.0.1")]
    smtp_host: String,
    /// SMTP port.
    #[arg(long, env = "KAPU_SMTP_PORT", default_value_t = 2525)]
    smtp_port: u16,
    /// Sender address.
    #[arg(long, env = "KAPU_SMTP_FROM", default_value = "Kapu <noreply@kapu.localhost>")]
    smtp_from: String,
    /// Use STARTTLS.
    #[arg(long, env = "KAPU_SMTP_STARTTLS")]
    smtp_starttls: bool,
}

impl SmtpOpts {
    fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: self.smtp_host.clone(),
            port: self.smtp_port,
            from: self.smtp_from.clone(),
            tls: if self.smtp_starttls { SmtpTls::StartTls } else { SmtpTls::None },
            username: std::env::var("KAPU_SMTP_USERNAME").ok(),
            password: std::env::var("KAPU_SMTP_PASSWORD").ok(),
        }
    }
}

#[derive(clap::Args)]
struct DeliveryOpts {
    /// The time-stamping authority (RFC 3161 over HTTP) that issued documents are stamped by.
    #[arg(long, env = "KAPU_TSA_URL", default_value = "http://127.0.0.1:8033/tsa")]
    tsa_url: String,
    /// PEM certificates trusted to issue the TSA's certificate.
    #[arg(long, env = "KAPU_TSA_CA")]
    tsa_ca: Option<PathBuf>,
    /// The deployment's public URL (scheme, host, port): the operator console's origin and,
    /// with `/t/<slug>`, the base of every link to a tenant without an `origin` of its own.
    /// Links are never made from a request's Host header.
    #[arg(long, env = "KAPU_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    public_url: String,
}

impl DeliveryOpts {
    fn config(&self) -> Result<kapu::wiring::DeliveryConfig> {
        let trust = match &self.tsa_ca {
            Some(f) => Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?),
            None => None,
        };
        Ok(kapu::wiring::DeliveryConfig::new(self.tsa_url.clone(), trust, self.public_url.clone()))
    }
}

#[derive(clap::Args)]
struct WorkerOpts {
    /// Seconds a claimed job stays reserved before another worker may take it over.
    #[arg(long, env = "KAPU_JOB_LEASE_SECONDS", default_value_t = 300.0)]
    lease_seconds: f64,
    /// First retry delay in seconds (doubles per attempt, up to an hour).
    #[arg(long, env = "KAPU_JOB_BACKOFF_SECONDS", default_value_t = 10.0)]
    backoff_seconds: f64,
    /// Seconds between scans for due retries and expired leases.
    #[arg(long, env = "KAPU_JOB_POLL_SECONDS", default_value_t = 15.0)]
    poll_seconds: f64,
    /// The attachment store the servers use (see `kapu serve --attachments`), for its sweeper.
    #[arg(long, env = "KAPU_ATTACHMENTS", default_value = "/var/tmp/kapu-attachments")]
    attachments: String,
    #[command(flatten)]
    smtp: SmtpOpts,
    #[command(flatten)]
    delivery: DeliveryOpts,
}

impl WorkerOpts {
    fn config(&self) -> kapu_jobs::WorkerConfig {
        let d = |s: f64| std::time::Duration::from_secs_f64(s.max(0.01));
        kapu_jobs::WorkerConfig { lease: d(self.lease_seconds), backoff: d(self.backoff_seconds), poll: d(self.poll_seconds) }
    }
}

#[derive(clap::Args)]
struct ServeOpts {
    /// Address to listen on.
    #[arg(long, env = "KAPU_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// PEM certificate chain; serve HTTPS with it.
    #[arg(long, env = "KAPU_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, env = "KAPU_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a fresh self-signed certificate (development only).
    #[arg(long, conflicts_with = "tls_cert")]
    dev_tls: bool,
    /// Do not run the job worker in this process.
    #[arg(long)]
    no_worker: bool,
    /// The tenant folders.
    #[arg(long, env = "KAPU_TENANTS_DIR", default_value = "tenants")]
    tenants_dir: PathBuf,
    /// The built admin UI.
    #[arg(long, env = "KAPU_ADMIN_UI_DIR", default_value = "admin-ui/dist")]
    admin_ui_dir: PathBuf,
    /// Where application attachments are stored: a folder, or an object store URL such as
    /// `s3://bucket/prefix` (credentials from the `AWS_*` variables).
    #[arg(long, env = "KAPU_ATTACHMENTS", default_value = "/var/tmp/kapu-attachments")]
    attachments: String,
    /// Host names, comma-separated, where the operator console and platform API answer and
    /// `/t/<slug>/` is served (default: the public URL's host).
    #[arg(long, env = "KAPU_PLATFORM_HOSTS")]
    platform_hosts: Option<String>,
    /// Serve `/metrics` on a listener of its own, e.g. `127.0.0.1:9100`, and not on the
    /// public one.
    #[arg(long, env = "KAPU_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Require `Authorization: Bearer <token>` for `/metrics`; without KAPU_METRICS_LISTEN
    /// this serves it on the public listener (otherwise it is off there).
    #[arg(long, env = "KAPU_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Reverse proxies (addresses or ranges, comma-separated) whose `X-Forwarded-For` names
    /// the client for sign-in throttling; without them the header is ignored.
    #[arg(long, env = "KAPU_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
    #[command(flatten)]
    smtp: SmtpOpts,
    #[command(flatten)]
    delivery: DeliveryOpts,
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Slug (a-z, 0-9, hyphens).
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Host name (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// List tenants.
    List,
    /// Create or update a tenant from its folder (tenant.toml).
    Apply {
        /// The folder, e.g. tenants/hegyvidek.
        dir: PathBuf,
        /// Also create the demo staff of demo.toml (new tenants only).
        #[arg(long)]
        with_demo_data: bool,
    },
    /// Check a folder's case types and run the example cases beside them.
    Test {
        /// A tenant folder (its case-types/ is tested) or a folder of case types.
        dir: PathBuf,
    },
    /// Write a tenant's configuration to a folder.
    Export {
        /// Slug.
        slug: String,
        /// Output folder.
        dir: PathBuf,
    },
    /// Create a tenant from an exported folder; refuses an existing slug.
    Import {
        /// The folder.
        dir: PathBuf,
    },
    /// Delete a tenant and all its data.
    Delete {
        /// Slug.
        slug: String,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
    /// Stop serving a tenant (its data stays); requests get 503 tenant-suspended.
    Suspend {
        /// Slug.
        slug: String,
    },
    /// Serve a suspended tenant again.
    Resume {
        /// Slug.
        slug: String,
    },
    /// Start using a new data key for the tenant and re-encrypt its personal data.
    RotateKey {
        /// Slug.
        slug: String,
    },
}

#[derive(Subcommand)]
enum OperatorCmd {
    /// Create an operator (password from KAPU_NEW_PASSWORD).
    Create {
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Create a staff account (password from KAPU_NEW_PASSWORD).
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// clerk or admin.
        #[arg(long, default_value = "clerk")]
        role: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain of one tenant, or of all.
    Verify {
        /// Tenant slug; all tenants when omitted.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Print a new random master key.
    Generate,
    /// Re-wrap every data key under the current master key (after changing it), bound to its
    /// tenant, and seal again every value not yet bound to its place.
    Rewrap,
}

fn init_logs(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("KAPU_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json { b.json().init() } else { b.compact().init() }
}

fn new_password() -> Result<String> {
    std::env::var("KAPU_NEW_PASSWORD").context("set KAPU_NEW_PASSWORD to the new account's password")
}

/// mimalloc rather than glibc's malloc: a request allocates many small, short-lived buffers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let s = cli.settings;
    match cli.command {
        Command::Demo(opts) => {
            init_logs(true);
            demo::run(s, opts).await
        }
        Command::Serve(opts) => {
            init_logs(true);
            serve(s, opts).await
        }
        Command::Worker(opts) => {
            init_logs(true);
            // A broken calendar file stops start-up before anything else is touched.
            let delivery = kapu::wiring::DeliveryConfig { calendar: s.calendar()?, ..opts.delivery.config()? };
            let db = s.db().await?;
            let crypto = s.crypto()?;
            let runtime = std::sync::Arc::new(kapu::wiring::plugin_runtime()?);
            let w = kapu::wiring::full_worker(db, crypto, &opts.smtp.config(), opts.config(), &delivery, runtime, &opts.attachments)?;
            w.run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(())
        }
        Command::Migrate => {
            init_logs(false);
            migrate(&s).await
        }
        Command::Tenant(cmd) => {
            init_logs(false);
            tenant(&s, cmd).await
        }
        Command::Operator(OperatorCmd::Create { email, name }) => {
            let db = s.db().await?;
            let mut tx = db.platform_tx().await?;
            let op = kapu_staff::create_staff(
                &mut tx,
                kapu_staff::NewStaff { email, display_name: name, role: kapu_staff::Role::Operator, password: new_password()? },
            )
            .await?;
            tx.commit().await?;
            println!("Created operator {} ({}); TOTP is set up at first sign-in.", op.email, op.id);
            Ok(())
        }
        Command::Staff(StaffCmd::Create { tenant, email, name, role }) => {
            let db = s.db().await?;
            let role = match kapu_staff::Role::parse(&role) {
                Some(r @ (kapu_staff::Role::Clerk | kapu_staff::Role::Admin)) => r,
                _ => bail!("--role must be clerk or admin"),
            };
            let slug = TenantSlug::parse(&tenant)?;
            let mut tx = db.tenant_tx_for(&slug).await.with_context(|| format!("tenant {tenant:?}"))?;
            let st = kapu_staff::create_staff(&mut tx, kapu_staff::NewStaff { email, display_name: name, role, password: new_password()? })
                .await?;
            tx.commit().await?;
            println!("Created {} {} ({}).", role.as_str(), st.email, st.id);
            Ok(())
        }
        Command::Audit(AuditCmd::Verify { tenant }) => audit_verify(&s, tenant).await,
        Command::Keys(KeysCmd::Generate) => {
            println!("{}", kapu_crypto::MasterKey::generate_base64());
            Ok(())
        }
        Command::Keys(KeysCmd::Rewrap) => rewrap(&s).await,
        Command::Openapi { platform } => {
            let side = if platform { kapu_http::openapi::Side::Platform } else { kapu_http::openapi::Side::Tenant };
            println!("{}", kapu_http::openapi::json(side));
            Ok(())
        }
        Command::Totp { secret } => {
            let bytes = totp_rs::Secret::Encoded(secret).to_bytes().map_err(|_| anyhow::anyhow!("the secret is not base32"))?;
            let t = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
            println!("{}", t.generate_current()?);
            Ok(())
        }
        Command::Bench(mut opts) => {
            init_logs(false);
            match opts.target.take() {
                Some(kapu::bench::BenchTarget::Oidc(o)) => kapu::bench_oidc::run(s, o).await,
                Some(kapu::bench::BenchTarget::Plugins(o)) => kapu::bench_plugins::run(o).await,
                Some(kapu::bench::BenchTarget::Documents(o)) => kapu::documents::bench(o).await,
                Some(kapu::bench::BenchTarget::Cases(o)) => kapu::bench_cases::run(s, o).await,
                None => kapu::bench::run(s, opts).await,
            }
        }
        Command::Documents(cmd) => {
            init_logs(false);
            kapu::documents::run(&s, cmd).await
        }
        Command::Plugin(cmd) => {
            init_logs(false);
            kapu::plugin_cmd::run(&s, cmd).await
        }
        Command::Calendar(cmd) => kapu::calendar_cmd::run(s.calendar_file.as_deref(), cmd),
    }
}

async fn serve(s: Settings, opts: ServeOpts) -> Result<()> {
    // A broken calendar file stops start-up before anything else is touched.
    let calendar = s.calendar()?;
    let db = s.db().await?;
    let crypto = s.crypto()?;
    kapu_core::migrate_platform(&db).await?;
    let tls = match (&opts.tls_cert, &opts.tls_key, opts.dev_tls) {
        (Some(c), Some(k), _) => Some(kapu_http::tls::server_config(&std::fs::read(c)?, &std::fs::read(k)?)?),
        (_, _, true) => {
            let (c, k) = kapu_http::tls::dev_certificate(&[])?;
            eprintln!("Serving HTTPS with a self-signed development certificate.");
            Some(kapu_http::tls::server_config(c.as_bytes(), k.as_bytes())?)
        }
        _ => None,
    };
    let public_url = kapu_core::Origin::parse(&opts.delivery.public_url).context("KAPU_PUBLIC_URL")?;
    let platform_hosts = match &opts.platform_hosts {
        Some(h) => HttpConfig::parse_platform_hosts(h).map_err(|e| anyhow::anyhow!("KAPU_PLATFORM_HOSTS: {e}"))?,
        None => Vec::new(),
    };
    let token = opts.metrics_token.clone().filter(|t| !t.trim().is_empty()).map(|t| t.trim().to_owned());
    let (public_metrics, own_metrics) = match (&opts.metrics_listen, token) {
        (Some(addr), Some(t)) => (MetricsAccess::Off, Some((addr.clone(), MetricsAccess::Token(t)))),
        (Some(addr), None) => (MetricsAccess::Off, Some((addr.clone(), MetricsAccess::Open))),
        (None, Some(t)) => (MetricsAccess::Token(t), None),
        (None, None) => (MetricsAccess::Off, None),
    };
    // Behind a proxy that terminates TLS the public URL is https although this listener is not.
    let under_tls = tls.is_some() || public_url.is_https();
    let http = HttpConfig {
        public_url,
        platform_hosts,
        secure_cookies: under_tls,
        hsts: under_tls,
        metrics: public_metrics,
        admin_ui_dir: opts.admin_ui_dir,
        tenants_dir: opts.tenants_dir,
        attachments: opts.attachments.clone(),
        trusted_proxies: kapu_http::client_ip::TrustedProxies::parse(opts.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|e| anyhow::anyhow!("KAPU_TRUSTED_PROXIES: {e}"))?,
        ..HttpConfig::default()
    };
    let delivery = kapu::wiring::DeliveryConfig { calendar: calendar.clone(), ..opts.delivery.config()? };
    // Tenants reach their local systems and the central registries through their plugins.
    let runtime = std::sync::Arc::new(kapu::wiring::plugin_runtime()?);
    let state = AppState::new(db.clone(), crypto.clone(), http).with_plugins(runtime.clone()).with_calendar(calendar);
    let listener = tokio::net::TcpListener::bind(&opts.listen).await.with_context(|| format!("binding {}", opts.listen))?;
    tracing::info!(addr = %listener.local_addr()?, tls = tls.is_some(), "serving");
    // No plugin reaches the platform's own listener, whatever range the operator allows.
    runtime.add_own_listener(listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = if opts.no_worker {
        None
    } else {
        let w =
            kapu::wiring::full_worker(db.clone(), crypto, &opts.smtp.config(), Default::default(), &delivery, runtime, &opts.attachments)?;
        let mut rx = stop_rx.clone();
        Some(tokio::spawn(async move {
            w.run(async move {
                let _ = rx.changed().await;
            })
            .await
        }))
    };
    let metrics_server = match own_metrics {
        Some((addr, access)) => {
            let l = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr} (KAPU_METRICS_LISTEN)"))?;
            tracing::info!(addr = %l.local_addr()?, "serving /metrics");
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(kapu::wiring::serve(kapu_http::metrics_router(access), l, None, async move {
                let _ = rx.changed().await;
            })))
        }
        None => None,
    };
    let mut rx = stop_rx.clone();
    let server = tokio::spawn(kapu::wiring::serve(kapu_http::app(state), listener, tls, async move {
        let _ = rx.changed().await;
    }));
    tokio::signal::ctrl_c().await?;
    let _ = stop_tx.send(true);
    server.await??;
    if let Some(m) = metrics_server {
        m.await??;
    }
    if let Some(w) = worker {
        w.await??;
    }
    Ok(())
}

async fn migrate(s: &Settings) -> Result<()> {
    let db = s.db().await?;
    let n = kapu_core::migrate_platform(&db).await?;
    println!("Platform: {n} migration(s) applied.");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM kapu.tenant").fetch_one(db.pool()).await?;
    let bar = ProgressBar::new(u64::try_from(count).unwrap_or(0));
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} tenants {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let report = db
        .migrate_all_tenants(|o| {
            bar.inc(1);
            if let Err(e) = &o.result {
                bar.suspend(|| println!("tenant {}: FAILED: {e}", o.slug));
            }
        })
        .await?;
    bar.finish();
    let applied: usize = report.tenants.iter().filter_map(|t| t.result.as_ref().ok()).sum();
    let failed = report.failures().count();
    println!("Tenants: {} migrated, {applied} migration(s) applied, {failed} failed.", report.tenants.len() - failed);
    if failed > 0 {
        bail!("{failed} tenant(s) failed to migrate; fix the cause and run `kapu migrate` again: it continues where it stopped");
    }
    Ok(())
}

async fn tenant(s: &Settings, cmd: TenantCmd) -> Result<()> {
    if let TenantCmd::Test { dir } = &cmd {
        return kapu::case_type_test::run(dir);
    }
    let db = s.db().await?;
    match cmd {
        TenantCmd::Create { slug, name, domains } => {
            let slug = TenantSlug::parse(&slug)?;
            let t = kapu_core::provision_tenant(&db, NewTenant { slug, name, domains, settings: serde_json::json!({}) }, None).await?;
            println!("Created tenant {} ({}).", t.slug, t.name);
        }
        TenantCmd::List => {
            let mut conn = db.pool().acquire().await?;
            for t in kapu_core::list_tenants(&mut conn).await? {
                println!("{:<24} {:<10} {:<40} {}", t.slug, t.status.as_str(), t.name, t.domains.join(", "));
            }
        }
        TenantCmd::Apply { dir, with_demo_data } => {
            let d = tenant_config::load(&dir)?;
            let seed = match (with_demo_data, d.demo.clone()) {
                (true, Some(demo)) => Some(tenant_config::demo_seeder(demo, s.crypto()?)),
                (true, None) => bail!("{} has no demo.toml", dir.display()),
                _ => None,
            };
            let (applied, case_types) = tenant_config::apply(&db, &d, seed, false).await?;
            match applied {
                Applied::Created(t) => println!("Created tenant {}.", t.slug),
                Applied::Updated(t) => println!("Updated tenant {}.", t.slug),
            }
            for c in case_types {
                let what = if c.created { "saved as version" } else { "unchanged, version" };
                println!("Case type {}: {what} {}.", c.code, c.version);
            }
        }
        TenantCmd::Export { slug, dir } => {
            tenant_config::export(&db, &slug, &dir).await?;
            println!("Exported {slug} to {}.", dir.display());
        }
        TenantCmd::Import { dir } => {
            let d = tenant_config::load(&dir)?;
            tenant_config::apply(&db, &d, None, true).await?;
            println!("Imported tenant {}.", d.file.slug);
        }
        TenantCmd::Delete { slug, yes } => {
            if !yes {
                bail!("deleting a tenant removes all its data; add --yes to confirm");
            }
            kapu_core::delete_tenant(&db, &TenantSlug::parse(&slug)?).await?;
            println!("Deleted tenant {slug}.");
        }
        TenantCmd::Test { .. } => {}
        TenantCmd::Suspend { slug } => set_status(&db, &slug, kapu_core::TenantStatus::Suspended).await?,
        TenantCmd::Resume { slug } => set_status(&db, &slug, kapu_core::TenantStatus::Active).await?,
        TenantCmd::RotateKey { slug } => {
            let crypto = s.crypto()?;
            let slug = TenantSlug::parse(&slug)?;
            let mut tx = db.tenant_tx_for(&slug).await?;
            let (v, n) = kapu::keys::rotate_tenant(&crypto, &mut tx).await?;
            tx.commit().await?;
            println!("Tenant {slug}: data key {v} is active; {n} value(s) re-sealed.");
        }
    }
    Ok(())
}

async fn set_status(db: &kapu_core::Db, slug: &str, status: kapu_core::TenantStatus) -> Result<()> {
    let mut tx = db.platform_tx().await?;
    let mut t = kapu_core::find_tenant_by_slug(tx.conn(), slug).await?.with_context(|| format!("unknown tenant {slug:?}"))?;
    t.status = status;
    kapu_core::update_tenant(tx.conn(), &t).await?;
    tx.commit().await?;
    println!("Tenant {slug} is {}.", status.as_str());
    Ok(())
}

async fn audit_verify(s: &Settings, tenant: Option<String>) -> Result<()> {
    let db = s.db().await?;
    let slugs = match tenant {
        Some(t) => vec![TenantSlug::parse(&t)?],
        None => {
            let mut conn = db.pool().acquire().await?;
            kapu_core::list_tenants(&mut conn).await?.into_iter().map(|t| t.slug).collect()
        }
    };
    let mut broken = 0;
    for slug in slugs {
        let mut tx = db.tenant_tx_for(&slug).await?;
        let v = kapu_audit::verify(&mut tx).await?;
        tx.commit().await?;
        match v.broken {
            None => println!("{slug}: intact, {} record(s)", v.records),
            Some(b) => {
                broken += 1;
                println!("{slug}: BROKEN at record {}: {}", b.seq, b.problem);
            }
        }
    }
    if broken > 0 {
        bail!("{broken} tenant(s) have a broken audit chain");
    }
    Ok(())
}

async fn rewrap(s: &Settings) -> Result<()> {
    let db = s.db().await?;
    let crypto: Arc<kapu_crypto::Crypto> = s.crypto()?;
    let mut tx = db.platform_tx().await?;
    let mut n = crypto.rewrap(tx.conn(), kapu_core::PLATFORM_SCOPE).await?;
    let ring = crypto.keyring(tx.conn(), kapu_core::PLATFORM_SCOPE).await?;
    let mut values = kapu::keys::reseal_platform(&mut tx, &ring).await?;
    tx.commit().await?;
    let mut conn = db.pool().acquire().await?;
    let tenants = kapu_core::list_tenants(&mut conn).await?;
    drop(conn);
    for t in tenants {
        let mut tx = db.tenant_tx(&t).await?;
        n += crypto.rewrap(tx.conn(), t.slug.as_str()).await?;
        let ring = crypto.keyring(tx.conn(), t.slug.as_str()).await?;
        values += kapu::keys::reseal_tenant(&mut tx, &ring).await?;
        tx.commit().await?;
    }
    println!("Re-wrapped {n} data key(s) under master key {}; {values} value(s) re-sealed.", crypto.master_key_id());
    Ok(())
}
