//! Password hashing (argon2id, PHC strings), the password rules, and generated passwords.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;

use crate::api::error::{ApiError, ApiResult};

/// Shortest password accepted.
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing cost is bounded).
pub(crate) const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes a password with argon2id and a random salt (CPU-heavy: call off the async threads).
pub(crate) fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a PHC hash; a malformed hash never matches.
pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`hash_password`] on the blocking pool.
pub(crate) async fn hash_password_async(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal("password hashing task", &e))?
        .map_err(|e| ApiError::internal("password hashing", &e))
}

/// [`verify_password`] on the blocking pool. With no stored hash (unknown user) it checks a
/// dummy hash anyway, so the answer takes as long as for a real account.
pub(crate) async fn verify_password_async(password: String, phc: Option<String>) -> bool {
    let result = tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            let _ = verify_password(&password, dummy_hash());
            false
        }
    })
    .await;
    result.unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such account, no such password").unwrap_or_default())
}

/// The rules for a new password: 8 to 256 characters, no control characters, not the user
/// name. Errors name `field`.
pub(crate) fn check_new_password(password: &str, username: &str, field: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ApiError::validation(
            field,
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(ApiError::validation(field, "must not be the user name"));
    }
    Ok(())
}

/// A random 20-character password from an alphabet without look-alike characters.
pub(crate) fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt per hash");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horsE", &a));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify_password_async("x".into(), None).await);
        let h = hash_password_async("secret-pass".into()).await.unwrap();
        assert!(verify_password_async("secret-pass".into(), Some(h)).await);
    }

    #[test]
    fn password_rules() {
        assert!(check_new_password("long enough", "bob", "password").is_ok());
        let e = check_new_password("short", "bob", "new_password").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("new_password"));
        assert!(check_new_password(&"x".repeat(257), "bob", "p").is_err());
        assert!(check_new_password("tab\there-x", "bob", "p").is_err());
        assert!(check_new_password("Operator1", "operator1", "p").is_err());
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
        assert_ne!(a, generate_password());
        assert!(check_new_password(&a, "admin", "p").is_ok());
    }
}
