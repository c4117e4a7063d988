//! The tenant overview and staff administration.

use axum::extract::State;
use axum::http::StatusCode;
use kapu_core::Refusal;
use kapu_staff::{NewStaff, Permission, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{RoleView, StaffView};
use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// A tenant as its staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantInfo {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Host names.
    pub domains: Vec<String>,
}

/// Job counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobCounts {
    /// Waiting or running.
    pub pending: i64,
    /// Failed for good; needs attention.
    pub dead: i64,
}

/// The tenant's overview page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// The tenant.
    pub tenant: TenantInfo,
    /// Active staff accounts.
    pub staff_count: i64,
    /// Registered clients.
    pub client_count: i64,
    /// Background jobs.
    pub jobs: JobCounts,
}

/// The tenant's overview.
#[utoipa::path(get, path = "/overview", tag = "tenant",
    responses((status = 200, body = Overview), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn overview(s: SignedIn) -> Result<Json<Overview>, ApiError> {
    s.require(Permission::ViewOverview)?;
    let SignedIn(mut a) = s;
    let crate::auth::Scope::Tenant(t) = &a.scope else { return Err(ApiError::Forbidden) };
    let tenant = TenantInfo { slug: t.tenant.slug.to_string(), name: t.tenant.name.clone(), domains: t.tenant.domains.clone() };
    let tx = a.tx.tenant()?;
    let staff_count = kapu_staff::count_staff(tx).await?;
    let client_count = kapu_clients::count(tx).await?;
    let (pending, dead) = kapu_jobs::counts(tx).await?;
    a.tx.commit().await?;
    Ok(Json(Overview { tenant, staff_count, client_count, jobs: JobCounts { pending, dead } }))
}

/// Staff accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    /// By e-mail.
    pub staff: Vec<StaffView>,
}

/// All staff accounts of the tenant.
#[utoipa::path(get, path = "/staff", tag = "tenant",
    responses((status = 200, body = StaffList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_staff(s: SignedIn) -> Result<Json<StaffList>, ApiError> {
    s.require(Permission::ManageStaff)?;
    let SignedIn(mut a) = s;
    let staff = kapu_staff::list_staff(&mut a.tx).await?;
    a.tx.commit().await?;
    Ok(Json(StaffList { staff: staff.iter().map(StaffView::from).collect() }))
}

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewStaffRequest {
    /// Sign-in e-mail.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// `clerk` or `admin`.
    pub role: RoleView,
    /// Initial password (at least 12 characters).
    pub password: String,
}

/// Create a staff account.
#[utoipa::path(post, path = "/staff", tag = "tenant", request_body = NewStaffRequest,
    responses((status = 201, body = StaffView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_staff(
    State(_state): State<AppState>,
    s: SignedIn,
    Json(req): Json<NewStaffRequest>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    s.require(Permission::ManageStaff)?;
    let role = match req.role {
        RoleView::Clerk => Role::Clerk,
        RoleView::Admin => Role::Admin,
        RoleView::Operator => return Err(ApiError::field("role", Refusal::NotInList { allowed: vec!["clerk".into(), "admin".into()] })),
    };
    let SignedIn(mut a) = s;
    let staff =
        kapu_staff::create_staff(&mut a.tx, NewStaff { email: req.email, display_name: req.display_name, role, password: req.password })
            .await?;
    a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(StaffView::from(&staff))))
}
