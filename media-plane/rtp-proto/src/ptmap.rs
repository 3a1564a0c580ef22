//! Fixed-size payload-type translation table.

use crate::error::RtpError;

/// Marker for "no mapping" in the table.
const UNMAPPED: u8 = 0xFF;

/// Maps incoming 7-bit payload types to outgoing ones; unmapped types are dropped by
/// the rewriter. A plain 128-byte table: lookups are one load, nothing allocates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PayloadTypeMap {
    table: [u8; 128],
}

impl core::fmt::Debug for PayloadTypeMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(
                self.table
                    .iter()
                    .enumerate()
                    .filter(|(_, &to)| to != UNMAPPED)
                    .map(|(from, to)| (from, *to)),
            )
            .finish()
    }
}

impl Default for PayloadTypeMap {
    /// The identity map.
    fn default() -> Self {
        Self::identity()
    }
}

impl PayloadTypeMap {
    /// Every payload type maps to itself.
    #[must_use]
    pub const fn identity() -> Self {
        let mut table = [0u8; 128];
        let mut i = 0;
        while i < 128 {
            table[i] = i as u8;
            i += 1;
        }
        Self { table }
    }

    /// Nothing is mapped: add entries with [`PayloadTypeMap::set`].
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            table: [UNMAPPED; 128],
        }
    }

    /// Maps `from` to `to`; both must be 0..=127.
    pub fn set(&mut self, from: u8, to: u8) -> Result<(), RtpError> {
        if to > 0x7F {
            return Err(RtpError::BadPayloadType(to));
        }
        let slot = self
            .table
            .get_mut(usize::from(from))
            .ok_or(RtpError::BadPayloadType(from))?;
        *slot = to;
        Ok(())
    }

    /// Removes the mapping for `from`, so packets of that type are dropped.
    pub fn remove(&mut self, from: u8) {
        if let Some(slot) = self.table.get_mut(usize::from(from)) {
            *slot = UNMAPPED;
        }
    }

    /// The outgoing payload type for `from`, if mapped.
    #[inline]
    #[must_use]
    pub fn get(&self, from: u8) -> Option<u8> {
        match self.table.get(usize::from(from)) {
            Some(&to) if to != UNMAPPED => Some(to),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_empty_and_edits() {
        let id = PayloadTypeMap::identity();
        assert_eq!(id.get(0), Some(0));
        assert_eq!(id.get(127), Some(127));
        assert_eq!(id.get(128), None);
        let mut m = PayloadTypeMap::empty();
        assert_eq!(m.get(0), None);
        m.set(101, 96).unwrap();
        m.set(0, 0).unwrap();
        assert_eq!(m.get(101), Some(96));
        assert_eq!(m.set(128, 0), Err(RtpError::BadPayloadType(128)));
        assert_eq!(m.set(1, 200), Err(RtpError::BadPayloadType(200)));
        m.remove(101);
        m.remove(200);
        assert_eq!(m.get(101), None);
        assert_eq!(format!("{m:?}"), "{0: 0}");
    }
}
