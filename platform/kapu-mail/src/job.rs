//! The payload of a `mail.send` job: the mail sealed at rest with the tenant's data key.
//!
//! A queued mail holds a recipient, and often a one-time link (password reset, e-mail
//! confirmation) that is as good as a password until it is used: the job table keeps it
//! sealed like other personal data. The payload names the mail by its `Message-ID` (the
//! place the seal is bound to) and keeps a keyed blind index of the recipient's address,
//! so an erasure can still find the mails queued to an address.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kapu_crypto::{Column, CryptoError, Keyring};
use serde::{Deserialize, Serialize};

use crate::OutgoingMail;

/// Where a queued mail is sealed: the `job` row's payload, named by the mail's
/// `Message-ID` (the job's own id is given by the database only when it is written).
pub const QUEUED_MAIL: Column = Column::new("job", "message_id", "payload.mail");

/// The blind index context of a queued mail's recipient address.
const RECIPIENT: &str = "mail.to";

/// A `mail.send` job's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    /// The mail's `Message-ID`, which names the place the seal is bound to.
    pub message_id: String,
    /// The keyed blind index of the recipient's address, hex (see [`recipient_index`]).
    pub to_index: String,
    /// The [`OutgoingMail`] as JSON, sealed, base64.
    pub sealed: String,
}

/// Why a mail job's payload does not open.
#[derive(Debug, thiserror::Error)]
pub enum MailJobError {
    /// Neither a sealed mail nor a mail queued before mails were sealed.
    #[error("malformed mail job: {0}")]
    Malformed(String),
    /// The sealed mail does not open with the tenant's keys.
    #[error("the queued mail does not open: {0}")]
    Crypto(#[from] CryptoError),
}

impl MailJob {
    /// Seals `mail` with the tenant's keyring.
    pub fn seal(ring: &Keyring, mail: &OutgoingMail) -> Result<Self, CryptoError> {
        let json = zeroize::Zeroizing::new(serde_json::to_vec(mail).map_err(|_| CryptoError::Tampered)?);
        Ok(Self {
            message_id: mail.message_id.clone(),
            to_index: recipient_index(ring, &mail.to),
            sealed: B64.encode(ring.seal(&QUEUED_MAIL.at(&mail.message_id), &json)?),
        })
    }

    /// The mail in a job's payload: a sealed one, or a plain [`OutgoingMail`] queued before
    /// mails were sealed.
    pub fn open(ring: &Keyring, payload: &serde_json::Value) -> Result<OutgoingMail, MailJobError> {
        if payload.get("sealed").is_none() {
            return serde_json::from_value(payload.clone()).map_err(|e| MailJobError::Malformed(e.to_string()));
        }
        let job: Self = serde_json::from_value(payload.clone()).map_err(|e| MailJobError::Malformed(e.to_string()))?;
        let blob = B64.decode(&job.sealed).map_err(|e| MailJobError::Malformed(e.to_string()))?;
        let json = zeroize::Zeroizing::new(ring.open(&QUEUED_MAIL.at(&job.message_id), &blob)?);
        let mail: OutgoingMail = serde_json::from_slice(&json).map_err(|e| MailJobError::Malformed(e.to_string()))?;
        if mail.message_id != job.message_id {
            return Err(MailJobError::Malformed("the sealed mail names another message".into()));
        }
        Ok(mail)
    }
}

/// The keyed blind index of a recipient (`addr` or `Name <addr>`): its address, trimmed and
/// lower-cased, as hex, for finding the mails queued to an address without reading them.
pub fn recipient_index(ring: &Keyring, to: &str) -> String {
    let addr = match (to.rfind('<'), to.rfind('>')) {
        (Some(a), Some(b)) if a < b => &to[a + 1..b],
        _ => to,
    };
    ring.blind_index(RECIPIENT, &addr.trim().to_lowercase()).iter().map(|b| format!("{b:02x}")).collect()
}
