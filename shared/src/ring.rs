//! The per-core ring pair: commands control → core, events core → control.
//!
//! Each direction is one rtrb single-producer/single-consumer ring of [`Frame`]s. The typed
//! wrappers encode on push and decode (validate) on pop.

use rtrb::{Consumer, Producer, RingBuffer};

use crate::command::Command;
use crate::error::{DecodeError, RingFull};
use crate::event::Event;
use crate::frame::Frame;

/// Control-side end of the command ring.
pub struct CommandProducer(Producer<Frame>);

/// Core-side end of the command ring.
pub struct CommandConsumer(Consumer<Frame>);

/// Core-side end of the event ring.
pub struct EventProducer(Producer<Frame>);

/// Control-side end of the event ring.
pub struct EventConsumer(Consumer<Frame>);

/// Creates one core's ring pair, each ring holding `capacity` frames.
///
/// Returns `((commands in, events out) for the control plane, (commands out, events in) for
/// the core)`.
pub fn core_rings(
    capacity: usize,
) -> (
    (CommandProducer, EventConsumer),
    (CommandConsumer, EventProducer),
) {
    let (cmd_tx, cmd_rx) = RingBuffer::new(capacity);
    let (evt_tx, evt_rx) = RingBuffer::new(capacity);
    (
        (CommandProducer(cmd_tx), EventConsumer(evt_rx)),
        (CommandConsumer(cmd_rx), EventProducer(evt_tx)),
    )
}

impl CommandProducer {
    /// Encodes and queues a command; [`RingFull`] when the core has not caught up.
    pub fn push(&mut self, command: &Command) -> Result<(), RingFull> {
        self.0.push(command.encode()).map_err(|_| RingFull)
    }

    /// Free slots.
    pub fn slots(&self) -> usize {
        self.0.slots()
    }

    /// Whether the core side has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_abandoned()
    }
}

impl CommandConsumer {
    /// Takes the next frame and decodes it; `None` when the ring is empty.
    pub fn pop(&mut self) -> Option<Result<Command, DecodeError>> {
        self.0.pop().ok().map(|frame| Command::decode(&frame))
    }

    /// Queued frames.
    pub fn len(&self) -> usize {
        self.0.slots()
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the control side has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_abandoned()
    }
}

impl EventProducer {
    /// Encodes and queues an event; [`RingFull`] when the control plane has not caught up.
    pub fn push(&mut self, event: &Event) -> Result<(), RingFull> {
        self.0.push(event.encode()).map_err(|_| RingFull)
    }

    /// Free slots.
    pub fn slots(&self) -> usize {
        self.0.slots()
    }

    /// Frames the ring holds when empty.
    pub fn capacity(&self) -> usize {
        self.0.buffer().capacity()
    }

    /// Whether the control side has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_abandoned()
    }
}

impl EventConsumer {
    /// Takes the next frame and decodes it; `None` when the ring is empty.
    pub fn pop(&mut self) -> Option<Result<Event, DecodeError>> {
        self.0.pop().ok().map(|frame| Event::decode(&frame))
    }

    /// Queued frames.
    pub fn len(&self) -> usize {
        self.0.slots()
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the core side has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestId;

    #[test]
    fn full_ring_is_backpressure_not_a_drop() {
        let ((mut cmd_tx, _evt_rx), (mut cmd_rx, _evt_tx)) = core_rings(4);
        for i in 0..4 {
            cmd_tx
                .push(&Command::CreateEndpoint { req: RequestId(i) })
                .unwrap();
        }
        assert_eq!(
            cmd_tx.push(&Command::CreateEndpoint { req: RequestId(99) }),
            Err(RingFull)
        );
        // Everything accepted comes out, in order; the rejected one never appears.
        for i in 0..4 {
            assert_eq!(
                cmd_rx.pop(),
                Some(Ok(Command::CreateEndpoint { req: RequestId(i) }))
            );
        }
        assert_eq!(cmd_rx.pop(), None);
        assert!(cmd_tx
            .push(&Command::CreateEndpoint { req: RequestId(5) })
            .is_ok());
    }

    #[test]
    fn events_flow_back_across_threads() {
        let ((_cmd_tx, mut evt_rx), (_cmd_rx, mut evt_tx)) = core_rings(8);
        let producer = std::thread::spawn(move || {
            let mut sent = 0u64;
            while sent < 1000 {
                let ev = Event::Done {
                    req: RequestId(sent + 1),
                };
                if evt_tx.push(&ev).is_ok() {
                    sent += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        let mut expected = 1u64;
        while expected <= 1000 {
            match evt_rx.pop() {
                Some(Ok(Event::Done { req })) => {
                    assert_eq!(req, RequestId(expected));
                    expected += 1;
                }
                Some(other) => panic!("unexpected {other:?}"),
                None => std::thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert!(evt_rx.is_abandoned());
    }
}
