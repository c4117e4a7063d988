//! Issuing a decided case's decision (kiadmányozás) and the case's side of its delivery.
//!
//! The [`DecidedHandler`] runs the `case.decided` job: it makes the decision document's data
//! from the case (the text the case type's template gave, the reason, the applicant) and
//! hands it to `kapu-delivery`, which seals, time-stamps, stores and notifies in its own
//! `delivery.issue` job. The document's id is kept on the case in the same transaction, so a
//! retried job never issues twice. [`CaseDeliveries`] moves the case to delivered when
//! `kapu-delivery` records the first download or the deemed delivery, in that transaction.
//!
//! `kapu-cases` depends on `kapu-delivery`, never the other way: delivery serves any
//! document (download certificates too) and tells its owner through
//! [`kapu_delivery::OnDelivery`].

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::{Crypto, Keyring};
use kapu_delivery::access::{Delivery, DeliveryHow};
use kapu_delivery::issue::{Addressee, DecisionToIssue};
use kapu_delivery::{DeliveryError, OnDelivery, Recorded};
use kapu_documents::{Decision, DecisionClient, Signatory};
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::case::{CaseError, DECIDED_JOB, DECISION_DATA, DECISION_TEXT, event, transition};
use crate::settings::SettingsError;
use crate::workflow::{CaseActor, CaseState};

/// The legal remedy notice printed on decisions unless the tenant sets its own.
pub const LEGAL_REMEDY: &str = "A döntés ellen a közlésétől számított 15 napon belül fellebbezésnek van helye, \
     amelyet a döntést hozó hatóságnál kell előterjeszteni.";

/// What the tenant prints on its decisions (`documents` in the tenant's settings, `[documents]`
/// in `tenant.toml`); each is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSettings {
    /// The authority's address under its name, e.g. `1126 Budapest, Böszörményi út 23–25.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Where decisions are made, before the date (default: the authority's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The legal remedy notice (default: [`LEGAL_REMEDY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_remedy: Option<String>,
}

impl DecisionSettings {
    /// Reads and checks `settings.documents`; the defaults when absent.
    pub fn from_settings(settings: &Value) -> Result<Self, SettingsError> {
        let Some(v) = settings.get("documents").filter(|v| !v.is_null()) else { return Ok(Self::default()) };
        let s: Self = serde_json::from_value(v.clone())?;
        for (field, value, max) in [("address", &s.address, 200), ("place", &s.place, 100), ("legal_remedy", &s.legal_remedy, 2000)] {
            if let Some(t) = value
                && (t.trim().is_empty() || t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n'))
            {
                return Err(SettingsError::BadText { field, max });
            }
        }
        Ok(s)
    }
}

#[derive(sqlx::FromRow)]
struct ToIssue {
    state: String,
    number: Option<String>,
    type_name: String,
    decision_document_id: Option<Uuid>,
    decision_reason: Option<String>,
    decision_data_enc: Option<Vec<u8>>,
    decision_text_enc: Option<Vec<u8>>,
    decided_automatically: Option<bool>,
    approved_by: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    account_id: Option<Uuid>,
    principal_client_id: Option<Uuid>,
}

/// Queues the issuing of a decided case's decision, addressed to the client it was filed for
/// (a representative who filed it is notified), and keeps the document's id on the case.
/// Returns that id; a case whose decision is already on its way gives the same id and
/// changes nothing.
pub async fn issue_decision_of(
    tx: &mut TenantTx,
    ring: &Keyring,
    case_id: Uuid,
    authority: &str,
    settings: &DecisionSettings,
    now: DateTime<Utc>,
) -> Result<Uuid, CaseError> {
    let c: ToIssue = sqlx::query_as(
        r#"SELECT c.state, c.number, t.name AS type_name, c.decision_document_id, c.decision_reason, c.decision_data_enc,
                  c.decision_text_enc, c.decided_automatically, c.approved_by, c.decided_at, c.account_id, c.principal_client_id
           FROM "case" c JOIN case_type t ON t.id = c.case_type_id WHERE c.id = $1 FOR UPDATE OF c"#,
    )
    .bind(case_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(CaseError::NotFound)?;
    if let Some(id) = c.decision_document_id {
        return Ok(id);
    }
    let state = CaseState::parse(&c.state).ok_or(CaseError::NotFound)?;
    if state != CaseState::Decided {
        return Err(CaseError::NotAllowed { from: state, action: "issued a decision" });
    }
    let (Some(data), Some(text)) = (c.decision_data_enc, c.decision_text_enc) else {
        return Err(CaseError::BadInput { field: "decision", reason: Refusal::NoDecisionText });
    };
    let data: Value = serde_json::from_slice(&ring.open(&DECISION_DATA.at(case_id), &data)?)?;
    let text = String::from_utf8_lossy(&ring.open(&DECISION_TEXT.at(case_id), &text)?).into_owned();
    let addressee = addressee(tx, c.account_id, c.principal_client_id).await?;
    let automatic = c.decided_automatically.unwrap_or(false);
    let approver: Option<String> = match (automatic, c.approved_by) {
        (false, Some(staff)) => {
            sqlx::query_scalar("SELECT display_name FROM staff WHERE id = $1").bind(staff).fetch_optional(tx.conn()).await?
        }
        _ => None,
    };
    let signatory = signatory(authority, automatic, approver)?;
    let number = c.number.unwrap_or_default();
    let decision = document_of(DocumentInput {
        authority,
        settings,
        number: &number,
        type_name: &c.type_name,
        data: &data,
        text: &text,
        reason: c.decision_reason.as_deref().unwrap_or(""),
        signatory,
        decided_at: c.decided_at.unwrap_or(now),
    });
    let req = DecisionToIssue { addressee, subject_ref: number, decision, template: None };
    let document_id = kapu_delivery::issue::issue_decision(tx, ring, req).await?;
    sqlx::query(r#"UPDATE "case" SET decision_document_id = $2 WHERE id = $1"#).bind(case_id).bind(document_id).execute(tx.conn()).await?;
    let issuing = CaseActor::System { label: "issuing".into() };
    event(tx, case_id, Some(state), state, &issuing, "the decision is being sealed, time-stamped and sent to the client", now).await?;
    Ok(document_id)
}

/// Who signs the decision: the authority for an automatic decision, else the staff member
/// who approved it (`approver`, their name). A clerk's decision without an approver, or a
/// signatory without a name, is [`CaseError::NoSignatory`], never a blank on the document.
fn signatory(authority: &str, automatic: bool, approver: Option<String>) -> Result<Signatory, CaseError> {
    let (name, title) = if automatic { (Some(authority.to_owned()), "automatikus döntéshozatal") } else { (approver, "kiadmányozó") };
    match name.map(|n| n.trim().to_owned()) {
        Some(name) if !name.is_empty() => Ok(Signatory { name, title: title.into() }),
        _ => Err(CaseError::NoSignatory),
    }
}

/// The decision goes to the client the case was filed for; a representative who filed it for
/// a principal is the one notified.
async fn addressee(tx: &mut TenantTx, account: Option<Uuid>, principal: Option<Uuid>) -> Result<Addressee, CaseError> {
    if let Some(client_id) = principal {
        return Ok(Addressee { client_id, representative_account_id: account });
    }
    let linked = match account {
        Some(a) => kapu_clients::account::get_account(tx, a).await?.and_then(|a| a.client_id),
        None => None,
    };
    match linked {
        Some(client_id) => Ok(Addressee { client_id, representative_account_id: None }),
        None => Err(CaseError::BadInput { field: "addressee", reason: Refusal::NoAddressee }),
    }
}

struct DocumentInput<'a> {
    authority: &'a str,
    settings: &'a DecisionSettings,
    number: &'a str,
    type_name: &'a str,
    data: &'a Value,
    text: &'a str,
    reason: &'a str,
    signatory: Signatory,
    decided_at: DateTime<Utc>,
}

/// The decision document's data. The case type's text is split into paragraphs at blank
/// lines: a title line (`HATÁROZAT`) is left out (the document prints its own), a paragraph
/// starting with `Indokolás:` goes to the reasoning, the rest is the operative part.
fn document_of(i: DocumentInput<'_>) -> Decision {
    let mut operative = Vec::new();
    let mut reasoning = Vec::new();
    for para in i.text.split("\n\n") {
        let p = para.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        if p.is_empty() || matches!(p.to_uppercase().as_str(), "HATÁROZAT" | "EGYSZERŰSÍTETT HATÁROZAT") {
            continue;
        }
        match p.strip_prefix("Indokolás:") {
            Some(r) if !r.trim().is_empty() => reasoning.push(r.trim().to_owned()),
            Some(_) => {}
            None => operative.push(p),
        }
    }
    if reasoning.is_empty() && !i.reason.trim().is_empty() {
        reasoning.push(i.reason.trim().to_owned());
    }
    let applicant = &i.data["applicant"];
    let s = |v: &Value| v.as_str().unwrap_or("").trim().to_owned();
    let address = &applicant["address"];
    let address = match (s(&address["postcode"]), s(&address["city"]), s(&address["street"])) {
        (p, c, st) if p.is_empty() && c.is_empty() && st.is_empty() => String::new(),
        (p, c, st) => format!("{p} {c}, {st}"),
    };
    Decision {
        authority: i.authority.to_owned(),
        authority_address: i.settings.address.clone().unwrap_or_default(),
        file_number: i.number.to_owned(),
        subject: i.type_name.to_owned(),
        client: DecisionClient { name: s(&applicant["name"]), address },
        simplified: false,
        operative_part: operative,
        reasoning,
        legal_remedy: i.settings.legal_remedy.clone().unwrap_or_else(|| LEGAL_REMEDY.into()),
        place: i.settings.place.clone().unwrap_or_else(|| i.authority.to_owned()),
        date: hungarian_long_date(i.decided_at),
        signatory: i.signatory,
    }
}

/// `2026. december 2.`, the day in Hungary.
fn hungarian_long_date(t: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "január",
        "február",
        "március",
        "április",
        "május",
        "június",
        "július",
        "augusztus",
        "szeptember",
        "október",
        "november",
        "december",
    ];
    let d = kapu_delivery::local_date(t);
    format!("{}. {} {}.", d.year(), MONTHS[d.month0() as usize], d.day())
}

/// Moves the case whose decision was just delivered to "delivered", with the time in its
/// history. A document that is no case's decision changes nothing.
async fn mark_delivered(tx: &mut TenantTx, d: Recorded, now: DateTime<Utc>) -> Result<(), CaseError> {
    let row: Option<(Uuid, String)> = sqlx::query_as(r#"SELECT id, state FROM "case" WHERE decision_document_id = $1 FOR UPDATE"#)
        .bind(d.document_id)
        .fetch_optional(tx.conn())
        .await?;
    let Some((id, state)) = row else { return Ok(()) };
    let state = CaseState::parse(&state).ok_or(CaseError::NotFound)?;
    if state != CaseState::Decided {
        return Ok(());
    }
    sqlx::query(r#"UPDATE "case" SET delivered_at = $2 WHERE id = $1"#).bind(id).bind(d.at).execute(tx.conn()).await?;
    let when = kapu_delivery::hungarian_time(d.at);
    let reason = match d.how {
        DeliveryHow::Downloaded => format!("the decision was downloaded by its addressee: delivered {when}"),
        DeliveryHow::Deemed => format!("the decision was not downloaded within its period: deemed delivered {when}"),
    };
    transition(tx, id, state, CaseState::Delivered, &CaseActor::System { label: "delivery".into() }, &reason, now).await
}

/// Moves a decision's case to delivered when `kapu-delivery` records its delivery.
#[derive(Clone, Copy, Debug, Default)]
pub struct CaseDeliveries;

#[async_trait::async_trait]
impl OnDelivery for CaseDeliveries {
    async fn delivered(&self, tx: &mut TenantTx, delivery: Recorded, now: DateTime<Utc>) -> Result<(), DeliveryError> {
        mark_delivered(tx, delivery, now).await.map_err(|e| DeliveryError::FollowUp(e.to_string()))
    }
}

/// Where the decision document of a decided case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuingStatus {
    /// Queued, or waiting to be tried again (e.g. the time-stamping authority is down); a
    /// decision is never issued unsigned.
    Waiting,
    /// Failed in a way that needs a person (e.g. a template error); `problem` says why.
    Failed,
    /// Sealed, time-stamped and available to the client.
    Issued,
}

/// The decision document of a case, as the clerk's case card and the client's case page show it.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedDecision {
    /// Where it stands.
    pub status: IssuingStatus,
    /// The document (its id is known once its issuing is queued).
    pub document_id: Option<Uuid>,
    /// Its title, once issued.
    pub title: Option<String>,
    /// When it was sealed and made available.
    pub issued_at: Option<DateTime<Utc>>,
    /// SHA-256 of the PDF, hex.
    pub sha256: Option<String>,
    /// Its delivery (downloaded, or deemed, with the time), once there is one.
    pub delivery: Option<Delivery>,
    /// Why the last attempt failed, while waiting or failed.
    pub problem: Option<String>,
    /// Attempts made so far by the job that is waiting or failed.
    pub attempts: Option<i32>,
}

/// The decision document of a decided (or delivered) case; `None` for other cases.
pub async fn issued_decision(tx: &mut TenantTx, case_id: Uuid) -> Result<Option<IssuedDecision>, CaseError> {
    let row: Option<(String, Option<Uuid>)> =
        sqlx::query_as(r#"SELECT state, decision_document_id FROM "case" WHERE id = $1"#).bind(case_id).fetch_optional(tx.conn()).await?;
    let Some((state, document_id)) = row else { return Err(CaseError::NotFound) };
    if !matches!(CaseState::parse(&state), Some(CaseState::Decided | CaseState::Delivered)) {
        return Ok(None);
    }
    let pending = |status, problem, attempts| IssuedDecision {
        status,
        document_id,
        title: None,
        issued_at: None,
        sha256: None,
        delivery: None,
        problem,
        attempts,
    };
    let job = match document_id {
        None => kapu_jobs::latest(tx, DECIDED_JOB, &json!({ "case_id": case_id })).await?,
        Some(doc) => match kapu_delivery::access::summary(tx, doc).await? {
            Some(d) => {
                return Ok(Some(IssuedDecision {
                    status: IssuingStatus::Issued,
                    document_id,
                    title: Some(d.title),
                    issued_at: Some(d.issued_at),
                    sha256: Some(d.sha256),
                    delivery: d.delivery,
                    problem: None,
                    attempts: None,
                }));
            }
            None => kapu_jobs::latest(tx, kapu_delivery::ISSUE_JOB, &json!({ "document_id": doc })).await?,
        },
    };
    Ok(Some(match job {
        Some(j) if j.state == "dead" => pending(IssuingStatus::Failed, j.last_error, Some(j.attempts)),
        Some(j) => pending(IssuingStatus::Waiting, j.last_error, Some(j.attempts)),
        None => pending(IssuingStatus::Waiting, None, None),
    }))
}

/// Runs `case.decided`: queues the issuing of the case's decision (see [`issue_decision_of`])
/// under the tenant's name and document settings, which the worker hands it.
pub struct DecidedHandler {
    /// The keys.
    pub crypto: Arc<Crypto>,
}

impl std::fmt::Debug for DecidedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecidedHandler").finish_non_exhaustive()
    }
}

fn is_transient(e: &CaseError) -> bool {
    matches!(e, CaseError::Database(_) | CaseError::Jobs(_) | CaseError::Delivery(DeliveryError::Database(_) | DeliveryError::Jobs(_)))
}

#[async_trait::async_trait]
impl JobHandler for DecidedHandler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let case_id = job
            .payload
            .get("case_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobFailure::Permanent("malformed case.decided job: no case_id".into()))?;
        let slug = tx.slug().as_str().to_owned();
        let tenant = ctx.tenant;
        let settings = DecisionSettings::from_settings(&tenant.settings)
            .map_err(|e| JobFailure::Permanent(format!("the tenant's document settings: {e}")))?;
        let ring = self.crypto.keyring(tx.conn(), &slug).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        issue_decision_of(tx, &ring, case_id, &tenant.name, &settings, ctx.now).await.map(|_| ()).map_err(|e| {
            let what = format!("issuing the decision of case {case_id}: {e}");
            if is_transient(&e) { JobFailure::Retry(what) } else { JobFailure::Permanent(what) }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_case_types_text_becomes_operative_part_and_reasoning() {
        let text = "\nHATÁROZAT\n\nKovács Anna (1126 Budapest, Böszörményi út 23.) kérelmére\na(z) ABC-123 forgalmi rendszámú gépjárműre hozzájárulást adok.\nA hozzájárulás díjmentes.\n\nIndokolás: Az első hozzájárulás díjmentes.\n";
        let data = json!({ "applicant": { "name": "Kovács Anna", "address": { "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23." } } });
        let settings = DecisionSettings {
            address: Some("1126 Budapest, Böszörményi út 23–25.".into()),
            place: Some("Budapest".into()),
            legal_remedy: None,
        };
        let d = document_of(DocumentInput {
            authority: "Hegyvidéki Önkormányzat",
            settings: &settings,
            number: "HV-2026-000001",
            type_name: "Lakossági várakozási hozzájárulás",
            data: &data,
            text,
            reason: "first permit",
            signatory: Signatory { name: "x".into(), title: "y".into() },
            decided_at: Utc.with_ymd_and_hms(2026, 12, 1, 23, 30, 0).unwrap(),
        });
        assert_eq!(
            d.operative_part,
            vec![
                "Kovács Anna (1126 Budapest, Böszörményi út 23.) kérelmére a(z) ABC-123 forgalmi rendszámú gépjárműre hozzájárulást adok. A hozzájárulás díjmentes."
            ]
        );
        assert_eq!(d.reasoning, vec!["Az első hozzájárulás díjmentes."]);
        assert_eq!(d.client.address, "1126 Budapest, Böszörményi út 23.");
        assert_eq!(d.date, "2026. december 2.", "the day in Budapest");
        assert_eq!(d.file_number, "HV-2026-000001");
        assert_eq!(
            (d.authority_address.as_str(), d.place.as_str(), d.legal_remedy.as_str()),
            ("1126 Budapest, Böszörményi út 23–25.", "Budapest", LEGAL_REMEDY)
        );
    }

    #[test]
    fn document_settings_are_checked() {
        assert_eq!(DecisionSettings::from_settings(&json!({})).unwrap(), DecisionSettings::default());
        let s = DecisionSettings::from_settings(&json!({ "documents": { "place": "Budapest" } })).unwrap();
        assert_eq!(s.place.as_deref(), Some("Budapest"));
        let e = DecisionSettings::from_settings(&json!({ "documents": { "place": " " } })).unwrap_err();
        assert!(matches!(e, SettingsError::BadText { field: "place", max: 100 }), "{e}");
        assert!(e.to_string().starts_with("place:"), "{e}");
        let e = DecisionSettings::from_settings(&json!({ "documents": { "adress": "x" } })).unwrap_err();
        assert!(matches!(e, SettingsError::Malformed(_)) && e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn a_decision_is_signed_by_name_or_not_issued() {
        let s = signatory("Hegyvidéki Önkormányzat", false, Some("dr. Hegyi Anna".into())).unwrap();
        assert_eq!((s.name.as_str(), s.title.as_str()), ("dr. Hegyi Anna", "kiadmányozó"));
        let s = signatory("Hegyvidéki Önkormányzat", true, None).unwrap();
        assert_eq!((s.name.as_str(), s.title.as_str()), ("Hegyvidéki Önkormányzat", "automatikus döntéshozatal"));
        for (authority, automatic, approver) in
            [("A", false, None), ("A", false, Some("  ".to_owned())), ("A", false, Some(String::new())), (" ", true, None)]
        {
            let r = signatory(authority, automatic, approver.clone());
            assert!(matches!(r, Err(CaseError::NoSignatory)), "{authority:?} {automatic} {approver:?}: {r:?}");
        }
    }

    #[test]
    fn without_an_indokolas_paragraph_the_reason_is_the_reasoning() {
        let data = json!({ "applicant": { "name": "Kft." } });
        let d = document_of(DocumentInput {
            authority: "A",
            settings: &DecisionSettings::default(),
            number: "N",
            type_name: "T",
            data: &data,
            text: "Elutasítom.",
            reason: "Nem jogosult.",
            signatory: Signatory { name: "x".into(), title: "y".into() },
            decided_at: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
        });
        assert_eq!(
            (d.operative_part, d.reasoning, d.client.address),
            (vec!["Elutasítom.".to_owned()], vec!["Nem jogosult.".to_owned()], String::new())
        );
    }
}
