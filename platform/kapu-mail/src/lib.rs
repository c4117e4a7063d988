//! Outgoing e-mail, sent over SMTP with lettre.
//!
//! [`Mailer::send`] delivers one [`OutgoingMail`]. Its [`MailError`] says whether trying
//! again can help ([`MailError::is_permanent`]), which is what a retrying queue needs. The
//! mail's `message_id` is put in the `Message-ID` header unchanged, so a retried send that
//! the server did in fact accept the first time is recognisable as a duplicate.
//!
//! **Architecture Invariant:** this crate does not render templates or decide when to send;
//! it turns a finished mail into SMTP.

mod job;

use std::time::Duration;

use lettre::address::AddressError;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

pub use job::{MailJob, MailJobError, QUEUED_MAIL, recipient_index};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An e-mail to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// The recipient, `addr@example.hu` or `Name <addr@example.hu>`.
    pub to: String,
    /// The subject; any Unicode (encoded per RFC 2047 as needed).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An HTML alternative of the body, sent as `multipart/alternative` with the text.
    pub html: Option<String>,
    /// The `Message-ID` header, angle brackets included, e.g. `<uuid@kapu>`; keep it stable
    /// across retries of the same mail (see [`new_message_id`]).
    pub message_id: String,
}

/// A fresh, globally unique message id: `<{uuid}@kapu>`.
pub fn new_message_id() -> String {
    format!("<{}@kapu>", uuid::Uuid::new_v4())
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text; only for a local relay or the simulator.
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    #[serde(alias = "starttls")]
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// SMTP settings.
#[derive(Clone, Debug, Deserialize)]
pub struct SmtpConfig {
    /// The SMTP server's host name (also checked against its certificate).
    pub host: String,
    /// The SMTP server's port.
    pub port: u16,
    /// The sender, `addr@example.hu` or `Name <addr@example.hu>`.
    pub from: String,
    /// How the connection is secured.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The user name, if the server requires authentication.
    pub username: Option<String>,
    /// The password that goes with `username`.
    pub password: Option<String>,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address does not parse; permanent.
    #[error("invalid e-mail address {address:?}: {source}")]
    InvalidAddress {
        /// The offending address.
        address: String,
        /// Why it does not parse.
        #[source]
        source: AddressError,
    },
    /// The message could not be built; permanent.
    #[error("cannot build the message: {0}")]
    InvalidMessage(#[from] lettre::error::Error),
    /// The SMTP settings are unusable; permanent.
    #[error("invalid SMTP settings: {0}")]
    Config(String),
    /// The server refused the mail with a 5xx reply; permanent.
    #[error("the SMTP server rejected the mail: {0}")]
    Rejected(#[source] lettre::transport::smtp::Error),
    /// Connecting or talking to the server failed, or it answered 4xx; worth retrying.
    #[error("sending over SMTP failed: {0}")]
    Transport(#[source] lettre::transport::smtp::Error),
}

impl MailError {
    /// Whether retrying the same mail cannot succeed.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Transport(_))
    }
}

impl From<lettre::transport::smtp::Error> for MailError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        if error.is_permanent() { Self::Rejected(error) } else { Self::Transport(error) }
    }
}

/// Sends e-mail through one SMTP server; cheap to share, one connection per mail.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|source| MailError::InvalidAddress { address: address.to_owned(), source })
}

impl Mailer {
    /// Prepares a mailer; connects only when sending.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, MailError> {
        let from = mailbox(&cfg.from)?;
        let builder = match cfg.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host).map_err(|error| MailError::Config(error.to_string()))?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(|error| MailError::Config(error.to_string()))?,
        };
        let mut builder = builder.port(cfg.port).timeout(Some(SMTP_TIMEOUT));
        match (&cfg.username, &cfg.password) {
            (Some(username), password) => {
                builder = builder.credentials(Credentials::new(username.clone(), password.clone().unwrap_or_default()));
            }
            (None, Some(_)) => {
                return Err(MailError::Config("a password is set without a username".to_owned()));
            }
            (None, None) => {}
        }
        Ok(Self { from, transport: builder.build() })
    }

    /// Sends `mail`, waiting for the server's final reply.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = self.build(mail)?;
        self.transport.send(message).await?;
        tracing::info!(message_id = %mail.message_id, "mail sent");
        Ok(())
    }

    fn build(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(mailbox(&mail.to)?)
            .subject(mail.subject.as_str())
            .message_id(Some(mail.message_id.clone()));
        let message = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone()))?,
            None => builder.singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone()))?,
        };
        Ok(message)
    }
}

/// The job kind that sends one [`OutgoingMail`].
pub const SEND_JOB: &str = "mail.send";
