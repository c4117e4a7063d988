//! argon2id password hashing (on the blocking pool) and the password policy.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
    let n = password.chars().count();
    if n < 12 {
        return Err(PasswordPolicyError::TooShort);
    }
    if n > 256 {
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

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap_or_default())
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Checks a password against a stored hash, off the async threads. An unparsable hash
/// never matches.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || PasswordHash::new(&hash).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()))
        .await
        .unwrap_or(false)
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

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
