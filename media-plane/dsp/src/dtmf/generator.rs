//! RFC 4733 sender: the packet schedule for one key press.
//!
//! For a press of `duration_ms` starting at RTP timestamp `ts`:
//! * the first packet (offset 0) has the marker bit and duration 0;
//! * an update follows every `update_ms` (default 50 ms) with the duration so far;
//! * when the duration would exceed the 16-bit field, the segment is closed with duration
//!   0xFFFF and a new segment starts at timestamp `ts + 0xFFFF` (no marker), durations
//!   restarting from 0 — repeated as often as needed;
//! * the end packet (E bit, final duration) is sent three times, 20 ms apart.
//!
//! The schedule is an iterator of [`DtmfPacket`]s with send offsets; nothing is allocated
//! and no clock is read — the caller sends each packet at `start + offset_ms`.

use super::event::{Digit, TelephoneEvent};

/// Longest segment representable in the 16-bit duration field.
const SEGMENT: u64 = 0xFFFF;
/// Spacing of the three end packets.
const END_SPACING_MS: u64 = 20;

/// One packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// When to send it, relative to the start of the press.
    pub offset_ms: u64,
    /// RTP timestamp (segment start).
    pub ts: u32,
    /// RTP marker bit (first packet only).
    pub marker: bool,
    /// The telephone-event payload.
    pub payload: [u8; 4],
}

/// Telephone-event packet generator settings.
#[derive(Debug, Clone, Copy)]
pub struct DtmfGenerator {
    clock_rate: u32,
    volume: u8,
    update_ms: u64,
}

impl DtmfGenerator {
    /// A generator for an RTP clock rate (usually 8000) and power level in −dBm0 (0..=63),
    /// sending updates every 50 ms.
    #[must_use]
    pub fn new(clock_rate: u32, volume: u8) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            volume: volume.min(63),
            update_ms: 50,
        }
    }

    /// Changes the update interval (clamped to 10..=1000 ms).
    #[must_use]
    pub fn with_update_interval(mut self, update_ms: u64) -> Self {
        self.update_ms = update_ms.clamp(10, 1000);
        self
    }

    /// The packet schedule for `digit` held for `duration_ms`, starting at timestamp `ts`.
    #[must_use]
    pub fn packets(&self, digit: Digit, ts: u32, duration_ms: u64) -> DtmfPackets {
        let rate = u64::from(self.clock_rate);
        let total = duration_ms.min(1 << 32) * rate / 1000;
        DtmfPackets {
            event: digit.event(),
            volume: self.volume,
            rate,
            start_ts: ts,
            total: total.max(1),
            update: (self.update_ms * rate / 1000).max(1),
            next_update: 0,
            next_boundary: SEGMENT,
            ends_sent: 0,
        }
    }
}

/// Iterator over the packets of one press (see [`DtmfGenerator::packets`]).
#[derive(Debug, Clone)]
pub struct DtmfPackets {
    event: u8,
    volume: u8,
    rate: u64,
    start_ts: u32,
    /// Total duration in ticks.
    total: u64,
    update: u64,
    next_update: u64,
    next_boundary: u64,
    ends_sent: u8,
}

impl DtmfPackets {
    fn packet(&self, at: u64, segment: u64, duration: u64, end: bool, extra_ms: u64) -> DtmfPacket {
        let ts = self.start_ts.wrapping_add((segment * SEGMENT) as u32);
        DtmfPacket {
            offset_ms: at * 1000 / self.rate + extra_ms,
            ts,
            marker: at == 0 && !end,
            payload: TelephoneEvent {
                event: self.event,
                end,
                volume: self.volume,
                duration: duration.min(SEGMENT) as u16,
            }
            .to_bytes(),
        }
    }
}

impl Iterator for DtmfPackets {
    type Item = DtmfPacket;

    fn next(&mut self) -> Option<DtmfPacket> {
        let boundary_first = self.next_boundary <= self.next_update;
        let at = self.next_update.min(self.next_boundary);
        if at < self.total {
            if boundary_first {
                // Close the segment that ends here.
                let segment = at / SEGMENT - 1;
                self.next_boundary += SEGMENT;
                if self.next_update == at {
                    self.next_update += self.update;
                }
                return Some(self.packet(at, segment, SEGMENT, false, 0));
            }
            self.next_update += self.update;
            let segment = at / SEGMENT;
            return Some(self.packet(at, segment, at - segment * SEGMENT, false, 0));
        }
        if self.ends_sent < 3 {
            let segment = (self.total - 1) / SEGMENT;
            let extra = u64::from(self.ends_sent) * END_SPACING_MS;
            self.ends_sent += 1;
            return Some(self.packet(
                self.total,
                segment,
                self.total - segment * SEGMENT,
                true,
                extra,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_press_schedule() {
        let g = DtmfGenerator::new(8000, 10);
        let p: Vec<_> = g
            .packets(Digit::from_char('7').unwrap(), 1234, 120)
            .collect();
        let summary: Vec<_> = p
            .iter()
            .map(|p| {
                let e = TelephoneEvent::parse(&p.payload).unwrap();
                (p.offset_ms, p.ts, p.marker, e.end, e.duration)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 1234, true, false, 0),
                (50, 1234, false, false, 400),
                (100, 1234, false, false, 800),
                (120, 1234, false, true, 960),
                (140, 1234, false, true, 960),
                (160, 1234, false, true, 960),
            ]
        );
        assert!(p
            .iter()
            .all(|p| p.payload[0] == 7 && p.payload[1] & 0x3F == 10));
    }

    #[test]
    fn long_press_is_segmented() {
        let g = DtmfGenerator::new(8000, 0);
        let p: Vec<_> = g
            .packets(Digit::from_char('1').unwrap(), 0, 10_000)
            .collect();
        let closing: Vec<_> = p
            .iter()
            .filter(|p| TelephoneEvent::parse(&p.payload).unwrap().duration == 0xFFFF)
            .collect();
        assert_eq!(closing.len(), 1);
        assert_eq!(closing[0].ts, 0);
        let last = TelephoneEvent::parse(&p[p.len() - 1].payload).unwrap();
        assert_eq!(p[p.len() - 1].ts, 0xFFFF);
        assert_eq!(u64::from(last.duration) + 0xFFFF, 80_000);
        assert!(p.windows(2).all(|w| w[0].offset_ms <= w[1].offset_ms));
        assert_eq!(p.iter().filter(|p| p.marker).count(), 1);
    }
}
