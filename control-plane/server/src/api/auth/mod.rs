//! Accounts and sessions of the API.
//!
//! * Passwords are argon2id hashes ([`password`]).
//! * A login answers a 15-minute JWT access token (HS256, signed with a key drawn at start, so a
//!   restart ends every access token) and a refresh token: 32 random bytes, stored as a SHA-256
//!   hash, valid 7 days, rotated on every use. Presenting an already-used refresh token revokes
//!   its whole family (it was copied) ([`token`], [`login`]).
//! * Every request re-reads the account, so disabling, deleting or demoting one takes effect at
//!   once, not when its access token expires ([`guard`]).
//! * Logins are rate-limited per client address, and an account locks for 15 minutes after 5
//!   consecutive failures (`admin_users.failed_logins` / `locked_until`).
//! * With no administrator in the database, the first start creates `admin` with the password
//!   of `WARDEN_ADMIN_PASSWORD`, or a generated one printed once ([`bootstrap`]).

mod bootstrap;
mod guard;
pub(crate) mod login;
mod password;
mod token;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use warden_sip_auth::{RateLimitConfig, RateLimiter};

pub(crate) use bootstrap::bootstrap_admin;
pub(crate) use guard::{guard, Access, Caller, ADMIN, ANY, STAFF};
pub(crate) use login::{change_own_password, login, logout, me, refresh};
pub(crate) use password::{check_new_password, hash_password_async};
pub(crate) use token::ACCESS_TTL_SECS;

use super::state::AppState;
use token::TokenKeys;

/// Consecutive failed logins that lock an account.
pub(crate) const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub(crate) const LOCKOUT_SECS: i64 = 15 * 60;
/// Login attempts per client address: sustained rate per second and burst.
const LOGIN_RATE_PER_SEC: f64 = 10.0 / 60.0;
const LOGIN_BURST: u32 = 10;

/// The signing key and the login rate limiter.
pub(crate) struct AuthService {
    keys: TokenKeys,
    limiter: Mutex<RateLimiter>,
}

impl AuthService {
    /// A fresh random signing key and an empty limiter.
    pub(crate) fn new() -> Self {
        AuthService {
            keys: TokenKeys::random(),
            limiter: Mutex::new(RateLimiter::new(RateLimitConfig {
                rate_per_sec: LOGIN_RATE_PER_SEC,
                burst: LOGIN_BURST,
                max_tracked: 65_536,
            })),
        }
    }

    /// Whether a login attempt from `ip` may go ahead now; `None` (address unknown) always may.
    pub(crate) fn allow_login(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip else { return true };
        match self.limiter.lock() {
            Ok(mut l) => l.allow(ip, Instant::now()),
            Err(poisoned) => poisoned.into_inner().allow(ip, Instant::now()),
        }
    }

    fn sweep(&self) {
        match self.limiter.lock() {
            Ok(mut l) => l.sweep(Instant::now()),
            Err(poisoned) => poisoned.into_inner().sweep(Instant::now()),
        }
    }

    pub(crate) fn keys(&self) -> &TokenKeys {
        &self.keys
    }
}

/// Periodic upkeep: forgets idle login buckets and deletes expired refresh tokens.
pub(crate) fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            state.auth.sweep();
            if n % 60 == 0 {
                match state.store().purge_refresh_tokens(chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "expired refresh tokens purged"),
                    Err(e) => tracing::warn!(error = %e, "refresh token purge failed"),
                }
            }
            n = n.wrapping_add(1);
        }
    });
}
