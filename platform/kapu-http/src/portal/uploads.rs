//! Reading an application form: text fields into a map, each file streamed chunk by chunk
//! to a staging key of the attachment store (`kapu_cases::attachments`), never held whole.
//! Its type is sniffed from its first bytes, and its field's size limit and the client's
//! storage quota are enforced as it streams: a file that fails a check is read to its end
//! without being stored, so the form can say why. Whatever happens to the request after
//! this, its staged objects are either listed by the committed transaction or discarded.

use kapu_core::Refusal;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::{Field as Part, MultipartError};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use kapu_cases::attachments::{self, NewAttachment, Staged, StagingWriter};
use kapu_cases::{FieldKind, StoredVersion};
use kapu_core::TenantTx;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::account::check_form;
use super::text;
use crate::AppState;
use crate::problem::ApiError;
use crate::tenancy::ResolvedTenant;

/// How much of a file is read before its type is sniffed.
const SNIFF: usize = 8192;

/// A file of the form.
pub(crate) struct Upload {
    /// Its field.
    pub(crate) field: String,
    /// The name the browser gave.
    pub(crate) name: String,
    /// The type its content shows, not what the browser or the name claims.
    pub(crate) content_type: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// The staged object; `None` when a check refused the file while it streamed.
    pub(crate) staged: Option<Staged>,
    /// Refused for the client's storage quota alone.
    pub(crate) over_quota: bool,
}

/// A posted form.
pub(crate) struct Posted {
    /// The text fields.
    pub(crate) fields: HashMap<String, String>,
    /// The files.
    pub(crate) uploads: Vec<Upload>,
}

impl Posted {
    /// The objects this request staged.
    pub(crate) fn staged(&self) -> Vec<Staged> {
        self.uploads.iter().filter_map(|u| u.staged.clone()).collect()
    }

    /// When a file was refused for the quota: the bytes the form's acceptable files take.
    pub(crate) fn over_quota(&self) -> Option<u64> {
        self.uploads
            .iter()
            .any(|u| u.over_quota)
            .then(|| self.uploads.iter().filter(|u| u.over_quota || u.staged.is_some()).map(|u| u.size).sum())
    }
}

/// What the files are read against.
pub(crate) struct Checks<'a> {
    /// The case type whose form this is.
    pub(crate) code: &'a str,
    /// The session's CSRF token: no file is stored for a post that lacks it.
    pub(crate) csrf: &'a str,
    /// Bytes left of the client's storage quota.
    pub(crate) quota_left: u64,
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::field("form", Refusal::Unreadable { detail: e.body_text() })
    }
}

fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("storing an attachment: {e}"))
}

/// Reads the multipart form, staging its files. On an error nothing it staged is left.
pub(crate) async fn read_form(
    state: &AppState,
    t: &ResolvedTenant,
    headers: &HeaderMap,
    checks: Checks<'_>,
    mut mp: Multipart,
) -> Result<Posted, ApiError> {
    let mut posted = Posted { fields: HashMap::new(), uploads: Vec::new() };
    let mut reader = Reader { state, t, headers, checks, version: None };
    let read = async {
        while let Some(part) = mp.next_field().await.map_err(multipart_error)? {
            reader.part(part, &mut posted).await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(e) = read {
        if let Ok(store) = &state.attachments {
            attachments::discard(store.as_ref(), &posted.staged()).await;
        }
        return Err(e);
    }
    Ok(posted)
}

struct Reader<'a> {
    state: &'a AppState,
    t: &'a ResolvedTenant,
    headers: &'a HeaderMap,
    checks: Checks<'a>,
    version: Option<StoredVersion>,
}

impl Reader<'_> {
    async fn part(&mut self, mut part: Part<'_>, posted: &mut Posted) -> Result<(), ApiError> {
        let field = part.name().unwrap_or("").to_owned();
        let Some(name) = part.file_name().map(str::to_owned) else {
            let value = part.text().await.map_err(multipart_error)?;
            posted.fields.insert(field, value);
            return Ok(());
        };
        // The first bytes, for the type.
        let mut head: Vec<Bytes> = Vec::new();
        let mut size = 0u64;
        let mut ended = false;
        while size < SNIFF as u64 {
            match part.chunk().await.map_err(multipart_error)? {
                Some(c) => {
                    size += c.len() as u64;
                    head.push(c);
                }
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if name.is_empty() && size == 0 {
            return Ok(()); // a file input left empty
        }
        // Our own form sends its token and version before any file: a foreign post stores nothing.
        check_form(&Method::POST, self.headers, &posted.fields, Some(self.checks.csrf))?;
        let version = self.version(&posted.fields).await?;
        let Some(spec) = version.definition.fields.iter().find(|f| f.name == field && f.kind == FieldKind::File).cloned() else {
            drain(&mut part).await?;
            return Ok(()); // not a file field of this form
        };
        let sniffed: Vec<u8> = head.iter().flat_map(|c| c.iter().copied()).take(SNIFF).collect();
        let content_type = infer::get(&sniffed).map_or("application/octet-stream", |k| k.mime_type()).to_owned();
        let max = spec.max_size_kb.map_or(u64::MAX, |kb| u64::from(kb) * 1024);
        let accepted = spec.accept.iter().any(|a| a.eq_ignore_ascii_case(&content_type));
        let left = self.checks.quota_left;
        let mut writer = None;
        let mut over_quota = false;
        if accepted && size <= max {
            if size > left {
                over_quota = true;
            } else {
                let store = self.state.attachments.as_ref().map_err(|e| ApiError::Internal(format!("attachment storage: {e}")))?;
                let mut w = StagingWriter::begin(store.as_ref(), self.t.tenant.slug.as_str()).await.map_err(store_error)?;
                for c in head {
                    if let Err(e) = w.write(c).await {
                        w.abort().await;
                        return Err(store_error(e));
                    }
                }
                writer = Some(w);
            }
        }
        while !ended {
            let chunk = match part.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    ended = true;
                    continue;
                }
                Err(e) => {
                    if let Some(w) = writer.take() {
                        w.abort().await;
                    }
                    return Err(multipart_error(e));
                }
            };
            size += chunk.len() as u64;
            if over_quota && size > max {
                over_quota = false; // too large anyway: that is what the form says
            }
            let Some(mut w) = writer.take() else { continue };
            if size > max || size > left {
                // Read on without storing: the form says how large it was.
                over_quota = size <= max;
                w.abort().await;
                continue;
            }
            if let Err(e) = w.write(chunk).await {
                w.abort().await;
                return Err(store_error(e));
            }
            writer = Some(w);
        }
        let staged = match writer {
            Some(w) => Some(w.finish().await.map_err(store_error)?),
            None => None,
        };
        if let Some(s) = &staged {
            self.checks.quota_left -= s.size;
        }
        posted.uploads.push(Upload { field, name, content_type, size, staged, over_quota });
        Ok(())
    }

    /// The form's version (its `form_version` field comes before any file), read once.
    async fn version(&mut self, fields: &HashMap<String, String>) -> Result<&StoredVersion, ApiError> {
        if self.version.is_none() {
            let number: i32 = fields
                .get("form_version")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| ApiError::field("form_version", Refusal::Required))?;
            let mut tx = self.state.db.tenant_tx(&self.t.tenant).await?;
            let v = kapu_cases::get_version(&mut tx, self.checks.code, Some(number)).await?;
            tx.commit().await?;
            self.version = Some(v);
        }
        self.version.as_ref().ok_or_else(|| ApiError::Internal("the form's version was not read".into()))
    }
}

async fn drain(part: &mut Part<'_>) -> Result<(), ApiError> {
    while part.chunk().await.map_err(multipart_error)?.is_some() {}
    Ok(())
}

/// The client's storage quota as the request found it.
pub(crate) struct Quota {
    /// The tenant's setting.
    pub(crate) settings: attachments::UploadSettings,
    /// Bytes the client's files took when the request came.
    pub(crate) used: u64,
}

/// The quota's refusal, worded for the portal.
pub(crate) fn quota_message(lang: &str, used: u64, adding: u64, quota: u64) -> String {
    let (used, adding, quota) = (attachments::human_size(used), attachments::human_size(adding), attachments::human_size(quota));
    text(lang, "err_quota").replace("{quota}", &quota).replace("{used}", &used).replace("{adding}", &adding)
}

/// Where a form's handling stopped before its commit.
pub(crate) enum Filed {
    /// Accepted: commit, then settle the files of `case` (`None`: this post's files are not
    /// kept, e.g. a repeated submission) and answer.
    Commit { tx: TenantTx, case: Option<Uuid>, response: Response },
    /// Refused (the transaction is rolled back): this post's files go.
    Refused(Response),
}

/// Commits an accepted form and moves its files into place, or discards what it staged.
/// A commit that fails without the database saying so may still have happened: its files
/// are then left to the sweeper, which keeps what a committed row names.
pub(crate) async fn finish(
    state: &AppState,
    t: &ResolvedTenant,
    posted: &Posted,
    filed: Result<Filed, ApiError>,
) -> Result<Response, ApiError> {
    let store = state.attachments.as_ref().ok();
    let staged = posted.staged();
    let discard = || discard_all(store, &staged);
    match filed {
        Ok(Filed::Commit { tx, case, response }) => match tx.commit().await {
            Ok(()) => {
                match (case, store) {
                    (Some(id), Some(store)) => {
                        if let Err(e) = attachments::settle(&state.db, store.as_ref(), &t.tenant.slug, id).await {
                            tracing::warn!(error = %e, "moving attachments into place failed; the sweeper finishes it");
                        }
                    }
                    (None, _) => discard().await,
                    (Some(_), None) => {}
                }
                Ok(response)
            }
            Err(e) => {
                if matches!(&e, kapu_core::CoreError::Database(sqlx::Error::Database(_))) {
                    discard().await; // refused by the database: certainly rolled back
                }
                Err(e.into())
            }
        },
        Ok(Filed::Refused(response)) => {
            discard().await;
            Ok(response)
        }
        Err(e) => {
            discard().await;
            Err(e)
        }
    }
}

async fn discard_all(store: Option<&attachments::Store>, staged: &[Staged]) {
    if let Some(store) = store {
        attachments::discard(store.as_ref(), staged).await;
    }
}

/// The files of the form's file fields: those a draft already holds (less those ticked for
/// removal, `remove.<field>.<stored name>`) followed by the new uploads, and the new files to
/// list and the paths taken off. Each file carries the name it is stored under beside the
/// case (`<n>-<name>`, `n` counting on within its field past every path the case has rows
/// for, `taken`), which a draft keeps so that its files stay attached until it is submitted.
/// A file refused while it streamed is listed (its checks then say why) but has no object.
pub(crate) fn merge_files(
    def_fields: &[kapu_cases::Field],
    draft: &Value,
    fields: &HashMap<String, String>,
    uploads: &[Upload],
    taken: &[String],
) -> (Map<String, Value>, Vec<NewAttachment>, Vec<String>) {
    let number = |stored: &str| stored.split('-').next().and_then(|n| n.parse::<u64>().ok());
    let mut out = Map::new();
    let mut new = Vec::new();
    let mut removed = Vec::new();
    for f in def_fields.iter().filter(|f| f.kind == FieldKind::File) {
        let mut list = Vec::new();
        let mut next = taken
            .iter()
            .filter_map(|p| p.split_once('/').filter(|(field, _)| *field == f.name).and_then(|(_, stored)| number(stored)))
            .map(|n| n + 1)
            .max()
            .unwrap_or(0);
        for x in draft.get(&f.name).and_then(Value::as_array).into_iter().flatten() {
            let Some(stored) = x.get("stored").and_then(Value::as_str) else { continue };
            next = next.max(number(stored).unwrap_or(0) + 1);
            if fields.contains_key(&format!("remove.{}.{stored}", f.name)) {
                removed.push(format!("{}/{stored}", f.name));
            } else {
                list.push(x.clone());
            }
        }
        for u in uploads.iter().filter(|u| u.field == f.name) {
            let Some(staged) = &u.staged else {
                list.push(json!({ "name": u.name, "content_type": u.content_type, "size": u.size }));
                continue;
            };
            let safe: String = u.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
            let stored = format!("{next}-{safe}");
            next += 1;
            list.push(json!({ "name": u.name, "content_type": u.content_type, "size": u.size, "stored": stored }));
            new.push(NewAttachment { path: format!("{}/{stored}", f.name), staged: staged.clone() });
        }
        if !list.is_empty() {
            out.insert(f.name.clone(), Value::Array(list));
        }
    }
    (out, new, removed)
}

/// Deletes, after the commit that marked them removed, the files of an erased account's
/// wiped drafts (and any a draft held from before files had rows).
pub(crate) async fn delete_attachments(state: &AppState, t: &ResolvedTenant, cases: &[Uuid]) -> Result<(), ApiError> {
    use futures_util::TryStreamExt as _;
    if cases.is_empty() {
        return Ok(());
    }
    let store = state.attachments.as_ref().map_err(|e| ApiError::Internal(format!("attachment storage: {e}")))?;
    for id in cases {
        attachments::settle(&state.db, store.as_ref(), &t.tenant.slug, *id).await?;
        let prefix = object_store::path::Path::from(format!("{}/cases/{id}", t.tenant.slug.as_str()));
        let files: Vec<_> =
            store.list(Some(&prefix)).try_collect().await.map_err(|e| ApiError::Internal(format!("listing attachments: {e}")))?;
        for f in files {
            store.delete(&f.location).await.map_err(|e| ApiError::Internal(format!("removing an attachment: {e}")))?;
        }
    }
    Ok(())
}
