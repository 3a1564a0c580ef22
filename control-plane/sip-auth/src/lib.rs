//! Sans-IO SIP digest authentication (RFC 8760 SHA-256 and MD5), nonces, and failure bans.
//!
//! Nothing in this crate reads the clock, touches a socket or spawns a task: the
//! caller passes time in (`std::time::Instant` for monotonic state, Unix seconds
//! for nonces that embed a timestamp) and acts on the values returned.
//!
//! A registrar typically:
//!
//! 1. asks [`AuthGuard::check`] and [`RateLimiter::allow`] (transport level) whether
//!    the source may talk at all;
//! 2. parses the `Authorization` header with [`parse_authorization`];
//! 3. checks the realm and the `uri` ([`uri_matches`]);
//! 4. classifies the nonce with [`NonceManager::peek`];
//! 5. verifies the response with [`verify`];
//! 6. on success commits the nonce count with [`NonceManager::check`] and calls
//!    [`AuthGuard::record_success`]; on a wrong password calls
//!    [`AuthGuard::record_failure`]; on a stale nonce re-challenges with
//!    [`Challenge::pair`] and `stale = true`.

mod challenge;
mod credentials;
mod digest;
mod error;
mod guard;
mod nonce;
mod ratelimit;
mod source;
mod table;

pub use challenge::Challenge;
pub use credentials::{parse_authorization, Credentials, NonceCount};
pub use digest::{ha1_hex, uri_matches, verify, Algorithm, Qop, Secret};
pub use error::AuthError;
pub use guard::{AuthGuard, GuardConfig, GuardDecision, GuardStatus};
pub use nonce::{NonceCheck, NonceConfig, NonceManager};
pub use ratelimit::{RateLimitConfig, RateLimiter};
