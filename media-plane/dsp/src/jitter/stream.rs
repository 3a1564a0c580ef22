//! RTP timestamp / sequence-number extension and loss accounting.

/// Extends a wrapping 32-bit RTP timestamp to 64 bits relative to the newest value seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unwrapper {
    last: u32,
    last_ext: i64,
}

impl Unwrapper {
    pub(crate) fn new(first: u32) -> Self {
        Self {
            last: first,
            last_ext: i64::from(first),
        }
    }

    /// Extended value of `ts` (interpreting differences of up to ±2^31 as the shorter way
    /// round), without updating the reference.
    pub(crate) fn extend(&self, ts: u32) -> i64 {
        self.last_ext + i64::from(ts.wrapping_sub(self.last) as i32)
    }

    /// Moves the reference forward when `ext` is newer.
    pub(crate) fn advance(&mut self, ts: u32, ext: i64) {
        if ext > self.last_ext {
            self.last = ts;
            self.last_ext = ext;
        }
    }
}

/// Sequence-number tracking: extension, duplicate detection over the last 1024 numbers, and
/// RFC 3550 style expected/received counts.
#[derive(Debug, Clone)]
pub(crate) struct SeqTracker {
    max: u16,
    max_ext: i64,
    base_ext: i64,
    received: u64,
    seen: [u64; 16],
}

/// Outcome of recording a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    New,
    Duplicate,
    /// Too old to tell (more than 1024 behind the newest).
    Ancient,
}

impl SeqTracker {
    const SPAN: i64 = 1024;

    pub(crate) fn new(first: u16) -> Self {
        let ext = i64::from(first);
        Self {
            max: first,
            max_ext: ext,
            base_ext: ext,
            received: 0,
            seen: [0; 16],
        }
    }

    pub(crate) fn extend(&self, seq: u16) -> i64 {
        self.max_ext + i64::from(seq.wrapping_sub(self.max) as i16)
    }

    fn bit(ext: i64) -> (usize, u64) {
        let i = ext.rem_euclid(Self::SPAN) as usize;
        (i / 64, 1u64 << (i % 64))
    }

    /// Signed distance of `seq` from the newest sequence number.
    pub(crate) fn distance(&self, seq: u16) -> i64 {
        self.extend(seq) - self.max_ext
    }

    /// Records `seq`; returns whether it is new.
    pub(crate) fn record(&mut self, seq: u16) -> SeqCheck {
        let ext = self.extend(seq);
        if ext <= self.max_ext - Self::SPAN {
            return SeqCheck::Ancient;
        }
        if ext > self.max_ext {
            let gap = ext - self.max_ext;
            if gap >= Self::SPAN {
                self.seen = [0; 16];
            } else {
                for e in self.max_ext + 1..=ext {
                    let (w, b) = Self::bit(e);
                    self.seen[w] &= !b;
                }
            }
            self.max = seq;
            self.max_ext = ext;
        }
        if ext < self.base_ext {
            self.base_ext = ext;
        }
        let (w, b) = Self::bit(ext);
        if self.seen[w] & b != 0 {
            return SeqCheck::Duplicate;
        }
        self.seen[w] |= b;
        self.received += 1;
        SeqCheck::New
    }

    /// Packets expected but not received so far.
    pub(crate) fn lost(&self) -> u64 {
        let expected = (self.max_ext - self.base_ext + 1).max(0) as u64;
        expected.saturating_sub(self.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_unwrap_across_the_boundary() {
        let mut u = Unwrapper::new(u32::MAX - 100);
        let e = u.extend(60);
        assert_eq!(e, i64::from(u32::MAX) + 61);
        u.advance(60, e);
        assert_eq!(u.extend(u32::MAX - 10), i64::from(u32::MAX) - 10);
    }

    #[test]
    fn sequence_wrap_duplicates_and_loss() {
        let mut s = SeqTracker::new(65_530);
        for seq in [65_530u16, 65_531, 65_533, 65_535, 0, 2] {
            assert_eq!(s.record(seq), SeqCheck::New);
        }
        assert_eq!(s.record(65_533), SeqCheck::Duplicate);
        assert_eq!(s.lost(), 3, "65532, 65534 and 1 missing");
        assert_eq!(s.record(1), SeqCheck::New);
        assert_eq!(s.lost(), 2);
        for seq in 3..2000u16 {
            s.record(seq);
        }
        assert_eq!(s.record(65_532), SeqCheck::Ancient);
    }
}
