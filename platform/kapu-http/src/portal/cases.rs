//! Applications on the portal: the case types, the form generated from a case type's
//! definition (plain HTML, works without JavaScript; repeatable groups grow with a
//! button), drafts, attachments (type and size checked, stored through `object_store`),
//! submission to the case number page, the client's cases and their answers to requests
//! for missing information.

use kapu_core::Refusal;
use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Form, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use kapu_cases::attachments;
use kapu_cases::{CaseError, Field, FieldKind, FieldProblem, Filer, Identification, Once, Submission};
use kapu_clients::account::{ClientSession, IdentificationLevel};
use minijinja::context;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::account::{check_form, session};
use super::{language_of, render, text, uploads};
use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

pub(crate) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/ugyintezes", get(case_types))
        .route("/ugyintezes/{code}", get(form).post(post_form).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/ugyeim", get(my_cases))
        .route("/ugyeim/{id}", get(my_case))
        .route("/ugyeim/{id}/valasz", post(answer))
        .route("/ugyeim/{id}/visszavonas", post(withdraw))
}

fn login_redirect(t: &ResolvedTenant) -> Response {
    Redirect::to(&format!("{}/belepes", t.prefix)).into_response()
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn case_types(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (lang, chosen) = language_of(uri.query(), &headers);
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let mut list = Vec::new();
    for c in kapu_cases::list_case_types(&mut tx).await? {
        let v = kapu_cases::get_version(&mut tx, &c.code, None).await?;
        list.push(context! { code => c.code, name => c.name, description => v.definition.description });
    }
    tx.commit().await?;
    let signed_in = super::account::has_session_cookie(&headers);
    Ok(render(&state, &t, &lang, chosen, "case_types.html", StatusCode::OK, context! { case_types => list, signed_in }))
}

/// The HTML id of a value's path: `objects[0].description` → `f-objects-0-description`.
fn html_id(path: &str) -> String {
    format!("f-{}", path.replace('[', "-").replace(']', "").replace('.', "-"))
}

/// One field as the form template draws it.
fn field_view(f: &Field, path: &str, values: &Value, errors: &BTreeMap<String, String>) -> minijinja::Value {
    let v = values.get(&f.name).unwrap_or(&Value::Null);
    let id = html_id(path);
    let error = errors.get(path).cloned();
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match f.kind {
        FieldKind::Address => {
            let part = |k: &str| {
                let p = format!("{path}.{k}");
                context! { name => &p, id => html_id(&p), value => as_text(v.get(k).unwrap_or(&Value::Null)), error => errors.get(&p) }
            };
            context! { kind => "address", id, name => path, label => &f.label, help => &f.help, required => f.required, error,
            postcode => part("postcode"), city => part("city"), street => part("street") }
        }
        FieldKind::Group => {
            let items = v.as_array().cloned().unwrap_or_default();
            let count = (items.len() + 1).max(f.min_items.unwrap_or(1) as usize).min(f.max_items.unwrap_or(50) as usize);
            let rows: Vec<_> = (0..count)
                .map(|i| {
                    let item = items.get(i).cloned().unwrap_or(Value::Null);
                    let subs: Vec<_> = f.fields.iter().map(|s| field_view(s, &format!("{path}[{i}].{}", s.name), &item, errors)).collect();
                    context! { number => i + 1, fields => subs }
                })
                .collect();
            let can_add = f.max_items.is_none_or(|m| (count as u32) < m);
            context! { kind => "group", id, name => path, label => &f.label, help => &f.help, error, rows, can_add }
        }
        FieldKind::File => {
            let attached: Vec<_> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| {
                    let stored = x.get("stored")?.as_str()?;
                    let remove = format!("remove.{path}.{stored}");
                    Some(context! { name => x.get("name").and_then(Value::as_str), remove_id => html_id(&remove), remove })
                })
                .collect();
            context! { kind => "file", id, name => path, label => &f.label, help => &f.help, required => f.required, error,
            accept => f.accept.join(","), max_kb => f.max_size_kb, multiple => f.max_items.is_none_or(|m| m > 1), attached }
        }
        FieldKind::Boolean => {
            context! { kind => "boolean", id, name => path, label => &f.label, help => &f.help, error, checked => v == &json!(true) }
        }
        FieldKind::Choice => {
            let options: Vec<_> = f
                .options
                .iter()
                .map(|o| context! { value => &o.value, label => &o.label, chosen => v.as_str() == Some(o.value.as_str()) })
                .collect();
            context! { kind => "choice", id, name => path, label => &f.label, help => &f.help, required => f.required, error, options }
        }
        kind => {
            let input = match kind {
                FieldKind::Date => "date",
                _ => "text",
            };
            let inputmode = match kind {
                FieldKind::Number | FieldKind::Money => "decimal",
                _ => "",
            };
            context! { kind => "input", input, inputmode, id, name => path, label => &f.label, help => &f.help, required => f.required, error, value => as_text(v) }
        }
    }
}

struct FormPage<'a> {
    code: &'a str,
    version: &'a kapu_cases::StoredVersion,
    values: &'a Value,
    draft: Option<Uuid>,
    problems: &'a [FieldProblem],
    notice: Option<String>,
    /// The form's idempotency key: the same form posted twice makes one case.
    once: String,
}

fn show_form(
    state: &AppState,
    t: &ResolvedTenant,
    s: &ClientSession,
    lang: &str,
    chosen: bool,
    status: StatusCode,
    p: FormPage<'_>,
) -> Response {
    let def = &p.version.definition;
    let file_fields: Vec<&str> = def.fields.iter().filter(|f| f.kind == FieldKind::File).map(|f| f.name.as_str()).collect();
    let mut errors = BTreeMap::new();
    let mut summary = Vec::new();
    for pr in p.problems {
        // A file's problem belongs to its input: `site_plan[0]` → `site_plan`.
        let path = match pr.path.split_once('[') {
            Some((name, _)) if file_fields.contains(&name) => name.to_owned(),
            _ => pr.path.clone(),
        };
        let message = super::refusals::worded(lang, &pr.reason);
        let shown = match label_of(&def.fields, &path) {
            Some(label) => format!("{label}: {message}"),
            None => message.clone(),
        };
        summary.push(context! { href => format!("#{}", html_id(&path)), message => shown });
        errors.entry(path).and_modify(|m: &mut String| m.push_str(&format!("; {message}"))).or_insert(message);
    }
    let fields: Vec<_> = def.fields.iter().map(|f| field_view(f, &f.name, p.values, &errors)).collect();
    let fee = fee_text(def);
    let needs = match def.identification {
        Identification::Registered => None,
        Identification::InPerson => Some(text(lang, "level_in_person")),
        Identification::Kau => Some(text(lang, "level_kau")),
    };
    no_store(render(
        state,
        t,
        lang,
        chosen,
        "application.html",
        status,
        context! {
            signed_in => true, csrf => &s.csrf_token, code => p.code, version => p.version.version, name => &def.name,
            description => &def.description, fields, summary, fee, needs, draft => p.draft.map(|d| d.to_string()), notice => p.notice,
            once => p.once,
        },
    ))
}

fn label_of(fields: &[Field], path: &str) -> Option<String> {
    let first = path.split(['.', '[']).next()?;
    let f = fields.iter().find(|f| f.name == first)?;
    match f.kind {
        FieldKind::Group => {
            let rest = path.split_once("].").map(|(_, r)| r);
            match rest.and_then(|r| f.fields.iter().find(|s| s.name == r)) {
                Some(s) => Some(format!("{} – {}", f.label, s.label)),
                None => Some(f.label.clone()),
            }
        }
        _ => Some(f.label.clone()),
    }
}

/// What the fee is, in words, before the application is filled in.
fn fee_text(def: &kapu_cases::Definition) -> Option<String> {
    let fee = def.fee.as_ref()?;
    let kind = match fee.kind {
        kapu_cases::FeeKind::ProceduralDuty => "illeték",
        kapu_cases::FeeKind::ServiceFee => "díj",
    };
    let vat = fee.vat_rate.as_ref().map(|r| format!(" + {}% ÁFA", r.0)).unwrap_or_default();
    Some(match &fee.amount {
        Some(a) => format!("{} Ft {kind}{vat}", a.0),
        None => format!("a kérelem adataiból számított {kind}{vat}; összegét beküldéskor látja"),
    })
}

async fn form(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(code): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    let (lang, chosen) = language_of(uri.query(), &headers);
    let draft_id = uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("piszkozat="))).and_then(|d| d.parse::<Uuid>().ok());
    let (version, values, draft) = match draft_id {
        Some(id) => {
            let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
            let d = kapu_cases::get_draft(&mut tx, &ring, s.account.id, id).await?;
            (kapu_cases::get_version(&mut tx, &d.code, Some(d.form_version)).await?, d.values, Some(id))
        }
        None => (kapu_cases::get_version(&mut tx, &code, None).await?, Value::Object(Map::new()), None),
    };
    tx.commit().await?;
    Ok(show_form(
        &state,
        &t,
        &s,
        &lang,
        chosen,
        StatusCode::OK,
        FormPage { code: &code, version: &version, values: &values, draft, problems: &[], notice: None, once: Uuid::now_v7().to_string() },
    ))
}

/// The form's values as the domain reads them, from the posted fields.
fn values_of(def_fields: &[Field], fields: &HashMap<String, String>, remove_empty_rows: bool) -> Value {
    let mut out = Map::new();
    for f in def_fields {
        let get = |k: &str| fields.get(k).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let v = match f.kind {
            FieldKind::Boolean => json!(fields.contains_key(&f.name)),
            FieldKind::Address => {
                let part = |k: &str| get(&format!("{}.{k}", f.name)).unwrap_or_default();
                let (p, c, s) = (part("postcode"), part("city"), part("street"));
                if p.is_empty() && c.is_empty() && s.is_empty() { Value::Null } else { json!({ "postcode": p, "city": c, "street": s }) }
            }
            // Files come from the uploads and the draft (`uploads::merge_files`).
            FieldKind::File => Value::Null,
            FieldKind::Group => {
                let mut rows = Vec::new();
                for i in 0..f.max_items.unwrap_or(50).min(200) {
                    let prefix = format!("{}[{i}]", f.name);
                    if !fields.keys().any(|k| k.starts_with(&format!("{prefix}."))) {
                        break;
                    }
                    let sub: HashMap<String, String> = fields
                        .iter()
                        .filter_map(|(k, v)| k.strip_prefix(&format!("{prefix}.")).map(|r| (r.to_owned(), v.clone())))
                        .collect();
                    if remove_empty_rows && sub.values().all(|v| v.trim().is_empty()) {
                        continue;
                    }
                    rows.push(values_of(&f.fields, &sub, remove_empty_rows));
                }
                Value::Array(rows)
            }
            _ => get(&f.name).map(Value::String).unwrap_or(Value::Null),
        };
        if !v.is_null() {
            out.insert(f.name.clone(), v);
        }
    }
    Value::Object(out)
}

/// The values of a draft the filer is working on, locked until the transaction ends (none
/// for a new form, or one submitted since).
async fn draft_values(
    tx: &mut kapu_core::TenantTx,
    ring: &kapu_crypto::Keyring,
    account: Uuid,
    draft: Option<Uuid>,
) -> Result<Value, ApiError> {
    let Some(id) = draft else { return Ok(Value::Null) };
    match kapu_cases::lock_draft(tx, ring, account, id).await {
        Ok(d) => Ok(d.values),
        Err(CaseError::NotFound) => Ok(Value::Null),
        Err(e) => Err(e.into()),
    }
}

fn filer(s: &ClientSession) -> Filer {
    Filer {
        account_id: s.account.id,
        email: s.account.email.clone(),
        display_name: s.account.display_name.clone(),
        level: match s.account.level {
            IdentificationLevel::Registered => Identification::Registered,
            IdentificationLevel::InPerson => Identification::InPerson,
            IdentificationLevel::Kau => Identification::Kau,
        },
        client_id: s.account.client_id,
        acting_for: s.acting_for,
    }
}

/// The client's cases page, from the tenant's configured base URL (never the request's Host).
fn cases_link(t: &ResolvedTenant) -> String {
    format!("{}/ugyeim", t.base_url)
}

async fn post_form(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(code): Path<String>,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    // Checked when the tenant's configuration was applied; a stored value that no longer
    // passes is ours to fix, not a reason to apply another quota.
    let settings = attachments::UploadSettings::from_settings(&t.tenant.settings)
        .map_err(|e| ApiError::Internal(format!("the tenant's upload settings: {e}")))?;
    let used = attachments::usage(&mut tx, s.account.id).await?;
    // A sweep is due before anything is staged, so even a file whose commit fails goes.
    attachments::ensure_sweep(&mut tx, Utc::now()).await?;
    // The body may take a while to arrive: no connection is held meanwhile.
    tx.commit().await?;
    let checks = uploads::Checks { code: &code, csrf: &s.csrf_token, quota_left: settings.quota_bytes.saturating_sub(used) };
    let posted = uploads::read_form(&state, &t, &headers, checks, mp).await?;
    let filed = file_form(&state, &t, &s, &code, &headers, &posted, uploads::Quota { settings, used }).await;
    uploads::finish(&state, &t, &posted, filed).await
}

/// Saves the draft or submits the application of a read form, up to its commit.
async fn file_form(
    state: &AppState,
    t: &ResolvedTenant,
    s: &ClientSession,
    code: &str,
    headers: &HeaderMap,
    posted: &uploads::Posted,
    quota: uploads::Quota,
) -> Result<uploads::Filed, ApiError> {
    let fields = &posted.fields;
    check_form(&Method::POST, headers, fields, Some(&s.csrf_token))?;
    let (lang, _) = language_of(None, headers);
    let form_version: i32 =
        fields.get("form_version").and_then(|v| v.parse().ok()).ok_or_else(|| ApiError::field("form_version", Refusal::Required))?;
    let draft = fields.get("draft").and_then(|d| d.parse::<Uuid>().ok());
    let action = fields.get("action").map(String::as_str).unwrap_or("submit");
    let saving = matches!(action, "save" | "add");
    let mut tx = state.db.tenant_tx(&t.tenant).await?;
    let version = kapu_cases::get_version(&mut tx, code, Some(form_version)).await?;
    let def = &version.definition;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let now = Utc::now();
    let once = fields.get("once").filter(|k| !k.is_empty() && k.len() <= 64).cloned().unwrap_or_else(|| Uuid::now_v7().to_string());
    let show = |status, values: &Value, draft, problems: &[FieldProblem], notice: Option<String>| {
        let page = FormPage { code, version: &version, values, draft, problems, notice, once: once.clone() };
        show_form(state, t, s, &lang, false, status, page)
    };
    let previous = draft_values(&mut tx, &ring, s.account.id, draft).await?;
    let taken = match draft {
        Some(id) => attachments::taken_paths(&mut tx, id).await?,
        None => Vec::new(),
    };
    let (files, new_files, removed) = uploads::merge_files(&def.fields, &previous, fields, &posted.uploads, &taken);
    let with_files = |files: Map<String, Value>| {
        let mut values = values_of(&def.fields, fields, !saving);
        if let Some(o) = values.as_object_mut() {
            o.retain(|k, _| def.fields.iter().any(|f| &f.name == k && f.kind != FieldKind::File));
            o.extend(files);
        }
        values
    };
    let values = with_files(files);
    let adding = new_files.iter().map(|f| f.staged.size).sum();
    let reserved = match posted.over_quota() {
        Some(adding) => Err(CaseError::OverQuota { used: quota.used, adding, quota: quota.settings.quota_bytes }),
        None => attachments::reserve(&mut tx, s.account.id, adding, &quota.settings).await,
    };
    let kept = match reserved {
        Err(e) => Err(e),
        Ok(()) if saving => {
            kapu_cases::save_draft(&mut tx, &ring, &filer(s), code, form_version, &values, draft, now).await.map(|id| (id, true))
        }
        Ok(()) => {
            let once = match draft {
                Some(id) => Once::Draft(id),
                None => Once::Key(once.clone()),
            };
            let sub = Submission { code: code.to_owned(), form_version, values: values.clone(), once };
            let link = cases_link(t);
            let notice = kapu_cases::Notice { tenant_name: &t.tenant.name, cases_link: &link };
            let result = kapu_cases::submit(&mut tx, &ring, &state.calendar, state.facts.as_ref(), &filer(s), &sub, &notice, now).await;
            result.map(|done| (done.case_id, done.created))
        }
    };
    let problems = match kept {
        Ok((id, created)) => {
            // The files go with the draft or case, in its transaction (after its own writes).
            let case = created.then_some(id);
            if case.is_some() {
                tx.defer(attachments::rows(id, s.account.id, &new_files, &removed, now));
            }
            let response = if saving {
                let notice = (action == "save").then(|| text(&lang, "draft_saved"));
                show(StatusCode::OK, &values, Some(id), &[], notice)
            } else {
                Redirect::to(&format!("{}/ugyeim/{id}?beadva=1", t.prefix)).into_response()
            };
            return Ok(uploads::Filed::Commit { tx, case, response });
        }
        Err(CaseError::Invalid(p)) => p,
        Err(CaseError::Ineligible { rule, message }) => vec![FieldProblem::new("application", Refusal::Ineligible { rule, message })],
        Err(CaseError::NoMandate { .. }) => vec![FieldProblem::new("application", Refusal::NoMandate)],
        Err(CaseError::CaseType(kapu_cases::CaseTypeError::StaleVersion { .. })) => {
            vec![FieldProblem::new("application", Refusal::StaleForm)]
        }
        Err(CaseError::OverQuota { used, adding, quota }) => {
            vec![FieldProblem::new("application", Refusal::OverQuota { used, adding, quota })]
        }
        Err(e) => return Err(e.into()),
    };
    tx.rollback().await?;
    // The new uploads were not kept; the draft's own files still are.
    let (kept, _, _) = uploads::merge_files(&def.fields, &previous, fields, &[], &taken);
    let shown = with_files(kept);
    Ok(uploads::Filed::Refused(show(StatusCode::UNPROCESSABLE_ENTITY, &shown, draft, &problems, None)))
}

async fn my_cases(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    let (lang, chosen) = language_of(uri.query(), &headers);
    let list = kapu_cases::cases_of_account(&mut tx, s.account.id, Utc::now()).await?;
    let ids: Vec<Uuid> = list.iter().map(|c| c.id).collect();
    let files = kapu_local_systems::file_numbers(&mut tx, &ids).await?;
    tx.commit().await?;
    let cases: Vec<_> = list
        .iter()
        .map(|c| {
            context! {
                id => c.id.to_string(), number => &c.number, name => &c.case_type_name, code => &c.case_type, file_number => files.get(&c.id),
                state => state_label(&lang, c.state.0), draft => c.state.0 == kapu_cases::CaseState::Draft,
                fee => c.fee_gross.map(|f| f.normalize().to_string()),
            }
        })
        .collect();
    Ok(no_store(render(&state, &t, &lang, chosen, "my_cases.html", StatusCode::OK, context! { signed_in => true, cases })))
}

fn state_label(lang: &str, s: kapu_cases::CaseState) -> String {
    if lang == "en" { s.as_str().replace('_', " ") } else { s.label_hu().to_owned() }
}

async fn my_case(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(id): Path<Uuid>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    let (lang, chosen) = language_of(uri.query(), &headers);
    let c = kapu_cases::own_case(&mut tx, s.account.id, id, Utc::now()).await?;
    let local = kapu_local_systems::for_case(&mut tx, id, c.summary.number.as_deref()).await?;
    tx.commit().await?;
    let permit = local.work.iter().find(|w| w.task == "parking.submit" && w.reference.is_some()).map(|w| {
        context! { id => &w.reference, zone => w.detail.get("zone").and_then(Value::as_str), valid_until => w.detail.get("valid_until").and_then(Value::as_str) }
    });
    let just_filed = uri.query().is_some_and(|q| q.contains("beadva=1"));
    let history: Vec<_> = c
        .history
        .iter()
        .map(|e| context! { at => e.at.format("%Y-%m-%d %H:%M").to_string(), state => kapu_cases::CaseState::parse(&e.to_state).map(|x| state_label(&lang, x)) })
        .collect();
    let decision = c.decision.as_ref().map(|(o, r)| context! { granted => o == "grant", reason => r });
    let document = c.issued_decision.as_ref().map(|d| {
        let status = match d.status {
            kapu_cases::IssuingStatus::Waiting => "waiting",
            kapu_cases::IssuingStatus::Failed => "failed",
            kapu_cases::IssuingStatus::Issued => "issued",
        };
        context! {
            status, id => d.document_id.map(|i| i.to_string()), issued_at => d.issued_at.map(kapu_delivery::hungarian_time),
            delivered_at => d.delivery.as_ref().map(|x| kapu_delivery::hungarian_time(x.at)),
            deemed => d.delivery.as_ref().is_some_and(|x| x.how == kapu_delivery::access::DeliveryHow::Deemed),
        }
    });
    let st = c.summary.state.0;
    Ok(no_store(render(
        &state,
        &t,
        &lang,
        chosen,
        "my_case.html",
        StatusCode::OK,
        context! {
            signed_in => true, csrf => &s.csrf_token, id => id.to_string(), number => &c.summary.number, name => &c.summary.case_type_name,
            file_number => &local.file_number, permit,
            state => state_label(&lang, st), state_code => st.as_str(), just_filed, fee => c.summary.fee_gross.map(|f| f.normalize().to_string()),
            awaiting_payment => st == kapu_cases::CaseState::AwaitingPayment, due => c.summary.due_date.map(|d| d.to_string()),
            request => c.information_request, request_due => c.information_due.map(|d| d.to_string()), decision, document, history,
            can_withdraw => matches!(st, kapu_cases::CaseState::AwaitingPayment | kapu_cases::CaseState::InReview | kapu_cases::CaseState::AwaitingInformation),
        },
    )))
}

async fn answer(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    let ring = state.crypto.keyring(tx.conn(), t.tenant.slug.as_str()).await?;
    let text_in = fields.get("answer").map(String::as_str).unwrap_or("");
    match kapu_cases::answer_information(&mut tx, &ring, &state.calendar, s.account.id, id, text_in, Utc::now()).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("{}/ugyeim/{id}", t.prefix)).into_response())
        }
        Err(CaseError::BadInput { .. }) => {
            tx.rollback().await?;
            let (lang, _) = language_of(None, &headers);
            let back = format!("/ugyeim/{id}");
            let link = Some((back.as_str(), "back_to_case"));
            Ok(super::account::message(&state, &t, &lang, StatusCode::UNPROCESSABLE_ENTITY, "answer_title", "err_answer_empty", link))
        }
        Err(e) => Err(e.into()),
    }
}

async fn withdraw(
    State(state): State<AppState>,
    Extension(t): Extension<ResolvedTenant>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some((s, mut tx)) = session(&state, &t, &headers).await? else { return Ok(login_redirect(&t)) };
    check_form(&Method::POST, &headers, &fields, Some(&s.csrf_token))?;
    kapu_cases::withdraw(&mut tx, s.account.id, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}/ugyeim/{id}", t.prefix)).into_response())
}
