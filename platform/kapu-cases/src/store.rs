//! Case types and their versions in the tenant's schema (`case_type`, `case_type_version`).

use chrono::{DateTime, Utc};
use kapu_core::TenantTx;
use serde::Serialize;
use uuid::Uuid;

use crate::check::CaseType;
use crate::definition::Definition;

/// Errors of the case type store.
#[derive(Debug, thiserror::Error)]
pub enum CaseTypeError {
    /// No case type with that code (or no such version).
    #[error("{0}")]
    NotFound(String),
    /// A form filled in under an older version.
    #[error(
        "the form was filled in under version {submitted} of {code:?}, but version {current} is in force now; reload the form and fill it in again"
    )]
    StaleVersion {
        /// The case type.
        code: String,
        /// The version the form came from.
        submitted: i32,
        /// The version in force.
        current: i32,
    },
    /// A stored definition no longer parses (written by an older Kapu).
    #[error("stored definition of {code:?} version {version} cannot be read: {message}")]
    Corrupt {
        /// The case type.
        code: String,
        /// The version.
        version: i32,
        /// Why.
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// What saving a definition did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SavedVersion {
    /// The case type.
    pub code: String,
    /// The version now in force.
    pub version: i32,
    /// Whether a new version was written (false: the definition was unchanged).
    pub created: bool,
}

/// Saves a checked definition as the next version of its case type, unless it is the
/// same as the version in force. Old versions are kept.
pub async fn save_version(tx: &mut TenantTx, ct: &CaseType, created_by: &str, now: DateTime<Utc>) -> Result<SavedVersion, CaseTypeError> {
    let def = &ct.definition;
    let definition =
        serde_json::to_value(def).map_err(|e| CaseTypeError::Corrupt { code: def.code.clone(), version: 0, message: e.to_string() })?;
    sqlx::query(
        "INSERT INTO case_type (id, code, name, current_version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(&def.code)
    .bind(&def.name)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let (id, current): (Uuid, i32) =
        sqlx::query_as("SELECT id, current_version FROM case_type WHERE code = $1 FOR UPDATE").bind(&def.code).fetch_one(tx.conn()).await?;
    let current_hash: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT content_hash FROM case_type_version WHERE case_type_id = $1 AND version = $2")
            .bind(id)
            .bind(current)
            .fetch_optional(tx.conn())
            .await?;
    let version = match current_hash {
        Some(h) if h == ct.content_hash => return Ok(SavedVersion { code: def.code.clone(), version: current, created: false }),
        Some(_) => current + 1,
        None => 1,
    };
    sqlx::query(
        "INSERT INTO case_type_version (case_type_id, version, content_hash, source, definition, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(version)
    .bind(&ct.content_hash[..])
    .bind(&ct.source)
    .bind(&definition)
    .bind(now)
    .bind(created_by)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE case_type SET current_version = $2, name = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(version)
        .bind(&def.name)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(SavedVersion { code: def.code.clone(), version, created: true })
}

/// A case type in the list.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CaseTypeSummary {
    /// Code.
    pub code: String,
    /// Name of the version in force.
    pub name: String,
    /// The version in force.
    pub current_version: i32,
    /// When the version in force was saved.
    pub updated_at: DateTime<Utc>,
}

/// Every case type of the tenant, by code.
pub async fn list_case_types(tx: &mut TenantTx) -> Result<Vec<CaseTypeSummary>, CaseTypeError> {
    Ok(sqlx::query_as("SELECT code, name, current_version, updated_at FROM case_type ORDER BY code").fetch_all(tx.conn()).await?)
}

/// One stored version.
#[derive(Clone, Debug, Serialize)]
pub struct StoredVersion {
    /// Code.
    pub code: String,
    /// Version number.
    pub version: i32,
    /// Whether it is the version in force.
    pub current: bool,
    /// SHA-256 of the source, hex.
    pub content_hash: String,
    /// The file's text.
    pub source: String,
    /// The parsed definition.
    pub definition: Definition,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// Who saved it (`tenant apply` or a staff member's e-mail).
    pub created_by: String,
}

/// A version of a case type; the one in force when `version` is `None`.
pub async fn get_version(tx: &mut TenantTx, code: &str, version: Option<i32>) -> Result<StoredVersion, CaseTypeError> {
    type Row = (i32, i32, Vec<u8>, String, serde_json::Value, DateTime<Utc>, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT v.version, t.current_version, v.content_hash, v.source, v.definition, v.created_at, v.created_by
         FROM case_type t JOIN case_type_version v ON v.case_type_id = t.id
         WHERE t.code = $1 AND v.version = coalesce($2, t.current_version)",
    )
    .bind(code)
    .bind(version)
    .fetch_optional(tx.conn())
    .await?;
    let Some((version, current, hash, source, definition, created_at, created_by)) = row else {
        return Err(CaseTypeError::NotFound(match version {
            Some(v) => format!("case type {code:?} has no version {v}"),
            None => format!("there is no case type {code:?}"),
        }));
    };
    let definition: Definition = serde_json::from_value(definition).map_err(|e| CaseTypeError::Corrupt {
        code: code.to_owned(),
        version,
        message: e.to_string(),
    })?;
    Ok(StoredVersion {
        code: code.to_owned(),
        version,
        current: version == current,
        content_hash: hex::encode(hash),
        source,
        definition,
        created_at,
        created_by,
    })
}

/// The version a form was filed against, in one query when it is the current one (the
/// usual case); otherwise the error [`check_form_version`] gives.
pub async fn submitted_version(tx: &mut TenantTx, code: &str, submitted: i32) -> Result<StoredVersion, CaseTypeError> {
    match get_version(tx, code, Some(submitted)).await {
        Ok(v) if v.current => Ok(v),
        Ok(_) | Err(CaseTypeError::NotFound(_)) => {
            check_form_version(tx, code, submitted).await?;
            get_version(tx, code, Some(submitted)).await
        }
        Err(e) => Err(e),
    }
}

/// Refuses a form filled in under a version that is no longer in force.
pub async fn check_form_version(tx: &mut TenantTx, code: &str, submitted: i32) -> Result<(), CaseTypeError> {
    let current: Option<i32> =
        sqlx::query_scalar("SELECT current_version FROM case_type WHERE code = $1").bind(code).fetch_optional(tx.conn()).await?;
    match current {
        None => Err(CaseTypeError::NotFound(format!("there is no case type {code:?}"))),
        Some(c) if c != submitted => Err(CaseTypeError::StaleVersion { code: code.to_owned(), submitted, current: c }),
        Some(_) => Ok(()),
    }
}
