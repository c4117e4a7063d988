//! The clerks' case workflow: the worklist, a case with its history and rule trace, and
//! the actions (assign, request missing information, draft a decision, send it to a
//! signatory, approve with four eyes, reject). Every action and read is audited by the
//! domain (`kapu-cases`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use kapu_cases::{CaseState, CaseSummary, Clerk, DecisionOutcome};
use kapu_core::Refusal;
use kapu_staff::Permission;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// A case in the worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseItem {
    /// Id.
    pub id: Uuid,
    /// Case number, e.g. `HV-2026-000123`.
    pub number: Option<String>,
    /// Case type code.
    pub case_type: String,
    /// Case type name.
    pub case_type_name: String,
    /// The case type version the case started under.
    pub case_type_version: i32,
    /// `submitted`, `awaiting_payment`, `in_review`, `awaiting_information`, `decided`, `delivered`, `rejected` or `withdrawn`.
    pub state: String,
    /// The assigned clerk.
    pub assignee_id: Option<Uuid>,
    /// When it was filed.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The deadline for deciding (paused while missing information is awaited).
    pub due_date: Option<NaiveDate>,
    /// Past its deadline and still open.
    pub overdue: bool,
    /// The fee in forints (gross), as a decimal string.
    pub fee_gross: Option<String>,
}

impl From<CaseSummary> for CaseItem {
    fn from(c: CaseSummary) -> Self {
        Self {
            id: c.id,
            number: c.number,
            case_type: c.case_type,
            case_type_name: c.case_type_name,
            case_type_version: c.case_type_version,
            state: c.state.0.as_str().to_owned(),
            assignee_id: c.assignee_id,
            submitted_at: c.submitted_at,
            due_date: c.due_date,
            overdue: c.overdue,
            fee_gross: c.fee_gross.map(|d: Decimal| d.normalize().to_string()),
        }
    }
}

/// The worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// Oldest deadline first.
    pub cases: Vec<CaseItem>,
}

/// Worklist filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CaseQuery {
    /// Only this state; empty: any.
    #[param(schema_with = state_filter)]
    pub state: Option<String>,
    /// Only this case type (code).
    pub case_type: Option<String>,
    /// Only cases assigned to this staff member.
    pub assignee: Option<Uuid>,
    /// Only overdue cases.
    #[serde(default)]
    pub overdue: bool,
}

/// The worklist's state filter: a case state, or empty for any.
fn state_filter() -> utoipa::openapi::schema::Object {
    let states = std::iter::once("").chain(CaseState::ALL.iter().map(|s| s.as_str()));
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(states))
        .description(Some("Only this state; empty: any."))
        .build()
}

/// One transition in a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventView {
    /// When.
    pub at: DateTime<Utc>,
    /// From which state.
    pub from_state: Option<String>,
    /// To which state.
    pub to_state: String,
    /// `client`, `staff` or `system`.
    pub actor_kind: String,
    /// Who.
    pub actor_label: String,
    /// Why.
    pub reason: String,
}

/// A case with its history and rule trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// The worklist fields.
    #[serde(flatten)]
    pub case: CaseItem,
    /// The form values as submitted.
    #[schema(value_type = Object)]
    pub application: serde_json::Value,
    /// What the rules read besides the form: the applicant and the facts.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// The rules' evaluation: `outcome`, `decided_by`, `reason`, the `prechecks` and `rules` traces, `fee`.
    #[schema(value_type = Option<Object>)]
    pub evaluation: Option<serde_json::Value>,
    /// Payment reference, once paid.
    pub payment_reference: Option<String>,
    /// What the clerk asked for.
    pub information_request: Option<String>,
    /// The client's answer.
    pub information_answer: Option<String>,
    /// The decision or its draft: `outcome`, `reason`, `text`, `automatic`, `drafted_by`, `signatory_id`, `approved_by`, `decided_at`.
    #[schema(value_type = Option<Object>)]
    pub decision: Option<serde_json::Value>,
    /// The sealed decision document of a decided case (none before the decision).
    pub issued_decision: Option<IssuedDecisionView>,
    /// The history, oldest first.
    pub history: Vec<CaseEventView>,
    /// The case's work in the municipality's local systems: file number, permit, and what is pending.
    pub local_systems: LocalSystemsView,
}

/// One piece of a case's work in a local system.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocalWorkView {
    /// `records`, `finance` or `parking`.
    pub system: String,
    /// `records.register`, `records.file`, `records.issue`, `finance.receivable`, `finance.payment` or `parking.submit`.
    pub task: String,
    /// `done`, `pending` (waiting or retrying), `failed` (for good; the admin can retry the job) or `not_installed` (no plugin: not attempted).
    pub state: String,
    /// The plugin that did it.
    pub plugin: Option<String>,
    /// What the system gave: arrival number, file number, posting id or permit id.
    pub reference: Option<String>,
    /// More of the answer, e.g. a permit's `state`, `zone` and `valid_until`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// When it was done.
    pub done_at: Option<DateTime<Utc>>,
    /// Attempts so far, while pending or failed.
    pub attempts: Option<i32>,
    /// The next attempt, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (no personal data).
    pub last_error: Option<String>,
}

/// A case's work in the municipality's local systems.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocalSystemsView {
    /// The arrival number (érkeztetőszám) from the records system.
    pub arrival_number: Option<String>,
    /// The file number (iktatószám) from the records system.
    pub file_number: Option<String>,
    /// The parking permit's id in the parking system.
    pub permit_id: Option<String>,
    /// Every piece of work: done ones first, then pending and failed ones.
    pub work: Vec<LocalWorkView>,
}

impl From<kapu_local_systems::CaseLocalSystems> for LocalSystemsView {
    fn from(l: kapu_local_systems::CaseLocalSystems) -> Self {
        let state =
            |s: kapu_local_systems::WorkState| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        Self {
            arrival_number: l.arrival_number,
            file_number: l.file_number,
            permit_id: l.permit_id,
            work: l
                .work
                .into_iter()
                .map(|w| LocalWorkView {
                    system: w.system.as_str().to_owned(),
                    task: w.task.to_owned(),
                    state: state(w.state),
                    plugin: w.plugin,
                    reference: w.reference,
                    detail: w.detail,
                    done_at: w.done_at,
                    attempts: w.attempts,
                    next_attempt_at: w.next_attempt_at,
                    last_error: w.last_error,
                })
                .collect(),
        }
    }
}

/// Where a decided case's decision document stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedDecisionView {
    /// `waiting` (queued, or waiting to be tried again, e.g. while the time-stamping
    /// authority is down: never issued unsigned), `failed` (needs a person; see `problem`)
    /// or `issued`.
    pub status: String,
    /// The document's id (known once its issuing is queued).
    pub document_id: Option<Uuid>,
    /// Its title, once issued.
    pub title: Option<String>,
    /// When it was sealed and made available to the client.
    pub issued_at: Option<DateTime<Utc>>,
    /// SHA-256 of the PDF, hex.
    pub sha256: Option<String>,
    /// `downloaded` or `deemed`, once delivered.
    pub delivered_how: Option<String>,
    /// When the delivery took legal effect (the first download, or the deemed delivery).
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, while waiting or failed.
    pub problem: Option<String>,
    /// Attempts so far of the job that waits or failed.
    pub attempts: Option<i32>,
}

impl From<kapu_cases::IssuedDecision> for IssuedDecisionView {
    fn from(d: kapu_cases::IssuedDecision) -> Self {
        let status = match d.status {
            kapu_cases::IssuingStatus::Waiting => "waiting",
            kapu_cases::IssuingStatus::Failed => "failed",
            kapu_cases::IssuingStatus::Issued => "issued",
        };
        Self {
            status: status.to_owned(),
            document_id: d.document_id,
            title: d.title,
            issued_at: d.issued_at,
            sha256: d.sha256,
            delivered_how: d.delivery.as_ref().map(|x| match x.how {
                kapu_delivery::access::DeliveryHow::Downloaded => "downloaded".to_owned(),
                kapu_delivery::access::DeliveryHow::Deemed => "deemed".to_owned(),
            }),
            delivered_at: d.delivery.map(|x| x.at),
            problem: d.problem,
            attempts: d.attempts,
        }
    }
}

fn clerk(s: &SignedIn) -> Clerk {
    Clerk { id: s.0.session.staff.id, email: s.0.session.staff.email.clone() }
}

/// The worklist: filed cases, filtered by state, case type, assignee or overdue.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = CaseList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_cases(s: SignedIn, Query(q): Query<CaseQuery>) -> Result<Json<CaseList>, ApiError> {
    s.require(Permission::HandleCases)?;
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(x) => Some(CaseState::parse(x).ok_or_else(|| {
            ApiError::field("state", Refusal::NotInList { allowed: CaseState::ALL.iter().map(|s| s.as_str().to_owned()).collect() })
        })?),
    };
    let filter = kapu_cases::Worklist { state, case_type: q.case_type.filter(|c| !c.is_empty()), assignee: q.assignee, overdue: q.overdue };
    let SignedIn(mut a) = s;
    let list = kapu_cases::worklist(a.tx.tenant()?, &filter, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(Json(CaseList { cases: list.into_iter().map(Into::into).collect() }))
}

/// A case with its history, rule trace and decision; the read is audited.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = CaseView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_case(State(state): State<AppState>, s: SignedIn, Path(id): Path<Uuid>) -> Result<Json<CaseView>, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    let ring = a.tx.keyring(&state).await?;
    let d = kapu_cases::get_case(a.tx.tenant()?, &ring, &clerk, id, Utc::now()).await?;
    let local = kapu_local_systems::for_case(a.tx.tenant()?, id, d.summary.number.as_deref()).await?;
    a.tx.commit().await?;
    Ok(Json(CaseView {
        case: d.summary.into(),
        application: d.application,
        inputs: d.inputs,
        evaluation: d.evaluation,
        payment_reference: d.payment_reference,
        information_request: d.information_request,
        information_answer: d.information_answer,
        decision: d.decision.map(|x| serde_json::to_value(x).unwrap_or_default()),
        issued_decision: d.issued_decision.map(Into::into),
        history: d
            .history
            .into_iter()
            .map(|e| CaseEventView {
                at: e.at,
                from_state: e.from_state,
                to_state: e.to_state,
                actor_kind: e.actor_kind,
                actor_label: e.actor_label,
                reason: e.reason,
            })
            .collect(),
        local_systems: local.into(),
    }))
}

/// Whom to assign a case to.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// The staff member; `null` takes the assignment away.
    pub assignee_id: Option<Uuid>,
}

/// Assigns an open case.
#[utoipa::path(post, path = "/cases/{id}/assign", tag = "cases", request_body = AssignRequest, params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 204, description = "Assigned"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn assign_case(s: SignedIn, Path(id): Path<Uuid>, Json(req): Json<AssignRequest>) -> Result<StatusCode, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    kapu_cases::assign(a.tx.tenant()?, &clerk, id, req.assignee_id, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the client is asked for, and by when.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InformationRequest {
    /// What is missing, for the client.
    pub request: String,
    /// The last day to answer.
    pub due: NaiveDate,
}

/// Asks the client for missing information; the case's deadline pauses until they answer.
#[utoipa::path(post, path = "/cases/{id}/request-information", tag = "cases", request_body = InformationRequest, params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 204, description = "Requested"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn request_information(s: SignedIn, Path(id): Path<Uuid>, Json(req): Json<InformationRequest>) -> Result<StatusCode, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    kapu_cases::request_information(a.tx.tenant()?, &clerk, id, &req.request, req.due, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A decision to draft.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftDecisionRequest {
    /// `grant` or `refuse`.
    #[schema(value_type = String)]
    pub outcome: DecisionOutcome,
    /// The reason, as the decision states it.
    pub reason: String,
}

/// The drafted decision's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftedDecision {
    /// Rendered from the case type's template.
    pub text: String,
}

/// Drafts the decision from the case type's template.
#[utoipa::path(post, path = "/cases/{id}/draft-decision", tag = "cases", request_body = DraftDecisionRequest, params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = DraftedDecision), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn draft_decision(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<Uuid>,
    Json(req): Json<DraftDecisionRequest>,
) -> Result<Json<DraftedDecision>, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    let ring = a.tx.keyring(&state).await?;
    let text = kapu_cases::draft_decision(a.tx.tenant()?, &ring, &clerk, id, req.outcome, &req.reason, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(Json(DraftedDecision { text }))
}

/// Who is to approve the decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignatoryRequest {
    /// The signatory, not the drafter.
    pub signatory_id: Uuid,
}

/// Sends the drafted decision to a signatory (four eyes: not the drafter).
#[utoipa::path(post, path = "/cases/{id}/send-to-signatory", tag = "cases", request_body = SignatoryRequest, params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 204, description = "Sent"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn send_to_signatory(s: SignedIn, Path(id): Path<Uuid>, Json(req): Json<SignatoryRequest>) -> Result<StatusCode, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    kapu_cases::send_to_signatory(a.tx.tenant()?, &clerk, id, req.signatory_id, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signatory approves the decision; the case is decided.
#[utoipa::path(post, path = "/cases/{id}/approve", tag = "cases", params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 204, description = "Decided"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn approve_decision(s: SignedIn, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    kapu_cases::approve(a.tx.tenant()?, &clerk, id, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why a case is rejected.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectRequest {
    /// The reason, for the client and the history.
    pub reason: String,
}

/// Rejects a case without a decision on the merits.
#[utoipa::path(post, path = "/cases/{id}/reject", tag = "cases", request_body = RejectRequest, params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 204, description = "Rejected"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn reject_case(s: SignedIn, Path(id): Path<Uuid>, Json(req): Json<RejectRequest>) -> Result<StatusCode, ApiError> {
    s.require(Permission::HandleCases)?;
    let clerk = clerk(&s);
    let SignedIn(mut a) = s;
    kapu_cases::reject(a.tx.tenant()?, &clerk, id, &req.reason, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A staff member who can be assigned a case or sign a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHandler {
    /// Staff id.
    pub id: Uuid,
    /// Name.
    pub display_name: String,
    /// E-mail.
    pub email: String,
}

/// Who handles cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHandlerList {
    /// By e-mail.
    pub handlers: Vec<CaseHandler>,
}

/// The staff who may be assigned cases or sign decisions.
#[utoipa::path(get, path = "/case-handlers", tag = "cases",
    responses((status = 200, body = CaseHandlerList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_case_handlers(s: SignedIn) -> Result<Json<CaseHandlerList>, ApiError> {
    s.require(Permission::HandleCases)?;
    let SignedIn(mut a) = s;
    let staff = kapu_staff::list_staff(&mut a.tx).await?;
    a.tx.commit().await?;
    let handlers = staff
        .into_iter()
        .filter(|x| x.role.permits(Permission::HandleCases))
        .map(|x| CaseHandler { id: x.id, display_name: x.display_name, email: x.email })
        .collect();
    Ok(Json(CaseHandlerList { handlers }))
}
