//! Small value types shared by commands and events.

/// Correlates a command with the event that answers it. `RequestId(0)` marks unsolicited
/// events (periodic statistics), so the control plane never issues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RequestId(pub u64);

impl RequestId {
    /// The id carried by unsolicited events.
    pub const UNSOLICITED: RequestId = RequestId(0);
}

/// A media core's name for one endpoint: a slot in its endpoint table plus the slot's
/// generation, so a handle to a destroyed endpoint is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EndpointHandle {
    /// Index in the core's endpoint table.
    pub slot: u32,
    /// Generation of the slot when the endpoint was created.
    pub generation: u32,
}

/// Media direction of an endpoint, seen from the media plane: "send" is towards the
/// endpoint's remote party, "receive" is from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Relay both ways.
    #[default]
    SendRecv,
    /// Send to the remote; discard what it sends.
    SendOnly,
    /// Accept from the remote; send it nothing.
    RecvOnly,
    /// Neither send nor accept.
    Inactive,
}

impl Direction {
    /// Whether media may be sent to the remote.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media from the remote is accepted.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    pub(crate) fn to_wire(self) -> u8 {
        match self {
            Direction::SendRecv => 0,
            Direction::SendOnly => 1,
            Direction::RecvOnly => 2,
            Direction::Inactive => 3,
        }
    }

    pub(crate) fn from_wire(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Direction::SendRecv,
            1 => Direction::SendOnly,
            2 => Direction::RecvOnly,
            3 => Direction::Inactive,
            _ => return None,
        })
    }
}

/// Maximum number of entries in a [`PtMap`].
pub const PT_MAP_CAPACITY: usize = 8;

/// Payload-type rewrite applied to RTP sent out through an endpoint: a packet whose payload
/// type is `from` leaves with `to`; payload types not in the map pass unchanged.
///
/// Fixed capacity ([`PT_MAP_CAPACITY`]), `Copy`, no heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PtMap {
    entries: [(u8, u8); PT_MAP_CAPACITY],
    len: u8,
}

impl PtMap {
    /// An empty map (every payload type passes unchanged).
    pub const fn new() -> Self {
        Self {
            entries: [(0, 0); PT_MAP_CAPACITY],
            len: 0,
        }
    }

    /// Adds or replaces the rewrite for `from`. Returns `false` when the map is full or
    /// either value is not a 7-bit payload type.
    pub fn insert(&mut self, from: u8, to: u8) -> bool {
        if from > 127 || to > 127 {
            return false;
        }
        let len = usize::from(self.len);
        if let Some(entry) = self.entries[..len].iter_mut().find(|e| e.0 == from) {
            entry.1 = to;
            return true;
        }
        match self.entries.get_mut(len) {
            Some(slot) => {
                *slot = (from, to);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Builds a map from pairs; fails on more than [`PT_MAP_CAPACITY`] entries or a value
    /// above 127.
    pub fn from_pairs(pairs: &[(u8, u8)]) -> Option<Self> {
        let mut map = Self::new();
        for &(from, to) in pairs {
            if !map.insert(from, to) {
                return None;
            }
        }
        Some(map)
    }

    /// The payload type a packet carrying `pt` leaves with.
    #[inline]
    pub fn map(&self, pt: u8) -> u8 {
        self.entries()
            .iter()
            .find(|e| e.0 == pt)
            .map_or(pt, |e| e.1)
    }

    /// The entries in insertion order.
    pub fn entries(&self) -> &[(u8, u8)] {
        let len = usize::from(self.len).min(PT_MAP_CAPACITY);
        &self.entries[..len]
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pt_map_rewrites_listed_types_only() {
        let map = PtMap::from_pairs(&[(0, 8), (101, 96)]).unwrap();
        assert_eq!(map.map(0), 8);
        assert_eq!(map.map(101), 96);
        assert_eq!(map.map(18), 18);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn pt_map_rejects_overflow_and_bad_values() {
        let pairs: Vec<(u8, u8)> = (0..=PT_MAP_CAPACITY as u8).map(|i| (i, i + 1)).collect();
        assert!(PtMap::from_pairs(&pairs).is_none());
        assert!(PtMap::from_pairs(&pairs[..PT_MAP_CAPACITY]).is_some());
        assert!(PtMap::from_pairs(&[(128, 0)]).is_none());
        let mut map = PtMap::new();
        assert!(map.insert(5, 6));
        assert!(map.insert(5, 7));
        assert_eq!(map.len(), 1);
        assert_eq!(map.map(5), 7);
    }

    #[test]
    fn direction_flags() {
        assert!(Direction::SendRecv.sends() && Direction::SendRecv.receives());
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
        assert!(!Direction::RecvOnly.sends() && Direction::RecvOnly.receives());
        assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
        for b in 0..=255u8 {
            if let Some(d) = Direction::from_wire(b) {
                assert_eq!(d.to_wire(), b);
            } else {
                assert!(b > 3);
            }
        }
    }
}
