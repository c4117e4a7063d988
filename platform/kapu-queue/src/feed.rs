//! Following the queue system's event stream. [`FEED_JOB`] runs per tenant with a queue
//! plugin: it locks the feed row, asks the plugin for the events after the stored cursor,
//! stores them, applies them (calls to counters, finished tickets) and advances the cursor in
//! the job's own transaction, so an event is stored exactly once or the whole read rolls
//! back and is repeated. Then it schedules its next run: after [`FeedSettings::interval`],
//! at once if the batch was full, or after a back-off that doubles with each failed read
//! (up to [`FeedSettings::max_backoff`]) while the queue system is down. A failed read is
//! recorded on the feed row (when, and the plugin's words) and for the plugin's admin.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kapu_core::TenantTx;
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler, NewJob};
use kapu_plugins::installation::{self, Plugins};
use kapu_plugins::queue::{Event, EventKind};
use kapu_plugins::{PluginError, World};
use serde::Serialize;
use sqlx::Row;

use crate::QueueError;

/// The job that reads the queue system's events.
pub const FEED_JOB: &str = "queue.feed";

/// How the feed job paces itself.
#[derive(Clone, Debug)]
pub struct FeedSettings {
    /// Between reads while the queue system answers.
    pub interval: Duration,
    /// The longest wait between reads while it does not.
    pub max_backoff: Duration,
    /// Events asked for per read (1 to 500).
    pub batch: u32,
}

impl Default for FeedSettings {
    /// A read every 2 s while the queue system answers, backing off to one every five
    /// minutes while it does not; 100 events a read.
    fn default() -> Self {
        Self { interval: Duration::from_secs(2), max_backoff: Duration::from_secs(300), batch: 100 }
    }
}

impl FeedSettings {
    /// The wait after the `failures`-th failed read in a row: the interval doubled per
    /// failure, at most `max_backoff`.
    pub fn backoff(&self, failures: i32) -> Duration {
        let doublings = u32::try_from(failures.clamp(0, 20)).unwrap_or(0);
        self.interval.saturating_mul(1u32 << doublings).min(self.max_backoff.max(self.interval))
    }
}

/// Where the feed stands, for the clerk and the operator.
#[derive(Clone, Debug, Serialize)]
pub struct FeedStatus {
    /// The position after which the next read asks for events.
    pub cursor: i64,
    /// When a read last succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last read failed (the plugin's or queue system's words, no personal data).
    pub last_error: Option<String>,
    /// When a read last failed.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failed reads since the last successful one.
    pub failures: i32,
    /// Whether the feed is behind: its latest read failed, so calls may be waiting in the
    /// queue system that Kapu has not seen yet.
    pub behind: bool,
    /// Whether a read is scheduled (the feed job is waiting or running).
    pub scheduled: bool,
}

/// The feed's state.
pub async fn status(tx: &mut TenantTx) -> Result<FeedStatus, QueueError> {
    let row =
        sqlx::query("SELECT cursor, last_success_at, last_error, last_error_at, failures FROM queue_feed").fetch_one(tx.conn()).await?;
    let last_success_at: Option<DateTime<Utc>> = row.try_get("last_success_at")?;
    let last_error_at: Option<DateTime<Utc>> = row.try_get("last_error_at")?;
    let failures: i32 = row.try_get("failures")?;
    Ok(FeedStatus {
        cursor: row.try_get("cursor")?,
        last_success_at,
        last_error: row.try_get("last_error")?,
        last_error_at,
        failures,
        behind: failures > 0,
        scheduled: kapu_jobs::count_open(tx, FEED_JOB, None).await? > 0,
    })
}

/// Starts the feed job unless it is waiting or running (in the caller's transaction).
pub async fn ensure_running(tx: &mut TenantTx) -> Result<(), QueueError> {
    if kapu_jobs::count_open(tx, FEED_JOB, None).await? == 0 {
        kapu_jobs::enqueue(tx, NewJob { max_attempts: 100, ..NewJob::new(FEED_JOB, &serde_json::json!({})) }).await?;
    }
    Ok(())
}

async fn schedule(tx: &mut TenantTx, at: DateTime<Utc>) -> Result<(), QueueError> {
    kapu_jobs::enqueue(tx, NewJob { run_at: Some(at), max_attempts: 100, ..NewJob::new(FEED_JOB, &serde_json::json!({})) }).await?;
    Ok(())
}

/// Locks the feed row and returns its cursor (one reader at a time; a call button holds it
/// too, so that no read sees the button's call in the queue system before its record).
pub(crate) async fn lock(tx: &mut TenantTx) -> Result<i64, QueueError> {
    Ok(sqlx::query_scalar("SELECT cursor FROM queue_feed FOR UPDATE").fetch_one(tx.conn()).await?)
}

fn kind_of(kind: &EventKind) -> (&'static str, Option<&str>) {
    match kind {
        EventKind::Issued => ("issued", None),
        EventKind::Called(counter) => ("called", Some(counter.as_str())),
        EventKind::Served => ("served", None),
        EventKind::NoShow => ("no_show", None),
    }
}

/// Stores `events` (after the locked cursor, rising, as the host checked), applies them and
/// advances the cursor to the last one, marking the read successful. A call is shown once:
/// a call the clerk's own button made is matched with its event instead of added again.
pub async fn store(tx: &mut TenantTx, events: &[Event], now: DateTime<Utc>) -> Result<(), QueueError> {
    for e in events {
        let cursor = i64::try_from(e.cursor).map_err(|_| QueueError::QueueSystem(format!("event position {} is too large", e.cursor)))?;
        let (kind, counter) = kind_of(&e.kind);
        if let Some(c) = counter {
            crate::check_counter(c).map_err(|_| QueueError::QueueSystem(format!("event {cursor} names a malformed counter")))?;
        }
        sqlx::query("INSERT INTO queue_event (cursor, ticket_id, kind, counter, at, received_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(cursor)
            .bind(&e.ticket_id)
            .bind(kind)
            .bind(counter)
            .bind(&e.at)
            .bind(now)
            .execute(tx.conn())
            .await?;
        match counter {
            Some(counter) => {
                let called_at = DateTime::parse_from_rfc3339(&e.at).map(|t| t.with_timezone(&Utc)).unwrap_or(now);
                let matched = sqlx::query(
                    "UPDATE queue_call SET event_cursor = $1
                     WHERE id = (SELECT id FROM queue_call WHERE ticket_id = $2 AND counter = $3 AND event_cursor IS NULL ORDER BY id LIMIT 1)",
                )
                .bind(cursor)
                .bind(&e.ticket_id)
                .bind(counter)
                .execute(tx.conn())
                .await?
                .rows_affected();
                if matched == 0 {
                    sqlx::query("INSERT INTO queue_call (ticket_id, counter, called_at, event_cursor) VALUES ($1, $2, $3, $4)")
                        .bind(&e.ticket_id)
                        .bind(counter)
                        .bind(called_at)
                        .bind(cursor)
                        .execute(tx.conn())
                        .await?;
                }
                sqlx::query("UPDATE queue_ticket SET state = 'called' WHERE ticket_id = $1 AND state = 'waiting'")
                    .bind(&e.ticket_id)
                    .execute(tx.conn())
                    .await?;
            }
            None if kind != "issued" => {
                sqlx::query("UPDATE queue_ticket SET state = $2 WHERE ticket_id = $1")
                    .bind(&e.ticket_id)
                    .bind(kind)
                    .execute(tx.conn())
                    .await?;
            }
            None => {}
        }
    }
    let last = events.last().and_then(|e| i64::try_from(e.cursor).ok());
    sqlx::query("UPDATE queue_feed SET cursor = COALESCE($1, cursor), last_success_at = $2, failures = 0")
        .bind(last)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records a failed read on the feed row; returns the number of failures in a row.
pub async fn record_failure(tx: &mut TenantTx, error: &str, now: DateTime<Utc>) -> Result<i32, QueueError> {
    let what: String = error.chars().take(500).collect();
    Ok(sqlx::query_scalar("UPDATE queue_feed SET last_error = $1, last_error_at = $2, failures = failures + 1 RETURNING failures")
        .bind(what)
        .bind(now)
        .fetch_one(tx.conn())
        .await?)
}

/// Runs [`FEED_JOB`]s: one read of the tenant's queue plugin, then the next run.
#[derive(Clone)]
pub struct FeedHandler {
    /// The plugin host and installations.
    pub plugins: Plugins,
    /// The pace.
    pub settings: FeedSettings,
}

impl std::fmt::Debug for FeedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedHandler").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl FeedHandler {
    async fn read(&self, tx: &mut TenantTx, job: &Job, now: DateTime<Utc>) -> Result<(), QueueError> {
        let slug = tx.slug().clone();
        let Some(name) = installation::of_world(tx, World::Queue).await? else {
            tracing::info!(tenant = %slug, "no queue plugin: the queue feed stops");
            return Ok(());
        };
        // Another chain waiting already (e.g. started while this run was claimed): it goes on.
        if kapu_jobs::count_open(tx, FEED_JOB, Some(job.id)).await? > 0 {
            return Ok(());
        }
        let cursor = lock(tx).await?;
        let batch = self.settings.batch.clamp(1, 500);
        let read = match self.plugins.context(&slug, &name).await {
            Ok((plugin, ctx)) => self.plugins.runtime().queue_events(&plugin, ctx, u64::try_from(cursor).unwrap_or(0), batch).await.result,
            Err(e) => Err(e),
        };
        let next = match read {
            Ok(events) => {
                let full = events.len() >= batch as usize;
                store(tx, &events, now).await?;
                if full { now } else { now + self.settings.interval }
            }
            Err(e) => {
                if !matches!(e, PluginError::NotInstalled(_)) {
                    self.plugins.record_failure(&slug, &name, "events", &e, now).await;
                }
                let failures = record_failure(tx, &e.to_string(), now).await?;
                tracing::warn!(tenant = %slug, plugin = %name, failures, error = %e, "the queue feed could not read");
                now + self.settings.backoff(failures)
            }
        };
        kapu_jobs::purge_done(tx, FEED_JOB).await?;
        schedule(tx, next).await
    }
}

#[async_trait::async_trait]
impl JobHandler for FeedHandler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        self.read(tx, job, ctx.now).await.map_err(|e| JobFailure::Retry(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let s = FeedSettings { interval: Duration::from_secs(2), max_backoff: Duration::from_secs(60), batch: 100 };
        let waits: Vec<u64> = (0..8).map(|f| s.backoff(f).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(s.backoff(i32::MAX), Duration::from_secs(60));
    }
}
