//! A bounded map keyed by source address that remembers insertion order, so the
//! oldest entry can be evicted or expired in amortised O(1).
//!
//! Order is kept in a queue of `(key, sequence)` pairs; an entry removed or
//! re-inserted leaves a stale pair behind that is skipped when reached. The
//! queue is compacted whenever stale pairs outnumber live entries, so it never
//! holds more than about twice the capacity.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Bounded, insertion-ordered map from source key to `V`.
#[derive(Debug)]
pub(crate) struct AgedMap<V> {
    map: HashMap<IpAddr, (u64, V)>,
    order: VecDeque<(IpAddr, u64)>,
    next_seq: u64,
    capacity: usize,
}

impl<V> AgedMap<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, key: &IpAddr) -> Option<&V> {
        self.map.get(key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &IpAddr) -> Option<&mut V> {
        self.map.get_mut(key).map(|(_, v)| v)
    }

    /// Inserts or replaces `key`, making it the newest entry. If the map is full
    /// and `key` is new, the oldest entry is evicted and returned.
    pub(crate) fn insert(&mut self, key: IpAddr, value: V) -> Option<(IpAddr, V)> {
        let evicted = if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            self.pop_oldest()
        } else {
            None
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.map.insert(key, (seq, value));
        self.order.push_back((key, seq));
        self.compact();
        evicted
    }

    pub(crate) fn remove(&mut self, key: &IpAddr) -> Option<V> {
        let removed = self.map.remove(key).map(|(_, v)| v);
        self.compact();
        removed
    }

    /// Drops queue pairs that no longer designate a live entry at the front.
    fn skip_stale(&mut self) {
        while let Some((key, seq)) = self.order.front() {
            match self.map.get(key) {
                Some((live, _)) if live == seq => break,
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Removes and returns the oldest entry.
    pub(crate) fn pop_oldest(&mut self) -> Option<(IpAddr, V)> {
        self.skip_stale();
        let (key, _) = self.order.pop_front()?;
        self.map.remove(&key).map(|(_, v)| (key, v))
    }

    /// Removes entries from the oldest end while `expired` holds for them.
    /// Only correct when insertion order is also expiry order.
    pub(crate) fn expire_front(&mut self, mut expired: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        loop {
            self.skip_stale();
            let Some((key, _)) = self.order.front() else {
                break;
            };
            match self.map.get(key) {
                Some((_, v)) if expired(v) => {
                    self.pop_oldest();
                    removed += 1;
                }
                _ => break,
            }
        }
        removed
    }

    /// Keeps only entries for which `keep` holds. O(len).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        self.map.retain(|_, (_, v)| keep(v));
        self.compact();
    }

    /// Rebuilds the order queue when stale pairs dominate it.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.map.len() + 16 {
            let map = &self.map;
            self.order
                .retain(|(key, seq)| map.get(key).is_some_and(|(live, _)| live == seq));
        }
    }

    #[cfg(test)]
    pub(crate) fn queue_len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn evicts_oldest_when_full() {
        let mut m = AgedMap::new(3);
        for n in 0..3 {
            assert!(m.insert(ip(n), n).is_none());
        }
        // Re-inserting key 0 makes it the newest, so 1 is now the oldest.
        assert!(m.insert(ip(0), 10).is_none());
        assert_eq!(m.insert(ip(3), 3), Some((ip(1), 1)));
        assert_eq!(m.insert(ip(4), 4), Some((ip(2), 2)));
        assert_eq!(m.insert(ip(5), 5), Some((ip(0), 10)));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn expire_front_stops_at_first_live() {
        let mut m = AgedMap::new(10);
        for n in 0..5 {
            m.insert(ip(n), n);
        }
        m.remove(&ip(1));
        assert_eq!(m.expire_front(|v| *v < 3), 2);
        assert_eq!(m.len(), 2);
        assert!(m.get(&ip(3)).is_some());
    }

    #[test]
    fn queue_stays_bounded_under_churn() {
        let mut m = AgedMap::new(8);
        for round in 0..10_000u32 {
            m.insert(ip(round % 4), round);
            if round % 3 == 0 {
                m.remove(&ip(round % 4));
            }
            assert!(m.queue_len() <= 2 * m.len() + 17);
        }
    }
}
