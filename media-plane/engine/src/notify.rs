//! The core's side of the event ring: replies always fit (the core only takes a command
//! when the ring has room for its answer); unsolicited events that find the ring full are
//! counted as dropped, never lost silently.

use warden_shared::{Event, EventProducer};

pub(crate) struct Notifier {
    events: EventProducer,
    /// Unsolicited events lost to a full ring.
    pub(crate) dropped: u64,
    pushed: bool,
}

impl Notifier {
    pub(crate) fn new(events: EventProducer) -> Self {
        Self {
            events,
            dropped: 0,
            pushed: false,
        }
    }

    /// Whether a reply can be queued now.
    pub(crate) fn has_room(&self) -> bool {
        self.events.slots() > 0
    }

    /// Queues an event, counting it as dropped when the ring is full.
    pub(crate) fn send(&mut self, event: &Event) {
        if self.events.push(event).is_ok() {
            self.pushed = true;
        } else {
            self.dropped += 1;
            tracing::debug!(dropped = self.dropped, "event ring full, event dropped");
        }
    }

    /// Whether anything was queued since the last call.
    pub(crate) fn take_pushed(&mut self) -> bool {
        std::mem::take(&mut self.pushed)
    }
}
