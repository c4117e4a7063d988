//! Staff sign-in, second factor, sign-out and password reset. The same logic serves the
//! platform's operators (see `platform.rs`), over the platform schema.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use kapu_staff::{LoginOutcome, Mfa, Session};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Authed, ClientIp, Scope, SessionOnly, check_same_origin, with_header};
use crate::problem::{ApiError, Json, Problem};

/// E-mail and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Sign-in e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A six-digit TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpRequest {
    /// The code from the authenticator app.
    pub code: String,
}

/// A staff member, as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    /// Id.
    pub id: Uuid,
    /// E-mail.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// `clerk`, `admin` or `operator`.
    #[schema(inline)]
    pub role: RoleView,
}

/// A staff role.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RoleView {
    /// Clerk (ügyintéző).
    Clerk,
    /// Tenant admin.
    Admin,
    /// Platform operator.
    Operator,
}

impl From<kapu_staff::Role> for RoleView {
    fn from(r: kapu_staff::Role) -> Self {
        match r {
            kapu_staff::Role::Clerk => RoleView::Clerk,
            kapu_staff::Role::Admin => RoleView::Admin,
            kapu_staff::Role::Operator => RoleView::Operator,
        }
    }
}

impl From<&kapu_staff::Staff> for StaffView {
    fn from(s: &kapu_staff::Staff) -> Self {
        Self { id: s.id, email: s.email.clone(), display_name: s.display_name.clone(), role: s.role.into() }
    }
}

/// Where a session stands on the second factor.
#[derive(Debug, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum MfaView {
    /// A TOTP code must be given next.
    Required,
    /// TOTP must be set up next.
    Enrol,
    /// Signed in fully.
    Passed,
}

impl From<Mfa> for MfaView {
    fn from(m: Mfa) -> Self {
        match m {
            Mfa::Required => MfaView::Required,
            Mfa::Enrol => MfaView::Enrol,
            Mfa::Passed => MfaView::Passed,
        }
    }
}

/// Something the signed-in staff member may do (`kapu_staff::Permission`). The staff app shows
/// a page only to those who hold its permission; the server checks every call anyway.
#[derive(Debug, Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PermissionView {
    /// See the tenant's overview page.
    ViewOverview,
    /// Read clients' personal data.
    ReadClients,
    /// Create and change clients.
    WriteClients,
    /// Create and change staff accounts.
    ManageStaff,
    /// Browse and verify the audit log.
    ViewAudit,
    /// See and retry background jobs.
    ManageJobs,
    /// List, create and change tenants.
    ManageTenants,
    /// Read the case types' definitions and versions.
    ViewCaseTypes,
    /// Save new versions of case types.
    ManageCaseTypes,
    /// Handle cases: the worklist, assigning, asking for information, deciding.
    HandleCases,
    /// Register relying parties of the tenant's OpenID Provider and rotate its keys.
    ManageRelyingParties,
    /// Install, configure and remove the tenant's plugins and read their failed calls.
    ManagePlugins,
    /// See which years the deployment's working-day calendar has a decree for (operators).
    ViewCalendar,
}

impl From<kapu_staff::Permission> for PermissionView {
    fn from(p: kapu_staff::Permission) -> Self {
        use kapu_staff::Permission as P;
        match p {
            P::ViewOverview => Self::ViewOverview,
            P::ReadClients => Self::ReadClients,
            P::WriteClients => Self::WriteClients,
            P::ManageStaff => Self::ManageStaff,
            P::ViewAudit => Self::ViewAudit,
            P::ManageJobs => Self::ManageJobs,
            P::ManageTenants => Self::ManageTenants,
            P::ViewCaseTypes => Self::ViewCaseTypes,
            P::ManageCaseTypes => Self::ManageCaseTypes,
            P::HandleCases => Self::HandleCases,
            P::ManageRelyingParties => Self::ManageRelyingParties,
            P::ManagePlugins => Self::ManagePlugins,
            P::ViewCalendar => Self::ViewCalendar,
        }
    }
}

/// The result of a sign-in step.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// What the session needs next.
    pub mfa: MfaView,
    /// Send this in `X-CSRF-Token` with every unsafe request.
    pub csrf_token: String,
    /// Who signed in.
    pub staff: StaffView,
}

impl From<&Session> for LoginResponse {
    fn from(s: &Session) -> Self {
        Self { mfa: s.mfa.into(), csrf_token: s.csrf_token.clone(), staff: (&s.staff).into() }
    }
}

/// A TOTP secret to put into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
}

/// A tenant, briefly.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantBrief {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
}

/// Which side a session is on.
#[derive(Debug, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ScopeView {
    /// A tenant's staff.
    Tenant,
    /// The platform's operators.
    Platform,
}

/// The current session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Who.
    pub staff: StaffView,
    /// Second-factor state.
    pub mfa: MfaView,
    /// CSRF token for unsafe requests.
    pub csrf_token: String,
    /// Tenant or platform.
    pub scope: ScopeView,
    /// The tenant, on the tenant side.
    pub tenant: Option<TenantBrief>,
    /// What the session may do (`Role::permits` for the staff member's role), in a fixed
    /// order; empty until the second factor is passed (`mfa` is `passed`), since nothing else
    /// is allowed before that.
    pub permissions: Vec<PermissionView>,
}

pub(crate) async fn do_login(state: &AppState, scope: Scope, ip: ClientIp, req: LoginRequest) -> Result<Response, ApiError> {
    state.limiter.check(ip)?;
    let now = Utc::now();
    let ticket = crate::throttle::admit_sign_in(state, &scope, "staff", &kapu_throttle::normalise_email(&req.email), ip, now).await?;
    let mut tx = scope.tx(state).await?;
    let outcome = kapu_staff::login(&mut tx, &req.email, &req.password, &state.config.login_policy, now).await?;
    match outcome {
        LoginOutcome::SignedIn(token, session) => {
            crate::throttle::sign_in_succeeded(state, &mut tx, ticket, now).await?;
            tx.commit().await?;
            let max_age = (session.expires_at - now).num_seconds();
            let cookie = scope.session_cookie(state, &token.0, max_age);
            Ok(with_header(Json(LoginResponse::from(&session)), header::SET_COOKIE, cookie))
        }
        LoginOutcome::InvalidCredentials => Err(ApiError::InvalidCredentials),
    }
}

/// Checks a TOTP code, throttled like sign-in per account (its id) and network: whoever has
/// the password still cannot try codes quickly, and nobody can lock the account.
pub(crate) async fn do_totp(
    state: &AppState,
    mut a: Authed,
    code: &str,
    enrol: bool,
    ip: ClientIp,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = Utc::now();
    let ticket = crate::throttle::admit_sign_in(state, &a.scope, "totp", &a.session.staff.id.to_string(), ip, now).await?;
    let ring = a.tx.keyring(state).await?;
    if enrol {
        kapu_staff::confirm_totp(&mut a.tx, &ring, &mut a.session, code, now).await?;
    } else {
        kapu_staff::verify_totp(&mut a.tx, &ring, &mut a.session, code, now).await?;
    }
    crate::throttle::sign_in_succeeded(state, &mut a.tx, ticket, now).await?;
    a.tx.commit().await?;
    Ok(Json(LoginResponse::from(&a.session)))
}

pub(crate) async fn do_enrol(state: &AppState, mut a: Authed) -> Result<Json<TotpEnrolmentView>, ApiError> {
    if a.session.staff.totp_enabled {
        return Err(ApiError::Conflict("two-factor sign-in is already set up for this account".into()));
    }
    let ring = a.tx.keyring(state).await?;
    let e = kapu_staff::start_totp_enrolment(&mut a.tx, &ring, &a.session, &a.scope.issuer()).await?;
    a.tx.commit().await?;
    Ok(Json(TotpEnrolmentView { secret: e.secret, otpauth_uri: e.otpauth_uri }))
}

pub(crate) async fn do_logout(state: &AppState, mut a: Authed) -> Result<Response, ApiError> {
    kapu_staff::logout(&mut a.tx, &a.session).await?;
    a.tx.commit().await?;
    Ok(with_header(StatusCode::NO_CONTENT, header::SET_COOKIE, a.scope.clear_cookie(state)))
}

fn me_of(scope: &Scope, session: &Session) -> Me {
    let (scope, tenant) = match scope {
        Scope::Tenant(t) => (ScopeView::Tenant, Some(TenantBrief { slug: t.tenant.slug.to_string(), name: t.tenant.name.clone() })),
        Scope::Platform => (ScopeView::Platform, None),
    };
    let permissions = match session.mfa {
        Mfa::Passed => session.staff.role.permissions().map(PermissionView::from).collect(),
        Mfa::Required | Mfa::Enrol => Vec::new(),
    };
    Me { staff: (&session.staff).into(), mfa: session.mfa.into(), csrf_token: session.csrf_token.clone(), scope, tenant, permissions }
}

/// Sign in with e-mail and password.
///
/// Sets the session cookie. Admins must then pass or set up TOTP. Repeated failures for an
/// account from one network (or from one network for any account) make further attempts
/// from there wait a growing time (429 with `Retry-After`); no account is ever locked.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in (the second factor may follow); sets the session cookie"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid-credentials`: the e-mail address or the password is wrong"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`too-many-attempts`: too many failures from this network or for this account")))]
pub async fn login(
    State(state): State<AppState>,
    scope: Scope,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    check_same_origin(&Method::POST, &headers)?;
    do_login(&state, scope, ip, req).await
}

/// Give the TOTP code of an account that has TOTP.
#[utoipa::path(post, path = "/auth/totp", tag = "auth", request_body = TotpRequest,
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

/// Start setting up TOTP: returns a new secret.
#[utoipa::path(post, path = "/auth/totp/enrol", tag = "auth",
    responses((status = 200, body = TotpEnrolmentView), (status = 409, body = Problem, content_type = "application/problem+json", description = "`conflict`: two-factor sign-in is already set up")))]
pub async fn totp_enrol(State(state): State<AppState>, a: Authed) -> Result<Json<TotpEnrolmentView>, ApiError> {
    do_enrol(&state, a).await
}

/// Finish setting up TOTP with a first code.
#[utoipa::path(post, path = "/auth/totp/enrol/confirm", tag = "auth", request_body = TotpRequest,
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

/// Sign out.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, a: Authed) -> Result<Response, ApiError> {
    do_logout(&state, a).await
}

/// The current session.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(a: SessionOnly) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&a.scope, &a.session)))
}

/// Ask for a password reset e-mail.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// The account's e-mail.
    pub email: String,
}

/// Set a new password with the token from the e-mail.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirm {
    /// Token from the link.
    pub token: String,
    /// New password (at least 12 characters).
    pub password: String,
}

/// Send a password reset link to a staff member's e-mail.
///
/// Always answers 202, whether or not the account exists. At most a few e-mails an hour go
/// to one address, and a few dozen are asked for from one network (429 `too-many-emails`
/// past that, also whether or not the account exists).
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, description = "Accepted, whether or not an account has the address"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`too-many-emails` or `too-many-attempts`")))]
pub async fn password_reset(
    State(state): State<AppState>,
    scope: Scope,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    state.limiter.check(ip)?;
    check_same_origin(&Method::POST, &headers)?;
    let Scope::Tenant(t) = &scope else { return Err(ApiError::NotFound("this is a municipality's endpoint".into())) };
    let mut tx = scope.tx(&state).await?;
    // The tenant's configured base URL, never the request's Host.
    let base = t.base_url.clone();
    let link = |token: &str| format!("{base}/admin/#/reset?token={token}");
    let ring = tx.keyring(&state).await?;
    kapu_staff::request_password_reset(tx.tenant()?, &ring, &req.email, &t.tenant.name, link, Utc::now()).await?;
    // Counted in the same transaction: a refusal drops the queued e-mail and the token.
    crate::throttle::admit_mail(&state, &mut tx, "staff-reset", &req.email, ip, Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with a reset token.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204, description = "The password is set; the account's sessions end"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation`: the token is wrong, used or expired (`token`), or the password is too weak (`password`)")))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    scope: Scope,
    Json(req): Json<PasswordResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let mut tx = scope.tx(&state).await?;
    kapu_staff::reset_password(tx.tenant()?, &req.token, req.password, Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
