//! The core's side of the event ring: replies always fit (the core only takes a command
//! when the ring has room for its answer); unsolicited events that find the ring full are
//! counted as dropped, never lost silently.
//!
//! Replies and events that call for action (an RTP timeout, a digit, a finished prompt or
//! recording) ring the control plane's bell at once. Events that only inform (a first
//! packet, an SSRC change, periodic statistics, a released endpoint's final statistics)
//! are queued quietly: the next bell, or the core's next housekeeping, brings them along.
//! That spares the control plane a wake-up for each of them.

use warden_shared::{Event, EventProducer};

pub(crate) struct Notifier {
    events: EventProducer,
    /// Unsolicited events lost to a full ring.
    pub(crate) dropped: u64,
    /// Something that needs the bell was queued.
    pushed: bool,
    /// Something that can wait for the next bell was queued.
    quiet: bool,
}

impl Notifier {
    pub(crate) fn new(events: EventProducer) -> Self {
        Self {
            events,
            dropped: 0,
            pushed: false,
            quiet: false,
        }
    }

    /// Whether a reply can be queued now.
    pub(crate) fn has_room(&self) -> bool {
        self.events.slots() > 0
    }

    /// Queues an event that rings the bell, counting it as dropped when the ring is full.
    pub(crate) fn send(&mut self, event: &Event) {
        if self.push(event) {
            self.pushed = true;
        }
    }

    /// Queues an event that only informs: it goes with the next bell.
    pub(crate) fn send_quietly(&mut self, event: &Event) {
        if self.push(event) {
            self.quiet = true;
        }
    }

    fn push(&mut self, event: &Event) -> bool {
        if self.events.push(event).is_ok() {
            true
        } else {
            self.dropped += 1;
            tracing::debug!(dropped = self.dropped, "event ring full, event dropped");
            false
        }
    }

    /// Whether to ring the bell now: something was queued that needs it, or quiet events
    /// wait and `flush` is set (housekeeping, the end) or they fill half the ring.
    /// Clears what it reports.
    pub(crate) fn take_ring(&mut self, flush: bool) -> bool {
        let crowded = self.events.slots() < self.events.capacity() / 2;
        let ring = self.pushed || (self.quiet && (flush || crowded));
        if ring {
            self.pushed = false;
            self.quiet = false;
        }
        ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_shared::{core_rings, EndpointHandle, RequestId};

    fn first_packet() -> Event {
        Event::FirstPacket {
            endpoint: EndpointHandle {
                slot: 1,
                generation: 1,
            },
            source: "192.0.2.1:4000".parse().unwrap_or_else(|_| unreachable!()),
            rtcp: false,
        }
    }

    #[test]
    fn quiet_events_wait_for_a_bell_a_flush_or_a_crowded_ring() {
        let ((_commands, _event_rx), (_command_rx, events)) = core_rings(8);
        let mut n = Notifier::new(events);
        assert!(!n.take_ring(false), "nothing queued");
        n.send_quietly(&first_packet());
        assert!(!n.take_ring(false), "a quiet event alone does not ring");
        n.send(&Event::Done { req: RequestId(1) });
        assert!(
            n.take_ring(false),
            "a reply rings, and takes the quiet one along"
        );
        assert!(!n.take_ring(true), "both were reported");
        n.send_quietly(&first_packet());
        assert!(n.take_ring(true), "housekeeping flushes");
        for _ in 0..3 {
            n.send_quietly(&first_packet());
        }
        // Five of eight slots hold events: the ring is more than half full.
        assert!(n.take_ring(false), "a crowded ring rings");
    }
}
