//! Sends mail to the SMTP simulator and reads it back over its HTTP API.

use std::time::Duration;

use anyhow::{Context, Result};
use kapu_mail::{MailError, Mailer, OutgoingMail, SmtpConfig, SmtpTls, new_message_id};
use kapu_sim::smtp::{self, ReceivedMessage, ReceivedSummary};

const TIMEOUT: Duration = Duration::from_secs(10);

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        from: "Kapu Önkormányzat <noreply@kapu.example>".to_owned(),
        tls: SmtpTls::None,
        username: None,
        password: None,
    }
}

fn mail(html: Option<&str>) -> OutgoingMail {
    OutgoingMail {
        to: "Kovács János <kovacs.janos@example.hu>".to_owned(),
        subject: "Jelszó visszaállítása".to_owned(),
        text: "Kedves János!\nA jelszavát az alábbi linken állíthatja vissza.".to_owned(),
        html: html.map(str::to_owned),
        message_id: new_message_id(),
    }
}

#[tokio::test]
async fn a_mail_arrives_with_its_subject_text_and_html() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let mailer = Mailer::new(&config(sim.smtp_addr.port()))?;
    let sent = mail(Some("<p>Kedves János!</p>"));
    mailer.send(&sent).await?;

    let list: Vec<ReceivedSummary> = reqwest::get(format!("{}/messages", sim.http_url())).await?.json().await?;
    assert_eq!(list.len(), 1);
    let got: ReceivedMessage = reqwest::get(format!("{}/messages/{}", sim.http_url(), list[0].id)).await?.json().await?;
    assert_eq!(got.summary.mail_from, "noreply@kapu.example");
    assert_eq!(got.summary.rcpt_to, ["kovacs.janos@example.hu"]);
    assert_eq!(got.summary.subject.as_deref(), Some("Jelszó visszaállítása"));
    assert_eq!(got.summary.message_id.as_deref(), Some(sent.message_id.as_str()));
    assert_eq!(got.text.as_deref().map(str::trim_end), Some(sent.text.as_str()));
    assert_eq!(got.html.as_deref().map(str::trim_end), Some("<p>Kedves János!</p>"));
    Ok(())
}

#[tokio::test]
async fn a_text_only_mail_is_a_single_part_and_credentials_are_used() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let mailer =
        Mailer::new(&SmtpConfig { username: Some("kapu".to_owned()), password: Some("titok".to_owned()), ..config(sim.smtp_addr.port()) })?;
    mailer.send(&mail(None)).await?;
    let list = sim.wait_for_messages(1, TIMEOUT).await.context("no mail")?;
    assert_eq!(list[0].auth_user.as_deref(), Some("kapu"));
    let got = sim.message(list[0].id).await.context("not stored")?;
    assert_eq!(got.html, None);
    let raw = String::from_utf8(sim.raw(list[0].id).await.context("not stored")?)?;
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
    Ok(())
}

#[tokio::test]
async fn a_bad_address_is_permanent_and_an_unreachable_server_transient() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let mailer = Mailer::new(&config(sim.smtp_addr.port()))?;
    let error = mailer.send(&OutgoingMail { to: "nem egy cím".to_owned(), ..mail(None) }).await.err().context("sent to a bad address")?;
    assert!(matches!(error, MailError::InvalidAddress { .. }), "{error}");
    assert!(error.is_permanent());
    assert!(sim.messages().await.is_empty());

    let port = sim.smtp_addr.port();
    sim.shutdown().await;
    let error = Mailer::new(&config(port))?.send(&mail(None)).await.err().context("sent to a stopped server")?;
    assert!(matches!(error, MailError::Transport(_)), "{error}");
    assert!(!error.is_permanent());
    Ok(())
}

#[tokio::test]
async fn a_server_rejection_is_permanent() -> Result<()> {
    let sim = smtp::start_with(smtp::SmtpSimConfig { max_message_size: 100, ..smtp::SmtpSimConfig::default() }).await?;
    let error =
        Mailer::new(&config(sim.smtp_addr.port()))?.send(&mail(None)).await.err().context("the server accepted an oversized mail")?;
    assert!(matches!(error, MailError::Rejected(_)), "{error}");
    assert!(error.is_permanent());
    Ok(())
}

#[test]
fn an_invalid_sender_is_refused_up_front() {
    let error = Mailer::new(&SmtpConfig { from: "noreply".to_owned(), ..config(25) }).err();
    assert!(matches!(error, Some(MailError::InvalidAddress { .. })), "{error:?}");
}

#[test]
fn tls_modes_deserialize_from_config_names() -> Result<()> {
    for (name, tls) in [("none", SmtpTls::None), ("start_tls", SmtpTls::StartTls), ("starttls", SmtpTls::StartTls), ("tls", SmtpTls::Tls)] {
        let parsed: SmtpTls = serde_json::from_str(&format!("\"{name}\""))?;
        assert_eq!(parsed, tls);
    }
    Ok(())
}
