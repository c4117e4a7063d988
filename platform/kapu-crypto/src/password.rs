//! argon2id password hashing, off the async threads. Shared by staff and client accounts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

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
        let h = hash_password("correct horse battery".into()).await;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
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
