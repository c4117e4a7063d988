//! The cases' work in each tenant's local systems, through the tenant's plugins: every filed
//! case is registered and filed in the records system (DMS One), decisions are issued
//! through it, fees are posted to finance (Forrás), and parking permits are pre-checked and
//! submitted to the parking system (Citynform).
//!
//! The work arrives as jobs that `kapu-cases` and `kapu-delivery` queue in the transaction of
//! the step that causes it (the outbox): [`kapu_cases::SUBMITTED_JOB`],
//! [`kapu_cases::PAYMENT_DUE_JOB`], [`kapu_cases::PAID_JOB`], [`kapu_cases::GRANTED_JOB`] and
//! [`kapu_delivery::ISSUED_JOB`]. [`handlers`] gives their handlers; a local system that is
//! down makes its job retry with the worker's backoff, and what a system answered is stored
//! per case and task (`case_local_task`) in the transaction that completes the job. A tenant
//! without a plugin for the system gets the task recorded as not installed, never retried.
//!
//! [`for_case`] shows a case's work: done, waiting (with attempts and the last error,
//! without personal data), failed, or not installed. [`ParkingPrecheck`] supplies the
//! `parking.*` facts of a case type from the parking system's pre-check.

mod facts;
mod store;
mod tasks;

pub use facts::ParkingPrecheck;
pub use store::{CaseLocalSystems, LocalWork, WorkState, file_numbers, for_case};
pub use tasks::{LocalSystems, handlers};

/// A local system, as a clerk reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// Records management (iktatórendszer).
    Records,
    /// Finance (pénzügy).
    Finance,
    /// Parking permits.
    Parking,
}

impl System {
    /// `records`, `finance` or `parking`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Records => "records",
            Self::Finance => "finance",
            Self::Parking => "parking",
        }
    }

    /// The plugin world that serves it.
    pub fn world(self) -> kapu_plugins::World {
        match self {
            Self::Records => kapu_plugins::World::Records,
            Self::Finance => kapu_plugins::World::Finance,
            Self::Parking => kapu_plugins::World::Parking,
        }
    }
}

/// One task of a case in a local system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Register the application as an incoming document (érkeztetés).
    RecordsRegister,
    /// File it under a file number (iktatás).
    RecordsFile,
    /// Issue the decision as an outgoing document under the case's file number (kiadmányozás).
    RecordsIssue,
    /// Post the fee as a receivable.
    FinanceReceivable,
    /// Post the payment of the fee.
    FinancePayment,
    /// Submit the granted parking permit.
    ParkingSubmit,
}

impl Task {
    /// The stored name, e.g. `records.file`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecordsRegister => "records.register",
            Self::RecordsFile => "records.file",
            Self::RecordsIssue => "records.issue",
            Self::FinanceReceivable => "finance.receivable",
            Self::FinancePayment => "finance.payment",
            Self::ParkingSubmit => "parking.submit",
        }
    }

    /// The system it runs in.
    pub fn system(self) -> System {
        match self {
            Self::RecordsRegister | Self::RecordsFile | Self::RecordsIssue => System::Records,
            Self::FinanceReceivable | Self::FinancePayment => System::Finance,
            Self::ParkingSubmit => System::Parking,
        }
    }

    /// The task a job kind does, if it is one of ours.
    pub fn of_job(kind: &str) -> Option<Self> {
        Some(match kind {
            kapu_cases::SUBMITTED_JOB => Self::RecordsFile,
            kapu_cases::PAYMENT_DUE_JOB => Self::FinanceReceivable,
            kapu_cases::PAID_JOB => Self::FinancePayment,
            kapu_cases::GRANTED_JOB => Self::ParkingSubmit,
            kapu_delivery::ISSUED_JOB => Self::RecordsIssue,
            _ => return None,
        })
    }
}

/// The job kinds this crate handles.
pub const JOB_KINDS: [&str; 5] =
    [kapu_cases::SUBMITTED_JOB, kapu_cases::PAYMENT_DUE_JOB, kapu_cases::PAID_JOB, kapu_cases::GRANTED_JOB, kapu_delivery::ISSUED_JOB];

/// Whether a case type's permits go to the parking system: it declares `parking.*` facts,
/// which its pre-check supplies. Its form names the vehicle `vehicle`, the address
/// `address` and the first valid day `valid_from`.
pub fn is_parking(declared: &[kapu_cases::FactDecl]) -> bool {
    declared.iter().any(|f| f.name.starts_with("parking."))
}

/// Errors of reading a case's local-system work.
#[derive(Debug, thiserror::Error)]
pub enum LocalSystemsError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The job queue failed.
    #[error(transparent)]
    Jobs(#[from] kapu_jobs::JobsError),
    /// Reading the case failed.
    #[error(transparent)]
    Case(#[from] kapu_cases::CaseError),
}
