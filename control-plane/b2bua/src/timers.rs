//! Call timers: an enum-indexed table per call and one deadline queue over all calls.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::ids::{CallId, Leg};

/// The timers of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CallTimer {
    /// Nobody answered in time.
    Ring,
    /// Nobody answered before the callee's no-answer forwarding applies.
    ForwardNoAnswer,
    /// The answered call reached its maximum duration.
    MaxDuration,
    /// Re-send our 2xx to an INVITE of the caller until its ACK.
    Resend2xxA,
    /// Re-send our 2xx to an INVITE of the callee until its ACK.
    Resend2xxB,
    /// Give up waiting for the caller's ACK.
    AckWaitA,
    /// Give up waiting for the callee's ACK.
    AckWaitB,
    /// Re-send a reliable provisional response to the caller until its PRACK.
    Reliable1xx,
    /// Refresh the session on the caller's leg (we are the refresher).
    RefreshA,
    /// Refresh the session on the callee's leg (we are the refresher).
    RefreshB,
    /// The caller's leg session expired without a refresh.
    ExpireA,
    /// The callee's leg session expired without a refresh.
    ExpireB,
    /// Give up forks whose CANCEL got no final response.
    CancelGiveUp,
    /// An ended call is forgotten.
    Linger,
    /// A voicemail message reached its longest length.
    VoicemailMax,
}

impl CallTimer {
    const ALL: [CallTimer; 15] = [
        CallTimer::Ring,
        CallTimer::ForwardNoAnswer,
        CallTimer::MaxDuration,
        CallTimer::Resend2xxA,
        CallTimer::Resend2xxB,
        CallTimer::AckWaitA,
        CallTimer::AckWaitB,
        CallTimer::Reliable1xx,
        CallTimer::RefreshA,
        CallTimer::RefreshB,
        CallTimer::ExpireA,
        CallTimer::ExpireB,
        CallTimer::CancelGiveUp,
        CallTimer::Linger,
        CallTimer::VoicemailMax,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn resend_2xx(leg: Leg) -> Self {
        match leg {
            Leg::A => CallTimer::Resend2xxA,
            Leg::B => CallTimer::Resend2xxB,
        }
    }

    pub(crate) fn ack_wait(leg: Leg) -> Self {
        match leg {
            Leg::A => CallTimer::AckWaitA,
            Leg::B => CallTimer::AckWaitB,
        }
    }

    pub(crate) fn refresh(leg: Leg) -> Self {
        match leg {
            Leg::A => CallTimer::RefreshA,
            Leg::B => CallTimer::RefreshB,
        }
    }

    pub(crate) fn expire(leg: Leg) -> Self {
        match leg {
            Leg::A => CallTimer::ExpireA,
            Leg::B => CallTimer::ExpireB,
        }
    }
}

/// When each timer of a call fires, if armed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; CallTimer::ALL.len()],
}

impl TimerTable {
    pub(crate) fn arm(&mut self, timer: CallTimer, at: Instant) {
        if let Some(slot) = self.at.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    pub(crate) fn stop(&mut self, timer: CallTimer) {
        if let Some(slot) = self.at.get_mut(timer.index()) {
            *slot = None;
        }
    }

    pub(crate) fn get(&self, timer: CallTimer) -> Option<Instant> {
        self.at.get(timer.index()).copied().flatten()
    }

    pub(crate) fn stop_all(&mut self) {
        self.at = Default::default();
    }

    /// The earliest armed deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Disarms and returns one timer due at `now`, earliest first.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<CallTimer> {
        let (timer, _) = CallTimer::ALL
            .iter()
            .filter_map(|&t| self.get(t).filter(|at| *at <= now).map(|at| (t, at)))
            .min_by_key(|(_, at)| *at)?;
        self.stop(timer);
        Some(timer)
    }
}

/// Deadlines of every call, earliest first. Entries go stale when a call's timers change;
/// the owner checks each popped entry against the call's table.
#[derive(Debug, Default)]
pub(crate) struct DeadlineQueue {
    heap: BinaryHeap<Reverse<(Instant, CallId)>>,
}

impl DeadlineQueue {
    pub(crate) fn push(&mut self, at: Instant, call: CallId) {
        self.heap.push(Reverse((at, call)));
    }

    pub(crate) fn peek(&self) -> Option<(Instant, CallId)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, CallId)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drops stale entries from the top until the earliest one is live.
    pub(crate) fn prune(&mut self, live: impl Fn(Instant, CallId) -> bool) {
        while let Some(Reverse((at, call))) = self.heap.peek() {
            if live(*at, *call) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Rebuilds the queue from the live deadlines when stale entries pile up.
    pub(crate) fn compact(&mut self, calls: usize, live: impl Iterator<Item = (Instant, CallId)>) {
        if self.heap.len() > 64 && self.heap.len() > calls.saturating_mul(4) {
            self.heap = live.map(Reverse).collect();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn table_pops_in_deadline_order() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.arm(CallTimer::Linger, t0 + Duration::from_secs(3));
        t.arm(CallTimer::Ring, t0 + Duration::from_secs(1));
        t.arm(CallTimer::ExpireB, t0 + Duration::from_secs(2));
        assert_eq!(t.next_timeout(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.pop_expired(t0), None);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(t.pop_expired(later), Some(CallTimer::Ring));
        assert_eq!(t.pop_expired(later), Some(CallTimer::ExpireB));
        assert_eq!(t.pop_expired(later), Some(CallTimer::Linger));
        assert_eq!(t.pop_expired(later), None);
        t.arm(CallTimer::refresh(Leg::B), later);
        t.stop_all();
        assert_eq!(t.next_timeout(), None);
    }

    #[test]
    fn queue_prunes_stale_entries() {
        let t0 = Instant::now();
        let mut q = DeadlineQueue::default();
        q.push(t0, CallId(1));
        q.push(t0 + Duration::from_secs(1), CallId(2));
        q.prune(|_, c| c != CallId(1));
        assert_eq!(q.peek(), Some((t0 + Duration::from_secs(1), CallId(2))));
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(1)).map(|e| e.1),
            Some(CallId(2))
        );
        assert_eq!(q.len(), 0);
    }
}
