//! The queue system (ügyfélhívó) at the counters: a clerk's counter, tickets issued for
//! clients, the clerk's "call next", the calls to the clerk's counter with the feed's state,
//! and the called client's card (an audited read of personal data).
//!
//! The counter page polls `GET /queue/counter` every few seconds rather than holding a
//! server-sent event stream: calls reach Kapu through the feed job, which itself reads the
//! queue system every few seconds (possibly in a separate worker process), so a stream would
//! be no fresher; a short poll is one small read per clerk through the ordinary session,
//! CSRF and tenant transaction, survives proxies and reconnects without extra code, and needs
//! no notification path from the worker to the server.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use kapu_queue::counter::{self, Call, NewTicket};
use kapu_queue::feed::FeedStatus;
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::cases::CaseItem;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// A ticket called to a counter (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    /// Id; rises with each call.
    pub id: i64,
    /// The queue system's ticket id.
    pub ticket_id: String,
    /// The number shown to the client, e.g. `A042` (the ticket id for tickets Kapu did not issue).
    pub display_number: String,
    /// The service's code, for tickets Kapu issued.
    pub service: Option<String>,
    /// The counter.
    pub counter: String,
    /// When.
    pub called_at: DateTime<Utc>,
    /// Whether a client is tied to the ticket: then `GET /queue/calls/{id}/card` shows them.
    pub has_client: bool,
    /// Whether the clerk's own "call next" made it (else the queue system's feed brought it).
    pub from_button: bool,
}

impl From<Call> for CallView {
    fn from(c: Call) -> Self {
        Self {
            id: c.id,
            ticket_id: c.ticket_id,
            display_number: c.display_number,
            service: c.service,
            counter: c.counter,
            called_at: c.called_at,
            has_client: c.has_client,
            from_button: c.from_button,
        }
    }
}

/// How Kapu follows the queue system's event feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    /// The last event position read.
    pub cursor: i64,
    /// When a read last succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last read failed (the queue system's or plugin's words).
    pub last_error: Option<String>,
    /// When a read last failed.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failed reads since the last successful one; the wait between reads grows with it.
    pub failures: i32,
    /// Whether the latest read failed, so calls may be waiting that Kapu has not seen.
    pub behind: bool,
    /// Whether a read is scheduled.
    pub scheduled: bool,
}

impl From<FeedStatus> for FeedView {
    fn from(f: FeedStatus) -> Self {
        Self {
            cursor: f.cursor,
            last_success_at: f.last_success_at,
            last_error: f.last_error,
            last_error_at: f.last_error_at,
            failures: f.failures,
            behind: f.behind,
            scheduled: f.scheduled,
        }
    }
}

/// The clerk's counter page.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterPage {
    /// The tenant's queue plugin; absent when none is installed (then there is nothing to poll).
    pub plugin: Option<String>,
    /// The counter the clerk sits at.
    pub counter: Option<String>,
    /// The feed, when a plugin is installed.
    pub feed: Option<FeedView>,
    /// The latest calls to the clerk's counter, newest first.
    pub calls: Vec<CallView>,
}

/// Where the clerk sits.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetCounter {
    /// The counter as the queue system names it, e.g. `3`.
    pub counter: String,
}

/// A ticket to issue.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTicketRequest {
    /// The queue system's service code, e.g. `A`.
    pub service: String,
    /// The client the ticket is for.
    pub client_id: Option<Uuid>,
}

/// A ticket Kapu issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// The queue system's ticket id.
    pub ticket_id: String,
    /// The number shown to the client, e.g. `A042`.
    pub display_number: String,
    /// The service's code.
    pub service: String,
    /// The client it is for.
    pub client_id: Option<Uuid>,
    /// When.
    pub issued_at: DateTime<Utc>,
}

/// The outcome of "call next".
#[derive(Debug, Serialize, ToSchema)]
pub struct CallNextView {
    /// The call; absent when nobody waits.
    pub call: Option<CallView>,
}

/// The called client as the clerk sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardClientView {
    /// Id.
    pub id: Uuid,
    /// Family name.
    pub family_name: String,
    /// Given name(s).
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// `registered`, `in_person` or `kau`: the highest level of the client's portal accounts; absent without one.
    pub identification_level: Option<String>,
    /// The client's open cases.
    pub open_cases: Vec<CaseItem>,
}

/// The card of a called client.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    /// The call.
    pub call: CallView,
    /// The client; absent for a ticket with no client.
    pub client: Option<CardClientView>,
}

const PJ: &str = "application/problem+json";

/// The clerk's counter page: the counter, the queue system's feed and the latest calls.
#[utoipa::path(get, path = "/queue/counter", tag = "queue",
    responses((status = 200, body = CounterPage), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
pub async fn counter_page(s: SignedIn) -> Result<Json<CounterPage>, ApiError> {
    s.require(Permission::ReadClients)?;
    let staff = s.0.session.staff.id;
    let SignedIn(mut a) = s;
    let v = counter::view(a.tx.tenant()?, staff).await?;
    a.tx.commit().await?;
    Ok(Json(CounterPage {
        plugin: v.plugin,
        counter: v.counter,
        feed: v.feed.map(Into::into),
        calls: v.calls.into_iter().map(Into::into).collect(),
    }))
}

/// Sets the counter the clerk sits at (kept until changed) and starts following the feed.
#[utoipa::path(put, path = "/queue/counter", tag = "queue", request_body = SetCounter,
    responses((status = 200, body = CounterPage), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 409, body = Problem, content_type = PJ, description = "no queue plugin is installed"), (status = 422, body = Problem, content_type = PJ)))]
pub async fn set_counter(s: SignedIn, Json(req): Json<SetCounter>) -> Result<Json<CounterPage>, ApiError> {
    s.require(Permission::ReadClients)?;
    let staff = s.0.session.staff.id;
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    counter::set_seat(tx, staff, req.counter.trim(), Utc::now()).await?;
    let v = counter::view(tx, staff).await?;
    a.tx.commit().await?;
    Ok(Json(CounterPage {
        plugin: v.plugin,
        counter: v.counter,
        feed: v.feed.map(Into::into),
        calls: v.calls.into_iter().map(Into::into).collect(),
    }))
}

fn plugins(state: &AppState) -> Result<&kapu_plugins::installation::Plugins, ApiError> {
    state.plugins.as_ref().ok_or_else(|| ApiError::NotConfigured("plugins are not enabled on this server".into()))
}

/// Issues a queue ticket through the queue system, for a client (from their card) or for none.
#[utoipa::path(post, path = "/queue/tickets", tag = "queue", request_body = NewTicketRequest,
    responses((status = 201, body = TicketView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 409, body = Problem, content_type = PJ, description = "no queue plugin is installed"), (status = 422, body = Problem, content_type = PJ),
        (status = 502, body = Problem, content_type = PJ, description = "the queue system failed")))]
pub async fn issue_ticket(
    State(state): State<AppState>,
    s: SignedIn,
    Json(req): Json<NewTicketRequest>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    s.require(Permission::ReadClients)?;
    let actor = s.actor();
    let SignedIn(mut a) = s;
    let new = NewTicket { service: req.service.trim().to_owned(), client_id: req.client_id };
    let t = counter::issue_ticket(a.tx.tenant()?, plugins(&state)?, &actor, new, Utc::now()).await?;
    a.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(TicketView {
            ticket_id: t.ticket_id,
            display_number: t.display_number,
            service: t.service,
            client_id: t.client_id,
            issued_at: t.issued_at,
        }),
    ))
}

/// Calls the next waiting ticket to the clerk's counter (the counter terminal's button, in Kapu).
#[utoipa::path(post, path = "/queue/counter/call-next", tag = "queue",
    responses((status = 200, body = CallNextView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 409, body = Problem, content_type = PJ, description = "no queue plugin, or no counter set"),
        (status = 502, body = Problem, content_type = PJ, description = "the queue system failed")))]
pub async fn call_next(State(state): State<AppState>, s: SignedIn) -> Result<Json<CallNextView>, ApiError> {
    s.require(Permission::ReadClients)?;
    let staff = s.0.session.staff.id;
    let SignedIn(mut a) = s;
    let call = counter::call_next(a.tx.tenant()?, plugins(&state)?, staff, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(Json(CallNextView { call: call.map(Into::into) }))
}

/// The card of the client called by a call to the clerk's counter: name, identification level
/// and open cases. Recorded in the audit log as a read of the client's data.
#[utoipa::path(get, path = "/queue/calls/{id}/card", tag = "queue", params(("id" = i64, Path, description = "Call id")),
    responses((status = 200, body = CardView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 404, body = Problem, content_type = PJ, description = "no such call to the clerk's counter"),
        (status = 409, body = Problem, content_type = PJ, description = "no counter set")))]
pub async fn call_card(State(state): State<AppState>, s: SignedIn, Path(id): Path<i64>) -> Result<Json<CardView>, ApiError> {
    s.require(Permission::ReadClients)?;
    let staff = s.0.session.staff.id;
    let actor = s.actor();
    let SignedIn(mut a) = s;
    let ring = a.tx.keyring(&state).await?;
    let card = counter::card(a.tx.tenant()?, &ring, &actor, staff, id, Utc::now()).await?;
    a.tx.commit().await?;
    Ok(Json(CardView {
        call: card.call.into(),
        client: card.client.map(|c| CardClientView {
            id: c.id,
            family_name: c.family_name,
            given_name: c.given_name,
            birth_date: c.birth_date,
            identification_level: c
                .identification_level
                .and_then(|l| serde_json::to_value(l).ok().and_then(|v| v.as_str().map(str::to_owned))),
            open_cases: c.open_cases.into_iter().map(Into::into).collect(),
        }),
    }))
}
