//! The operators' API on the platform host: sign-in (same flow as staff) and tenants.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{LoginRequest, LoginResponse, Me, TotpEnrolmentView, TotpRequest, do_enrol, do_login, do_logout, do_totp};
use super::jobs::JobView;
use crate::AppState;
use crate::auth::{Authed, ClientIp, Scope, SessionOnly, SignedIn, check_same_origin};
use crate::problem::{ApiError, Json, Problem};

/// Operator sign-in with e-mail and password.
#[utoipa::path(operation_id = "platform_login", post, path = "/auth/login", tag = "platform", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in (the second factor follows); sets the session cookie"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid-credentials`: the e-mail address or the password is wrong"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`too-many-attempts`: too many failures from this network or for this account")))]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    check_same_origin(&Method::POST, &headers)?;
    do_login(&state, Scope::Platform, ip, req).await
}

/// Operator TOTP code.
#[utoipa::path(operation_id = "platform_totp", post, path = "/auth/totp", tag = "platform", request_body = TotpRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid-totp`: the code is wrong or was already used"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`conflict`: the account has no two-factor sign-in set up"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`too-many-attempts`: too many wrong codes")))]
pub async fn totp(
    State(state): State<AppState>,
    ip: ClientIp,
    a: Authed,
    Json(req): Json<TotpRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    do_totp(&state, a, &req.code, false, ip).await
}

/// Start operator TOTP set-up.
#[utoipa::path(operation_id = "platform_totp_enrol", post, path = "/auth/totp/enrol", tag = "platform",
    responses((status = 200, body = TotpEnrolmentView), (status = 409, body = Problem, content_type = "application/problem+json", description = "`conflict`: two-factor sign-in is already set up")))]
pub async fn totp_enrol(State(state): State<AppState>, a: Authed) -> Result<Json<TotpEnrolmentView>, ApiError> {
    do_enrol(&state, a).await
}

/// Finish operator TOTP set-up.
#[utoipa::path(operation_id = "platform_totp_enrol_confirm", post, path = "/auth/totp/enrol/confirm", tag = "platform", request_body = TotpRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid-totp`: the code is wrong or was already used"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`conflict`: no set-up was started"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`too-many-attempts`: too many wrong codes")))]
pub async fn totp_enrol_confirm(
    State(state): State<AppState>,
    ip: ClientIp,
    a: Authed,
    Json(req): Json<TotpRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    do_totp(&state, a, &req.code, true, ip).await
}

/// Operator sign-out.
#[utoipa::path(operation_id = "platform_logout", post, path = "/auth/logout", tag = "platform", responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, a: Authed) -> Result<Response, ApiError> {
    do_logout(&state, a).await
}

/// The current operator session.
#[utoipa::path(operation_id = "platform_me", get, path = "/me", tag = "platform", responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(a: SessionOnly) -> Result<Json<Me>, ApiError> {
    super::auth::me(a).await
}

/// A tenant in the registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Host names.
    pub domains: Vec<String>,
    /// `active` or `suspended`.
    pub status: String,
}

/// All tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantList {
    /// Tenants by slug.
    pub tenants: Vec<TenantView>,
}

/// The tenant registry.
#[utoipa::path(operation_id = "platform_list_tenants", get, path = "/tenants", tag = "platform", responses((status = 200, body = TenantList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_tenants(s: SignedIn) -> Result<Json<TenantList>, ApiError> {
    s.require(kapu_staff::Permission::ManageTenants)?;
    let SignedIn(mut a) = s;
    let tenants = kapu_core::list_tenants(kapu_core::ScopedTx::conn(&mut a.tx)).await?;
    a.tx.commit().await?;
    Ok(Json(TenantList {
        tenants: tenants
            .into_iter()
            .map(|t| TenantView { slug: t.slug.to_string(), name: t.name, domains: t.domains, status: t.status.as_str().to_owned() })
            .collect(),
    }))
}

/// Paging for the dead-letter list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DeadJobsQuery {
    /// At most this many per tenant (default 20; less than 1 counts as 1, more than 500 as 500).
    pub limit: Option<i64>,
}

/// A dead job and its tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantJob {
    /// Tenant slug.
    pub tenant: String,
    /// The job.
    pub job: JobView,
}

/// Dead jobs of all tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadJobs {
    /// Dead jobs, by tenant.
    pub jobs: Vec<TenantJob>,
}

/// Dead-letter jobs across all tenants.
#[utoipa::path(operation_id = "platform_dead_jobs", get, path = "/jobs/dead", tag = "platform", params(DeadJobsQuery),
    responses((status = 200, body = DeadJobs), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn dead_jobs(State(state): State<AppState>, s: SignedIn, Query(q): Query<DeadJobsQuery>) -> Result<Json<DeadJobs>, ApiError> {
    s.require(kapu_staff::Permission::ManageJobs)?;
    let SignedIn(mut a) = s;
    let tenants = kapu_core::list_tenants(kapu_core::ScopedTx::conn(&mut a.tx)).await?;
    a.tx.commit().await?;
    let mut jobs = Vec::new();
    for t in tenants {
        let mut tx = state.db.tenant_tx(&t).await?;
        for j in kapu_jobs::list(&mut tx, Some("dead"), q.limit.unwrap_or(20)).await? {
            jobs.push(TenantJob { tenant: t.slug.to_string(), job: j.into() });
        }
        tx.commit().await?;
    }
    Ok(Json(DeadJobs { jobs }))
}

/// A year of the working-day calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarYear {
    /// The year.
    pub year: i32,
    /// The decree that rearranged its working days, as cited; null when none is on file:
    /// deadlines counted in working days that reach the year wait until it is added.
    #[schema(required = true)]
    pub decree: Option<String>,
}

/// The coming years of the deployment's working-day calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarOutlook {
    /// This year and the next two, in order.
    pub years: Vec<CalendarYear>,
}

/// This year and the next two with the decree on rearranged working days on file for each (or
/// null): the shipped decrees plus the operator's file (`KAPU_CALENDAR_FILE`).
#[utoipa::path(operation_id = "platform_calendar", get, path = "/calendar", tag = "platform",
    responses((status = 200, body = CalendarOutlook), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn calendar(State(state): State<AppState>, s: SignedIn) -> Result<Json<CalendarOutlook>, ApiError> {
    s.require(kapu_staff::Permission::ViewCalendar)?;
    let SignedIn(a) = s;
    a.tx.commit().await?;
    Ok(Json(outlook(&state.calendar, chrono::Datelike::year(&chrono::Utc::now()))))
}

/// `this_year` and the two after it, each with its decree or none.
fn outlook(calendar: &kapu_calendar::Calendar, this_year: i32) -> CalendarOutlook {
    let years = (this_year..=this_year + 2).map(|year| CalendarYear { year, decree: calendar.decree(year).map(str::to_owned) }).collect();
    CalendarOutlook { years }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outlook_names_each_coming_year_and_its_decree_or_none() {
        let c = kapu_calendar::Calendar::hungary();
        let o = outlook(&c, 2026);
        let got: Vec<_> = o.years.iter().map(|y| (y.year, y.decree.as_deref())).collect();
        assert_eq!(got, [(2026, Some("10/2025. (IV. 30.) NGM rendelet")), (2027, None), (2028, None)]);
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["years"][1], serde_json::json!({"year": 2027, "decree": null}));
    }
}
