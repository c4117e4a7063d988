//! What a case tells the tenant's local systems (records, finance, parking): jobs queued in
//! the transaction of the step that causes them (the outbox), each with the payload
//! `{"case_id": …}`, and the case as those systems are told about it.
//!
//! `kapu-local-systems` handles these jobs; this crate only queues them, so that the case
//! engine knows nothing of plugins.

use chrono::{DateTime, Utc};
use kapu_core::TenantTx;
use kapu_crypto::Keyring;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::case::{APPLICATION, CaseError, INPUTS, Inputs};
use crate::definition::FactDecl;
use crate::form::Address;
use crate::store::get_version;
use crate::workflow::CaseState;

/// A case was filed (submitted with a number): register and file it in the records system.
pub const SUBMITTED_JOB: &str = "case.submitted";
/// A case waits for its fee: post the receivable to finance.
pub const PAYMENT_DUE_JOB: &str = "case.payment_due";
/// A case's fee was paid: post the payment to finance.
pub const PAID_JOB: &str = "case.paid";
/// A case was decided with a grant: e.g. submit a parking permit.
pub const GRANTED_JOB: &str = "case.granted";

/// How many times a local-system job runs before it is dead: with the worker's default
/// backoff ([`kapu_jobs::WorkerConfig::retry_delay`]: doubling, at most an hour apart) a
/// local system may be down for about half a day.
pub const LOCAL_ATTEMPTS: i32 = 20;

/// A filed case as the local systems are told about it. It carries personal data (the
/// applicant's name and the form values): it goes to the municipality's own systems only.
#[derive(Clone, Debug)]
pub struct CaseRecord {
    /// Id.
    pub id: Uuid,
    /// Case number, e.g. `HV-2026-000123`.
    pub number: String,
    /// Case type code.
    pub case_type: String,
    /// Case type name.
    pub case_type_name: String,
    /// The facts its case type declares (what the case type needs from registries and connectors).
    pub declared_facts: Vec<FactDecl>,
    /// Its state.
    pub state: CaseState,
    /// When it was filed.
    pub submitted_at: DateTime<Utc>,
    /// The applicant's name.
    pub applicant_name: String,
    /// The applicant's permanent address or seat.
    pub applicant_address: Option<Address>,
    /// The form values as submitted.
    pub application: Value,
    /// The fee (gross, forints).
    pub fee_gross: Option<Decimal>,
    /// What was paid, the payment's reference and when, once paid.
    pub payment: Option<(Decimal, String, DateTime<Utc>)>,
    /// `grant` or `refuse`, once decided.
    pub decision_outcome: Option<String>,
}

/// A filed case for its local systems.
pub async fn case_record(tx: &mut TenantTx, ring: &Keyring, id: Uuid) -> Result<CaseRecord, CaseError> {
    type Row = (
        Uuid,
        Option<String>,
        String,
        String,
        i32,
        String,
        Option<DateTime<Utc>>,
        Vec<u8>,
        Option<Vec<u8>>,
        Option<Decimal>,
        Option<Decimal>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        r#"SELECT c.id, c.number, t.code, t.name, c.case_type_version, c.state, c.submitted_at, c.application_enc, c.inputs_enc,
                  c.fee_gross, c.paid_amount, c.payment_reference, c.paid_at, c.decision_outcome
           FROM "case" c JOIN case_type t ON t.id = c.case_type_id
           WHERE c.id = $1 AND c.number IS NOT NULL"#,
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let (id, number, code, name, version, state, submitted_at, application_enc, inputs_enc, fee, paid, reference, paid_at, outcome) =
        row.ok_or(CaseError::NotFound)?;
    let declared_facts = get_version(tx, &code, Some(version)).await?.definition.facts;
    let application: Value = serde_json::from_slice(&ring.open(&APPLICATION.at(id), &application_enc)?)?;
    let inputs: Option<Inputs> = match inputs_enc {
        Some(b) => Some(serde_json::from_slice(&ring.open(&INPUTS.at(id), &b)?)?),
        None => None,
    };
    Ok(CaseRecord {
        id,
        number: number.unwrap_or_default(),
        case_type: code,
        case_type_name: name,
        declared_facts,
        state: CaseState::parse(&state).ok_or(CaseError::NotFound)?,
        submitted_at: submitted_at.unwrap_or_default(),
        applicant_name: inputs.as_ref().map(|i| i.applicant_name.clone()).unwrap_or_default(),
        applicant_address: inputs.and_then(|i| i.applicant.address),
        application,
        fee_gross: fee,
        payment: match (paid, reference, paid_at) {
            (Some(a), Some(r), Some(t)) => Some((a, r, t)),
            _ => None,
        },
        decision_outcome: outcome,
    })
}

/// The id of the filed case numbered `number`, if there is one.
pub async fn case_by_number(tx: &mut TenantTx, number: &str) -> Result<Option<Uuid>, CaseError> {
    Ok(sqlx::query_scalar(r#"SELECT id FROM "case" WHERE number = $1"#).bind(number).fetch_optional(tx.conn()).await?)
}

/// The facts a filed case's case type (in the version it started under) declares.
pub async fn declared_facts(tx: &mut TenantTx, id: Uuid) -> Result<Vec<FactDecl>, CaseError> {
    let row: Option<(String, i32)> =
        sqlx::query_as(r#"SELECT t.code, c.case_type_version FROM "case" c JOIN case_type t ON t.id = c.case_type_id WHERE c.id = $1"#)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let (code, version) = row.ok_or(CaseError::NotFound)?;
    Ok(get_version(tx, &code, Some(version)).await?.definition.facts)
}
