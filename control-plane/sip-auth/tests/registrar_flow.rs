//! The whole registrar flow through the public API, with the client side
//! computed independently from the hash crates.

#![cfg(test)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use md5::Md5;
use sha2::{Digest, Sha256};
use warden_sip_auth::{
    parse_authorization, uri_matches, verify, AuthGuard, Challenge, GuardConfig, GuardDecision,
    GuardStatus, NonceCheck, NonceConfig, NonceManager, Secret,
};

const REALM: &str = "pbx.example";
const URI: &str = "sip:pbx.example";
const NOW: u64 = 1_750_000_000;

fn hex_hash<D: Digest>(s: &str) -> String {
    D::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Extracts `name="value"` from a challenge header value (test helper, values
/// without escapes only).
fn challenge_param<'a>(header: &'a str, name: &str) -> &'a str {
    let start = header.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let len = header[start..].find('"').unwrap();
    &header[start..start + len]
}

/// What a phone answers to a challenge with qop=auth.
fn answer<D: Digest>(alg: &str, challenge: &str, user: &str, password: &str, nc: u32) -> String {
    let nonce = challenge_param(challenge, "nonce");
    let ha1 = hex_hash::<D>(&format!("{user}:{REALM}:{password}"));
    let ha2 = hex_hash::<D>(&format!("REGISTER:{URI}"));
    let response = hex_hash::<D>(&format!("{ha1}:{nonce}:{nc:08x}:deadbeef:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{URI}\", \
         response=\"{response}\", algorithm={alg}, cnonce=\"deadbeef\", qop=auth, nc={nc:08x}"
    )
}

/// What the registrar does with an `Authorization` header; `Ok(true)` is 200.
fn authenticate(
    nonces: &mut NonceManager,
    header: &str,
    password: &str,
    now: u64,
) -> Result<bool, NonceCheck> {
    let creds = parse_authorization(header).unwrap();
    assert!(uri_matches(&creds.uri, URI));
    match nonces.peek(&creds.nonce, creds.nonce_count(), now) {
        NonceCheck::Valid => {}
        other => return Err(other),
    }
    if !verify(&creds, "REGISTER", Secret::Password(password), REALM) {
        return Ok(false);
    }
    assert_eq!(
        nonces.check(&creds.nonce, creds.nonce_count(), now),
        NonceCheck::Valid
    );
    Ok(true)
}

#[test]
fn sha256_and_md5_phones_register_and_replays_fail() {
    let mut nonces = NonceManager::new(REALM, NonceConfig::default());
    let nonce = nonces.issue(NOW);
    let [sha, md5] = Challenge::pair(REALM, &nonce, None, false).map(|c| c.to_header_value());
    assert!(sha.contains("algorithm=SHA-256"));
    assert!(md5.contains("algorithm=MD5"));

    let modern = answer::<Sha256>("SHA-256", &sha, "100", "pw100", 1);
    assert_eq!(
        authenticate(&mut nonces, &modern, "pw100", NOW + 1),
        Ok(true)
    );
    assert_eq!(
        authenticate(&mut nonces, &modern, "pw100", NOW + 2),
        Err(NonceCheck::Replay)
    );
    let next = answer::<Sha256>("SHA-256", &sha, "100", "pw100", 2);
    assert_eq!(authenticate(&mut nonces, &next, "pw100", NOW + 3), Ok(true));

    // An MD5-only phone answers the second challenge (its own nonce use).
    let legacy_nonce = nonces.issue(NOW);
    let [_, md5] = Challenge::pair(REALM, &legacy_nonce, None, false).map(|c| c.to_header_value());
    let old = answer::<Md5>("MD5", &md5, "101", "pw101", 1);
    assert_eq!(authenticate(&mut nonces, &old, "pw101", NOW + 1), Ok(true));

    // A wrong password neither authenticates nor burns the nonce count.
    let wrong = answer::<Md5>("MD5", &md5, "101", "guess", 2);
    assert_eq!(
        authenticate(&mut nonces, &wrong, "pw101", NOW + 2),
        Ok(false)
    );
    let right = answer::<Md5>("MD5", &md5, "101", "pw101", 2);
    assert_eq!(
        authenticate(&mut nonces, &right, "pw101", NOW + 2),
        Ok(true)
    );

    // After the TTL the same answer is stale and a stale challenge follows.
    let later = answer::<Md5>("MD5", &md5, "101", "pw101", 3);
    assert_eq!(
        authenticate(&mut nonces, &later, "pw101", NOW + 301),
        Err(NonceCheck::Stale)
    );
    let [c, _] = Challenge::pair(REALM, &nonces.issue(NOW + 301), None, true);
    assert!(c.to_header_value().ends_with("stale=true"));
}

#[test]
fn brute_force_is_throttled_then_banned() {
    let t0 = Instant::now();
    let mut nonces = NonceManager::new(REALM, NonceConfig::default());
    let mut guard = AuthGuard::new(GuardConfig {
        failures_before_throttle: 3,
        failures_before_ban: 6,
        window: Duration::from_secs(60),
        ban_for: Duration::from_secs(600),
        ..GuardConfig::default()
    });
    let attacker: IpAddr = "203.0.113.9".parse().unwrap();
    let mut decisions = Vec::new();
    for (i, guess) in ["a", "b", "c", "d", "e", "f", "g"].iter().enumerate() {
        assert_eq!(guard.check(attacker, t0), GuardStatus::Allowed);
        let nonce = nonces.issue(NOW);
        let [sha, _] = Challenge::pair(REALM, &nonce, None, false).map(|c| c.to_header_value());
        let header = answer::<Sha256>("SHA-256", &sha, "100", guess, 1);
        assert_eq!(authenticate(&mut nonces, &header, "pw100", NOW), Ok(false));
        decisions.push(guard.record_failure(attacker, t0 + Duration::from_secs(i as u64)));
    }
    let until = t0 + Duration::from_secs(6 + 600);
    assert_eq!(
        decisions,
        [
            GuardDecision::Allow,
            GuardDecision::Allow,
            GuardDecision::Allow,
            GuardDecision::Throttle,
            GuardDecision::Throttle,
            GuardDecision::Throttle,
            GuardDecision::Ban { until },
        ]
    );
    assert_eq!(
        guard.check(attacker, t0 + Duration::from_secs(7)),
        GuardStatus::Banned { until }
    );
    assert_eq!(guard.check(attacker, until), GuardStatus::Allowed);
    assert_eq!(guard.bans_total(), 1);
}
