//! Received messages and the hold switch, shared by the SMTP sessions, the HTTP API and the
//! [`SmtpSim`](super::SmtpSim) handle.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// What the list endpoint shows of a received message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedSummary {
    /// Assigned by the simulator, counting from 1.
    pub id: u64,
    /// When the final `.` of DATA was accepted.
    pub received_at: DateTime<Utc>,
    /// The envelope sender (`MAIL FROM`); empty for the null sender `<>`.
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub rcpt_to: Vec<String>,
    /// The decoded `Subject` header.
    pub subject: Option<String>,
    /// The `Message-ID` header with its angle brackets, e.g. `<abc@kapu>`.
    pub message_id: Option<String>,
    /// The user name given with `AUTH`, if the client authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_user: Option<String>,
}

/// A received message with its parsed content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    /// The envelope and the main headers.
    #[serde(flatten)]
    pub summary: ReceivedSummary,
    /// The first `text/plain` body part, decoded, with `\n` line endings.
    pub text: Option<String>,
    /// The first `text/html` body part, decoded, with `\n` line endings (`None` if there is
    /// no HTML part; it is never synthesised from the text).
    pub html: Option<String>,
    /// The top-level header fields in order, values unfolded but not decoded.
    pub headers: Vec<MessageHeader>,
}

/// One header field of a received message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageHeader {
    /// The field name as sent.
    pub name: String,
    /// The raw value, unfolded and trimmed.
    pub value: String,
}

/// The envelope of a transaction about to be stored.
pub(crate) struct Envelope {
    pub(crate) mail_from: String,
    pub(crate) rcpt_to: Vec<String>,
    pub(crate) auth_user: Option<String>,
}

struct Stored {
    summary: ReceivedSummary,
    raw: Arc<[u8]>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    messages: Vec<Stored>,
    held: usize,
}

/// The shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    inner: Arc<Mutex<Inner>>,
    /// Bumped after every change, so that waiters need not poll.
    changed: Arc<watch::Sender<()>>,
    /// Whether finished transactions are held unanswered.
    hold: Arc<watch::Sender<bool>>,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self { inner: Arc::default(), changed: Arc::new(watch::Sender::new(())), hold: Arc::new(watch::Sender::new(false)) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        self.changed.send_replace(());
    }

    /// Stores an accepted message and returns its id.
    pub(crate) fn insert(&self, envelope: Envelope, raw: Vec<u8>) -> u64 {
        let parsed = MessageParser::default().parse(&raw);
        let subject = parsed.as_ref().and_then(|m| m.subject()).map(str::to_owned);
        let message_id = parsed.as_ref().and_then(|m| m.message_id()).map(|id| format!("<{id}>"));
        drop(parsed);
        let id = {
            let mut inner = self.lock();
            inner.next_id += 1;
            let id = inner.next_id;
            inner.messages.push(Stored {
                summary: ReceivedSummary {
                    id,
                    received_at: Utc::now(),
                    mail_from: envelope.mail_from,
                    rcpt_to: envelope.rcpt_to,
                    subject,
                    message_id,
                    auth_user: envelope.auth_user,
                },
                raw: raw.into(),
            });
            id
        };
        self.notify();
        id
    }

    pub(crate) fn summaries(&self) -> Vec<ReceivedSummary> {
        self.lock().messages.iter().map(|m| m.summary.clone()).collect()
    }

    pub(crate) fn raw(&self, id: u64) -> Option<Arc<[u8]>> {
        self.lock().messages.iter().find(|m| m.summary.id == id).map(|m| m.raw.clone())
    }

    pub(crate) fn message(&self, id: u64) -> Option<ReceivedMessage> {
        let (summary, raw) = {
            let inner = self.lock();
            let stored = inner.messages.iter().find(|m| m.summary.id == id)?;
            (stored.summary.clone(), stored.raw.clone())
        };
        Some(parse(summary, &raw))
    }

    pub(crate) fn clear(&self) {
        self.lock().messages.clear();
        self.notify();
    }

    pub(crate) fn set_hold(&self, hold: bool) {
        self.hold.send_replace(hold);
        self.notify();
    }

    pub(crate) fn holding(&self) -> bool {
        *self.hold.borrow()
    }

    pub(crate) fn subscribe_hold(&self) -> watch::Receiver<bool> {
        self.hold.subscribe()
    }

    pub(crate) fn held(&self) -> usize {
        self.lock().held
    }

    /// Counts a transaction as held until the returned guard is dropped.
    pub(crate) fn enter_hold(&self) -> HeldGuard {
        self.lock().held += 1;
        self.notify();
        HeldGuard { store: self.clone() }
    }

    /// Waits until `condition` holds for the state, for at most `timeout`.
    pub(crate) async fn wait_until<T>(&self, timeout: Duration, mut condition: impl FnMut(&Self) -> Option<T>) -> Option<T> {
        let mut changes = self.changed.subscribe();
        tokio::time::timeout(timeout, async {
            loop {
                if let Some(value) = condition(self) {
                    return Some(value);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}

/// Keeps a transaction counted in [`Store::held`].
pub(crate) struct HeldGuard {
    store: Store,
}

impl Drop for HeldGuard {
    fn drop(&mut self) {
        {
            let mut inner = self.store.lock();
            inner.held = inner.held.saturating_sub(1);
        }
        self.store.notify();
    }
}

fn parse(summary: ReceivedSummary, raw: &[u8]) -> ReceivedMessage {
    let Some(message) = MessageParser::default().parse(raw) else {
        return ReceivedMessage { summary, text: None, html: None, headers: Vec::new() };
    };
    let text = message
        .text_bodies()
        .find(|part| part.is_text() && !part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(lf_line_endings);
    let html = message.html_bodies().find(|part| part.is_text_html()).and_then(|part| part.text_contents()).map(lf_line_endings);
    let headers = message.headers_raw().map(|(name, value)| MessageHeader { name: name.to_owned(), value: unfold(value) }).collect();
    ReceivedMessage { summary, text, html, headers }
}

/// Turns the wire's CRLF line endings into `\n`.
fn lf_line_endings(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Joins folded header lines (RFC 5322 §2.2.3) and trims the result.
fn unfold(value: &str) -> String {
    value.split("\r\n").flat_map(|line| line.split('\n')).collect::<String>().trim().to_owned()
}
