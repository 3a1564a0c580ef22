//! Timer configuration (RFC 3261 table 4, RFC 6026 Timers L and M).

use std::time::Duration;

use crate::timer::TimerKind;

/// The shortest retransmission interval the layer will schedule; guards
/// against a zero T1/T2 turning a retransmit timer into a busy loop.
const MIN_RETRANSMIT_INTERVAL: Duration = Duration::from_millis(1);

/// Timer values for the transaction layer.
///
/// The `timer_*` values are the unreliable-transport durations. On a
/// reliable transport the layer never starts Timers A, E and G, and uses a
/// zero duration for Timers D, I, J and K.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Round-trip time estimate; initial retransmit interval (default 500 ms).
    pub t1: Duration,
    /// Cap of the non-INVITE request and INVITE response retransmit interval (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
    /// Timer B: INVITE client transaction timeout (default 64*T1).
    pub timer_b: Duration,
    /// Timer D: wait time for response retransmits after a non-2xx final (default 32 s).
    pub timer_d: Duration,
    /// Timer F: non-INVITE client transaction timeout (default 64*T1).
    pub timer_f: Duration,
    /// Timer H: wait time for the ACK of a non-2xx final (default 64*T1).
    pub timer_h: Duration,
    /// Timer I: wait time for ACK retransmits in Confirmed (default T4).
    pub timer_i: Duration,
    /// Timer J: wait time for non-INVITE request retransmits (default 64*T1).
    pub timer_j: Duration,
    /// Timer K: wait time for non-INVITE response retransmits (default T4).
    pub timer_k: Duration,
    /// Timer L (RFC 6026): INVITE server transaction lifetime in Accepted (default 64*T1).
    pub timer_l: Duration,
    /// Timer M (RFC 6026): INVITE client transaction lifetime in Accepted (default 64*T1).
    pub timer_m: Duration,
    /// How long an INVITE server transaction holds a deferred 100 (Trying) back, waiting for
    /// the TU's own response (RFC 3261 section 17.2.1: 200 ms).
    pub trying_delay: Duration,
    /// Detect merged requests (RFC 3261 section 8.2.2.2) and report them as
    /// [`ServerRequest::Merged`](crate::ServerRequest::Merged) (default on,
    /// which suits a user agent or B2BUA; a proxy turns it off).
    pub detect_merged_requests: bool,
}

impl Config {
    /// Derives every timer from the three base values as RFC 3261 and
    /// RFC 6026 recommend (Timer D stays at its fixed 32 s).
    pub fn from_base(t1: Duration, t2: Duration, t4: Duration) -> Self {
        let t1x64 = t1.saturating_mul(64);
        Self {
            t1,
            t2,
            t4,
            timer_b: t1x64,
            timer_d: Duration::from_secs(32),
            timer_f: t1x64,
            timer_h: t1x64,
            timer_i: t4,
            timer_j: t1x64,
            timer_k: t4,
            timer_l: t1x64,
            timer_m: t1x64,
            trying_delay: Duration::from_millis(200),
            detect_merged_requests: true,
        }
    }

    /// The duration to arm `kind` with, for a transaction on a reliable or
    /// unreliable transport. For A, E and G this is the first interval.
    pub fn duration(&self, kind: TimerKind, reliable: bool) -> Duration {
        let zero_if_reliable = |d: Duration| if reliable { Duration::ZERO } else { d };
        match kind {
            TimerKind::A | TimerKind::E | TimerKind::G => self.first_retransmit_interval(),
            TimerKind::B => self.timer_b,
            TimerKind::D => zero_if_reliable(self.timer_d),
            TimerKind::F => self.timer_f,
            TimerKind::H => self.timer_h,
            TimerKind::I => zero_if_reliable(self.timer_i),
            TimerKind::J => zero_if_reliable(self.timer_j),
            TimerKind::K => zero_if_reliable(self.timer_k),
            TimerKind::L => self.timer_l,
            TimerKind::M => self.timer_m,
            TimerKind::Trying => self.trying_delay,
        }
    }

    /// The first interval of Timers A, E and G (T1, at least 1 ms).
    pub(crate) fn first_retransmit_interval(&self) -> Duration {
        self.t1.max(MIN_RETRANSMIT_INTERVAL)
    }

    /// The cap of Timers E and G (T2, at least 1 ms).
    pub(crate) fn retransmit_cap(&self) -> Duration {
        self.t2.max(MIN_RETRANSMIT_INTERVAL)
    }

    /// The interval after `previous` when doubling without a cap (Timer A).
    pub(crate) fn doubled(previous: Duration) -> Duration {
        previous.saturating_mul(2).max(MIN_RETRANSMIT_INTERVAL)
    }

    /// The interval after `previous` when doubling capped at T2 (Timers E and G).
    pub(crate) fn doubled_capped(&self, previous: Duration) -> Duration {
        Self::doubled(previous).min(self.retransmit_cap())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::from_base(
            Duration::from_millis(500),
            Duration::from_secs(4),
            Duration::from_secs(5),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_rfc_tables() {
        let c = Config::default();
        assert_eq!(c.t1, Duration::from_millis(500));
        assert_eq!(c.timer_b, Duration::from_secs(32));
        assert_eq!(c.timer_f, Duration::from_secs(32));
        assert_eq!(c.timer_h, Duration::from_secs(32));
        assert_eq!(c.timer_j, Duration::from_secs(32));
        assert_eq!(c.timer_l, Duration::from_secs(32));
        assert_eq!(c.timer_m, Duration::from_secs(32));
        assert_eq!(c.timer_d, Duration::from_secs(32));
        assert_eq!(c.timer_i, Duration::from_secs(5));
        assert_eq!(c.timer_k, Duration::from_secs(5));
    }

    #[test]
    fn reliable_transport_zeroes_d_i_j_k_only() {
        let c = Config::default();
        for kind in [TimerKind::D, TimerKind::I, TimerKind::J, TimerKind::K] {
            assert_eq!(c.duration(kind, true), Duration::ZERO, "{kind:?}");
            assert!(c.duration(kind, false) > Duration::ZERO, "{kind:?}");
        }
        for kind in [
            TimerKind::B,
            TimerKind::F,
            TimerKind::H,
            TimerKind::L,
            TimerKind::M,
        ] {
            assert_eq!(c.duration(kind, true), Duration::from_secs(32), "{kind:?}");
        }
    }

    #[test]
    fn doubling_is_capped_and_never_zero() {
        let c = Config::default();
        assert_eq!(
            c.doubled_capped(Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(
            c.doubled_capped(Duration::from_secs(2)),
            Duration::from_secs(4)
        );
        assert_eq!(
            c.doubled_capped(Duration::from_secs(4)),
            Duration::from_secs(4)
        );
        assert_eq!(Config::doubled(Duration::MAX), Duration::MAX);
        let zero = Config::from_base(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert!(zero.first_retransmit_interval() > Duration::ZERO);
        assert!(zero.doubled_capped(Duration::ZERO) > Duration::ZERO);
    }
}
