//! The office's queue system (ügyfélhívó, e.g. Q-Fusion) as Kapu uses it, through the tenant's
//! queue plugin (`kapu-plugins`, world `queue`):
//!
//! - [`counter`]: tickets a clerk issues for a client, the counter each clerk sits at, the
//!   clerk's own "call next", the calls to a counter and the called client's card (an
//!   audited read of personal data);
//! - [`feed`]: the self-scheduling [`FEED_JOB`] that reads the queue system's events after a
//!   stored cursor, stores them and advances the cursor in one transaction, and backs off
//!   while the queue system is down, recording when the feed last read and why it failed.
//!
//! Knows nothing of HTTP; every function takes the tenant transaction and `now`.

pub mod counter;
pub mod feed;

pub use counter::{Call, Card, CounterView, IssuedTicket, NewTicket};
pub use feed::{FEED_JOB, FeedHandler, FeedSettings, FeedStatus};

use kapu_core::Refusal;

/// Errors of the queue domain.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The tenant has no queue plugin installed (the message says what to do).
    #[error("{0}")]
    NoPlugin(String),
    /// An input that breaks a rule.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong.
        reason: Refusal,
    },
    /// The clerk has not said which counter they sit at.
    #[error("set the counter you sit at first")]
    NoCounter,
    /// No such call to the clerk's counter.
    #[error("there is no call {0} to your counter")]
    NoSuchCall(i64),
    /// The queue system (or its plugin) failed; the plugin's words, without personal data.
    #[error("the queue system failed or refused the request: {0}")]
    QueueSystem(String),
    /// A plugin host error other than a failed call.
    #[error(transparent)]
    Plugin(#[from] kapu_plugins::PluginError),
    /// From the clients domain.
    #[error(transparent)]
    Clients(#[from] kapu_clients::ClientError),
    /// From the cases domain.
    #[error(transparent)]
    Cases(#[from] kapu_cases::CaseError),
    /// From the job queue.
    #[error(transparent)]
    Jobs(#[from] kapu_jobs::JobsError),
    /// From the audit log.
    #[error(transparent)]
    Audit(#[from] kapu_audit::AuditError),
    /// A database error.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What to do when a tenant has no queue plugin.
pub const NO_QUEUE_PLUGIN: &str = "no queue system plugin is installed for this municipality: a tenant admin installs the \
    queue plugin (plugins/qfusion, for Q-Fusion) and configures it under Plugins in the admin UI, or with \
    `kapu plugin install` and `kapu plugin configure`";

fn invalid(field: &'static str, reason: Refusal) -> QueueError {
    QueueError::Invalid { field, reason }
}

/// Checks a counter's name as the queue system knows it, e.g. `3`: 1 to 16 letters, digits
/// or hyphens.
pub fn check_counter(counter: &str) -> Result<(), QueueError> {
    if counter.is_empty() || counter.len() > 16 || !counter.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid("counter", Refusal::InvalidCounter));
    }
    Ok(())
}

/// Checks a service code, e.g. `A`: 1 to 16 letters, digits or hyphens.
pub fn check_service(service: &str) -> Result<(), QueueError> {
    if service.is_empty() || service.len() > 16 || !service.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid("service", Refusal::InvalidServiceCode));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_services_are_short_codes() {
        for ok in ["3", "12", "A-2", "0123456789abcdef"] {
            assert!(check_counter(ok).is_ok(), "{ok}");
            assert!(check_service(ok).is_ok(), "{ok}");
        }
        for bad in ["", " 3", "3 ", "ablak 3", "0123456789abcdefg", "3;", "é"] {
            assert!(matches!(check_counter(bad), Err(QueueError::Invalid { field: "counter", .. })), "{bad:?}");
            assert!(matches!(check_service(bad), Err(QueueError::Invalid { field: "service", .. })), "{bad:?}");
        }
    }
}
