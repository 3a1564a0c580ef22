//! Voicemail: a call to an extension with a voicemail box that would fail busy, unanswered
//! or unregistered (and that no forwarding rule retargeted first) is answered by the B2BUA
//! itself. The caller gets a 200 with the media plane's endpoint in G.711 (what the
//! recorder takes), the glue plays the greeting and the beep and records the caller
//! ([`Action::Voicemail`]); the message ends with the caller's BYE, the longest message
//! length (we send BYE) or the glue's hang-up (the caller pressed #). The call record says
//! `answered` with a cause starting `voicemail`.

use warden_sip_proto::sdp::Direction;
use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose};
use crate::dialog::Dialog;
use crate::ids::{Dest, Leg};
use crate::io::{Action, CallEvent, Disposition, HangupSide, VoiceCodec};
use crate::sdp::{audio_index, encoding, Sdp};
use crate::timers::CallTimer;
use crate::transcode::restrict;

use super::answer::a_dialog;
use super::branch::{cancel_all, late_response, Branch};
use super::{send_bye, Answer, CallData, Ending, State};

/// The B2BUA answered for the callee's voicemail.
#[derive(Debug)]
pub(crate) struct Voicemail {
    /// The caller's dialog.
    pub(super) a: Dialog,
    /// The callee's forks, cancelled; absorbing late responses.
    pub(crate) branches: Vec<Branch>,
    /// The longest message.
    max: std::time::Duration,
}

/// The caller's offer cut to one G.711 format (PCMU when offered, which is what the media
/// plane plays before it heard the party, else PCMA) plus `telephone-event/8000`, with that
/// codec; `None` when it offers no G.711.
fn g711_answer(offer: &Sdp) -> Option<(Sdp, VoiceCodec)> {
    let idx = audio_index(offer)?;
    let m = offer.media.get(idx)?;
    let find = |want: &str| {
        m.payload_types().find(|&pt| {
            encoding(m, pt).is_some_and(|(n, c)| n.eq_ignore_ascii_case(want) && c == 8000)
        })
    };
    let (pt, codec) = find("PCMU")
        .map(|pt| (pt, VoiceCodec::Pcmu))
        .or_else(|| find("PCMA").map(|pt| (pt, VoiceCodec::Pcma)))?;
    let mut keep = vec![pt];
    keep.extend(m.payload_types().filter(|&t| {
        encoding(m, t).is_some_and(|(n, c)| n.eq_ignore_ascii_case("telephone-event") && c == 8000)
    }));
    Some((restrict(offer, idx, &keep), codec))
}

/// Whether the call may go to voicemail now: a box, media endpoints and a caller that can
/// speak G.711.
pub(crate) fn possible(d: &CallData) -> bool {
    d.forward.voicemail.is_some()
        && d.media.is_some()
        && !d.a.final_sent
        && g711_answer(&d.a.offer).is_some()
}

/// Answers the caller for the callee's voicemail; `why` is noted in the record. The
/// callee's open forks are cancelled. Call [`possible`] first.
pub(crate) fn answer(
    d: &mut CallData,
    ctx: &mut Ctx<'_>,
    mut branches: Vec<Branch>,
    why: &str,
) -> State {
    let (Some(rule), Some(media), Some((offer, codec))) =
        (d.forward.voicemail.take(), d.media, g711_answer(&d.a.offer))
    else {
        return d.fail(ctx, 500, "Server Internal Error", Disposition::Failed);
    };
    d.forward = Default::default();
    cancel_all(d, ctx, &mut branches, None);
    d.timers.stop(CallTimer::Ring);
    d.timers.stop(CallTimer::ForwardNoAnswer);
    d.forwarded = Some(format!("voicemail on {why}"));
    let mailbox = d
        .callee_party
        .as_ref()
        .map_or_else(|| d.callee.clone(), |p| p.number.clone());
    let a_pm = d.a.offered_media();
    if let Some(pm) = &a_pm {
        ctx.action(Action::Media {
            call: d.id,
            leg: Leg::A,
            remote: pm.remote,
            direction: crate::io::MediaDirection::SendRecv,
        });
    }
    let a_sdp = d.a.sdp.anchor(&offer, media.a, Direction::SendRecv);
    let mut ad = a_dialog(d, ctx);
    ad.media = a_pm;
    if let Some(ok) = d.a.response(ctx, 200, "OK", Vec::new(), Some(&a_sdp)) {
        d.a.final_sent = true;
        if d.a.must_hold_2xx() {
            d.a.held_2xx = Some(ok);
        } else {
            d.a.queued.clear();
            d.a.pending = None;
            d.timers.stop(CallTimer::Reliable1xx);
            ctx.respond(d.a.tx, 200, ok.clone());
            let reply = d.a.reply;
            d.start_resend(ctx, Leg::A, ok, reply);
        }
    }
    d.answered = Some(ctx.now);
    d.codec = Some(codec.name().to_string());
    // Until the glue reports the recording, the message length bounds the greeting too.
    d.timers
        .arm(CallTimer::VoicemailMax, ctx.now + rule.max_message * 2);
    ctx.action(Action::Event(CallEvent::Answered {
        call: d.id,
        codec: d.codec.clone(),
    }));
    tracing::info!(call = %d.id, %mailbox, why, "call answered by voicemail");
    ctx.action(Action::Voicemail {
        call: d.id,
        mailbox,
        caller: d.caller.clone(),
        codec,
    });
    State::Voicemail(Box::new(Voicemail {
        a: ad,
        branches,
        max: rule.max_message,
    }))
}

impl Voicemail {
    /// The glue started recording: the message may last the box's longest length.
    pub(crate) fn recording(self, d: &mut CallData, ctx: &mut Ctx<'_>) -> State {
        d.timers.arm(CallTimer::VoicemailMax, ctx.now + self.max);
        State::Voicemail(Box::new(self))
    }

    /// Ends the message from our side: BYE to the caller.
    pub(crate) fn hang_up(mut self, d: &mut CallData, ctx: &mut Ctx<'_>, cause: &str) -> State {
        send_bye(d.id, &mut self.a, ctx);
        d.finish(
            ctx,
            Disposition::Answered,
            format!("voicemail, {cause}"),
            Some(HangupSide::System),
        );
        State::Ending(Ending::new(self.branches, None))
    }

    pub(crate) fn on_timer(self, d: &mut CallData, ctx: &mut Ctx<'_>, timer: CallTimer) -> State {
        match timer {
            CallTimer::VoicemailMax => self.hang_up(d, ctx, "longest message length"),
            CallTimer::AckWaitA => self.hang_up(d, ctx, "no ACK"),
            _ => State::Voicemail(Box::new(self)),
        }
    }

    /// A request in the caller's dialog: BYE ends the message; INFO (key presses) is
    /// answered and reported; anything else is refused.
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
            (Leg::A, Some(Method::Bye)) => {
                ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                d.finish(
                    ctx,
                    Disposition::Answered,
                    "voicemail, BYE",
                    Some(HangupSide::Caller),
                );
                State::Ending(Ending::new(self.branches, None))
            }
            (Leg::A, Some(Method::Info)) => {
                ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                if let (Some(ct), false) = (msg.header("Content-Type"), msg.body().is_empty()) {
                    ctx.action(Action::Event(CallEvent::Info {
                        call: d.id,
                        leg,
                        content_type: ct.to_string(),
                        body: msg.body().to_vec(),
                    }));
                }
                State::Voicemail(Box::new(self))
            }
            (Leg::A, Some(Method::Options)) => {
                ctx.reply(tx, msg.as_bytes(), source, 200, "OK", Vec::new());
                State::Voicemail(Box::new(self))
            }
            _ => {
                ctx.reply(
                    tx,
                    msg.as_bytes(),
                    source,
                    488,
                    "Not Acceptable Here",
                    Vec::new(),
                );
                State::Voicemail(Box::new(self))
            }
        }
    }

    /// Late responses of the cancelled forks (a 2xx is ACKed and hung up).
    pub(crate) fn on_response(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        answer: Answer<'_, '_>,
    ) -> State {
        if let Purpose::Branch(idx) = purpose {
            late_response(d, ctx, &mut self.branches, idx, &answer, None);
        }
        State::Voicemail(Box::new(self))
    }
}
