//! `kapu-sim`: runs local simulators of the external systems Kapu talks to.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

use kapu_sim::{Endpoint, citynform, dmsone, dns, forras, kau, qfusion, registry, smtp, tsa};
use tracing_subscriber::EnvFilter;

/// Local simulators of the external systems Kapu talks to, speaking their wire protocols.
#[derive(Parser)]
#[command(name = "kapu-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the SMTP simulator: an SMTP server that keeps mail in memory, and its HTTP API.
    Smtp(SmtpArgs),
    /// Runs the registry (SZL) simulator: the personal data and address registry's identity
    /// and address checks and the vehicle registry's query over HTTP (see REGISTRY-PROTOCOL.md
    /// and plugins/registry/PROTOCOL.md).
    Registry(RegistryArgs),
    /// Runs the national login (KAÜ) simulator: a SAML 2.0 identity provider with a login
    /// page of test persons (see KAU-PROFILE.md).
    Kau(KauArgs),
    /// Runs the time-stamping authority: RFC 3161 over HTTP (see TSA-PROTOCOL.md).
    Tsa(TsaArgs),
    /// Runs the Citynform parking permits simulator (see plugins/citynform/PROTOCOL.md).
    Citynform(CitynformArgs),
    /// Runs the DMS One records management simulator, SOAP 1.1 (see plugins/dmsone/PROTOCOL.md).
    Dmsone(DmsOneArgs),
    /// Runs the Forrás finance simulator (see plugins/forras/PROTOCOL.md).
    Forras(ForrasArgs),
    /// Runs the Q-Fusion queue system simulator (see plugins/qfusion/PROTOCOL.md).
    Qfusion(QFusionArgs),
    /// Runs the DNS simulator (UDP): A, AAAA and MX records from the names given.
    Dns(DnsArgs),
    /// Runs every simulator on its default ports.
    All,
}

#[derive(Args)]
struct SmtpArgs {
    /// SMTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = smtp::DEFAULT_SMTP_PORT)]
    smtp_port: u16,
    /// HTTP API port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = smtp::DEFAULT_HTTP_PORT)]
    http_port: u16,
    /// Largest accepted message in bytes.
    #[arg(long, default_value_t = smtp::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// Do not offer STARTTLS.
    #[arg(long)]
    no_starttls: bool,
}

impl Default for SmtpArgs {
    fn default() -> Self {
        Self {
            smtp_port: smtp::DEFAULT_SMTP_PORT,
            http_port: smtp::DEFAULT_HTTP_PORT,
            max_message_size: smtp::DEFAULT_MAX_MESSAGE_SIZE,
            no_starttls: false,
        }
    }
}

#[derive(Args)]
struct RegistryArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = registry::DEFAULT_PORT)]
    port: u16,
    /// The API key clients must send as `Authorization: Bearer <key>`.
    #[arg(long, env = "KAPU_SIM_SZL_API_KEY", default_value = registry::DEFAULT_API_KEY)]
    api_key: String,
}

impl Default for RegistryArgs {
    fn default() -> Self {
        // `kapu-sim all` honours the key's environment variable too.
        let api_key = std::env::var("KAPU_SIM_SZL_API_KEY").unwrap_or_else(|_| registry::DEFAULT_API_KEY.to_owned());
        Self { port: registry::DEFAULT_PORT, api_key }
    }
}

#[derive(Args)]
struct DnsArgs {
    /// UDP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = dns::DEFAULT_PORT)]
    port: u16,
    /// A record: `name=address` (A or AAAA); repeat for more.
    #[arg(long = "address", value_name = "NAME=ADDRESS")]
    addresses: Vec<String>,
    /// A mail exchanger: `name=preference:host`; repeat for more.
    #[arg(long = "mx", value_name = "NAME=PREFERENCE:HOST")]
    mx: Vec<String>,
}

#[derive(Args)]
struct KauArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = kau::DEFAULT_PORT)]
    port: u16,
}

#[derive(Args)]
struct TsaArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = tsa::DEFAULT_PORT)]
    port: u16,
    /// The test PKI folder (tsa.pem, tsa.key, ca.pem, …); a new test PKI is made there if it
    /// has none (`kapu documents test-pki` makes one too).
    #[arg(long, env = "KAPU_TEST_PKI_DIR", default_value = DEFAULT_PKI_DIR)]
    pki_dir: PathBuf,
}

const DEFAULT_PKI_DIR: &str = "/var/tmp/kapu-test-pki";

impl Default for TsaArgs {
    fn default() -> Self {
        let pki_dir = std::env::var_os("KAPU_TEST_PKI_DIR").map_or_else(|| PathBuf::from(DEFAULT_PKI_DIR), PathBuf::from);
        Self { port: tsa::DEFAULT_PORT, pki_dir }
    }
}

#[derive(Args)]
struct CitynformArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = citynform::DEFAULT_PORT)]
    port: u16,
    /// The API key clients must send as `X-Api-Key`.
    #[arg(long, env = "KAPU_SIM_CITYNFORM_API_KEY", default_value = citynform::DEFAULT_API_KEY)]
    api_key: String,
}

#[derive(Args)]
struct DmsOneArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = dmsone::DEFAULT_PORT)]
    port: u16,
    /// The WS-Security user name.
    #[arg(long, default_value = dmsone::DEFAULT_USERNAME)]
    username: String,
    /// The WS-Security password.
    #[arg(long, env = "KAPU_SIM_DMSONE_PASSWORD", default_value = dmsone::DEFAULT_PASSWORD)]
    password: String,
}

#[derive(Args)]
struct ForrasArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = forras::DEFAULT_PORT)]
    port: u16,
    /// The HTTP Basic user.
    #[arg(long, default_value = forras::DEFAULT_USER)]
    user: String,
    /// The HTTP Basic password.
    #[arg(long, env = "KAPU_SIM_FORRAS_PASSWORD", default_value = forras::DEFAULT_PASSWORD)]
    password: String,
}

#[derive(Args)]
struct QFusionArgs {
    /// HTTP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = qfusion::DEFAULT_PORT)]
    port: u16,
    /// The site id (`X-QF-Site`).
    #[arg(long, default_value = qfusion::DEFAULT_SITE)]
    site: String,
    /// The site's integration token.
    #[arg(long, env = "KAPU_SIM_QFUSION_TOKEN", default_value = qfusion::DEFAULT_TOKEN)]
    token: String,
}

/// A running simulator of any kind.
enum Sim {
    Smtp(smtp::SmtpSim),
    Registry(registry::RegistrySim),
    Kau(kau::KauSim),
    Tsa(tsa::TsaSim),
    Citynform(citynform::CitynformSim),
    DmsOne(dmsone::DmsOneSim),
    Forras(forras::ForrasSim),
    QFusion(qfusion::QFusionSim),
    Dns(dns::DnsSim),
}

impl Sim {
    fn endpoints(&self) -> Vec<Endpoint> {
        match self {
            Sim::Smtp(sim) => sim.endpoints(),
            Sim::Registry(sim) => sim.endpoints(),
            Sim::Kau(sim) => sim.endpoints(),
            Sim::Tsa(sim) => sim.endpoints(),
            Sim::Citynform(sim) => sim.endpoints(),
            Sim::DmsOne(sim) => sim.endpoints(),
            Sim::Forras(sim) => sim.endpoints(),
            Sim::QFusion(sim) => sim.endpoints(),
            Sim::Dns(sim) => sim.endpoints(),
        }
    }

    async fn shutdown(self) {
        match self {
            Sim::Smtp(sim) => sim.shutdown().await,
            Sim::Registry(sim) => sim.shutdown().await,
            Sim::Kau(sim) => sim.shutdown().await,
            Sim::Tsa(sim) => sim.shutdown().await,
            Sim::Citynform(sim) => sim.shutdown().await,
            Sim::DmsOne(sim) => sim.shutdown().await,
            Sim::Forras(sim) => sim.shutdown().await,
            Sim::QFusion(sim) => sim.shutdown().await,
            Sim::Dns(sim) => sim.shutdown().await,
        }
    }
}

async fn start_dns(args: DnsArgs) -> Result<Sim> {
    let mut zone: std::collections::HashMap<String, dns::Entry> = std::collections::HashMap::new();
    for a in &args.addresses {
        let (name, ip) = a.split_once('=').with_context(|| format!("--address {a}: use name=address"))?;
        let ip = ip.parse().with_context(|| format!("--address {a}: {ip:?} is not an IP address"))?;
        zone.entry(name.to_owned()).or_default().addresses.push(ip);
    }
    for m in &args.mx {
        let parsed = m.split_once('=').and_then(|(n, rest)| rest.split_once(':').map(|(p, h)| (n, p.parse::<u16>().ok(), h)));
        let Some((name, Some(preference), host)) = parsed else { anyhow::bail!("--mx {m}: use name=preference:host") };
        zone.entry(name.to_owned()).or_default().mx.push((preference, host.to_owned()));
    }
    let sim = dns::start(args.port, zone).await.with_context(|| format!("starting the DNS simulator on port {}", args.port))?;
    Ok(Sim::Dns(sim))
}

async fn start_registry(args: RegistryArgs) -> Result<Sim> {
    let sim = registry::start(args.port, &args.api_key)
        .await
        .with_context(|| format!("starting the registry simulator on port {}", args.port))?;
    Ok(Sim::Registry(sim))
}

async fn start_kau(args: KauArgs) -> Result<Sim> {
    let sim = kau::start(args.port).await.with_context(|| format!("starting the KAÜ simulator on port {}", args.port))?;
    eprintln!("KAÜ identity provider metadata: {}/kau/metadata", sim.url());
    Ok(Sim::Kau(sim))
}

async fn start_tsa(args: TsaArgs) -> Result<Sim> {
    let pki = kapu_documents::pki::TestPki::load_or_create(&args.pki_dir, "Kapu", chrono::Utc::now())
        .with_context(|| format!("loading the test PKI in {}", args.pki_dir.display()))?;
    let signer = pki.tsa_signer().context("loading the TSA key")?;
    let sim = tsa::start(args.port, Arc::new(signer)).await.with_context(|| format!("starting the TSA simulator on port {}", args.port))?;
    println!("tsa      trusts the test CA in {}", args.pki_dir.join("ca.pem").display());
    Ok(Sim::Tsa(sim))
}

async fn start_smtp(args: SmtpArgs) -> Result<Sim> {
    let sim = smtp::start_with(smtp::SmtpSimConfig {
        smtp_port: args.smtp_port,
        http_port: args.http_port,
        max_message_size: args.max_message_size,
        starttls: !args.no_starttls,
        ..smtp::SmtpSimConfig::default()
    })
    .await
    .with_context(|| format!("starting the SMTP simulator on ports {} and {}", args.smtp_port, args.http_port))?;
    Ok(Sim::Smtp(sim))
}

async fn start_vendor(command: Command) -> Result<Sim> {
    Ok(match command {
        Command::Citynform(a) => Sim::Citynform(citynform::start(a.port, &a.api_key).await.context("starting the Citynform simulator")?),
        Command::Dmsone(a) => Sim::DmsOne(dmsone::start(a.port, &a.username, &a.password).await.context("starting the DMS One simulator")?),
        Command::Forras(a) => Sim::Forras(forras::start(a.port, &a.user, &a.password).await.context("starting the Forrás simulator")?),
        Command::Qfusion(a) => Sim::QFusion(qfusion::start(a.port, &a.site, &a.token).await.context("starting the Q-Fusion simulator")?),
        _ => anyhow::bail!("not a vendor simulator"),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let cli = Cli::parse();
    let sims = match cli.command {
        Command::Smtp(args) => vec![start_smtp(args).await?],
        Command::Registry(args) => vec![start_registry(args).await?],
        Command::Kau(args) => vec![start_kau(args).await?],
        Command::Tsa(args) => vec![start_tsa(args).await?],
        Command::Dns(args) => vec![start_dns(args).await?],
        c @ (Command::Citynform(_) | Command::Dmsone(_) | Command::Forras(_) | Command::Qfusion(_)) => vec![start_vendor(c).await?],
        Command::All => vec![
            start_smtp(SmtpArgs::default()).await?,
            start_registry(RegistryArgs::default()).await?,
            start_kau(KauArgs { port: kau::DEFAULT_PORT }).await?,
            start_tsa(TsaArgs::default()).await?,
            start_vendor(Command::Citynform(CitynformArgs {
                port: citynform::DEFAULT_PORT,
                api_key: std::env::var("KAPU_SIM_CITYNFORM_API_KEY").unwrap_or_else(|_| citynform::DEFAULT_API_KEY.to_owned()),
            }))
            .await?,
            start_vendor(Command::Dmsone(DmsOneArgs {
                port: dmsone::DEFAULT_PORT,
                username: dmsone::DEFAULT_USERNAME.to_owned(),
                password: std::env::var("KAPU_SIM_DMSONE_PASSWORD").unwrap_or_else(|_| dmsone::DEFAULT_PASSWORD.to_owned()),
            }))
            .await?,
            start_vendor(Command::Forras(ForrasArgs {
                port: forras::DEFAULT_PORT,
                user: forras::DEFAULT_USER.to_owned(),
                password: std::env::var("KAPU_SIM_FORRAS_PASSWORD").unwrap_or_else(|_| forras::DEFAULT_PASSWORD.to_owned()),
            }))
            .await?,
            start_vendor(Command::Qfusion(QFusionArgs {
                port: qfusion::DEFAULT_PORT,
                site: qfusion::DEFAULT_SITE.to_owned(),
                token: std::env::var("KAPU_SIM_QFUSION_TOKEN").unwrap_or_else(|_| qfusion::DEFAULT_TOKEN.to_owned()),
            }))
            .await?,
        ],
    };
    for endpoint in sims.iter().flat_map(|sim| sim.endpoints()) {
        println!("{endpoint}");
    }
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    for sim in sims {
        sim.shutdown().await;
    }
    Ok(())
}
