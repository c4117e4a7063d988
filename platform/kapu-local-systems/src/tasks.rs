//! The job handlers: one per job kind, each doing one case's task in one local system.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use kapu_core::{Db, TenantTx};
use kapu_crypto::{Crypto, Keyring};
use kapu_jobs::{Clock, Job, JobContext, JobFailure, JobHandler, Worker};
use kapu_plugins::installation::Plugins;
use kapu_plugins::{CallFailure, Called, PluginError, finance, parking, records};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::store::{self, Done};
use crate::{System, Task, is_parking};

/// What the handlers share: the database, the keys and the tenants' plugins.
#[derive(Clone)]
pub struct LocalSystems {
    db: Db,
    crypto: Arc<Crypto>,
    plugins: Plugins,
}

impl LocalSystems {
    /// The handlers' shared parts.
    pub fn new(db: Db, crypto: Arc<Crypto>, plugins: Plugins) -> Self {
        Self { db, crypto, plugins }
    }
}

/// Adds the handlers of every local-system job kind to `worker`.
pub fn handlers(worker: Worker, ls: &LocalSystems) -> Worker {
    let h = |task| Arc::new(Handler { ls: ls.clone(), task });
    worker
        .handle(kapu_cases::SUBMITTED_JOB, h(Task::RecordsFile))
        .handle(kapu_cases::PAYMENT_DUE_JOB, h(Task::FinanceReceivable))
        .handle(kapu_cases::PAID_JOB, h(Task::FinancePayment))
        .handle(kapu_cases::GRANTED_JOB, h(Task::ParkingSubmit))
        .handle(kapu_delivery::ISSUED_JOB, h(Task::RecordsIssue))
}

struct Handler {
    ls: LocalSystems,
    task: Task,
}

#[derive(Deserialize)]
struct CasePayload {
    case_id: Uuid,
}

#[derive(Deserialize)]
struct IssuedPayload {
    document_id: Uuid,
    subject_ref: String,
}

fn retry(what: &str, e: impl std::fmt::Display) -> JobFailure {
    JobFailure::Retry(format!("{what}: {e}"))
}

fn malformed(e: serde_json::Error) -> JobFailure {
    JobFailure::Permanent(format!("malformed job payload: {e}"))
}

/// How a failed call fails its job: retried when the system may come back (or the admin
/// may fix the configuration), dead at once when retrying cannot help. The message names
/// the system and the error's code and kind, never the remote system's own words, which
/// may quote personal data (the admin's record of failed calls keeps them).
fn failed_call(system: System, plugin: &str, e: &PluginError) -> JobFailure {
    let kind = match e {
        PluginError::Failed(CallFailure::Unavailable(_)) => "the system is unavailable",
        PluginError::Failed(CallFailure::Rejected(_)) => "the system refused the request",
        PluginError::Failed(CallFailure::InvalidInput(_)) => "the plugin refused the input",
        PluginError::Failed(CallFailure::Protocol(_)) => "the system answered something the plugin could not read",
        PluginError::Failed(CallFailure::Config(_)) | PluginError::Config(_) | PluginError::InvalidConfig(_) => {
            "the plugin is not configured correctly"
        }
        PluginError::Timeout(_) => "the plugin did not answer in time",
        PluginError::Memory(_) => "the plugin ran out of memory",
        PluginError::Trap(_) => "the plugin crashed",
        PluginError::ForbiddenHost(_) => "the plugin tried to reach a host its manifest does not allow",
        PluginError::NetworkDenied { .. } => "the plugin tried to reach an address the operator's network policy does not allow",
        PluginError::Garbage(_) => "the plugin answered something the contract does not allow",
        PluginError::Busy => "the plugin host is at capacity",
        _ => "the plugin could not be run",
    };
    let what = format!("{}: {plugin}: {kind} ({})", system.as_str(), e.code());
    let permanent = matches!(
        e,
        PluginError::Failed(CallFailure::Rejected(_) | CallFailure::InvalidInput(_))
            | PluginError::Garbage(_)
            | PluginError::WrongWorld { .. }
            | PluginError::ForbiddenHost(_)
            | PluginError::NetworkDenied { .. }
    );
    if permanent { JobFailure::Permanent(what) } else { JobFailure::Retry(what) }
}

impl Handler {
    async fn ring(&self, tx: &mut TenantTx) -> Result<Arc<Keyring>, JobFailure> {
        let scope = tx.slug().as_str().to_owned();
        self.ls.crypto.keyring(tx.conn(), &scope).await.map_err(|e| retry("keys", e))
    }

    /// The tenant's plugin for the task's system, or `None` after recording that there is none.
    async fn plugin(&self, tx: &mut TenantTx, case_id: Uuid, subject: &str, now: DateTime<Utc>) -> Result<Option<String>, JobFailure> {
        let name = kapu_plugins::installation::of_world(tx, self.task.system().world()).await.map_err(|e| retry("plugins", e))?;
        if name.is_none() {
            let d = Done { case_id, task: self.task, subject, plugin: None, reference: None, detail: json!({}), at: now };
            store::record(tx, d).await.map_err(|e| retry("database", e))?;
        }
        Ok(name)
    }

    /// Calls the tenant's plugin `name`; a failure is recorded for the admin, stamped by
    /// `clock` when the call failed, and fails the job.
    async fn call<R>(
        &self,
        tx: &TenantTx,
        clock: Clock,
        name: &str,
        function: &str,
        call: impl AsyncFnOnce(&kapu_plugins::Runtime, &kapu_plugins::Plugin, kapu_plugins::CallContext) -> Called<R>,
    ) -> Result<R, JobFailure> {
        let slug = tx.slug().clone();
        let result = match self.ls.plugins.context(&slug, name).await {
            Ok((plugin, ctx)) => call(self.ls.plugins.runtime(), &plugin, ctx).await.result,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                // Recorded in its own transaction: the job's is rolled back on failure.
                self.ls.plugins.record_failure(&slug, name, function, &e, clock.now()).await;
                Err(failed_call(self.task.system(), name, &e))
            }
        }
    }

    async fn done(&self, tx: &mut TenantTx, d: Done<'_>) -> Result<(), JobFailure> {
        store::record(tx, d).await.map_err(|e| retry("database", e))
    }

    async fn answered(
        &self,
        tx: &mut TenantTx,
        case_id: Uuid,
        task: Task,
        subject: &str,
    ) -> Result<Option<(bool, Option<String>)>, JobFailure> {
        store::answer(tx, case_id, task, subject).await.map_err(|e| retry("database", e))
    }

    async fn case(&self, tx: &mut TenantTx, ring: &Keyring, id: Uuid) -> Result<kapu_cases::CaseRecord, JobFailure> {
        kapu_cases::case_record(tx, ring, id).await.map_err(|e| match e {
            kapu_cases::CaseError::NotFound => JobFailure::Permanent(format!("there is no filed case {id}")),
            e => retry("the case", e),
        })
    }

    /// Registers the application as an incoming document and files it under a new file number.
    async fn file(&self, tx: &mut TenantTx, case_id: Uuid, context: &JobContext<'_>) -> Result<(), JobFailure> {
        if self.answered(tx, case_id, Task::RecordsFile, "").await?.is_some() {
            return Ok(());
        }
        let Some(name) = self.plugin(tx, case_id, "", context.now).await? else { return Ok(()) };
        let ring = self.ring(tx).await?;
        let case = self.case(tx, &ring, case_id).await?;
        let arrival = match self.answered(tx, case_id, Task::RecordsRegister, "").await? {
            Some((_, Some(n))) => n,
            _ => {
                let document = records::Document {
                    subject: format!("{} – kérelem, ügyszám {}", case.case_type_name, case.number),
                    partner: case.applicant_name.clone(),
                    file_name: format!("kerelem-{}.json", case.number),
                    media_type: "application/json".into(),
                    content: application_document(&case),
                };
                let r = self
                    .call(tx, context.clock, &name, "register-incoming", async |rt, p, ctx| {
                        rt.records_register_incoming(p, ctx, document).await
                    })
                    .await?;
                // Committed at once: a retry after a failed filing files this registration
                // rather than registering the application again.
                let mut own = self.ls.db.tenant_tx_for(tx.slug()).await.map_err(|e| retry("database", e))?;
                let d = Done {
                    case_id,
                    task: Task::RecordsRegister,
                    subject: "",
                    plugin: Some(&name),
                    reference: Some(&r.arrival_number),
                    detail: json!({}),
                    at: context.now,
                };
                store::record(&mut own, d).await.map_err(|e| retry("database", e))?;
                own.commit().await.map_err(|e| retry("database", e))?;
                r.arrival_number
            }
        };
        let filing =
            self.call(tx, context.clock, &name, "file", async |rt, p, ctx| rt.records_file(p, ctx, arrival.clone(), None).await).await?;
        let d = Done {
            case_id,
            task: Task::RecordsFile,
            subject: "",
            plugin: Some(&name),
            reference: Some(&filing.file_number),
            detail: json!({ "arrival_number": arrival }),
            at: context.now,
        };
        self.done(tx, d).await
    }

    /// Issues an issued decision as an outgoing document under the case's file number.
    async fn issue(&self, tx: &mut TenantTx, p: IssuedPayload, context: &JobContext<'_>) -> Result<(), JobFailure> {
        let Some(case_id) = kapu_cases::case_by_number(tx, &p.subject_ref).await.map_err(|e| retry("the case", e))? else {
            // A document that belongs to no case: nothing to file it under.
            return Ok(());
        };
        let subject = p.document_id.to_string();
        if self.answered(tx, case_id, Task::RecordsIssue, &subject).await?.is_some() {
            return Ok(());
        }
        let file_number = match self.answered(tx, case_id, Task::RecordsFile, "").await? {
            Some((true, Some(n))) => n,
            Some(_) => {
                // The case was never filed (no records plugin then): there is no file to issue under.
                let d = Done {
                    case_id,
                    task: Task::RecordsIssue,
                    subject: &subject,
                    plugin: None,
                    reference: None,
                    detail: json!({}),
                    at: context.now,
                };
                return self.done(tx, d).await;
            }
            None => return Err(JobFailure::Retry("records: waiting for the case to be filed".into())),
        };
        let Some(name) = self.plugin(tx, case_id, &subject, context.now).await? else { return Ok(()) };
        let ring = self.ring(tx).await?;
        let case = self.case(tx, &ring, case_id).await?;
        let Some((title, _, pdf)) =
            kapu_delivery::issue::issued_decision_pdf(tx, &ring, p.document_id).await.map_err(|e| retry("the document", e))?
        else {
            return Err(JobFailure::Permanent(format!("there is no issued decision {}", p.document_id)));
        };
        let signer = context.tenant.name.clone();
        let document = records::Document {
            subject: title,
            partner: case.applicant_name.clone(),
            file_name: format!("hatarozat-{}.pdf", case.number),
            media_type: "application/pdf".into(),
            content: pdf,
        };
        let filing = self
            .call(tx, context.clock, &name, "issue", async |rt, pl, ctx| {
                rt.records_issue(pl, ctx, file_number.clone(), document, signer).await
            })
            .await?;
        let d = Done {
            case_id,
            task: Task::RecordsIssue,
            subject: &subject,
            plugin: Some(&name),
            reference: Some(&filing.file_number),
            detail: json!({ "document_id": p.document_id, "main_file_number": file_number }),
            at: context.now,
        };
        self.done(tx, d).await
    }

    /// Posts the fee of a case awaiting payment as a receivable, under the case number as
    /// the payment reference.
    async fn receivable(&self, tx: &mut TenantTx, case_id: Uuid, context: &JobContext<'_>) -> Result<(), JobFailure> {
        if self.answered(tx, case_id, Task::FinanceReceivable, "").await?.is_some() {
            return Ok(());
        }
        let Some(name) = self.plugin(tx, case_id, "", context.now).await? else { return Ok(()) };
        let ring = self.ring(tx).await?;
        let case = self.case(tx, &ring, case_id).await?;
        let Some(fee) = case.fee_gross.filter(|f| *f > rust_decimal::Decimal::ZERO) else { return Ok(()) };
        let due = kapu_delivery::local_date(case.submitted_at) + Duration::days(30);
        let receivable = finance::Receivable {
            payment_ref: case.number.clone(),
            debtor_name: case.applicant_name.clone(),
            debtor_tax_id: None,
            title: case.case_type_name.clone(),
            amount: finance::Money::new(fee.normalize(), "HUF"),
            due: due.to_string(),
        };
        let posting = self
            .call(tx, context.clock, &name, "post-receivable", async |rt, p, ctx| rt.finance_post_receivable(p, ctx, receivable).await)
            .await?;
        let d = Done {
            case_id,
            task: Task::FinanceReceivable,
            subject: "",
            plugin: Some(&name),
            reference: Some(&posting.posting_id),
            detail: json!({ "amount": fee.normalize().to_string(), "currency": "HUF", "payment_ref": case.number }),
            at: context.now,
        };
        self.done(tx, d).await
    }

    /// Posts a confirmed payment against the case's receivable.
    async fn payment(&self, tx: &mut TenantTx, case_id: Uuid, context: &JobContext<'_>) -> Result<(), JobFailure> {
        if self.answered(tx, case_id, Task::FinancePayment, "").await?.is_some() {
            return Ok(());
        }
        match self.answered(tx, case_id, Task::FinanceReceivable, "").await? {
            Some((true, _)) => {}
            Some((false, _)) => {
                // No receivable was posted (no finance plugin then): nothing to pay against.
                let d = Done {
                    case_id,
                    task: Task::FinancePayment,
                    subject: "",
                    plugin: None,
                    reference: None,
                    detail: json!({}),
                    at: context.now,
                };
                return self.done(tx, d).await;
            }
            None => return Err(JobFailure::Retry("finance: waiting for the receivable to be posted".into())),
        }
        let Some(name) = self.plugin(tx, case_id, "", context.now).await? else { return Ok(()) };
        let ring = self.ring(tx).await?;
        let case = self.case(tx, &ring, case_id).await?;
        let Some((amount, bank_ref, paid_at)) = case.payment.clone() else {
            return Err(JobFailure::Permanent(format!("case {} has no confirmed payment", case.number)));
        };
        let payment = finance::Payment {
            payment_ref: case.number.clone(),
            amount: finance::Money::new(amount.normalize(), "HUF"),
            value_date: kapu_delivery::local_date(paid_at).to_string(),
            bank_ref,
        };
        let posting =
            self.call(tx, context.clock, &name, "post-payment", async |rt, p, ctx| rt.finance_post_payment(p, ctx, payment).await).await?;
        let d = Done {
            case_id,
            task: Task::FinancePayment,
            subject: "",
            plugin: Some(&name),
            reference: Some(&posting.posting_id),
            detail: json!({ "amount": amount.normalize().to_string(), "currency": "HUF", "payment_ref": case.number }),
            at: context.now,
        };
        self.done(tx, d).await
    }

    /// Submits a granted parking permit (the parking system answers idempotently per case).
    async fn permit(&self, tx: &mut TenantTx, case_id: Uuid, context: &JobContext<'_>) -> Result<(), JobFailure> {
        if self.answered(tx, case_id, Task::ParkingSubmit, "").await?.is_some() {
            return Ok(());
        }
        let facts = kapu_cases::declared_facts(tx, case_id).await.map_err(|e| retry("the case", e))?;
        if !is_parking(&facts) {
            return Ok(());
        }
        let Some(name) = self.plugin(tx, case_id, "", context.now).await? else { return Ok(()) };
        let ring = self.ring(tx).await?;
        let case = self.case(tx, &ring, case_id).await?;
        let application = permit_application(&case.number, &case.applicant_name, &case.application)
            .ok_or_else(|| JobFailure::Permanent("the application has no vehicle, address or first valid day".into()))?;
        let permit = self.call(tx, context.clock, &name, "submit", async |rt, p, ctx| rt.parking_submit(p, ctx, application).await).await?;
        let d = Done {
            case_id,
            task: Task::ParkingSubmit,
            subject: "",
            plugin: Some(&name),
            reference: Some(&permit.permit_id),
            detail: json!({ "state": permit_state(permit.state), "zone": permit.zone, "valid_until": permit.valid_until }),
            at: context.now,
        };
        self.done(tx, d).await
    }
}

#[async_trait::async_trait]
impl JobHandler for Handler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        if self.task == Task::RecordsIssue {
            let p: IssuedPayload = serde_json::from_value(job.payload.clone()).map_err(malformed)?;
            return self.issue(tx, p, ctx).await;
        }
        let CasePayload { case_id } = serde_json::from_value(job.payload.clone()).map_err(malformed)?;
        match self.task {
            Task::RecordsFile | Task::RecordsRegister => self.file(tx, case_id, ctx).await,
            Task::FinanceReceivable => self.receivable(tx, case_id, ctx).await,
            Task::FinancePayment => self.payment(tx, case_id, ctx).await,
            Task::ParkingSubmit => self.permit(tx, case_id, ctx).await,
            Task::RecordsIssue => Ok(()),
        }
    }
}

/// The application as the records system keeps it: the case's number, type, filing time,
/// applicant and form values, as JSON.
fn application_document(case: &kapu_cases::CaseRecord) -> Vec<u8> {
    let doc = json!({
        "case_number": case.number,
        "case_type": { "code": case.case_type, "name": case.case_type_name },
        "submitted_at": case.submitted_at,
        "applicant": { "name": case.applicant_name, "address": case.applicant_address },
        "application": case.application,
    });
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// A parking permit application from a parking case type's form (`vehicle`, `address`,
/// `valid_from`).
pub(crate) fn permit_application(case_ref: &str, applicant_name: &str, form: &serde_json::Value) -> Option<parking::PermitApplication> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let a = form.get("address")?;
    Some(parking::PermitApplication {
        case_ref: case_ref.to_owned(),
        applicant_name: applicant_name.to_owned(),
        address: parking::Address { postcode: text(&a["postcode"])?, city: text(&a["city"])?, street: text(&a["street"])? },
        plate: text(form.get("vehicle")?)?,
        valid_from: text(form.get("valid_from")?)?,
    })
}

fn permit_state(s: parking::PermitState) -> &'static str {
    match s {
        parking::PermitState::Pending => "pending",
        parking::PermitState::Issued => "issued",
        parking::PermitState::Refused => "refused",
        parking::PermitState::Revoked => "revoked",
        parking::PermitState::Expired => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_job_error_names_system_plugin_and_code_but_never_the_vendors_words() {
        let cases = [
            (
                PluginError::Failed(CallFailure::Unavailable("Kiss Anna: DMS One down".into())),
                false,
                "the system is unavailable (plugin-failed-unavailable)",
            ),
            (
                PluginError::Failed(CallFailure::Rejected("Kiss Anna refused".into())),
                true,
                "the system refused the request (plugin-failed-rejected)",
            ),
            (PluginError::Timeout(5000), false, "the plugin did not answer in time (plugin-timeout)"),
            (PluginError::Trap("panicked at 'Kiss Anna'".into()), false, "the plugin crashed (plugin-trap)"),
            (
                PluginError::Garbage("an empty file number".into()),
                true,
                "the plugin answered something the contract does not allow (plugin-garbage)",
            ),
        ];
        for (error, permanent, said) in cases {
            let (is_permanent, text) = match failed_call(System::Records, "dmsone", &error) {
                JobFailure::Permanent(t) => (true, t),
                JobFailure::Retry(t) => (false, t),
            };
            assert_eq!((is_permanent, text.as_str()), (permanent, format!("records: dmsone: {said}").as_str()));
            assert!(!text.contains("Kiss"));
        }
    }

    #[test]
    fn a_permit_application_comes_from_the_parking_form() {
        let form = json!({ "vehicle": "ABC-123", "valid_from": "2026-03-02",
            "address": { "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23." } });
        let a = permit_application("HV-2026-000001", "Kiss Anna", &form).unwrap();
        assert_eq!((a.case_ref.as_str(), a.plate.as_str(), a.valid_from.as_str()), ("HV-2026-000001", "ABC-123", "2026-03-02"));
        assert_eq!((a.address.postcode.as_str(), a.address.street.as_str()), ("1126", "Böszörményi út 23."));
        assert!(permit_application("HV-2026-000001", "Kiss Anna", &json!({ "vehicle": "ABC-123" })).is_none(), "no address");
    }
}
