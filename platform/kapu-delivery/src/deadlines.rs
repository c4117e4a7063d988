//! Deemed delivery (kézbesítési vélelem) and the reminder before it.
//!
//! A decision nobody has downloaded is deemed delivered at the start of the day after the
//! `deemed_after_working_days`-th working day following the day it was made available
//! (Hungarian days, counted with `kapu-calendar`); the reminder goes out on the
//! `reminder_after_working_days`-th working day. Both periods are frozen into the document
//! when it is issued. [`run`] does both and is idempotent: a reminder is marked sent in the
//! same statement that claims it, and a delivery is one row per document.
//!
//! The [`DEADLINES_JOB`] runs [`run`] and schedules its own next run; issuing a decision
//! makes sure one is scheduled.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use kapu_calendar::{Calendar, CalendarError};
use kapu_core::TenantTx;
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler, NewJob};
use kapu_mail::OutgoingMail;
use uuid::Uuid;

use crate::access::DeliveryHow;
use crate::issue::{Addressee, recipient};
use crate::{DEADLINES_JOB, DeliveryError, OnDelivery, Recorded, hungarian_date, local_date, start_of_local_day};

/// The last day of the period: the `n`th working day after the Hungarian day of `issued_at`.
/// The document is deemed delivered at the start of the next day.
pub fn deemed_after(calendar: &Calendar, issued_at: DateTime<Utc>, n: i32) -> Result<NaiveDate, CalendarError> {
    calendar.add_working_days(local_date(issued_at), u32::try_from(n).unwrap_or(0))
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadlineReport {
    /// Reminders sent.
    pub reminded: usize,
    /// Documents deemed delivered.
    pub deemed: usize,
    /// Documents whose deadline cannot be counted yet (a year without its decree on file).
    pub undecidable: usize,
}

/// Where the e-mails point to.
#[derive(Clone, Debug)]
pub struct NoticeContext<'a> {
    /// The municipality's name.
    pub tenant_name: &'a str,
    /// The portal's documents page.
    pub documents_url: &'a str,
    /// The tenant's keyring, which seals the queued reminders.
    pub ring: &'a kapu_crypto::Keyring,
}

#[derive(sqlx::FromRow)]
struct Open {
    id: Uuid,
    title: String,
    subject_ref: String,
    issued_at: DateTime<Utc>,
    addressee_client_id: Uuid,
    representative_account_id: Option<Uuid>,
    deemed_after_working_days: i32,
    reminder_after_working_days: i32,
    reminder_sent_at: Option<DateTime<Utc>>,
}

/// Sends the reminders due and records the deemed deliveries due at `now`, passing each to
/// `on_delivery` in the same transaction.
pub async fn run(
    tx: &mut TenantTx,
    calendar: &Calendar,
    ctx: &NoticeContext<'_>,
    on_delivery: &dyn OnDelivery,
    now: DateTime<Utc>,
) -> Result<DeadlineReport, DeliveryError> {
    let open: Vec<Open> = sqlx::query_as(
        "SELECT d.id, d.title, d.subject_ref, d.issued_at, d.addressee_client_id, d.representative_account_id,
                d.deemed_after_working_days, d.reminder_after_working_days, d.reminder_sent_at
         FROM issued_document d
         WHERE d.kind <> 'download_certificate' AND d.issued_at <= $1
           AND NOT EXISTS (SELECT 1 FROM delivery dl WHERE dl.document_id = d.id)
         ORDER BY d.issued_at, d.id",
    )
    .bind(now)
    .fetch_all(tx.conn())
    .await?;
    let today = local_date(now);
    let mut report = DeadlineReport::default();
    for doc in open {
        let last_day = match deemed_after(calendar, doc.issued_at, doc.deemed_after_working_days) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(document = %doc.id, error = %e, "the deemed delivery of a document cannot be counted yet");
                report.undecidable += 1;
                continue;
            }
        };
        if today > last_day {
            let deemed_day = last_day.checked_add_days(Days::new(1)).unwrap_or(last_day);
            let at = start_of_local_day(deemed_day);
            let n = sqlx::query(
                "INSERT INTO delivery (document_id, how, delivered_at, recorded_at) VALUES ($1, 'deemed', $2, $3)
                 ON CONFLICT (document_id) DO NOTHING",
            )
            .bind(doc.id)
            .bind(at)
            .bind(now)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if n == 1 {
                on_delivery.delivered(tx, Recorded { document_id: doc.id, how: DeliveryHow::Deemed, at }, now).await?;
                report.deemed += 1;
            }
            continue;
        }
        if doc.reminder_sent_at.is_some() || doc.reminder_after_working_days <= 0 {
            continue;
        }
        let Ok(remind_on) = deemed_after(calendar, doc.issued_at, doc.reminder_after_working_days) else { continue };
        if today < remind_on {
            continue;
        }
        let claimed = sqlx::query("UPDATE issued_document SET reminder_sent_at = $2 WHERE id = $1 AND reminder_sent_at IS NULL")
            .bind(doc.id)
            .bind(now)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if claimed == 1 {
            remind(tx, &doc, last_day, ctx).await?;
            report.reminded += 1;
        }
    }
    Ok(report)
}

async fn remind(tx: &mut TenantTx, doc: &Open, last_day: NaiveDate, ctx: &NoticeContext<'_>) -> Result<(), DeliveryError> {
    let addressee = Addressee { client_id: doc.addressee_client_id, representative_account_id: doc.representative_account_id };
    let Some(to) = recipient(tx, &addressee).await? else { return Ok(()) };
    let deemed_day = last_day.checked_add_days(Days::new(1)).unwrap_or(last_day);
    let text = format!(
        "Tisztelt Ügyfelünk!\n\nEmlékeztetjük, hogy {tenant} dokumentumot adott ki az Ön részére, amelyet még nem töltött le.\n\n  {title}\n  Ügyszám: {reference}\n\n\
         Ha {last}-ig (bezárólag) nem tölti le, a dokumentum {deemed} napján kézbesítettnek minősül.\n\
         A dokumentumot a portálon, bejelentkezés után töltheti le:\n{url}\n\n\
         Reminder: a document issued to you has not been downloaded yet. Unless you download it by {last}, it is deemed delivered on {deemed}.\n",
        tenant = ctx.tenant_name,
        title = doc.title,
        reference = doc.subject_ref,
        last = hungarian_date(last_day),
        deemed = hungarian_date(deemed_day),
        url = ctx.documents_url,
    );
    let mail = OutgoingMail {
        to,
        subject: format!("{}: emlékeztető – le nem töltött dokumentum ({})", ctx.tenant_name, doc.subject_ref),
        text,
        html: None,
        message_id: format!("<{}@kapu>", Uuid::now_v7()),
    };
    kapu_jobs::enqueue(tx, NewJob::new(kapu_mail::SEND_JOB, &kapu_mail::MailJob::seal(ctx.ring, &mail)?)).await?;
    Ok(())
}

/// How often the deadlines job runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Schedules the deadlines job unless one is waiting or running.
pub(crate) async fn ensure_scheduled(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<(), DeliveryError> {
    if kapu_jobs::count_open(tx, DEADLINES_JOB, None).await? == 0 {
        schedule(tx, now).await?;
    }
    Ok(())
}

async fn schedule(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<(), DeliveryError> {
    let at = now + chrono::Duration::from_std(INTERVAL).unwrap_or_default();
    kapu_jobs::enqueue(tx, NewJob { run_at: Some(at), ..NewJob::new(DEADLINES_JOB, &serde_json::json!({})) }).await?;
    Ok(())
}

/// Runs [`DEADLINES_JOB`]s and schedules the next one.
pub struct DeadlinesHandler {
    /// The deployment's working-day calendar.
    pub calendar: std::sync::Arc<Calendar>,
    /// The deployment's public URL (see `IssueHandler::public_url`).
    pub public_url: kapu_core::Origin,
    /// What a deemed delivery also changes (the decision's case).
    pub on_delivery: std::sync::Arc<dyn OnDelivery>,
    /// The keys that seal the reminders' e-mails.
    pub crypto: std::sync::Arc<kapu_crypto::Crypto>,
}

impl std::fmt::Debug for DeadlinesHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlinesHandler").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl JobHandler for DeadlinesHandler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let tenant = ctx.tenant;
        let documents_url = format!("{}/dokumentumok", tenant.base_url(&self.public_url));
        let scope = tx.slug().as_str().to_owned();
        let ring = self.crypto.keyring(tx.conn(), &scope).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        let notices = NoticeContext { tenant_name: &tenant.name, documents_url: &documents_url, ring: &ring };
        let now = ctx.now;
        let report =
            run(tx, &self.calendar, &notices, self.on_delivery.as_ref(), now).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        tracing::info!(tenant = %tx.slug(), reminded = report.reminded, deemed = report.deemed, undecidable = report.undecidable, "delivery deadlines");
        // The next run, unless another chain is already scheduled (they then merge into one).
        let others = kapu_jobs::count_open(tx, DEADLINES_JOB, Some(job.id)).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        if others == 0 {
            schedule(tx, now).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_period_skips_the_christmas_holidays() {
        let c = Calendar::hungary();
        // Made available Mon 21 Dec 2026 (10:00 in Budapest); 24 Dec is a rest day, 25–26 Dec
        // holidays, 27 Dec a Sunday: the 5th working day is Wed 30 Dec.
        let issued = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        assert_eq!(deemed_after(&c, issued, 5).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 30).unwrap());
        assert_eq!(deemed_after(&c, issued, 3).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
        // Issued late on Tue 22 Dec UTC is already Wed 23 Dec in Budapest.
        let late = Utc.with_ymd_and_hms(2026, 12, 22, 23, 30, 0).unwrap();
        assert_eq!(deemed_after(&c, late, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
    }
}
