//! Digest authentication of requests (RFC 8760: SHA-256 and MD5 challenges), with nonce
//! checks and the per-source failure guard. Wraps the sans-IO `warden-sip-auth` state behind
//! short-lived locks (never held across an await).

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;
use warden_config::{DigestAlgorithm, SecurityConfig};
use warden_sip_auth::{
    parse_authorization, uri_matches, verify, Algorithm, AuthGuard, Challenge, GuardConfig,
    GuardDecision, GuardStatus, NonceCheck, NonceConfig, NonceManager, Secret,
};

use super::{unix_now, RegisterRequest, Reply};
use crate::metrics::{Metrics, ReasonLabels};

/// The result of authenticating one request.
#[derive(Debug)]
pub(crate) enum AuthOutcome {
    /// The credentials are valid for the request's AOR.
    Authenticated,
    /// Answer with this (401 challenge, 403, 400).
    Reject(Reply),
}

/// Challenges and checks digest credentials for one realm.
pub(crate) struct Authenticator {
    realm: String,
    /// Challenges offered, most preferred first (RFC 8760).
    algorithms: Vec<Algorithm>,
    nonces: Mutex<NonceManager>,
    guard: Mutex<AuthGuard>,
}

impl Authenticator {
    pub(crate) fn new(
        realm: &str,
        algorithms: &[DigestAlgorithm],
        nonce_ttl: Duration,
        security: &SecurityConfig,
    ) -> Self {
        let guard = GuardConfig {
            failures_before_throttle: security.auth_failures_before_throttle,
            failures_before_ban: security.auth_failures_before_ban,
            window: Duration::from_secs(u64::from(security.failure_window_secs)),
            ban_for: Duration::from_secs(u64::from(security.ban_secs)),
            ..GuardConfig::default()
        };
        let algorithms = algorithms
            .iter()
            .map(|a| match a {
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
                DigestAlgorithm::Md5 => Algorithm::Md5,
            })
            .collect();
        Authenticator {
            realm: realm.to_string(),
            algorithms,
            nonces: Mutex::new(NonceManager::new(
                realm,
                NonceConfig {
                    ttl: nonce_ttl,
                    ..NonceConfig::default()
                },
            )),
            guard: Mutex::new(AuthGuard::new(guard)),
        }
    }

    /// Whether a source is banned right now.
    pub(crate) fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        self.guard
            .lock()
            .map(|g| matches!(g.check(ip, now), GuardStatus::Banned { .. }))
            .unwrap_or(false)
    }

    /// Number of active bans.
    pub(crate) fn active_bans(&self) -> usize {
        self.guard.lock().map(|g| g.active_bans()).unwrap_or(0)
    }

    /// Drops expired nonce and guard state.
    pub(crate) fn sweep(&self) {
        if let Ok(mut n) = self.nonces.lock() {
            n.sweep(unix_now());
        }
        if let Ok(mut g) = self.guard.lock() {
            g.sweep(Instant::now());
        }
    }

    /// Whether any Authorization value answers our realm (or is malformed, which
    /// [`Authenticator::authenticate`] reports). Without one the request is simply challenged,
    /// before anything is looked up.
    pub(crate) fn has_credentials(&self, authorization: &[String]) -> bool {
        authorization
            .iter()
            .any(|value| match parse_authorization(value) {
                Ok(c) => c.realm == self.realm.as_str(),
                Err(_) => true,
            })
    }

    /// A fresh 401 challenge offering every configured algorithm.
    pub(crate) fn challenge(&self, stale: bool) -> Reply {
        let nonce = match self.nonces.lock() {
            Ok(mut n) => n.issue(unix_now()),
            Err(_) => return Reply::new(500, "Server Internal Error"),
        };
        let mut reply = Reply::new(401, "Unauthorized");
        for &algorithm in &self.algorithms {
            let challenge = Challenge {
                stale,
                ..Challenge::new(&self.realm, &nonce, algorithm)
            };
            reply = reply.header("WWW-Authenticate", challenge.to_header_value());
        }
        reply
    }

    fn failure(&self, req: &RegisterRequest, why: &'static str, metrics: &Metrics) -> Reply {
        metrics
            .auth_failures
            .get_or_create(&ReasonLabels { reason: why })
            .inc();
        let ip = req.source.ip();
        let decision = match self.guard.lock() {
            Ok(mut g) => g.record_failure(ip, Instant::now()),
            Err(_) => GuardDecision::Throttle,
        };
        match decision {
            GuardDecision::Allow => self.challenge(false),
            GuardDecision::Throttle => Reply::new(403, "Forbidden"),
            GuardDecision::Ban { until } => {
                metrics.bans.inc();
                metrics.set_bans_active(self.active_bans());
                let secs = until.saturating_duration_since(Instant::now()).as_secs();
                warn!(source = %ip, aor = %req.aor, ban_secs = secs, "source banned after repeated authentication failures");
                Reply::new(403, "Forbidden")
            }
        }
    }

    /// Authenticates `req` for `method`. `secret` is the AOR's password, `None` for an unknown
    /// or disabled extension (answered exactly like a wrong password: no user enumeration).
    pub(crate) fn authenticate(
        &self,
        req: &RegisterRequest,
        method: &str,
        secret: Option<&str>,
        metrics: &Metrics,
    ) -> AuthOutcome {
        // Use the credentials for our realm; others belong to someone else (RFC 3261 §22.4).
        let mut creds = None;
        for value in &req.authorization {
            match parse_authorization(value) {
                Ok(c) if c.realm == self.realm.as_str() => {
                    creds = Some(c);
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    metrics
                        .auth_failures
                        .get_or_create(&ReasonLabels {
                            reason: "malformed",
                        })
                        .inc();
                    return AuthOutcome::Reject(Reply::new(400, "Malformed Authorization Header"));
                }
            }
        }
        let Some(creds) = creds else {
            return AuthOutcome::Reject(self.challenge(false));
        };
        if creds.username != req.aor.as_str() {
            return AuthOutcome::Reject(self.failure(req, "username_mismatch", metrics));
        }
        if !uri_matches(&creds.uri, &req.request_uri) {
            metrics
                .auth_failures
                .get_or_create(&ReasonLabels {
                    reason: "uri_mismatch",
                })
                .inc();
            return AuthOutcome::Reject(Reply::new(400, "Authorization URI Mismatch"));
        }
        let Some(password) = secret else {
            return AuthOutcome::Reject(self.failure(req, "unknown_user", metrics));
        };
        if !verify(&creds, method, Secret::Password(password), &self.realm) {
            return AuthOutcome::Reject(self.failure(req, "bad_password", metrics));
        }
        // The digest is right; now the nonce decides (commits the nonce count).
        let check = match self.nonces.lock() {
            Ok(mut n) => n.check(&creds.nonce, creds.nonce_count(), unix_now()),
            Err(_) => NonceCheck::Invalid,
        };
        match check {
            NonceCheck::Valid => {
                if let Ok(mut g) = self.guard.lock() {
                    g.record_success(req.source.ip());
                }
                AuthOutcome::Authenticated
            }
            // Right password, old or unknown nonce (e.g. issued before a restart): stale=true
            // lets the phone retry at once without asking its user.
            NonceCheck::Stale | NonceCheck::Invalid => AuthOutcome::Reject(self.challenge(true)),
            NonceCheck::Replay => {
                metrics
                    .auth_failures
                    .get_or_create(&ReasonLabels { reason: "replay" })
                    .inc();
                AuthOutcome::Reject(self.challenge(false))
            }
        }
    }
}
