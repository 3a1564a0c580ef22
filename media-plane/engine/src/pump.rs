//! The event pump: one control-side thread that drains every core's event ring, completes
//! the pending request with the matching id, and broadcasts unsolicited events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};
use warden_shared::{Event, EventConsumer};

use crate::ids::{EndpointId, MediaEvent};
use crate::sys::EventFd;

/// A request waiting for its reply.
pub(crate) struct Pending {
    pub(crate) core: usize,
    pub(crate) tx: oneshot::Sender<Event>,
}

/// State shared by the handle and the pump thread.
pub(crate) struct Shared {
    pub(crate) pending: Mutex<HashMap<u64, Pending>>,
    pub(crate) events: broadcast::Sender<MediaEvent>,
    pub(crate) stop: AtomicBool,
    /// Rung by the cores after pushing events.
    pub(crate) bell: Arc<EventFd>,
    pub(crate) bad_events: AtomicU64,
}

impl Shared {
    pub(crate) fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dispatch(&self, core: usize, event: Event) {
        if let Some(req) = event.request_id() {
            match self.pending().remove(&req.0) {
                // A caller that stopped waiting dropped its receiver; nothing to do.
                Some(p) => drop(p.tx.send(event)),
                None => tracing::debug!(core, req = req.0, "reply for no pending request"),
            }
            return;
        }
        let id = |handle| EndpointId { core, handle };
        let fanned = match event {
            Event::FirstPacket {
                endpoint,
                source,
                rtcp,
            } => MediaEvent::FirstPacket {
                endpoint: id(endpoint),
                source,
                rtcp,
            },
            Event::RtpTimeout { endpoint, idle_ms } => MediaEvent::RtpTimeout {
                endpoint: id(endpoint),
                idle: Duration::from_millis(u64::from(idle_ms)),
            },
            Event::SsrcChanged { endpoint, old, new } => MediaEvent::SsrcChanged {
                endpoint: id(endpoint),
                old,
                new,
            },
            Event::Stats {
                endpoint, stats, ..
            } => MediaEvent::Stats {
                endpoint: id(endpoint),
                stats,
            },
            Event::Dtmf { endpoint, digit } => MediaEvent::Dtmf {
                endpoint: id(endpoint),
                digit,
            },
            Event::PlaybackDone {
                endpoint,
                interrupted,
                frames,
            } => MediaEvent::PlaybackDone {
                endpoint: id(endpoint),
                interrupted,
                frames,
            },
            Event::RecordingDone {
                endpoint,
                id: recording,
                data_bytes,
                failed,
            } => MediaEvent::RecordingDone {
                endpoint: id(endpoint),
                id: recording,
                data_bytes,
                failed,
            },
            Event::Created { .. }
            | Event::PairCreated { .. }
            | Event::Done { .. }
            | Event::Failed { .. } => return,
        };
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.events.send(fanned);
    }

    /// Fails every request still waiting on `core` (its executor is gone).
    fn fail_core(&self, core: usize) {
        self.pending().retain(|_, p| p.core != core);
    }
}

/// The event pump: every core's event ring and what their events complete.
///
/// [`crate::MediaPlane::start`] runs it on a thread of its own.
/// [`crate::MediaPlane::start_with_pump`] hands it to the caller instead, to run where the
/// replies are awaited (e.g. a task on the control plane's runtime, woken by
/// [`EventPump::bell`]): a reply then reaches its waiter with no extra thread between.
pub struct EventPump {
    shared: Arc<Shared>,
    rings: Vec<EventConsumer>,
    gone: Vec<bool>,
}

/// What [`EventPump::pump`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pumped {
    /// At least one event was handled.
    Events,
    /// Every ring was empty: wait for the bell.
    Idle,
    /// The plane stopped and every ring is drained: the pump is done (pending requests
    /// were failed).
    Stopped,
}

/// The event pump's bell, readable when a core pushed events (a non-blocking eventfd).
pub struct PumpBell(Arc<EventFd>);

impl std::os::fd::AsRawFd for PumpBell {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.raw()
    }
}

impl EventPump {
    pub(crate) fn new(shared: Arc<Shared>, rings: Vec<EventConsumer>) -> EventPump {
        let gone = vec![false; rings.len()];
        EventPump {
            shared,
            rings,
            gone,
        }
    }

    /// The bell the cores ring after pushing events.
    pub fn bell(&self) -> PumpBell {
        PumpBell(self.shared.bell.clone())
    }

    /// Resets the bell, then handles every event waiting in the rings (never blocks).
    pub fn pump(&mut self) -> Pumped {
        self.shared.bell.drain();
        // Read before draining: the plane stops its cores before it sets the flag, so once
        // it is set everything they pushed is in the rings now and this is the last round.
        let stopping = self.shared.stop.load(Ordering::Acquire);
        let mut any = false;
        for (core, ring) in self.rings.iter_mut().enumerate() {
            while let Some(frame) = ring.pop() {
                any = true;
                match frame {
                    Ok(event) => self.shared.dispatch(core, event),
                    Err(error) => {
                        self.shared.bad_events.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(core, %error, "undecodable event frame");
                    }
                }
            }
            if !self.gone[core] && ring.is_abandoned() && ring.is_empty() {
                self.gone[core] = true;
                self.shared.fail_core(core);
            }
        }
        if stopping {
            self.shared.pending().clear();
            Pumped::Stopped
        } else if any {
            Pumped::Events
        } else {
            Pumped::Idle
        }
    }
}

/// Runs the pump on the calling thread until the plane stopped and every ring is drained.
pub(crate) fn run(mut pump: EventPump) {
    loop {
        match pump.pump() {
            Pumped::Events => {}
            Pumped::Idle => {
                pump.shared.bell.wait(Duration::from_millis(100));
            }
            Pumped::Stopped => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_shared::{core_rings, EndpointHandle, RequestId};

    fn shared() -> Arc<Shared> {
        let (events, _) = broadcast::channel(16);
        Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            events,
            stop: AtomicBool::new(false),
            bell: Arc::new(EventFd::new().unwrap()),
            bad_events: AtomicU64::new(0),
        })
    }

    #[test]
    fn replies_complete_their_request_and_notifications_fan_out() {
        let shared = shared();
        let mut sub = shared.events.subscribe();
        let (tx, mut rx) = oneshot::channel();
        shared.pending().insert(7, Pending { core: 1, tx });
        shared.dispatch(1, Event::Done { req: RequestId(7) });
        assert_eq!(rx.try_recv().unwrap(), Event::Done { req: RequestId(7) });
        assert!(shared.pending().is_empty());

        let endpoint = EndpointHandle {
            slot: 3,
            generation: 2,
        };
        shared.dispatch(
            1,
            Event::RtpTimeout {
                endpoint,
                idle_ms: 1500,
            },
        );
        assert_eq!(
            sub.try_recv().unwrap(),
            MediaEvent::RtpTimeout {
                endpoint: EndpointId {
                    core: 1,
                    handle: endpoint
                },
                idle: Duration::from_millis(1500),
            }
        );
        // A reply nobody waits for is ignored.
        shared.dispatch(1, Event::Done { req: RequestId(99) });
        assert!(sub.try_recv().is_err());
    }

    #[test]
    fn a_dead_core_fails_its_pending_requests_only() {
        let shared = shared();
        let (tx0, mut rx0) = oneshot::channel();
        let (tx1, mut rx1) = oneshot::channel();
        shared.pending().insert(1, Pending { core: 0, tx: tx0 });
        shared.pending().insert(2, Pending { core: 1, tx: tx1 });
        let ((_c0, evt0), (_d0, producer0)) = core_rings(4);
        let ((_c1, evt1), (_d1, _producer1)) = core_rings(4);
        drop(producer0); // core 0 is gone
        let pump_shared = shared.clone();
        let pump = std::thread::spawn(move || run(EventPump::new(pump_shared, vec![evt0, evt1])));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rx0.try_recv() != Err(oneshot::error::TryRecvError::Closed) {
            assert!(
                std::time::Instant::now() < deadline,
                "core 0's request not failed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The live core's request still waits.
        assert_eq!(rx1.try_recv(), Err(oneshot::error::TryRecvError::Empty));
        shared.stop.store(true, Ordering::Release);
        shared.bell.signal();
        pump.join().unwrap();
        // At stop every remaining request is failed too.
        assert_eq!(rx1.try_recv(), Err(oneshot::error::TryRecvError::Closed));
        assert!(shared.pending().is_empty());
    }

    #[test]
    fn a_pump_run_by_its_owner_completes_replies_and_ends_after_stop() {
        let shared = shared();
        let ((_cmd, evt), (_commands, mut producer)) = core_rings(4);
        let mut pump = EventPump::new(shared.clone(), vec![evt]);
        assert_eq!(pump.pump(), Pumped::Idle);

        let (tx, mut rx) = oneshot::channel();
        shared.pending().insert(5, Pending { core: 0, tx });
        producer.push(&Event::Done { req: RequestId(5) }).unwrap();
        shared.bell.signal();
        assert_eq!(pump.pump(), Pumped::Events);
        assert_eq!(rx.try_recv().unwrap(), Event::Done { req: RequestId(5) });
        // The pump reset the bell: nothing is left to wake its owner.
        assert!(!shared.bell.wait(Duration::ZERO));
        assert_eq!(pump.pump(), Pumped::Idle);

        let (tx, mut waiting) = oneshot::channel();
        shared.pending().insert(6, Pending { core: 0, tx });
        let (tx, mut last) = oneshot::channel();
        shared.pending().insert(7, Pending { core: 0, tx });
        producer.push(&Event::Done { req: RequestId(7) }).unwrap();
        shared.stop.store(true, Ordering::Release);
        // The last round handles what is still waiting, then fails the rest: its owner
        // needs no further bell.
        assert_eq!(pump.pump(), Pumped::Stopped);
        assert_eq!(last.try_recv().unwrap(), Event::Done { req: RequestId(7) });
        assert_eq!(
            waiting.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
    }
}
