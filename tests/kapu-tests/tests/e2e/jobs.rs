//! Durable jobs: the outbox, a worker killed mid-job, retries, dead letters.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Result;
use kapu_testkit::{Kit, KitOptions, eventually};
use serde_json::json;

async fn job_states(kit: &Kit, t: &kapu_core::Tenant) -> Result<Vec<(String, i32)>> {
    let mut tx = kit.db.tenant_tx(t).await?;
    let rows: Vec<(String, i32)> = sqlx::query_as("SELECT state, attempts FROM job ORDER BY id").fetch_all(tx.conn()).await?;
    tx.commit().await?;
    Ok(rows)
}

#[tokio::test]
async fn a_rolled_back_change_enqueues_nothing() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("outbox", "Outbox").await?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let ring = kit.crypto.keyring(tx.conn(), t.slug()).await?;
    kapu_staff::request_password_reset(&mut tx, &ring, &t.clerk_email, "Outbox", |tok| format!("http://x/{tok}"), chrono::Utc::now())
        .await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM job").fetch_one(tx.conn()).await?;
    assert_eq!(n, 1, "the job is written in the caller's transaction");
    tx.rollback().await?;
    assert!(job_states(&kit, &t.tenant).await?.is_empty(), "rolled back with the change that caused it");
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let resets: i64 = sqlx::query_scalar("SELECT count(*) FROM password_reset").fetch_one(tx.conn()).await?;
    assert_eq!(resets, 0);
    drop(tx);
    kit.stop().await;
    Ok(())
}

fn worker(kit: &Kit) -> Result<tokio::process::Child> {
    Ok(kit
        .kapu_command()
        .args(["worker", "--lease-seconds", "1", "--poll-seconds", "0.2", "--backoff-seconds", "0.1", "--smtp-port"])
        .arg(kit.smtp.port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

#[tokio::test]
async fn a_worker_killed_mid_job_neither_loses_nor_duplicates_the_mail() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("gyilkos", "Gyilkos").await?;
    kit.mail.hold().await;
    let c = kit.client(t.slug());
    assert_eq!(c.post("/api/v1/auth/password-reset", &json!({ "email": t.clerk_email })).await?.status, 202);
    let mut first = worker(&kit)?;
    assert!(kit.mail.wait_for_held(1, Duration::from_secs(30)).await, "the worker is inside the job, waiting for the SMTP server's answer");
    assert_eq!(job_states(&kit, &t.tenant).await?, [("running".to_owned(), 1)]);
    first.start_kill()?;
    first.wait().await?;
    assert!(kit.mail.wait_for_held(0, Duration::from_secs(10)).await, "the SMTP server saw the killed worker's connection close");
    kit.mail.release().await;
    assert!(kit.mail.messages().await.is_empty(), "the killed worker's unacknowledged message was never delivered");

    let mut second = worker(&kit)?;
    let msgs = kit.mail.wait_for_messages(1, Duration::from_secs(30)).await.expect("the job runs again after its lease ran out");
    let states = eventually(Duration::from_secs(10), "the job to be done", || async {
        let s = job_states(&kit, &t.tenant).await?;
        Ok((s.first().map(|x| x.0.as_str()) == Some("done")).then_some(s))
    })
    .await?;
    assert_eq!(states, [("done".to_owned(), 2)], "done on the second attempt");
    assert_eq!(msgs.len(), 1);
    assert_eq!(kit.mail.messages().await.len(), 1, "exactly one e-mail");
    second.start_kill()?;
    second.wait().await?;
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn failing_jobs_back_off_then_go_dead_and_can_be_retried() -> Result<()> {
    // Mail goes to a closed port: every attempt fails as a transient error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let kit = Kit::start_with(KitOptions { worker: true, smtp_port: Some(closed), ..KitOptions::default() }).await?;
    let t = kit.tenant("halott", "Halott").await?;
    let c = kit.client(t.slug());
    c.post("/api/v1/auth/password-reset", &json!({ "email": t.clerk_email })).await?;
    eventually(Duration::from_secs(60), "the job to go dead", || async {
        let s = job_states(&kit, &t.tenant).await?;
        Ok((s.first().map(|x| x.0.as_str()) == Some("dead")).then_some(()))
    })
    .await?;
    assert_eq!(job_states(&kit, &t.tenant).await?, [("dead".to_owned(), 8)], "all eight attempts were made");
    let admin = kit.admin(&t).await?;
    let dead = admin.get("/api/v1/jobs?state=dead").await?.json();
    let job = &dead["jobs"][0];
    assert_eq!(job["kind"], "mail.send");
    let err = job["last_error"].as_str().unwrap();
    assert!(err.contains("could not be reached"), "{err}");
    assert!(!err.contains(&t.clerk_email), "no personal data in the stored error");
    assert_eq!(admin.get("/api/v1/overview").await?.json()["jobs"]["dead"], 1);
    // Operators see dead letters of every tenant.
    let (email, secret) = kit.operator().await?;
    let mut op = kit.platform_client();
    op.platform_login(&email, kapu_testkit::PASSWORD).await?;
    op.platform_totp(&secret).await?;
    let all = op.get("/api/v1/platform/jobs/dead").await?.json();
    assert_eq!(all["jobs"][0]["tenant"], "halott");
    // A retry puts it back in the queue with fresh attempts.
    let id = job["id"].as_i64().unwrap();
    assert_eq!(admin.post(&format!("/api/v1/jobs/{id}/retry"), &json!({})).await?.status, 204);
    let again = admin.post(&format!("/api/v1/jobs/{id}/retry"), &json!({})).await?;
    assert!(again.status == 404 || again.status == 204, "{}", again.text);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_job_scheduled_for_later_runs_when_due_not_at_the_next_scan() -> Result<()> {
    // The worker scans every minute; the job is due in half a second.
    let opts = KitOptions {
        worker: true,
        worker_config: kapu_jobs::WorkerConfig {
            lease: Duration::from_secs(2),
            backoff: Duration::from_millis(50),
            poll: Duration::from_secs(60),
        },
        ..Default::default()
    };
    let kit = Kit::start_with(opts).await?;
    let t = kit.tenant("kesobb", "Később").await?;
    let mail = kapu_mail::OutgoingMail {
        to: "later@kesobb.test".into(),
        subject: "Később".into(),
        text: "A job scheduled for later.".into(),
        html: None,
        message_id: kapu_mail::new_message_id(),
    };
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    kapu_jobs::enqueue(&mut tx, kapu_jobs::NewJob { run_at: Some(due), ..kapu_jobs::NewJob::new(kapu_mail::SEND_JOB, &mail) }).await?;
    tx.commit().await?;
    let msgs = kit.mail.wait_for_messages(1, Duration::from_secs(10)).await.expect("the job ran when it fell due");
    assert_eq!(msgs.len(), 1);
    assert!(chrono::Utc::now() >= due, "not before it was due");
    kit.stop().await;
    Ok(())
}
