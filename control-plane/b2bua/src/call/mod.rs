//! One call: the caller's leg, the callee's forks and dialogs, and the state machine that
//! ties them together.
//!
//! ```text
//! Authorizing ──▶ Locating ──▶ OpeningMedia ──▶ Ringing ──2xx──▶ Connected
//!      │              │              │             │                 │
//!      └──(reject)────┴───(CANCEL, 4xx, failure)───┴──────(BYE...)───┴──▶ Ending ──▶ gone
//! ```
//!
//! Every state is a struct; a transition consumes it and returns the next [`State`].

mod answer;
mod branch;
mod connected;
mod ending;
mod forward;
mod offer;
mod refresh;
mod ringing;
mod setup;
mod uas;
mod voicemail;

use std::time::Instant;

use bytes::Bytes;
use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

pub(crate) use branch::Branch;
pub(crate) use connected::Connected;
pub(crate) use ending::Ending;
pub(crate) use ringing::Ringing;
pub(crate) use uas::{Uas, UasInit};
pub(crate) use voicemail::Voicemail;

use crate::ctx::{Ctx, Purpose};
use crate::dialog::Dialog;
use crate::ids::{CallId, Dest, Leg};
use crate::io::{
    Action, AuthVerdict, CallEvent, CallInfo, CallPhase, CallRecord, Disposition, ForwardRules,
    HangupSide, LegInfo, Location, MediaAddrs, Party,
};
use crate::msg;
use crate::sdp::{LocalSdp, Sdp};
use crate::timers::{CallTimer, TimerTable};

/// The B2BUA's identity on the callee's leg (shared by every fork).
#[derive(Debug)]
pub(crate) struct BLeg {
    pub(crate) call_id: String,
    pub(crate) from_tag: String,
    /// Our From value, with our tag.
    pub(crate) from: String,
    /// The To value, without tag.
    pub(crate) to: String,
    /// CSeq of the INVITE.
    pub(crate) cseq: u32,
    /// The offer sent to the callee.
    pub(crate) offer: Sdp,
    /// The descriptions we send the callee.
    pub(crate) sdp: LocalSdp,
}

/// What every state of a call shares.
#[derive(Debug)]
pub(crate) struct CallData {
    pub(crate) id: CallId,
    pub(crate) started: Instant,
    pub(crate) a: Uas,
    /// Calling extension (From user).
    pub(crate) caller: String,
    /// Dialled number (Request-URI user).
    pub(crate) callee: String,
    pub(crate) caller_party: Option<Party>,
    pub(crate) callee_party: Option<Party>,
    pub(crate) media: Option<MediaAddrs>,
    pub(crate) media_requested: bool,
    pub(crate) b: Option<BLeg>,
    pub(crate) timers: TimerTable,
    pub(crate) answered: Option<Instant>,
    pub(crate) codec: Option<String>,
    /// Counts towards the concurrent-call limits.
    pub(crate) counted: bool,
    pub(crate) ringing_reported: bool,
    /// The caller's endpoint was pointed at the caller for early media.
    pub(crate) early_media: bool,
    /// The legs share no codec: the media plane transcodes, and mid-call offers are
    /// negotiated the same way.
    pub(crate) transcoded: bool,
    /// Our 2xx to an INVITE of each leg, re-sent until ACKed.
    pub(crate) resend_a: Option<uas::Resend>,
    pub(crate) resend_b: Option<uas::Resend>,
    /// The callee's busy and no-answer forwarding, until one of them is used.
    pub(crate) forward: ForwardRules,
    /// Set once the call was retargeted, e.g. `forwarded on busy to 1003`; noted in the
    /// record's hangup cause.
    pub(crate) forwarded: Option<String>,
}

impl CallData {
    pub(crate) fn resend_slot(&mut self, leg: Leg) -> &mut Option<uas::Resend> {
        match leg {
            Leg::A => &mut self.resend_a,
            Leg::B => &mut self.resend_b,
        }
    }

    /// Starts re-sending a 2xx on `leg` until the ACK (RFC 3261 §13.3.1.4).
    pub(crate) fn start_resend(&mut self, ctx: &Ctx<'_>, leg: Leg, bytes: Bytes, dest: Dest) {
        let t1 = ctx.config.txn.t1;
        *self.resend_slot(leg) = Some(uas::Resend {
            bytes,
            dest,
            interval: t1,
        });
        self.timers.arm(CallTimer::resend_2xx(leg), ctx.now + t1);
        self.timers
            .arm(CallTimer::ack_wait(leg), ctx.now + t1.saturating_mul(64));
    }

    /// The ACK arrived.
    pub(crate) fn stop_resend(&mut self, leg: Leg) {
        *self.resend_slot(leg) = None;
        self.timers.stop(CallTimer::resend_2xx(leg));
        self.timers.stop(CallTimer::ack_wait(leg));
    }

    fn resend(&mut self, ctx: &mut Ctx<'_>, leg: Leg) {
        let t2 = ctx.config.txn.t2;
        let now = ctx.now;
        let Some(r) = self.resend_slot(leg).as_mut() else {
            return;
        };
        r.interval = r.interval.saturating_mul(2).min(t2);
        let (bytes, dest, next) = (r.bytes.clone(), r.dest, now + r.interval);
        ctx.transmit(dest, bytes);
        self.timers.arm(CallTimer::resend_2xx(leg), next);
    }

    /// The media endpoint facing `leg`.
    pub(crate) fn endpoint(&self, leg: Leg) -> Option<std::net::SocketAddr> {
        self.media.map(|m| match leg {
            Leg::A => m.a,
            Leg::B => m.b,
        })
    }

    /// Ends the call: stops its timers, reports it and hands the record over.
    pub(crate) fn finish(
        &mut self,
        ctx: &mut Ctx<'_>,
        disposition: Disposition,
        cause: impl Into<String>,
        side: Option<HangupSide>,
    ) {
        let mut cause = cause.into();
        if let Some(note) = &self.forwarded {
            cause = format!("{cause} ({note})");
        }
        self.timers.stop_all();
        self.resend_a = None;
        self.resend_b = None;
        self.timers
            .arm(CallTimer::Linger, ctx.now + ctx.config.linger);
        self.counted = false;
        tracing::debug!(call = %self.id, disposition = disposition.as_str(), %cause, "call ended");
        ctx.action(Action::Event(CallEvent::Ended {
            call: self.id,
            disposition,
            cause: cause.clone(),
            side,
        }));
        ctx.action(Action::Finished {
            call: self.id,
            record: CallRecord {
                call_id: self.a.call_id.clone(),
                caller: self.caller.clone(),
                callee: self.callee.clone(),
                started_at: self.started,
                answered_at: self.answered,
                ended_at: ctx.now,
                disposition,
                hangup_cause: cause,
                hangup_side: side,
                codec: self.codec.clone(),
            },
        });
    }

    /// Ends a call that never reached the callee: answers the caller and moves to Ending.
    pub(crate) fn fail(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: u16,
        reason: &str,
        disposition: Disposition,
    ) -> State {
        self.a.reject(ctx, status, reason, Vec::new());
        self.finish(
            ctx,
            disposition,
            format!("{status} {reason}"),
            Some(HangupSide::System),
        );
        State::Ending(Ending::default())
    }
}

impl State {
    /// The callee's forks, in the states that have them.
    fn branches(&self) -> Option<&[Branch]> {
        match self {
            State::Ringing(r) => Some(&r.branches),
            State::Connected(c) => Some(c.branches()),
            State::Ending(e) => Some(e.branches()),
            State::Voicemail(v) => Some(&v.branches),
            _ => None,
        }
    }

    /// The caller's dialog, once there is one.
    fn a_dialog_mut(&mut self) -> Option<&mut Dialog> {
        match self {
            State::Connected(c) => Some(&mut c.a),
            State::Voicemail(v) => Some(&mut v.a),
            _ => None,
        }
    }

    fn branches_mut(&mut self) -> Option<&mut [Branch]> {
        match self {
            State::Ringing(r) => Some(&mut r.branches),
            State::Connected(c) => Some(c.branches_mut()),
            State::Ending(e) => Some(e.branches_mut()),
            State::Voicemail(v) => Some(&mut v.branches),
            _ => None,
        }
    }
}

/// The states of a call.
#[derive(Debug)]
pub(crate) enum State {
    /// Waiting for the glue to check the caller's credentials.
    Authorizing,
    /// Waiting for the glue to find the callee.
    Locating,
    /// Waiting for the media plane's endpoints.
    OpeningMedia(setup::OpeningMedia),
    /// Calling the callee's contacts.
    Ringing(Ringing),
    /// Answered.
    Connected(Box<Connected>),
    /// Answered by the callee's voicemail.
    Voicemail(Box<Voicemail>),
    /// Over; absorbing late messages.
    Ending(Ending),
    /// Forgotten: remove it.
    Gone,
}

/// A call.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) data: CallData,
    pub(crate) state: State,
}

/// A response to one of our requests: the message, or `None` for a timeout or transport
/// error turned into `status`.
pub(crate) struct Answer<'m, 'a> {
    pub(crate) status: u16,
    pub(crate) reason: &'m str,
    pub(crate) msg: Option<&'m Message<'a>>,
    /// The client transaction answered.
    pub(crate) tx: TxId,
}

impl Call {
    /// A new call, waiting for authentication.
    pub(crate) fn new(id: CallId, now: Instant, a: Uas, caller: String, callee: String) -> Self {
        Call {
            data: CallData {
                id,
                started: now,
                a,
                caller,
                callee,
                caller_party: None,
                callee_party: None,
                media: None,
                media_requested: false,
                b: None,
                timers: TimerTable::default(),
                answered: None,
                codec: None,
                counted: false,
                ringing_reported: false,
                early_media: false,
                transcoded: false,
                resend_a: None,
                resend_b: None,
                forward: ForwardRules::default(),
                forwarded: None,
            },
            state: State::Authorizing,
        }
    }

    fn step(mut self, f: impl FnOnce(State, &mut CallData) -> State) -> Self {
        self.state = f(self.state, &mut self.data);
        match self.state.branches().and_then(branch::next_give_up) {
            Some(at) => self.data.timers.arm(CallTimer::CancelGiveUp, at),
            None => self.data.timers.stop(CallTimer::CancelGiveUp),
        }
        self
    }

    /// The glue checked the caller.
    pub(crate) fn on_authenticated(self, ctx: &mut Ctx<'_>, verdict: AuthVerdict) -> Self {
        self.step(|state, d| match state {
            State::Authorizing => setup::authenticated(d, ctx, verdict),
            other => other,
        })
    }

    /// The glue found (or not) the callee, or the target of its forwarding.
    pub(crate) fn on_located(
        self,
        ctx: &mut Ctx<'_>,
        location: Location,
        busy: CallLimits,
    ) -> Self {
        self.step(|state, d| match state {
            State::Locating => setup::located(d, ctx, location, busy),
            State::Ringing(s) => s.located(d, ctx, location, busy),
            other => other,
        })
    }

    /// True while the call waits for a location: the callee's, or its forwarding target's.
    pub(crate) fn is_locating(&self) -> bool {
        match &self.state {
            State::Locating => true,
            State::Ringing(r) => r.is_locating(),
            _ => false,
        }
    }

    /// The media plane opened (or failed to open) the endpoints.
    pub(crate) fn on_media_opened(self, ctx: &mut Ctx<'_>, media: Option<MediaAddrs>) -> Self {
        self.step(|state, d| match state {
            State::OpeningMedia(s) => s.opened(d, ctx, media),
            other => other,
        })
    }

    /// The caller cancelled its INVITE.
    pub(crate) fn on_cancel(self, ctx: &mut Ctx<'_>) -> Self {
        self.step(|state, d| match state {
            State::Authorizing | State::Locating | State::OpeningMedia(_) => {
                d.a.reject(ctx, 487, "Request Terminated", Vec::new());
                d.finish(
                    ctx,
                    Disposition::Cancelled,
                    "CANCEL",
                    Some(HangupSide::Caller),
                );
                State::Ending(Ending::default())
            }
            State::Ringing(s) => s.cancelled(d, ctx),
            other => other,
        })
    }

    /// A request inside one of the call's dialogs (not ACK, not CANCEL).
    pub(crate) fn on_request(
        self,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        tx: TxId,
        msg: &Message<'_>,
        reply: Dest,
    ) -> Self {
        self.step(|state, d| match state {
            State::Connected(s) => s.on_request(d, ctx, leg, tx, msg, reply),
            State::Ringing(s) => s.on_request(d, ctx, leg, tx, msg, reply),
            State::Voicemail(s) => s.on_request(d, ctx, leg, tx, msg, reply),
            State::Ending(s) => s.on_request(ctx, tx, msg, reply),
            other => early_request(other, d, ctx, tx, msg),
        })
    }

    /// An ACK inside one of the call's dialogs. After a delayed offer the caller's ACK
    /// carries its answer to our 2xx: the caller's media is pointed at, or the call ends
    /// when the ACK has no usable answer.
    pub(crate) fn on_ack(self, ctx: &mut Ctx<'_>, leg: Leg, msg: &Message<'_>) -> Self {
        let mut refused = None;
        let call = self.step(|mut state, d| {
            if !matches!(state, State::Connected(_) | State::Voicemail(_)) {
                return state;
            }
            d.stop_resend(leg);
            if leg == Leg::A && d.a.delayed_offer {
                d.a.delayed_offer = false;
                match delayed_answer(d, msg) {
                    Ok((answer, pm)) => {
                        ctx.action(Action::Media {
                            call: d.id,
                            leg: Leg::A,
                            remote: pm.remote,
                            direction: pm.endpoint_direction(),
                        });
                        if let Some(a) = state.a_dialog_mut() {
                            a.remote_sdp = Some(answer);
                            a.media = Some(pm);
                        }
                    }
                    Err(cause) => refused = Some(cause),
                }
            }
            state
        });
        match refused {
            Some(cause) => call.hang_up(ctx, cause),
            None => call,
        }
    }

    /// A response to one of the call's requests.
    pub(crate) fn on_response(
        self,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        answer: Answer<'_, '_>,
    ) -> Self {
        self.step(|state, d| match state {
            State::Ringing(s) => s.on_response(d, ctx, purpose, answer),
            State::Connected(s) => s.on_response(d, ctx, purpose, answer),
            State::Voicemail(s) => s.on_response(d, ctx, purpose, answer),
            State::Ending(s) => s.on_response(d, ctx, purpose, answer),
            other => other,
        })
    }

    /// A timer of the call fired.
    pub(crate) fn on_timer(self, ctx: &mut Ctx<'_>, timer: CallTimer) -> Self {
        self.step(|mut state, d| {
            match timer {
                CallTimer::Linger => {
                    // Nothing more will be done for this call: end its forks' INVITEs.
                    if let Some(branches) = state.branches_mut() {
                        branch::give_up(branches, ctx, true);
                    }
                    return State::Gone;
                }
                CallTimer::CancelGiveUp => {
                    if let Some(branches) = state.branches_mut() {
                        branch::give_up(branches, ctx, false);
                    }
                    return state;
                }
                CallTimer::Resend2xxA => {
                    d.resend(ctx, Leg::A);
                    return state;
                }
                CallTimer::Resend2xxB => {
                    d.resend(ctx, Leg::B);
                    return state;
                }
                _ => {}
            }
            match state {
                State::Ringing(s) => s.on_timer(d, ctx, timer),
                State::Connected(s) => s.on_timer(d, ctx, timer),
                State::Voicemail(s) => s.on_timer(d, ctx, timer),
                other => other,
            }
        })
    }

    /// The media plane saw no RTP from the party on `leg` for too long.
    pub(crate) fn on_rtp_timeout(self, ctx: &mut Ctx<'_>, leg: Leg) -> Self {
        self.step(|state, d| match state {
            State::Connected(s) => {
                let cause = format!("RTP timeout ({})", leg.as_str());
                s.hang_up(d, ctx, Disposition::Answered, cause, HangupSide::System)
            }
            State::Voicemail(s) => s.hang_up(d, ctx, &format!("RTP timeout ({})", leg.as_str())),
            other => other,
        })
    }

    /// The caller ended its voicemail message with a key press.
    pub(crate) fn end_voicemail(self, ctx: &mut Ctx<'_>) -> Self {
        self.step(|state, d| match state {
            State::Voicemail(s) => s.hang_up(d, ctx, "message ended by key press"),
            other => other,
        })
    }

    /// The glue started recording the voicemail message.
    pub(crate) fn on_voicemail_recording(self, ctx: &mut Ctx<'_>) -> Self {
        self.step(|state, d| match state {
            State::Voicemail(s) => s.recording(d, ctx),
            other => other,
        })
    }

    /// Ends the call from the PBX side (an administrator, shutdown).
    pub(crate) fn hang_up(self, ctx: &mut Ctx<'_>, cause: &str) -> Self {
        self.step(|state, d| match state {
            State::Authorizing | State::Locating | State::OpeningMedia(_) => {
                d.fail(ctx, 503, "Service Unavailable", Disposition::Failed)
            }
            State::Ringing(s) => s.abort(d, ctx, cause),
            State::Connected(s) => s.hang_up(
                d,
                ctx,
                Disposition::Answered,
                cause.to_string(),
                HangupSide::System,
            ),
            State::Voicemail(s) => s.hang_up(d, ctx, cause),
            other => other,
        })
    }

    /// True once the call is to be removed.
    pub(crate) fn is_gone(&self) -> bool {
        matches!(self.state, State::Gone)
    }

    /// True while the call is live (not ending).
    pub(crate) fn is_live(&self) -> bool {
        !matches!(self.state, State::Ending(_) | State::Gone)
    }

    /// Whether the call involves extension `number` and counts towards its limit.
    pub(crate) fn occupies(&self, number: &str) -> bool {
        self.data.counted
            && (self.data.caller == number
                || self
                    .data
                    .callee_party
                    .as_ref()
                    .is_some_and(|p| p.number == number))
    }

    /// A snapshot for listings.
    pub(crate) fn info(&self) -> CallInfo {
        let d = &self.data;
        let phase = match &self.state {
            State::Authorizing | State::Locating | State::OpeningMedia(_) => CallPhase::Setup,
            State::Ringing(_) => CallPhase::Ringing,
            State::Connected(c) if c.is_held() => CallPhase::Held,
            State::Connected(_) | State::Voicemail(_) => CallPhase::Answered,
            State::Ending(_) | State::Gone => CallPhase::Ending,
        };
        let mut legs = vec![LegInfo {
            leg: Leg::A,
            call_id: d.a.call_id.clone(),
            party: d.caller.clone(),
            remote: Some(d.a.flow.peer),
        }];
        if let Some(b) = &d.b {
            let remote = match &self.state {
                State::Connected(c) => Some(c.b.flow.peer),
                State::Ringing(r) => r.current().first().map(|br| br.target.flow.peer),
                _ => None,
            };
            legs.push(LegInfo {
                leg: Leg::B,
                call_id: b.call_id.clone(),
                party: d.callee.clone(),
                remote,
            });
        }
        CallInfo {
            id: d.id,
            caller: d.caller.clone(),
            callee: d.callee.clone(),
            phase,
            started_at: d.started,
            answered_at: d.answered,
            codec: d.codec.clone(),
            legs,
        }
    }
}

/// Concurrent calls of the two parties, counted by the B2BUA before routing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallLimits {
    pub(crate) caller_calls: usize,
    pub(crate) callee_calls: usize,
}

/// A request in the caller's early dialog before the callee is called: BYE ends the call
/// like CANCEL; anything else is refused until the call is set up.
fn early_request(
    state: State,
    d: &mut CallData,
    ctx: &mut Ctx<'_>,
    tx: TxId,
    msg: &Message<'_>,
) -> State {
    if msg.method() == Some(Method::Bye) {
        ctx.reply(tx, msg.as_bytes(), d.a.source, 200, "OK", Vec::new());
        d.a.reject(ctx, 487, "Request Terminated", Vec::new());
        d.finish(ctx, Disposition::Cancelled, "BYE", Some(HangupSide::Caller));
        return State::Ending(Ending::default());
    }
    ctx.reply(
        tx,
        msg.as_bytes(),
        d.a.source,
        491,
        "Request Pending",
        Vec::new(),
    );
    state
}

/// Sends BYE in a dialog.
pub(crate) fn send_bye(call: CallId, dialog: &mut Dialog, ctx: &mut Ctx<'_>) {
    let branch = ctx.branch();
    let via = ctx.via(&dialog.flow, &branch);
    let ua = ctx.config.user_agent.clone();
    let dest = dialog.dest();
    let bytes = dialog.request(Method::Bye, via, None, &ua).to_bytes();
    ctx.send_request(call, Purpose::Fire, dest, bytes);
}

/// Sends the ACK for a 2xx in a dialog; returns it for re-sending.
pub(crate) fn send_ack(dialog: &mut Dialog, ctx: &mut Ctx<'_>, cseq: u32) -> Bytes {
    let branch = ctx.branch();
    let via = ctx.via(&dialog.flow, &branch);
    let ua = ctx.config.user_agent.clone();
    let dest = dialog.dest();
    let bytes = dialog.request(Method::Ack, via, Some(cseq), &ua).to_bytes();
    ctx.transmit(dest, bytes.clone());
    bytes
}

/// The disposition of a call whose callee answered `status` (or timed out).
pub(crate) fn disposition_of(status: u16, generated: bool) -> Disposition {
    match status {
        486 | 600 | 603 => Disposition::Busy,
        480 | 487 if !generated => Disposition::NoAnswer,
        _ => Disposition::Failed,
    }
}

/// Reads a header value list of a message as owned strings.
pub(crate) fn values(msg: &Message<'_>, name: &str) -> Vec<String> {
    msg.header_values(name).map(|v| v.into_owned()).collect()
}

/// Our Contact towards a flow, for a given user.
pub(crate) fn our_contact(ctx: &Ctx<'_>, user: &str, flow: &crate::ids::Flow) -> String {
    msg::contact(user, flow, ctx.config.advertise_ip)
}

/// The caller's answer in its ACK to our 2xx's offer (delayed offer), with the media it
/// asks for; `Err` names why the call cannot go on.
fn delayed_answer(
    d: &CallData,
    msg: &Message<'_>,
) -> Result<(Sdp, crate::sdp::PartyMedia), &'static str> {
    let answer = match crate::sdp::from_body(msg.content_type(), msg.body()) {
        Ok(Some(s)) => s,
        Ok(None) => return Err("no SDP answer in the caller's ACK"),
        Err(_) => return Err("unusable SDP answer in the caller's ACK"),
    };
    let offered = d.a.sdp.last().ok_or("no offer was sent to the caller")?;
    crate::sdp::intersect(offered, &answer)
        .map_err(|_| "the caller's answer accepts no offered codec")?;
    let pm = crate::sdp::party_media(&answer).ok_or("no audio in the caller's answer")?;
    Ok((answer, pm))
}
