//! DTMF digits and the RFC 4733 telephone-event payload.

use crate::error::DspError;

/// A DTMF digit (RFC 4733 event codes 0–15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digit(u8);

impl Digit {
    /// All 16 digits in event-code order: 0–9, *, #, A–D.
    pub const ALL: [Digit; 16] = {
        let mut all = [Digit(0); 16];
        let mut i = 0;
        while i < 16 {
            all[i] = Digit(i as u8);
            i += 1;
        }
        all
    };

    /// The digit for an RFC 4733 event code, if it is one of the 16 DTMF events.
    #[must_use]
    pub fn from_event(code: u8) -> Option<Self> {
        (code < 16).then_some(Self(code))
    }

    /// The digit for a keypad character (`0-9`, `*`, `#`, `A-D`, case-insensitive).
    #[must_use]
    pub fn from_char(c: char) -> Option<Self> {
        let code = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            l @ 'A'..='D' => l as u8 - b'A' + 12,
            _ => return None,
        };
        Some(Self(code))
    }

    /// The RFC 4733 event code.
    #[must_use]
    pub fn event(self) -> u8 {
        self.0
    }

    /// The keypad character.
    #[must_use]
    pub fn to_char(self) -> char {
        b"0123456789*#ABCD"
            .get(usize::from(self.0))
            .map_or('?', |&b| b as char)
    }

    /// (low-group "row", high-group "column") frequencies in Hz.
    #[must_use]
    pub fn frequencies(self) -> (f64, f64) {
        let (row, col) = self.grid();
        (ROWS[row], COLS[col])
    }

    /// Keypad position (row, column) in the 4×4 DTMF grid.
    pub(crate) fn grid(self) -> (usize, usize) {
        match self.0 {
            1..=9 => (usize::from(self.0 - 1) / 3, usize::from(self.0 - 1) % 3),
            0 => (3, 1),
            10 => (3, 0),
            11 => (3, 2),
            code => (usize::from(code - 12) & 3, 3),
        }
    }

    /// The digit at a grid position.
    pub(crate) fn at(row: usize, col: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.grid() == (row, col))
    }
}

/// Low-group frequencies (Hz).
pub(crate) const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group frequencies (Hz).
pub(crate) const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// One RFC 4733 telephone-event payload block (4 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are DTMF digits).
    pub event: u8,
    /// End-of-event (E) bit.
    pub end: bool,
    /// Power level in −dBm0, 0..=63.
    pub volume: u8,
    /// Duration in RTP clock ticks since the event (segment) began.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event block of `payload` (the reserved bit is ignored; further
    /// blocks, as in multi-event packets, are left to [`TelephoneEvent::parse_all`]).
    pub fn parse(payload: &[u8]) -> Result<Self, DspError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(Self {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(DspError::Truncated {
                needed: 4,
                got: payload.len(),
            }),
        }
    }

    /// Every complete 4-octet block of `payload`; errors if its length is not a positive
    /// multiple of 4.
    pub fn parse_all(payload: &[u8]) -> Result<impl Iterator<Item = Self> + '_, DspError> {
        if payload.is_empty() || payload.len() % 4 != 0 {
            return Err(DspError::Malformed(
                "telephone-event payload is not a multiple of 4",
            ));
        }
        Ok(payload.chunks_exact(4).filter_map(|b| Self::parse(b).ok()))
    }

    /// The 4-octet wire form.
    #[must_use]
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip_and_map_to_the_keypad() {
        let chars: String = Digit::ALL.iter().map(|d| d.to_char()).collect();
        assert_eq!(chars, "0123456789*#ABCD");
        for d in Digit::ALL {
            assert_eq!(Digit::from_char(d.to_char()), Some(d));
            let (r, c) = d.grid();
            assert_eq!(Digit::at(r, c), Some(d));
        }
        assert_eq!(
            Digit::from_char('5').unwrap().frequencies(),
            (770.0, 1336.0)
        );
        assert_eq!(
            Digit::from_char('#').unwrap().frequencies(),
            (941.0, 1477.0)
        );
        assert_eq!(
            Digit::from_char('c').unwrap().frequencies(),
            (852.0, 1633.0)
        );
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::from_event(16), None);
    }

    #[test]
    fn payload_parse_and_serialize() {
        let e = TelephoneEvent::parse(&[0x05, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.to_bytes(), [0x05, 0x8A, 0x03, 0x20]);
        // The reserved bit is ignored on input and cleared on output.
        let r = TelephoneEvent::parse(&[11, 0x40 | 7, 0, 160]).unwrap();
        assert_eq!((r.end, r.volume, r.to_bytes()[1]), (false, 7, 7));
        assert!(matches!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(DspError::Truncated { .. })
        ));
        assert_eq!(
            TelephoneEvent::parse_all(&[1, 0, 0, 1, 2, 0x80, 0, 2])
                .unwrap()
                .count(),
            2
        );
        assert!(TelephoneEvent::parse_all(&[1, 0, 0, 1, 2]).is_err());
    }
}
