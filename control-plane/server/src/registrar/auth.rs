//! Digest authentication of requests (RFC 8760: SHA-256 and MD5 challenges), with nonce
//! checks and the per-source failure guard. Wraps the sans-IO `warden-sip-auth` state behind
//! short-lived locks (never held across an await).
//!
//! The registrar challenges with 401 and `WWW-Authenticate`; the call core challenges an
//! INVITE as a proxy does, with 407 and `Proxy-Authenticate` (the credentials come back in
//! `Proxy-Authorization`). Both share one nonce space and one failure guard: an
//! [`Authenticator`] is a cheap handle on shared state.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
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

/// Who asks for credentials: the registrar (401) or the call core acting as a proxy (407).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Challenger {
    /// `401 Unauthorized` with `WWW-Authenticate`.
    Registrar,
    /// `407 Proxy Authentication Required` with `Proxy-Authenticate`.
    Proxy,
}

/// The parts of a request that digest authentication looks at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthInput<'a> {
    /// The user the credentials must be for (the AOR, or the caller's From user).
    pub(crate) user: &'a str,
    /// The Request-URI as sent (for the digest `uri` check).
    pub(crate) request_uri: &'a str,
    /// Every Authorization (registrar) or Proxy-Authorization (proxy) header value.
    pub(crate) authorization: &'a [String],
    /// Where the request came from (for the failure guard).
    pub(crate) source: SocketAddr,
    /// The request method (part of the digest).
    pub(crate) method: &'a str,
    /// Which challenge to answer with.
    pub(crate) challenger: Challenger,
}

/// Challenges and checks digest credentials for one realm. Clones share the nonces and the
/// failure guard.
#[derive(Clone)]
pub(crate) struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
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
            inner: Arc::new(Inner {
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
            }),
        }
    }

    /// Whether a source is banned right now.
    pub(crate) fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        self.inner
            .guard
            .lock()
            .map(|g| matches!(g.check(ip, now), GuardStatus::Banned { .. }))
            .unwrap_or(false)
    }

    /// Number of active bans.
    pub(crate) fn active_bans(&self) -> usize {
        self.inner
            .guard
            .lock()
            .map(|g| g.active_bans())
            .unwrap_or(0)
    }

    /// Drops expired nonce and guard state.
    pub(crate) fn sweep(&self) {
        if let Ok(mut n) = self.inner.nonces.lock() {
            n.sweep(unix_now());
        }
        if let Ok(mut g) = self.inner.guard.lock() {
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
                Ok(c) => c.realm == self.inner.realm.as_str(),
                Err(_) => true,
            })
    }

    /// A fresh 401 challenge offering every configured algorithm.
    pub(crate) fn challenge(&self, stale: bool) -> Reply {
        self.challenge_as(stale, Challenger::Registrar)
    }

    /// A fresh challenge (401 or 407) offering every configured algorithm.
    pub(crate) fn challenge_as(&self, stale: bool, challenger: Challenger) -> Reply {
        let nonce = match self.inner.nonces.lock() {
            Ok(mut n) => n.issue(unix_now()),
            Err(_) => return Reply::new(500, "Server Internal Error"),
        };
        let (mut reply, header) = match challenger {
            Challenger::Registrar => (Reply::new(401, "Unauthorized"), "WWW-Authenticate"),
            Challenger::Proxy => (
                Reply::new(407, "Proxy Authentication Required"),
                "Proxy-Authenticate",
            ),
        };
        for &algorithm in &self.inner.algorithms {
            let challenge = Challenge {
                stale,
                ..Challenge::new(&self.inner.realm, &nonce, algorithm)
            };
            reply = reply.header(header, challenge.to_header_value());
        }
        reply
    }

    fn failure(&self, req: &AuthInput<'_>, why: &'static str, metrics: &Metrics) -> Reply {
        metrics
            .auth_failures
            .get_or_create(&ReasonLabels { reason: why })
            .inc();
        let ip = req.source.ip();
        let decision = match self.inner.guard.lock() {
            Ok(mut g) => g.record_failure(ip, Instant::now()),
            Err(_) => GuardDecision::Throttle,
        };
        match decision {
            GuardDecision::Allow => self.challenge_as(false, req.challenger),
            GuardDecision::Throttle => Reply::new(403, "Forbidden"),
            GuardDecision::Ban { until } => {
                metrics.bans.inc();
                metrics.set_bans_active(self.active_bans());
                let secs = until.saturating_duration_since(Instant::now()).as_secs();
                warn!(source = %ip, aor = %req.user, ban_secs = secs, "source banned after repeated authentication failures");
                Reply::new(403, "Forbidden")
            }
        }
    }

    /// Authenticates a REGISTER for `method` (401 challenges). `secret` is the AOR's
    /// password, `None` for an unknown or disabled extension.
    pub(crate) fn authenticate(
        &self,
        req: &RegisterRequest,
        method: &str,
        secret: Option<&str>,
        metrics: &Metrics,
    ) -> AuthOutcome {
        let input = AuthInput {
            user: &req.aor,
            request_uri: &req.request_uri,
            authorization: &req.authorization,
            source: req.source,
            method,
            challenger: Challenger::Registrar,
        };
        self.check(&input, secret, metrics)
    }

    /// Authenticates any request. `secret` is the user's password, `None` for an unknown or
    /// disabled extension (answered exactly like a wrong password: no user enumeration).
    pub(crate) fn check(
        &self,
        req: &AuthInput<'_>,
        secret: Option<&str>,
        metrics: &Metrics,
    ) -> AuthOutcome {
        // Use the credentials for our realm; others belong to someone else (RFC 3261 §22.4).
        let mut creds = None;
        for value in req.authorization {
            match parse_authorization(value) {
                Ok(c) if c.realm == self.inner.realm.as_str() => {
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
            return AuthOutcome::Reject(self.challenge_as(false, req.challenger));
        };
        if creds.username != req.user {
            return AuthOutcome::Reject(self.failure(req, "username_mismatch", metrics));
        }
        if !uri_matches(&creds.uri, req.request_uri) {
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
        if !verify(
            &creds,
            req.method,
            Secret::Password(password),
            &self.inner.realm,
        ) {
            return AuthOutcome::Reject(self.failure(req, "bad_password", metrics));
        }
        // The digest is right; now the nonce decides (commits the nonce count).
        let check = match self.inner.nonces.lock() {
            Ok(mut n) => n.check(&creds.nonce, creds.nonce_count(), unix_now()),
            Err(_) => NonceCheck::Invalid,
        };
        match check {
            NonceCheck::Valid => {
                if let Ok(mut g) = self.inner.guard.lock() {
                    g.record_success(req.source.ip());
                }
                AuthOutcome::Authenticated
            }
            // Right password, old or unknown nonce (e.g. issued before a restart): stale=true
            // lets the phone retry at once without asking its user.
            NonceCheck::Stale | NonceCheck::Invalid => {
                AuthOutcome::Reject(self.challenge_as(true, req.challenger))
            }
            NonceCheck::Replay => {
                metrics
                    .auth_failures
                    .get_or_create(&ReasonLabels { reason: "replay" })
                    .inc();
                AuthOutcome::Reject(self.challenge_as(false, req.challenger))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};
    use warden_config::{DigestAlgorithm, SecurityConfig};
    use warden_sip_auth::ha1_hex;

    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::new(
            "pbx.test",
            &[DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            Duration::from_secs(60),
            &SecurityConfig::default(),
        )
    }

    fn sha(s: &str) -> String {
        hex::encode(Sha256::digest(s.as_bytes()))
    }

    /// A SHA-256 digest answer (no qop) to the first challenge of `reply`.
    fn answer(reply: &Reply, user: &str, password: &str, method: &str, uri: &str) -> String {
        let (_, challenge) = &reply.headers[0];
        let nonce = challenge
            .split("nonce=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap();
        let ha1 = ha1_hex(Algorithm::Sha256, user, "pbx.test", password);
        let ha2 = sha(&format!("{method}:{uri}"));
        let response = sha(&format!("{ha1}:{nonce}:{ha2}"));
        format!(
            "Digest username=\"{user}\", realm=\"pbx.test\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=SHA-256"
        )
    }

    fn input(authorization: &[String], challenger: Challenger) -> AuthInput<'_> {
        AuthInput {
            user: "1001",
            request_uri: "sip:1002@pbx.test",
            authorization,
            source: "192.0.2.9:5060".parse().unwrap(),
            method: "INVITE",
            challenger,
        }
    }

    #[test]
    fn invites_are_challenged_as_a_proxy_and_accepted_with_the_right_digest() {
        let auth = authenticator();
        let metrics = Metrics::new();
        let AuthOutcome::Reject(challenge) =
            auth.check(&input(&[], Challenger::Proxy), Some("pw"), &metrics)
        else {
            panic!("no credentials must be challenged");
        };
        assert_eq!(challenge.status, 407);
        assert_eq!(challenge.headers.len(), 2, "one challenge per algorithm");
        assert!(challenge
            .headers
            .iter()
            .all(|(name, value)| *name == "Proxy-Authenticate" && value.starts_with("Digest ")));

        let good = vec![answer(
            &challenge,
            "1001",
            "pw",
            "INVITE",
            "sip:1002@pbx.test",
        )];
        assert!(matches!(
            auth.check(&input(&good, Challenger::Proxy), Some("pw"), &metrics),
            AuthOutcome::Authenticated
        ));
        // The same nonce and count again is a replay.
        assert!(matches!(
            auth.check(&input(&good, Challenger::Proxy), Some("pw"), &metrics),
            AuthOutcome::Reject(Reply { status: 407, .. })
        ));
        // A wrong password is challenged again (the guard throttles later).
        let AuthOutcome::Reject(fresh) =
            auth.check(&input(&[], Challenger::Proxy), Some("pw"), &metrics)
        else {
            panic!("challenge expected");
        };
        let bad = vec![answer(
            &fresh,
            "1001",
            "nope",
            "INVITE",
            "sip:1002@pbx.test",
        )];
        assert!(matches!(
            auth.check(&input(&bad, Challenger::Proxy), Some("pw"), &metrics),
            AuthOutcome::Reject(Reply { status: 407, .. })
        ));
        // Credentials of another user than the caller are refused.
        let other = vec![answer(&fresh, "1002", "pw", "INVITE", "sip:1002@pbx.test")];
        assert!(matches!(
            auth.check(&input(&other, Challenger::Proxy), Some("pw"), &metrics),
            AuthOutcome::Reject(_)
        ));
    }

    #[test]
    fn the_registrar_still_gets_401_and_clones_share_the_state() {
        let auth = authenticator();
        let reply = auth.challenge(false);
        assert_eq!(reply.status, 401);
        assert!(reply.headers.iter().all(|(n, _)| *n == "WWW-Authenticate"));
        let clone = auth.clone();
        let metrics = Metrics::new();
        let AuthOutcome::Reject(challenge) =
            clone.check(&input(&[], Challenger::Registrar), Some("pw"), &metrics)
        else {
            panic!("challenge expected");
        };
        assert_eq!(challenge.status, 401);
        // A nonce issued through one handle is valid through the other.
        let creds = vec![answer(
            &challenge,
            "1001",
            "pw",
            "INVITE",
            "sip:1002@pbx.test",
        )];
        assert!(matches!(
            auth.check(&input(&creds, Challenger::Registrar), Some("pw"), &metrics),
            AuthOutcome::Authenticated
        ));
    }
}
