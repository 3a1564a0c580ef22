//! Non-INVITE server transaction (RFC 3261 section 17.2.2).
//!
//! ```text
//! Trying --1xx from TU--> Proceeding --1xx from TU--> Proceeding
//!   |                         |
//!   |--200-699 from TU-------> Completed --J--> Terminated
//! ```
//!
//! Copies of the request are absorbed in Trying and re-send the last
//! response in Proceeding and Completed.

use bytes::Bytes;

use crate::machine::{Class, Ctx, Terminated, TxState};
use crate::timer::TimerKind;
use crate::TxError;

#[derive(Debug)]
pub(crate) enum ServerNonInvite {
    Trying(Trying),
    Proceeding(Proceeding),
    Completed(Completed),
    Terminated(Terminated),
}

impl Default for ServerNonInvite {
    fn default() -> Self {
        Self::Terminated(Terminated::default())
    }
}

/// Request received, nothing sent yet.
#[derive(Debug)]
pub(crate) struct Trying;

/// A provisional response was sent.
#[derive(Debug)]
pub(crate) struct Proceeding {
    last_provisional: Bytes,
}

/// A final response was sent; re-sent for each request copy until Timer J.
#[derive(Debug)]
pub(crate) struct Completed {
    response: Bytes,
}

impl ServerNonInvite {
    /// A new non-INVITE server transaction starts in Trying, without timers.
    pub(crate) fn start() -> Self {
        Self::Trying(Trying)
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Self::Trying(_) => TxState::Trying,
            Self::Proceeding(_) => TxState::Proceeding,
            Self::Completed(_) => TxState::Completed,
            Self::Terminated(_) => TxState::Terminated,
        }
    }

    pub(crate) fn on_request_retransmit(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Self::Proceeding(Proceeding {
                last_provisional: response,
            })
            | Self::Completed(Completed { response }) => ctx.send(response),
            Self::Trying(_) | Self::Terminated(_) => {}
        }
    }

    pub(crate) fn send_response(
        self,
        ctx: &mut Ctx<'_>,
        status: u16,
        bytes: Bytes,
    ) -> (Self, Result<(), TxError>) {
        match self {
            Self::Trying(_) | Self::Proceeding(_) => (respond(ctx, status, bytes), Ok(())),
            other => {
                let err = ctx.invalid(other.state(), "send_response");
                (other, Err(err))
            }
        }
    }

    pub(crate) fn on_timer(self, _ctx: &mut Ctx<'_>, kind: TimerKind) -> Self {
        match (self, kind) {
            (Self::Completed(_), TimerKind::J) => Self::Terminated(Terminated::default()),
            (other, _) => other,
        }
    }
}

/// Sends a response from Trying or Proceeding.
fn respond(ctx: &mut Ctx<'_>, status: u16, bytes: Bytes) -> ServerNonInvite {
    ctx.send(&bytes);
    if Class::of(status) == Class::Provisional {
        ServerNonInvite::Proceeding(Proceeding {
            last_provisional: bytes,
        })
    } else {
        ctx.arm(TimerKind::J);
        ServerNonInvite::Completed(Completed { response: bytes })
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{ms, request_key, Sim};
    use crate::{Event, Method, ServerRequest, TxError, TxId, TxState};
    use bytes::Bytes;

    const R100: &[u8] = b"SIP/2.0 100 Trying";
    const R200: &[u8] = b"SIP/2.0 200 OK";

    fn receive(sim: &mut Sim, reliable: bool) -> ServerRequest {
        let key = request_key(Method::Register, "z9hG4bKr1");
        sim.layer.on_request(sim.now, key, "peer", reliable)
    }

    fn new_tx(sim: &mut Sim, reliable: bool) -> TxId {
        match receive(sim, reliable) {
            ServerRequest::New {
                tx,
                send_100_trying: false,
            } => tx,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn respond(sim: &mut Sim, tx: TxId, status: u16, bytes: &'static [u8]) {
        sim.layer
            .send_response(sim.now, tx, status, Bytes::from_static(bytes))
            .unwrap();
    }

    #[test]
    fn timer_j_absorbs_copies_resending_the_final_then_terminates() {
        let mut sim = Sim::new();
        let tx = new_tx(&mut sim, false);
        sim.run_until(ms(200));
        assert_eq!(receive(&mut sim, false), ServerRequest::Retransmission(tx));
        respond(&mut sim, tx, 100, R100);
        sim.run_until(ms(700));
        assert_eq!(receive(&mut sim, false), ServerRequest::Retransmission(tx));
        sim.run_until(ms(1_000));
        respond(&mut sim, tx, 200, R200);
        assert_eq!(sim.layer.state(tx), Some(TxState::Completed));
        sim.run_until(ms(1_500));
        assert_eq!(receive(&mut sim, false), ServerRequest::Retransmission(tx));
        sim.run_until(ms(32_999));
        assert_eq!(receive(&mut sim, false), ServerRequest::Retransmission(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R100), vec![200, 700]);
        assert_eq!(sim.sent_times(R200), vec![1_000, 1_500, 32_999]);
        assert_eq!(sim.events, vec![(33_000, Event::Terminated(tx))]);
        assert!(sim.layer.is_empty());
    }

    #[test]
    fn completed_refuses_more_responses() {
        let mut sim = Sim::new();
        let tx = new_tx(&mut sim, false);
        respond(&mut sim, tx, 200, R200);
        assert!(matches!(
            sim.layer
                .send_response(sim.now, tx, 100, Bytes::from_static(R100)),
            Err(TxError::InvalidState {
                state: TxState::Completed,
                ..
            })
        ));
    }

    #[test]
    fn reliable_transport_zero_timer_j() {
        let mut sim = Sim::new();
        let tx = new_tx(&mut sim, true);
        sim.run_until(ms(300));
        respond(&mut sim, tx, 200, R200);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R200), vec![300]);
        assert_eq!(sim.events, vec![(300, Event::Terminated(tx))]);
    }

    #[test]
    fn trying_has_no_timers() {
        let mut sim = Sim::new();
        let tx = new_tx(&mut sim, false);
        assert_eq!(sim.layer.poll_timeout(), None);
        assert_eq!(sim.layer.state(tx), Some(TxState::Trying));
    }
}
