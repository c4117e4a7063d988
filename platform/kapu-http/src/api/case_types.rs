//! Case types for tenant admins: list, read a version, check and save a new one.

use axum::extract::Path;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kapu_cases::StoredVersion;
use kapu_core::Refusal;
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::problem::{ApiError, FieldError, Json, Problem};

/// A case type in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseTypeItem {
    /// Code, e.g. `parking-permit`.
    pub code: String,
    /// Name of the version in force.
    pub name: String,
    /// The version in force.
    pub current_version: i32,
    /// When the version in force was saved.
    pub updated_at: DateTime<Utc>,
}

/// The tenant's case types.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseTypeList {
    /// By code.
    pub case_types: Vec<CaseTypeItem>,
}

/// One version of a case type.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseTypeVersionView {
    /// Code.
    pub code: String,
    /// Version number.
    pub version: i32,
    /// Whether it is the version in force.
    pub current: bool,
    /// SHA-256 of the source, hex.
    pub content_hash: String,
    /// The definition file's text (TOML).
    pub source: String,
    /// The parsed definition.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// Who saved it.
    pub created_by: String,
}

impl From<StoredVersion> for CaseTypeVersionView {
    fn from(v: StoredVersion) -> Self {
        Self {
            code: v.code,
            version: v.version,
            current: v.current,
            content_hash: v.content_hash,
            source: v.source,
            definition: serde_json::to_value(&v.definition).unwrap_or_default(),
            created_at: v.created_at,
            created_by: v.created_by,
        }
    }
}

/// A new version of a case type, as the text of its definition file.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCaseTypeVersion {
    /// The definition (`<code>.toml`).
    pub source: String,
    /// Example cases (`<code>.examples.toml`); they must all pass for the version to be saved.
    #[serde(default)]
    pub examples: Option<String>,
    /// Only check; save nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What one example case came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExampleResult {
    /// The example's name.
    pub name: String,
    /// `grant`, `refuse`, `refer`, `ineligible` or `invalid`.
    pub outcome: String,
    /// The rule or pre-check that decided.
    pub decided_by: Option<String>,
    /// Net fee in forints.
    pub fee: Option<String>,
    /// How it differs from what the example expects.
    pub mismatches: Vec<String>,
}

/// The result of checking (and saving) a definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedCaseType {
    /// Code.
    pub code: String,
    /// The version in force after saving; absent for a dry run.
    pub version: Option<i32>,
    /// Whether a new version was written.
    pub created: bool,
    /// The examples' results.
    pub examples: Vec<ExampleResult>,
}

/// The tenant's case types.
#[utoipa::path(get, path = "/case-types", tag = "case types",
    responses((status = 200, body = CaseTypeList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_case_types(s: SignedIn) -> Result<Json<CaseTypeList>, ApiError> {
    s.require(Permission::ViewCaseTypes)?;
    let SignedIn(mut a) = s;
    let list = kapu_cases::list_case_types(a.tx.tenant()?).await?;
    a.tx.commit().await?;
    let case_types = list
        .into_iter()
        .map(|c| CaseTypeItem { code: c.code, name: c.name, current_version: c.current_version, updated_at: c.updated_at })
        .collect();
    Ok(Json(CaseTypeList { case_types }))
}

/// The version of a case type in force.
#[utoipa::path(get, path = "/case-types/{code}", tag = "case types", params(("code" = String, Path, description = "Case type code")),
    responses((status = 200, body = CaseTypeVersionView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_case_type(s: SignedIn, Path(code): Path<String>) -> Result<Json<CaseTypeVersionView>, ApiError> {
    s.require(Permission::ViewCaseTypes)?;
    let SignedIn(mut a) = s;
    let v = kapu_cases::get_version(a.tx.tenant()?, &code, None).await?;
    a.tx.commit().await?;
    Ok(Json(v.into()))
}

/// One version of a case type; old versions are kept.
#[utoipa::path(get, path = "/case-types/{code}/versions/{version}", tag = "case types",
    params(("code" = String, Path, description = "Case type code"), ("version" = i32, Path, description = "Version number")),
    responses((status = 200, body = CaseTypeVersionView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_case_type_version(s: SignedIn, Path((code, version)): Path<(String, i32)>) -> Result<Json<CaseTypeVersionView>, ApiError> {
    s.require(Permission::ViewCaseTypes)?;
    let SignedIn(mut a) = s;
    let v = kapu_cases::get_version(a.tx.tenant()?, &code, Some(version)).await?;
    a.tx.commit().await?;
    Ok(Json(v.into()))
}

/// Check a definition and save it as the next version of the case type (unless it is
/// unchanged). A bad definition is refused with each error's path and line.
#[utoipa::path(post, path = "/case-types/{code}/versions", tag = "case types", request_body = NewCaseTypeVersion,
    params(("code" = String, Path, description = "Case type code; the definition's code must match")),
    responses((status = 201, body = SavedCaseType, description = "A new version was saved"), (status = 200, body = SavedCaseType, description = "Unchanged, or a dry run"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_case_type_version(
    s: SignedIn,
    Path(code): Path<String>,
    Json(req): Json<NewCaseTypeVersion>,
) -> Result<(StatusCode, Json<SavedCaseType>), ApiError> {
    s.require(Permission::ManageCaseTypes)?;
    if !kapu_cases::is_code(&code) {
        return Err(ApiError::NotFound(format!("{code:?} is not a case type code")));
    }
    let now = Utc::now();
    let file = format!("{code}.toml");
    let ct = kapu_cases::check_definition(&file, &req.source, now.date_naive())?;
    let mut examples = Vec::new();
    if let Some(text) = &req.examples {
        let ex_file = format!("{code}.examples.toml");
        let parsed = kapu_cases::parse_examples(&ex_file, text).map_err(|e| ApiError::from(vec![e]))?;
        let mut failures = Vec::new();
        for (i, ex) in parsed.iter().enumerate() {
            let run = kapu_cases::run_example(&ct, ex, now.date_naive());
            if !run.passed() {
                failures.push(FieldError {
                    file: Some(ex_file.clone()),
                    ..FieldError::new(
                        format!("example[{i}]"),
                        &Refusal::ExampleFailed { example: ex.name.clone(), mismatches: run.mismatches.clone() },
                    )
                });
            }
            examples.push(ExampleResult {
                name: run.name,
                outcome: run.outcome,
                decided_by: run.evaluation.as_ref().and_then(|e| e.decided_by.clone()),
                fee: run.evaluation.as_ref().and_then(|e| e.fee.as_ref()).map(|f| f.net.to_string()),
                mismatches: run.mismatches,
            });
        }
        if !failures.is_empty() {
            return Err(ApiError::Validation(failures));
        }
    }
    if req.dry_run {
        return Ok((StatusCode::OK, Json(SavedCaseType { code, version: None, created: false, examples })));
    }
    let SignedIn(mut a) = s;
    let author = a.session.staff.email.clone();
    let saved = kapu_cases::save_version(a.tx.tenant()?, &ct, &author, now).await?;
    a.tx.commit().await?;
    let status = if saved.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(SavedCaseType { code, version: Some(saved.version), created: saved.created, examples })))
}
