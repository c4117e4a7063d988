//! `kapu bench oidc`: the full authorization-code flow (authorize with an existing session,
//! code exchange at the token endpoint, userinfo) in flows/s with p50/p99, for one Kapu
//! tenant's OpenID Provider and, in the same run on the same machine, node `oidc-provider`
//! configured alike (RS256, PKCE S256 required, client_secret_basic, openid profile email).
//!
//! Both are driven by the same load generator, `bench/oidc-provider/load.mjs` (node:http
//! with one keep-alive connection per client), which signs each client in once and then
//! loops flows, and reports its own CPU use. Kapu keeps codes, grants and tokens in
//! PostgreSQL; oidc-provider runs twice, with its default in-memory storage and with its
//! sessions, grants, codes and tokens in the same PostgreSQL database (a `pg` adapter in
//! `provider.mjs`). The machine's load average is printed with each run, since the figures
//! mean little on a busy machine.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use kapu_core::{NewTenant, TenantSlug};
use kapu_http::{AppState, HttpConfig};
use serde_json::Value;

use crate::bench::OidcBenchOpts;
use crate::settings::Settings;

const PASSWORD: &str = "Merleg-Teszt-Jelszo-2026";
const EMAIL: &str = "bench.citizen@example.hu";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Runs the OIDC benchmark and prints its figures.
pub async fn run(mut settings: Settings, opts: OidcBenchOpts) -> Result<()> {
    let dir = Path::new("bench/oidc-provider");
    if !dir.join("node_modules/oidc-provider").exists() {
        bail!("run `npm ci --prefix bench/oidc-provider` first (from the repository root)");
    }
    let most = opts.clients.iter().copied().max().unwrap_or(1);
    let (db, crypto, cluster) = crate::bench::bench_database(&mut settings, &opts.dir, most, &[]).await?;

    let slug = TenantSlug::parse("oidc-bench")?;
    let tenant = kapu_core::provision_tenant(
        &db,
        NewTenant { slug: slug.clone(), name: "OIDC Bench".into(), domains: vec![], settings: serde_json::json!({}) },
        None,
    )
    .await?;
    // A citizen with a confirmed address, and a relying party.
    let token = std::sync::Mutex::new(String::new());
    let link = |_: &str, t: &str| {
        if !t.is_empty() {
            *token.lock().unwrap_or_else(|e| e.into_inner()) = t.to_owned();
        }
        String::new()
    };
    let mut tx = db.tenant_tx(&tenant).await?;
    let ring = crypto.keyring(tx.conn(), tenant.slug.as_str()).await?;
    let reg = kapu_clients::account::Registration { display_name: "Bench Béla".into(), email: EMAIL.into(), password: PASSWORD.into() };
    let mailing = kapu_clients::account::Mailing { tenant_name: "OIDC Bench", link: &link, ring: &ring };
    kapu_clients::account::register(&mut tx, reg, &mailing, Utc::now()).await?;
    let t = token.lock().unwrap_or_else(|e| e.into_inner()).clone();
    kapu_clients::account::verify_email(&mut tx, &t, Utc::now()).await?;
    let (rp, secret) = kapu_oidc::registry::register(
        &mut tx,
        kapu_oidc::registry::NewRelyingParty {
            name: "Bench RP".into(),
            kind: kapu_oidc::registry::ClientKind::Confidential,
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            allowed_scopes: vec!["openid".into(), "profile".into(), "email".into()],
            id_token_alg: None,
        },
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    let secret = secret.context("a confidential client has a secret")?;

    let state = AppState::new(db.clone(), crypto.clone(), HttpConfig { login_attempts_per_minute: u32::MAX, ..HttpConfig::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::wiring::serve(kapu_http::app(state), listener, None, async move {
        let _ = stop_rx.changed().await;
    }));
    let kapu_issuer = format!("http://{addr}/t/{slug}");

    let (mut memory, memory_issuer) = start_provider(dir, None).await?;
    let database_url = settings.database_url.clone().context("the bench database")?;
    let (mut durable, durable_issuer) = start_provider(dir, Some(&database_url)).await?;

    let s = opts.seconds.to_string();
    let secret_op = "bench-secret-bench-secret-bench-secret";
    let mut rounds = Vec::new();
    for &clients in &opts.clients {
        let c = clients.to_string();
        println!("Kapu: {clients} clients for {} s … (load average {})", opts.seconds, load_average());
        let kapu = load(dir, &["kapu", &kapu_issuer, &rp.client_id, &secret, REDIRECT, EMAIL, PASSWORD, &c, &s]).await?;
        println!("oidc-provider, in memory: {clients} clients for {} s … (load average {})", opts.seconds, load_average());
        let op = load(dir, &["oidc-provider", &memory_issuer, "bench", secret_op, REDIRECT, "-", "-", &c, &s]).await?;
        println!("oidc-provider, PostgreSQL: {clients} clients for {} s … (load average {})", opts.seconds, load_average());
        let op_pg = load(dir, &["oidc-provider", &durable_issuer, "bench", secret_op, REDIRECT, "-", "-", &c, &s]).await?;
        rounds.push((clients, kapu, op, op_pg));
    }
    println!("done (load average {})", load_average());
    let _ = memory.kill().await;
    let _ = durable.kill().await;
    let _ = stop_tx.send(true);
    server.await??;
    db.pool().close().await;
    if let Some(mut c) = cluster {
        tokio::task::spawn_blocking(move || c.stop()).await??;
    }

    println!();
    println!("OIDC benchmark ({} s per run; authorize with a session + token + userinfo, RS256, PKCE)", opts.seconds);
    let rate = |v: &Value| v["flows_per_s"].as_f64().unwrap_or(0.0);
    let row = |name: &str, v: &Value| {
        println!(
            "  {name:<18} {:>8.1} flows/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} flows; load generator at {:.0}% of a core)",
            rate(v),
            v["p50_ms"].as_f64().unwrap_or(0.0),
            v["p99_ms"].as_f64().unwrap_or(0.0),
            v["flows"],
            v["load_generator_cpu_pct"].as_f64().unwrap_or(0.0),
        );
    };
    for (clients, kapu, op, op_pg) in &rounds {
        println!(" {clients} clients:");
        row("Kapu", kapu);
        row("oidc-provider", op);
        row("  on PostgreSQL", op_pg);
        let ratio = |v: &Value| rate(kapu) / rate(v).max(f64::MIN_POSITIVE);
        println!("  Kapu / oidc-provider on PostgreSQL: {:.2}x   (both durable, same database; target >= 3x)", ratio(op_pg));
        println!("  Kapu / oidc-provider in memory:     {:.2}x   (its development-only storage)", ratio(op));
    }
    let best = |pick: fn(&(usize, Value, Value, Value)) -> &Value| rounds.iter().map(|r| rate(pick(r))).fold(0.0, f64::max);
    let (kapu, op, op_pg) = (best(|r| &r.1), best(|r| &r.2), best(|r| &r.3));
    println!(" Each at its best number of clients: Kapu {kapu:.1}, oidc-provider on PostgreSQL {op_pg:.1}, in memory {op:.1} flows/s");
    println!(
        "  Kapu / oidc-provider on PostgreSQL: {:.2}x; in memory: {:.2}x",
        kapu / op_pg.max(f64::MIN_POSITIVE),
        kapu / op.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

/// Starts node oidc-provider on a free port, in memory or on `database_url`; returns the
/// process and its issuer once its discovery answers.
async fn start_provider(dir: &Path, database_url: Option<&str>) -> Result<(tokio::process::Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("provider.mjs").arg(port.to_string());
    if let Some(url) = database_url {
        cmd.arg(url);
    }
    let provider = cmd
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting node oidc-provider")?;
    let issuer = format!("http://127.0.0.1:{port}");
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    for _ in 0..100 {
        if reqwest::get(&discovery).await.is_ok_and(|r| r.status().is_success()) {
            return Ok((provider, issuer));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("oidc-provider did not start on port {port}")
}

/// The 1, 5 and 15 minute load averages (Linux), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

async fn load(dir: &Path, args: &[&str]) -> Result<Value> {
    let out = tokio::process::Command::new("node").arg("load.mjs").args(args).current_dir(dir).stdin(Stdio::null()).output().await?;
    if !out.status.success() {
        bail!("the load generator failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().context("no output from the load generator")?;
    Ok(serde_json::from_str(line)?)
}
