//! The SMTP simulator over real TCP: lettre as the client, reqwest on the HTTP API.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kapu_sim::smtp::{self, ReceivedMessage, ReceivedSummary, SmtpSim, SmtpSimConfig};
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

fn transport(sim: &SmtpSim) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(sim.smtp_addr.port()).timeout(Some(TIMEOUT)).build()
}

fn message(subject: &str) -> Result<Message> {
    Ok(Message::builder()
        .from("Kapu Önkormányzat <noreply@kapu.example>".parse::<Mailbox>()?)
        .to("kovacs.janos@example.hu".parse::<Mailbox>()?)
        .to("nagy.eva@example.hu".parse::<Mailbox>()?)
        .subject(subject)
        .message_id(Some("<jelszo-1@kapu>".to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            "Kedves János!\n\nÁrvíztűrő tükörfúrógép.".to_owned(),
            "<p>Kedves János!</p><p>Árvíztűrő tükörfúrógép.</p>".to_owned(),
        ))?)
}

async fn get_json<T: serde::de::DeserializeOwned>(url: String) -> Result<T> {
    Ok(reqwest::get(url).await?.error_for_status()?.json().await?)
}

/// A hand-driven SMTP client, for what lettre will not do.
struct RawClient {
    conn: BufReader<TcpStream>,
}

impl RawClient {
    async fn connect(sim: &SmtpSim) -> Result<Self> {
        let mut client = Self { conn: BufReader::new(TcpStream::connect(sim.smtp_addr).await?) };
        let (code, _) = client.reply().await?;
        assert_eq!(code, 220);
        Ok(client)
    }

    /// Reads one (possibly multi-line) reply.
    async fn reply(&mut self) -> Result<(u16, String)> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.conn.read_line(&mut line).await? == 0 {
                bail!("connection closed");
            }
            text.push_str(&line);
            let code = line.get(..3).context("short reply")?.parse()?;
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
        }
    }

    async fn send(&mut self, bytes: &str) -> Result<()> {
        self.conn.get_mut().write_all(bytes.as_bytes()).await?;
        Ok(())
    }

    /// Sends one command line and returns the reply code.
    async fn command(&mut self, line: &str) -> Result<u16> {
        self.send(&format!("{line}\r\n")).await?;
        Ok(self.reply().await?.0)
    }

    /// Runs a transaction up to and including the final dot, without reading its reply.
    async fn send_until_final_dot(&mut self, body: &str) -> Result<()> {
        assert_eq!(self.command("EHLO client.example").await?, 250);
        assert_eq!(self.command("MAIL FROM:<a@example.hu>").await?, 250);
        assert_eq!(self.command("RCPT TO:<b@example.hu>").await?, 250);
        assert_eq!(self.command("DATA").await?, 354);
        self.send(&format!("{body}\r\n.\r\n")).await
    }
}

#[tokio::test]
async fn a_message_sent_with_lettre_reads_back_over_http() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    transport(&sim).send(message("Jelszó visszaállítása")?).await?;

    let list: Vec<ReceivedSummary> = get_json(format!("{}/messages", sim.http_url())).await?;
    assert_eq!(list.len(), 1);
    let summary = &list[0];
    assert_eq!(summary.mail_from, "noreply@kapu.example");
    assert_eq!(summary.rcpt_to, ["kovacs.janos@example.hu", "nagy.eva@example.hu"]);
    assert_eq!(summary.subject.as_deref(), Some("Jelszó visszaállítása"));
    assert_eq!(summary.message_id.as_deref(), Some("<jelszo-1@kapu>"));
    assert_eq!(summary.auth_user, None);
    assert_eq!(sim.messages().await, list);

    let full: ReceivedMessage = get_json(format!("{}/messages/{}", sim.http_url(), summary.id)).await?;
    assert_eq!(&full.summary, summary);
    assert_eq!(full.text.as_deref().map(str::trim_end), Some("Kedves János!\n\nÁrvíztűrő tükörfúrógép."));
    assert_eq!(full.html.as_deref().map(str::trim_end), Some("<p>Kedves János!</p><p>Árvíztűrő tükörfúrógép.</p>"));
    assert!(full.headers.iter().any(|h| h.name == "Message-ID" && h.value == "<jelszo-1@kapu>"), "{:?}", full.headers);

    let raw = reqwest::get(format!("{}/messages/{}/raw", sim.http_url(), summary.id)).await?.error_for_status()?;
    assert_eq!(raw.headers().get("content-type").map(|v| v.as_bytes()), Some(&b"message/rfc822"[..]));
    let raw = raw.bytes().await?;
    assert_eq!(Some(raw.to_vec()), sim.raw(summary.id).await);
    assert!(raw.windows(12).any(|w| w == b"Message-ID: "));

    assert_eq!(reqwest::get(format!("{}/messages/999", sim.http_url())).await?.status(), 404);
    let deleted = reqwest::Client::new().delete(format!("{}/messages", sim.http_url())).send().await?;
    assert_eq!(deleted.status(), 204);
    assert!(sim.messages().await.is_empty());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn starttls_and_auth_work_with_a_verifying_client() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let pem = sim.certificate_pem().context("no certificate")?;
    let tls = TlsParameters::builder("localhost".to_owned()).add_root_certificate(Certificate::from_pem(pem.as_bytes())?).build_rustls()?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sim.smtp_addr.port())
        .tls(Tls::Required(tls))
        .credentials(Credentials::new("kapu".to_owned(), "titok".to_owned()))
        .timeout(Some(TIMEOUT))
        .build();
    transport.send(message("Titkosítva")?).await?;
    let list = sim.messages().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].subject.as_deref(), Some("Titkosítva"));
    assert_eq!(list[0].auth_user.as_deref(), Some("kapu"));
    Ok(())
}

#[tokio::test]
async fn commands_out_of_sequence_and_unknown_ones_are_refused() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let mut c = RawClient::connect(&sim).await?;
    assert_eq!(c.command("MAIL FROM:<a@example.hu>").await?, 503);
    assert_eq!(c.command("EHLO").await?, 501);
    c.send("EHLO client.example\r\n").await?;
    let (code, ehlo) = c.reply().await?;
    assert_eq!(code, 250);
    assert!(ehlo.contains("250-SIZE 10485760"), "{ehlo}");
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(c.command("RCPT TO:<b@example.hu>").await?, 503);
    assert_eq!(c.command("DATA").await?, 503);
    assert_eq!(c.command("MAIL FROM:a@example.hu").await?, 501);
    assert_eq!(c.command("MAIL FROM:<a@example.hu> FOO=BAR").await?, 555);
    assert_eq!(c.command("mail from:<a@example.hu>").await?, 250);
    assert_eq!(c.command("MAIL FROM:<a@example.hu>").await?, 503);
    assert_eq!(c.command("DATA").await?, 503);
    assert_eq!(c.command("RCPT TO:<>").await?, 501);
    assert_eq!(c.command("XYZZY").await?, 500);
    assert_eq!(c.command("EXPN staff").await?, 502);
    assert_eq!(c.command("VRFY janos").await?, 252);
    assert_eq!(c.command("NOOP").await?, 250);
    assert_eq!(c.command(&format!("NOOP {}", "x".repeat(600))).await?, 500);
    assert_eq!(c.command("RSET").await?, 250);
    assert_eq!(c.command("RCPT TO:<b@example.hu>").await?, 503);
    assert_eq!(c.command("QUIT").await?, 221);
    assert!(sim.messages().await.is_empty());
    Ok(())
}

#[tokio::test]
async fn data_is_dot_unstuffed_and_size_limited() -> Result<()> {
    let sim = smtp::start_with(SmtpSimConfig { max_message_size: 200, ..SmtpSimConfig::default() }).await?;
    let mut c = RawClient::connect(&sim).await?;
    // "..\r\n" unstuffs to a lone dot, which does not end the message.
    c.send_until_final_dot("Subject: pont\r\n\r\n..csak egy pont\r\n..\r\nvege").await?;
    assert_eq!(c.reply().await?.0, 250);
    let raw = sim.raw(1).await.context("not stored")?;
    assert_eq!(raw, b"Subject: pont\r\n\r\n.csak egy pont\r\n.\r\nvege\r\n");

    assert_eq!(c.command("MAIL FROM:<a@example.hu> SIZE=201").await?, 552);
    assert_eq!(c.command("MAIL FROM:<a@example.hu> SIZE=100").await?, 250);
    assert_eq!(c.command("RCPT TO:<b@example.hu>").await?, 250);
    assert_eq!(c.command("DATA").await?, 354);
    c.send(&format!("Subject: nagy\r\n\r\n{}\r\n.\r\n", "x".repeat(300))).await?;
    assert_eq!(c.reply().await?.0, 552);
    assert_eq!(sim.messages().await.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_held_transaction_completes_when_released() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let http = reqwest::Client::new();
    http.post(format!("{}/hold", sim.http_url())).send().await?.error_for_status()?;

    let sending = tokio::spawn({
        let transport = transport(&sim);
        let message = message("Várakozik")?;
        async move { transport.send(message).await }
    });
    assert!(sim.wait_for_held(1, TIMEOUT).await, "never held");
    let held: serde_json::Value = get_json(format!("{}/held", sim.http_url())).await?;
    assert_eq!(held, serde_json::json!({"holding": true, "held": 1}));
    assert!(sim.messages().await.is_empty());
    assert!(!sending.is_finished());

    http.post(format!("{}/release", sim.http_url())).send().await?.error_for_status()?;
    tokio::time::timeout(TIMEOUT, sending).await???;
    let list = sim.messages().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].subject.as_deref(), Some("Várakozik"));
    assert_eq!(sim.held().await, 0);
    Ok(())
}

#[tokio::test]
async fn a_client_that_leaves_while_held_loses_its_message() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    sim.hold().await;

    // A raw client that disconnects after the final dot.
    let mut c = RawClient::connect(&sim).await?;
    c.send_until_final_dot("Subject: elveszik\r\n\r\nszia").await?;
    assert!(sim.wait_for_held(1, TIMEOUT).await, "never held");
    drop(c);
    assert!(sim.wait_for_held(0, TIMEOUT).await, "still held");

    // A lettre send killed mid-transaction.
    let sending = tokio::spawn({
        let transport = transport(&sim);
        let message = message("Megszakítva")?;
        async move { transport.send(message).await }
    });
    assert!(sim.wait_for_held(1, TIMEOUT).await, "never held");
    sending.abort();
    assert!(sim.wait_for_held(0, TIMEOUT).await, "still held");

    sim.release().await;
    transport(&sim).send(message("Megérkezik")?).await?;
    let list = sim.messages().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].subject.as_deref(), Some("Megérkezik"));
    Ok(())
}

#[tokio::test]
async fn a_text_only_message_has_no_html() -> Result<()> {
    let sim = smtp::start(0, 0).await?;
    let message = Message::builder()
        .from("noreply@kapu.example".parse::<Mailbox>()?)
        .to("b@example.hu".parse::<Mailbox>()?)
        .subject("Csak szöveg")
        .header(ContentType::TEXT_PLAIN)
        .body("Szöveg.".to_owned())?;
    transport(&sim).send(message).await?;
    let list = sim.wait_for_messages(1, TIMEOUT).await.context("no message")?;
    let full = sim.message(list[0].id).await.context("not found")?;
    assert_eq!(full.text.as_deref().map(str::trim_end), Some("Szöveg."));
    assert_eq!(full.html, None);
    Ok(())
}
