//! `kapu documents`: the test PKI and issuing a sealed decision from the command line, and
//! `kapu bench documents`, the throughput of rendering, sealing and time-stamping.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use kapu_documents::pki::{self, TestPki};
use kapu_documents::{DEFAULT_DECISION_TEMPLATE, Decision, TsaClient, TsaConfig};

/// `kapu documents …`.
#[derive(Debug, clap::Subcommand)]
pub enum DocumentsCmd {
    /// Create a local test PKI: a CA, the tenant's seal certificate and a time-stamping
    /// authority's certificate (ECDSA P-256), as PEM files in DIR. For the demo and tests only.
    TestPki {
        /// Where to write ca.pem, seal.pem, seal.key, tsa.pem and tsa.key.
        #[arg(long, env = "KAPU_TEST_PKI_DIR", default_value = "/var/tmp/kapu-test-pki")]
        dir: PathBuf,
        /// The tenant's name, as it appears in the seal certificate.
        #[arg(long, default_value = "Hegyvidéki Önkormányzat")]
        tenant_name: String,
    },
    /// Render a decision and seal it as PAdES B-T (seal key from the test PKI, time-stamp from
    /// the TSA). Writes OUT only when everything succeeded.
    Issue(IssueOpts),
    /// Install a tenant's seal (a PKCS#8 ECDSA P-256 key and its certificate chain, PEM): the
    /// key is sealed at rest with the tenant's data key. The demo installs the test PKI's seal.
    InstallSeal(InstallSealOpts),
    /// Issue Kapu's sample decision to a client of a tenant, as a case would (for the demo):
    /// the worker seals, time-stamps and e-mails it; the client downloads it on the portal.
    IssueSample {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The client's id (e.g. of a citizen who signed in through the KAÜ simulator).
        #[arg(long)]
        client: uuid::Uuid,
        /// The case number it belongs to.
        #[arg(long, default_value = "DEMO-2026-000001")]
        subject_ref: String,
    },
}

/// Options of `kapu documents install-seal`.
#[derive(Debug, clap::Args)]
pub struct InstallSealOpts {
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// The private key (PKCS#8 PEM), e.g. the test PKI's seal.key.
    #[arg(long)]
    key: PathBuf,
    /// The certificate chain (PEM, the seal's certificate first), e.g. the test PKI's seal.pem
    /// followed by ca.pem.
    #[arg(long)]
    certificates: PathBuf,
}

/// Installs a tenant's seal from files.
pub async fn install_seal(settings: &crate::settings::Settings, opts: InstallSealOpts) -> Result<()> {
    let key = std::fs::read_to_string(&opts.key).with_context(|| format!("reading {}", opts.key.display()))?;
    let chain = std::fs::read_to_string(&opts.certificates).with_context(|| format!("reading {}", opts.certificates.display()))?;
    let db = settings.db().await?;
    let slug = kapu_core::TenantSlug::parse(&opts.tenant)?;
    let crypto = settings.crypto()?;
    let subject = install_seal_pem(&db, &crypto, &slug, &key, &chain).await?;
    println!("Installed the seal of {slug}: {subject}");
    Ok(())
}

/// Installs a seal given as PEM texts in the tenant's schema; returns its subject.
pub async fn install_seal_pem(
    db: &kapu_core::Db,
    crypto: &kapu_crypto::Crypto,
    slug: &kapu_core::TenantSlug,
    key_pem: &str,
    chain_pem: &str,
) -> Result<String> {
    let mut tx = db.tenant_tx_for(slug).await?;
    let ring = crypto.keyring(tx.conn(), slug.as_str()).await?;
    let subject = kapu_delivery::seal::install(&mut tx, &ring, key_pem, chain_pem, Utc::now()).await?;
    tx.commit().await?;
    Ok(subject)
}

/// Options of `kapu documents issue`.
#[derive(Debug, clap::Args)]
pub struct IssueOpts {
    /// The decision's data as JSON (the fields of a decision); a sample decision if absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A Typst template; Kapu's default decision template if absent.
    #[arg(long)]
    template: Option<PathBuf>,
    /// The test PKI folder (see `kapu documents test-pki`).
    #[arg(long, env = "KAPU_TEST_PKI_DIR", default_value = "/var/tmp/kapu-test-pki")]
    pki_dir: PathBuf,
    /// The time-stamping authority's RFC 3161 URL.
    #[arg(long, env = "KAPU_TSA_URL", default_value = "http://127.0.0.1:8033/tsa")]
    tsa_url: String,
    /// PEM certificates trusted to issue the TSA's certificate; the test PKI's ca.pem if absent.
    #[arg(long, env = "KAPU_TSA_CA")]
    tsa_ca: Option<PathBuf>,
    /// Where to write the sealed PDF.
    #[arg(long)]
    out: PathBuf,
}

/// Runs a `kapu documents` command.
pub async fn run(settings: &crate::settings::Settings, cmd: DocumentsCmd) -> Result<()> {
    match cmd {
        DocumentsCmd::TestPki { dir, tenant_name } => {
            if pki::FILES.iter().any(|f| dir.join(f).exists()) {
                bail!("{} already holds a PKI; choose another --dir or remove it", dir.display());
            }
            TestPki::generate(&tenant_name, Utc::now())?.write_to(&dir)?;
            println!("Test PKI written to {}: {}", dir.display(), pki::FILES.join(", "));
            Ok(())
        }
        DocumentsCmd::Issue(opts) => issue(opts).await,
        DocumentsCmd::InstallSeal(opts) => install_seal(settings, opts).await,
        DocumentsCmd::IssueSample { tenant, client, subject_ref } => {
            let db = settings.db().await?;
            let crypto = settings.crypto()?;
            let slug = kapu_core::TenantSlug::parse(&tenant)?;
            let mut tx = db.tenant_tx_for(&slug).await?;
            let ring = crypto.keyring(tx.conn(), slug.as_str()).await?;
            let addressee = kapu_delivery::issue::Addressee { client_id: client, representative_account_id: None };
            let req = kapu_delivery::issue::DecisionToIssue { addressee, subject_ref, decision: Decision::sample(1), template: None };
            let id = kapu_delivery::issue::issue_decision(&mut tx, &ring, req).await?;
            tx.commit().await?;
            println!("Decision {id} queued for issuing; the worker seals, time-stamps and e-mails it.");
            Ok(())
        }
    }
}

async fn issue(opts: IssueOpts) -> Result<()> {
    let template = match &opts.template {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading the template {}", path.display()))?,
        None => DEFAULT_DECISION_TEMPLATE.to_owned(),
    };
    let data: serde_json::Value = match &opts.data {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?
        }
        None => serde_json::to_value(Decision::sample(1))?,
    };
    let pki = TestPki::read_from(&opts.pki_dir)
        .with_context(|| format!("reading the test PKI (run `kapu documents test-pki --dir {}`)", opts.pki_dir.display()))?;
    let signer = pki.seal_signer()?;
    let tsa_ca = opts.tsa_ca.unwrap_or_else(|| opts.pki_dir.join("ca.pem"));
    let trust = std::fs::read_to_string(&tsa_ca).with_context(|| format!("reading {}", tsa_ca.display()))?;
    let tsa = TsaClient::new(TsaConfig::new(opts.tsa_url).trusting_pem(&trust)?)?;
    let pdf = kapu_documents::issue(&template, &data, &signer, &tsa, Utc::now()).await?;
    write_whole(&opts.out, &pdf)?;
    println!("Sealed decision written to {} ({} bytes).", opts.out.display(), pdf.len());
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so `path` is either
/// absent or complete.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Options of `kapu bench documents`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchOpts {
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Decisions issued concurrently.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
}

/// Issues sample decisions back to back from `concurrency` tasks for `seconds` and prints the
/// rate, with the time-stamping authority simulator on a loopback port of this process.
pub async fn bench(opts: BenchOpts) -> Result<()> {
    let pki = TestPki::generate("Hegyvidéki Önkormányzat", Utc::now())?;
    let tsa_sim = kapu_sim::tsa::start(0, Arc::new(pki.tsa_signer()?)).await?;
    let tsa = TsaClient::new(TsaConfig::new(tsa_sim.url()).trusting_pem(&pki.ca_cert)?)?;
    let signer = Arc::new(pki.seal_signer()?);
    println!(
        "kapu bench documents: {} task(s) for {} s on {} core(s); each decision is rendered (Typst), sealed (ECDSA P-256 CMS in an incremental update) and time-stamped by the TSA simulator over HTTP on loopback (token checked against the test CA)",
        opts.concurrency,
        opts.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    // A first decision loads the fonts and fills Typst's caches; it is timed on its own.
    let cold = Instant::now();
    let first = kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(0), signer.as_ref(), &tsa, Utc::now()).await?;
    println!("first decision (fonts loaded, caches empty): {:.1} ms", cold.elapsed().as_secs_f64() * 1e3);
    let counter = Arc::new(AtomicU64::new(1));
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        let (tsa, signer, counter) = (tsa.clone(), signer.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                kapu_documents::issue(DEFAULT_DECISION_TEMPLATE, &Decision::sample(n), signer.as_ref(), &tsa, Utc::now()).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default();
    println!(
        "{} decisions in {:.1} s: {:.1} decisions/s (p50 {:.1} ms, p99 {:.1} ms per decision; {} bytes each; {} time-stamps granted)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        first.len(),
        tsa_sim.granted()
    );
    tsa_sim.shutdown().await;
    Ok(())
}
