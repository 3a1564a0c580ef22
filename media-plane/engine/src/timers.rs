//! The core's timers: an enum-indexed table of deadlines with `next_timeout()`.

use std::time::{Duration, Instant};

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// RTP-timeout scan and CPU-time refresh.
    Housekeeping,
    /// Unsolicited statistics report for every endpoint with a remote.
    StatsReport,
}

impl Timer {
    const ALL: [Timer; 2] = [Timer::Housekeeping, Timer::StatsReport];

    fn index(self) -> usize {
        match self {
            Timer::Housekeeping => 0,
            Timer::StatsReport => 1,
        }
    }
}

/// Periodic timers; a zero period disables a timer.
pub(crate) struct Timers {
    deadline: [Option<Instant>; 2],
    period: [Duration; 2],
}

impl Timers {
    pub(crate) fn new(now: Instant, housekeeping: Duration, stats: Duration) -> Self {
        let mut t = Self {
            deadline: [None; 2],
            period: [housekeeping, stats],
        };
        for timer in Timer::ALL {
            t.rearm(timer, now);
        }
        t
    }

    fn rearm(&mut self, timer: Timer, now: Instant) {
        let period = self.period[timer.index()];
        self.deadline[timer.index()] = (!period.is_zero()).then(|| now + period);
    }

    /// The earliest deadline, if any timer is armed.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.deadline.iter().flatten().min().copied()
    }

    /// Timers due at `now`, re-armed for their next period.
    pub(crate) fn expired(&mut self, now: Instant) -> impl Iterator<Item = Timer> {
        let mut due = [None; 2];
        for timer in Timer::ALL {
            if self.deadline[timer.index()].is_some_and(|d| d <= now) {
                due[timer.index()] = Some(timer);
                self.rearm(timer, now);
            }
        }
        due.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_order_and_rearm() {
        let t0 = Instant::now();
        let mut t = Timers::new(t0, Duration::from_millis(50), Duration::from_millis(200));
        assert_eq!(t.next_timeout(), Some(t0 + Duration::from_millis(50)));
        assert_eq!(t.expired(t0).count(), 0);
        let t1 = t0 + Duration::from_millis(60);
        assert_eq!(t.expired(t1).collect::<Vec<_>>(), vec![Timer::Housekeeping]);
        assert_eq!(t.next_timeout(), Some(t1 + Duration::from_millis(50)));
        let t2 = t0 + Duration::from_millis(250);
        assert_eq!(
            t.expired(t2).collect::<Vec<_>>(),
            vec![Timer::Housekeeping, Timer::StatsReport]
        );
    }

    #[test]
    fn zero_period_disables() {
        let t0 = Instant::now();
        let mut t = Timers::new(t0, Duration::ZERO, Duration::ZERO);
        assert_eq!(t.next_timeout(), None);
        assert_eq!(t.expired(t0 + Duration::from_secs(100)).count(), 0);
    }
}
