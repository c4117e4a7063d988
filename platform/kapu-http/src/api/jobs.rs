//! Background jobs of the tenant, for admins: the queue and its dead letters.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kapu_core::Refusal;
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// A background job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Id.
    pub id: i64,
    /// Kind, e.g. `mail.send`.
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
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
}

impl From<kapu_jobs::JobInfo> for JobView {
    fn from(j: kapu_jobs::JobInfo) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            last_error: j.last_error,
            created_at: j.created_at,
        }
    }
}

/// Jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// Newest first.
    pub jobs: Vec<JobView>,
}

/// Filter for the job list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct JobQuery {
    /// Only jobs in this state.
    #[param(schema_with = job_state)]
    pub state: Option<String>,
    /// At most this many (default 100; less than 1 counts as 1, more than 500 as 500).
    pub limit: Option<i64>,
}

/// A job's state, as the filter takes it.
fn job_state() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["pending", "running", "done", "dead"]))
        .description(Some("Only jobs in this state."))
        .build()
}

/// The tenant's background jobs.
#[utoipa::path(get, path = "/jobs", tag = "tenant", params(JobQuery),
    responses((status = 200, body = JobList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_jobs(s: SignedIn, Query(q): Query<JobQuery>) -> Result<Json<JobList>, ApiError> {
    s.require(Permission::ManageJobs)?;
    if let Some(st) = q.state.as_deref()
        && !matches!(st, "pending" | "running" | "done" | "dead")
    {
        return Err(ApiError::field(
            "state",
            Refusal::NotInList { allowed: ["pending", "running", "done", "dead"].map(String::from).to_vec() },
        ));
    }
    let SignedIn(mut a) = s;
    let jobs = kapu_jobs::list(a.tx.tenant()?, q.state.as_deref(), q.limit.unwrap_or(100)).await?;
    a.tx.commit().await?;
    Ok(Json(JobList { jobs: jobs.into_iter().map(JobView::from).collect() }))
}

/// Put a dead job back in the queue.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "tenant", params(("id" = i64, Path, description = "Job id")),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn retry_job(s: SignedIn, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    s.require(Permission::ManageJobs)?;
    let SignedIn(mut a) = s;
    match kapu_jobs::retry_dead(a.tx.tenant()?, id).await {
        Ok(()) => {}
        Err(kapu_jobs::JobsError::NotDead(_)) => return Err(ApiError::NotFound(format!("there is no dead job {id}"))),
        Err(e) => return Err(e.into()),
    }
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
