//! Handling cases: the clerks' worklist and actions (assign, request missing information,
//! draft a decision, send it to a signatory, approve with four eyes, reject), and what
//! clients do after filing (answer, withdraw, list their cases).
//!
//! Every clerk action and every staff read of a case writes an audit record in the same
//! transaction.

use chrono::{DateTime, NaiveDate, Utc};
use kapu_calendar::Calendar;
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::case::{
    ANSWER, APPLICATION, CaseError, DECIDED_JOB, DECISION_DATA, DECISION_TEXT, INPUTS, Inputs, decision_data, event, render_decision,
    today_of, transition,
};
use crate::rules::Evaluation;
use crate::store::get_version;
use crate::workflow::{CaseActor, CaseState};

/// A staff member acting on cases.
#[derive(Clone, Debug)]
pub struct Clerk {
    /// Staff id.
    pub id: Uuid,
    /// E-mail, for the history and the audit log.
    pub email: String,
}

impl Clerk {
    fn actor(&self) -> CaseActor {
        CaseActor::Staff { id: self.id, label: self.email.clone() }
    }
}

async fn audit(
    tx: &mut TenantTx,
    clerk: &Clerk,
    action: &str,
    subject: Option<Uuid>,
    details: Value,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let actor = kapu_audit::Actor { id: Some(clerk.id), label: clerk.email.clone() };
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent { actor: &actor, action, subject_client_id: subject, reason: "case handling", details },
        now,
    )
    .await?;
    Ok(())
}

/// A case in a list.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CaseSummary {
    /// Id.
    pub id: Uuid,
    /// Case number (none for drafts).
    pub number: Option<String>,
    /// Case type code.
    pub case_type: String,
    /// Case type name.
    pub case_type_name: String,
    /// The case type version it started under.
    pub case_type_version: i32,
    /// State.
    #[sqlx(try_from = "String")]
    pub state: StateName,
    /// Assigned clerk.
    pub assignee_id: Option<Uuid>,
    /// When it was submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The deadline for deciding.
    pub due_date: Option<NaiveDate>,
    /// Past its deadline while still open (and not waiting for the client).
    pub overdue: bool,
    /// The fee, if any.
    pub fee_gross: Option<Decimal>,
}

/// A state as read from the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StateName(pub CaseState);

/// A stored state Kapu does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown case state {0:?}")]
pub struct UnknownState(String);

impl TryFrom<String> for StateName {
    type Error = UnknownState;
    fn try_from(s: String) -> Result<Self, UnknownState> {
        CaseState::parse(&s).map(StateName).ok_or(UnknownState(s))
    }
}

/// Which cases a worklist shows.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Worklist {
    /// Only this state.
    pub state: Option<CaseState>,
    /// Only this case type.
    pub case_type: Option<String>,
    /// Only cases assigned to this clerk.
    pub assignee: Option<Uuid>,
    /// Only overdue cases.
    #[serde(default)]
    pub overdue: bool,
}

const SUMMARY: &str = r#"SELECT c.id, c.number, t.code AS case_type, t.name AS case_type_name, c.case_type_version, c.state, c.assignee_id,
    c.submitted_at, c.due_date,
    (c.due_date < $1 AND c.state IN ('submitted', 'in_review')) AS overdue, c.fee_gross
    FROM "case" c JOIN case_type t ON t.id = c.case_type_id"#;

/// The clerks' worklist: filed cases (not drafts), oldest deadline first.
pub async fn worklist(tx: &mut TenantTx, filter: &Worklist, now: DateTime<Utc>) -> Result<Vec<CaseSummary>, CaseError> {
    let today = today_of(now);
    Ok(sqlx::query_as(&format!(
        "{SUMMARY} WHERE c.state <> 'draft' AND ($2::text IS NULL OR c.state = $2) AND ($3::text IS NULL OR t.code = $3)
         AND ($4::uuid IS NULL OR c.assignee_id = $4)
         AND (NOT $5 OR (c.due_date < $1 AND c.state IN ('submitted', 'in_review')))
         ORDER BY c.due_date NULLS LAST, c.number LIMIT 500"
    ))
    .bind(today)
    .bind(filter.state.map(CaseState::as_str))
    .bind(filter.case_type.as_deref())
    .bind(filter.assignee)
    .bind(filter.overdue)
    .fetch_all(tx.conn())
    .await?)
}

/// A client's own cases and drafts, newest first (their own data: no audit).
pub async fn cases_of_account(tx: &mut TenantTx, account_id: Uuid, now: DateTime<Utc>) -> Result<Vec<CaseSummary>, CaseError> {
    Ok(sqlx::query_as(&format!(
        "{SUMMARY} WHERE c.account_id = $2 AND (c.state <> 'withdrawn' OR c.number IS NOT NULL) ORDER BY c.created_at DESC"
    ))
    .bind(today_of(now))
    .bind(account_id)
    .fetch_all(tx.conn())
    .await?)
}

/// A client's open cases (filed, not yet closed), whether filed from an account linked to
/// the client or for the client as principal under a mandate, oldest deadline first. Reads
/// no personal data (numbers, types, states), so it is not audited; the caller audits the
/// client read it belongs to.
pub async fn open_cases_of_client(tx: &mut TenantTx, client_id: Uuid, now: DateTime<Utc>) -> Result<Vec<CaseSummary>, CaseError> {
    Ok(sqlx::query_as(&format!(
        "{SUMMARY} WHERE c.state NOT IN ('draft', 'decided', 'delivered', 'rejected', 'withdrawn')
         AND (c.principal_client_id = $2 OR c.account_id IN (SELECT id FROM client_account WHERE client_id = $2))
         ORDER BY c.due_date NULLS LAST, c.number LIMIT 50"
    ))
    .bind(today_of(now))
    .bind(client_id)
    .fetch_all(tx.conn())
    .await?)
}

/// One transition in a case's history.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CaseEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// From which state (none for the first).
    pub from_state: Option<String>,
    /// To which state.
    pub to_state: String,
    /// `client`, `staff` or `system`.
    pub actor_kind: String,
    /// Who (staff e-mail, `client`, or what part of Kapu).
    pub actor_label: String,
    /// Why.
    pub reason: String,
}

/// A case with everything a clerk sees.
#[derive(Clone, Debug, Serialize)]
pub struct CaseDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// The form values as submitted.
    pub application: Value,
    /// The applicant as the rules saw them and the facts they read.
    pub inputs: Value,
    /// The rules' evaluation: outcome, deciding rule, reason, the trace of pre-checks and rules, fee.
    pub evaluation: Option<Value>,
    /// Payment reference, once paid.
    pub payment_reference: Option<String>,
    /// What the clerk asked for, while or after missing information was awaited.
    pub information_request: Option<String>,
    /// The client's answer.
    pub information_answer: Option<String>,
    /// The decision (or its draft): outcome, reason, text.
    pub decision: Option<DecisionView>,
    /// The sealed decision document of a decided case: waiting to be issued, failed, or
    /// issued with its delivery.
    pub issued_decision: Option<crate::IssuedDecision>,
    /// The history, oldest first.
    pub history: Vec<CaseEvent>,
}

/// A decision or its draft.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionView {
    /// `grant` or `refuse`.
    pub outcome: String,
    /// The reason.
    pub reason: Option<String>,
    /// The text rendered from the case type's template.
    pub text: Option<String>,
    /// Made by the rules without a clerk.
    pub automatic: bool,
    /// Who drafted it.
    pub drafted_by: Option<Uuid>,
    /// Whom it was sent to for approval.
    pub signatory_id: Option<Uuid>,
    /// Who approved it.
    pub approved_by: Option<Uuid>,
    /// When it took effect.
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    application_enc: Vec<u8>,
    inputs_enc: Option<Vec<u8>>,
    evaluation: Option<Value>,
    payment_reference: Option<String>,
    information_request: Option<String>,
    information_answer_enc: Option<Vec<u8>>,
    decision_outcome: Option<String>,
    decision_reason: Option<String>,
    decision_text_enc: Option<Vec<u8>>,
    decided_automatically: Option<bool>,
    drafted_by: Option<Uuid>,
    signatory_id: Option<Uuid>,
    approved_by: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    principal_client_id: Option<Uuid>,
}

async fn summary(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<CaseSummary, CaseError> {
    sqlx::query_as(&format!("{SUMMARY} WHERE c.id = $2 AND c.state <> 'draft'"))
        .bind(today_of(now))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(CaseError::NotFound)
}

/// A case for a clerk, with its history and rule trace; the read is audited.
pub async fn get_case(tx: &mut TenantTx, ring: &Keyring, clerk: &Clerk, id: Uuid, now: DateTime<Utc>) -> Result<CaseDetail, CaseError> {
    let summary = summary(tx, id, now).await?;
    let r: DetailRow = sqlx::query_as(
        r#"SELECT application_enc, inputs_enc, evaluation, payment_reference, information_request, information_answer_enc, decision_outcome,
           decision_reason, decision_text_enc, decided_automatically, drafted_by, signatory_id, approved_by, decided_at, principal_client_id
           FROM "case" WHERE id = $1"#,
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let application = serde_json::from_slice(&ring.open(&APPLICATION.at(id), &r.application_enc)?)?;
    let inputs = match &r.inputs_enc {
        Some(b) => serde_json::from_slice(&ring.open(&INPUTS.at(id), b)?)?,
        None => Value::Null,
    };
    let information_answer = match &r.information_answer_enc {
        Some(b) => Some(String::from_utf8_lossy(&ring.open(&ANSWER.at(id), b)?).into_owned()),
        None => None,
    };
    let decision = match r.decision_outcome {
        Some(outcome) => Some(DecisionView {
            outcome,
            reason: r.decision_reason,
            text: match &r.decision_text_enc {
                Some(b) => Some(String::from_utf8_lossy(&ring.open(&DECISION_TEXT.at(id), b)?).into_owned()),
                None => None,
            },
            automatic: r.decided_automatically.unwrap_or(false),
            drafted_by: r.drafted_by,
            signatory_id: r.signatory_id,
            approved_by: r.approved_by,
            decided_at: r.decided_at,
        }),
        None => None,
    };
    let history = history(tx, id).await?;
    let issued_decision = crate::issued_decision(tx, id).await?;
    audit(tx, clerk, "case.read", r.principal_client_id, json!({ "case": id }), now).await?;
    Ok(CaseDetail {
        summary,
        application,
        inputs,
        evaluation: r.evaluation,
        payment_reference: r.payment_reference,
        information_request: r.information_request,
        information_answer,
        decision,
        issued_decision,
        history,
    })
}

/// A case's history, oldest first.
pub async fn history(tx: &mut TenantTx, id: Uuid) -> Result<Vec<CaseEvent>, CaseError> {
    Ok(sqlx::query_as("SELECT at, from_state, to_state, actor_kind, actor_label, reason FROM case_event WHERE case_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(tx.conn())
        .await?)
}

/// A filed case as its client sees it on the portal.
#[derive(Clone, Debug, Serialize)]
pub struct OwnCase {
    /// The summary.
    pub summary: CaseSummary,
    /// What the clerk asked for, while missing information is awaited.
    pub information_request: Option<String>,
    /// By when.
    pub information_due: Option<NaiveDate>,
    /// The decision's outcome and reason, once decided.
    pub decision: Option<(String, String)>,
    /// The sealed decision document, once decided.
    pub issued_decision: Option<crate::IssuedDecision>,
    /// The history.
    pub history: Vec<CaseEvent>,
}

/// One of the client's own filed cases.
pub async fn own_case(tx: &mut TenantTx, account_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<OwnCase, CaseError> {
    type Row = (Option<String>, Option<NaiveDate>, Option<String>, Option<String>);
    // The summary (with the state) first, then the decision: a case only moves forward and its
    // decision commits with its state, so a state read first never shows "decided" without
    // the outcome (read the other way round, a decision committed in between did). Another
    // client's case is refused by the owner query below, before anything read is returned.
    let summary = summary(tx, id, now).await?;
    let owner: Option<Row> = sqlx::query_as(
        r#"SELECT information_request, information_due, decision_outcome, decision_reason FROM "case"
           WHERE id = $1 AND account_id = $2"#,
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(tx.conn())
    .await?;
    let (request, due, outcome, reason) = owner.ok_or(CaseError::NotFound)?;
    let decided = matches!(summary.state.0, CaseState::Decided | CaseState::Delivered);
    let waiting = summary.state.0 == CaseState::AwaitingInformation;
    Ok(OwnCase {
        information_request: if waiting { request } else { None },
        information_due: if waiting { due } else { None },
        decision: if decided { outcome.zip(reason) } else { None },
        issued_decision: crate::issued_decision(tx, id).await?,
        history: history(tx, id).await?,
        summary,
    })
}

struct Locked {
    state: CaseState,
    principal: Option<Uuid>,
    account: Option<Uuid>,
}

async fn lock(tx: &mut TenantTx, id: Uuid) -> Result<Locked, CaseError> {
    let row: Option<(String, Option<Uuid>, Option<Uuid>)> =
        sqlx::query_as(r#"SELECT state, principal_client_id, account_id FROM "case" WHERE id = $1 AND state <> 'draft' FOR UPDATE"#)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let (state, principal, account) = row.ok_or(CaseError::NotFound)?;
    Ok(Locked { state: CaseState::parse(&state).ok_or(CaseError::NotFound)?, principal, account })
}

fn require(locked: &Locked, allowed: &[CaseState], action: &'static str) -> Result<(), CaseError> {
    if allowed.contains(&locked.state) { Ok(()) } else { Err(CaseError::NotAllowed { from: locked.state, action }) }
}

/// Assigns an open case to a clerk (or takes the assignment away with `None`).
pub async fn assign(tx: &mut TenantTx, clerk: &Clerk, id: Uuid, to: Option<Uuid>, now: DateTime<Utc>) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    if c.state.is_closed() {
        return Err(CaseError::NotAllowed { from: c.state, action: "assigned" });
    }
    if let Some(staff) = to {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM staff WHERE id = $1 AND NOT disabled)")
            .bind(staff)
            .fetch_one(tx.conn())
            .await?;
        if !exists {
            return Err(CaseError::BadInput { field: "assignee_id", reason: Refusal::UnknownStaff });
        }
    }
    sqlx::query(r#"UPDATE "case" SET assignee_id = $2, updated_at = $3 WHERE id = $1"#)
        .bind(id)
        .bind(to)
        .bind(now)
        .execute(tx.conn())
        .await?;
    audit(tx, clerk, "case.assign", c.principal, json!({ "case": id, "assignee": to }), now).await
}

fn text_input(field: &'static str, s: &str, max: usize) -> Result<String, CaseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(CaseError::BadInput { field, reason: Refusal::Required });
    }
    if t.chars().count() > max {
        return Err(CaseError::BadInput { field, reason: Refusal::too_long(max) });
    }
    Ok(t.to_owned())
}

/// Asks the client for missing information by `due`; the case's deadline pauses until the
/// client answers.
pub async fn request_information(
    tx: &mut TenantTx,
    clerk: &Clerk,
    id: Uuid,
    request: &str,
    due: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    require(&c, &[CaseState::InReview], "asked for missing information")?;
    let request = text_input("request", request, 4000)?;
    if due <= today_of(now) {
        return Err(CaseError::BadInput { field: "due", reason: Refusal::NotAfterToday });
    }
    sqlx::query(
        r#"UPDATE "case" SET information_request = $2, information_due = $3, information_answer_enc = NULL, paused_at = $4, drafted_by = NULL,
           signatory_id = NULL, decision_outcome = NULL, decision_reason = NULL, decision_text_enc = NULL, decision_data_enc = NULL WHERE id = $1"#,
    )
    .bind(id)
    .bind(&request)
    .bind(due)
    .bind(now)
    .execute(tx.conn())
    .await?;
    transition(tx, id, c.state, CaseState::AwaitingInformation, &clerk.actor(), &format!("missing information requested by {due}"), now)
        .await?;
    audit(tx, clerk, "case.request_information", c.principal, json!({ "case": id, "due": due }), now).await
}

/// The client answers a request for missing information; the deadline runs on, extended
/// by the days it was paused.
pub async fn answer_information(
    tx: &mut TenantTx,
    ring: &Keyring,
    calendar: &Calendar,
    account_id: Uuid,
    id: Uuid,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    if c.account != Some(account_id) {
        return Err(CaseError::NotFound);
    }
    require(&c, &[CaseState::AwaitingInformation], "answered")?;
    let answer = text_input("answer", answer, 10000)?;
    let (paused_at, due, version, code): (Option<DateTime<Utc>>, Option<NaiveDate>, i32, String) = sqlx::query_as(
        r#"SELECT c.paused_at, c.due_date, c.case_type_version, t.code FROM "case" c JOIN case_type t ON t.id = c.case_type_id WHERE c.id = $1"#,
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let deadline = get_version(tx, &code, Some(version)).await?.definition.deadline;
    let new_due = match (paused_at, due) {
        (Some(p), Some(d)) => {
            let (from, to) = (today_of(p), today_of(now));
            let mut paused = 0u32;
            let mut day = from;
            while day < to {
                if !deadline.working_days || calendar.is_working_day(day)? {
                    paused += 1;
                }
                day = day.succ_opt().unwrap_or(to);
            }
            Some(if deadline.working_days { calendar.add_working_days(d, paused)? } else { d + chrono::Days::new(u64::from(paused)) })
        }
        (_, d) => d,
    };
    sqlx::query(r#"UPDATE "case" SET information_answer_enc = $2, paused_at = NULL, due_date = $3, updated_at = $4 WHERE id = $1"#)
        .bind(id)
        .bind(ring.seal(&ANSWER.at(id), answer.as_bytes())?)
        .bind(new_due)
        .bind(now)
        .execute(tx.conn())
        .await?;
    transition(tx, id, c.state, CaseState::InReview, &CaseActor::Client { account_id }, "missing information given", now).await
}

/// The client withdraws a filed case that is not yet decided.
pub async fn withdraw(tx: &mut TenantTx, account_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    if c.account != Some(account_id) {
        return Err(CaseError::NotFound);
    }
    transition(tx, id, c.state, CaseState::Withdrawn, &CaseActor::Client { account_id }, "withdrawn by the client", now).await
}

/// What a clerk decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Grant.
    Grant,
    /// Refuse.
    Refuse,
}

impl DecisionOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Refuse => "refuse",
        }
    }
}

/// Drafts the decision from the case type's template; it takes effect only when a
/// signatory other than the drafter approves it.
pub async fn draft_decision(
    tx: &mut TenantTx,
    ring: &Keyring,
    clerk: &Clerk,
    id: Uuid,
    outcome: DecisionOutcome,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String, CaseError> {
    let c = lock(tx, id).await?;
    require(&c, &[CaseState::InReview], "given a draft decision")?;
    let reason = text_input("reason", reason, 4000)?;
    type Row = (i32, String, Option<String>, Vec<u8>, Option<Vec<u8>>, Option<Value>);
    let (version, code, number, app, inputs, evaluation): Row = sqlx::query_as(
        r#"SELECT c.case_type_version, t.code, c.number, c.application_enc, c.inputs_enc, c.evaluation
           FROM "case" c JOIN case_type t ON t.id = c.case_type_id WHERE c.id = $1"#,
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let def = get_version(tx, &code, Some(version)).await?.definition;
    let values: Value = serde_json::from_slice(&ring.open(&APPLICATION.at(id), &app)?)?;
    let inputs: Inputs = match inputs {
        Some(b) => serde_json::from_slice(&ring.open(&INPUTS.at(id), &b)?)?,
        None => return Err(CaseError::NotFound),
    };
    let evaluation: Evaluation = crate::case::stored_evaluation(evaluation, &def)?;
    let data = decision_data(&def, number.as_deref().unwrap_or(""), &values, &inputs, &evaluation, outcome.as_str(), &reason, now);
    let text = render_decision(&def, outcome.as_str(), &data)?;
    sqlx::query(
        r#"UPDATE "case" SET decision_outcome = $2, decision_reason = $3, decision_text_enc = $4, decision_data_enc = $5, decided_automatically = false,
           drafted_by = $6, signatory_id = NULL, approved_by = NULL, updated_at = $7 WHERE id = $1"#,
    )
    .bind(id)
    .bind(outcome.as_str())
    .bind(&reason)
    .bind(ring.seal(&DECISION_TEXT.at(id), text.as_bytes())?)
    .bind(ring.seal(&DECISION_DATA.at(id), &serde_json::to_vec(&data)?)?)
    .bind(clerk.id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    event(tx, id, Some(c.state), c.state, &clerk.actor(), &format!("decision drafted ({})", outcome.as_str()), now).await?;
    audit(tx, clerk, "case.draft_decision", c.principal, json!({ "case": id, "outcome": outcome.as_str() }), now).await?;
    Ok(text)
}

/// Sends the drafted decision to a signatory, who must not be its drafter.
pub async fn send_to_signatory(tx: &mut TenantTx, clerk: &Clerk, id: Uuid, signatory: Uuid, now: DateTime<Utc>) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    require(&c, &[CaseState::InReview], "sent to a signatory")?;
    let drafted_by: Option<Uuid> =
        sqlx::query_scalar(r#"SELECT drafted_by FROM "case" WHERE id = $1"#).bind(id).fetch_one(tx.conn()).await?;
    let Some(drafter) = drafted_by else {
        return Err(CaseError::BadInput { field: "decision", reason: Refusal::NoDecisionDraft });
    };
    if drafter == signatory {
        return Err(CaseError::FourEyes);
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM staff WHERE id = $1 AND NOT disabled)")
        .bind(signatory)
        .fetch_one(tx.conn())
        .await?;
    if !exists {
        return Err(CaseError::BadInput { field: "signatory_id", reason: Refusal::UnknownStaff });
    }
    sqlx::query(r#"UPDATE "case" SET signatory_id = $2, updated_at = $3 WHERE id = $1"#)
        .bind(id)
        .bind(signatory)
        .bind(now)
        .execute(tx.conn())
        .await?;
    event(tx, id, Some(c.state), c.state, &clerk.actor(), "decision sent to the signatory", now).await?;
    audit(tx, clerk, "case.send_to_signatory", c.principal, json!({ "case": id, "signatory": signatory }), now).await
}

/// The signatory approves the drafted decision: the case is decided and `case.decided`
/// is queued. The approver must be the signatory it was sent to, never its drafter.
pub async fn approve(tx: &mut TenantTx, clerk: &Clerk, id: Uuid, now: DateTime<Utc>) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    require(&c, &[CaseState::InReview], "approved")?;
    let (drafted_by, signatory, outcome): (Option<Uuid>, Option<Uuid>, Option<String>) =
        sqlx::query_as(r#"SELECT drafted_by, signatory_id, decision_outcome FROM "case" WHERE id = $1"#)
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
    if drafted_by == Some(clerk.id) {
        return Err(CaseError::FourEyes);
    }
    match signatory {
        None => return Err(CaseError::BadInput { field: "decision", reason: Refusal::DecisionNotSent }),
        Some(s) if s != clerk.id => {
            return Err(CaseError::BadInput { field: "decision", reason: Refusal::OtherSignatory });
        }
        Some(_) => {}
    }
    sqlx::query(r#"UPDATE "case" SET approved_by = $2, decided_at = $3, updated_at = $3 WHERE id = $1"#)
        .bind(id)
        .bind(clerk.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    transition(tx, id, c.state, CaseState::Decided, &clerk.actor(), "decision approved by the signatory", now).await?;
    let mut jobs = vec![(DECIDED_JOB, kapu_jobs::DEFAULT_ATTEMPTS)];
    if outcome.as_deref() == Some("grant") {
        jobs.push((crate::outbox::GRANTED_JOB, crate::outbox::LOCAL_ATTEMPTS));
    }
    let queue = crate::case::case_jobs(tx.slug(), id, &jobs, None)?;
    tx.run(&[queue]).await?;
    audit(tx, clerk, "case.approve", c.principal, json!({ "case": id }), now).await
}

/// Rejects a case without a decision on the merits (e.g. missing information not given).
pub async fn reject(tx: &mut TenantTx, clerk: &Clerk, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<(), CaseError> {
    let c = lock(tx, id).await?;
    require(&c, &[CaseState::InReview, CaseState::AwaitingInformation], "rejected")?;
    let reason = text_input("reason", reason, 4000)?;
    transition(tx, id, c.state, CaseState::Rejected, &clerk.actor(), &reason, now).await?;
    audit(tx, clerk, "case.reject", c.principal, json!({ "case": id }), now).await
}

/// The data the decision document is made from (template data, outcome, fee), for the
/// `case.decided` job's handler.
pub async fn decision_document_data(tx: &mut TenantTx, ring: &Keyring, id: Uuid) -> Result<(Value, String), CaseError> {
    type Row = (Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<Row> =
        sqlx::query_as(r#"SELECT decision_data_enc, decision_text_enc FROM "case" WHERE id = $1 AND state IN ('decided', 'delivered')"#)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((Some(data), Some(text))) = row else { return Err(CaseError::NotFound) };
    Ok((
        serde_json::from_slice(&ring.open(&DECISION_DATA.at(id), &data)?)?,
        String::from_utf8_lossy(&ring.open(&DECISION_TEXT.at(id), &text)?).into_owned(),
    ))
}

/// Why filed cases outlive an erasure request.
pub const CASE_RETENTION_REASON: &str = "the files of official cases are public records: the office keeps them, with the \
     decisions made in them, for the period its records retention schedule sets under Act LXVI of 1995 on public records; \
     they are no longer linked to a portal account";

/// Before a portal account is erased: wipes the content of its drafts (not yet an official
/// record) and reports the filed cases a retention rule keeps. Returns the report and the
/// wiped drafts, whose attachments are marked removed: the caller deletes them after the
/// commit ([`crate::attachments::settle`]).
pub async fn prepare_erasure(
    tx: &mut TenantTx,
    ring: &Keyring,
    account_id: Uuid,
    client_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Vec<kapu_clients::account::Retained>, Vec<Uuid>), CaseError> {
    let drafts: Vec<Uuid> = sqlx::query_scalar(r#"SELECT id FROM "case" WHERE account_id = $1 AND state = 'draft' FOR UPDATE"#)
        .bind(account_id)
        .fetch_all(tx.conn())
        .await?;
    for draft in &drafts {
        sqlx::query(r#"UPDATE "case" SET application_enc = $2 WHERE id = $1"#)
            .bind(draft)
            .bind(ring.seal(&APPLICATION.at(draft), b"{}")?)
            .execute(tx.conn())
            .await?;
        crate::attachments::remove_all(tx, &drafts, now).await?;
    }
    let (numbers, principal): (Vec<String>, bool) = sqlx::query_as(
        r#"SELECT COALESCE(array_agg(number ORDER BY number) FILTER (WHERE number IS NOT NULL), '{}'),
                  COALESCE(bool_or(principal_client_id = $2), false)
           FROM "case" WHERE account_id = $1 OR principal_client_id = $2"#,
    )
    .bind(account_id)
    .bind(client_id)
    .fetch_one(tx.conn())
    .await?;
    let mut retained = Vec::new();
    if !numbers.is_empty() {
        retained.push(kapu_clients::account::Retained {
            what: format!("cases {}", numbers.join(", ")),
            why: CASE_RETENTION_REASON.to_owned(),
            needs_client_record: principal,
        });
    }
    Ok((retained, drafts))
}
