//! Documents issued to clients and their delivery (kézbesítés).
//!
//! - [`seal`]: the tenant's seal (key sealed by `kapu-crypto`, behind the
//!   [`kapu_documents::Signer`] trait).
//! - [`issue`]: [`issue::issue_decision`] enqueues the issuing job in the caller's
//!   transaction; the job renders, seals and time-stamps, stores the document and notifies the
//!   client by e-mail (outbox).
//! - [`access`]: the client's documents on the portal: listing, downloading (the first
//!   download by the addressee or a representative is the delivery), download certificates;
//!   and the staff's audited view of the delivery state.
//! - [`deadlines`]: the reminder and the deemed delivery after the tenant's number of
//!   working days, run by a scheduled, idempotent job.
//! - [`OnDelivery`]: what the owner of a document (the case of a decision) does when it is
//!   delivered, in the transaction that records the delivery.
//!
//! **Architecture Invariant:** an `issued_document` row exists only for a sealed,
//! time-stamped PDF: it is written in the same transaction that completes the issuing job,
//! after sealing succeeded. A time-stamping authority that is down makes the job retry.
//!
//! **Architecture Invariant:** a document has at most one delivery (the primary key of
//! `delivery`), whichever of the first download and the deemed delivery commits first.

pub mod access;
pub mod deadlines;
pub mod issue;
pub mod seal;

/// The columns this crate seals.
pub const SEALED: &[kapu_crypto::Column] = &[issue::PDF, seal::PRIVATE_KEY];

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Budapest;
use kapu_core::{Refusal, TenantTx};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// The job kind that issues one document.
pub const ISSUE_JOB: &str = "delivery.issue";
/// The job kind that sends reminders and records deemed deliveries; it schedules its next run.
pub const DEADLINES_JOB: &str = "delivery.deadlines";
/// The job an issued decision queues for the tenant's records system (payload
/// `{"document_id": …, "subject_ref": …}`), in the transaction that stores it.
pub const ISSUED_JOB: &str = "delivery.issued";

/// Why a delivery operation failed.
#[derive(Debug, Error)]
pub enum DeliveryError {
    /// Input that cannot be accepted.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong.
        reason: Refusal,
    },
    /// No such document for this reader (another client's documents are not found either).
    #[error("there is no such document")]
    NotFound,
    /// The document cannot be certified yet: it has not been downloaded by its addressee.
    #[error("the document has not been downloaded yet, so there is nothing to certify")]
    NotDownloaded,
    /// The tenant has no seal installed.
    #[error("no seal is installed for this municipality; install one with `kapu documents install-seal`")]
    NoSeal,
    /// The seal could not be loaded.
    #[error("the seal is unusable: {0}")]
    Seal(String),
    /// Key handling failed.
    #[error(transparent)]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// The job queue failed.
    #[error(transparent)]
    Jobs(#[from] kapu_jobs::JobsError),
    /// The client registry failed.
    #[error(transparent)]
    Clients(#[from] kapu_clients::ClientError),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] kapu_audit::AuditError),
    /// A stored value does not decode.
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
    /// What follows a delivery (see [`OnDelivery`]) failed, and with it the delivery.
    #[error("recording the delivery with its subject failed: {0}")]
    FollowUp(String),
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub(crate) fn invalid(field: &'static str, reason: Refusal) -> DeliveryError {
    DeliveryError::Invalid { field, reason }
}

/// What kind of document was issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Határozat.
    Decision,
    /// Egyszerűsített határozat.
    SimplifiedDecision,
    /// Letöltési igazolás.
    DownloadCertificate,
}

impl DocumentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::SimplifiedDecision => "simplified_decision",
            Self::DownloadCertificate => "download_certificate",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "decision" => Some(Self::Decision),
            "simplified_decision" => Some(Self::SimplifiedDecision),
            "download_certificate" => Some(Self::DownloadCertificate),
            _ => None,
        }
    }

    /// The Hungarian name, as documents and e-mails say it.
    pub fn hungarian(self) -> &'static str {
        match self {
            Self::Decision => "határozat",
            Self::SimplifiedDecision => "egyszerűsített határozat",
            Self::DownloadCertificate => "letöltési igazolás",
        }
    }

    /// Whether delivery is recorded for it (decisions; a certificate is proof, not a
    /// communication with legal effect).
    pub fn needs_delivery(self) -> bool {
        !matches!(self, Self::DownloadCertificate)
    }
}

/// A delivery just recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The document delivered.
    pub document_id: Uuid,
    /// By download or deemed.
    pub how: access::DeliveryHow,
    /// When it took legal effect.
    pub at: DateTime<Utc>,
}

/// What else changes when a document is delivered, called in the transaction that records the
/// delivery (exactly once per document): the case of a decision moves to delivered. An error
/// rolls the delivery back with it.
#[async_trait::async_trait]
pub trait OnDelivery: Send + Sync {
    /// The document was delivered.
    async fn delivered(&self, tx: &mut TenantTx, delivery: Recorded, now: DateTime<Utc>) -> Result<(), DeliveryError>;
}

/// Nothing else changes on delivery (documents that belong to no case).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFollowUp;

#[async_trait::async_trait]
impl OnDelivery for NoFollowUp {
    async fn delivered(&self, _tx: &mut TenantTx, _delivery: Recorded, _now: DateTime<Utc>) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// The tenant's delivery settings (`delivery` in the tenant's settings, `[delivery]` in
/// `tenant.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverySettings {
    /// An unopened decision is deemed delivered after this many working days from the day it
    /// was made available.
    pub deemed_after_working_days: u32,
    /// The reminder goes out on this working day after the day it was made available (0: no
    /// reminder); less than `deemed_after_working_days`.
    pub reminder_after_working_days: u32,
}

impl Default for DeliverySettings {
    /// Five working days, the reminder on the third.
    fn default() -> Self {
        Self { deemed_after_working_days: 5, reminder_after_working_days: 3 }
    }
}

impl DeliverySettings {
    /// Reads `settings.delivery`; the defaults when absent.
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, DeliveryError> {
        let Some(v) = settings.get("delivery").filter(|v| !v.is_null()) else { return Ok(Self::default()) };
        let d = Self::default();
        let number = |key: &'static str, default: u32| -> Result<u32, DeliveryError> {
            match v.get(key) {
                None | Some(serde_json::Value::Null) => Ok(default),
                Some(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n <= 60)
                    .ok_or_else(|| invalid(key, Refusal::OutOfRange { min: 0, max: 60 })),
            }
        };
        let s = Self {
            deemed_after_working_days: number("deemed_after_working_days", d.deemed_after_working_days)?,
            reminder_after_working_days: number("reminder_after_working_days", d.reminder_after_working_days)?,
        };
        s.check()?;
        Ok(s)
    }

    /// Checks the two periods against each other.
    pub fn check(&self) -> Result<(), DeliveryError> {
        if self.deemed_after_working_days == 0 {
            return Err(invalid("deemed_after_working_days", Refusal::OutOfRange { min: 1, max: 60 }));
        }
        if self.reminder_after_working_days >= self.deemed_after_working_days {
            return Err(invalid("reminder_after_working_days", Refusal::NotLessThan { other: "deemed_after_working_days".into() }));
        }
        Ok(())
    }
}

/// The calendar day in Hungary at `t`.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Budapest).date_naive()
}

/// The first moment of a Hungarian calendar day, in UTC.
pub fn start_of_local_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Hungary changes clocks at 02:00 or 03:00, never at midnight, so midnight is unambiguous.
    Budapest.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| midnight.and_utc())
}

/// A time as Hungarian documents print it, in Hungarian local time: `2026. 12. 21. 09:30`.
pub fn hungarian_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Budapest).format("%Y. %m. %d. %H:%M").to_string()
}

/// A day as Hungarian documents print it: `2026. 12. 21.`.
pub fn hungarian_date(d: NaiveDate) -> String {
    d.format("%Y. %m. %d.").to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_default_and_checked() {
        assert_eq!(DeliverySettings::from_settings(&serde_json::json!({})).unwrap(), DeliverySettings::default());
        let s = DeliverySettings::from_settings(&serde_json::json!({"delivery": {"deemed_after_working_days": 8}})).unwrap();
        assert_eq!(s, DeliverySettings { deemed_after_working_days: 8, reminder_after_working_days: 3 });
        let e = DeliverySettings::from_settings(&serde_json::json!({"delivery": {"deemed_after_working_days": 3}})).unwrap_err();
        assert!(e.to_string().contains("must be less than"), "{e}");
        let e = DeliverySettings::from_settings(&serde_json::json!({"delivery": {"deemed_after_working_days": "öt"}})).unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
    }

    #[test]
    fn local_days_follow_budapest_time() {
        // 23:30 UTC on 21 December is already the 22nd in Budapest (UTC+1).
        let t = Utc.with_ymd_and_hms(2026, 12, 21, 23, 30, 0).unwrap();
        assert_eq!(local_date(t), NaiveDate::from_ymd_opt(2026, 12, 22).unwrap());
        assert_eq!(
            start_of_local_day(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            Utc.with_ymd_and_hms(2026, 12, 30, 23, 0, 0).unwrap()
        );
        assert_eq!(start_of_local_day(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), Utc.with_ymd_and_hms(2026, 6, 30, 22, 0, 0).unwrap());
        assert_eq!(hungarian_time(t), "2026. 12. 22. 00:30");
    }
}
