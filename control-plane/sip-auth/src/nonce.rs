//! Stateless-verifiable server nonces with bounded replay tracking.
//!
//! A nonce is `base64url(timestamp || random || tag)` without padding, where
//! `timestamp` is the issue time in Unix seconds (8 bytes, big endian),
//! `random` is 16 random bytes and `tag` is HMAC-SHA256(secret, timestamp ||
//! random || realm) truncated to its first 16 bytes (54 characters in all,
//! short enough for phones with small nonce buffers). A forged or altered nonce,
//! one minted with another secret or for another realm, fails the tag check
//! without any stored state.
//!
//! Replay resistance needs a little state: for each nonce that has been
//! *used*, the highest nonce count accepted so far. A request must carry a
//! strictly greater `nc` than any before it (counts start at 1; gaps are
//! allowed, since requests can be lost, but a request overtaken by a later
//! one with the same nonce is refused). A request without `qop` (no `nc`)
//! is accepted only if the nonce was never used before, and then spends the
//! nonce entirely: legacy clients get a fresh challenge for every request,
//! which is the only way to make their responses non-replayable.
//!
//! Memory bound: at most [`NonceConfig::max_tracked`] used nonces are
//! remembered (roughly 60 bytes each). Entries leave when the nonce expires
//! ([`NonceManager::sweep`]) or, when the table is full, oldest-issued first.
//! Eviction never re-opens a replay window: an untracked nonce issued at or
//! before the newest evicted one is answered [`NonceCheck::Stale`], so the
//! client silently fetches a fresh nonce.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const TS_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 16;
const RAW_LEN: usize = TS_LEN + RANDOM_LEN + TAG_LEN;
/// Length of an encoded nonce: 40 bytes in unpadded base64.
const ENCODED_LEN: usize = 54;

/// Nonce lifetime and replay-table bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceConfig {
    /// How long after issue a nonce is accepted; after that it is
    /// [`NonceCheck::Stale`]. Whole seconds are used.
    pub ttl: Duration,
    /// Maximum number of used nonces remembered for replay detection (min 1).
    pub max_tracked: usize,
}

impl Default for NonceConfig {
    /// Five minutes, 65 536 tracked nonces (about 4 MiB).
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_tracked: 65_536,
        }
    }
}

/// The verdict on a nonce presented by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonceCheck {
    /// Authentic, live and not replayed.
    Valid,
    /// Authentic but expired (or its replay state was evicted): re-challenge
    /// with `stale=true` so the client retries with the same password.
    Stale,
    /// Not a nonce this manager issued for this realm.
    Invalid,
    /// Authentic and live but the nonce count was not greater than one already
    /// accepted, or a no-`qop` nonce was reused. Either a replay or a genuine
    /// request overtaken by a later one: re-challenge with a fresh nonce (and
    /// `stale=true` if the response itself verified) rather than count it as
    /// an authentication failure.
    Replay,
}

/// What has been accepted for one used nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// Highest `nc` accepted so far.
    Counted(u32),
    /// Used once without `qop`; never acceptable again.
    Spent,
}

/// A used nonce: issue time, then the random part.
type NonceId = (u64, [u8; RANDOM_LEN]);

/// Issues and checks nonces for one realm (one manager per realm).
pub struct NonceManager {
    realm: String,
    mac: HmacSha256,
    rng: StdRng,
    config: NonceConfig,
    used: BTreeMap<NonceId, Usage>,
    /// Untracked nonces issued at or before this second are stale (state evicted).
    evicted_floor: Option<u64>,
}

impl std::fmt::Debug for NonceManager {
    /// Shows the realm, configuration and table size, never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceManager")
            .field("realm", &self.realm)
            .field("config", &self.config)
            .field("tracked", &self.used.len())
            .field("evicted_floor", &self.evicted_floor)
            .finish_non_exhaustive()
    }
}

impl NonceManager {
    /// A manager with a fresh random secret: nonces do not survive a restart
    /// (clients get `stale=true` and retry silently).
    pub fn new(realm: impl Into<String>, config: NonceConfig) -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        Self::with_secret(realm, secret, config)
    }

    /// A manager with a provided random secret, e.g. shared by several
    /// registrars or kept across restarts.
    pub fn with_secret(realm: impl Into<String>, secret: [u8; 32], config: NonceConfig) -> Self {
        // A key shorter than the hash block is zero-padded by HMAC, so this is
        // HMAC keyed with `secret`, built without a fallible constructor.
        let mut key = hmac::digest::Key::<HmacSha256>::default();
        for (dst, src) in key.iter_mut().zip(secret) {
            *dst = src;
        }
        Self {
            realm: realm.into(),
            mac: <HmacSha256 as KeyInit>::new(&key),
            rng: StdRng::from_entropy(),
            config,
            used: BTreeMap::new(),
            evicted_floor: None,
        }
    }

    /// The realm this manager's nonces are bound to.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Number of used nonces currently tracked for replay detection.
    pub fn tracked(&self) -> usize {
        self.used.len()
    }

    fn tag(&self, ts: &[u8], random: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(ts);
        mac.update(random);
        mac.update(self.realm.as_bytes());
        mac
    }

    /// Mints a new nonce stamped with `now_unix_secs`.
    #[must_use]
    pub fn issue(&mut self, now_unix_secs: u64) -> String {
        let mut raw = [0u8; RAW_LEN];
        let (ts, rest) = raw.split_at_mut(TS_LEN);
        let (random, tag) = rest.split_at_mut(RANDOM_LEN);
        ts.copy_from_slice(&now_unix_secs.to_be_bytes());
        self.rng.fill_bytes(random);
        let full = self.tag(ts, random).finalize().into_bytes();
        for (dst, src) in tag.iter_mut().zip(full.iter()) {
            *dst = *src;
        }
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes and authenticates a nonce, returning its identity.
    fn authenticate(&self, nonce: &str) -> Option<NonceId> {
        if nonce.len() != ENCODED_LEN {
            return None;
        }
        let mut buf = [0u8; RAW_LEN + 8];
        let n = URL_SAFE_NO_PAD.decode_slice(nonce, &mut buf).ok()?;
        if n != RAW_LEN {
            return None;
        }
        let (ts, rest) = buf.split_at(TS_LEN);
        let (random, rest) = rest.split_at(RANDOM_LEN);
        let tag = rest.get(..TAG_LEN)?;
        self.tag(ts, random).verify_truncated_left(tag).ok()?;
        let ts = u64::from_be_bytes(ts.try_into().ok()?);
        let random: [u8; RANDOM_LEN] = random.try_into().ok()?;
        Some((ts, random))
    }

    /// The verdict for `nonce` with nonce count `nc` (`None` for a request
    /// without `qop`), without recording anything.
    ///
    /// Use this before verifying the response, then [`check`](Self::check)
    /// once it verified, so that requests with a wrong password cannot advance
    /// the nonce count of a genuine client.
    #[must_use]
    pub fn peek(&self, nonce: &str, nc: Option<u32>, now_unix_secs: u64) -> NonceCheck {
        match self.classify(nonce, nc, now_unix_secs) {
            Ok(_) => NonceCheck::Valid,
            Err(verdict) => verdict,
        }
    }

    /// Like [`peek`](Self::peek), and if the verdict is
    /// [`NonceCheck::Valid`], records `nc` (or spends a no-`qop` nonce) so the
    /// same request cannot be accepted again.
    #[must_use]
    pub fn check(&mut self, nonce: &str, nc: Option<u32>, now_unix_secs: u64) -> NonceCheck {
        let (id, usage) = match self.classify(nonce, nc, now_unix_secs) {
            Ok(accepted) => accepted,
            Err(verdict) => return verdict,
        };
        if !self.used.contains_key(&id) && self.used.len() >= self.config.max_tracked.max(1) {
            self.sweep(now_unix_secs);
            if self.used.len() >= self.config.max_tracked.max(1) {
                if let Some(((evicted_ts, _), _)) = self.used.pop_first() {
                    self.evicted_floor = Some(self.evicted_floor.unwrap_or(0).max(evicted_ts));
                    tracing::debug!(evicted_ts, "nonce replay table full, evicted oldest");
                }
            }
        }
        self.used.insert(id, usage);
        NonceCheck::Valid
    }

    /// The identity and new usage of an acceptable nonce, or the verdict.
    fn classify(
        &self,
        nonce: &str,
        nc: Option<u32>,
        now: u64,
    ) -> Result<(NonceId, Usage), NonceCheck> {
        let id = self.authenticate(nonce).ok_or(NonceCheck::Invalid)?;
        let (ts, _) = id;
        // A nonce from the future is ours (the tag is valid) but the clock
        // stepped back: ask for a fresh one rather than extend its life.
        if ts > now || now - ts > self.config.ttl.as_secs() {
            return Err(NonceCheck::Stale);
        }
        let previous = self.used.get(&id).copied();
        if previous.is_none() && self.evicted_floor.is_some_and(|floor| ts <= floor) {
            return Err(NonceCheck::Stale);
        }
        let next = match (previous, nc) {
            (None, None) => Usage::Spent,
            (None, Some(nc)) if nc > 0 => Usage::Counted(nc),
            (Some(Usage::Counted(seen)), Some(nc)) if nc > seen => Usage::Counted(nc),
            _ => return Err(NonceCheck::Replay),
        };
        Ok((id, next))
    }

    /// Forgets replay state of nonces that have expired by `now_unix_secs`.
    pub fn sweep(&mut self, now_unix_secs: u64) {
        let oldest_live = now_unix_secs.saturating_sub(self.config.ttl.as_secs());
        self.used = self.used.split_off(&(oldest_live, [0u8; RANDOM_LEN]));
        if self.evicted_floor.is_some_and(|floor| floor < oldest_live) {
            // Everything at or before the floor is expired anyway.
            self.evicted_floor = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn manager() -> NonceManager {
        NonceManager::with_secret("pbx.example", [7u8; 32], NonceConfig::default())
    }

    #[test]
    fn fresh_nonce_is_valid_and_well_formed() {
        let mut m = manager();
        let n = m.issue(T0);
        assert_eq!(n.len(), ENCODED_LEN);
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(n, m.issue(T0), "random part differs");
        assert_eq!(m.check(&n, Some(1), T0 + 1), NonceCheck::Valid);
    }

    #[test]
    fn expiry_gives_stale() {
        let mut m = manager();
        let n = m.issue(T0);
        assert_eq!(m.peek(&n, Some(1), T0 + 300), NonceCheck::Valid);
        assert_eq!(m.peek(&n, Some(1), T0 + 301), NonceCheck::Stale);
        assert_eq!(m.check(&n, Some(1), T0 + 10_000), NonceCheck::Stale);
        // Issued "in the future" relative to now (clock stepped back).
        assert_eq!(m.check(&n, Some(1), T0 - 5), NonceCheck::Stale);
    }

    #[test]
    fn tampered_nonce_is_invalid() {
        let mut m = manager();
        let n = m.issue(T0);
        let mut bytes = URL_SAFE_NO_PAD.decode(&n).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                m.check(&altered, Some(1), T0),
                NonceCheck::Invalid,
                "byte {i}"
            );
            bytes[i] ^= 0x01;
        }
        // Moving the timestamp forward to extend the nonce's life fails too.
        bytes[..8].copy_from_slice(&(T0 + 1000).to_be_bytes());
        let extended = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(m.check(&extended, Some(1), T0 + 1000), NonceCheck::Invalid);
        for junk in [
            "",
            "abc",
            &n[..53],
            &format!("{n}A"),
            &"!".repeat(54),
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        ] {
            assert_eq!(m.check(junk, Some(1), T0), NonceCheck::Invalid, "{junk}");
        }
        assert_eq!(m.check(&n, Some(1), T0), NonceCheck::Valid);
    }

    #[test]
    fn other_secret_or_realm_is_invalid() {
        let mut other = NonceManager::with_secret("pbx.example", [8u8; 32], NonceConfig::default());
        let mut other_realm =
            NonceManager::with_secret("other.example", [7u8; 32], NonceConfig::default());
        let mut random_secret = NonceManager::new("pbx.example", NonceConfig::default());
        let mut m = manager();
        for n in [
            other.issue(T0),
            other_realm.issue(T0),
            random_secret.issue(T0),
        ] {
            assert_eq!(m.check(&n, Some(1), T0), NonceCheck::Invalid);
        }
        // The same secret and realm elsewhere (e.g. after a restart) is accepted.
        let mut twin = manager();
        assert_eq!(twin.check(&m.issue(T0), Some(1), T0), NonceCheck::Valid);
    }

    #[test]
    fn nonce_count_replay() {
        let mut m = manager();
        let n = m.issue(T0);
        assert_eq!(
            m.check(&n, Some(0), T0),
            NonceCheck::Replay,
            "nc starts at 1"
        );
        assert_eq!(m.check(&n, Some(1), T0), NonceCheck::Valid);
        assert_eq!(m.check(&n, Some(1), T0), NonceCheck::Replay);
        assert_eq!(m.check(&n, Some(3), T0), NonceCheck::Valid, "gaps allowed");
        assert_eq!(m.check(&n, Some(2), T0), NonceCheck::Replay, "lower nc");
        assert_eq!(
            m.check(&n, None, T0),
            NonceCheck::Replay,
            "qop nonce reused without qop"
        );
        assert_eq!(m.check(&n, Some(4), T0), NonceCheck::Valid);
        // Other nonces are unaffected.
        let other = m.issue(T0);
        assert_eq!(m.check(&other, Some(1), T0), NonceCheck::Valid);
    }

    #[test]
    fn peek_does_not_record() {
        let mut m = manager();
        let n = m.issue(T0);
        assert_eq!(m.peek(&n, Some(5), T0), NonceCheck::Valid);
        assert_eq!(m.peek(&n, Some(5), T0), NonceCheck::Valid);
        assert_eq!(m.tracked(), 0);
        assert_eq!(m.check(&n, Some(1), T0), NonceCheck::Valid);
        assert_eq!(m.peek(&n, Some(1), T0), NonceCheck::Replay);
    }

    #[test]
    fn no_qop_nonce_is_single_use() {
        let mut m = manager();
        let n = m.issue(T0);
        assert_eq!(m.check(&n, None, T0), NonceCheck::Valid);
        assert_eq!(m.check(&n, None, T0 + 1), NonceCheck::Replay);
        assert_eq!(m.check(&n, Some(1), T0 + 1), NonceCheck::Replay);
    }

    #[test]
    fn sweep_drops_expired_state() {
        let mut m = manager();
        let old = m.issue(T0);
        let new = m.issue(T0 + 200);
        assert_eq!(m.check(&old, Some(1), T0), NonceCheck::Valid);
        assert_eq!(m.check(&new, Some(1), T0 + 200), NonceCheck::Valid);
        m.sweep(T0 + 300);
        assert_eq!(m.tracked(), 2, "both still live");
        m.sweep(T0 + 301);
        assert_eq!(m.tracked(), 1);
        assert_eq!(m.check(&old, Some(2), T0 + 301), NonceCheck::Stale);
        assert_eq!(
            m.check(&new, Some(1), T0 + 301),
            NonceCheck::Replay,
            "state kept"
        );
        m.sweep(T0 + 501);
        assert_eq!(m.tracked(), 0);
    }

    #[test]
    fn bounded_table_evicts_oldest_without_reopening_replay() {
        let config = NonceConfig {
            ttl: Duration::from_secs(300),
            max_tracked: 4,
        };
        let mut m = NonceManager::with_secret("r", [1u8; 32], config);
        let nonces: Vec<String> = (0..10).map(|i| m.issue(T0 + i)).collect();
        for n in &nonces {
            assert_eq!(m.check(n, Some(1), T0 + 20), NonceCheck::Valid);
            assert!(m.tracked() <= 4);
        }
        assert_eq!(m.tracked(), 4);
        // Evicted nonces (the six oldest) cannot be replayed: they are stale.
        for n in &nonces[..6] {
            assert_eq!(m.check(n, Some(1), T0 + 20), NonceCheck::Stale);
        }
        // Tracked ones still detect replay and accept higher counts.
        for n in &nonces[6..] {
            assert_eq!(m.check(n, Some(1), T0 + 20), NonceCheck::Replay);
            assert_eq!(m.check(n, Some(2), T0 + 20), NonceCheck::Valid);
        }
        // A nonce issued after the evictions is unaffected.
        let fresh = m.issue(T0 + 21);
        assert_eq!(m.check(&fresh, Some(1), T0 + 21), NonceCheck::Valid);
        assert_eq!(m.tracked(), 4);
    }
}
