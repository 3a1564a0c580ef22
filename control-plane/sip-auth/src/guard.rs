//! Per-source authentication failure guard: throttle, then ban.
//!
//! The registrar reports each failed authentication (wrong response, unknown
//! user) with [`AuthGuard::record_failure`]. A request that merely lacked
//! credentials, or carried a stale nonce, is not a failure. Failures are counted
//! in a fixed `window` that opens at the first failure of a series (the next
//! failure after it closes opens a new one):
//!
//! * up to `failures_before_throttle` failures are answered normally
//!   ([`GuardDecision::Allow`]: send a new challenge);
//! * further failures up to `failures_before_ban` are throttled
//!   ([`GuardDecision::Throttle`]: answer 403 instead of a new challenge);
//! * the next failure bans the source for `ban_for` ([`GuardDecision::Ban`]):
//!   the transport drops everything from it while [`AuthGuard::check`] says
//!   [`GuardStatus::Banned`].
//!
//! Sources are keyed by IPv4 address or IPv6 /64 prefix.
//!
//! Memory bound: at most `max_tracked` failure counters and `max_bans` bans
//! (each at most about 150 bytes with its hash-map and order-queue slots). The two
//! tables are separate so a flood of one-off failures from many addresses can
//! never push out an active ban. When a table is full the oldest entry (the
//! longest-running failure window, or the ban closest to expiry) is evicted.
//! [`AuthGuard::sweep`] drops ended windows and expired bans in time
//! proportional to what it removes.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::source::source_key;
use crate::table::AgedMap;

/// Thresholds and memory bounds for [`AuthGuard`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Failures within `window` answered normally before throttling starts.
    pub failures_before_throttle: u32,
    /// Failures within `window` tolerated before a ban (throttled once past
    /// `failures_before_throttle`).
    pub failures_before_ban: u32,
    /// How long failures are counted after the first one of a series.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// Maximum number of sources with failure counters (min 1).
    pub max_tracked: usize,
    /// Maximum number of simultaneous bans (min 1).
    pub max_bans: usize,
}

impl Default for GuardConfig {
    /// Throttle after 5 failures, ban after 10 within 5 minutes, for 15 minutes;
    /// 65 536 counters and 65 536 bans.
    fn default() -> Self {
        Self {
            failures_before_throttle: 5,
            failures_before_ban: 10,
            window: Duration::from_secs(300),
            ban_for: Duration::from_secs(900),
            max_tracked: 65_536,
            max_bans: 65_536,
        }
    }
}

/// What to do after a failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardDecision {
    /// Answer normally with a new challenge.
    Allow,
    /// Answer 403 without a new challenge.
    Throttle,
    /// The source is banned until `until`: drop its traffic.
    Ban {
        /// When the ban ends.
        until: Instant,
    },
}

/// Whether a source may be served at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardStatus {
    /// Not banned.
    Allowed,
    /// Banned until `until`.
    Banned {
        /// When the ban ends.
        until: Instant,
    },
}

/// A failure series for one source.
#[derive(Debug, Clone, Copy)]
struct Failures {
    window_start: Instant,
    count: u32,
}

/// Tracks authentication failures per source and decides throttles and bans.
#[derive(Debug)]
pub struct AuthGuard {
    config: GuardConfig,
    failures: AgedMap<Failures>,
    bans: AgedMap<Instant>,
    bans_total: u64,
}

/// `now + d`, clamped instead of overflowing on absurd configured durations.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}

impl AuthGuard {
    /// A guard with the given configuration.
    pub fn new(config: GuardConfig) -> Self {
        Self {
            config,
            failures: AgedMap::new(config.max_tracked),
            bans: AgedMap::new(config.max_bans),
            bans_total: 0,
        }
    }

    /// Whether `ip` may be served at `now`.
    #[must_use]
    pub fn check(&self, ip: IpAddr, now: Instant) -> GuardStatus {
        match self.bans.get(&source_key(ip)) {
            Some(&until) if until > now => GuardStatus::Banned { until },
            _ => GuardStatus::Allowed,
        }
    }

    /// Records a failed authentication from `ip` and returns what to do.
    #[must_use]
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> GuardDecision {
        let key = source_key(ip);
        match self.bans.get(&key) {
            Some(&until) if until > now => return GuardDecision::Ban { until },
            Some(_) => {
                self.bans.remove(&key);
            }
            None => {}
        }
        let count = match self.failures.get_mut(&key) {
            Some(f) if now.saturating_duration_since(f.window_start) < self.config.window => {
                f.count = f.count.saturating_add(1);
                f.count
            }
            _ => {
                let fresh = Failures {
                    window_start: now,
                    count: 1,
                };
                if self.failures.insert(key, fresh).is_some() {
                    tracing::debug!("auth guard table full, evicted oldest counter");
                }
                1
            }
        };
        if count > self.config.failures_before_ban {
            self.failures.remove(&key);
            let until = later(now, self.config.ban_for);
            if self.bans.insert(key, until).is_some() {
                tracing::warn!("auth guard ban table full, evicted the ban closest to expiry");
            }
            self.bans_total += 1;
            tracing::info!(source = %key, failures = count, ban_secs = self.config.ban_for.as_secs(), "source banned after repeated auth failures");
            GuardDecision::Ban { until }
        } else if count > self.config.failures_before_throttle {
            GuardDecision::Throttle
        } else {
            GuardDecision::Allow
        }
    }

    /// Records a successful authentication from `ip`: its failure count is
    /// cleared (an active ban is kept).
    pub fn record_success(&mut self, ip: IpAddr) {
        self.failures.remove(&source_key(ip));
    }

    /// Lifts a ban on `ip` early (administrative action). Returns whether one
    /// was present.
    pub fn unban(&mut self, ip: IpAddr) -> bool {
        let key = source_key(ip);
        self.failures.remove(&key);
        self.bans.remove(&key).is_some()
    }

    /// Drops failure windows that ended and bans that expired by `now`.
    pub fn sweep(&mut self, now: Instant) {
        let window = self.config.window;
        self.failures
            .expire_front(|f| now.saturating_duration_since(f.window_start) >= window);
        self.bans.expire_front(|&until| until <= now);
    }

    /// Total bans imposed since creation (a metrics counter).
    pub fn bans_total(&self) -> u64 {
        self.bans_total
    }

    /// Bans currently held (a metrics gauge). Expired bans no longer block
    /// anything but are only dropped by [`sweep`](Self::sweep), so call it first
    /// for an exact figure.
    pub fn active_bans(&self) -> usize {
        self.bans.len()
    }

    /// Sources with a running failure count.
    pub fn tracked_sources(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    fn config() -> GuardConfig {
        GuardConfig {
            failures_before_throttle: 2,
            failures_before_ban: 4,
            window: Duration::from_secs(60),
            ban_for: Duration::from_secs(600),
            max_tracked: 100,
            max_bans: 100,
        }
    }

    #[test]
    fn throttle_then_ban_then_expiry() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(config());
        let a = ip(1);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Allow);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Allow);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Throttle);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Throttle);
        assert_eq!(g.check(a, t0), GuardStatus::Allowed);
        let until = t0 + Duration::from_secs(600);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Ban { until });
        assert_eq!(g.check(a, t0), GuardStatus::Banned { until });
        assert_eq!(
            g.check(ip(2), t0),
            GuardStatus::Allowed,
            "other sources unaffected"
        );
        assert_eq!(g.bans_total(), 1);
        assert_eq!(g.active_bans(), 1);
        // Further failures while banned keep the same ban.
        assert_eq!(
            g.record_failure(a, t0 + Duration::from_secs(1)),
            GuardDecision::Ban { until }
        );
        assert_eq!(g.bans_total(), 1);
        assert_eq!(
            g.check(a, until - Duration::from_millis(1)),
            GuardStatus::Banned { until }
        );
        // Expired: allowed again, with a fresh count.
        assert_eq!(g.check(a, until), GuardStatus::Allowed);
        assert_eq!(g.record_failure(a, until), GuardDecision::Allow);
        assert_eq!(g.active_bans(), 0);
    }

    #[test]
    fn window_resets_count() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(config());
        let a = ip(1);
        for _ in 0..2 {
            assert_eq!(g.record_failure(a, t0), GuardDecision::Allow);
        }
        assert_eq!(
            g.record_failure(a, t0 + Duration::from_secs(59)),
            GuardDecision::Throttle
        );
        assert_eq!(
            g.record_failure(a, t0 + Duration::from_secs(60)),
            GuardDecision::Allow
        );
    }

    #[test]
    fn success_clears_failures_but_not_bans() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(config());
        let a = ip(1);
        for _ in 0..3 {
            let _ = g.record_failure(a, t0);
        }
        g.record_success(a);
        assert_eq!(g.tracked_sources(), 0);
        assert_eq!(g.record_failure(a, t0), GuardDecision::Allow);
        for _ in 0..4 {
            let _ = g.record_failure(a, t0);
        }
        assert!(matches!(g.check(a, t0), GuardStatus::Banned { .. }));
        g.record_success(a);
        assert!(matches!(g.check(a, t0), GuardStatus::Banned { .. }));
        assert!(g.unban(a));
        assert_eq!(g.check(a, t0), GuardStatus::Allowed);
        assert!(!g.unban(a));
    }

    #[test]
    fn ipv6_sources_grouped_by_prefix() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(config());
        for i in 0..5u16 {
            let addr = IpAddr::from([0x2001, 0xdb8, 0, 1, i, 0, 0, 1]);
            let _ = g.record_failure(addr, t0);
        }
        let other_host_same_prefix = IpAddr::from([0x2001, 0xdb8, 0, 1, 0xffff, 0, 0, 9]);
        assert!(matches!(
            g.check(other_host_same_prefix, t0),
            GuardStatus::Banned { .. }
        ));
        let other_prefix = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert_eq!(g.check(other_prefix, t0), GuardStatus::Allowed);
    }

    #[test]
    fn memory_is_bounded_and_bans_survive_a_flood() {
        let t0 = Instant::now();
        let mut cfg = config();
        cfg.max_tracked = 50;
        cfg.max_bans = 10;
        let mut g = AuthGuard::new(cfg);
        let attacker = ip(0);
        for _ in 0..5 {
            let _ = g.record_failure(attacker, t0);
        }
        for n in 1..10_000 {
            let _ = g.record_failure(ip(n), t0);
            assert!(g.tracked_sources() <= 50);
        }
        assert!(matches!(g.check(attacker, t0), GuardStatus::Banned { .. }));
        // Bans are bounded too; the oldest ban goes first.
        for n in 1..=20 {
            for _ in 0..5 {
                let _ = g.record_failure(ip(100_000 + n), t0 + Duration::from_secs(u64::from(n)));
            }
            assert!(g.active_bans() <= 10);
        }
        assert_eq!(g.check(attacker, t0), GuardStatus::Allowed);
        assert!(matches!(
            g.check(ip(100_020), t0),
            GuardStatus::Banned { .. }
        ));
        assert_eq!(g.bans_total(), 21);
    }

    #[test]
    fn sweep_drops_expired_state() {
        let t0 = Instant::now();
        let mut g = AuthGuard::new(config());
        let _ = g.record_failure(ip(1), t0);
        let _ = g.record_failure(ip(2), t0 + Duration::from_secs(30));
        for _ in 0..5 {
            let _ = g.record_failure(ip(3), t0);
        }
        assert_eq!((g.tracked_sources(), g.active_bans()), (2, 1));
        g.sweep(t0 + Duration::from_secs(60));
        assert_eq!((g.tracked_sources(), g.active_bans()), (1, 1));
        g.sweep(t0 + Duration::from_secs(600));
        assert_eq!((g.tracked_sources(), g.active_bans()), (0, 0));
        assert_eq!(g.bans_total(), 1);
    }

    #[test]
    fn absurd_ban_duration_does_not_panic() {
        let t0 = Instant::now();
        let mut cfg = config();
        cfg.ban_for = Duration::MAX;
        cfg.failures_before_ban = 0;
        let mut g = AuthGuard::new(cfg);
        assert!(matches!(
            g.record_failure(ip(1), t0),
            GuardDecision::Ban { .. }
        ));
        assert!(matches!(g.check(ip(1), t0), GuardStatus::Banned { .. }));
    }
}
