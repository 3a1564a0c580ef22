//! The layer-wide deadline queue: a min-heap of `(deadline, TxId)` with lazy
//! deletion.
//!
//! An entry is live when its transaction still exists and that
//! transaction's earliest timer equals the entry's deadline; anything else
//! is stale and dropped when it reaches the top. The owner keeps the top
//! live after every mutation, so the earliest deadline is a peek.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::TxId;

/// Entries kept beyond twice the number of transactions before the heap is
/// rebuilt from the live deadlines.
const COMPACT_SLACK: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct DeadlineQueue {
    heap: BinaryHeap<Reverse<(Instant, TxId)>>,
}

impl DeadlineQueue {
    /// Schedules a wake-up for `tx` at `at`.
    pub(crate) fn push(&mut self, at: Instant, tx: TxId) {
        self.heap.push(Reverse((at, tx)));
    }

    /// The earliest entry, live or stale.
    pub(crate) fn peek(&self) -> Option<(Instant, TxId)> {
        self.heap.peek().map(|Reverse(entry)| *entry)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, TxId)> {
        match self.peek() {
            Some((at, _)) if at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    /// Drops stale entries from the top until a live one (or nothing) is left.
    pub(crate) fn prune(&mut self, is_live: impl Fn(Instant, TxId) -> bool) {
        while let Some((at, tx)) = self.peek() {
            if is_live(at, tx) {
                break;
            }
            self.heap.pop();
        }
    }

    /// True when stale entries dominate the heap for `live` transactions.
    pub(crate) fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > live.saturating_mul(2).saturating_add(COMPACT_SLACK)
    }

    /// Replaces the content with exactly the given live deadlines.
    pub(crate) fn rebuild(&mut self, live: impl Iterator<Item = (Instant, TxId)>) {
        self.heap = live.map(Reverse).collect();
    }

    /// Number of entries, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let t0 = Instant::now();
        let mut q = DeadlineQueue::default();
        q.push(t0 + Duration::from_secs(3), TxId(1));
        q.push(t0 + Duration::from_secs(1), TxId(2));
        q.push(t0 + Duration::from_secs(2), TxId(3));
        assert_eq!(q.pop_due(t0), None);
        let now = t0 + Duration::from_secs(2);
        assert_eq!(q.pop_due(now).map(|e| e.1), Some(TxId(2)));
        assert_eq!(q.pop_due(now).map(|e| e.1), Some(TxId(3)));
        assert_eq!(q.pop_due(now), None);
        assert_eq!(q.peek().map(|e| e.1), Some(TxId(1)));
    }

    #[test]
    fn prune_drops_stale_top_entries() {
        let t0 = Instant::now();
        let mut q = DeadlineQueue::default();
        q.push(t0, TxId(1));
        q.push(t0 + Duration::from_secs(1), TxId(2));
        q.push(t0 + Duration::from_secs(2), TxId(3));
        q.prune(|_, tx| tx != TxId(1) && tx != TxId(2));
        assert_eq!(q.peek().map(|e| e.1), Some(TxId(3)));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn compaction_threshold_and_rebuild() {
        let t0 = Instant::now();
        let mut q = DeadlineQueue::default();
        for i in 0..(COMPACT_SLACK as u64 + 3) {
            q.push(t0, TxId(i));
        }
        assert!(q.needs_compaction(1));
        assert!(!q.needs_compaction(COMPACT_SLACK));
        q.rebuild([(t0, TxId(7))].into_iter());
        assert_eq!(q.len(), 1);
        assert_eq!(q.peek(), Some((t0, TxId(7))));
    }
}
