//! Cases (ügyek): drafts, submission with a gapless case number, automated decisions, the
//! payment-confirmed interface, and the history of every transition.
//!
//! Form values, the rules' inputs and the decision's data are personal data: they are
//! sealed with the tenant's data key (`kapu-crypto`) before they reach the database.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kapu_calendar::Calendar;
use kapu_clients::PendingAccess;
use kapu_core::{Refusal, Statement, TenantTx, text_array};
use kapu_crypto::{Column, Keyring};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::definition::{Definition, Identification};
use crate::facts::{FactQuery, FactSource};
use crate::form::{Address, FieldProblem, check_files, validate_form};
use crate::rules::{Applicant, Evaluation, Outcome, RuleInput, evaluate};
use crate::store::{CaseTypeError, get_version, submitted_version};
use crate::workflow::{CaseActor, CaseState};

/// The job a decided case enqueues (payload `{"case_id": …}`); issuing the sealed
/// decision document and its delivery handle it.
pub const DECIDED_JOB: &str = "case.decided";

/// The application's form values, sealed.
pub const APPLICATION: Column = Column::new("case", "id", "application_enc").legacy("case.application");
/// The facts the case's rules use, sealed.
pub const INPUTS: Column = Column::new("case", "id", "inputs_enc").legacy("case.inputs");
/// The decision's text, sealed.
pub const DECISION_TEXT: Column = Column::new("case", "id", "decision_text_enc").legacy("case.decision_text");
/// The decision's data, sealed.
pub const DECISION_DATA: Column = Column::new("case", "id", "decision_data_enc").legacy("case.decision_data");
/// The answer to an information request, sealed.
pub const ANSWER: Column = Column::new("case", "id", "information_answer_enc").legacy("case.information_answer");
/// The columns this crate seals.
pub const SEALED: &[Column] = &[APPLICATION, INPUTS, DECISION_TEXT, DECISION_DATA, ANSWER];

/// Errors of the case domain.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such case (or not the caller's).
    #[error("there is no such case")]
    NotFound,
    /// Form values that do not fit the form, each with its field's path.
    #[error("the application has {} invalid value(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// A pre-check (or who may apply, or the identification level) failed.
    #[error("{message}")]
    Ineligible {
        /// The pre-check's name.
        rule: String,
        /// What the applicant is told.
        message: String,
    },
    /// The session acts for a principal without a valid mandate for this case type.
    #[error("you hold no valid mandate to file {code:?} for this client")]
    NoMandate {
        /// The case type.
        code: String,
    },
    /// The case type is unknown, or the form version is stale.
    #[error(transparent)]
    CaseType(#[from] CaseTypeError),
    /// A transition the workflow does not allow.
    #[error("a case that is {from} cannot be {action}")]
    NotAllowed {
        /// The case's state.
        from: CaseState,
        /// What was tried, in words.
        action: &'static str,
    },
    /// A payment that does not match the fee.
    #[error("the payment of {paid} Ft does not match the fee of {due} Ft")]
    WrongAmount {
        /// The fee.
        due: Decimal,
        /// What arrived.
        paid: Decimal,
    },
    /// A second payment-confirmed event with another reference.
    #[error("the case was already paid with reference {0:?}")]
    AlreadyPaid(String),
    /// The approver drafted the decision themselves.
    #[error("the decision must be approved by someone other than its drafter (four eyes)")]
    FourEyes,
    /// A decided case's decision has no signatory with a name (a clerk's decision without
    /// an approver, or an approver or authority without a name): it is not issued, since a
    /// sealed decision never carries a blank signatory.
    #[error("the decision names no signatory with a name, so it is not issued")]
    NoSignatory,
    /// Input to a clerk action that is not usable.
    #[error("{field}: {reason}")]
    BadInput {
        /// Which input.
        field: &'static str,
        /// What is wrong.
        reason: Refusal,
    },
    /// The decision template does not render.
    #[error("the {outcome} decision template does not render: {message}")]
    Template {
        /// Which template.
        outcome: &'static str,
        /// Why.
        message: String,
    },
    /// The deadline cannot be counted (a year without a decree on file).
    #[error(transparent)]
    Calendar(#[from] kapu_calendar::CalendarError),
    /// Sealing or opening personal data failed.
    #[error("key error: {0}")]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// Reading the applicant's record failed.
    #[error(transparent)]
    Clients(#[from] kapu_clients::ClientError),
    /// Auditing failed (and with it the action).
    #[error(transparent)]
    Audit(#[from] kapu_audit::AuditError),
    /// Queueing a job failed.
    #[error(transparent)]
    Jobs(#[from] kapu_jobs::JobsError),
    /// Issuing the decision document failed.
    #[error(transparent)]
    Delivery(#[from] kapu_delivery::DeliveryError),
    /// Stored data that does not decode.
    #[error("stored data does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    /// The files would take the filer past their storage quota.
    #[error(
        "storage quota exceeded: these files take {}, {} of your {} is used already; remove files from your drafts or send smaller ones",
        crate::attachments::human_size(*.adding), crate::attachments::human_size(*.used), crate::attachments::human_size(*.quota)
    )]
    OverQuota {
        /// Bytes the account's files take already.
        used: u64,
        /// Bytes the new files take.
        adding: u64,
        /// The quota.
        quota: u64,
    },
    /// The attachment store failed.
    #[error(transparent)]
    Store(#[from] crate::attachments::StoreError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database failed (a message of several statements).
    #[error(transparent)]
    Core(#[from] kapu_core::CoreError),
}

/// Who files: the signed-in portal account, and whom it acts for.
#[derive(Clone, Debug)]
pub struct Filer {
    /// The portal account.
    pub account_id: Uuid,
    /// Its e-mail address (the acknowledgement goes there).
    pub email: String,
    /// Its display name.
    pub display_name: String,
    /// Its identification level.
    pub level: Identification,
    /// The client record the account is linked to, once identified.
    pub client_id: Option<Uuid>,
    /// The principal it acts for under a mandate; `None`: for itself.
    pub acting_for: Option<Uuid>,
}

/// How a submission is made idempotent.
#[derive(Clone, Debug)]
pub enum Once {
    /// Submitting this draft; a second submission of it gives the same case.
    Draft(Uuid),
    /// A key the filer chose; a second submission with it gives the same case.
    Key(String),
}

/// An application to submit.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Case type code.
    pub code: String,
    /// The version of the case type whose form was filled in.
    pub form_version: i32,
    /// The form values.
    pub values: Value,
    /// Idempotency.
    pub once: Once,
}

/// The portal's name and link for the acknowledgement e-mail.
pub struct Notice<'a> {
    /// The municipality's name.
    pub tenant_name: &'a str,
    /// The link to the client's cases on the portal.
    pub cases_link: &'a str,
}

/// What a submission gave.
#[derive(Clone, Debug, Serialize)]
pub struct Submitted {
    /// The case.
    pub case_id: Uuid,
    /// Its number, e.g. `HV-2026-000123`.
    pub number: String,
    /// Its state after the rules ran.
    pub state: CaseState,
    /// The fee to pay, if any.
    pub fee_gross: Option<Decimal>,
    /// False when this repeats an earlier submission (nothing new was made).
    pub created: bool,
}

/// The applicant's record as kept with the case (sealed): the rules' view and the name.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Inputs {
    pub(crate) applicant: Applicant,
    pub(crate) applicant_name: String,
    facts: Value,
}

fn year_of(now: DateTime<Utc>) -> i32 {
    // New Year in Hungary is always in winter time, UTC+1.
    (now + chrono::Duration::hours(1)).year()
}

pub(crate) fn today_of(now: DateTime<Utc>) -> NaiveDate {
    (now + chrono::Duration::hours(1)).date_naive()
}

/// Writes one history entry.
pub(crate) async fn event(
    tx: &mut TenantTx,
    case_id: Uuid,
    from: Option<CaseState>,
    to: CaseState,
    actor: &CaseActor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let entry = Event { from, to, actor: actor.clone(), reason: reason.to_owned() };
    tx.run(&[history(case_id, &[entry], now)]).await?;
    Ok(())
}

/// Moves a case from `from` to `to` (checked against the workflow) and records it.
pub(crate) async fn transition(
    tx: &mut TenantTx,
    case_id: Uuid,
    from: CaseState,
    to: CaseState,
    actor: &CaseActor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let step = Event::step(from, to, actor.clone(), reason.to_owned())?;
    tx.run(&state_change(case_id, to, &[step], now)).await?;
    Ok(())
}

/// The statements that put a case in `state` and write its history `events`.
fn state_change(case_id: Uuid, state: CaseState, events: &[Event], now: DateTime<Utc>) -> [Statement; 2] {
    let update = Statement::new(
        r#"UPDATE "case" SET state = $2, updated_at = $3 WHERE id = $1"#,
        [case_id.into(), state.as_str().into(), now.into()],
    );
    [update, history(case_id, events, now)]
}

/// The statement that writes a case's history entries, in order.
fn history(case_id: Uuid, events: &[Event], now: DateTime<Utc>) -> Statement {
    let parts: Vec<_> = events.iter().map(|e| e.actor.parts()).collect();
    Statement::new(
        "INSERT INTO case_event (case_id, at, from_state, to_state, actor_kind, actor_id, actor_label, reason)
         SELECT CAST($1 AS uuid), CAST($2 AS timestamptz), e.f, e.t, e.k, e.i, e.l, e.r
         FROM unnest(CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS text[]), CAST($6 AS uuid[]), CAST($7 AS text[]), CAST($8 AS text[]))
              AS e(f, t, k, i, l, r)",
        [
            case_id.into(),
            now.into(),
            text_array(events.iter().map(|e| e.from.map(CaseState::as_str))),
            text_array(events.iter().map(|e| Some(e.to.as_str()))),
            text_array(parts.iter().map(|p| Some(p.0))),
            text_array(parts.iter().map(|p| p.1.map(|id| id.to_string()))),
            text_array(parts.iter().map(|p| Some(p.2.as_str()))),
            text_array(events.iter().map(|e| Some(e.reason.as_str()))),
        ],
    )
}

fn action_of(to: CaseState) -> &'static str {
    match to {
        CaseState::Draft => "made a draft",
        CaseState::Submitted => "submitted",
        CaseState::AwaitingPayment => "put to wait for payment",
        CaseState::InReview => "put in review",
        CaseState::AwaitingInformation => "put to wait for missing information",
        CaseState::Decided => "decided",
        CaseState::Delivered => "delivered",
        CaseState::Rejected => "rejected",
        CaseState::Withdrawn => "withdrawn",
    }
}

/// The tenant's case number prefix; until one is configured, the slug's first two letters.
pub async fn number_prefix(tx: &mut TenantTx) -> Result<String, CaseError> {
    let p: Option<String> = sqlx::query_scalar("SELECT number_prefix FROM case_settings").fetch_optional(tx.conn()).await?;
    Ok(p.unwrap_or_else(|| default_prefix(tx.slug())))
}

/// The prefix of a tenant that has set none: the first two letters of its slug.
fn default_prefix(slug: &kapu_core::TenantSlug) -> String {
    slug.as_str().chars().filter(char::is_ascii_alphabetic).take(2).collect::<String>().to_uppercase()
}

/// Sets the tenant's case number prefix (from `tenant.toml`): 1 to 10 capital letters or
/// digits, starting with a letter.
pub async fn set_number_prefix(tx: &mut TenantTx, prefix: &str) -> Result<(), CaseError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 10
        && prefix.starts_with(|c: char| c.is_ascii_uppercase())
        && prefix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok {
        return Err(CaseError::BadInput { field: "number_prefix", reason: Refusal::InvalidNumberPrefix });
    }
    sqlx::query(
        "INSERT INTO case_settings (singleton, number_prefix) VALUES (true, $1) ON CONFLICT (singleton) DO UPDATE SET number_prefix = $1",
    )
    .bind(prefix)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The statement that takes the year's next case number, with the tenant's prefix. The
/// counter row stays locked until the transaction ends, so a rolled-back submission leaves
/// no gap, and callers take it as late as they can.
fn next_number_statement(year: i32) -> Statement {
    Statement::new(
        "INSERT INTO case_number_counter (year, last_number) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last_number = case_number_counter.last_number + 1
         RETURNING last_number, (SELECT number_prefix FROM case_settings)",
        [year.into()],
    )
}

/// The sequence number and the case number in the rows of [`next_number_statement`].
fn number_from(slug: &kapu_core::TenantSlug, year: i32, rows: Option<&Vec<PgRow>>) -> Result<(i32, String), CaseError> {
    let row = rows.and_then(|r| r.first()).ok_or(CaseError::Database(sqlx::Error::RowNotFound))?;
    let seq: i32 = row.try_get(0)?;
    let prefix: Option<String> = row.try_get(1)?;
    let prefix = prefix.unwrap_or_else(|| default_prefix(slug));
    Ok((seq, format!("{prefix}-{year}-{seq:06}")))
}

/// Saves a draft: new when `draft` is `None`, else the filer's own draft is overwritten.
/// Drafts keep what was typed, valid or not, and the descriptions of the files already
/// attached (the portal stores the files beside the case the draft becomes); the files are
/// checked as on submission (type, size, how many per field), the rest on submission.
#[allow(clippy::too_many_arguments)]
pub async fn save_draft(
    tx: &mut TenantTx,
    ring: &Keyring,
    filer: &Filer,
    code: &str,
    form_version: i32,
    values: &Value,
    draft: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid, CaseError> {
    let version = get_version(tx, code, Some(form_version)).await?;
    let problems = check_files(&version.definition.fields, values);
    if !problems.is_empty() {
        return Err(CaseError::Invalid(problems));
    }
    let id = draft.unwrap_or_else(Uuid::now_v7);
    let sealed = ring.seal(&APPLICATION.at(id), &serde_json::to_vec(values)?)?;
    if draft.is_some() {
        let state: Option<String> = sqlx::query_scalar(r#"SELECT state FROM "case" WHERE id = $1 AND account_id = $2 FOR UPDATE"#)
            .bind(id)
            .bind(filer.account_id)
            .fetch_optional(tx.conn())
            .await?;
        let state = state.and_then(|s| CaseState::parse(&s)).ok_or(CaseError::NotFound)?;
        if state != CaseState::Draft {
            return Err(CaseError::NotAllowed { from: state, action: "edited as a draft" });
        }
        sqlx::query(r#"UPDATE "case" SET application_enc = $2, updated_at = $3 WHERE id = $1"#)
            .bind(id)
            .bind(sealed)
            .bind(now)
            .execute(tx.conn())
            .await?;
        return Ok(id);
    }
    let type_id: Uuid = sqlx::query_scalar("SELECT id FROM case_type WHERE code = $1").bind(&version.code).fetch_one(tx.conn()).await?;
    sqlx::query(
        r#"INSERT INTO "case" (id, case_type_id, case_type_version, state, account_id, principal_client_id, application_enc, created_at, updated_at)
           VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $7)"#,
    )
    .bind(id)
    .bind(type_id)
    .bind(form_version)
    .bind(filer.account_id)
    .bind(filer.acting_for)
    .bind(sealed)
    .bind(now)
    .execute(tx.conn())
    .await?;
    event(tx, id, None, CaseState::Draft, &CaseActor::Client { account_id: filer.account_id }, "draft saved", now).await?;
    Ok(id)
}

/// A draft as the portal shows it again.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Id.
    pub id: Uuid,
    /// Case type code.
    pub code: String,
    /// The form's version.
    pub form_version: i32,
    /// What was typed.
    pub values: Value,
}

/// One of the filer's drafts.
pub async fn get_draft(tx: &mut TenantTx, ring: &Keyring, account_id: Uuid, id: Uuid) -> Result<Draft, CaseError> {
    read_draft(tx, ring, account_id, id, false).await
}

/// One of the filer's drafts, locked until the transaction ends: for changing it (its files
/// are numbered from what it holds, so two saves at once must not both read the same).
pub async fn lock_draft(tx: &mut TenantTx, ring: &Keyring, account_id: Uuid, id: Uuid) -> Result<Draft, CaseError> {
    read_draft(tx, ring, account_id, id, true).await
}

async fn read_draft(tx: &mut TenantTx, ring: &Keyring, account_id: Uuid, id: Uuid, lock: bool) -> Result<Draft, CaseError> {
    const READ: &str = r#"SELECT t.code, c.case_type_version, c.application_enc FROM "case" c JOIN case_type t ON t.id = c.case_type_id
           WHERE c.id = $1 AND c.account_id = $2 AND c.state = 'draft'"#;
    const LOCK: &str = r#"SELECT t.code, c.case_type_version, c.application_enc FROM "case" c JOIN case_type t ON t.id = c.case_type_id
           WHERE c.id = $1 AND c.account_id = $2 AND c.state = 'draft' FOR UPDATE OF c"#;
    let row: Option<(String, i32, Vec<u8>)> =
        sqlx::query_as(if lock { LOCK } else { READ }).bind(id).bind(account_id).fetch_optional(tx.conn()).await?;
    let (code, form_version, enc) = row.ok_or(CaseError::NotFound)?;
    let values = serde_json::from_slice(&ring.open(&APPLICATION.at(id), &enc)?)?;
    Ok(Draft { id, code, form_version, values })
}

/// Who applies, as the rules see them, and the applicant's name for the decision, with
/// the read of the applicant's record, which the caller records in the audit chain.
async fn applicant_of(
    tx: &mut TenantTx,
    ring: &Keyring,
    filer: &Filer,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(Applicant, String, Option<PendingAccess>), CaseError> {
    let today = today_of(now);
    let (client, as_representative) = match filer.acting_for {
        Some(principal) => {
            let mandates = kapu_clients::organisation::mandates_of(tx, ring, filer.account_id, today).await?;
            let covered = mandates.iter().any(|m| m.principal_client_id == principal && m.scope.iter().any(|s| s == "*" || s == code));
            if !covered {
                return Err(CaseError::NoMandate { code: code.to_owned() });
            }
            (Some(principal), true)
        }
        None => (filer.client_id, false),
    };
    let mut applicant = Applicant { kind: "person".into(), as_representative, identification: filer.level, age: None, address: None };
    let mut name = filer.display_name.clone();
    let mut read = None;
    if let Some(id) = client {
        if let Some((p, pending)) = kapu_clients::get_recording_later(tx, ring, id).await? {
            read = Some(pending);
            let b = p.identity.birth_date;
            let mut age = today.year() - b.year();
            if (today.month(), today.day()) < (b.month(), b.day()) {
                age -= 1;
            }
            applicant.age = u32::try_from(age).ok();
            applicant.address = p
                .addresses
                .iter()
                .find(|a| a.kind == kapu_clients::organisation::AddressKind::Permanent)
                .map(|a| Address { postcode: a.postcode.clone(), city: a.city.clone(), street: a.street.clone() });
            name = format!("{} {}", p.identity.family_name, p.identity.given_name);
        } else if let Some((o, pending)) = kapu_clients::organisation::get_organisation_recording_later(tx, ring, id).await? {
            read = Some(pending);
            applicant.kind = "organisation".into();
            applicant.address = o.seat.map(|a| Address { postcode: a.postcode, city: a.city, street: a.street });
            name = o.name;
        }
    }
    Ok((applicant, name, read))
}

/// Submits an application: checks the form version, the values, who applies and the
/// pre-checks, asks `source` for the facts, numbers the case, runs the rules (deciding it automatically where they
/// can and no fee is due) and queues the acknowledgement e-mail, all in `tx`. A
/// submission repeated with the same draft or key gives the first one's case.
///
/// The case's writes are [deferred](TenantTx::defer) to the caller's commit, since the
/// tenant's case number counter stays locked until then: run nothing else on `tx` but
/// commit or roll back.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    tx: &mut TenantTx,
    ring: &Keyring,
    calendar: &Calendar,
    source: &dyn FactSource,
    filer: &Filer,
    sub: &Submission,
    notice: &Notice<'_>,
    now: DateTime<Utc>,
) -> Result<Submitted, CaseError> {
    let today = today_of(now);
    let draft = match &sub.once {
        Once::Draft(id) => {
            let row: Option<(String, Option<String>, Option<Decimal>)> =
                sqlx::query_as(r#"SELECT state, number, fee_gross FROM "case" WHERE id = $1 AND account_id = $2 FOR UPDATE"#)
                    .bind(id)
                    .bind(filer.account_id)
                    .fetch_optional(tx.conn())
                    .await?;
            let (state, number, fee) = row.ok_or(CaseError::NotFound)?;
            let state = CaseState::parse(&state).ok_or(CaseError::NotFound)?;
            if let Some(number) = number {
                return Ok(Submitted { case_id: *id, number, state, fee_gross: fee, created: false });
            }
            if state != CaseState::Draft {
                return Err(CaseError::NotAllowed { from: state, action: "submitted" });
            }
            Some(*id)
        }
        Once::Key(key) => {
            if key.is_empty() || key.len() > 200 {
                return Err(CaseError::BadInput { field: "idempotency_key", reason: Refusal::length(1, 200) });
            }
            // Serialises submissions with the same key, so that two at once make one case;
            // the lock and the look-up travel in one message.
            let found = tx
                .run(&[
                    Statement::new("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [format!("{}:{key}", filer.account_id).into()]),
                    Statement::new(
                        r#"SELECT id, state, number, fee_gross FROM "case" WHERE account_id = CAST($1 AS uuid) AND idempotency_key = $2 AND number IS NOT NULL"#,
                        [filer.account_id.into(), key.as_str().into()],
                    ),
                ])
                .await?;
            let row: Option<(Uuid, String, String, Option<Decimal>)> =
                found.get(1).and_then(|r| r.first()).map(sqlx::FromRow::from_row).transpose()?;
            if let Some((id, state, number, fee)) = row {
                let state = CaseState::parse(&state).ok_or(CaseError::NotFound)?;
                return Ok(Submitted { case_id: id, number, state, fee_gross: fee, created: false });
            }
            None
        }
    };
    let version = submitted_version(tx, &sub.code, sub.form_version).await?;
    let def = &version.definition;
    let values = validate_form(&def.fields, &sub.values, today).map_err(CaseError::Invalid)?;
    let (applicant, applicant_name, read) = applicant_of(tx, ring, filer, &sub.code, now).await?;
    let slug = tx.slug().as_str().to_owned();
    let query = FactQuery {
        tenant: &slug,
        code: &sub.code,
        declared: &def.facts,
        application: &values,
        applicant: &applicant,
        applicant_name: &applicant_name,
        now,
    };
    let facts = source.facts(query).await;
    let input = RuleInput { application: &values, applicant: &applicant, facts: &facts, today };
    let evaluation = match evaluate(def, &input) {
        Ok(e) => e,
        Err(problems) => {
            let missing: Vec<String> = problems.iter().map(ToString::to_string).collect();
            Evaluation {
                outcome: Outcome::Refer,
                decided_by: None,
                reason: format!("the facts the rules need are not available ({}); a clerk decides", missing.join("; ")),
                prechecks: Vec::new(),
                rules: Vec::new(),
                fee: None,
            }
        }
    };
    if evaluation.outcome == Outcome::Ineligible {
        return Err(CaseError::Ineligible { rule: evaluation.decided_by.clone().unwrap_or_default(), message: evaluation.reason.clone() });
    }

    let year = year_of(now);
    let due = def.deadline.due(today, calendar)?;
    let fee_gross = evaluation.fee.as_ref().map(|f| f.gross);
    let inputs = Inputs { applicant, applicant_name, facts };
    let case_id = draft.unwrap_or_else(Uuid::now_v7);
    let application_enc = ring.seal(&APPLICATION.at(case_id), &serde_json::to_vec(&values)?)?;
    let inputs_enc = ring.seal(&INPUTS.at(case_id), &serde_json::to_vec(&inputs)?)?;
    let evaluation_json = serde_json::to_value(&evaluation)?;
    let client = CaseActor::Client { account_id: filer.account_id };
    let slug = tx.slug().clone();
    // From here to the commit the tenant's audit chain head and the year's number counter
    // are locked (in that order, as everywhere): one round trip takes them, and the writes
    // that follow from the number travel with the caller's commit, which releases them.
    let locks: Vec<Statement> = read.is_some().then(kapu_audit::lock_head).into_iter().chain([next_number_statement(year)]).collect();
    let locked = tx.run(&locks).await?;
    let mut writes = Vec::new();
    if let Some(read) = read {
        let mut head = kapu_audit::Head::from_rows(locked.first().map(Vec::as_slice).unwrap_or_default())?;
        let actor = kapu_audit::Actor { id: None, label: "case submission".into() };
        let reason = format!("the rules of case type {} read the applicant's age and address", sub.code);
        writes.push(read.record_after(&mut head, kapu_clients::Access { actor: &actor, reason: &reason }, now));
    }
    let (seq, number) = number_from(&slug, year, locked.last())?;
    // The case goes in as the rules leave it, with its whole history.
    let progress = proceed(ring, case_id, CaseState::Submitted, def, &evaluation, &number, &values, &inputs, now)?;
    let state = progress.state;
    let filed =
        Event { from: draft.map(|_| CaseState::Draft), to: CaseState::Submitted, actor: client, reason: "application submitted".into() };
    let events: Vec<Event> = std::iter::once(filed).chain(progress.steps).collect();
    let (outcome, reason, text_enc, data_enc) = match progress.decision {
        Some(d) => (Some(d.outcome), Some(d.reason), Some(d.text_enc), Some(d.data_enc)),
        None => (None, None, None, None),
    };
    let decided_at = outcome.map(|_| now);
    let case: [sea_query::Value; 18] = [
        case_id.into(),
        sub.form_version.into(),
        filer.acting_for.into(),
        application_enc.into(),
        inputs_enc.into(),
        year.into(),
        seq.into(),
        number.as_str().into(),
        now.into(),
        evaluation_json.into(),
        fee_gross.into(),
        due.into(),
        state.as_str().into(),
        outcome.into(),
        reason.into(),
        text_enc.into(),
        data_enc.into(),
        decided_at.into(),
    ];
    writes.push(match draft {
        Some(_) => Statement::new(
            r#"UPDATE "case" SET state = $13, case_type_version = $2, principal_client_id = $3, application_enc = $4, inputs_enc = $5,
               number_year = $6, number_seq = $7, number = $8, submitted_at = $9, evaluation = $10, fee_gross = $11, due_date = $12,
               decision_outcome = $14, decision_reason = $15, decision_text_enc = $16, decision_data_enc = $17,
               decided_automatically = CASE WHEN CAST($18 AS timestamptz) IS NULL THEN NULL ELSE true END, decided_at = $18, updated_at = $9
               WHERE id = $1"#,
            case,
        ),
        None => {
            let key = match &sub.once {
                Once::Key(k) => Some(k.clone()),
                Once::Draft(_) => None,
            };
            Statement::new(
                r#"INSERT INTO "case" (id, case_type_id, case_type_version, state, account_id, principal_client_id, idempotency_key,
                   application_enc, inputs_enc, number_year, number_seq, number, submitted_at, evaluation, fee_gross, due_date,
                   decision_outcome, decision_reason, decision_text_enc, decision_data_enc, decided_automatically, decided_at,
                   created_at, updated_at)
                   SELECT CAST($1 AS uuid), id, CAST($2 AS integer), CAST($13 AS text), CAST($19 AS uuid), CAST($3 AS uuid), CAST($20 AS text),
                          CAST($4 AS bytea), CAST($5 AS bytea), CAST($6 AS integer), CAST($7 AS integer), CAST($8 AS text),
                          CAST($9 AS timestamptz), CAST($10 AS jsonb), CAST($11 AS numeric), CAST($12 AS date),
                          CAST($14 AS text), CAST($15 AS text), CAST($16 AS bytea), CAST($17 AS bytea),
                          CASE WHEN CAST($18 AS timestamptz) IS NULL THEN NULL ELSE true END,
                          CAST($18 AS timestamptz), CAST($9 AS timestamptz), CAST($9 AS timestamptz)
                   FROM case_type WHERE code = $21"#,
                case.into_iter().chain([filer.account_id.into(), key.into(), sub.code.as_str().into()]),
            )
        }
    });
    writes.push(history(case_id, &events, now));
    let jobs: Vec<(&'static str, i32)> =
        std::iter::once((crate::outbox::SUBMITTED_JOB, crate::outbox::LOCAL_ATTEMPTS)).chain(progress.jobs).collect();
    let mail = acknowledgement(filer, &number, &def.name, fee_gross, state, notice);
    writes.push(case_jobs(&slug, case_id, &jobs, Some(&serde_json::to_value(kapu_mail::MailJob::seal(ring, &mail)?)?))?);
    tx.defer(writes);
    Ok(Submitted { case_id, number, state, fee_gross, created: true })
}

/// Where the rules take a case after submission or payment: its next state, the steps on
/// the way (by the rules), the automatic decision, and the jobs to queue.
struct Progress {
    state: CaseState,
    steps: Vec<Event>,
    decision: Option<AutoDecision>,
    jobs: Vec<(&'static str, i32)>,
}

/// A history entry to write.
struct Event {
    from: Option<CaseState>,
    to: CaseState,
    actor: CaseActor,
    reason: String,
}

impl Event {
    /// A step the workflow allows.
    fn step(from: CaseState, to: CaseState, actor: CaseActor, reason: String) -> Result<Self, CaseError> {
        if !from.can_go_to(to) {
            return Err(CaseError::NotAllowed { from, action: action_of(to) });
        }
        Ok(Self { from: Some(from), to, actor, reason })
    }
}

/// A decision the rules made, sealed.
struct AutoDecision {
    outcome: &'static str,
    reason: String,
    text_enc: Vec<u8>,
    data_enc: Vec<u8>,
}

/// After submission or payment: waits for the fee, decides automatically where the rules
/// decided, or hands the case to a clerk.
#[allow(clippy::too_many_arguments)]
fn proceed(
    ring: &Keyring,
    case_id: Uuid,
    from: CaseState,
    def: &Definition,
    evaluation: &Evaluation,
    number: &str,
    values: &Value,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> Result<Progress, CaseError> {
    let rules = || CaseActor::System { label: "rules".into() };
    let to = |state: CaseState, steps: Vec<Event>, jobs: Vec<(&'static str, i32)>| Progress { state, steps, decision: None, jobs };
    let unpaid = from == CaseState::Submitted && evaluation.fee.as_ref().is_some_and(|f| f.gross > Decimal::ZERO);
    if unpaid {
        let gross = evaluation.fee.as_ref().map(|f| f.gross).unwrap_or_default();
        let wait = Event::step(from, CaseState::AwaitingPayment, rules(), format!("a fee of {gross} Ft is due"))?;
        return Ok(to(CaseState::AwaitingPayment, vec![wait], vec![(crate::outbox::PAYMENT_DUE_JOB, crate::outbox::LOCAL_ATTEMPTS)]));
    }
    let outcome = match evaluation.outcome {
        Outcome::Grant => "grant",
        Outcome::Refuse => "refuse",
        Outcome::Refer | Outcome::Ineligible => {
            return Ok(to(CaseState::InReview, vec![Event::step(from, CaseState::InReview, rules(), evaluation.reason.clone())?], vec![]));
        }
    };
    let data = decision_data(def, number, values, inputs, evaluation, outcome, &evaluation.reason, now);
    // A template that does not render makes no decision: a clerk takes the case and sees why.
    let text = match render_decision(def, outcome, &data) {
        Ok(t) => t,
        Err(e @ CaseError::Template { .. }) => {
            let why = format!("the rules decided ({outcome}), but {e}; a clerk decides");
            return Ok(to(CaseState::InReview, vec![Event::step(from, CaseState::InReview, rules(), why)?], vec![]));
        }
        Err(e) => return Err(e),
    };
    let by = evaluation.decided_by.as_deref().unwrap_or("rules");
    let decided = Event::step(from, CaseState::Decided, rules(), format!("decided automatically ({outcome}) by rule {by:?}"))?;
    let mut jobs = vec![(DECIDED_JOB, kapu_jobs::DEFAULT_ATTEMPTS)];
    if outcome == "grant" {
        jobs.push((crate::outbox::GRANTED_JOB, crate::outbox::LOCAL_ATTEMPTS));
    }
    Ok(Progress {
        state: CaseState::Decided,
        steps: vec![decided],
        decision: Some(AutoDecision {
            outcome,
            reason: evaluation.reason.clone(),
            text_enc: ring.seal(&DECISION_TEXT.at(case_id), text.as_bytes())?,
            data_enc: ring.seal(&DECISION_DATA.at(case_id), &serde_json::to_vec(&data)?)?,
        }),
        jobs,
    })
}

/// The statement that queues `jobs` about the case, each with the payload `{"case_id": …}`,
/// and `mail` after them.
pub(crate) fn case_jobs(
    slug: &kapu_core::TenantSlug,
    case_id: Uuid,
    jobs: &[(&'static str, i32)],
    mail: Option<&Value>,
) -> Result<Statement, CaseError> {
    let payload = json!({ "case_id": case_id });
    let mut all: Vec<kapu_jobs::NewJob<'_, Value>> = jobs
        .iter()
        .map(|(kind, attempts)| kapu_jobs::NewJob { max_attempts: *attempts, ..kapu_jobs::NewJob::new(kind, &payload) })
        .collect();
    if let Some(m) = mail {
        all.push(kapu_jobs::NewJob::new(kapu_mail::SEND_JOB, m));
    }
    Ok(kapu_jobs::enqueue_all_statement(slug, &all)?)
}

/// The statements that take a filed case where `progress` says, after `before` (entries
/// and jobs of the step that caused it).
fn progress_statements(
    slug: &kapu_core::TenantSlug,
    case_id: Uuid,
    progress: Progress,
    before: (Event, &'static str),
    now: DateTime<Utc>,
) -> Result<Vec<Statement>, CaseError> {
    let (event, job) = before;
    let mut writes = Vec::new();
    if let Some(d) = progress.decision {
        writes.push(Statement::new(
            r#"UPDATE "case" SET decision_outcome = $2, decision_reason = $3, decision_text_enc = $4, decision_data_enc = $5,
               decided_automatically = true, decided_at = $6 WHERE id = $1"#,
            [case_id.into(), d.outcome.into(), d.reason.into(), d.text_enc.into(), d.data_enc.into(), now.into()],
        ));
    }
    let events: Vec<Event> = std::iter::once(event).chain(progress.steps).collect();
    writes.extend(state_change(case_id, progress.state, &events, now));
    let jobs: Vec<(&'static str, i32)> = std::iter::once((job, crate::outbox::LOCAL_ATTEMPTS)).chain(progress.jobs).collect();
    writes.push(case_jobs(slug, case_id, &jobs, None)?);
    Ok(writes)
}

/// The data a decision template reads, kept with the case for the decision document.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decision_data(
    def: &Definition,
    number: &str,
    values: &Value,
    inputs: &Inputs,
    evaluation: &Evaluation,
    outcome: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Value {
    let fee = evaluation.fee.as_ref().map(|f| {
        json!({
            "kind": f.kind.as_str(),
            "net": f.net.to_string(),
            "vat_rate": f.vat_rate.map(|r| r.to_string()),
            "vat": f.vat.to_string(),
            "gross": f.gross.to_string(),
        })
    });
    json!({
        "case_number": number,
        "case_type": { "code": def.code, "name": def.name },
        "outcome": outcome,
        "reason": reason,
        "today": today_of(now).to_string(),
        "applicant": { "name": inputs.applicant_name, "kind": inputs.applicant.kind, "address": inputs.applicant.address },
        "application": values,
        "fee": fee.unwrap_or_else(|| json!({ "net": "0", "vat": "0", "gross": "0" })),
    })
}

pub(crate) fn render_decision(def: &Definition, outcome: &'static str, data: &Value) -> Result<String, CaseError> {
    let template = def.templates.get(outcome).ok_or(CaseError::Template { outcome, message: "the case type has none".into() })?;
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let err = |e: minijinja::Error| CaseError::Template { outcome, message: e.to_string() };
    env.add_template(outcome, template).map_err(err)?;
    let mut data = data.clone();
    // Amounts read as numbers in templates (`fee.gross > 0`).
    if let Some(fee) = data.get_mut("fee").and_then(Value::as_object_mut) {
        for v in fee.values_mut() {
            if let Some(n) = v.as_str().and_then(|s| s.parse::<i64>().ok()) {
                *v = json!(n);
            }
        }
    }
    env.get_template(outcome).map_err(err)?.render(&data).map_err(err)
}

/// The acknowledgement e-mail.
fn acknowledgement(
    filer: &Filer,
    number: &str,
    type_name: &str,
    fee: Option<Decimal>,
    state: CaseState,
    notice: &Notice<'_>,
) -> kapu_mail::OutgoingMail {
    let pay = match (state, fee) {
        (CaseState::AwaitingPayment, Some(f)) => {
            format!("\nFizetendő: {f} Ft. Az ügy a befizetés után folytatódik. / Amount due: {f} Ft.\n")
        }
        _ => String::new(),
    };
    let text = format!(
        "Kedves {name}!\n\nKérelmét ({type_name}) {number} ügyszámon iktattuk. Állapota: {label}.{pay}\n\
         Ügyeit itt követheti: {link}\n\n---\n\nDear {name},\n\nYour application ({type_name}) was filed as case {number}. \
         Its state: {state}.\nFollow your cases here: {link}\n",
        name = filer.display_name,
        label = state.label_hu(),
        link = notice.cases_link,
    );
    kapu_mail::OutgoingMail {
        to: filer.email.clone(),
        subject: format!("{}: kérelme beérkezett, ügyszám {number} / application received", notice.tenant_name),
        text,
        html: None,
        message_id: kapu_mail::new_message_id(),
    }
}

/// What a payment-confirmed event did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentApplied {
    /// The case's state afterwards.
    pub state: CaseState,
    /// False when the same payment had already been confirmed.
    pub changed: bool,
}

/// The internal interface of payments: the fee of a case awaiting payment arrived. The
/// amount must be the fee exactly; the case then goes on as the rules said at submission
/// (decided automatically, or to a clerk). The same reference twice changes nothing.
pub async fn payment_confirmed(
    tx: &mut TenantTx,
    ring: &Keyring,
    case_id: Uuid,
    amount: Decimal,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<PaymentApplied, CaseError> {
    type Row = (String, Option<Decimal>, Option<String>, Option<String>, Option<Value>, i32, String, Vec<u8>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(
        r#"SELECT c.state, c.fee_gross, c.payment_reference, c.number, c.evaluation, c.case_type_version, t.code, c.application_enc, c.inputs_enc
           FROM "case" c JOIN case_type t ON t.id = c.case_type_id WHERE c.id = $1 FOR UPDATE OF c"#,
    )
    .bind(case_id)
    .fetch_optional(tx.conn())
    .await?;
    let (state, fee, paid_ref, number, evaluation, version, code, application_enc, inputs_enc) = row.ok_or(CaseError::NotFound)?;
    let state = CaseState::parse(&state).ok_or(CaseError::NotFound)?;
    if let Some(r) = paid_ref {
        return if r == reference { Ok(PaymentApplied { state, changed: false }) } else { Err(CaseError::AlreadyPaid(r)) };
    }
    if state != CaseState::AwaitingPayment {
        return Err(CaseError::NotAllowed { from: state, action: "paid" });
    }
    let due = fee.unwrap_or_default().normalize();
    if amount != due {
        return Err(CaseError::WrongAmount { due, paid: amount });
    }
    let reference = reference.trim();
    if reference.is_empty() || reference.len() > 200 {
        return Err(CaseError::BadInput { field: "reference", reason: Refusal::length(1, 200) });
    }
    sqlx::query(r#"UPDATE "case" SET paid_amount = $2, payment_reference = $3, paid_at = $4 WHERE id = $1"#)
        .bind(case_id)
        .bind(amount)
        .bind(reference)
        .bind(now)
        .execute(tx.conn())
        .await?;
    let def = get_version(tx, &code, Some(version)).await?.definition;
    let values: Value = serde_json::from_slice(&ring.open(&APPLICATION.at(case_id), &application_enc)?)?;
    let inputs: Inputs = match inputs_enc {
        Some(b) => serde_json::from_slice(&ring.open(&INPUTS.at(case_id), &b)?)?,
        None => return Err(CaseError::NotFound),
    };
    let evaluation = stored_evaluation(evaluation, &def)?;
    let payments = CaseActor::System { label: "payments".into() };
    let paid =
        Event { from: Some(state), to: state, actor: payments, reason: format!("payment of {amount} Ft confirmed, reference {reference}") };
    let progress = proceed(ring, case_id, state, &def, &evaluation, number.as_deref().unwrap_or(""), &values, &inputs, now)?;
    let next = progress.state;
    let writes = progress_statements(tx.slug(), case_id, progress, (paid, crate::outbox::PAID_JOB), now)?;
    tx.run(&writes).await?;
    Ok(PaymentApplied { state: next, changed: true })
}

/// An [`Evaluation`] read back from the case (its fee amounts are decimal strings).
#[derive(Deserialize)]
struct StoredEvaluation {
    outcome: Outcome,
    decided_by: Option<String>,
    reason: String,
    #[serde(default)]
    prechecks: Vec<crate::rules::RuleTrace>,
    #[serde(default)]
    rules: Vec<crate::rules::RuleTrace>,
    fee: Option<StoredFee>,
}

#[derive(Deserialize)]
struct StoredFee {
    net: Decimal,
    vat_rate: Option<Decimal>,
    vat: Decimal,
    gross: Decimal,
}

impl StoredEvaluation {
    fn into_evaluation(self, def: &Definition) -> Evaluation {
        let kind = def.fee.as_ref().map(|f| f.kind).unwrap_or(crate::definition::FeeKind::ServiceFee);
        Evaluation {
            outcome: self.outcome,
            decided_by: self.decided_by,
            reason: self.reason,
            prechecks: self.prechecks,
            rules: self.rules,
            fee: self.fee.map(|f| crate::rules::FeeAssessment { kind, net: f.net, vat_rate: f.vat_rate, vat: f.vat, gross: f.gross }),
        }
    }
}

/// The evaluation stored with a case, read back.
pub(crate) fn stored_evaluation(v: Option<Value>, def: &Definition) -> Result<Evaluation, CaseError> {
    let stored: StoredEvaluation = serde_json::from_value(v.unwrap_or_default())?;
    Ok(stored.into_evaluation(def))
}
