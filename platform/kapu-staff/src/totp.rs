//! TOTP (RFC 6238) second factor, with the secret encrypted at rest and codes usable once.

use chrono::{DateTime, Utc};
use kapu_core::ScopedTx;
use kapu_crypto::{Column, Keyring};
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};
use uuid::Uuid;

use crate::session::{Mfa, Session, StaffError};

/// The sealed TOTP secret of a staff member (tenant and platform schemas alike).
pub const TOTP_SECRET: Column = Column::new("staff", "id", "totp_secret").legacy("staff.totp_secret");
const STEP: u64 = 30;

/// A TOTP secret to show the user once, as text and as an `otpauth://` URI.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TotpEnrolment {
    /// Base32 secret.
    pub secret: String,
    /// URI for authenticator apps.
    pub otpauth_uri: String,
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<TOTP, StaffError> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, secret, Some(issuer.to_owned()), account.to_owned()).map_err(|_| StaffError::InvalidTotp)
}

/// Starts enrolment: stores a fresh secret (not yet enabled) and returns it.
pub async fn start_totp_enrolment(
    tx: &mut impl ScopedTx,
    keyring: &Keyring,
    session: &Session,
    issuer: &str,
) -> Result<TotpEnrolment, StaffError> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let sealed = keyring.seal(&TOTP_SECRET.at(session.staff.id), &secret)?;
    sqlx::query("UPDATE staff SET totp_secret = $2 WHERE id = $1 AND NOT totp_enabled")
        .bind(session.staff.id)
        .bind(sealed)
        .execute(tx.conn())
        .await?;
    let t = totp(secret.clone(), issuer, &session.staff.email)?;
    Ok(TotpEnrolment { secret: Secret::Raw(secret).to_encoded().to_string(), otpauth_uri: t.get_url() })
}

/// Turns TOTP on for an account with a known secret (demo and test seeding).
pub async fn enable_totp_with_secret(tx: &mut impl ScopedTx, keyring: &Keyring, staff_id: Uuid, secret: &[u8]) -> Result<(), StaffError> {
    sqlx::query("UPDATE staff SET totp_secret = $2, totp_enabled = true WHERE id = $1")
        .bind(staff_id)
        .bind(keyring.seal(&TOTP_SECRET.at(staff_id), secret)?)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Finishes enrolment with a first code; the session counts as having passed the factor.
pub async fn confirm_totp(
    tx: &mut impl ScopedTx,
    keyring: &Keyring,
    session: &mut Session,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    check_code(tx, keyring, session, code, now, false).await
}

/// Checks the code of a session whose account has TOTP.
pub async fn verify_totp(
    tx: &mut impl ScopedTx,
    keyring: &Keyring,
    session: &mut Session,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    check_code(tx, keyring, session, code, now, true).await
}

#[derive(sqlx::FromRow)]
struct TotpRow {
    totp_secret: Option<Vec<u8>>,
    totp_enabled: bool,
    totp_last_step: Option<i64>,
}

async fn check_code(
    tx: &mut impl ScopedTx,
    keyring: &Keyring,
    session: &mut Session,
    code: &str,
    now: DateTime<Utc>,
    enabled: bool,
) -> Result<(), StaffError> {
    let id = session.staff.id;
    let row: TotpRow = sqlx::query_as("SELECT totp_secret, totp_enabled, totp_last_step FROM staff WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    let sealed = match (&row.totp_secret, row.totp_enabled == enabled) {
        (Some(s), true) => s,
        _ if enabled => return Err(StaffError::InvalidTotp),
        _ => return Err(StaffError::NoEnrolment),
    };
    let secret = keyring.open(&TOTP_SECRET.at(id), sealed)?;
    let t = totp(secret, "kapu", &session.staff.email)?;
    let code = code.trim();
    let t_now = u64::try_from(now.timestamp()).unwrap_or(0);
    let step = [t_now.saturating_sub(STEP), t_now, t_now + STEP].into_iter().find_map(|at| {
        let ok: bool = t.generate(at).as_bytes().ct_eq(code.as_bytes()).into();
        ok.then_some(i64::try_from(at / STEP).unwrap_or(0))
    });
    match step {
        Some(step) if row.totp_last_step.is_none_or(|last| step > last) => {
            sqlx::query("UPDATE staff SET totp_enabled = true, totp_last_step = $2 WHERE id = $1")
                .bind(id)
                .bind(step)
                .execute(tx.conn())
                .await?;
            sqlx::query("UPDATE staff_session SET mfa_passed = true WHERE token_hash = $1")
                .bind(&session.token_hash)
                .execute(tx.conn())
                .await?;
            session.mfa = Mfa::Passed;
            session.staff.totp_enabled = true;
            Ok(())
        }
        _ => Err(StaffError::InvalidTotp),
    }
}
