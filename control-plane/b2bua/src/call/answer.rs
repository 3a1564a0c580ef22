//! The callee answered: both dialogs are built, the answer is cut to the offer and anchored,
//! the media plane is pointed at both parties (and told to transcode when the legs share
//! no codec), session timers are negotiated per leg, and
//! the 2xx goes to the caller (or waits for the PRACK of an early answer).

use warden_sip_proto::Message;

use crate::ctx::Ctx;
use crate::dialog::{Dialog, Session};
use crate::ids::Leg;
use crate::io::{Action, CallEvent, Disposition, HangupSide};
use crate::msg::{self, Refresher};
use crate::sdp;
use crate::timers::CallTimer;
use crate::transcode::{self, Negotiated};

use super::branch::{b_dialog, cancel_all, Branch, BranchState};
use super::connected::Connected;
use super::ending::Winner;
use super::{send_ack, send_bye, CallData, Ending, State};

/// The callee answered on fork `idx` with `msg`.
pub(crate) fn answered(
    d: &mut CallData,
    ctx: &mut Ctx<'_>,
    mut branches: Vec<Branch>,
    idx: usize,
    msg: &Message<'_>,
) -> State {
    let (Some(b), Some(media)) = (d.b.as_ref(), d.media) else {
        return d.fail(ctx, 500, "Server Internal Error", Disposition::Failed);
    };
    let Some(branch) = branches.get_mut(idx) else {
        return d.fail(ctx, 500, "Server Internal Error", Disposition::Failed);
    };
    branch.state = BranchState::Answered;
    let Some(mut bd) = b_dialog(b, branch, msg, ctx, &d.caller) else {
        // A 2xx without a To tag cannot be acknowledged in a dialog: treat as a failure.
        branch.state = BranchState::Failed(502);
        return d.fail(ctx, 502, "Bad Gateway", Disposition::Failed);
    };
    bd.local_cseq = branch.next_cseq;
    let ack = send_ack(&mut bd, ctx, b.cseq);
    let answer = match sdp::from_body(msg.content_type(), msg.body()) {
        Ok(Some(s)) if ctx.config.transcoding => {
            transcode::negotiate(&d.a.offer, &s).map_err(|_| (488, "Not Acceptable Here"))
        }
        Ok(Some(s)) => sdp::intersect(&b.offer, &s)
            .map(|a| Negotiated::Relay(Box::new(a)))
            .map_err(|_| (488, "Not Acceptable Here")),
        // The early answer stands: negotiated again, it gives the same relay or plan.
        Ok(None) if ctx.config.transcoding => branch
            .early_sdp
            .as_ref()
            .and_then(|s| transcode::negotiate(&d.a.offer, s).ok())
            .ok_or((502, "Bad Gateway")),
        Ok(None) => branch
            .early_sdp
            .clone()
            .map(|a| Negotiated::Relay(Box::new(a)))
            .ok_or((502, "Bad Gateway")),
        Err(_) => Err((502, "Bad Gateway")),
    };
    cancel_all(d, ctx, &mut branches, Some(idx));
    let winner = Winner {
        idx,
        tag: bd.remote_tag.clone(),
        ack: ack.clone(),
        dest: bd.dest(),
    };
    let (answer, plan) = match answer {
        Ok(Negotiated::Relay(a)) => (*a, None),
        Ok(Negotiated::Transcode(p)) => (p.b_answer.clone(), Some(p)),
        Err((status, reason)) => {
            send_bye(d.id, &mut bd, ctx);
            d.a.reject(ctx, status, reason, Vec::new());
            d.finish(
                ctx,
                Disposition::Failed,
                format!("{status} {reason}"),
                Some(HangupSide::System),
            );
            return State::Ending(Ending::new(branches, Some(winner)));
        }
    };
    let b_pm = sdp::party_media(&answer);
    // A delayed offer: the caller's media is known from its ACK's answer.
    let a_pm = d.a.offered_media();
    for (leg, pm) in [(Leg::B, &b_pm), (Leg::A, &a_pm)] {
        if let Some(pm) = pm {
            ctx.action(Action::Media {
                call: d.id,
                leg,
                remote: pm.remote,
                direction: pm.endpoint_direction(),
            });
        }
    }
    if let Some(p) = &plan {
        d.transcoded = true;
        ctx.action(Action::Transcode {
            call: d.id,
            a: p.a,
            b: p.b,
        });
    }
    let direction = b_pm
        .as_ref()
        .map(|p| p.direction)
        .unwrap_or(warden_sip_proto::sdp::Direction::SendRecv);
    let a_src = plan.as_ref().map_or(&answer, |p| &p.a_answer);
    let a_sdp = d.a.sdp.anchor(a_src, media.a, direction);
    bd.remote_sdp = Some(answer.clone());
    bd.media = b_pm;
    bd.session = negotiate_b(msg, ctx);
    let mut ad = a_dialog(d, ctx);
    ad.media = a_pm;
    ad.session = negotiate_a(d, ctx);

    let mut headers = Vec::new();
    if let Some(se) = ad.session_header(true) {
        headers.push(("Session-Expires", se));
        if d.a.supports_timer {
            headers.push(("Require", "timer".to_string()));
        }
    }
    if let Some(ok) = d.a.response(ctx, 200, "OK", headers, Some(&a_sdp)) {
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
    d.timers.stop(CallTimer::Ring);
    d.timers.stop(CallTimer::ForwardNoAnswer);
    if !ctx.config.max_duration.is_zero() {
        d.timers
            .arm(CallTimer::MaxDuration, ctx.now + ctx.config.max_duration);
    }
    d.answered = Some(ctx.now);
    d.codec = match &plan {
        Some(p) => Some(p.label()),
        None => sdp::codec(&answer),
    };
    ctx.action(Action::Event(CallEvent::Answered {
        call: d.id,
        codec: d.codec.clone(),
    }));
    tracing::debug!(call = %d.id, codec = ?d.codec, "call answered");
    let connected = Connected {
        a: ad,
        b: bd,
        branches,
        winner: idx,
        b_ack: ack,
        offer: None,
        refreshing: [false, false],
        in_flight: Vec::new(),
    };
    connected.reset_session(d, ctx, Leg::A);
    connected.reset_session(d, ctx, Leg::B);
    State::Connected(Box::new(connected))
}

/// The caller's dialog, from its INVITE.
pub(super) fn a_dialog(d: &CallData, _ctx: &Ctx<'_>) -> Dialog {
    let a = &d.a;
    let target = a.contact.clone().unwrap_or_else(|| {
        warden_sip_proto::NameAddr::parse(&a.from)
            .map(|n| n.uri.as_str().to_string())
            .unwrap_or_default()
    });
    Dialog {
        call_id: a.call_id.clone(),
        remote_tag: a.from_tag.clone(),
        local: format!("{};tag={}", a.to, a.to_tag),
        remote: a.from.clone(),
        local_cseq: 0,
        remote_cseq: a.cseq,
        target,
        routes: a.record_route.clone(),
        flow: a.flow,
        contact: a.our_contact.clone(),
        allows_update: a.allows_update,
        supports_timer: a.supports_timer,
        sdp: a.sdp.clone(),
        remote_sdp: (!a.delayed_offer).then(|| a.offer.clone()),
        media: None,
        session: None,
    }
}

/// The session timer on the caller's leg: what it asked for, at least our Min-SE; it
/// refreshes when it supports timers, otherwise we do.
fn negotiate_a(d: &CallData, ctx: &Ctx<'_>) -> Option<Session> {
    let ours = ctx.config.session_secs();
    let asked = d.a.session_expires;
    if ours == 0 && asked.is_none() {
        return None;
    }
    let secs = asked
        .map(|s| s.secs)
        .unwrap_or(ours)
        .max(d.a.min_se.unwrap_or(0))
        .max(ctx.config.min_se_secs().min(ours.max(1)))
        .max(1);
    let we_refresh = match asked.and_then(|s| s.refresher) {
        Some(Refresher::Uac) => false,
        Some(Refresher::Uas) => true,
        None => !d.a.supports_timer,
    };
    Some(Session { secs, we_refresh })
}

/// The session timer on the callee's leg, from its 2xx: without Session-Expires the
/// callee does not do timers and we refresh at our own interval.
fn negotiate_b(msg: &Message<'_>, ctx: &Ctx<'_>) -> Option<Session> {
    match msg::session_expires(msg) {
        Some(se) => Some(Session {
            secs: se.secs.max(1),
            we_refresh: se.refresher != Some(Refresher::Uas),
        }),
        None => {
            let ours = ctx.config.session_secs();
            (ours > 0).then_some(Session {
                secs: ours,
                we_refresh: true,
            })
        }
    }
}
