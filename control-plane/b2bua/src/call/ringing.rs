//! Calling the callee: one INVITE per registered contact (parallel fork), provisional
//! responses and early media relayed to the caller, the first 2xx wins, the best final
//! response when every fork fails (RFC 3261 §16.7), CANCEL and the ring timer.

use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose};
use crate::ids::{Dest, Leg};
use crate::io::{Action, CallEvent, Disposition, HangupSide, MediaAddrs, Target};
use crate::msg::{self, RequestSpec};
use crate::sdp::{self, LocalSdp};
use crate::timers::CallTimer;
use crate::transcode::{self, Negotiated};

use super::answer;
use super::branch::{
    cancel_all, cancel_branch, late_response, send_prack, Branch, BranchState, CancelState,
};
use super::forward::Why;
use super::voicemail;
use super::{disposition_of, our_contact, Answer, BLeg, CallData, Ending, State};

/// The best final response so far.
#[derive(Debug)]
pub(super) struct Best {
    pub(super) status: u16,
    pub(super) reason: String,
    /// Made up by us (timeout, transport error) rather than sent by the callee.
    pub(super) generated: bool,
}

impl Best {
    pub(super) fn rank(&self) -> (u16, bool) {
        (self.status / 100, self.generated)
    }
}

/// Calling the callee's contacts.
#[derive(Debug)]
pub(crate) struct Ringing {
    /// Every fork of the call; those before `first` were retired by a retarget (module
    /// `forward`) and only absorb late responses.
    pub(crate) branches: Vec<Branch>,
    pub(super) best: Option<Best>,
    /// The first fork of the current target.
    pub(super) first: usize,
    /// Waiting for the location of the forwarding target.
    pub(super) locating: Option<Why>,
}

fn quoted(display: &str) -> String {
    let mut s = String::with_capacity(display.len() + 2);
    s.push('"');
    for c in display.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        if !c.is_control() {
            s.push(c);
        }
    }
    s.push('"');
    s
}

/// Builds the callee's leg and sends an INVITE to every contact.
pub(crate) fn start(
    d: &mut CallData,
    ctx: &mut Ctx<'_>,
    targets: Vec<Target>,
    media: MediaAddrs,
) -> State {
    let call_id = format!("{}@warden", ctx.token(12));
    let from_tag = ctx.token(8);
    let domain = ctx.config.domain.clone();
    let display = d
        .caller_party
        .as_ref()
        .map(|p| p.display_name.clone())
        .filter(|n| !n.is_empty())
        .map(|n| format!("{} ", quoted(&n)))
        .unwrap_or_default();
    let from = format!("{display}<sip:{}@{domain}>;tag={from_tag}", d.caller);
    let to = format!("<sip:{}@{domain}>", d.callee);
    let mut local = LocalSdp::new(rand::Rng::gen::<u32>(ctx.rng).into());
    let direction = sdp::party_media(&d.a.offer)
        .map(|p| p.direction)
        .unwrap_or(warden_sip_proto::sdp::Direction::SendRecv);
    let offer = if ctx.config.transcoding {
        local.anchor(&transcode::extend_offer(&d.a.offer), media.b, direction)
    } else {
        local.anchor(&d.a.offer, media.b, direction)
    };
    ctx.index
        .dialogs
        .insert((call_id.clone(), from_tag.clone()), (d.id, Leg::B));
    d.b = Some(BLeg {
        call_id,
        from_tag,
        from,
        to,
        cseq: 1,
        offer,
        sdp: local,
    });
    let branches = invite(d, ctx, targets, 0);
    d.timers
        .arm(CallTimer::Ring, ctx.now + ctx.config.ring_timeout);
    let no_answer = match (&d.forward.on_no_answer, &d.forward.voicemail) {
        (Some((_, after)), _) => Some(*after),
        (None, Some(vm)) => Some(vm.no_answer),
        (None, None) => None,
    };
    if let Some(after) = no_answer {
        if after < ctx.config.ring_timeout {
            d.timers.arm(CallTimer::ForwardNoAnswer, ctx.now + after);
        }
    }
    let ringing = Ringing {
        branches,
        best: None,
        first: 0,
        locating: None,
    };
    if ringing.branches.iter().any(Branch::open) {
        State::Ringing(ringing)
    } else {
        ringing.fail_all(d, ctx, 503, "Service Unavailable")
    }
}

/// Sends the INVITE of the callee's leg to every target; the forks are numbered from
/// `base` (their index in the call's list of forks).
pub(super) fn invite(
    d: &CallData,
    ctx: &mut Ctx<'_>,
    targets: Vec<Target>,
    base: usize,
) -> Vec<Branch> {
    let Some(b) = d.b.as_ref() else {
        return Vec::new();
    };
    let max_forwards = d.a.max_forwards.saturating_sub(1).min(70);
    let mut supported = "timer".to_string();
    if d.a.rel100 != super::uas::Rel100::No {
        supported.push_str(", 100rel");
    }
    let session = ctx.config.session_secs();
    let body = msg::sdp_body(&b.offer);
    let mut branches = Vec::with_capacity(targets.len());
    for (i, target) in targets.into_iter().enumerate() {
        let branch = ctx.branch();
        let via = ctx.via(&target.flow, &branch);
        let contact = our_contact(ctx, &d.caller, &target.flow);
        let mut headers = vec![
            ("Allow", msg::ALLOW.to_string()),
            ("Supported", supported.clone()),
        ];
        if session > 0 {
            headers.push(("Session-Expires", session.to_string()));
            headers.push(("Min-SE", ctx.config.min_se_secs().to_string()));
        }
        let spec = RequestSpec {
            method: Method::Invite,
            uri: &target.uri,
            via: via.clone(),
            max_forwards,
            from: &b.from,
            to: &b.to,
            call_id: &b.call_id,
            cseq: b.cseq,
            routes: &[],
            contact: Some(&contact),
            headers,
            user_agent: &ctx.config.user_agent,
            body: Some(body.clone()),
        };
        let bytes = spec.to_bytes();
        let dest = Dest::peer_of(target.flow);
        let tx = ctx.send_request(d.id, Purpose::Branch(base + i), dest, bytes);
        branches.push(Branch {
            target,
            via,
            tx,
            give_up: None,
            state: if tx.is_some() {
                BranchState::Calling
            } else {
                BranchState::Failed(503)
            },
            cancel: CancelState::No,
            last_rseq: None,
            next_cseq: b.cseq,
            early_sdp: None,
        });
    }
    branches
}

impl Ringing {
    /// A response on a fork (or a timeout of one).
    pub(crate) fn on_response(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        answer: Answer<'_, '_>,
    ) -> State {
        let Purpose::Branch(idx) = purpose else {
            return State::Ringing(self);
        };
        if self.branches.get(idx).is_none() {
            return State::Ringing(self);
        }
        if idx < self.first {
            // A retired fork: a late 2xx is ACKed and hung up, nothing reaches the caller.
            let _ = late_response(d, ctx, &mut self.branches, idx, &answer, None);
            return State::Ringing(self);
        }
        match answer.status {
            100 => {
                let _ = late_response(d, ctx, &mut self.branches, idx, &answer, None);
                State::Ringing(self)
            }
            101..=199 => {
                self.provisional(d, ctx, idx, &answer);
                State::Ringing(self)
            }
            200..=299 => match answer.msg {
                Some(msg) => answer::answered(d, ctx, self.branches, idx, msg),
                None => State::Ringing(self),
            },
            status => {
                let generated = answer.msg.is_none();
                self.failed(d, ctx, idx, status, answer.reason, generated)
            }
        }
    }

    fn provisional(
        &mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        idx: usize,
        answer: &Answer<'_, '_>,
    ) {
        let Some(msg) = answer.msg else {
            return;
        };
        let Some(branch) = self.branches.get_mut(idx) else {
            return;
        };
        if branch.state == BranchState::Calling {
            branch.state = BranchState::Proceeding;
        }
        if branch.cancel == CancelState::Pending {
            if let Some(b) = d.b.as_ref() {
                cancel_branch(d.id, b, branch, ctx);
            }
            return;
        }
        if branch.cancel == CancelState::Sent {
            return;
        }
        let reliable = msg::lists(msg, "Require", "100rel");
        if reliable {
            let Some(rseq) = msg::rseq(msg) else {
                return;
            };
            if branch.last_rseq.is_some_and(|last| rseq <= last) {
                return; // a retransmission: our PRACK transaction handles it
            }
            branch.last_rseq = Some(rseq);
            if let Some(b) = d.b.as_ref() {
                send_prack(d.id, b, branch, msg, rseq, ctx, &d.caller);
            }
        }
        let early = match sdp::from_body(msg.content_type(), msg.body()) {
            Ok(Some(s)) if ctx.config.transcoding => transcode::negotiate(&d.a.offer, &s).ok(),
            Ok(Some(s)) => sdp::intersect(&d.a.offer, &s)
                .ok()
                .map(|a| Negotiated::Relay(Box::new(a))),
            _ => None,
        };
        // Early media without a common codec is transcoded like the answer will be.
        let (early, plan) = match early {
            Some(Negotiated::Relay(a)) => (Some(*a), None),
            Some(Negotiated::Transcode(p)) => (Some(p.b_answer.clone()), Some(p)),
            None => (None, None),
        };
        let mut a_sdp = None;
        if let (Some(answer_sdp), Some(media)) = (early, d.media) {
            if let Some(pm) = sdp::party_media(&answer_sdp) {
                ctx.action(Action::Media {
                    call: d.id,
                    leg: Leg::B,
                    remote: pm.remote,
                    direction: pm.endpoint_direction(),
                });
                // A caller that made no offer gets no early media: our offer is in the 2xx.
                if !d.early_media && !d.a.delayed_offer {
                    d.early_media = true;
                    if let Some(a) = d.a.offered_media() {
                        ctx.action(Action::Media {
                            call: d.id,
                            leg: Leg::A,
                            remote: a.remote,
                            direction: a.endpoint_direction(),
                        });
                    }
                }
                if let Some(p) = &plan {
                    ctx.action(Action::Transcode {
                        call: d.id,
                        a: p.a,
                        b: p.b,
                    });
                }
                if !d.a.delayed_offer {
                    let a_src = plan.as_ref().map_or(&answer_sdp, |p| &p.a_answer);
                    a_sdp = Some(d.a.sdp.anchor(a_src, media.a, pm.direction));
                }
            }
            d.codec = match &plan {
                Some(p) => Some(p.label()),
                None => sdp::codec(&answer_sdp),
            };
            branch.early_sdp = Some(answer_sdp);
        }
        let status = answer.status;
        let reliable_a = d.a.wants_reliable(reliable);
        d.a.provisional(
            ctx,
            &mut d.timers,
            status,
            answer.reason,
            a_sdp.as_ref(),
            reliable_a,
        );
        if !d.ringing_reported {
            d.ringing_reported = true;
            ctx.action(Action::Event(CallEvent::Ringing { call: d.id }));
        }
    }

    fn failed(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        idx: usize,
        status: u16,
        reason: &str,
        generated: bool,
    ) -> State {
        if let Some(branch) = self.branches.get_mut(idx) {
            if !branch.open() {
                return State::Ringing(self);
            }
            branch.state = BranchState::Failed(status);
        }
        let candidate = Best {
            status,
            reason: reason.to_string(),
            generated,
        };
        let global = status >= 600;
        if self
            .best
            .as_ref()
            .is_none_or(|b| global || candidate.rank() < b.rank())
        {
            self.best = Some(candidate);
        }
        if global {
            cancel_all(d, ctx, &mut self.branches, None);
        } else if self.current().iter().any(Branch::open) {
            return State::Ringing(self);
        }
        let busy = self
            .best
            .as_ref()
            .is_some_and(|b| matches!(b.status, 486 | 600));
        if busy {
            if let Some(to) = d.forward.on_busy.take() {
                return self.retarget(d, ctx, to, Why::Busy);
            }
        }
        self.finish_best(d, ctx)
    }

    /// Every fork failed (or a 6xx ended them): answer the caller with the best response.
    pub(super) fn finish_best(mut self, d: &mut CallData, ctx: &mut Ctx<'_>) -> State {
        let best = self.best.take().unwrap_or(Best {
            status: 480,
            reason: "Temporarily Unavailable".to_string(),
            generated: true,
        });
        if matches!(best.status, 408 | 480 | 486 | 600 | 603) && voicemail::possible(d) {
            let why = if matches!(best.status, 486 | 600 | 603) {
                "busy"
            } else {
                "no answer"
            };
            return voicemail::answer(d, ctx, self.branches, why);
        }
        // RFC 3261 §16.7: a 503 is not passed on as such.
        let (status, reason) = match best.status {
            503 => (500, "Server Internal Error"),
            s => (s, best.reason.as_str()),
        };
        d.a.reject(ctx, status, reason, Vec::new());
        let side = (!best.generated).then_some(HangupSide::Callee);
        let cause = format!("{} {}", best.status, best.reason);
        d.finish(
            ctx,
            disposition_of(best.status, best.generated),
            cause,
            side.or(Some(HangupSide::System)),
        );
        State::Ending(Ending::new(self.branches, None))
    }

    fn fail_all(mut self, d: &mut CallData, ctx: &mut Ctx<'_>, status: u16, reason: &str) -> State {
        self.best = Some(Best {
            status,
            reason: reason.to_string(),
            generated: true,
        });
        self.finish_best(d, ctx)
    }

    /// The caller sent CANCEL (or BYE) before an answer.
    pub(crate) fn cancelled(mut self, d: &mut CallData, ctx: &mut Ctx<'_>) -> State {
        self.stop(d, ctx, 487, "Request Terminated");
        d.finish(
            ctx,
            Disposition::Cancelled,
            "CANCEL",
            Some(HangupSide::Caller),
        );
        State::Ending(Ending::new(self.branches, None))
    }

    /// The PBX ends the call before an answer.
    pub(crate) fn abort(mut self, d: &mut CallData, ctx: &mut Ctx<'_>, cause: &str) -> State {
        self.stop(d, ctx, 503, "Service Unavailable");
        d.finish(ctx, Disposition::Failed, cause, Some(HangupSide::System));
        State::Ending(Ending::new(self.branches, None))
    }

    fn stop(&mut self, d: &mut CallData, ctx: &mut Ctx<'_>, status: u16, reason: &str) {
        d.a.reject(ctx, status, reason, Vec::new());
        cancel_all(d, ctx, &mut self.branches, None);
    }

    pub(crate) fn on_timer(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        timer: CallTimer,
    ) -> State {
        match timer {
            CallTimer::Ring if voicemail::possible(d) && self.locating.is_none() => {
                voicemail::answer(d, ctx, self.branches, "no answer")
            }
            CallTimer::Ring => {
                self.stop(d, ctx, 480, "Temporarily Unavailable");
                d.finish(
                    ctx,
                    Disposition::NoAnswer,
                    "ring timeout",
                    Some(HangupSide::System),
                );
                State::Ending(Ending::new(self.branches, None))
            }
            CallTimer::ForwardNoAnswer => self.no_answer(d, ctx),
            CallTimer::Reliable1xx => {
                if d.a.resend_reliable(ctx, &mut d.timers) {
                    let _ = d.a.release(ctx, &mut d.timers);
                }
                State::Ringing(self)
            }
            _ => State::Ringing(self),
        }
    }

    /// A request in an early dialog: PRACK and BYE from the caller.
    pub(crate) fn on_request(
        self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        tx: TxId,
        msg: &Message<'_>,
        reply: Dest,
    ) -> State {
        let source = reply.flow.peer;
        match (leg, msg.method()) {
            (Leg::A, Some(Method::Prack)) => {
                if d.a.take_prack(msg::rack(msg)) {
                    ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                    let _ = d.a.release(ctx, &mut d.timers);
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
                State::Ringing(self)
            }
            (Leg::A, Some(Method::Bye)) => {
                ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                self.cancelled(d, ctx)
            }
            _ => {
                ctx.reply(
                    tx,
                    msg.as_bytes(),
                    source,
                    491,
                    "Request Pending",
                    Vec::new(),
                );
                State::Ringing(self)
            }
        }
    }
}
