//! `kapu demo` (the README's first command) and `kapu serve` as real processes.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use kapu_testkit::{Kit, PASSWORD, workspace_root};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// A running `kapu demo`.
struct Demo {
    child: tokio::process::Child,
    /// The portal URL it printed.
    portal: String,
    /// All it printed on stdout up to "Press Ctrl-C".
    printed: String,
    /// Reads the demo's stderr from the start (so that it never blocks on a full pipe) and
    /// hands all of it back once the demo has exited.
    stderr: tokio::task::JoinHandle<String>,
}

/// Starts `kapu demo` on free ports.
async fn start_demo(dir: &std::path::Path) -> Result<Demo> {
    let mut child = tokio::process::Command::new(Kit::kapu_bin())
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--smtp-port",
            "0",
            "--mailbox-port",
            "0",
            "--registry-port",
            "0",
            "--kau-port",
            "0",
            "--tsa-port",
            "0",
            "--local-systems-port",
            "0",
            "--dir",
        ])
        .arg(dir)
        .current_dir(workspace_root())
        .env_remove("KAPU_DATABASE_URL")
        .env_remove("KAPU_MASTER_KEY")
        .env("KAPU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let stderr = tokio::spawn(async move {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err).await;
        err
    });
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut printed = String::new();
    let portal = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("Press Ctrl-C") {
                let url = printed
                    .lines()
                    .find_map(|l| l.split("or  ").nth(1).filter(|_| l.contains("Citizen portal")))
                    .map(|s| s.trim().to_owned());
                return anyhow::Ok(url);
            }
        }
        anyhow::Ok(None)
    })
    .await
    .context("the demo did not come up in time")??;
    let Some(portal) = portal else {
        let _ = child.wait().await;
        let err = stderr.await?;
        anyhow::bail!("no portal URL in: {printed}{err}");
    };
    Ok(Demo { child, portal, printed, stderr })
}

/// Sends Ctrl-C (SIGINT) to the demo and waits for it to exit; returns whether it exited
/// cleanly and what it wrote to stderr.
async fn interrupt(demo: Demo) -> Result<(bool, String)> {
    let Demo { mut child, stderr, .. } = demo;
    kill(Pid::from_raw(i32::try_from(child.id().context("pid")?)?), Signal::SIGINT)?;
    let status = tokio::time::timeout(Duration::from_secs(90), child.wait()).await.context("the demo did not stop in time")??;
    Ok((status.success(), stderr.await?))
}

#[tokio::test]
async fn the_demo_starts_serves_stops_and_reuses_its_data() -> Result<()> {
    let dir = tempfile::Builder::new().prefix("kapu-demo-test-").tempdir()?;
    let demo = start_demo(dir.path()).await?;
    let (portal, printed) = (demo.portal.clone(), demo.printed.clone());
    for needle in [
        "admin@hegyvidek.localhost",
        "operator@kapu.localhost",
        "/admin/",
        "SMTP simulator",
        "KAÜ (national login) simulator",
        "TSA simulator",
        "Citynform (parking) simulator",
        "Q-Fusion (queue) simulator",
    ] {
        assert!(printed.contains(needle), "the demo prints {needle}: {printed}");
    }
    let home = reqwest::get(&portal).await?;
    assert_eq!(home.status(), 200);
    assert!(home.text().await?.contains("Hegyvidéki Önkormányzat"));
    // The demo keeps its metrics on show (a real deployment does not, see `kapu serve` below).
    let platform = portal.split("/t/").next().context("the platform's address")?;
    let metrics = reqwest::get(format!("{platform}/metrics")).await?;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await?.contains("kapu_http_requests_total"));
    let (clean, err) = interrupt(demo).await?;
    assert!(clean, "Ctrl-C stops the demo cleanly; it wrote:\n{err}");
    assert!(err.contains("Stopped."), "{err}");
    assert!(!err.contains("plugins were not installed"), "the five plugins were installed for hegyvidek: {err}");
    assert!(!dir.path().join("pg/postmaster.pid").exists(), "and its PostgreSQL");
    // The test PKI is made once, in the demo's folder.
    let ca = std::fs::read_to_string(dir.path().join("pki/ca.pem")).context("the demo's test CA")?;

    // A second run reuses the cluster, the key and the tenant.
    let demo = start_demo(dir.path()).await?;
    let portal = demo.portal.clone();
    let home = reqwest::get(&portal).await?;
    assert_eq!(home.status(), 200);
    let (clean, err) = interrupt(demo).await?;
    assert!(err.contains("Updated the demo tenant hegyvidek"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("pki/ca.pem"))?, ca, "the second run reuses the test PKI");
    assert!(clean, "the second run stops cleanly too; it wrote:\n{err}");
    Ok(())
}

#[tokio::test]
async fn server_logs_are_json_and_hold_no_secrets_or_personal_data() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("naplok", "Naplók").await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut serve = kit
        .kapu_command()
        .args(["serve", "--no-worker", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("KAPU_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}/t/{}", t.slug());
    let http = reqwest::Client::new();
    kapu_testkit::eventually(Duration::from_secs(30), "kapu serve to answer", || {
        let http = http.clone();
        let base = base.clone();
        async move { Ok(http.get(format!("{base}/healthz")).send().await.ok().filter(|r| r.status() == 200).map(|_| ())) }
    })
    .await?;
    // Outside the demo, /metrics is not on the public listener unless a token is set.
    let metrics = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await?;
    assert_eq!(metrics.status(), 404, "metrics are off on the public listener by default");
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": t.clerk_email, "password": PASSWORD }))
        .send()
        .await?;
    let cookie = login.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_owned();
    let csrf = login.json::<serde_json::Value>().await?["csrf_token"].as_str().unwrap().to_owned();
    let mother = "Bodnárné Kelemen Zsuzsanna";
    let r = http
        .post(format!("{base}/api/v1/clients?marker=query-secret"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("x-access-reason", "naplóteszt")
        .json(&serde_json::json!({ "email": "rejtett@example.hu", "identity": { "family_name": "Rejtett", "given_name": "Róza",
            "mother_birth_name": mother, "birth_place": "Eger", "birth_date": "1970-01-02" }, "id_document": "555666ZZ" }))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": t.clerk_email, "password": "Hibas-Jelszo-2026" }))
        .send()
        .await?;
    kill(Pid::from_raw(i32::try_from(serve.id().context("pid")?)?), Signal::SIGINT)?;
    let mut logs = String::new();
    serve.stderr.take().context("stderr")?.read_to_string(&mut logs).await?;
    serve.wait().await?;
    assert!(
        logs.lines().filter(|l| !l.is_empty()).all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "every log line is JSON:\n{logs}"
    );
    assert!(logs.contains("\"status\":201"), "requests are logged:\n{logs}");
    let session = cookie.split('=').nth(1).unwrap();
    for secret in [
        PASSWORD,
        "Hibas-Jelszo-2026",
        session,
        csrf.as_str(),
        mother,
        "Rejtett",
        "555666ZZ",
        "rejtett@example.hu",
        "query-secret",
        &t.clerk_email,
        &kit.master_key,
    ] {
        assert!(!logs.contains(secret), "the logs must not hold {secret:?}");
    }
    kit.stop().await;
    Ok(())
}
