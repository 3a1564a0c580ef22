//! Per-source token-bucket rate limiter for incoming messages.
//!
//! Each source (IPv4 address or IPv6 /64) owns a bucket of `burst` tokens that
//! refills at `rate_per_sec`; a message takes one token or is refused.
//! [`RateLimiter::allow`] is O(1): one hash lookup and a little arithmetic.
//!
//! Memory bound: at most `max_tracked` buckets (each at most about 150 bytes with
//! its hash-map and order-queue slots). A new source arriving when the table is full
//! evicts the source first seen longest ago (it comes back with a full bucket,
//! which is the same state as an idle source). [`RateLimiter::sweep`] drops
//! buckets that have refilled completely, since a missing bucket means exactly
//! that; it walks the whole table, so call it periodically, not per message.

use std::net::IpAddr;
use std::time::Instant;

use crate::source::source_key;
use crate::table::AgedMap;

/// Rate, burst and memory bound for [`RateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Sustained messages per second per source (negative or NaN means 0).
    pub rate_per_sec: f64,
    /// Messages a source may send at once after being idle.
    pub burst: u32,
    /// Maximum number of sources tracked (min 1).
    pub max_tracked: usize,
}

impl Default for RateLimitConfig {
    /// 50 messages per second, bursts of 100, 65 536 sources.
    fn default() -> Self {
        Self {
            rate_per_sec: 50.0,
            burst: 100,
            max_tracked: 65_536,
        }
    }
}

/// One source's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-source token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: AgedMap<Bucket>,
    denied_total: u64,
}

impl Bucket {
    /// Tokens available at `now` (never more than `burst`).
    fn refilled(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}

impl RateLimiter {
    /// A limiter with the given configuration.
    pub fn new(config: RateLimitConfig) -> Self {
        let rate = if config.rate_per_sec.is_finite() && config.rate_per_sec > 0.0 {
            config.rate_per_sec
        } else {
            0.0
        };
        Self {
            rate,
            burst: f64::from(config.burst),
            buckets: AgedMap::new(config.max_tracked),
            denied_total: 0,
        }
    }

    /// Whether a message from `ip` at `now` is within its rate; takes a token if so.
    #[must_use]
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let key = source_key(ip);
        let allowed = match self.buckets.get_mut(&key) {
            Some(bucket) => {
                let tokens = bucket.refilled(now, self.rate, self.burst);
                bucket.last = bucket.last.max(now);
                if tokens >= 1.0 {
                    bucket.tokens = tokens - 1.0;
                    true
                } else {
                    bucket.tokens = tokens;
                    false
                }
            }
            None if self.burst >= 1.0 => {
                let bucket = Bucket {
                    tokens: self.burst - 1.0,
                    last: now,
                };
                if self.buckets.insert(key, bucket).is_some() {
                    tracing::trace!("rate limiter table full, evicted oldest source");
                }
                true
            }
            None => false,
        };
        if !allowed {
            self.denied_total += 1;
        }
        allowed
    }

    /// Drops buckets that are full again at `now` (idle sources). O(tracked).
    pub fn sweep(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.buckets
            .retain(|bucket| bucket.refilled(now, rate, burst) < burst);
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Messages refused since creation (a metrics counter).
    pub fn denied_total(&self) -> u64 {
        self.denied_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc000_0200 + n))
    }

    fn limiter(rate: f64, burst: u32, max: usize) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            rate_per_sec: rate,
            burst,
            max_tracked: max,
        })
    }

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut r = limiter(10.0, 5, 100);
        for i in 0..5 {
            assert!(r.allow(ip(1), t0), "message {i} within burst");
        }
        assert!(!r.allow(ip(1), t0));
        assert!(r.allow(ip(2), t0), "separate bucket per source");
        // 10/s: one token every 100 ms.
        assert!(!r.allow(ip(1), t0 + Duration::from_millis(99)));
        assert!(r.allow(ip(1), t0 + Duration::from_millis(100)));
        assert!(!r.allow(ip(1), t0 + Duration::from_millis(150)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        let passed = (0..20).filter(|_| r.allow(ip(1), later)).count();
        assert_eq!(passed, 5);
        assert_eq!(r.denied_total(), 1 + 1 + 1 + 15);
    }

    #[test]
    fn sustained_rate_is_respected() {
        let t0 = Instant::now();
        let mut r = limiter(100.0, 10, 10);
        // 1000 messages per second offered for 10 s: about 100/s get through.
        let mut passed = 0;
        for ms in 0..10_000u64 {
            if r.allow(ip(1), t0 + Duration::from_millis(ms)) {
                passed += 1;
            }
        }
        assert!((1000..=1010).contains(&passed), "{passed}");
    }

    #[test]
    fn zero_burst_or_rate() {
        let t0 = Instant::now();
        let mut r = limiter(100.0, 0, 10);
        assert!(!r.allow(ip(1), t0));
        assert_eq!(r.tracked(), 0);
        let mut r = limiter(f64::NAN, 2, 10);
        assert!(r.allow(ip(1), t0));
        assert!(r.allow(ip(1), t0));
        assert!(!r.allow(ip(1), t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut r = limiter(1.0, 1, 10);
        assert!(r.allow(ip(1), t0));
        assert!(!r.allow(ip(1), t0 - Duration::from_secs(5)));
        assert!(r.allow(ip(1), t0 + Duration::from_secs(1)));
    }

    #[test]
    fn bounded_memory_and_sweep() {
        let t0 = Instant::now();
        let mut r = limiter(1.0, 3, 64);
        for n in 0..10_000 {
            assert!(r.allow(ip(n), t0));
            assert!(r.tracked() <= 64);
        }
        assert_eq!(r.tracked(), 64);
        r.sweep(t0 + Duration::from_millis(500));
        assert_eq!(r.tracked(), 64, "not yet refilled");
        r.sweep(t0 + Duration::from_secs(1));
        assert_eq!(r.tracked(), 0, "refilled buckets dropped");
        // Dropping a full bucket changes nothing for the source.
        let t1 = t0 + Duration::from_secs(2);
        let passed = (0..5).filter(|_| r.allow(ip(9_999), t1)).count();
        assert_eq!(passed, 3);
    }
}
