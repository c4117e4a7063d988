//! Durable, tenant-aware background jobs.
//!
//! A job is a row in its tenant's `job` table, written by [`enqueue`] inside the caller's
//! [`TenantTx`]: it commits with the change that causes it or not at all (the outbox
//! pattern). Keeping jobs in the tenant's own schema keeps all of a tenant's data together,
//! so Citus can distribute the schema as it is.
//!
//! A [`Worker`] claims a job (state `running`, a lease, attempts + 1) in a short
//! transaction, then runs the handler in a second transaction that first locks the row,
//! and marks the job done in that same transaction: a handler's database effects and the
//! job's completion commit together, exactly once. If the worker dies mid-job, its
//! transaction is rolled back by PostgreSQL, the lease runs out, and another worker runs
//! the job again. Failures retry with exponential backoff; a job that exhausts its attempts
//! (or fails permanently) is `dead`, where operators see it and can retry it.
//!
//! The worker is the one place that reads the clock and the tenant registry for jobs: a
//! handler gets both in its [`JobContext`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kapu_core::{CoreError, Db, Statement, Tenant, TenantSlug, TenantTx};
use serde::Serialize;
use sqlx::postgres::PgListener;
use thiserror::Error;
use tracing::{info, warn};

/// The notification channel on which enqueues announce their tenant.
pub const CHANNEL: &str = "kapu_jobs";

/// Errors of the job queue itself.
#[derive(Debug, Error)]
pub enum JobsError {
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Tenancy error.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A payload that does not serialise.
    #[error("job payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// No job with that id in that state.
    #[error("no dead job {0}")]
    NotDead(i64),
    /// Jobs were to run for a tenant the registry does not know.
    #[error("the tenant {0} is not in the registry")]
    UnknownTenant(String),
}

/// How a handler failed.
#[derive(Debug, Error)]
pub enum JobFailure {
    /// Worth trying again later (e.g. the other system is down).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (e.g. a malformed payload); the job goes dead at once.
    #[error("{0}")]
    Permanent(String),
}

/// Options for a new job.
#[derive(Clone, Debug)]
pub struct NewJob<'a, P: Serialize> {
    /// Handler name, e.g. `mail.send`.
    pub kind: &'a str,
    /// Input for the handler.
    pub payload: &'a P,
    /// Earliest start, `None` for now.
    pub run_at: Option<DateTime<Utc>>,
    /// How many attempts before the job is dead.
    pub max_attempts: i32,
}

/// How many attempts a job gets unless it says otherwise.
pub const DEFAULT_ATTEMPTS: i32 = 8;

impl<'a, P: Serialize> NewJob<'a, P> {
    /// A job to run now, with the default number of attempts ([`DEFAULT_ATTEMPTS`]).
    pub fn new(kind: &'a str, payload: &'a P) -> Self {
        Self { kind, payload, run_at: None, max_attempts: DEFAULT_ATTEMPTS }
    }
}

/// Adds a job in the caller's transaction. Returns its id.
pub async fn enqueue<P: Serialize>(tx: &mut TenantTx, job: NewJob<'_, P>) -> Result<i64, JobsError> {
    let statement = enqueue_statement(tx.slug(), job)?;
    let rows = tx.run(&[statement]).await?;
    let row = rows.first().and_then(|r| r.first()).ok_or(JobsError::Core(CoreError::Database(sqlx::Error::RowNotFound)))?;
    Ok(sqlx::Row::try_get(row, 0)?)
}

/// The statement that adds `job` for the tenant `slug` and wakes the workers (its one row
/// is the job's id), for a caller that sends it with its other writes.
pub fn enqueue_statement<P: Serialize>(slug: &TenantSlug, job: NewJob<'_, P>) -> Result<Statement, JobsError> {
    enqueue_all_statement(slug, &[job])
}

/// The statement that adds `jobs`, in order, for the tenant `slug` and wakes the workers
/// once (its rows are the jobs' ids), for a caller that sends it with its other writes:
/// enqueueing is on the path of every submission, while the case number counter is locked.
pub fn enqueue_all_statement<P: Serialize>(slug: &TenantSlug, jobs: &[NewJob<'_, P>]) -> Result<Statement, JobsError> {
    let int = |v: Vec<i32>| sea_query::Value::Array(sea_query::ArrayType::Int, Some(Box::new(v.into_iter().map(Into::into).collect())));
    let mut payloads = Vec::with_capacity(jobs.len());
    for j in jobs {
        payloads.push(Some(serde_json::to_string(j.payload)?));
    }
    Ok(Statement::new(
        "WITH j AS (INSERT INTO job (kind, payload, run_at, max_attempts)
                    SELECT k, p, COALESCE(r, now()), m
                    FROM unnest(CAST($1 AS text[]), CAST($2 AS jsonb[]), CAST($3 AS timestamptz[]), CAST($4 AS integer[])) AS x(k, p, r, m)
                    RETURNING id)
         SELECT j.id FROM j, pg_notify($5, $6)",
        [
            kapu_core::text_array(jobs.iter().map(|j| Some(j.kind))),
            kapu_core::text_array(payloads),
            kapu_core::text_array(jobs.iter().map(|j| j.run_at.map(|t| t.to_rfc3339()))),
            int(jobs.iter().map(|j| j.max_attempts).collect()),
            CHANNEL.into(),
            slug.as_str().into(),
        ],
    ))
}

/// How many jobs of `kind` are waiting or running, not counting job `except` (for a job
/// that schedules its own next run and must not start a second chain).
pub async fn count_open(tx: &mut TenantTx, kind: &str, except: Option<i64>) -> Result<i64, JobsError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM job WHERE kind = $1 AND state IN ('pending', 'running') AND id IS DISTINCT FROM $2")
        .bind(kind)
        .bind(except)
        .fetch_one(tx.conn())
        .await?)
}

/// The payload of a waiting or running job of `kind` whose payload contains `matching`
/// (JSON containment, `@>`), if there is one.
pub async fn find_open(tx: &mut TenantTx, kind: &str, matching: &serde_json::Value) -> Result<Option<serde_json::Value>, JobsError> {
    Ok(sqlx::query_scalar("SELECT payload FROM job WHERE kind = $1 AND state IN ('pending', 'running') AND payload @> $2 LIMIT 1")
        .bind(kind)
        .bind(matching)
        .fetch_optional(tx.conn())
        .await?)
}

/// The ids and payloads of every job of `kind`, in whatever state, locked until the
/// transaction ends: for moving payloads to a new format (e.g. sealing them).
pub async fn payloads_for_update(tx: &mut TenantTx, kind: &str) -> Result<Vec<(i64, serde_json::Value)>, JobsError> {
    Ok(sqlx::query_as("SELECT id, payload FROM job WHERE kind = $1 ORDER BY id FOR UPDATE").bind(kind).fetch_all(tx.conn()).await?)
}

/// Replaces a job's payload (see [`payloads_for_update`]).
pub async fn set_payload(tx: &mut TenantTx, id: i64, payload: &serde_json::Value) -> Result<(), JobsError> {
    sqlx::query("UPDATE job SET payload = $2 WHERE id = $1").bind(id).bind(payload).execute(tx.conn()).await?;
    Ok(())
}

/// Deletes the finished (`done`) jobs of `kind`: for a job that schedules its own next run
/// every few seconds, whose finished runs say nothing an operator needs.
pub async fn purge_done(tx: &mut TenantTx, kind: &str) -> Result<u64, JobsError> {
    Ok(sqlx::query("DELETE FROM job WHERE kind = $1 AND state = 'done'").bind(kind).execute(tx.conn()).await?.rows_affected())
}

/// The jobs of `kinds` that are not done (waiting, running or dead) whose payload contains
/// any of `matching` (JSON containment, `@>`), oldest first: the work still open for one
/// subject, e.g. a case.
pub async fn open_matching(tx: &mut TenantTx, kinds: &[&str], matching: &[serde_json::Value]) -> Result<Vec<JobInfo>, JobsError> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    Ok(sqlx::query_as(
        "SELECT id, kind, state, attempts, max_attempts, run_at, last_error, created_at FROM job
         WHERE kind = ANY($1) AND state <> 'done' AND EXISTS (SELECT 1 FROM unnest($2::jsonb[]) m WHERE payload @> m)
         ORDER BY id",
    )
    .bind(&kinds)
    .bind(matching)
    .fetch_all(tx.conn())
    .await?)
}

/// The newest job of `kind` whose payload contains `matching`, in whatever state, for showing
/// where a piece of work stands (waiting, retrying with its last error, dead).
pub async fn latest(tx: &mut TenantTx, kind: &str, matching: &serde_json::Value) -> Result<Option<JobInfo>, JobsError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, state, attempts, max_attempts, run_at, last_error, created_at FROM job
         WHERE kind = $1 AND payload @> $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .bind(matching)
    .fetch_optional(tx.conn())
    .await?)
}

/// A job as a handler sees it.
#[derive(Clone, Debug)]
pub struct Job {
    /// Row id within the tenant.
    pub id: i64,
    /// Handler name.
    pub kind: String,
    /// Input.
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
}

/// Where a job's handler takes the time from: the system's clock, or for tests a fixed time.
/// Only the worker reads it; handlers get its reading in [`JobContext::now`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system's clock.
    #[default]
    System,
    /// Always this time (for tests).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The current time by this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(at) => *at,
        }
    }
}

/// What the worker tells a handler besides the job: the time and the tenant, so that no
/// handler reads the clock or the tenant registry itself.
#[derive(Clone, Copy, Debug)]
pub struct JobContext<'a> {
    /// When this attempt started, by the worker's clock: the time of everything the attempt
    /// writes and schedules.
    pub now: DateTime<Utc>,
    /// The job's tenant as the registry had it when the worker began running the tenant's
    /// due jobs (name, settings, origin).
    pub tenant: &'a Tenant,
    /// The worker's clock, for the one kind of stamp that must say when something happened
    /// later in the attempt: a failed call to another system, recorded for the admin after a
    /// call that may have taken up to its timeout. Everything else uses `now`.
    pub clock: Clock,
}

/// Runs one kind of job. The handler gets the job's own transaction: what it writes commits
/// together with the job's completion.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    /// Does the work, at the time and for the tenant `ctx` names.
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure>;
}

/// A job's row, for operators.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct JobInfo {
    /// Id.
    pub id: i64,
    /// Handler name.
    pub kind: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Next run.
    pub run_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

/// Jobs in a state, newest first.
pub async fn list(tx: &mut TenantTx, state: Option<&str>, limit: i64) -> Result<Vec<JobInfo>, JobsError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, state, attempts, max_attempts, run_at, last_error, created_at FROM job
         WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(state)
    .bind(limit.clamp(1, 500))
    .fetch_all(tx.conn())
    .await?)
}

/// Counts of pending (including running) and dead jobs.
pub async fn counts(tx: &mut TenantTx) -> Result<(i64, i64), JobsError> {
    Ok(sqlx::query_as("SELECT count(*) FILTER (WHERE state IN ('pending', 'running')), count(*) FILTER (WHERE state = 'dead') FROM job")
        .fetch_one(tx.conn())
        .await?)
}

/// Puts a dead job back in the queue with a fresh set of attempts.
pub async fn retry_dead(tx: &mut TenantTx, id: i64) -> Result<(), JobsError> {
    let n =
        sqlx::query("UPDATE job SET state = 'pending', attempts = 0, run_at = now(), last_error = NULL WHERE id = $1 AND state = 'dead'")
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if n == 0 {
        return Err(JobsError::NotDead(id));
    }
    let slug = tx.slug().to_string();
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(slug).execute(tx.conn()).await?;
    Ok(())
}

/// What running one job ended in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// Failed; will run again.
    Retrying,
    /// Failed for good.
    Dead,
    /// Another worker finished it first.
    Lost,
}

/// The longest wait between two attempts of a job, however many failed before.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claimed job is reserved before another worker may take it over.
    pub lease: Duration,
    /// First retry delay; doubles per attempt, up to [`MAX_BACKOFF`] (see
    /// [`WorkerConfig::retry_delay`]).
    pub backoff: Duration,
    /// How often to look for due jobs without a notification (retries, expired leases).
    pub poll: Duration,
}

impl Default for WorkerConfig {
    /// A five-minute lease, retries 10 s apart at first, a scan every 15 s. With these, a job
    /// of 20 attempts waits about eleven and a half hours in all before it is dead.
    fn default() -> Self {
        Self { lease: Duration::from_secs(300), backoff: Duration::from_secs(10), poll: Duration::from_secs(15) }
    }
}

impl WorkerConfig {
    /// The wait after the `attempt`-th attempt failed (attempts count from 1): `backoff`,
    /// doubled for each attempt after the first, at most [`MAX_BACKOFF`].
    pub fn retry_delay(&self, attempt: i32) -> Duration {
        self.backoff.saturating_mul(1 << attempt.clamp(1, 16) >> 1).min(MAX_BACKOFF)
    }
}

/// Runs jobs of every tenant.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    handlers: Arc<HashMap<String, Arc<dyn JobHandler>>>,
    config: WorkerConfig,
    clock: Clock,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("kinds", &self.handlers.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with no handlers yet.
    pub fn new(db: Db, config: WorkerConfig) -> Self {
        Self { db, handlers: Arc::new(HashMap::new()), config, clock: Clock::System }
    }

    /// The clock whose time handlers get (the system's unless set; a fixed one for tests).
    /// The worker's own waiting and the database's `now()` (a job's `run_at`, leases,
    /// retries) stay on real time.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Registers the handler of one job kind.
    pub fn handle(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Self {
        Arc::make_mut(&mut self.handlers).insert(kind.to_owned(), handler);
        self
    }

    /// Runs until `shutdown` resolves. Wakes on enqueue notifications, when a job it saw
    /// scheduled for later (e.g. a self-scheduling job's next run, a retry) falls due, and
    /// polls every `poll` for the rest (jobs other workers scheduled, expired leases).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<(), JobsError> {
        let mut listener = PgListener::connect_with(self.db.pool()).await?;
        listener.listen(CHANNEL).await?;
        tokio::pin!(shutdown);
        let mut ready: BTreeSet<String> = self.all_tenants().await?;
        // The next run of each tenant's waiting jobs, as seen after draining it.
        let mut due: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut tick = tokio::time::interval(self.config.poll);
        loop {
            while let Some(slug) = ready.pop_first() {
                if let Err(e) = self.drain(&slug).await {
                    // Left to the next poll rather than retried at once.
                    warn!(tenant = %slug, error = %e, "job run failed");
                    due.remove(&slug);
                    continue;
                }
                match self.next_run(&slug).await {
                    Ok(Some(at)) => {
                        due.insert(slug, at);
                    }
                    Ok(None) => {
                        due.remove(&slug);
                    }
                    Err(e) => warn!(tenant = %slug, error = %e, "could not read the next job run"),
                }
            }
            // Sleep until the earliest known run, at most one poll interval and at least a
            // moment (the database's clock may lag this machine's a little).
            let wait = due
                .values()
                .min()
                .map(|at| (*at - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(self.config.poll)
                .clamp(Duration::from_millis(20), self.config.poll.max(Duration::from_millis(20)));
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                n = listener.recv() => { ready.insert(n?.payload().to_owned()); }
                _ = tick.tick() => { ready = self.all_tenants().await?; }
                () = tokio::time::sleep(wait) => {
                    let now = Utc::now();
                    ready.extend(due.iter().filter(|(_, at)| **at <= now).map(|(slug, _)| slug.clone()));
                }
            }
        }
    }

    /// When the tenant's next waiting job is due, if it has one.
    async fn next_run(&self, slug: &str) -> Result<Option<DateTime<Utc>>, JobsError> {
        let slug = TenantSlug::parse(slug)?;
        let mut tx = self.db.tenant_tx_for(&slug).await?;
        let at: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT min(run_at) FROM job WHERE state = 'pending'").fetch_one(tx.conn()).await?;
        tx.commit().await?;
        Ok(at)
    }

    async fn all_tenants(&self) -> Result<BTreeSet<String>, JobsError> {
        Ok(sqlx::query_scalar("SELECT slug FROM kapu.tenant WHERE status = 'active'")
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .collect())
    }

    /// The tenant's registry entry, read once before running its due jobs.
    async fn tenant(&self, slug: &TenantSlug) -> Result<Tenant, JobsError> {
        let mut conn = self.db.pool().acquire().await?;
        kapu_core::find_tenant_by_slug(&mut conn, slug.as_str()).await?.ok_or_else(|| JobsError::UnknownTenant(slug.to_string()))
    }

    /// Runs a tenant's due jobs until none is left.
    pub async fn drain(&self, slug: &str) -> Result<usize, JobsError> {
        let tenant = self.tenant(&TenantSlug::parse(slug)?).await?;
        let mut n = 0;
        while self.run_next(&tenant).await?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// Claims and runs one due job of the tenant, if there is one.
    pub async fn run_one(&self, slug: &TenantSlug) -> Result<Option<(i64, Outcome)>, JobsError> {
        let tenant = self.tenant(slug).await?;
        self.run_next(&tenant).await
    }

    async fn run_next(&self, tenant: &Tenant) -> Result<Option<(i64, Outcome)>, JobsError> {
        let slug = &tenant.slug;
        let lease = interval(self.config.lease);
        let mut tx = self.db.tenant_tx_for(slug).await?;
        let claimed: Option<(i64, String, serde_json::Value, i32, i32)> = sqlx::query_as(
            "UPDATE job SET state = 'running', attempts = attempts + 1, locked_until = now() + $1::interval
             WHERE id = (SELECT id FROM job
                         WHERE (state = 'pending' AND run_at <= now()) OR (state = 'running' AND locked_until < now())
                         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, payload, attempts, max_attempts",
        )
        .bind(&lease)
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        let Some((id, kind, payload, attempt, max_attempts)) = claimed else {
            return Ok(None);
        };
        let job = Job { id, kind, payload, attempt };
        if attempt > max_attempts {
            // Claimed again after earlier attempts died with their worker.
            self.fail(slug, &job, &JobFailure::Permanent("the worker died during every attempt".into()), true).await?;
            return Ok(Some((id, Outcome::Dead)));
        }
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            let failure = JobFailure::Permanent(format!("no handler for job kind {:?}", job.kind));
            self.fail(slug, &job, &failure, true).await?;
            return Ok(Some((id, Outcome::Dead)));
        };
        let mut tx = self.db.tenant_tx_for(slug).await?;
        // Wait for any earlier holder of this job to finish, then make sure we still own it.
        let still_ours: Option<i64> =
            sqlx::query_scalar("SELECT id FROM job WHERE id = $1 AND state = 'running' AND attempts = $2 FOR UPDATE")
                .bind(id)
                .bind(attempt)
                .fetch_optional(tx.conn())
                .await?;
        if still_ours.is_none() {
            return Ok(Some((id, Outcome::Lost)));
        }
        let ctx = JobContext { now: self.clock.now(), tenant, clock: self.clock };
        match handler.run(&job, &ctx, &mut tx).await {
            Ok(()) => {
                sqlx::query("UPDATE job SET state = 'done', finished_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .execute(tx.conn())
                    .await?;
                tx.commit().await?;
                info!(tenant = %slug, job = id, kind = %job.kind, attempt, "job done");
                Ok(Some((id, Outcome::Done)))
            }
            Err(failure) => {
                tx.rollback().await?;
                let dead = matches!(failure, JobFailure::Permanent(_)) || attempt >= max_attempts;
                self.fail(slug, &job, &failure, dead).await?;
                Ok(Some((id, if dead { Outcome::Dead } else { Outcome::Retrying })))
            }
        }
    }

    async fn fail(&self, slug: &TenantSlug, job: &Job, failure: &JobFailure, dead: bool) -> Result<(), JobsError> {
        let delay = self.config.retry_delay(job.attempt);
        let mut tx = self.db.tenant_tx_for(slug).await?;
        sqlx::query(
            "UPDATE job SET state = $3, run_at = now() + $4::interval, last_error = $5, locked_until = NULL
             WHERE id = $1 AND attempts = $2",
        )
        .bind(job.id)
        .bind(job.attempt)
        .bind(if dead { "dead" } else { "pending" })
        .bind(interval(delay))
        .bind(failure.to_string())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        warn!(tenant = %slug, job = job.id, kind = %job.kind, attempt = job.attempt, dead, error = %failure, "job failed");
        Ok(())
    }
}

fn interval(d: Duration) -> String {
    format!("{} milliseconds", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_from_the_first_up_to_an_hour() {
        let config = WorkerConfig::default();
        let waits: Vec<u64> = (1..=11).map(|a| config.retry_delay(a).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(config.retry_delay(i32::MAX), MAX_BACKOFF);
        assert_eq!(config.retry_delay(0), config.backoff, "an attempt number below 1 counts as the first");
    }

    #[test]
    fn twenty_attempts_wait_about_half_a_day() {
        // What `kapu_cases::LOCAL_ATTEMPTS` and `kapu_delivery::ISSUE_ATTEMPTS` promise: the
        // waits between 20 attempts (after each of the first 19) with the default backoff.
        let total: Duration = (1..20).map(|a| WorkerConfig::default().retry_delay(a)).sum();
        assert_eq!(total.as_secs(), 41_110);
        assert!((11 * 3600..12 * 3600).contains(&total.as_secs()), "{total:?}");
    }
}
