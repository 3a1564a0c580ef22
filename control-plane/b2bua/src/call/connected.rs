//! An answered call: two confirmed dialogs. BYE from either side ends it; re-INVITE and
//! UPDATE carry new offers across (hold and resume reach the media plane); INFO, OPTIONS,
//! MESSAGE and NOTIFY are relayed; session timers (RFC 4028), the maximum duration and
//! the 2xx/ACK handshake run here.

use bytes::Bytes;
use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose, Relay};
use crate::dialog::Dialog;
use crate::ids::{Dest, Leg};
use crate::io::{Action, CallEvent, Disposition, HangupSide};
use crate::msg::{self};
use crate::sdp::Sdp;
use crate::timers::CallTimer;

use super::branch::{late_response, Branch};
use super::ending::Winner;
use super::{send_bye, Answer, CallData, Ending, State};

/// Both dialogs of an answered call.
#[derive(Debug)]
pub(crate) struct Connected {
    pub(super) a: Dialog,
    pub(super) b: Dialog,
    pub(super) branches: Vec<Branch>,
    pub(super) winner: usize,
    /// Our ACK to the callee's 2xx, re-sent when the 2xx is.
    pub(super) b_ack: Bytes,
    /// A relayed offer in progress: the leg it came from and its description.
    pub(super) offer: Option<(Leg, Sdp)>,
    /// A session refresh of ours in progress, per leg (A, B).
    pub(super) refreshing: [bool; 2],
    /// Our relayed requests and refreshes still waiting for a final response.
    pub(super) in_flight: Vec<TxId>,
}

pub(super) fn slot(leg: Leg) -> usize {
    match leg {
        Leg::A => 0,
        Leg::B => 1,
    }
}

impl Connected {
    pub(crate) fn branches(&self) -> &[Branch] {
        &self.branches
    }

    pub(crate) fn branches_mut(&mut self) -> &mut [Branch] {
        &mut self.branches
    }

    pub(super) fn dialog(&self, leg: Leg) -> &Dialog {
        match leg {
            Leg::A => &self.a,
            Leg::B => &self.b,
        }
    }

    pub(super) fn dialog_mut(&mut self, leg: Leg) -> &mut Dialog {
        match leg {
            Leg::A => &mut self.a,
            Leg::B => &mut self.b,
        }
    }

    /// True when either party is on hold.
    pub(crate) fn is_held(&self) -> bool {
        [&self.a, &self.b]
            .iter()
            .any(|d| d.media.as_ref().is_some_and(|m| m.is_hold()))
    }

    /// Ends the call from the PBX: BYE on both legs.
    pub(crate) fn hang_up(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        disposition: Disposition,
        cause: String,
        side: HangupSide,
    ) -> State {
        if !d.a.abandon_held_2xx(ctx, &mut d.timers) {
            send_bye(d.id, &mut self.a, ctx);
        }
        send_bye(d.id, &mut self.b, ctx);
        d.finish(ctx, disposition, cause, Some(side));
        self.into_ending(ctx)
    }

    /// Leaves for Ending. Requests still relayed or refreshing get no answer any more: the
    /// parties that sent the relayed ones are answered now, and our requests are abandoned
    /// (an INVITE that got a provisional response would otherwise never end).
    fn into_ending(self: Box<Self>, ctx: &mut Ctx<'_>) -> State {
        let Connected {
            branches,
            winner,
            b_ack,
            b,
            in_flight,
            ..
        } = *self;
        for tx in in_flight {
            if let Some((_, Purpose::Relay(relay))) = ctx.index.txs.remove(&tx) {
                let (status, reason) = if relay.got_invite {
                    (487, "Request Terminated")
                } else {
                    (481, "Call/Transaction Does Not Exist")
                };
                ctx.reply(
                    relay.server,
                    &relay.request,
                    relay.source,
                    status,
                    reason,
                    Vec::new(),
                );
            }
            let _ = ctx.txl.on_transport_error(ctx.now, tx);
        }
        let winner = Winner {
            idx: winner,
            tag: b.remote_tag.clone(),
            ack: b_ack,
            dest: b.dest(),
        };
        State::Ending(Ending::new(branches, Some(winner)))
    }

    /// A request in one of the dialogs.
    pub(crate) fn on_request(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        tx: TxId,
        msg: &Message<'_>,
        reply: Dest,
    ) -> State {
        let source = reply.flow.peer;
        let dialog = self.dialog_mut(leg);
        if msg.from().and_then(|f| f.tag()) != Some(dialog.remote_tag.as_str()) {
            ctx.reply(
                tx,
                msg.as_bytes(),
                source,
                481,
                "Call/Transaction Does Not Exist",
                Vec::new(),
            );
            return State::Connected(self);
        }
        if !dialog.accept_cseq(msg) {
            ctx.reply(
                tx,
                msg.as_bytes(),
                source,
                500,
                "CSeq Out Of Order",
                Vec::new(),
            );
            return State::Connected(self);
        }
        match msg.method() {
            Some(Method::Bye) => {
                ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                let other = leg.other();
                let held = other == Leg::A && d.a.abandon_held_2xx(ctx, &mut d.timers);
                if !held {
                    send_bye(d.id, self.dialog_mut(other), ctx);
                }
                d.finish(ctx, Disposition::Answered, "BYE", Some(HangupSide::of(leg)));
                self.into_ending(ctx)
            }
            Some(Method::Invite) => self.offer_request(d, ctx, leg, tx, msg, reply, true),
            Some(Method::Update) => self.offer_request(d, ctx, leg, tx, msg, reply, false),
            Some(Method::Prack) => {
                if leg == Leg::A && d.a.take_prack(msg::rack(msg)) {
                    ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                    if let Some(ok) = d.a.release(ctx, &mut d.timers) {
                        let reply_a = d.a.reply;
                        d.start_resend(ctx, Leg::A, ok, reply_a);
                    }
                } else {
                    ctx.reply(
                        tx,
                        msg.as_bytes(),
                        source,
                        481,
                        "Call/Transaction Does Not Exist",
                        Vec::new(),
                    );
                }
                State::Connected(self)
            }
            Some(Method::Info | Method::Options | Method::Message | Method::Notify) => {
                self.relay(d, ctx, leg, tx, msg, source)
            }
            _ => {
                let allow = vec![("Allow", msg::ALLOW.to_string())];
                ctx.reply(tx, msg.as_bytes(), source, 501, "Not Implemented", allow);
                State::Connected(self)
            }
        }
    }

    /// Relays INFO, OPTIONS, MESSAGE or NOTIFY to the other party.
    fn relay(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        tx: TxId,
        msg: &Message<'_>,
        source: std::net::SocketAddr,
    ) -> State {
        let Some(method) = msg.method() else {
            return State::Connected(self);
        };
        let ua = ctx.config.user_agent.clone();
        let branch = ctx.branch();
        let y = self.dialog_mut(leg.other());
        let via = msg::via(&y.flow, ctx.config.advertise_ip, &branch);
        let dest = y.dest();
        let content_type = msg.header("Content-Type");
        let mut spec = y.request(method, via, None, &ua);
        for name in [
            "Info-Package",
            "Recv-Info",
            "Event",
            "Subscription-State",
            "Content-Disposition",
        ] {
            for v in msg.headers(name) {
                spec.headers.push((name, v.into_owned()));
            }
        }
        if let (Some(ct), false) = (content_type.as_deref(), msg.body().is_empty()) {
            spec.body = Some((ct, msg.body().to_vec()));
            if method == Method::Info {
                ctx.action(Action::Event(CallEvent::Info {
                    call: d.id,
                    leg,
                    content_type: ct.to_string(),
                    body: msg.body().to_vec(),
                }));
            }
        }
        let bytes = spec.to_bytes();
        let relay = Relay {
            from: leg,
            server: tx,
            request: Bytes::copy_from_slice(msg.as_bytes()),
            source,
            offer: false,
            sent_invite: false,
            got_invite: false,
        };
        if let Some(sent) = ctx.send_request(d.id, Purpose::Relay(relay), dest, bytes) {
            self.in_flight.push(sent);
        } else {
            ctx.reply(
                tx,
                msg.as_bytes(),
                source,
                500,
                "Server Internal Error",
                Vec::new(),
            );
        }
        State::Connected(self)
    }

    /// A response to one of our requests.
    pub(crate) fn on_response(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        answer: Answer<'_, '_>,
    ) -> State {
        match purpose {
            Purpose::Branch(idx) => {
                let winner = (self.winner, self.b.remote_tag.clone());
                if late_response(
                    d,
                    ctx,
                    &mut self.branches,
                    idx,
                    &answer,
                    Some((winner.0, &winner.1)),
                ) {
                    ctx.transmit(self.b.dest(), self.b_ack.clone());
                }
                State::Connected(self)
            }
            Purpose::Relay(relay) => {
                if answer.status >= 200 {
                    self.in_flight.retain(|t| *t != answer.tx);
                }
                self.relayed(d, ctx, relay, answer)
            }
            Purpose::Refresh(leg) => {
                if answer.status >= 200 {
                    self.in_flight.retain(|t| *t != answer.tx);
                }
                self.refreshed(d, ctx, leg, answer)
            }
            Purpose::Fire => State::Connected(self),
        }
    }

    pub(crate) fn on_timer(
        self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        timer: CallTimer,
    ) -> State {
        let system = |s: Box<Self>, d: &mut CallData, ctx: &mut Ctx<'_>, cause: &str| {
            s.hang_up(
                d,
                ctx,
                Disposition::Answered,
                cause.to_string(),
                HangupSide::System,
            )
        };
        match timer {
            CallTimer::MaxDuration => system(self, d, ctx, "maximum duration"),
            CallTimer::AckWaitA | CallTimer::AckWaitB => system(self, d, ctx, "no ACK"),
            CallTimer::ExpireA | CallTimer::ExpireB => system(self, d, ctx, "session expired"),
            CallTimer::RefreshA => self.refresh(d, ctx, Leg::A),
            CallTimer::RefreshB => self.refresh(d, ctx, Leg::B),
            CallTimer::Reliable1xx => {
                if d.a.resend_reliable(ctx, &mut d.timers) {
                    if let Some(ok) = d.a.release(ctx, &mut d.timers) {
                        let reply = d.a.reply;
                        d.start_resend(ctx, Leg::A, ok, reply);
                    }
                }
                State::Connected(self)
            }
            _ => State::Connected(self),
        }
    }
}
