//! Access tokens (HS256 JWTs) and refresh tokens (random, stored hashed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use warden_storage::AdminUser;

use crate::api::error::{ApiError, ApiResult};

/// Lifetime of an access token.
pub(crate) const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Lifetime of a refresh token (each rotation issues a new one with a fresh lifetime).
pub(crate) const REFRESH_TTL_SECS: i64 = 7 * 24 * 3600;
/// The `typ` claim of access tokens, so no other token type signed with the key passes.
const ACCESS_TYPE: &str = "access";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Claims {
    /// The account id.
    pub(crate) sub: String,
    /// The account name (informational; the account is re-read on every request).
    pub(crate) name: String,
    /// The role when issued (informational, same reason).
    pub(crate) role: String,
    /// Token type, always `access`.
    pub(crate) typ: String,
    /// Issued at (Unix seconds).
    pub(crate) iat: i64,
    /// Expires at (Unix seconds).
    pub(crate) exp: i64,
}

/// The HMAC key that signs and checks access tokens.
pub(crate) struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// A key of 32 random bytes, drawn at start: restarting ends every access token (refresh
    /// tokens are in the database and survive).
    pub(crate) fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self::from_secret(&secret)
    }

    pub(crate) fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues an access token for `user`; returns it with its lifetime in seconds.
    pub(crate) fn issue(&self, user: &AdminUser, now: DateTime<Utc>) -> ApiResult<String> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            role: user.role.as_str().to_owned(),
            typ: ACCESS_TYPE.to_owned(),
            iat,
            exp: iat + ACCESS_TTL_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal("token signing", &e))
    }

    /// Checks signature, algorithm and expiry; returns the account id.
    pub(crate) fn verify(&self, token: &str) -> ApiResult<i64> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                let expired = matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature);
                if expired {
                    ApiError::unauthorized(
                        "token_expired",
                        "the access token has expired; refresh it",
                    )
                } else {
                    ApiError::unauthorized("invalid_token", "the access token is not valid")
                }
            })?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "not an access token",
            ));
        }
        data.claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("invalid_token", "the access token is not valid"))
    }
}

/// A new refresh token and the hash to store for it.
pub(crate) fn new_refresh_token() -> (String, String) {
    let token = random_b64(32);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token: hex SHA-256.
pub(crate) fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new refresh-token family id.
pub(crate) fn new_family() -> String {
    random_b64(16)
}

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use warden_storage::Role;

    use super::*;

    fn user() -> AdminUser {
        AdminUser {
            id: 42,
            username: "ops".into(),
            password_hash: String::new(),
            role: Role::Operator,
            extension: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            disabled: false,
            failed_logins: 0,
            locked_until: None,
        }
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let t = keys.issue(&user(), Utc::now()).unwrap();
        assert_eq!(keys.verify(&t).unwrap(), 42);

        let old = keys
            .issue(
                &user(),
                Utc::now() - chrono::Duration::seconds(ACCESS_TTL_SECS + 60),
            )
            .unwrap();
        assert_eq!(keys.verify(&old).unwrap_err().code, "token_expired");

        let other = TokenKeys::from_secret(b"another key, another key, another");
        assert_eq!(other.verify(&t).unwrap_err().code, "invalid_token");
        assert_eq!(keys.verify("garbage").unwrap_err().code, "invalid_token");

        // Tampering with the payload breaks the signature.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = "1".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            keys.verify(&parts.join(".")).unwrap_err().code,
            "invalid_token"
        );
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let exp = Utc::now().timestamp() + 600;
        let body = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"42","name":"x","role":"admin","typ":"access","iat":0,"exp":{exp}}}"#
        ));
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, hb) = new_refresh_token();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(hash_refresh_token(&a), ha);
        assert_eq!(ha.len(), 64);
        assert!(a.len() >= 43);
        assert_ne!(new_family(), new_family());
    }
}
