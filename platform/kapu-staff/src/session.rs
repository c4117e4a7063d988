//! Accounts, sign-in, sessions and password reset. Sign-in is throttled by the caller
//! (`kapu-throttle`, per account and network); no account is ever locked here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Duration, Utc};
use kapu_core::{CoreError, Db, ScopedTx, Statement, TenantSlug, TenantTx};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use thiserror::Error;
use uuid::Uuid;

use crate::Role;
use crate::password::{PasswordPolicyError, check_password_policy, hash_password, verify_password};

/// Errors of staff accounts.
#[derive(Debug, Error)]
pub enum StaffError {
    /// The e-mail is taken in this scope.
    #[error("a staff member with e-mail {0:?} already exists")]
    DuplicateEmail(String),
    /// The password breaks the policy.
    #[error(transparent)]
    WeakPassword(#[from] PasswordPolicyError),
    /// The e-mail address is not plausible.
    #[error("{0:?} is not a valid e-mail address")]
    InvalidEmail(String),
    /// A role that does not belong in this scope.
    #[error("role {0} cannot be given here")]
    WrongRole(&'static str),
    /// The reset link is unknown, used or expired.
    #[error("this password reset link is invalid or has expired; ask for a new one")]
    InvalidResetToken,
    /// The TOTP code is wrong or was already used.
    #[error("the one-time code is wrong or was already used")]
    InvalidTotp,
    /// No TOTP enrolment is under way.
    #[error("no two-factor enrolment is under way; start one first")]
    NoEnrolment,
    /// The password could not be hashed; nothing was stored.
    #[error(transparent)]
    PasswordHash(#[from] kapu_crypto::password::HashError),
    /// Key handling failed.
    #[error("key error: {0}")]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// Queueing the e-mail failed.
    #[error("job error: {0}")]
    Jobs(#[from] kapu_jobs::JobsError),
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Tenant database access failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Session lifetimes.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// A session's absolute lifetime.
    pub session_ttl: Duration,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self { session_ttl: Duration::hours(10), idle_timeout: Duration::minutes(30) }
    }
}

/// A staff member (or operator), without secrets.
#[derive(Clone, Debug, Serialize)]
pub struct Staff {
    /// Id.
    pub id: Uuid,
    /// Sign-in e-mail.
    pub email: String,
    /// Name shown in the UI and the audit log.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Whether TOTP is set up.
    pub totp_enabled: bool,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: Uuid,
    email: String,
    display_name: String,
    role: String,
    totp_enabled: bool,
}

impl StaffRow {
    fn into_staff(self) -> Staff {
        Staff {
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            role: Role::parse(&self.role).unwrap_or(Role::Clerk),
            totp_enabled: self.totp_enabled,
        }
    }
}

/// What a new account is made of.
#[derive(Clone, Debug)]
pub struct NewStaff {
    /// Sign-in e-mail.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Initial password (checked against the policy).
    pub password: String,
}

fn check_email(email: &str) -> Result<(), StaffError> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !email.chars().any(char::is_whitespace);
    if ok { Ok(()) } else { Err(StaffError::InvalidEmail(email.to_owned())) }
}

/// Creates an account.
pub async fn create_staff(tx: &mut impl ScopedTx, new: NewStaff) -> Result<Staff, StaffError> {
    check_email(&new.email)?;
    check_password_policy(&new.password, &new.email)?;
    let platform = tx.scope() == kapu_core::PLATFORM_SCOPE;
    if platform != (new.role == Role::Operator) {
        return Err(StaffError::WrongRole(new.role.as_str()));
    }
    let hash = hash_password(new.password).await?;
    let id = Uuid::now_v7();
    let res = sqlx::query("INSERT INTO staff (id, email, display_name, role, password_hash) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(&new.email)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(hash)
        .execute(tx.conn())
        .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("staff_email_key") => {
            return Err(StaffError::DuplicateEmail(new.email));
        }
        other => {
            other?;
        }
    }
    Ok(Staff { id, email: new.email, display_name: new.display_name, role: new.role, totp_enabled: false })
}

/// Replaces an account's password (an admin's action, or the reset flow).
pub async fn set_password(tx: &mut impl ScopedTx, staff_id: Uuid, password: String) -> Result<(), StaffError> {
    let email: String = sqlx::query_scalar("SELECT email FROM staff WHERE id = $1").bind(staff_id).fetch_one(tx.conn()).await?;
    check_password_policy(&password, &email)?;
    let hash = hash_password(password).await?;
    sqlx::query("UPDATE staff SET password_hash = $2 WHERE id = $1").bind(staff_id).bind(hash).execute(tx.conn()).await?;
    sqlx::query("DELETE FROM staff_session WHERE staff_id = $1").bind(staff_id).execute(tx.conn()).await?;
    Ok(())
}

/// Finds an account by e-mail (case-insensitive).
pub async fn find_staff_by_email(tx: &mut impl ScopedTx, email: &str) -> Result<Option<Staff>, StaffError> {
    let row: Option<StaffRow> =
        sqlx::query_as("SELECT id, email, display_name, role, totp_enabled FROM staff WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(tx.conn())
            .await?;
    Ok(row.map(StaffRow::into_staff))
}

/// All accounts, by e-mail.
pub async fn list_staff(tx: &mut impl ScopedTx) -> Result<Vec<Staff>, StaffError> {
    let rows: Vec<StaffRow> =
        sqlx::query_as("SELECT id, email, display_name, role, totp_enabled FROM staff ORDER BY lower(email)").fetch_all(tx.conn()).await?;
    Ok(rows.into_iter().map(StaffRow::into_staff).collect())
}

/// How many accounts there are.
pub async fn count_staff(tx: &mut impl ScopedTx) -> Result<i64, StaffError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM staff WHERE NOT disabled").fetch_one(tx.conn()).await?)
}

/// Where a session stands on the second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mfa {
    /// The account has TOTP; the code is still to be given.
    Required,
    /// The account's role needs TOTP, which is not set up yet.
    Enrol,
    /// Nothing more is needed.
    Passed,
}

/// The secret a session cookie carries. Only its SHA-256 is stored.
#[derive(Clone)]
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    fn generate() -> Self {
        Self(random_token())
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    B64URL.encode(b)
}

/// A signed-in session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub staff: Staff,
    /// Second-factor state.
    pub mfa: Mfa,
    /// The token that unsafe requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
    pub(crate) token_hash: Vec<u8>,
}

/// What a sign-in attempt ended in.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in; the cookie gets the token.
    SignedIn(SessionToken, Session),
    /// Unknown e-mail, wrong password or disabled account (deliberately not told apart).
    InvalidCredentials,
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: Uuid,
    email: String,
    display_name: String,
    role: String,
    totp_enabled: bool,
    password_hash: String,
    disabled: bool,
}

/// Checks e-mail and password and opens a session. An unknown e-mail costs the same
/// password hashing as a known one, so neither the answer nor its time tells them apart.
pub async fn login(
    tx: &mut impl ScopedTx,
    email: &str,
    password: &str,
    policy: &LoginPolicy,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, StaffError> {
    let row: Option<LoginRow> = sqlx::query_as(
        "SELECT id, email, display_name, role, totp_enabled, password_hash, disabled FROM staff WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        // Spend the same time as for a real account, so timing does not reveal accounts.
        verify_password(password.to_owned(), kapu_crypto::password::DUMMY_HASH.to_owned()).await;
        return Ok(LoginOutcome::InvalidCredentials);
    };
    if !verify_password(password.to_owned(), row.password_hash.clone()).await || row.disabled {
        return Ok(LoginOutcome::InvalidCredentials);
    }
    let staff = StaffRow { id: row.id, email: row.email, display_name: row.display_name, role: row.role, totp_enabled: row.totp_enabled }
        .into_staff();
    let mfa = if staff.totp_enabled {
        Mfa::Required
    } else if staff.role.requires_totp() {
        Mfa::Enrol
    } else {
        Mfa::Passed
    };
    let token = SessionToken::generate();
    let csrf_token = random_token();
    let expires_at = now + policy.session_ttl;
    sqlx::query(
        "INSERT INTO staff_session (token_hash, staff_id, csrf_token, mfa_passed, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
    )
    .bind(token.hash())
    .bind(staff.id)
    .bind(&csrf_token)
    .bind(mfa == Mfa::Passed)
    .bind(now)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(LoginOutcome::SignedIn(token.clone(), Session { staff, mfa, csrf_token, expires_at, token_hash: token.hash() }))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    email: String,
    display_name: String,
    role: String,
    totp_enabled: bool,
    disabled: bool,
    csrf_token: String,
    mfa_passed: bool,
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
}

/// The session of a token hash (`$1`) with its staff member: one statement, prepared on
/// each connection once.
const SESSION_SQL: &str = "SELECT s.id, s.email, s.display_name, s.role, s.totp_enabled, s.disabled,
        x.csrf_token, x.mfa_passed, x.expires_at, x.last_seen_at
    FROM staff_session x JOIN staff s ON s.id = x.staff_id WHERE x.token_hash = $1";

/// The session a row describes, if it is still live, and whether its idle timer is due
/// for a refresh (at most once a minute, so most requests only read).
fn live_session(row: SessionRow, token_hash: Vec<u8>, policy: &LoginPolicy, now: DateTime<Utc>) -> Option<(Session, bool)> {
    if row.disabled || row.expires_at <= now || row.last_seen_at + policy.idle_timeout <= now {
        return None;
    }
    let touch = now - row.last_seen_at > Duration::seconds(60);
    let staff = StaffRow { id: row.id, email: row.email, display_name: row.display_name, role: row.role, totp_enabled: row.totp_enabled }
        .into_staff();
    let mfa = if row.mfa_passed {
        Mfa::Passed
    } else if staff.totp_enabled {
        Mfa::Required
    } else if staff.role.requires_totp() {
        Mfa::Enrol
    } else {
        Mfa::Passed
    };
    Some((Session { staff, mfa, csrf_token: row.csrf_token, expires_at: row.expires_at, token_hash }, touch))
}

async fn touch_session(tx: &mut impl ScopedTx, token_hash: &[u8], now: DateTime<Utc>) -> Result<(), StaffError> {
    sqlx::query("UPDATE staff_session SET last_seen_at = $2 WHERE token_hash = $1").bind(token_hash).bind(now).execute(tx.conn()).await?;
    Ok(())
}

/// The live session a cookie's token belongs to, if any. Refreshes its idle timer.
pub async fn authenticate(
    tx: &mut impl ScopedTx,
    token: &str,
    policy: &LoginPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StaffError> {
    let token_hash = Sha256::digest(token.as_bytes()).to_vec();
    let row: Option<SessionRow> = sqlx::query_as(SESSION_SQL).bind(&token_hash).fetch_optional(tx.conn()).await?;
    let Some((session, touch)) = row.and_then(|r| live_session(r, token_hash, policy, now)) else { return Ok(None) };
    if touch {
        touch_session(tx, &session.token_hash, now).await?;
    }
    Ok(Some(session))
}

/// Like [`authenticate`] for a tenant's staff, but in one round trip outside any
/// transaction ([`Db::tenant_read`]); the idle timer, when due, is refreshed in a
/// transaction of its own. For requests that need the session and nothing else.
pub async fn authenticate_read(
    db: &Db,
    slug: &TenantSlug,
    token: &str,
    policy: &LoginPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StaffError> {
    let token_hash = Sha256::digest(token.as_bytes()).to_vec();
    let rows = db.tenant_read_all(slug, &[Statement::new(SESSION_SQL, [token_hash.clone().into()])]).await?;
    let rows = rows.into_iter().next().unwrap_or_default();
    let row = rows.first().map(SessionRow::from_row).transpose()?;
    let Some((session, touch)) = row.and_then(|r| live_session(r, token_hash, policy, now)) else { return Ok(None) };
    if touch {
        let mut tx = db.tenant_tx_for(slug).await?;
        touch_session(&mut tx, &session.token_hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(session))
}

/// Ends a session.
pub async fn logout(tx: &mut impl ScopedTx, session: &Session) -> Result<(), StaffError> {
    sqlx::query("DELETE FROM staff_session WHERE token_hash = $1").bind(&session.token_hash).execute(tx.conn()).await?;
    Ok(())
}

/// Starts a password reset: when the e-mail belongs to an account, stores a one-hour token
/// and queues the e-mail with the link in the same transaction. Says nothing about whether
/// the account exists, so callers answer the same either way.
pub async fn request_password_reset(
    tx: &mut TenantTx,
    ring: &kapu_crypto::Keyring,
    email: &str,
    tenant_name: &str,
    reset_link: impl Fn(&str) -> String,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    let Some(staff) = find_staff_by_email(tx, email).await? else { return Ok(()) };
    let token = random_token();
    sqlx::query("INSERT INTO password_reset (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(Sha256::digest(token.as_bytes()).to_vec())
        .bind(staff.id)
        .bind(now)
        .bind(now + Duration::hours(1))
        .execute(tx.conn())
        .await?;
    let link = reset_link(&token);
    let mail = kapu_mail::OutgoingMail {
        to: staff.email.clone(),
        subject: format!("{tenant_name}: jelszó visszaállítása / password reset"),
        text: format!(
            "Kedves {name}!\n\nJelszava visszaállításához nyissa meg az alábbi hivatkozást egy órán belül:\n{link}\n\n\
             Ha nem Ön kérte, hagyja figyelmen kívül ezt a levelet.\n\n---\n\n\
             Dear {name},\n\nTo reset your password, open this link within one hour:\n{link}\n\n\
             If you did not ask for this, ignore this e-mail.\n",
            name = staff.display_name
        ),
        html: None,
        message_id: format!("<{}@kapu>", Uuid::now_v7()),
    };
    kapu_jobs::enqueue(tx, kapu_jobs::NewJob::new(kapu_mail::SEND_JOB, &kapu_mail::MailJob::seal(ring, &mail)?)).await?;
    Ok(())
}

/// Completes a password reset with the token from the e-mail.
pub async fn reset_password(tx: &mut TenantTx, token: &str, new_password: String, now: DateTime<Utc>) -> Result<(), StaffError> {
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    let staff_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE password_reset SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING staff_id",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let staff_id = staff_id.ok_or(StaffError::InvalidResetToken)?;
    set_password(tx, staff_id, new_password).await
}
