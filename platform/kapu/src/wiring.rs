//! Putting the parts together: the HTTP server (plain or TLS), the job worker and its
//! handlers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use kapu_core::{Db, TenantTx};
use kapu_crypto::CryptoError;
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler, Worker, WorkerConfig};
use kapu_mail::{MailError, MailJob, MailJobError, Mailer, OutgoingMail, SmtpConfig};

/// Sends queued e-mail, which waits sealed with the tenant's data key ([`kapu_mail::MailJob`]).
pub struct SendMail {
    /// The SMTP client.
    pub mailer: Mailer,
    /// The keys that open the queued mails.
    pub crypto: Arc<kapu_crypto::Crypto>,
}

#[async_trait::async_trait]
impl JobHandler for SendMail {
    async fn run(&self, job: &Job, _ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let scope = tx.slug().as_str().to_owned();
        let ring = self.crypto.keyring(tx.conn(), &scope).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        let mail: OutgoingMail = MailJob::open(&ring, &job.payload).map_err(|e| match e {
            // A data key added since this process cached the tenant's keys (`kapu tenant
            // rotate-key`): load them again next time.
            MailJobError::Crypto(CryptoError::UnknownDataKey(_)) => {
                self.crypto.forget(&scope);
                JobFailure::Retry(e.to_string())
            }
            _ => JobFailure::Permanent(e.to_string()),
        })?;
        self.mailer.send(&mail).await.map_err(|e| {
            // Describe the failure without the addresses: it is stored and logged.
            let what = describe(&e);
            if e.is_permanent() { JobFailure::Permanent(what) } else { JobFailure::Retry(what) }
        })
    }
}

fn describe(e: &MailError) -> String {
    match e {
        MailError::InvalidAddress { .. } => "invalid e-mail address".into(),
        MailError::InvalidMessage(_) => "the message could not be built".into(),
        MailError::Config(_) => "the SMTP settings are invalid".into(),
        MailError::Rejected(err) => {
            format!("the SMTP server refused the message ({})", err.status().map(|c| c.to_string()).unwrap_or_default())
        }
        MailError::Transport(_) => "the SMTP server could not be reached or failed".into(),
    }
}

/// A worker with every job handler Kapu has.
pub fn worker(db: Db, crypto: Arc<kapu_crypto::Crypto>, smtp: &SmtpConfig, config: WorkerConfig) -> Result<Worker> {
    let mailer = Mailer::new(smtp).context("SMTP settings")?;
    Ok(Worker::new(db, config).handle(kapu_mail::SEND_JOB, Arc::new(SendMail { mailer, crypto })))
}

/// The worker with every job handler: e-mail, issuing and delivery, the local systems'
/// outbox, the queue feed and the attachment sweeper (over the store `attachments` names).
/// `kapu worker`, `kapu serve` and the demo run this one.
pub fn full_worker(
    db: Db,
    crypto: Arc<kapu_crypto::Crypto>,
    smtp: &SmtpConfig,
    config: WorkerConfig,
    delivery: &DeliveryConfig,
    runtime: Arc<kapu_plugins::Runtime>,
    attachments: &str,
) -> Result<Worker> {
    let w = with_attachments(worker(db.clone(), crypto.clone(), smtp, config)?, attachments)?;
    let w = with_delivery(w, crypto.clone(), delivery)?;
    let w = with_local_systems(w, db.clone(), crypto.clone(), runtime.clone());
    Ok(with_queue(w, db, crypto, runtime, kapu_queue::FeedSettings::default()))
}

/// Adds the sweeper of the attachment store `setting` names (a folder or an object store
/// URL, as `kapu serve --attachments`): it finishes what requests left unsettled.
pub fn with_attachments(worker: Worker, setting: &str) -> Result<Worker> {
    let store = kapu_cases::attachments::open_store(setting).map_err(|e| anyhow::anyhow!("the attachment store: {e}"))?;
    let sweeper = kapu_cases::attachments::SweepHandler { store, grace: kapu_cases::attachments::GRACE };
    Ok(worker.handle(kapu_cases::attachments::SWEEP_JOB, Arc::new(sweeper)))
}

/// Where issuing finds its time-stamping authority and how e-mails link to the portal.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// The time-stamping authority's RFC 3161 URL.
    pub tsa_url: String,
    /// PEM certificates trusted to issue the authority's certificate (none: not checked).
    pub tsa_trust_pem: Option<String>,
    /// Time-stamp requests per attempt of the issuing job, and the wait before the second.
    pub tsa_attempts: u32,
    /// The wait before the second request to the authority; it doubles for each further one.
    pub tsa_backoff: std::time::Duration,
    /// The deployment's public URL (`KAPU_PUBLIC_URL`), e.g. `https://kapu.example.hu`: with
    /// `/t/<slug>`, the base of links to a tenant without an origin of its own.
    pub public_url: String,
    /// The deployment's working-day calendar, for the delivery deadlines (the server's
    /// `AppState::with_calendar` gets the same one).
    pub calendar: Arc<kapu_calendar::Calendar>,
}

impl DeliveryConfig {
    /// The authority at `tsa_url`, trusting `tsa_trust_pem`, with two quick attempts per job run
    /// (the job itself retries later); the shipped calendar until `calendar` is set.
    pub fn new(tsa_url: impl Into<String>, tsa_trust_pem: Option<String>, public_url: impl Into<String>) -> Self {
        Self {
            tsa_url: tsa_url.into(),
            tsa_trust_pem,
            tsa_attempts: 2,
            tsa_backoff: std::time::Duration::from_millis(250),
            public_url: public_url.into(),
            calendar: Arc::new(kapu_calendar::Calendar::hungary()),
        }
    }
}

/// Adds the handlers that issue documents (among them the decisions of decided cases,
/// `case.decided`) and run the delivery deadlines, which move a case to delivered.
pub fn with_delivery(worker: Worker, crypto: Arc<kapu_crypto::Crypto>, cfg: &DeliveryConfig) -> Result<Worker> {
    let mut tsa = kapu_documents::TsaConfig {
        attempts: cfg.tsa_attempts.max(1),
        backoff: cfg.tsa_backoff,
        ..kapu_documents::TsaConfig::new(cfg.tsa_url.clone())
    };
    if let Some(pem) = &cfg.tsa_trust_pem {
        tsa = tsa.trusting_pem(pem).context("the TSA's trusted certificates")?;
    }
    let tsa = kapu_documents::TsaClient::new(tsa).context("the TSA client")?;
    let public_url = kapu_core::Origin::parse(&cfg.public_url).context("the public URL (KAPU_PUBLIC_URL)")?;
    let decided = kapu_cases::DecidedHandler { crypto: crypto.clone() };
    let issue = kapu_delivery::issue::IssueHandler { crypto: crypto.clone(), tsa, public_url: public_url.clone() };
    let calendar = cfg.calendar.clone();
    warn_uncovered_years(&calendar, chrono::Utc::now());
    let deadlines =
        kapu_delivery::deadlines::DeadlinesHandler { calendar, public_url, on_delivery: Arc::new(kapu_cases::CaseDeliveries), crypto };
    Ok(worker
        .handle(kapu_cases::DECIDED_JOB, Arc::new(decided))
        .handle(kapu_delivery::ISSUE_JOB, Arc::new(issue))
        .handle(kapu_delivery::DEADLINES_JOB, Arc::new(deadlines)))
}

/// Tells the operator, once at start, when this year or the next has no working-day decree on
/// file: deadlines that reach such a year (deemed delivery, case deadlines in working days)
/// cannot be counted until it is added to the calendar.
pub fn warn_uncovered_years(calendar: &kapu_calendar::Calendar, now: chrono::DateTime<chrono::Utc>) {
    use chrono::Datelike;
    let year = now.year();
    for y in [year, year + 1] {
        if calendar.decree(y).is_none() {
            tracing::warn!(
                year = y,
                "the working-day calendar has no decree on rearranged working days for this year: deadlines that reach it \
                 (deemed delivery, case deadlines in working days) cannot be counted and wait; add the decree to \
                 the file KAPU_CALENDAR_FILE names (see `kapu calendar check`) and restart"
            );
        }
    }
}

/// Adds the handler that follows each tenant's queue system through its queue plugin
/// (`queue.feed`, a read every `settings.interval` while the queue system answers).
pub fn with_queue(
    worker: Worker,
    db: Db,
    crypto: Arc<kapu_crypto::Crypto>,
    runtime: Arc<kapu_plugins::Runtime>,
    settings: kapu_queue::FeedSettings,
) -> Worker {
    let plugins = kapu_plugins::installation::Plugins::new(db, crypto, runtime);
    worker.handle(kapu_queue::FEED_JOB, Arc::new(kapu_queue::FeedHandler { plugins, settings }))
}

/// Adds the handlers of the cases' work in tenants' local systems (records, finance,
/// parking), run through their plugins on `runtime`.
pub fn with_local_systems(worker: Worker, db: Db, crypto: Arc<kapu_crypto::Crypto>, runtime: Arc<kapu_plugins::Runtime>) -> Worker {
    let plugins = kapu_plugins::installation::Plugins::new(db.clone(), crypto.clone(), runtime);
    kapu_local_systems::handlers(worker, &kapu_local_systems::LocalSystems::new(db, crypto, plugins))
}

/// Serves the app on a bound listener until `shutdown` resolves; with `tls`, over HTTPS.
pub async fn serve(
    app: axum::Router,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum::serve(listener, make).with_graceful_shutdown(shutdown).await.context("HTTP server"),
        Some(cfg) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            let std_listener = listener.into_std()?;
            axum_server::from_tcp_rustls(std_listener, axum_server::tls_rustls::RustlsConfig::from_config(cfg))
                .handle(handle)
                .serve(make)
                .await
                .context("HTTPS server")
        }
    }
}

/// The plugin host of this process: default limits, the operator's network policy from
/// `KAPU_PLUGIN_ALLOW` and `KAPU_PLUGIN_DNS` (strict when unset), compiled components cached
/// in `KAPU_PLUGIN_CACHE_DIR` (default `/var/tmp/kapu-plugin-cache`).
pub fn plugin_runtime() -> Result<kapu_plugins::Runtime> {
    plugin_runtime_with(kapu_plugins::NetworkPolicy::from_env().map_err(anyhow::Error::msg)?)
}

/// Like [`plugin_runtime`] with the network policy given.
pub fn plugin_runtime_with(network: kapu_plugins::NetworkPolicy) -> Result<kapu_plugins::Runtime> {
    let dir = std::env::var_os("KAPU_PLUGIN_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/var/tmp/kapu-plugin-cache"));
    Ok(kapu_plugins::Runtime::new(kapu_plugins::Limits { network, ..kapu_plugins::Limits::default() }, Some(dir))?)
}
