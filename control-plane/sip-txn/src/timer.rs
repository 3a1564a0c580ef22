//! Per-transaction timers: an enum-indexed table of deadlines.

use std::time::{Duration, Instant};

/// The transaction timers of RFC 3261 (A-K) and RFC 6026 (L, M).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// INVITE client: request retransmit interval (unreliable only).
    A,
    /// INVITE client: transaction timeout in Calling.
    B,
    /// INVITE client: wait for response retransmits in Completed.
    D,
    /// Non-INVITE client: request retransmit interval (unreliable only).
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: final response retransmit interval (unreliable only).
    G,
    /// INVITE server: wait for ACK in Completed.
    H,
    /// INVITE server: wait for ACK retransmits in Confirmed.
    I,
    /// Non-INVITE server: wait for request retransmits in Completed.
    J,
    /// Non-INVITE client: wait for response retransmits in Completed.
    K,
    /// INVITE server: lifetime of the Accepted state (RFC 6026).
    L,
    /// INVITE client: lifetime of the Accepted state (RFC 6026).
    M,
    /// INVITE server: send the TU's deferred 100 (Trying) when it has sent no response
    /// within 200 ms (RFC 3261 section 17.2.1).
    Trying,
}

impl TimerKind {
    /// Number of timer kinds (the size of a transaction's timer table).
    pub const COUNT: usize = 13;

    /// Every timer kind, in table order.
    pub const ALL: [TimerKind; Self::COUNT] = [
        Self::A,
        Self::B,
        Self::D,
        Self::E,
        Self::F,
        Self::G,
        Self::H,
        Self::I,
        Self::J,
        Self::K,
        Self::L,
        Self::M,
        Self::Trying,
    ];

    /// True for the retransmission timers (A, E, G); the others end a state.
    pub fn is_retransmit(self) -> bool {
        matches!(self, Self::A | Self::E | Self::G)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines of one transaction, indexed by [`TimerKind`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; TimerKind::COUNT],
}

impl TimerTable {
    /// Arms `kind` to fire `after` from `now`. A deadline that would not fit
    /// in an `Instant` leaves the timer disarmed.
    pub(crate) fn set(&mut self, kind: TimerKind, now: Instant, after: Duration) {
        self.deadlines[kind.index()] = now.checked_add(after);
    }

    /// Disarms `kind`.
    pub(crate) fn stop(&mut self, kind: TimerKind) {
        self.deadlines[kind.index()] = None;
    }

    /// The deadline of `kind`, if armed.
    pub(crate) fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.deadlines[kind.index()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer due at `now`. On a tie a timer
    /// that ends a state wins over a retransmission timer, so no message is
    /// re-sent at the very instant the transaction gives up.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = TimerKind::ALL
            .into_iter()
            .filter_map(|kind| self.get(kind).map(|at| (at, kind.is_retransmit(), kind)))
            .filter(|(at, _, _)| *at <= now)
            .min()
            .map(|(_, _, kind)| kind)?;
        self.stop(kind);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order() {
        for (i, kind) in TimerKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }

    #[test]
    fn next_timeout_is_the_minimum() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(TimerKind::B, now, Duration::from_secs(32));
        t.set(TimerKind::A, now, Duration::from_millis(500));
        assert_eq!(t.next_timeout(), Some(now + Duration::from_millis(500)));
        t.stop(TimerKind::A);
        assert_eq!(t.next_timeout(), Some(now + Duration::from_secs(32)));
        t.stop(TimerKind::B);
        assert_eq!(t.next_timeout(), None);
    }

    #[test]
    fn pop_expired_orders_by_deadline_then_prefers_terminating_timers() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        t.set(TimerKind::G, now, Duration::from_secs(2));
        t.set(TimerKind::H, now, Duration::from_secs(2));
        t.set(TimerKind::A, now, Duration::from_secs(1));
        assert_eq!(t.pop_expired(now), None);
        let later = now + Duration::from_secs(2);
        assert_eq!(t.pop_expired(later), Some(TimerKind::A));
        assert_eq!(t.pop_expired(later), Some(TimerKind::H));
        assert_eq!(t.pop_expired(later), Some(TimerKind::G));
        assert_eq!(t.pop_expired(later), None);
    }

    #[test]
    fn overflowing_deadline_stays_disarmed() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        t.set(TimerKind::B, now, Duration::MAX);
        assert_eq!(t.get(TimerKind::B), None);
    }
}
