//! The control plane's event bus: registrations, calls and media statistics, fanned out to the
//! live-events stream of the API and to anything else that subscribes. Publishing never blocks;
//! a subscriber that falls behind loses the oldest events and is told how many (broadcast lag).

use std::net::SocketAddr;

use tokio::sync::broadcast;

/// Capacity of the bus; a slower subscriber sees `Lagged(n)`.
const CAPACITY: usize = 4096;

/// Something that happened in the PBX.
#[derive(Clone, Debug, PartialEq)]
pub enum PbxEvent {
    /// A contact was bound (new or refreshed).
    Registered {
        /// The extension (address of record).
        aor: String,
        /// The contact URI.
        contact: String,
        /// Where the REGISTER came from.
        source: SocketAddr,
        /// Seconds until it expires.
        expires: u32,
    },
    /// A contact was removed (by the phone, by an admin, or by expiry).
    Unregistered {
        /// The extension.
        aor: String,
        /// The contact URI, or `None` when every contact of the AOR went.
        contact: Option<String>,
        /// Why: "phone", "admin", "expired".
        reason: &'static str,
    },
}

/// Something that happened to a call (published on the bus's call channel, see
/// [`EventBus::subscribe_calls`]).
#[derive(Clone, Debug, PartialEq)]
pub enum CallEvent {
    /// An authenticated caller placed a call.
    CallStarted {
        /// The call's id (as the API lists it).
        call: String,
        /// Calling extension.
        caller: String,
        /// Dialled number.
        callee: String,
        /// SIP Call-ID of the caller's leg.
        call_id: String,
    },
    /// The callee's phone rings (first 180/183).
    CallRinging {
        /// The call's id.
        call: String,
        /// Calling extension.
        caller: String,
        /// Dialled number.
        callee: String,
    },
    /// The callee answered.
    CallAnswered {
        /// The call's id.
        call: String,
        /// Calling extension.
        caller: String,
        /// Dialled number.
        callee: String,
        /// The voice codec.
        codec: Option<String>,
    },
    /// The call ended (a record was written).
    CallEnded {
        /// The call's id.
        call: String,
        /// Calling extension.
        caller: String,
        /// Dialled number.
        callee: String,
        /// `answered`, `busy`, `no_answer`, `failed` or `cancelled`.
        disposition: &'static str,
        /// Why, e.g. `BYE` or `486 Busy Here`.
        cause: String,
        /// `caller`, `callee` or `system`.
        side: Option<&'static str>,
    },
    /// A party pressed a key (one event per press).
    Dtmf {
        /// The call's id.
        call: String,
        /// SIP Call-ID of the caller's leg.
        call_id: String,
        /// The leg of the party that pressed it: `a` (caller) or `b` (callee).
        leg: &'static str,
        /// `0-9`, `*`, `#`, `A-D`.
        digit: char,
        /// `rfc4733`, `inband` or `info`.
        source: &'static str,
        /// How long it was held, when known.
        duration_ms: Option<u32>,
    },
}

/// A cloneable handle to publish and subscribe.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<PbxEvent>,
    calls: broadcast::Sender<CallEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        let (calls, _) = broadcast::channel(CAPACITY);
        EventBus { tx, calls }
    }
}

impl EventBus {
    /// Publishes an event; without subscribers it is dropped (nobody is listening).
    pub fn publish(&self, event: PbxEvent) {
        let _ = self.tx.send(event);
    }

    /// A new subscription that sees events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PbxEvent> {
        self.tx.subscribe()
    }

    /// Publishes a call event; without subscribers it is dropped.
    pub fn publish_call(&self, event: CallEvent) {
        let _ = self.calls.send(event);
    }

    /// A new subscription to call events published from now on.
    pub fn subscribe_calls(&self) -> broadcast::Receiver<CallEvent> {
        self.calls.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_see_events_published_after_they_subscribe() {
        let bus = EventBus::default();
        bus.publish(PbxEvent::Unregistered {
            aor: "1".into(),
            contact: None,
            reason: "admin",
        });
        let mut rx = bus.subscribe();
        bus.publish(PbxEvent::Unregistered {
            aor: "2".into(),
            contact: None,
            reason: "phone",
        });
        match rx.try_recv() {
            Ok(PbxEvent::Unregistered { aor, .. }) => assert_eq!(aor, "2"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(rx.try_recv().is_err());
    }
}
