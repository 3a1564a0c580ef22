//! INVITE client transaction (RFC 3261 section 17.1.1, with the RFC 6026
//! Accepted state replacing the immediate termination on 2xx).
//!
//! ```text
//! Calling --1xx--> Proceeding --1xx--> Proceeding
//!    |  \--A: re-send, double A      |
//!    |--B--> Terminated (Timeout)    |
//!    |--2xx------------------------> Accepted --M--> Terminated
//!    |--300-699--------------------> Completed --D--> Terminated
//! ```

use std::time::Duration;

use bytes::Bytes;

use crate::machine::{Class, Ctx, Terminated, Termination, TxState};
use crate::timer::TimerKind;
use crate::{ClientResponse, Config, TxError};

#[derive(Debug)]
pub(crate) enum ClientInvite {
    Calling(Calling),
    Proceeding(Proceeding),
    Completed(Completed),
    Accepted(Accepted),
    Terminated(Terminated),
}

impl Default for ClientInvite {
    fn default() -> Self {
        Self::Terminated(Terminated::default())
    }
}

/// Request sent; retransmitting it on Timer A until a response or Timer B.
#[derive(Debug)]
pub(crate) struct Calling {
    request: Bytes,
    interval: Duration,
}

/// A provisional response arrived; waiting for the final one, no timers.
#[derive(Debug)]
pub(crate) struct Proceeding;

/// A 300-699 final arrived; absorbing its retransmissions (re-sending the
/// ACK for each) until Timer D.
#[derive(Debug)]
pub(crate) struct Completed {
    ack: Option<Bytes>,
}

/// A 2xx arrived; further 2xx (retransmissions or other forks) go to the
/// TU until Timer M.
#[derive(Debug)]
pub(crate) struct Accepted;

impl ClientInvite {
    /// Sends the INVITE and enters Calling.
    pub(crate) fn start(ctx: &mut Ctx<'_>, request: Bytes) -> Self {
        ctx.send(&request);
        let interval = ctx.config.first_retransmit_interval();
        if !ctx.reliable {
            ctx.arm_after(TimerKind::A, interval);
        }
        ctx.arm(TimerKind::B);
        Self::Calling(Calling { request, interval })
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Self::Calling(_) => TxState::Calling,
            Self::Proceeding(_) => TxState::Proceeding,
            Self::Completed(_) => TxState::Completed,
            Self::Accepted(_) => TxState::Accepted,
            Self::Terminated(_) => TxState::Terminated,
        }
    }

    pub(crate) fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> Self {
        match self {
            Self::Calling(s) => s.on_timer(ctx, kind),
            Self::Completed(s) => s.on_timer(kind),
            Self::Accepted(s) => s.on_timer(kind),
            other => other,
        }
    }

    pub(crate) fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (Self, ClientResponse) {
        match self {
            Self::Calling(s) => s.on_response(ctx, status),
            Self::Proceeding(s) => s.on_response(ctx, status),
            Self::Completed(s) => s.on_response(ctx, status),
            Self::Accepted(s) => s.on_response(ctx, status),
            other @ Self::Terminated(_) => (other, ClientResponse::Absorbed),
        }
    }

    /// Stores the ACK the TU built for the non-2xx final and sends it.
    pub(crate) fn set_ack(&mut self, ctx: &mut Ctx<'_>, ack: Bytes) -> Result<(), TxError> {
        match self {
            Self::Completed(Completed { ack: slot @ None }) => {
                ctx.send(&ack);
                *slot = Some(ack);
                Ok(())
            }
            Self::Completed(_) => Err(ctx.invalid(TxState::Completed, "set_ack (already set)")),
            other => Err(ctx.invalid(other.state(), "set_ack")),
        }
    }
}

/// Leaves Calling or Proceeding on a final response.
fn on_final(ctx: &mut Ctx<'_>, class: Class) -> (ClientInvite, ClientResponse) {
    if class == Class::Success {
        ctx.arm(TimerKind::M);
        (
            ClientInvite::Accepted(Accepted),
            ClientResponse::Deliver(ctx.tx),
        )
    } else {
        ctx.arm(TimerKind::D);
        (
            ClientInvite::Completed(Completed { ack: None }),
            ClientResponse::DeliverNeedsAck(ctx.tx),
        )
    }
}

impl Calling {
    fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> ClientInvite {
        match kind {
            TimerKind::A => {
                ctx.send(&self.request);
                let interval = Config::doubled(self.interval);
                ctx.arm_after(TimerKind::A, interval);
                ClientInvite::Calling(Self { interval, ..self })
            }
            TimerKind::B => ClientInvite::Terminated(Terminated {
                reason: Termination::Timeout,
            }),
            _ => ClientInvite::Calling(self),
        }
    }

    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientInvite, ClientResponse) {
        ctx.stop(TimerKind::A);
        ctx.stop(TimerKind::B);
        match Class::of(status) {
            Class::Provisional => (
                ClientInvite::Proceeding(Proceeding),
                ClientResponse::Deliver(ctx.tx),
            ),
            class => on_final(ctx, class),
        }
    }
}

impl Proceeding {
    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientInvite, ClientResponse) {
        match Class::of(status) {
            Class::Provisional => (
                ClientInvite::Proceeding(self),
                ClientResponse::Deliver(ctx.tx),
            ),
            class => on_final(ctx, class),
        }
    }
}

impl Completed {
    fn on_timer(self, kind: TimerKind) -> ClientInvite {
        match kind {
            TimerKind::D => ClientInvite::Terminated(Terminated::default()),
            _ => ClientInvite::Completed(self),
        }
    }

    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientInvite, ClientResponse) {
        if Class::of(status) == Class::Failure {
            if let Some(ack) = &self.ack {
                ctx.send(ack);
            }
        }
        (ClientInvite::Completed(self), ClientResponse::Absorbed)
    }
}

impl Accepted {
    fn on_timer(self, kind: TimerKind) -> ClientInvite {
        match kind {
            TimerKind::M => ClientInvite::Terminated(Terminated::default()),
            _ => ClientInvite::Accepted(self),
        }
    }

    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientInvite, ClientResponse) {
        let verdict = if Class::of(status) == Class::Success {
            ClientResponse::Deliver(ctx.tx)
        } else {
            ClientResponse::Absorbed
        };
        (ClientInvite::Accepted(self), verdict)
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{invite_key, ms, secs, Sim};
    use crate::{ClientResponse, Event, ResponseKey, TxError, TxState};
    use bytes::Bytes;

    const INVITE: &[u8] = b"INVITE sip:b@x SIP/2.0";
    const ACK: &[u8] = b"ACK sip:b@x SIP/2.0";

    fn start(sim: &mut Sim, reliable: bool) -> crate::TxId {
        let key = invite_key("z9hG4bKc1");
        sim.layer
            .send_request(sim.now, key, "peer", reliable, Bytes::from_static(INVITE))
            .unwrap()
    }

    fn resp(sim: &mut Sim, status: u16) -> ClientResponse {
        let key = ResponseKey::new("z9hG4bKc1", crate::Method::Invite);
        sim.layer.on_response(sim.now, &key, status).unwrap()
    }

    #[test]
    fn timer_a_doubles_and_timer_b_times_out_at_64_t1() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_to_idle();
        assert_eq!(
            sim.sent_times(INVITE),
            vec![0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]
        );
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::Timeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
        assert!(sim.layer.is_empty());
    }

    #[test]
    fn reliable_calling_never_retransmits_but_times_out() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, true);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(INVITE), vec![0]);
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::Timeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
    }

    #[test]
    fn provisional_stops_retransmits_and_timer_b() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(1_600));
        assert_eq!(resp(&mut sim, 180), ClientResponse::Deliver(tx));
        assert_eq!(resp(&mut sim, 183), ClientResponse::Deliver(tx));
        assert_eq!(sim.layer.state(tx), Some(TxState::Proceeding));
        assert_eq!(sim.layer.poll_timeout(), None);
        sim.run_until(secs(100));
        assert_eq!(sim.sent_times(INVITE), vec![0, 500, 1_500]);
        assert!(sim.events.is_empty());
        assert_eq!(sim.layer.state(tx), Some(TxState::Proceeding));
    }

    #[test]
    fn non_2xx_final_needs_ack_resent_per_retransmission_until_timer_d() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(100));
        assert_eq!(resp(&mut sim, 180), ClientResponse::Deliver(tx));
        sim.run_until(ms(2_000));
        assert_eq!(resp(&mut sim, 486), ClientResponse::DeliverNeedsAck(tx));
        sim.layer.set_ack(tx, Bytes::from_static(ACK)).unwrap();
        assert!(matches!(
            sim.layer.set_ack(tx, Bytes::from_static(ACK)),
            Err(TxError::InvalidState { .. })
        ));
        sim.drain();
        sim.run_until(ms(2_500));
        assert_eq!(resp(&mut sim, 486), ClientResponse::Absorbed);
        assert_eq!(resp(&mut sim, 180), ClientResponse::Absorbed);
        assert_eq!(resp(&mut sim, 200), ClientResponse::Absorbed);
        sim.drain();
        sim.run_to_idle();
        // One ACK per received copy of the 486 (the 180 and 200 re-send none).
        assert_eq!(sim.sent_times(ACK), vec![2_000, 2_500]);
        assert_eq!(sim.events, vec![(34_000, Event::Terminated(tx))]);
    }

    #[test]
    fn reliable_completed_ends_at_once() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, true);
        sim.run_until(ms(300));
        assert_eq!(resp(&mut sim, 603), ClientResponse::DeliverNeedsAck(tx));
        sim.layer.set_ack(tx, Bytes::from_static(ACK)).unwrap();
        sim.drain();
        assert_eq!(sim.layer.poll_timeout(), Some(sim.now));
        sim.step();
        assert_eq!(sim.events, vec![(300, Event::Terminated(tx))]);
        assert_eq!(sim.sent_times(ACK), vec![300]);
        assert!(matches!(
            sim.layer.set_ack(tx, Bytes::from_static(ACK)),
            Err(TxError::UnknownTransaction(_))
        ));
    }

    #[test]
    fn rfc6026_accepted_passes_2xx_until_timer_m() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(700));
        assert_eq!(resp(&mut sim, 200), ClientResponse::Deliver(tx));
        assert_eq!(sim.layer.state(tx), Some(TxState::Accepted));
        sim.run_until(ms(5_000));
        // A retransmitted or forked 2xx goes to the TU, anything else is absorbed.
        assert_eq!(resp(&mut sim, 200), ClientResponse::Deliver(tx));
        assert_eq!(resp(&mut sim, 486), ClientResponse::Absorbed);
        assert_eq!(resp(&mut sim, 180), ClientResponse::Absorbed);
        assert!(sim.layer.set_ack(tx, Bytes::from_static(ACK)).is_err());
        sim.run_to_idle();
        assert_eq!(sim.sent_times(INVITE), vec![0, 500]);
        assert_eq!(sim.events, vec![(32_700, Event::Terminated(tx))]);
        assert_eq!(resp(&mut sim, 200), ClientResponse::Stray);
    }

    #[test]
    fn rfc6026_timer_m_is_not_shortened_on_reliable_transport() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, true);
        assert_eq!(resp(&mut sim, 200), ClientResponse::Deliver(tx));
        sim.run_to_idle();
        assert_eq!(sim.events, vec![(32_000, Event::Terminated(tx))]);
    }
}
