//! RFC 4733 receiver: turns telephone-event packets into one report per key press.
//!
//! * All packets of one event share its RTP timestamp; updates carry the growing duration.
//! * The end packet (E bit) is normally sent three times: the first ends the event, the
//!   retransmissions (same timestamp) are ignored, as are late updates of an ended event.
//! * Events longer than the 16-bit duration field are split by the sender into segments: a new
//!   timestamp (old + elapsed duration, 0xFFFF) with the same event code and the duration
//!   restarting. The receiver joins them and reports the total.
//! * If the end packets are all lost, the event ends when a different event starts or after
//!   `timeout_ms` without packets ([`DtmfReceiver::poll`]).

use super::event::TelephoneEvent;
use crate::error::DspError;

/// A receiver report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A new event began (reported once, on its first packet).
    Began {
        /// Event code (0–15 are DTMF digits).
        event: u8,
        /// RTP timestamp of the event.
        ts: u32,
    },
    /// The event ended (reported once).
    Ended {
        /// Event code.
        event: u8,
        /// RTP timestamp of the event's first segment.
        ts: u32,
        /// Total duration in RTP clock ticks (all segments).
        duration: u64,
        /// Total duration in milliseconds.
        duration_ms: u64,
        /// True when no end packet was received (timeout or superseded).
        inferred: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Active {
    /// Timestamp of the first segment (reported).
    first_ts: u32,
    /// Timestamp of the current segment.
    ts: u32,
    event: u8,
    /// Duration accumulated by completed segments.
    base: u64,
    /// Highest duration seen in the current segment.
    duration: u16,
    last_seen_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Ended {
    ts: u32,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Active(Active),
    Ended(Ended),
}

/// RFC 4733 receiver state machine for one RTP stream.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    state: State,
    clock_rate: u32,
    timeout_ms: u64,
}

impl DtmfReceiver {
    /// A receiver for a telephone-event stream with the given RTP clock rate; an event with
    /// no packets for `timeout_ms` is ended by [`poll`](Self::poll).
    #[must_use]
    pub fn new(clock_rate: u32, timeout_ms: u64) -> Self {
        Self {
            state: State::Idle,
            clock_rate: clock_rate.max(1),
            timeout_ms,
        }
    }

    fn ended(&self, a: &Active, inferred: bool) -> DtmfEvent {
        let duration = a.base + u64::from(a.duration);
        DtmfEvent::Ended {
            event: a.event,
            ts: a.first_ts,
            duration,
            duration_ms: duration * 1000 / u64::from(self.clock_rate),
            inferred,
        }
    }

    /// Handles one telephone-event packet (RTP timestamp `ts`, arrival `now_ms`), reporting
    /// 0–2 events through `emit` (an inferred end of the previous event, then this one's).
    pub fn on_packet(
        &mut self,
        now_ms: u64,
        ts: u32,
        payload: &[u8],
        mut emit: impl FnMut(DtmfEvent),
    ) -> Result<(), DspError> {
        let ev = TelephoneEvent::parse(payload)?;
        let state = std::mem::replace(&mut self.state, State::Idle);
        self.state = match state {
            State::Idle => self.start(now_ms, ts, ev, &mut emit),
            State::Ended(e) => {
                // Retransmitted end packets and stragglers share or precede its timestamp.
                if ts == e.ts || is_older(ts, e.ts) {
                    State::Ended(e)
                } else {
                    self.start(now_ms, ts, ev, &mut emit)
                }
            }
            State::Active(a) => self.update(a, now_ms, ts, ev, &mut emit),
        };
        Ok(())
    }

    fn start(
        &self,
        now_ms: u64,
        ts: u32,
        ev: TelephoneEvent,
        emit: &mut impl FnMut(DtmfEvent),
    ) -> State {
        emit(DtmfEvent::Began {
            event: ev.event,
            ts,
        });
        let a = Active {
            first_ts: ts,
            ts,
            event: ev.event,
            base: 0,
            duration: ev.duration,
            last_seen_ms: now_ms,
        };
        if ev.end {
            emit(self.ended(&a, false));
            State::Ended(Ended { ts })
        } else {
            State::Active(a)
        }
    }

    fn update(
        &self,
        mut a: Active,
        now_ms: u64,
        ts: u32,
        ev: TelephoneEvent,
        emit: &mut impl FnMut(DtmfEvent),
    ) -> State {
        if ts == a.ts && ev.event == a.event {
            a.duration = a.duration.max(ev.duration);
            a.last_seen_ms = now_ms;
            if ev.end {
                emit(self.ended(&a, false));
                return State::Ended(Ended { ts });
            }
            return State::Active(a);
        }
        let step = ts.wrapping_sub(a.ts);
        let continues = ev.event == a.event
            && step > 0
            && step <= 0xFFFF
            && step >= u32::from(a.duration)
            && a.duration >= 0xC000;
        if continues {
            // Next segment of a long press.
            a.base += u64::from(step);
            a.ts = ts;
            a.duration = ev.duration;
            a.last_seen_ms = now_ms;
            if ev.end {
                emit(self.ended(&a, false));
                return State::Ended(Ended { ts });
            }
            return State::Active(a);
        }
        if is_older(ts, a.ts) {
            // A straggler from before this event.
            return State::Active(a);
        }
        // A new event without an end for the current one.
        emit(self.ended(&a, true));
        self.start(now_ms, ts, ev, emit)
    }

    /// Ends an event whose packets stopped arriving `timeout_ms` ago.
    pub fn poll(&mut self, now_ms: u64, mut emit: impl FnMut(DtmfEvent)) {
        if let State::Active(a) = self.state {
            if now_ms.saturating_sub(a.last_seen_ms) >= self.timeout_ms {
                emit(self.ended(&a, true));
                self.state = State::Ended(Ended { ts: a.ts });
            }
        }
    }

    /// When [`poll`](Self::poll) next needs to run, if an event is in progress.
    #[must_use]
    pub fn next_timeout(&self) -> Option<u64> {
        match self.state {
            State::Active(a) => Some(a.last_seen_ms.saturating_add(self.timeout_ms)),
            _ => None,
        }
    }
}

/// Whether `ts` is before `reference` in RTP timestamp order (modulo 2^32).
fn is_older(ts: u32, reference: u32) -> bool {
    (reference.wrapping_sub(ts) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{Digit, DtmfGenerator};

    fn feed(rx: &mut DtmfReceiver, packets: &[(u64, u32, [u8; 4])]) -> Vec<DtmfEvent> {
        let mut out = Vec::new();
        for &(now, ts, p) in packets {
            rx.on_packet(now, ts, &p, |e| out.push(e)).unwrap();
        }
        out
    }

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn one_report_per_press_despite_three_end_packets() {
        let mut rx = DtmfReceiver::new(8000, 1000);
        let events = feed(
            &mut rx,
            &[
                (0, 1000, pkt(5, false, 0)),
                (50, 1000, pkt(5, false, 400)),
                (100, 1000, pkt(5, false, 800)),
                (120, 1000, pkt(5, true, 960)),
                (140, 1000, pkt(5, true, 960)),
                (160, 1000, pkt(5, true, 960)),
                // A late update after the end is ignored too.
                (170, 1000, pkt(5, false, 800)),
            ],
        );
        assert_eq!(
            events,
            vec![
                DtmfEvent::Began { event: 5, ts: 1000 },
                DtmfEvent::Ended {
                    event: 5,
                    ts: 1000,
                    duration: 960,
                    duration_ms: 120,
                    inferred: false
                }
            ]
        );
        // The same digit pressed again is a new event (new timestamp).
        let again = feed(&mut rx, &[(400, 4000, pkt(5, true, 480))]);
        assert_eq!(again.len(), 2);
    }

    #[test]
    fn long_press_segments_are_joined_across_timestamp_wrap() {
        // A 20 s press at 8 kHz: 160000 ticks, three segments, timestamps wrapping past 2^32.
        let gen = DtmfGenerator::new(8000, 10);
        let start = u32::MAX - 70_000;
        let packets: Vec<_> = gen
            .packets(Digit::from_char('#').unwrap(), start, 20_000)
            .map(|p| (p.offset_ms, p.ts, p.payload))
            .collect();
        assert!(packets.iter().any(|p| p.1 < start), "timestamps wrapped");
        let mut rx = DtmfReceiver::new(8000, 1000);
        let events = feed(&mut rx, &packets);
        assert_eq!(
            events,
            vec![
                DtmfEvent::Began {
                    event: 11,
                    ts: start
                },
                DtmfEvent::Ended {
                    event: 11,
                    ts: start,
                    duration: 160_000,
                    duration_ms: 20_000,
                    inferred: false
                }
            ]
        );
    }

    #[test]
    fn lost_end_packets_are_inferred() {
        let mut rx = DtmfReceiver::new(8000, 500);
        let mut events = feed(
            &mut rx,
            &[(0, 0, pkt(1, false, 0)), (50, 0, pkt(1, false, 400))],
        );
        assert_eq!(rx.next_timeout(), Some(550));
        rx.poll(549, |e| events.push(e));
        assert_eq!(events.len(), 1);
        rx.poll(550, |e| events.push(e));
        assert!(matches!(
            events[1],
            DtmfEvent::Ended {
                event: 1,
                duration: 400,
                inferred: true,
                ..
            }
        ));
        assert_eq!(rx.next_timeout(), None);
        // A new digit while another is active ends the first.
        let mut rx = DtmfReceiver::new(8000, 500);
        let events = feed(
            &mut rx,
            &[(0, 0, pkt(1, false, 400)), (200, 1600, pkt(2, false, 0))],
        );
        assert!(matches!(
            events[1],
            DtmfEvent::Ended {
                event: 1,
                inferred: true,
                ..
            }
        ));
        assert_eq!(events[2], DtmfEvent::Began { event: 2, ts: 1600 });
    }

    #[test]
    fn stragglers_and_garbage() {
        let mut rx = DtmfReceiver::new(8000, 500);
        let events = feed(
            &mut rx,
            &[(0, 5000, pkt(3, false, 0)), (10, 4000, pkt(2, true, 100))],
        );
        assert_eq!(
            events.len(),
            1,
            "an older timestamp does not start an event"
        );
        assert!(rx.on_packet(20, 5000, &[1, 2], |_| {}).is_err());
    }
}
