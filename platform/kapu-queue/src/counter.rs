//! The clerk's side of the queue system: tickets issued for clients, the counter a clerk sits
//! at, the clerk's own "call next", the calls to that counter and the called client's card.
//!
//! The calls carry no personal data (ticket, display number, whether a client is tied to it);
//! the card does, so opening it reads the client through `kapu_clients::get`, which writes
//! the audit record, and only the clerk sitting at the counter the ticket was called to may
//! open it.

use chrono::{DateTime, Utc};
use kapu_audit::{Actor, AuditEvent};
use kapu_cases::CaseSummary;
use kapu_clients::Access;
use kapu_clients::account::IdentificationLevel;
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use kapu_plugins::installation::{self, Plugins};
use kapu_plugins::queue::Ticket;
use kapu_plugins::{PluginError, World};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::feed::{self, FeedStatus};
use crate::{NO_QUEUE_PLUGIN, QueueError, check_counter, check_service, invalid};

/// How many recent calls the counter page lists.
const RECENT_CALLS: i64 = 10;

/// A ticket to issue: for a service, optionally for a client.
#[derive(Clone, Debug)]
pub struct NewTicket {
    /// The queue system's service code, e.g. `A`.
    pub service: String,
    /// The client the ticket is for, if any.
    pub client_id: Option<Uuid>,
}

/// A ticket Kapu issued.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedTicket {
    /// The queue system's ticket id.
    pub ticket_id: String,
    /// The number shown to the client, e.g. `A042`.
    pub display_number: String,
    /// The service's code.
    pub service: String,
    /// The client it is for.
    pub client_id: Option<Uuid>,
    /// When Kapu recorded it.
    pub issued_at: DateTime<Utc>,
}

/// A ticket called to a counter, without personal data.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// Id (rises with each call).
    pub id: i64,
    /// The queue system's ticket id.
    pub ticket_id: String,
    /// The number shown to the client, when Kapu issued the ticket (else the ticket id).
    pub display_number: String,
    /// The service, when Kapu issued the ticket.
    pub service: Option<String>,
    /// The counter it was called to.
    pub counter: String,
    /// When.
    pub called_at: DateTime<Utc>,
    /// Whether a client is tied to the ticket (then the card can be opened).
    pub has_client: bool,
    /// Whether the clerk's own button made the call (else the queue system's feed brought it).
    pub from_button: bool,
}

/// The counter page: the plugin, the clerk's counter, the feed and the latest calls there.
#[derive(Clone, Debug, Serialize)]
pub struct CounterView {
    /// The tenant's queue plugin; `None` when there is none (then nothing else is filled).
    pub plugin: Option<String>,
    /// The counter the clerk sits at.
    pub counter: Option<String>,
    /// The feed, when there is a plugin.
    pub feed: Option<FeedStatus>,
    /// The latest calls to the clerk's counter, newest first.
    pub calls: Vec<Call>,
}

/// The called client's card.
#[derive(Clone, Debug, Serialize)]
pub struct Card {
    /// The call.
    pub call: Call,
    /// The client, when the ticket is tied to one.
    pub client: Option<CardClient>,
}

/// What the clerk sees of the called client.
#[derive(Clone, Debug, Serialize)]
pub struct CardClient {
    /// Id.
    pub id: Uuid,
    /// Family name.
    pub family_name: String,
    /// Given name(s).
    pub given_name: String,
    /// Birth date.
    pub birth_date: chrono::NaiveDate,
    /// The highest identification level of the client's portal accounts; `None` without one.
    pub identification_level: Option<IdentificationLevel>,
    /// The client's open cases.
    pub open_cases: Vec<CaseSummary>,
}

async fn plugin(tx: &mut TenantTx) -> Result<String, QueueError> {
    installation::of_world(tx, World::Queue).await?.ok_or_else(|| QueueError::NoPlugin(NO_QUEUE_PLUGIN.to_owned()))
}

/// A plugin failure as the clerk is told: a failed call (the queue system is down or
/// refused) or a broken plugin, in the host's words.
fn failed(e: PluginError) -> QueueError {
    match e {
        PluginError::NotInstalled(_) => QueueError::NoPlugin(NO_QUEUE_PLUGIN.to_owned()),
        e @ (PluginError::Db(_) | PluginError::Core(_)) => QueueError::Plugin(e),
        e => QueueError::QueueSystem(e.to_string()),
    }
}

/// The counter `staff` sits at.
pub async fn seat(tx: &mut TenantTx, staff: Uuid) -> Result<Option<String>, QueueError> {
    Ok(sqlx::query_scalar("SELECT counter FROM queue_seat WHERE staff_id = $1").bind(staff).fetch_optional(tx.conn()).await?)
}

/// Records that `staff` sits at `counter` (until changed), and starts following the queue
/// system's feed if the tenant has a queue plugin.
pub async fn set_seat(tx: &mut TenantTx, staff: Uuid, counter: &str, now: DateTime<Utc>) -> Result<(), QueueError> {
    check_counter(counter)?;
    plugin(tx).await?;
    sqlx::query("INSERT INTO queue_seat (staff_id, counter, since) VALUES ($1, $2, $3) ON CONFLICT (staff_id) DO UPDATE SET counter = $2, since = $3")
        .bind(staff)
        .bind(counter)
        .bind(now)
        .execute(tx.conn())
        .await?;
    feed::ensure_running(tx).await
}

const CALL: &str = "SELECT c.id, c.ticket_id, coalesce(t.display_number, c.ticket_id) AS display_number, t.service, c.counter,
    c.called_at, t.client_id IS NOT NULL AS has_client, c.called_by IS NOT NULL AS from_button
    FROM queue_call c LEFT JOIN queue_ticket t ON t.ticket_id = c.ticket_id";

fn call(row: &sqlx::postgres::PgRow) -> Result<Call, sqlx::Error> {
    Ok(Call {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        display_number: row.try_get("display_number")?,
        service: row.try_get("service")?,
        counter: row.try_get("counter")?,
        called_at: row.try_get("called_at")?,
        has_client: row.try_get("has_client")?,
        from_button: row.try_get("from_button")?,
    })
}

/// The counter page of `staff`. While a clerk with a counter has it open, the feed is kept
/// running (restarted if it stopped, e.g. after its plugin was reinstalled).
pub async fn view(tx: &mut TenantTx, staff: Uuid) -> Result<CounterView, QueueError> {
    let Some(plugin) = installation::of_world(tx, World::Queue).await? else {
        return Ok(CounterView { plugin: None, counter: None, feed: None, calls: vec![] });
    };
    let counter = seat(tx, staff).await?;
    if counter.is_some() {
        feed::ensure_running(tx).await?;
    }
    let calls = match &counter {
        Some(c) => sqlx::query(&format!("{CALL} WHERE c.counter = $1 ORDER BY c.id DESC LIMIT $2"))
            .bind(c)
            .bind(RECENT_CALLS)
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(call)
            .collect::<Result<_, _>>()?,
        None => vec![],
    };
    Ok(CounterView { plugin: Some(plugin), counter, feed: Some(feed::status(tx).await?), calls })
}

/// Issues a ticket through the tenant's queue plugin and records it (tied to the client, if
/// given). The client must exist before the queue system is asked; a queue system that
/// fails leaves nothing recorded.
pub async fn issue_ticket(
    tx: &mut TenantTx,
    plugins: &Plugins,
    actor: &Actor,
    new: NewTicket,
    now: DateTime<Utc>,
) -> Result<IssuedTicket, QueueError> {
    check_service(&new.service)?;
    let name = plugin(tx).await?;
    if let Some(client) = new.client_id
        && !kapu_clients::account::client_exists(tx, client).await?
    {
        return Err(invalid("client_id", Refusal::UnknownClient));
    }
    let slug = tx.slug().clone();
    let ticket: Ticket = call_plugin(plugins, &slug, &name, "issue-ticket", now, async |rt, p, ctx| {
        rt.queue_issue_ticket(p, ctx, new.service.clone()).await
    })
    .await?;
    sqlx::query(
        "INSERT INTO queue_ticket (ticket_id, display_number, service, client_id, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&ticket.ticket_id)
    .bind(&ticket.display_number)
    .bind(&ticket.service)
    .bind(new.client_id)
    .bind(actor.id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    if let Some(client) = new.client_id {
        kapu_audit::record(
            tx,
            AuditEvent {
                actor,
                action: "queue.ticket_issued",
                subject_client_id: Some(client),
                reason: "sorszám az ügyfélhívóból",
                details: serde_json::json!({ "ticket_id": ticket.ticket_id, "service": ticket.service }),
            },
            now,
        )
        .await?;
    }
    feed::ensure_running(tx).await?;
    Ok(IssuedTicket {
        ticket_id: ticket.ticket_id,
        display_number: ticket.display_number,
        service: ticket.service,
        client_id: new.client_id,
        issued_at: now,
    })
}

/// The clerk's "call next" button: calls the next waiting ticket to the clerk's counter
/// through the plugin and records the call at once (the feed's event for it is matched with
/// it later, not shown again). `None` when nobody waits.
pub async fn call_next(tx: &mut TenantTx, plugins: &Plugins, staff: Uuid, now: DateTime<Utc>) -> Result<Option<Call>, QueueError> {
    let name = plugin(tx).await?;
    let counter = seat(tx, staff).await?.ok_or(QueueError::NoCounter)?;
    let slug = tx.slug().clone();
    let c = counter.clone();
    // A feed read running now could fetch this call's event before the call below is
    // committed, miss it, and show the call twice; holding the feed's lock makes it wait.
    feed::lock(tx).await?;
    let called: Option<Ticket> =
        call_plugin(plugins, &slug, &name, "call-next", now, async |rt, p, ctx| rt.queue_call_next(p, ctx, c).await).await?;
    let Some(ticket) = called else {
        return Ok(None);
    };
    let id: i64 =
        sqlx::query_scalar("INSERT INTO queue_call (ticket_id, counter, called_at, called_by) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(&ticket.ticket_id)
            .bind(&counter)
            .bind(now)
            .bind(staff)
            .fetch_one(tx.conn())
            .await?;
    sqlx::query("UPDATE queue_ticket SET state = 'called' WHERE ticket_id = $1 AND state = 'waiting'")
        .bind(&ticket.ticket_id)
        .execute(tx.conn())
        .await?;
    feed::ensure_running(tx).await?;
    let row = sqlx::query(&format!("{CALL} WHERE c.id = $1")).bind(id).fetch_one(tx.conn()).await?;
    Ok(Some(call(&row)?))
}

/// Runs one call of the tenant's queue plugin; a failure is recorded for the plugin's admin.
async fn call_plugin<R>(
    plugins: &Plugins,
    slug: &kapu_core::TenantSlug,
    name: &str,
    function: &str,
    now: DateTime<Utc>,
    f: impl AsyncFnOnce(&kapu_plugins::Runtime, &kapu_plugins::Plugin, kapu_plugins::CallContext) -> kapu_plugins::Called<R>,
) -> Result<R, QueueError> {
    let result = match plugins.context(slug, name).await {
        Ok((plugin, ctx)) => f(plugins.runtime(), &plugin, ctx).await.result,
        Err(e) => Err(e),
    };
    if let Err(e) = &result
        && !matches!(e, PluginError::NotInstalled(_))
    {
        plugins.record_failure(slug, name, function, e, now).await;
    }
    result.map_err(failed)
}

/// Opens the card of the client called by call `id`: only for the clerk sitting at the
/// counter it was called to. Reading the client is audited (`client.read`, with the ticket
/// and counter as the purpose); a ticket without a client gives the call alone.
pub async fn card(tx: &mut TenantTx, ring: &Keyring, actor: &Actor, staff: Uuid, id: i64, now: DateTime<Utc>) -> Result<Card, QueueError> {
    let counter = seat(tx, staff).await?.ok_or(QueueError::NoCounter)?;
    let row = sqlx::query(&format!("{CALL} WHERE c.id = $1 AND c.counter = $2"))
        .bind(id)
        .bind(&counter)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(QueueError::NoSuchCall(id))?;
    let call = call(&row)?;
    let client_id = sqlx::query_scalar::<_, Option<Uuid>>("SELECT client_id FROM queue_ticket WHERE ticket_id = $1")
        .bind(&call.ticket_id)
        .fetch_optional(tx.conn())
        .await?
        .flatten();
    let Some(client_id) = client_id else {
        return Ok(Card { call, client: None });
    };
    let reason = format!("ügyfélhívó: a(z) {} sorszám hívása a(z) {}. ablakhoz", call.display_number, call.counter);
    let Some(client) = kapu_clients::get(tx, ring, Access { actor, reason: &reason }, client_id, now).await? else {
        return Ok(Card { call, client: None });
    };
    let identification_level = kapu_clients::account::identification_level_of(tx, client_id).await?;
    let open_cases = kapu_cases::open_cases_of_client(tx, client_id, now).await?;
    Ok(Card {
        call,
        client: Some(CardClient {
            id: client.id,
            family_name: client.identity.family_name,
            given_name: client.identity.given_name,
            birth_date: client.identity.birth_date,
            identification_level,
            open_cases,
        }),
    })
}
