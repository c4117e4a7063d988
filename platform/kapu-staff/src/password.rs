//! The staff password policy. Hashing lives in `kapu_crypto::password`.

pub use kapu_crypto::password::{hash_password, verify_password};
use thiserror::Error;

/// Why a password is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordPolicyError {
    /// Shorter than 12 characters.
    #[error("the password must be at least 12 characters long")]
    TooShort,
    /// Longer than 256 characters.
    #[error("the password must be at most 256 characters long")]
    TooLong,
    /// Contains the e-mail's local part or is one repeated character.
    #[error("the password is too easy to guess")]
    Guessable,
}

/// The fewest characters a staff password may have.
pub const PASSWORD_MIN_CHARS: u32 = 12;
/// The most characters a staff password may have.
pub const PASSWORD_MAX_CHARS: u32 = 256;

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS as usize {
        return Err(PasswordPolicyError::TooShort);
    }
    if n > PASSWORD_MAX_CHARS as usize {
        return Err(PasswordPolicyError::TooLong);
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let lower = password.to_lowercase();
    let first = password.chars().next();
    if (local.len() >= 4 && lower.contains(&local)) || password.chars().all(|c| Some(c) == first) {
        return Err(PasswordPolicyError::Guessable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(check_password_policy("short", "a@b.hu"), Err(PasswordPolicyError::TooShort));
        assert_eq!(check_password_policy("aaaaaaaaaaaaaa", "a@b.hu"), Err(PasswordPolicyError::Guessable));
        assert_eq!(check_password_policy("kovacs.janos-2026", "kovacs.janos@x.hu"), Err(PasswordPolicyError::Guessable));
        assert!(check_password_policy("Hegyvidek-Tavasz-2026", "kovacs.janos@x.hu").is_ok());
    }
}
