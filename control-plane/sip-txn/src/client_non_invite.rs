//! Non-INVITE client transaction (RFC 3261 section 17.1.2).
//!
//! ```text
//! Trying --1xx--> Proceeding --1xx--> Proceeding
//!   | \--E: re-send, E = min(2E, T2)  | \--E: re-send, E = T2
//!   |--F--> Terminated (Timeout) <----|--F
//!   |--200-699-----------------------> Completed --K--> Terminated
//! ```

use std::time::Duration;

use bytes::Bytes;

use crate::machine::{Class, Ctx, Terminated, Termination, TxState};
use crate::timer::TimerKind;
use crate::ClientResponse;

#[derive(Debug)]
pub(crate) enum ClientNonInvite {
    Trying(Trying),
    Proceeding(Proceeding),
    Completed(Completed),
    Terminated(Terminated),
}

impl Default for ClientNonInvite {
    fn default() -> Self {
        Self::Terminated(Terminated::default())
    }
}

/// Request sent; retransmitting with a doubling interval capped at T2.
#[derive(Debug)]
pub(crate) struct Trying {
    request: Bytes,
    interval: Duration,
}

/// A provisional response arrived; retransmitting every T2.
#[derive(Debug)]
pub(crate) struct Proceeding {
    request: Bytes,
}

/// A final response arrived; absorbing its retransmissions until Timer K.
#[derive(Debug)]
pub(crate) struct Completed;

impl ClientNonInvite {
    /// Sends the request and enters Trying.
    pub(crate) fn start(ctx: &mut Ctx<'_>, request: Bytes) -> Self {
        ctx.send(&request);
        let interval = ctx.config.first_retransmit_interval();
        if !ctx.reliable {
            ctx.arm_after(TimerKind::E, interval);
        }
        ctx.arm(TimerKind::F);
        Self::Trying(Trying { request, interval })
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Self::Trying(_) => TxState::Trying,
            Self::Proceeding(_) => TxState::Proceeding,
            Self::Completed(_) => TxState::Completed,
            Self::Terminated(_) => TxState::Terminated,
        }
    }

    pub(crate) fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> Self {
        match self {
            Self::Trying(s) => s.on_timer(ctx, kind),
            Self::Proceeding(s) => s.on_timer(ctx, kind),
            Self::Completed(s) => s.on_timer(kind),
            other @ Self::Terminated(_) => other,
        }
    }

    pub(crate) fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (Self, ClientResponse) {
        match self {
            Self::Trying(s) => s.on_response(ctx, status),
            Self::Proceeding(s) => s.on_response(ctx, status),
            other @ (Self::Completed(_) | Self::Terminated(_)) => (other, ClientResponse::Absorbed),
        }
    }
}

/// Leaves Trying or Proceeding on a final response.
fn complete(ctx: &mut Ctx<'_>) -> (ClientNonInvite, ClientResponse) {
    ctx.stop(TimerKind::E);
    ctx.stop(TimerKind::F);
    ctx.arm(TimerKind::K);
    (
        ClientNonInvite::Completed(Completed),
        ClientResponse::Deliver(ctx.tx),
    )
}

fn timed_out() -> ClientNonInvite {
    ClientNonInvite::Terminated(Terminated {
        reason: Termination::Timeout,
    })
}

impl Trying {
    fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> ClientNonInvite {
        match kind {
            TimerKind::E => {
                ctx.send(&self.request);
                let interval = ctx.config.doubled_capped(self.interval);
                ctx.arm_after(TimerKind::E, interval);
                ClientNonInvite::Trying(Self { interval, ..self })
            }
            TimerKind::F => timed_out(),
            _ => ClientNonInvite::Trying(self),
        }
    }

    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientNonInvite, ClientResponse) {
        match Class::of(status) {
            // Timer E keeps its pending deadline; it switches to T2 once it fires.
            Class::Provisional => (
                ClientNonInvite::Proceeding(Proceeding {
                    request: self.request,
                }),
                ClientResponse::Deliver(ctx.tx),
            ),
            Class::Success | Class::Failure => complete(ctx),
        }
    }
}

impl Proceeding {
    fn on_timer(self, ctx: &mut Ctx<'_>, kind: TimerKind) -> ClientNonInvite {
        match kind {
            TimerKind::E => {
                ctx.send(&self.request);
                let cap = ctx.config.retransmit_cap();
                ctx.arm_after(TimerKind::E, cap);
                ClientNonInvite::Proceeding(self)
            }
            TimerKind::F => timed_out(),
            _ => ClientNonInvite::Proceeding(self),
        }
    }

    fn on_response(self, ctx: &mut Ctx<'_>, status: u16) -> (ClientNonInvite, ClientResponse) {
        match Class::of(status) {
            Class::Provisional => (
                ClientNonInvite::Proceeding(self),
                ClientResponse::Deliver(ctx.tx),
            ),
            Class::Success | Class::Failure => complete(ctx),
        }
    }
}

impl Completed {
    fn on_timer(self, kind: TimerKind) -> ClientNonInvite {
        match kind {
            TimerKind::K => ClientNonInvite::Terminated(Terminated::default()),
            _ => ClientNonInvite::Completed(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::{ms, request_key, Sim};
    use crate::{ClientResponse, Event, Method, ResponseKey, TxId, TxState};
    use bytes::Bytes;

    const OPTIONS: &[u8] = b"OPTIONS sip:b@x SIP/2.0";

    fn start(sim: &mut Sim, reliable: bool) -> TxId {
        let key = request_key(Method::Options, "z9hG4bKn1");
        sim.layer
            .send_request(sim.now, key, "peer", reliable, Bytes::from_static(OPTIONS))
            .unwrap()
    }

    fn resp(sim: &mut Sim, status: u16) -> ClientResponse {
        let key = ResponseKey::new("z9hG4bKn1", Method::Options);
        sim.layer.on_response(sim.now, &key, status).unwrap()
    }

    #[test]
    fn timer_e_doubles_up_to_t2_then_timer_f_times_out() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_to_idle();
        assert_eq!(
            sim.sent_times(OPTIONS),
            vec![0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
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
    fn timer_e_uses_t2_after_a_provisional() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(600));
        assert_eq!(resp(&mut sim, 100), ClientResponse::Deliver(tx));
        assert_eq!(sim.layer.state(tx), Some(TxState::Proceeding));
        sim.run_to_idle();
        // The pending E (1.5 s) still fires; from then on the interval is T2.
        assert_eq!(
            sim.sent_times(OPTIONS),
            vec![0, 500, 1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
        );
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::Timeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
    }

    #[test]
    fn final_response_stops_retransmits_and_timer_k_absorbs_copies() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(2_000));
        assert_eq!(resp(&mut sim, 180), ClientResponse::Deliver(tx));
        assert_eq!(resp(&mut sim, 180), ClientResponse::Deliver(tx));
        sim.run_until(ms(4_000));
        assert_eq!(resp(&mut sim, 200), ClientResponse::Deliver(tx));
        assert_eq!(sim.layer.state(tx), Some(TxState::Completed));
        sim.run_until(ms(8_999));
        assert_eq!(resp(&mut sim, 200), ClientResponse::Absorbed);
        assert_eq!(resp(&mut sim, 404), ClientResponse::Absorbed);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(OPTIONS), vec![0, 500, 1_500, 3_500]);
        assert_eq!(sim.events, vec![(9_000, Event::Terminated(tx))]);
        assert_eq!(resp(&mut sim, 200), ClientResponse::Stray);
    }

    #[test]
    fn final_response_in_trying_completes() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, false);
        sim.run_until(ms(100));
        assert_eq!(resp(&mut sim, 503), ClientResponse::Deliver(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(OPTIONS), vec![0]);
        assert_eq!(sim.events, vec![(5_100, Event::Terminated(tx))]);
    }

    #[test]
    fn reliable_transport_no_retransmits_and_zero_timer_k() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, true);
        sim.run_until(ms(10_000));
        assert_eq!(resp(&mut sim, 200), ClientResponse::Deliver(tx));
        sim.run_to_idle();
        assert_eq!(sim.sent_times(OPTIONS), vec![0]);
        assert_eq!(sim.events, vec![(10_000, Event::Terminated(tx))]);
    }

    #[test]
    fn reliable_transport_times_out_with_timer_f() {
        let mut sim = Sim::new();
        let tx = start(&mut sim, true);
        sim.run_to_idle();
        assert_eq!(sim.sent_times(OPTIONS), vec![0]);
        assert_eq!(
            sim.events,
            vec![
                (32_000, Event::Timeout(tx)),
                (32_000, Event::Terminated(tx))
            ]
        );
    }
}
