//! `kapu bench`: provisioning, migration and API read throughput at 1 and at N tenants,
//! against `pgbench -S` on the same PostgreSQL in the same run.
//!
//! The server runs in this process on a loopback port; the load generator is `wrk` with as
//! many keep-alive connections as pgbench has clients, sending requests back to back for a
//! fixed time; it reports throughput and the p50/p99 latencies.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kapu_core::{Db, NewTenant, TenantSlug};
use kapu_http::{AppState, HttpConfig};

use crate::settings::{Settings, connect, ensure_app_database};

/// Options of `kapu bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchOpts {
    /// Tenants to provision in all.
    #[arg(long, default_value_t = 1000)]
    pub tenants: usize,
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients (HTTP and pgbench alike).
    #[arg(long, default_value_t = 2)]
    pub clients: usize,
    /// Tenants signed in to and read from in the N-tenant run (spread evenly).
    #[arg(long, default_value_t = 100)]
    pub sample: usize,
    /// Rounds of reads: each round reads 1 of 1, 1 of N and the sample of N in turn, then
    /// runs pgbench; the medians over the rounds are compared.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Where to put the private PostgreSQL cluster (when KAPU_DATABASE_URL is unset).
    #[arg(long, default_value = "/var/tmp/kapu-bench")]
    pub dir: PathBuf,
    /// Another benchmark instead of the platform's.
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
}

/// The other benchmarks: `kapu bench <target>`.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum BenchTarget {
    /// The tenant's OpenID Provider against node oidc-provider: authorization-code flows/s.
    Oidc(OidcBenchOpts),
    /// The plugin host: per-call overhead, calls/s and cold load, against native calls.
    Plugins(crate::bench_plugins::PluginBenchOpts),
    /// Decisions rendered, sealed and time-stamped per second.
    Documents(crate::documents::BenchOpts),
    /// Applications submitted per second, for one tenant and across many.
    Cases(crate::bench_cases::CasesBenchOpts),
}

/// Options of `kapu bench oidc`.
#[derive(Clone, Debug, clap::Args)]
pub struct OidcBenchOpts {
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients: one round of the three providers for each number given
    /// (comma-separated), since a single-threaded provider and a multi-threaded one peak at
    /// different numbers.
    #[arg(long, value_delimiter = ',', default_values_t = [2, 4])]
    pub clients: Vec<usize>,
    /// Where to put the private PostgreSQL cluster (when KAPU_DATABASE_URL is unset).
    #[arg(long, default_value = "/var/tmp/kapu-bench")]
    pub dir: PathBuf,
}

const PASSWORD: &str = "Merleg-Teszt-Jelszo-2026";

struct Load {
    requests: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs the benchmark and prints its figures.
///
/// The 1-tenant and the N-tenant deployments are two databases in the same cluster, each
/// served by its own server in this process, so that their reads (and `pgbench -S`) can be
/// run in turn, round after round: a machine whose speed drifts then slows every figure of
/// a round alike, and the medians over the rounds are compared.
pub async fn run(mut settings: Settings, opts: BenchOpts) -> Result<()> {
    let (db, crypto, cluster) = bench_database(&mut settings, &opts.dir, opts.clients, &["pgbench", "kapu_bench_one"]).await?;
    let url = settings.database_url.clone().context("no database")?;
    let one_url = match url.rsplit_once('/') {
        Some((server, _)) if cluster.is_some() => format!("{server}/kapu_bench_one"),
        _ => bail!("the 1-tenant deployment needs a database of its own: run without KAPU_DATABASE_URL"),
    };
    let db_one = connect(&one_url, "kbone", settings.db_pool).await?;
    kapu_core::migrate_platform(&db_one).await?;

    let (base_one, server_one, stop_one) = serve(&db_one, &crypto).await?;
    let (base, server, stop) = serve(&db, &crypto).await?;

    println!("Provisioning the 1-tenant deployment …");
    let only = TenantSlug::parse("bench-single")?;
    provision(&db_one, &only, 0).await?;

    println!("Provisioning {} tenants (schema, role, migrations, one clerk) …", opts.tenants);
    let bar = ProgressBar::new(opts.tenants as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tenants {per_sec} eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut provision_times = Vec::with_capacity(opts.tenants);
    let mut slugs = Vec::with_capacity(opts.tenants);
    for i in 0..opts.tenants {
        let slug = TenantSlug::parse(&format!("bench-{i:05}"))?;
        provision_times.push(provision(&db, &slug, i).await?);
        slugs.push(slug);
        bar.inc(1);
    }
    bar.finish();
    provision_times.sort();
    let median_provision = provision_times[provision_times.len() / 2];

    let start = Instant::now();
    let report = db.migrate_all_tenants(|_| {}).await?;
    let migrate_all = start.elapsed();
    if report.failures().next().is_some() {
        bail!("migrating the tenants failed");
    }
    // Provisioning 1,000 tenants is a burst of DDL that leaves the system catalogs full of
    // dead rows; let the reads below meet settled catalogs rather than autovacuum catching
    // up in the middle of them (the tenants' own tables are too small to be vacuumed).
    println!("Vacuuming and analysing the system catalogs after provisioning …");
    for d in [&db, &db_one] {
        let catalogs: Vec<String> = sqlx::query_scalar(
            "SELECT format('pg_catalog.%I', relname) FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'",
        )
        .fetch_all(d.pool())
        .await?;
        sqlx::query(&format!("VACUUM (ANALYZE) {}", catalogs.join(", "))).execute(d.pool()).await?;
    }

    let single = sign_in(&base_one, std::slice::from_ref(&only)).await?;
    let first = sign_in(&base, &slugs[..1]).await?;
    let step = (opts.tenants / opts.sample.max(1)).max(1);
    let sample: Vec<TenantSlug> = slugs.iter().step_by(step).cloned().collect();
    println!("Signing in to {} tenants spread over all {} …", sample.len(), opts.tenants);
    let spread = sign_in(&base, &sample).await?;
    let pgbench_bin = match &cluster {
        Some(c) => Some(pgbench_init(c.port()).await?),
        None => None,
    };

    let n = opts.tenants;
    let rounds = opts.rounds.max(1);
    let (mut ones, mut among, mut many, mut pgb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        println!("Round {round} of {rounds}: {} s each for 1 of 1, 1 of {n}, {} of {n}, pgbench -S …", opts.seconds, spread.len());
        ones.push(load(&base_one, &single, opts.clients, opts.seconds).await?);
        among.push(load(&base, &first, opts.clients, opts.seconds).await?);
        many.push(load(&base, &spread, opts.clients, opts.seconds).await?);
        if let (Some(bin), Some(c)) = (&pgbench_bin, &cluster) {
            pgb.push(pgbench(bin, c.port(), opts.clients, opts.seconds).await?);
        }
    }
    for (tx, task) in [(stop_one, server_one), (stop, server)] {
        let _ = tx.send(true);
        task.await??;
    }
    db.pool().close().await;
    db_one.pool().close().await;

    println!();
    println!(
        "Kapu benchmark ({} clients, {} s per run, {rounds} rounds, GET /t/<slug>/api/v1/me with a session cookie)",
        opts.clients, opts.seconds
    );
    println!("  tenant provisioning, median          {:>10.1} ms   (target < 1000 ms)", ms(median_provision));
    println!("  migration pass over {:>5} tenants     {:>10.1} ms   (nothing pending: checks every tenant)", opts.tenants, ms(migrate_all));
    println!("  per round: req/s (p99 ms)");
    for r in 0..rounds {
        let pg = pgb.get(r).map(|t| format!("   pgbench -S {t:.0} tps")).unwrap_or_default();
        println!(
            "    round {}: 1 of 1 {:.0} ({:.2})   1 of {n} {:.0} ({:.2})   {} of {n} {:.0} ({:.2}){pg}",
            r + 1,
            ones[r].rps,
            ms(ones[r].p99),
            among[r].rps,
            ms(among[r].p99),
            spread.len(),
            many[r].rps,
            ms(many[r].p99),
        );
    }
    let (one, one_among_many, spread_read) = (Load::median(&ones), Load::median(&among), Load::median(&many));
    println!("  medians over the rounds:");
    let row = |label: String, l: &Load| {
        println!("  {label:<36} {:>10.0} req/s  p50 {:.2} ms  p99 {:.2} ms", l.rps, ms(l.p50), ms(l.p99));
    };
    row("API read, 1-tenant deployment".into(), &one);
    row(format!("API read, 1 of {n} tenants"), &one_among_many);
    row(format!("API read, {} of {n} tenants", spread.len()), &spread_read);
    println!(
        "  1 of {n} vs 1 of 1: throughput {:+.1} %, p50 {:+.1} %, p99 {:+.1} %   (target within 10 %)",
        pct(one_among_many.rps, one.rps),
        pct(ms(one_among_many.p50), ms(one.p50)),
        pct(ms(one_among_many.p99), ms(one.p99))
    );
    println!(
        "  {} of {n} vs 1 of 1: throughput {:+.1} %, p50 {:+.1} %, p99 {:+.1} %",
        spread.len(),
        pct(spread_read.rps, one.rps),
        pct(ms(spread_read.p50), ms(one.p50)),
        pct(ms(spread_read.p99), ms(one.p99))
    );
    if !pgb.is_empty() {
        let tps = median(&pgb);
        println!("  pgbench -S ({} clients), median       {:>10.0} tps", opts.clients, tps);
        println!("  API read (1 of {n}) / pgbench -S     {:>10.1} %    (target >= 10 %)", one_among_many.rps / tps * 100.0);
        println!("  API read ({} of {n}) / pgbench -S   {:>10.1} %", spread.len(), spread_read.rps / tps * 100.0);
    }
    if let Some(mut c) = cluster {
        tokio::task::spawn_blocking(move || c.stop()).await??;
    }
    Ok(())
}

type Server = (String, tokio::task::JoinHandle<Result<()>>, tokio::sync::watch::Sender<bool>);

/// Serves the platform on `db` on a loopback port; returns its base URL, its task and its stop switch.
async fn serve(db: &Db, crypto: &Arc<kapu_crypto::Crypto>) -> Result<Server> {
    let state = AppState::new(db.clone(), crypto.clone(), HttpConfig { login_attempts_per_minute: u32::MAX, ..HttpConfig::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::wiring::serve(kapu_http::app(state), listener, None, async move {
        let _ = stop_rx.changed().await;
    }));
    Ok((format!("http://{addr}"), server, stop_tx))
}

/// Provisions one bench tenant with one clerk; returns how long it took.
async fn provision(db: &Db, slug: &TenantSlug, i: usize) -> Result<Duration> {
    let start = Instant::now();
    let seed: kapu_core::Seeder<'static> = Box::new(|tx| {
        Box::pin(async move {
            let email = format!("clerk@{}.example", tx.slug());
            kapu_staff::create_staff(
                tx,
                kapu_staff::NewStaff {
                    email,
                    display_name: "Bench Clerk".into(),
                    role: kapu_staff::Role::Clerk,
                    password: PASSWORD.into(),
                },
            )
            .await?;
            Ok(())
        })
    });
    kapu_core::provision_tenant(
        db,
        NewTenant { slug: slug.clone(), name: format!("Bench {i}"), domains: vec![], settings: serde_json::json!({}) },
        Some(seed),
    )
    .await?;
    Ok(start.elapsed())
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl Load {
    /// Each figure's median over the runs (odd counts give a run's own figure).
    fn median(runs: &[Load]) -> Load {
        let pick = |f: &dyn Fn(&Load) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        Load {
            requests: runs.iter().map(|l| l.requests).sum(),
            rps: pick(&|l| l.rps),
            p50: Duration::from_secs_f64(pick(&|l| l.p50.as_secs_f64())),
            p99: Duration::from_secs_f64(pick(&|l| l.p99.as_secs_f64())),
        }
    }
}

/// The login role the benchmark's servers connect as on its private cluster.
pub(crate) const BENCH_APP_ROLE: &str = "kbench_app";

/// The database a benchmark runs against: a fresh private cluster in `dir` (with the extra
/// databases named) unless `KAPU_DATABASE_URL` names one, migrated, with a throwaway master
/// key and a role prefix of its own. The caller stops the cluster, when there is one.
pub(crate) async fn bench_database(
    settings: &mut Settings,
    dir: &Path,
    clients: usize,
    extra_databases: &[&str],
) -> Result<(Db, Arc<kapu_crypto::Crypto>, Option<kapu_pgcluster::PgCluster>)> {
    let mut cluster = None;
    if settings.database_url.is_none() {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let pg = dir.join("pg");
        let c = tokio::task::spawn_blocking(move || kapu_pgcluster::PgCluster::start(&pg, 0)).await??;
        // As in production, the application's own role (NOSUPERUSER NOINHERIT CREATEROLE)
        // owns the databases and is what the servers connect as.
        let admin = connect(&c.url("postgres"), "x", 1).await?;
        for name in std::iter::once(&"kapu_bench").chain(extra_databases) {
            ensure_app_database(admin.pool(), BENCH_APP_ROLE, None, name).await?;
        }
        admin.pool().close().await;
        settings.database_url = Some(c.url_as(BENCH_APP_ROLE, "kapu_bench"));
        cluster = Some(c);
    }
    if settings.master_key.is_none() && settings.master_key_file.is_none() {
        settings.master_key = Some(kapu_crypto::MasterKey::generate_base64());
    }
    settings.role_prefix = "kbench".into();
    settings.db_pool = u32::try_from(clients * 2 + 4).unwrap_or(8);
    let db = settings.db().await?;
    let crypto = settings.crypto()?;
    kapu_core::migrate_platform(&db).await?;
    Ok((db, crypto, cluster))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(a: f64, b: f64) -> f64 {
    (a - b) / b * 100.0
}

async fn sign_in(base: &str, slugs: &[TenantSlug]) -> Result<Vec<(String, String)>> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for slug in slugs {
        let res = client
            .post(format!("{base}/t/{slug}/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": format!("clerk@{slug}.example"), "password": PASSWORD }))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("signing in to {slug} failed: {}", res.text().await?);
        }
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|c| c.starts_with("kapu_staff=")).map(str::to_owned))
            .context("no session cookie")?;
        out.push((format!("{base}/t/{slug}/api/v1/me"), cookie));
    }
    Ok(out)
}

/// Drives `wrk` (a C load generator, as pgbench is a C client) over loopback with `clients`
/// keep-alive connections, cycling through `targets` (URL, cookie).
async fn load(base: &str, targets: &[(String, String)], clients: usize, seconds: u64) -> Result<Load> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("targets.lua");
    let mut lua = String::from("local targets = {\n");
    for (url, cookie) in targets {
        let path = url.strip_prefix(base).context("target outside the server")?;
        lua.push_str(&format!("  {{ {path:?}, {cookie:?} }},\n"));
    }
    lua.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  local t = targets[(i % #targets) + 1]\n  \
         return wrk.format(\"GET\", t[1], { [\"Cookie\"] = t[2] })\nend\n",
    );
    std::fs::write(&script, lua)?;
    let c = clients.to_string();
    let out = tokio::process::Command::new("wrk")
        .args(["-t", &c, "-c", &c, "-d", &format!("{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(base)
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk reported failures:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Load> {
    let duration = |v: &str| -> Option<Duration> {
        let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
        let n: f64 = n.parse().ok()?;
        let secs = match unit {
            "us" => n / 1e6,
            "ms" => n / 1e3,
            "s" => n,
            _ => return None,
        };
        Some(Duration::from_secs_f64(secs))
    };
    let field = |prefix: &str| text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()));
    let requests = text.lines().find_map(|l| l.trim().split_once(" requests in ").and_then(|(n, _)| n.parse().ok()))?;
    Some(Load { requests, rps: field("Requests/sec:")?.parse().ok()?, p50: duration(&field("50%")?)?, p99: duration(&field("99%")?)? })
}

/// Initialises pgbench's tables (scale 10) in the database `pgbench`; returns the binary.
async fn pgbench_init(port: u16) -> Result<PathBuf> {
    let bin =
        kapu_pgcluster::find_binaries().map(|d| d.join("pgbench")).ok().filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from("pgbench"));
    let port = port.to_string();
    let init = tokio::process::Command::new(&bin)
        .args(["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres", "-i", "-s", "10", "-q", "pgbench"])
        .output()
        .await
        .context("running pgbench -i")?;
    if !init.status.success() {
        bail!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    Ok(bin)
}

/// Runs `pgbench -S` with `clients` clients (one thread each) over TCP; returns its tps.
async fn pgbench(bin: &Path, port: u16, clients: usize, seconds: u64) -> Result<f64> {
    let port = port.to_string();
    let c = clients.to_string();
    let t = seconds.to_string();
    let out = tokio::process::Command::new(bin)
        .args(["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres"])
        .args(["-S", "-c", c.as_str(), "-j", c.as_str(), "-T", t.as_str(), "pgbench"])
        .output()
        .await
        .context("running pgbench -S")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .with_context(|| format!("no tps in pgbench's output: {text}"))
}
