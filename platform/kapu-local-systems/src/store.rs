//! `case_local_task`: what the local systems answered per case and task, and the view of a
//! case's work that joins it with the case's open jobs.

use chrono::{DateTime, Utc};
use kapu_core::TenantTx;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{JOB_KINDS, LocalSystemsError, System, Task};

/// A stored answer.
pub(crate) struct Done<'a> {
    pub(crate) case_id: Uuid,
    pub(crate) task: Task,
    pub(crate) subject: &'a str,
    pub(crate) plugin: Option<&'a str>,
    pub(crate) reference: Option<&'a str>,
    pub(crate) detail: Value,
    pub(crate) at: DateTime<Utc>,
}

/// Records a task's answer (`plugin: None`: not installed). A second record of the same
/// task changes nothing.
pub(crate) async fn record(tx: &mut TenantTx, d: Done<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_local_task (case_id, task, subject, outcome, plugin, reference, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(d.case_id)
    .bind(d.task.as_str())
    .bind(d.subject)
    .bind(if d.plugin.is_some() { "done" } else { "not_installed" })
    .bind(d.plugin)
    .bind(d.reference)
    .bind(&d.detail)
    .bind(d.at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A task's stored answer: (installed, reference).
pub(crate) async fn answer(
    tx: &mut TenantTx,
    case_id: Uuid,
    task: Task,
    subject: &str,
) -> Result<Option<(bool, Option<String>)>, sqlx::Error> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT outcome, reference FROM case_local_task WHERE case_id = $1 AND task = $2 AND subject = $3")
            .bind(case_id)
            .bind(task.as_str())
            .bind(subject)
            .fetch_optional(tx.conn())
            .await?;
    Ok(row.map(|(o, r)| (o == "done", r)))
}

/// Where a piece of work stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    /// The system answered.
    Done,
    /// Waiting in the job queue (or running): not tried yet, or retrying after a failure.
    Pending,
    /// Failed for good (a dead job); the tenant's admin can retry it.
    Failed,
    /// The tenant has no plugin for the system: not attempted.
    NotInstalled,
}

/// One piece of a case's work in a local system.
#[derive(Clone, Debug, Serialize)]
pub struct LocalWork {
    /// `records`, `finance` or `parking`.
    pub system: System,
    /// `records.register`, `records.file`, `records.issue`, `finance.receivable`, `finance.payment` or `parking.submit`.
    pub task: &'static str,
    /// Where it stands.
    pub state: WorkState,
    /// The plugin that did it.
    pub plugin: Option<String>,
    /// What the system gave (arrival number, file number, posting id, permit id).
    pub reference: Option<String>,
    /// More of the answer, e.g. a permit's state and zone.
    pub detail: Value,
    /// When it was done.
    pub done_at: Option<DateTime<Utc>>,
    /// Attempts so far, while pending or failed.
    pub attempts: Option<i32>,
    /// The next attempt, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (no personal data).
    pub last_error: Option<String>,
}

/// A case's work in the local systems.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaseLocalSystems {
    /// The arrival number (érkeztetőszám) the records system gave the application.
    pub arrival_number: Option<String>,
    /// The file number (iktatószám) the case is filed under.
    pub file_number: Option<String>,
    /// The parking permit's id in the parking system.
    pub permit_id: Option<String>,
    /// Every piece of work, done ones first.
    pub work: Vec<LocalWork>,
}

type TaskRow = (String, String, Option<String>, Option<String>, Value, DateTime<Utc>);

/// A case's work in the local systems: what is done, pending (with attempts and the last
/// error) or failed, and what was not attempted because no plugin is installed.
pub async fn for_case(tx: &mut TenantTx, case_id: Uuid, number: Option<&str>) -> Result<CaseLocalSystems, LocalSystemsError> {
    let rows: Vec<TaskRow> =
        sqlx::query_as("SELECT task, outcome, plugin, reference, detail, at FROM case_local_task WHERE case_id = $1 ORDER BY at, task")
            .bind(case_id)
            .fetch_all(tx.conn())
            .await?;
    let mut view = CaseLocalSystems::default();
    for (task, outcome, plugin, reference, detail, at) in rows {
        let Some(task) = parse_task(&task) else { continue };
        match task {
            Task::RecordsRegister => view.arrival_number.clone_from(&reference),
            Task::RecordsFile => view.file_number.clone_from(&reference),
            Task::ParkingSubmit => view.permit_id.clone_from(&reference),
            _ => {}
        }
        view.work.push(LocalWork {
            system: task.system(),
            task: task.as_str(),
            state: if outcome == "done" { WorkState::Done } else { WorkState::NotInstalled },
            plugin,
            reference,
            detail,
            done_at: Some(at),
            attempts: None,
            next_attempt_at: None,
            last_error: None,
        });
    }
    let mut matching = vec![json!({ "case_id": case_id })];
    if let Some(n) = number {
        matching.push(json!({ "subject_ref": n }));
    }
    let open = kapu_jobs::open_matching(tx, &JOB_KINDS, &matching).await?;
    // A granted case queues the parking job whatever its case type; it is parking work only
    // for a parking case type.
    let parking =
        open.iter().any(|j| j.kind == kapu_cases::GRANTED_JOB) && crate::is_parking(&kapu_cases::declared_facts(tx, case_id).await?);
    for job in open {
        let Some(task) = Task::of_job(&job.kind) else { continue };
        if task == Task::ParkingSubmit && !parking {
            continue;
        }
        let dead = job.state == "dead";
        view.work.push(LocalWork {
            system: task.system(),
            task: task.as_str(),
            state: if dead { WorkState::Failed } else { WorkState::Pending },
            plugin: None,
            reference: None,
            detail: Value::Object(serde_json::Map::new()),
            done_at: None,
            attempts: Some(job.attempts),
            next_attempt_at: (!dead).then_some(job.run_at),
            last_error: job.last_error,
        });
    }
    Ok(view)
}

fn parse_task(s: &str) -> Option<Task> {
    [Task::RecordsRegister, Task::RecordsFile, Task::RecordsIssue, Task::FinanceReceivable, Task::FinancePayment, Task::ParkingSubmit]
        .into_iter()
        .find(|t| t.as_str() == s)
}

/// The file numbers of those of `cases` that are filed in the records system.
pub async fn file_numbers(tx: &mut TenantTx, cases: &[Uuid]) -> Result<std::collections::HashMap<Uuid, String>, LocalSystemsError> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT case_id, reference FROM case_local_task WHERE case_id = ANY($1) AND task = 'records.file' AND reference IS NOT NULL",
    )
    .bind(cases)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().collect())
}
