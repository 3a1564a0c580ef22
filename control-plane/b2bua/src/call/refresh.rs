//! Session timers (RFC 4028) on an answered call: each leg is refreshed by its party or by
//! us; a leg that is not refreshed in time, or whose refresh fails, ends the call.

use std::time::Duration;

use warden_sip_proto::Method;

use crate::ctx::{Ctx, Purpose};
use crate::ids::Leg;
use crate::io::{Disposition, HangupSide};
use crate::msg;
use crate::timers::CallTimer;

use super::connected::{slot, Connected};
use super::{send_ack, Answer, CallData, State};

impl Connected {
    /// Arms the session timer of `leg` after a refresh.
    pub(super) fn reset_session(&self, d: &mut CallData, ctx: &Ctx<'_>, leg: Leg) {
        let refresh = CallTimer::refresh(leg);
        let expire = CallTimer::expire(leg);
        let Some(s) = self.dialog(leg).session else {
            d.timers.stop(refresh);
            d.timers.stop(expire);
            return;
        };
        let interval = Duration::from_secs(u64::from(s.secs));
        if s.we_refresh {
            d.timers.arm(refresh, ctx.now + interval / 2);
            d.timers.stop(expire);
        } else {
            let margin = Duration::from_secs(32).min(interval / 3);
            d.timers
                .arm(expire, ctx.now + interval.saturating_sub(margin));
            d.timers.stop(refresh);
        }
    }

    /// A response to our session refresh on `leg`.
    pub(super) fn refreshed(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        answer: Answer<'_, '_>,
    ) -> State {
        if answer.status < 200 {
            return State::Connected(self);
        }
        self.refreshing[slot(leg)] = false;
        let invite = answer
            .msg
            .and_then(|m| m.cseq())
            .filter(|c| c.method == Method::Invite);
        match answer.status {
            200..=299 => {
                if let Some(cseq) = invite {
                    let _ = send_ack(self.dialog_mut(leg), ctx, cseq.seq);
                }
                if let (Some(m), Some(s)) = (answer.msg, self.dialog_mut(leg).session.as_mut()) {
                    if let Some(se) = msg::session_expires(m) {
                        s.secs = se.secs.max(1);
                    }
                }
                self.reset_session(d, ctx, leg);
                State::Connected(self)
            }
            408 | 481 => {
                let cause = format!(
                    "session refresh failed ({} {})",
                    answer.status, answer.reason
                );
                self.hang_up(d, ctx, Disposition::Answered, cause, HangupSide::System)
            }
            405 | 501 if invite.is_none() => {
                self.dialog_mut(leg).allows_update = false;
                d.timers.arm(CallTimer::refresh(leg), ctx.now);
                State::Connected(self)
            }
            422 => {
                let min = answer.msg.and_then(msg::min_se);
                if let (Some(min), Some(s)) = (min, self.dialog_mut(leg).session.as_mut()) {
                    s.secs = s.secs.max(min);
                }
                d.timers.arm(CallTimer::refresh(leg), ctx.now);
                State::Connected(self)
            }
            _ => {
                d.timers
                    .arm(CallTimer::refresh(leg), ctx.now + Duration::from_secs(2));
                State::Connected(self)
            }
        }
    }

    /// Sends a session refresh on `leg`: UPDATE when the party accepts it, else a re-INVITE
    /// with the description it already has.
    pub(super) fn refresh(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
    ) -> State {
        if self.offer.is_some() || self.refreshing[slot(leg)] {
            d.timers
                .arm(CallTimer::refresh(leg), ctx.now + Duration::from_secs(2));
            return State::Connected(self);
        }
        let ua = ctx.config.user_agent.clone();
        let branch = ctx.branch();
        let dialog = self.dialog_mut(leg);
        let via = msg::via(&dialog.flow, ctx.config.advertise_ip, &branch);
        let use_update = dialog.allows_update;
        let session = dialog.session_header(false);
        let body = if use_update {
            None
        } else {
            dialog.sdp.last().map(msg::sdp_body)
        };
        let dest = dialog.dest();
        let method = if use_update {
            Method::Update
        } else {
            Method::Invite
        };
        let mut spec = dialog.request(method, via, None, &ua);
        spec.headers.push(("Supported", msg::SUPPORTED.to_string()));
        if let Some(se) = session {
            spec.headers.push(("Session-Expires", se));
        }
        spec.body = body;
        let bytes = spec.to_bytes();
        if let Some(sent) = ctx.send_request(d.id, Purpose::Refresh(leg), dest, bytes) {
            self.refreshing[slot(leg)] = true;
            self.in_flight.push(sent);
        }
        State::Connected(self)
    }
}
