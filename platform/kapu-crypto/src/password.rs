//! argon2id password hashing, off the async threads. Shared by staff and client accounts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

/// Why a password could not be hashed. Nothing is stored then: the call that wanted the
/// hash fails.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// argon2 refused the input or its parameters.
    #[error("argon2id could not hash the password: {0}")]
    Argon2(argon2::password_hash::Error),
    /// The blocking task that hashes did not finish (it panicked or was cancelled).
    #[error("the password hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane; argon2's defaults are the same.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap_or(Params::DEFAULT))
}

/// Hashes a password with argon2id, off the async threads.
///
/// # Errors
/// [`HashError`] when no hash could be made; never an empty or partial hash.
pub async fn hash_password(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_with_salt(password.as_bytes(), &SaltString::generate(&mut OsRng))).await?
}

fn hash_with_salt(password: &[u8], salt: &SaltString) -> Result<String, HashError> {
    argon2().hash_password(password, salt).map(|h| h.to_string()).map_err(HashError::Argon2)
}

/// Checks a password against a stored hash, off the async threads. An unparsable hash
/// (an account without a password) never matches, and costs the same time as a real one,
/// so the time of an answer does not tell which accounts have a password.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(h) => argon2().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => {
            if let Ok(dummy) = PasswordHash::new(DUMMY_HASH) {
                let _ = argon2().verify_password(password.as_bytes(), &dummy);
            }
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash that matches no password, to spend the same time on unknown accounts.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0bQ5w1cHcsGNu8VZ3M2rW5X5Pc3hZ1Yk8I7oN0mXr6w";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn a_password_that_cannot_be_hashed_is_an_error_not_an_empty_hash() {
        // argon2 wants a salt of at least 8 bytes; this one has 3.
        let short = SaltString::from_b64("YWJj").unwrap();
        let e = hash_with_salt(b"correct horse battery", &short).unwrap_err();
        assert!(matches!(e, HashError::Argon2(_)), "{e}");
        let ok = hash_with_salt(b"correct horse battery", &SaltString::generate(&mut OsRng)).unwrap();
        assert!(ok.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ok}");
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        // Otherwise verifying against it would return at once, and unknown accounts would
        // answer faster than known ones.
        let h = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(h.algorithm.as_str(), "argon2id");
        assert_eq!(h.params.get_decimal("m"), Some(19 * 1024));
        assert!(argon2().verify_password(b"anything", &h).is_err());
    }
}
