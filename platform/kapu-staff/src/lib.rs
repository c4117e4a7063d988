//! Staff and operator accounts: argon2id passwords, sessions, TOTP second factor, login
//! throttling, password reset, and the one table of who may do what.
//!
//! The same code serves a tenant's clerks and admins (tables in the tenant's schema) and
//! the platform's operators (the same tables in schema `kapu`), through [`ScopedTx`].

mod authz;
mod password;
mod session;
mod totp;

pub use authz::{Permission, Role};
pub use password::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PasswordPolicyError, check_password_policy, hash_password, verify_password};
pub use session::{
    LoginOutcome, LoginPolicy, Mfa, NewStaff, Session, SessionToken, Staff, StaffError, authenticate, authenticate_read, count_staff,
    create_staff, find_staff_by_email, list_staff, login, logout, request_password_reset, reset_password, set_password,
};
pub use totp::{TOTP_SECRET, TotpEnrolment, confirm_totp, enable_totp_with_secret, start_totp_enrolment, verify_totp};

/// The columns this crate seals (in tenant schemas and the platform schema alike).
pub const SEALED: &[kapu_crypto::Column] = &[TOTP_SECRET];
