//! The files of drafts and cases in the attachment store, kept in step with the database.
//!
//! While a form is read, each file streams to a staging key (`<tenant>/staging/<uuid>`),
//! hashed (SHA-256) and counted as it goes ([`StagingWriter`]). The transaction that saves the
//! draft or submits the case writes the file's row in `case_attachment` ([`rows`]: staging
//! key, size, hash), after checking the account's storage quota under a lock ([`reserve`]);
//! only after the
//! commit does [`settle`] move the object to its place beside the case
//! (`<tenant>/cases/<case>/<field>/<n>-<name>`) and clear the staging key. A file taken off a
//! draft keeps its row, marked removed, until its object is deleted after the commit. A
//! request that fails before its commit deletes its staged objects ([`discard`]); whatever a
//! failed commit or a crash leaves (a staged object no row names, a row not yet settled) the
//! self-scheduling [`SWEEP_JOB`] finishes after a grace period.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures_util::TryStreamExt as _;
use kapu_core::{Statement, TenantTx};
use kapu_jobs::{Job, JobContext, JobFailure, JobHandler, NewJob};
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::case::CaseError;
use crate::settings::SettingsError;

/// The job that finishes what requests left unsettled (payload `{}`), per tenant.
pub const SWEEP_JOB: &str = "attachments.sweep";
/// How often the sweeper runs while there is anything to sweep.
pub const SWEEP_INTERVAL: Duration = Duration::hours(1);
/// How long a staged object or an unsettled row is left to the request that made it.
pub const GRACE: Duration = Duration::hours(1);
/// A client's storage quota when the tenant sets none: 200 MiB.
pub const DEFAULT_QUOTA_MIB: u64 = 200;
/// The largest storage quota a tenant may set: 1 TiB.
pub const MAX_QUOTA_MIB: u64 = 1_048_576;

/// Object store parts: 5 MiB (the smallest part S3 accepts), at most this many in flight,
/// so an upload holds about 10 MiB of memory whatever its size.
const PART_SIZE: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 1;

/// The attachment store.
pub type Store = Arc<dyn ObjectStore>;

/// Why the attachment store of a setting cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// The setting looks like a URL but does not parse as one.
    #[error("{setting:?} is not a URL: {source}")]
    Url {
        /// The setting.
        setting: String,
        /// Why.
        source: url::ParseError,
    },
    /// The object store refuses the URL or its options.
    #[error("{setting:?}: {source}")]
    Store {
        /// The setting.
        setting: String,
        /// Why.
        source: object_store::Error,
    },
    /// The local folder cannot be made.
    #[error("{setting:?}: {source}")]
    Folder {
        /// The setting.
        setting: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The attachment store of a setting: an object store URL (`s3://…`, `file:///…`), or else
/// a local folder, made if missing.
pub fn open_store(setting: &str) -> Result<Store, OpenStoreError> {
    let store = |source| OpenStoreError::Store { setting: setting.to_owned(), source };
    if setting.contains("://") {
        let url = url::Url::parse(setting).map_err(|source| OpenStoreError::Url { setting: setting.to_owned(), source })?;
        let options = std::env::vars().filter(|(k, _)| k.starts_with("AWS_")).map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (s, _) = object_store::parse_url_opts(&url, options).map_err(store)?;
        return Ok(Arc::from(s));
    }
    std::fs::create_dir_all(setting).map_err(|source| OpenStoreError::Folder { setting: setting.to_owned(), source })?;
    let local = object_store::local::LocalFileSystem::new_with_prefix(setting).map_err(store)?;
    Ok(Arc::new(local))
}

/// The tenant's upload settings (`uploads` in the tenant's settings, `[uploads]` in
/// `tenant.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadSettings {
    /// How many bytes one portal account's files may take, over all its drafts and cases.
    pub quota_bytes: u64,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self { quota_bytes: DEFAULT_QUOTA_MIB * 1024 * 1024 }
    }
}

impl UploadSettings {
    /// Reads and checks `settings.uploads` (`{"quota_mib": 200}`); the defaults when absent.
    pub fn from_settings(settings: &Value) -> Result<Self, SettingsError> {
        let Some(v) = settings.get("uploads").filter(|v| !v.is_null()) else { return Ok(Self::default()) };
        match v.get("quota_mib") {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(q) => match q.as_u64() {
                Some(mib @ 1..=MAX_QUOTA_MIB) => Ok(Self { quota_bytes: mib * 1024 * 1024 }),
                _ => Err(SettingsError::BadQuota { max: MAX_QUOTA_MIB }),
            },
        }
    }
}

/// Whether `adding` bytes fit beside the `used` ones in `quota`.
pub fn check_quota(used: u64, adding: u64, quota: u64) -> Result<(), CaseError> {
    if adding > 0 && used.saturating_add(adding) > quota {
        return Err(CaseError::OverQuota { used, adding, quota });
    }
    Ok(())
}

/// Sizes for people: `1.5 MiB`, `200 MiB`, `12 kB`.
pub fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = (bytes * 10 + MIB / 2) / MIB;
        if tenths.is_multiple_of(10) { format!("{} MiB", tenths / 10) } else { format!("{}.{} MiB", tenths / 10, tenths % 10) }
    } else {
        format!("{} kB", bytes.div_ceil(1024))
    }
}

/// A file streamed to its staging key, not yet listed by any draft or case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

/// Failures of the attachment store.
#[derive(Debug, thiserror::Error)]
#[error("attachment storage: {0}")]
pub struct StoreError(#[from] object_store::Error);

/// Streams one file to a new staging key, counting and hashing it.
pub struct StagingWriter {
    key: Path,
    upload: WriteMultipart,
    size: u64,
    hash: Sha256,
}

impl std::fmt::Debug for StagingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagingWriter").field("key", &self.key).field("size", &self.size).finish_non_exhaustive()
    }
}

impl StagingWriter {
    /// Starts a multipart upload to a fresh staging key of the tenant.
    pub async fn begin(store: &dyn ObjectStore, tenant: &str) -> Result<Self, StoreError> {
        let key = Path::from(format!("{tenant}/staging/{}", Uuid::now_v7()));
        let upload = store.put_multipart(&key).await?;
        Ok(Self { key, upload: WriteMultipart::new_with_chunk_size(upload, PART_SIZE), size: 0, hash: Sha256::new() })
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes a chunk, waiting while the store is behind (so memory stays bounded).
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.size += chunk.len() as u64;
        self.hash.update(&chunk);
        self.upload.put(chunk);
        Ok(())
    }

    /// Completes the upload.
    pub async fn finish(self) -> Result<Staged, StoreError> {
        self.upload.finish().await?;
        Ok(Staged { key: self.key.to_string(), size: self.size, sha256: self.hash.finalize().into() })
    }

    /// Gives the upload up; nothing stays under its key.
    pub async fn abort(self) {
        if let Err(e) = self.upload.abort().await {
            tracing::warn!(error = %e, "aborting a staged upload failed; the sweeper removes what is left");
        }
    }
}

/// Deletes staged objects that no transaction took (best effort: the sweeper removes any
/// left behind).
pub async fn discard(store: &dyn ObjectStore, staged: &[Staged]) {
    for s in staged {
        match store.delete(&Path::from(s.key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "deleting a staged attachment failed; the sweeper removes it later"),
        }
    }
}

/// A staged file to list under a case: its path there (`<field>/<n>-<name>`).
#[derive(Clone, Debug)]
pub struct NewAttachment {
    /// `<field>/<n>-<name>`.
    pub path: String,
    /// The staged object.
    pub staged: Staged,
}

/// Bytes the account's files take (staged ones included, removed ones not).
pub async fn usage(tx: &mut TenantTx, account_id: Uuid) -> Result<u64, CaseError> {
    let used: i64 =
        sqlx::query_scalar("SELECT COALESCE(sum(size), 0)::bigint FROM case_attachment WHERE account_id = $1 AND removed_at IS NULL")
            .bind(account_id)
            .fetch_one(tx.conn())
            .await?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Every path a case has rows for, listed or waiting to be deleted: a new file never takes
/// one of them, so a deletion after a commit can never hit a newer file.
pub async fn taken_paths(tx: &mut TenantTx, case_id: Uuid) -> Result<Vec<String>, CaseError> {
    Ok(sqlx::query_scalar("SELECT path FROM case_attachment WHERE case_id = $1").bind(case_id).fetch_all(tx.conn()).await?)
}

/// Checks, in the caller's transaction, that `adding` bytes fit in the account's quota, and
/// holds the account's quota lock until the commit, so two requests at once cannot both pass.
pub async fn reserve(tx: &mut TenantTx, account_id: Uuid, adding: u64, settings: &UploadSettings) -> Result<(), CaseError> {
    if adding == 0 {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("case_attachment:{account_id}"))
        .execute(tx.conn())
        .await?;
    check_quota(usage(tx, account_id).await?, adding, settings.quota_bytes)
}

/// The writes that list the staged files under a case and mark the paths taken off it, for
/// the transaction that saves the draft or submits the case (after its own writes, e.g.
/// [deferred](TenantTx::defer) with a submission's). Their objects move or go in [`settle`],
/// after the commit.
pub fn rows(case_id: Uuid, account_id: Uuid, new: &[NewAttachment], removed: &[String], now: DateTime<Utc>) -> Vec<Statement> {
    let removals = removed.iter().map(|path| {
        Statement::new(
            "UPDATE case_attachment SET removed_at = CAST($3 AS timestamptz)
             WHERE case_id = CAST($1 AS uuid) AND path = $2 AND removed_at IS NULL",
            [case_id.into(), path.as_str().into(), now.into()],
        )
    });
    let inserts = new.iter().map(|n| {
        Statement::new(
            "INSERT INTO case_attachment (case_id, path, account_id, size, sha256, staging_key, created_at)
             VALUES (CAST($1 AS uuid), $2, CAST($3 AS uuid), CAST($4 AS bigint), CAST($5 AS bytea), $6, CAST($7 AS timestamptz))",
            [
                case_id.into(),
                n.path.as_str().into(),
                account_id.into(),
                i64::try_from(n.staged.size).unwrap_or(i64::MAX).into(),
                n.staged.sha256.to_vec().into(),
                n.staged.key.as_str().into(),
                now.into(),
            ],
        )
    });
    removals.chain(inserts).collect()
}

/// Marks every file of these cases removed (an erased account's wiped drafts); [`settle`]
/// deletes them after the commit.
pub async fn remove_all(tx: &mut TenantTx, cases: &[Uuid], now: DateTime<Utc>) -> Result<(), CaseError> {
    if !cases.is_empty() {
        sqlx::query("UPDATE case_attachment SET removed_at = $2 WHERE case_id = ANY($1) AND removed_at IS NULL")
            .bind(cases)
            .bind(now)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Makes sure a sweep is scheduled (at `now` plus the interval), before anything is staged:
/// a staged object whose transaction fails is then swept even though no row names it.
pub async fn ensure_sweep(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<(), CaseError> {
    if kapu_jobs::count_open(tx, SWEEP_JOB, None).await? == 0 {
        schedule(tx, now + SWEEP_INTERVAL).await?;
    }
    Ok(())
}

async fn schedule(tx: &mut TenantTx, at: DateTime<Utc>) -> Result<(), CaseError> {
    kapu_jobs::enqueue(tx, NewJob { run_at: Some(at), ..NewJob::new(SWEEP_JOB, &serde_json::json!({})) }).await?;
    Ok(())
}

fn final_key(tenant: &str, case_id: Uuid, path: &str) -> Path {
    Path::from(format!("{tenant}/cases/{case_id}/{path}"))
}

/// What settling did, and what it could not do yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Objects moved from staging to their case.
    pub moved: usize,
    /// Objects deleted (files taken off, or staged objects no row names).
    pub deleted: usize,
    /// Rows or objects left for a later run (a store error, or too young to touch).
    pub left: usize,
}

/// Moves the staged objects of committed rows to their place and deletes the objects of
/// removed rows, then updates the rows, in `tx`: the rows of `case_id`, or with `None` every
/// row unsettled since before `cutoff`. Rows another transaction is settling are skipped.
pub async fn settle_in(
    tx: &mut TenantTx,
    store: &dyn ObjectStore,
    case_id: Option<Uuid>,
    cutoff: DateTime<Utc>,
) -> Result<Settled, CaseError> {
    let tenant = tx.slug().as_str().to_owned();
    let rows: Vec<(Uuid, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT case_id, path, staging_key, removed_at IS NOT NULL FROM case_attachment
         WHERE (staging_key IS NOT NULL OR removed_at IS NOT NULL)
           AND CASE WHEN $1::uuid IS NULL THEN COALESCE(removed_at, created_at) < $2 ELSE case_id = $1 END
         ORDER BY created_at LIMIT 1000 FOR UPDATE SKIP LOCKED",
    )
    .bind(case_id)
    .bind(cutoff)
    .fetch_all(tx.conn())
    .await?;
    let mut done = Settled::default();
    for (case, path, staging, removed) in rows {
        let target = final_key(&tenant, case, &path);
        let result = if removed {
            // Removed rows go; a staged object of one is deleted where it is.
            let key = staging.as_deref().map_or(target, Path::from);
            delete(store, &key).await.map(|()| true)
        } else if let Some(staging) = &staging {
            move_object(store, &Path::from(staging.as_str()), &target).await
        } else {
            Ok(false)
        };
        match result {
            Ok(true) if removed => {
                sqlx::query("DELETE FROM case_attachment WHERE case_id = $1 AND path = $2")
                    .bind(case)
                    .bind(&path)
                    .execute(tx.conn())
                    .await?;
                done.deleted += 1;
            }
            Ok(true) => {
                sqlx::query("UPDATE case_attachment SET staging_key = NULL WHERE case_id = $1 AND path = $2")
                    .bind(case)
                    .bind(&path)
                    .execute(tx.conn())
                    .await?;
                done.moved += 1;
            }
            Ok(false) => done.left += 1,
            Err(e) => {
                tracing::warn!(tenant = %tenant, case = %case, error = %e, "settling an attachment failed; the sweeper tries again");
                done.left += 1;
            }
        }
    }
    Ok(done)
}

async fn delete(store: &dyn ObjectStore, key: &Path) -> Result<(), StoreError> {
    match store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves a staged object; `false` when it is neither staged nor in place (lost: logged).
async fn move_object(store: &dyn ObjectStore, from: &Path, to: &Path) -> Result<bool, StoreError> {
    match store.rename(from, to).await {
        Ok(()) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => match store.head(to).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => {
                tracing::error!(key = %to, "an attachment's staged object is missing");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Settles a case's rows right after the commit that wrote them, in a transaction of its own.
pub async fn settle(
    db: &kapu_core::Db,
    store: &dyn ObjectStore,
    tenant: &kapu_core::TenantSlug,
    case_id: Uuid,
) -> Result<Settled, CaseError> {
    let mut tx = db.tenant_tx_for(tenant).await?;
    let done = settle_in(&mut tx, store, Some(case_id), DateTime::<Utc>::UNIX_EPOCH).await?;
    tx.commit().await?;
    Ok(done)
}

/// The sweep at `now`: settles rows unsettled for longer than `grace` and deletes staged
/// objects older than that which no row names (their transaction failed or never came).
pub async fn sweep(tx: &mut TenantTx, store: &dyn ObjectStore, now: DateTime<Utc>, grace: Duration) -> Result<Settled, CaseError> {
    let cutoff = now - grace;
    let mut done = settle_in(tx, store, None, cutoff).await?;
    let prefix = Path::from(format!("{}/staging", tx.slug().as_str()));
    let objects: Vec<object_store::ObjectMeta> = match store.list(Some(&prefix)).try_collect().await {
        Ok(o) => o,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(StoreError::from(e).into()),
    };
    let keys: Vec<String> = objects.iter().map(|o| o.location.to_string()).collect();
    let named: Vec<String> =
        sqlx::query_scalar("SELECT staging_key FROM case_attachment WHERE staging_key = ANY($1)").bind(&keys).fetch_all(tx.conn()).await?;
    for o in objects {
        let key = o.location.to_string();
        if named.contains(&key) {
            continue;
        }
        if o.last_modified >= cutoff {
            done.left += 1;
            continue;
        }
        delete(store, &o.location).await?;
        done.deleted += 1;
    }
    Ok(done)
}

/// Runs [`SWEEP_JOB`]s; the next one is scheduled while anything is left.
pub struct SweepHandler {
    /// The attachment store.
    pub store: Store,
    /// How long unsettled things are left to their request ([`GRACE`]).
    pub grace: Duration,
}

impl std::fmt::Debug for SweepHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepHandler").field("grace", &self.grace).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl JobHandler for SweepHandler {
    async fn run(&self, job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let retry = |e: CaseError| JobFailure::Retry(e.to_string());
        let now = ctx.now;
        let done = sweep(tx, self.store.as_ref(), now, self.grace).await.map_err(retry)?;
        tracing::info!(tenant = %tx.slug(), moved = done.moved, deleted = done.deleted, left = done.left, "attachment sweep");
        let others = kapu_jobs::count_open(tx, SWEEP_JOB, Some(job.id)).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        if others == 0 && done.left > 0 {
            schedule(tx, now + SWEEP_INTERVAL).await.map_err(retry)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quota_arithmetic() {
        let mib = 1024 * 1024;
        assert!(check_quota(0, 200 * mib, 200 * mib).is_ok(), "exactly the quota fits");
        assert!(check_quota(199 * mib, mib, 200 * mib).is_ok());
        let e = check_quota(199 * mib, mib + 1, 200 * mib).unwrap_err();
        assert!(matches!(e, CaseError::OverQuota { used, adding, quota } if used == 199 * mib && adding == mib + 1 && quota == 200 * mib));
        assert!(check_quota(u64::MAX, u64::MAX, 200 * mib).is_err(), "no overflow");
        assert!(check_quota(300 * mib, 0, 200 * mib).is_ok(), "saving without new files is never refused");
    }

    #[test]
    fn settings_default_and_checked() {
        assert_eq!(UploadSettings::from_settings(&serde_json::json!({})).unwrap().quota_bytes, 200 * 1024 * 1024);
        assert_eq!(UploadSettings::from_settings(&serde_json::json!({"uploads": {"quota_mib": 5}})).unwrap().quota_bytes, 5 * 1024 * 1024);
        assert!(UploadSettings::from_settings(&serde_json::json!({"uploads": {"quota_mib": 0}})).is_err());
        assert!(UploadSettings::from_settings(&serde_json::json!({"uploads": {"quota_mib": "sok"}})).is_err());
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(200 * 1024 * 1024), "200 MiB");
        assert_eq!(human_size(1024 * 1024 + 512 * 1024), "1.5 MiB");
        assert_eq!(human_size(1000), "1 kB");
    }

    #[tokio::test]
    async fn a_staged_file_is_counted_and_hashed_as_it_streams() {
        let dir = std::env::temp_dir().join(format!("kapu-staging-{}", Uuid::now_v7()));
        let store = open_store(dir.to_str().unwrap()).unwrap();
        let mut w = StagingWriter::begin(store.as_ref(), "t").await.unwrap();
        let chunk = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
        for _ in 0..4 {
            w.write(chunk.clone()).await.unwrap();
        }
        let staged = w.finish().await.unwrap();
        assert_eq!(staged.size, 12 * 1024 * 1024);
        let mut h = Sha256::new();
        for _ in 0..4 {
            h.update(&chunk);
        }
        assert_eq!(staged.sha256, <[u8; 32]>::from(h.finalize()));
        let stored = store.get(&Path::from(staged.key.as_str())).await.unwrap().bytes().await.unwrap();
        assert_eq!(stored.len() as u64, staged.size);
        discard(store.as_ref(), std::slice::from_ref(&staged)).await;
        assert!(store.head(&Path::from(staged.key.as_str())).await.is_err(), "discarded");
        let _ = std::fs::remove_dir_all(dir);
    }
}
