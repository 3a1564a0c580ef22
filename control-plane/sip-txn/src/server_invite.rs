//! INVITE server transaction (RFC 3261 section 17.2.1, with the RFC 6026
//! Accepted state for 2xx responses).
//!
//! ```text
//! Proceeding --1xx from TU--> Proceeding (request copies re-send it)
//!    |--2xx from TU--> Accepted --L--> Terminated
//!    |--300-699 from TU--> Completed --ACK--> Confirmed --I--> Terminated
//!                            | \--G: re-send, G = min(2G, T2)
//!                            |--H--> Terminated (AckTimeout)
//! ```

use std::time::Duration;

use bytes::Bytes;

use crate::machine::{Class, Ctx, Terminated, Termination, TxState};
use crate::timer::TimerKind;
use crate::{ServerRequest, TxError};

#[derive(Debug)]
pub(crate) enum ServerInvite {
    Proceeding(Proceeding),
    Completed(Completed),
    Confirmed(Confirmed),
    Accepted(Accepted),
    Terminated(Terminated),
}

impl Default for ServerInvite {
    fn default() -> Self {
        Self::Terminated(Terminated::default())
    }
}

/// Waiting for the TU's final response; copies of the INVITE re-send the
/// last provisional response, if any.
#[derive(Debug)]
pub(crate) struct Proceeding {
    last_provisional: Option<Bytes>,
    /// A 100 (Trying) the TU deferred: sent when it sent nothing else before the Trying
    /// timer, or when a copy of the INVITE arrives first.
    deferred_trying: Option<Bytes>,
}

/// A 300-699 final was sent; re-sending it on Timer G and on each copy of
/// the INVITE until the ACK arrives or Timer H fires.
#[derive(Debug)]
pub(crate) struct Completed {
    response: Bytes,
    interval: Duration,
}

/// The ACK arrived; absorbing copies of it until Timer I.
#[derive(Debug)]
pub(crate) struct Confirmed;

/// A 2xx was sent (RFC 6026); INVITE copies are absorbed, further 2xx from
/// the TU are sent, ACKs go to the TU, until Timer L.
#[derive(Debug)]
pub(crate) struct Accepted;

impl ServerInvite {
    /// A new INVITE server transaction starts in Proceeding, without timers.
    pub(crate) fn start() -> Self {
        Self::Proceeding(Proceeding {
            last_provisional: None,
            deferred_trying: None,
        })
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Self::Proceeding(_) => TxState::Proceeding,
            Self::Completed(_) => TxState::Completed,
            Self::Confirmed(_) => TxState::Confirmed,
            Self::Accepted(_) => TxState::Accepted,
            Self::Terminated(_) => TxState::Terminated,
        }
    }

    pub(crate) fn on_request_retransmit(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Self::Proceeding(p) => {
                if let Some(trying) = p.deferred_trying.take() {
                    // The client heard nothing yet: the 100 goes now.
                    ctx.stop(TimerKind::Trying);
                    p.last_provisional = Some(trying);
                }
                if let Some(response) = &p.last_provisional {
                    ctx.send(response);
                }
            }
            Self::Completed(Completed { response, .. }) => ctx.send(response),
            _ => {}
        }
    }

    /// Holds `trying` (a 100 to the INVITE) back for the Trying timer: sent only if the TU
    /// sends no response before it (or a copy of the INVITE arrives first).
    pub(crate) fn defer_trying(
        self,
        ctx: &mut Ctx<'_>,
        trying: Bytes,
    ) -> (Self, Result<(), TxError>) {
        match self {
            Self::Proceeding(p) if p.last_provisional.is_none() => {
                ctx.arm(TimerKind::Trying);
                (
                    Self::Proceeding(Proceeding {
                        deferred_trying: Some(trying),
                        ..p
                    }),
                    Ok(()),
                )
            }
            other => {
                let err = ctx.invalid(other.state(), "defer_trying");
                (other, Err(err))
            }
        }
    }

    pub(crate) fn on_ack(self, ctx: &mut Ctx<'_>) -> (Self, ServerRequest) {
        match self {
            Self::Completed(_) => {
                ctx.stop(TimerKind::G);
                ctx.stop(TimerKind::H);
                ctx.arm(TimerKind::I);
                (
                    Self::Confirmed(Confirmed),
                    ServerRequest::AckForNon2xx(ctx.tx),
                )
            }
            other @ Self::Confirmed(_) => (other, ServerRequest::AckForNon2xx(ctx.tx)),
            other @ Self::Accepted(_) => (other, ServerRequest::Ack2xx(ctx.tx)),
            other @ (Self::Proceeding(_) | Self::Terminated(_)) => (other, ServerRequest::StrayAck),
        }
    }

    pub(crate) fn send_response(
        self,
        ctx: &mut Ctx<'_>,
        status: u16,
        bytes: Bytes,
    ) -> (Self, Result<(), TxError>) {
        match self {
            Self::Proceeding(s) => (s.send_response(ctx, status, bytes), Ok(())),
            Self::Accepted(s) if Class::of(status) == Class::Success => {
                ctx.send(&bytes);
                (Self::Accepted(s), Ok(()))
            }
            other => {
                let err = ctx.invalid(other.state(), "send_response");
                (other, Err(err))
            }
        }
    }

    pub(crate) fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> Self {
        match (self, kind) {
            (Self::Proceeding(mut p), TimerKind::Trying) => {
                if let Some(trying) = p.deferred_trying.take() {
                    ctx.send(&trying);
                    p.last_provisional = Some(trying);
                }
                Self::Proceeding(p)
            }
            (Self::Completed(s), kind) => s.on_timer(ctx, kind),
            (Self::Confirmed(_), TimerKind::I) | (Self::Accepted(_), TimerKind::L) => {
                Self::Terminated(Terminated::default())
            }
            (other, _) => other,
        }
    }
}

impl Proceeding {
    fn send_response(self, ctx: &mut Ctx<'_>, status: u16, bytes: Bytes) -> ServerInvite {
        // The TU answered in time: a deferred 100 is not needed.
        ctx.stop(TimerKind::Trying);
        ctx.send(&bytes);
        match Class::of(status) {
            Class::Provisional => ServerInvite::Proceeding(Self {
                last_provisional: Some(bytes),
                deferred_trying: None,
            }),
            Class::Success => {
                ctx.arm(TimerKind::L);
                ServerInvite::Accepted(Accepted)
            }
            Class::Failure => {
                let interval = ctx.config.first_retransmit_interval();
                if !ctx.reliable {
                    ctx.arm_after(TimerKind::G, interval);
                }
                ctx.arm(TimerKind::H);
                ServerInvite::Completed(Completed {
                    response: bytes,
                    interval,
                })
            }
        }
    }
}

impl Completed {
    fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> ServerInvite {
        match kind {
            TimerKind::G => {
                ctx.send(&self.response);
                let interval = ctx.config.doubled_capped(self.interval);
                ctx.arm_after(TimerKind::G, interval);
                ServerInvite::Completed(Self { interval, ..self })
            }
            TimerKind::H => ServerInvite::Terminated(Terminated {
                reason: Termination::AckTimeout,
            }),
            _ => ServerInvite::Completed(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{invite_key, ms, request_key, Sim};
    use crate::{Event, Method, ServerRequest, TxError, TxId, TxState};
    use bytes::Bytes;

    const R180: &[u8] = b"SIP/2.0 180 Ringing";
    const R200: &[u8] = b"SIP/2.0 200 OK";
    const R486: &[u8] = b"SIP/2.0 486 Busy Here";

    fn receive(sim: &mut Sim, reliable: bool) -> TxId {
        let key = invite_key("z9hG4bKs1");
        match sim.layer.on_request(sim.now, key, "peer", reliable) {
            ServerRequest::New {
                tx,
                send_100_trying: true,
            } => tx,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn copy(sim: &mut Sim) -> ServerRequest {
        sim.layer
            .on_request(sim.now, invite_key("z9hG4bKs1"), "peer", false)
    }

    fn ack(sim: &mut Sim) -> ServerRequest {
        let key = request_key(Method::Ack, "z9hG4bKs1");
        sim.layer.on_request(sim.now, key, "peer", false)
    }

    fn respond(sim: &mut Sim, tx: TxId, status: u16, bytes: &'static [u8]) {
        sim.layer
            .send_response(sim.now, tx, status, Bytes::from_static(bytes))
            .unwrap();
    }

    const R100: &[u8] = b"SIP/2.0 100 Trying";

    fn defer(sim: &mut Sim, tx: TxId) {
        sim.layer
            .defer_trying(sim.now, tx, Bytes::from_static(R100))
            .unwrap();
    }

    #[test]
    fn a_deferred_trying_is_dropped_when_the_tu_answers_in_time() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        defer(&mut sim, tx);
        sim.run_until(ms(150));
        respond(&mut sim, tx, 180, R180);
        sim.run_until(ms(1_000));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        respond(&mut sim, tx, 486, R486);
        sim.run_to_idle();
        assert!(sim.sent_times(R100).is_empty());
        assert_eq!(sim.sent_times(R180), vec![150, 1_000]);
    }

    #[test]
    fn a_deferred_trying_goes_after_200_ms_and_answers_copies() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        defer(&mut sim, tx);
        sim.run_until(ms(600));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        respond(&mut sim, tx, 200, R200);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R100), vec![200, 600]);
        // Only before any response of the TU.
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        respond(&mut sim, tx, 180, R180);
        assert!(sim
            .layer
            .defer_trying(sim.now, tx, Bytes::from_static(R100))
            .is_err());
    }

    #[test]
    fn a_copy_of_the_invite_sends_the_deferred_trying_at_once() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        defer(&mut sim, tx);
        sim.run_until(ms(50));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        sim.run_until(ms(400));
        respond(&mut sim, tx, 486, R486);
        sim.run_until(ms(450));
        assert_eq!(sim.sent_times(R100), vec![50]);
    }

    #[test]
    fn timer_g_doubles_up_to_t2_and_timer_h_gives_up() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        respond(&mut sim, tx, 486, R486);
        sim.run_to_idle();
        assert_eq!(
            sim.sent_times(R486),
            vec![0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
        );
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::AckTimeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
        assert!(sim.layer.is_empty());
    }

    #[test]
    fn ack_confirms_and_timer_i_absorbs_copies() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        sim.run_until(ms(100));
        respond(&mut sim, tx, 486, R486);
        sim.run_until(ms(2_000));
        assert_eq!(ack(&mut sim), ServerRequest::AckForNon2xx(tx));
        assert_eq!(sim.layer.state(tx), Some(TxState::Confirmed));
        sim.run_until(ms(3_000));
        assert_eq!(ack(&mut sim), ServerRequest::AckForNon2xx(tx));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R486), vec![100, 600, 1_600]);
        assert_eq!(sim.events, vec![(7_000, Event::Terminated(tx))]);
    }

    #[test]
    fn request_copies_resend_the_last_response() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        sim.run_until(ms(50));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        respond(&mut sim, tx, 180, R180);
        sim.run_until(ms(1_000));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        sim.run_until(ms(1_200));
        respond(&mut sim, tx, 486, R486);
        sim.run_until(ms(1_300));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        sim.drain();
        assert_eq!(sim.sent_times(R180), vec![50, 1_000]);
        assert_eq!(sim.sent_times(R486), vec![1_200, 1_300]);
        assert!(sim.sent.iter().all(|(_, t)| t.to == "peer" && t.tx == tx));
    }

    #[test]
    fn completed_refuses_more_responses() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        respond(&mut sim, tx, 486, R486);
        let err = sim
            .layer
            .send_response(sim.now, tx, 200, Bytes::from_static(R200))
            .unwrap_err();
        assert_eq!(
            err,
            TxError::InvalidState {
                tx,
                state: TxState::Completed,
                operation: "send_response"
            }
        );
    }

    #[test]
    fn reliable_transport_no_g_and_zero_timer_i() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, true);
        respond(&mut sim, tx, 486, R486);
        sim.run_until(ms(4_000));
        assert_eq!(ack(&mut sim), ServerRequest::AckForNon2xx(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R486), vec![0]);
        assert_eq!(sim.events, vec![(4_000, Event::Terminated(tx))]);
    }

    #[test]
    fn reliable_transport_still_waits_timer_h_for_the_ack() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, true);
        respond(&mut sim, tx, 503, R486);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R486), vec![0]);
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::AckTimeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
    }

    #[test]
    fn rfc6026_accepted_absorbs_invites_passes_acks_until_timer_l() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        sim.run_until(ms(1_000));
        respond(&mut sim, tx, 200, R200);
        assert_eq!(sim.layer.state(tx), Some(TxState::Accepted));
        sim.run_until(ms(1_500));
        assert_eq!(copy(&mut sim), ServerRequest::Retransmission(tx));
        // The TU retransmits its 2xx itself; the layer passes it through.
        respond(&mut sim, tx, 200, R200);
        assert!(matches!(
            sim.layer
                .send_response(sim.now, tx, 486, Bytes::from_static(R486)),
            Err(TxError::InvalidState { .. })
        ));
        sim.run_until(ms(2_000));
        assert_eq!(ack(&mut sim), ServerRequest::Ack2xx(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(R200), vec![1_000, 1_500]);
        assert_eq!(sim.events, vec![(33_000, Event::Terminated(tx))]);
        // Once gone, an ACK is stray and a copy of the INVITE is new.
        assert_eq!(ack(&mut sim), ServerRequest::StrayAck);
        assert!(matches!(copy(&mut sim), ServerRequest::New { .. }));
    }

    #[test]
    fn ack_before_any_final_is_stray() {
        let mut sim = Sim::new();
        let tx = receive(&mut sim, false);
        assert_eq!(ack(&mut sim), ServerRequest::StrayAck);
        assert_eq!(sim.layer.state(tx), Some(TxState::Proceeding));
        assert_eq!(sim.layer.poll_timeout(), None);
    }
}
