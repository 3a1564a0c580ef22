//! Offers in mid-call: a re-INVITE or UPDATE from one party is answered here when it only
//! refreshes the session, otherwise relayed to the other party with the media plane's
//! address; the answer comes back the same way and both endpoints follow (hold, resume).

use bytes::Bytes;
use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose, Relay};
use crate::ids::{Dest, Leg};
use crate::io::{Action, Disposition, HangupSide};
use crate::msg::{self, Refresher, ResponseSpec};
use crate::sdp::{self, BodyError, Sdp};
use crate::transcode;

use super::connected::{slot, Connected};
use super::{send_ack, Answer, CallData, State};

/// Whether two descriptions carry the same origin and version (a refresh, not an offer).
fn same_version(old: Option<&Sdp>, new: &Sdp) -> bool {
    old.is_some_and(|o| {
        o.origin.session_id == new.origin.session_id
            && o.origin.session_version == new.origin.session_version
            && o.origin.username == new.origin.username
    })
}

impl Connected {
    /// A re-INVITE or UPDATE: a session refresh answered here, or a new offer relayed to
    /// the other party.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer_request(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        leg: Leg,
        tx: TxId,
        msg: &Message<'_>,
        reply: Dest,
        is_invite: bool,
    ) -> State {
        let source = reply.flow.peer;
        let refuse =
            |ctx: &mut Ctx<'_>, status: u16, reason: &str, headers: Vec<(&str, String)>| {
                ctx.reply(tx, msg.as_bytes(), source, status, reason, headers);
            };
        let offer = match sdp::from_body(msg.content_type(), msg.body()) {
            Ok(s) => s,
            Err(BodyError::NotSdp) => {
                refuse(
                    ctx,
                    415,
                    "Unsupported Media Type",
                    vec![("Accept", "application/sdp".into())],
                );
                return State::Connected(self);
            }
            Err(BodyError::Malformed) => {
                refuse(ctx, 400, "Malformed SDP", Vec::new());
                return State::Connected(self);
            }
            Err(BodyError::NoAudio) => {
                refuse(ctx, 488, "Not Acceptable Here", Vec::new());
                return State::Connected(self);
            }
        };
        if let Some(se) = msg::session_expires(msg) {
            if se.secs < ctx.config.min_se_secs() {
                let min = vec![("Min-SE", ctx.config.min_se_secs().to_string())];
                refuse(ctx, 422, "Session Interval Too Small", min);
                return State::Connected(self);
            }
        }
        if self.offer.is_some() || self.refreshing[slot(leg)] {
            refuse(ctx, 491, "Request Pending", Vec::new());
            return State::Connected(self);
        }
        let dialog = self.dialog_mut(leg);
        dialog.refresh_target(msg);
        dialog.learn_capabilities(msg);
        if let (Some(se), Some(s)) = (msg::session_expires(msg), dialog.session.as_mut()) {
            s.secs = se.secs;
            s.we_refresh = se.refresher == Some(Refresher::Uas);
        }
        let unchanged = offer
            .as_ref()
            .is_none_or(|s| same_version(dialog.remote_sdp.as_ref(), s));
        if unchanged {
            // A session refresh: answered here with what we last sent (an offer for an
            // INVITE without one).
            let body = if is_invite || offer.is_some() {
                dialog.sdp.last().cloned()
            } else {
                None
            };
            self.reset_session(d, ctx, leg);
            let bytes = self.local_2xx(ctx, leg, msg, source, body.as_ref());
            if let Some(bytes) = bytes {
                ctx.respond(tx, 200, bytes.clone());
                if is_invite {
                    d.start_resend(ctx, leg, bytes, reply);
                }
            }
            return State::Connected(self);
        }
        let Some(offer) = offer else {
            return State::Connected(self);
        };
        let other = leg.other();
        let (Some(endpoint), Some(pm)) = (d.endpoint(other), sdp::party_media(&offer)) else {
            refuse(ctx, 488, "Not Acceptable Here", Vec::new());
            return State::Connected(self);
        };
        let ua = ctx.config.user_agent.clone();
        let branch = ctx.branch();
        let y = self.dialog_mut(other);
        let via = msg::via(&y.flow, ctx.config.advertise_ip, &branch);
        let y_offer = if d.transcoded {
            y.sdp
                .anchor(&transcode::extend_offer(&offer), endpoint, pm.direction)
        } else {
            y.sdp.anchor(&offer, endpoint, pm.direction)
        };
        let sent_invite = is_invite || !y.allows_update;
        let method = if sent_invite {
            Method::Invite
        } else {
            Method::Update
        };
        let session = y.session_header(false);
        let dest = y.dest();
        let mut spec = y.request(method, via, None, &ua);
        spec.headers.push(("Supported", msg::SUPPORTED.to_string()));
        if let Some(se) = session {
            spec.headers.push(("Session-Expires", se));
        }
        spec.body = Some(msg::sdp_body(&y_offer));
        let bytes = spec.to_bytes();
        let relay = Relay {
            from: leg,
            server: tx,
            request: Bytes::copy_from_slice(msg.as_bytes()),
            source,
            offer: true,
            sent_invite,
            got_invite: is_invite,
        };
        if let Some(sent) = ctx.send_request(d.id, Purpose::Relay(relay), dest, bytes) {
            self.offer = Some((leg, offer));
            self.in_flight.push(sent);
        } else {
            refuse(ctx, 500, "Server Internal Error", Vec::new());
        }
        State::Connected(self)
    }

    /// Our 2xx to a refresh of `leg`, with the session timer and Contact.
    pub(super) fn local_2xx(
        &self,
        ctx: &Ctx<'_>,
        leg: Leg,
        msg: &Message<'_>,
        source: std::net::SocketAddr,
        body: Option<&Sdp>,
    ) -> Option<Bytes> {
        let dialog = self.dialog(leg);
        let mut headers = vec![
            ("Contact", dialog.contact.clone()),
            ("Allow", msg::ALLOW.to_string()),
            ("Supported", msg::SUPPORTED.to_string()),
        ];
        if let Some(se) = dialog.session_header(true) {
            headers.push(("Session-Expires", se));
            if dialog.supports_timer {
                headers.push(("Require", "timer".to_string()));
            }
        }
        ResponseSpec {
            status: 200,
            reason: "OK",
            to_tag: None,
            source,
            headers,
            server: &ctx.config.user_agent,
            body: body.map(msg::sdp_body),
        }
        .to_bytes(msg.as_bytes())
    }

    /// The other party answered a relayed request.
    pub(super) fn relayed(
        mut self: Box<Self>,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        relay: Relay,
        answer: Answer<'_, '_>,
    ) -> State {
        if answer.status < 200 {
            return State::Connected(self);
        }
        let x = relay.from;
        let y = x.other();
        let ok = (200..300).contains(&answer.status);
        if ok && relay.sent_invite {
            if let Some(cseq) = answer.msg.and_then(|m| m.cseq()) {
                let _ = send_ack(self.dialog_mut(y), ctx, cseq.seq);
            }
        }
        if !relay.offer {
            let body = answer.msg.and_then(|m| {
                let ct = m.header("Content-Type")?.into_owned();
                (!m.body().is_empty()).then(|| (ct, m.body().to_vec()))
            });
            self.respond_relay(ctx, &relay, answer.status, answer.reason, Vec::new(), body);
            return State::Connected(self);
        }
        let offer = self.offer.take();
        if !ok {
            let mut headers = Vec::new();
            if let Some(ra) = answer.msg.and_then(|m| m.header("Retry-After")) {
                headers.push(("Retry-After", ra.into_owned()));
            }
            self.respond_relay(ctx, &relay, answer.status, answer.reason, headers, None);
            if matches!(answer.status, 408 | 481) {
                let cause = format!("{} {} on re-INVITE", answer.status, answer.reason);
                return self.hang_up(d, ctx, Disposition::Answered, cause, HangupSide::System);
            }
            return State::Connected(self);
        }
        let Some(msg) = answer.msg else {
            return State::Connected(self);
        };
        let y_answer = match sdp::from_body(msg.content_type(), msg.body()) {
            Ok(Some(s)) => s,
            _ => {
                self.respond_relay(ctx, &relay, 502, "Bad Gateway", Vec::new(), None);
                return State::Connected(self);
            }
        };
        let (Some((_, x_offer)), Some(endpoint_x)) = (offer, d.endpoint(x)) else {
            return State::Connected(self);
        };
        {
            let yd = self.dialog_mut(y);
            yd.refresh_target(msg);
            yd.learn_capabilities(msg);
        }
        // A transcoded call stays transcoded: each party keeps its own codec.
        let plan = if d.transcoded {
            match transcode::plan(&x_offer, &y_answer) {
                Some(p) => Some(p),
                None => {
                    self.respond_relay(ctx, &relay, 488, "Not Acceptable Here", Vec::new(), None);
                    return State::Connected(self);
                }
            }
        } else {
            None
        };
        let y_answer = plan.as_ref().map_or(y_answer, |p| p.b_answer.clone());
        let x_pm = sdp::party_media(&x_offer);
        let y_pm = sdp::party_media(&y_answer);
        for (leg, pm) in [(x, &x_pm), (y, &y_pm)] {
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
            // `plan` sees the offerer as "a"; the media plane wants the caller's leg first.
            let (a, b) = match x {
                Leg::A => (p.a, p.b),
                Leg::B => (p.b, p.a),
            };
            ctx.action(Action::Transcode { call: d.id, a, b });
            d.codec = Some(format!("{}<->{}", a.codec.name(), b.codec.name()));
        }
        let direction = y_pm
            .as_ref()
            .map(|p| p.direction)
            .unwrap_or(warden_sip_proto::sdp::Direction::SendRecv);
        let x_answer = {
            let xd = self.dialog_mut(x);
            let src = plan.as_ref().map_or(&y_answer, |p| &p.a_answer);
            let answer = xd.sdp.anchor(src, endpoint_x, direction);
            xd.remote_sdp = Some(x_offer);
            xd.media = x_pm;
            answer
        };
        {
            let yd = self.dialog_mut(y);
            yd.remote_sdp = Some(y_answer);
            yd.media = y_pm;
        }
        let xd = self.dialog(x);
        let mut headers = vec![
            ("Contact", xd.contact.clone()),
            ("Allow", msg::ALLOW.to_string()),
            ("Supported", msg::SUPPORTED.to_string()),
        ];
        if let Some(se) = xd.session_header(true) {
            headers.push(("Session-Expires", se));
        }
        let body = Some(msg::sdp_body(&x_answer));
        if let Some(bytes) = self.respond_relay(
            ctx,
            &relay,
            200,
            "OK",
            headers,
            body.map(|(ct, b)| (ct.to_string(), b)),
        ) {
            if relay.got_invite {
                let dest = ctx
                    .txl
                    .peer(relay.server)
                    .copied()
                    .unwrap_or(Dest::peer_of(self.dialog(x).flow));
                d.start_resend(ctx, x, bytes, dest);
            }
        }
        self.reset_session(d, ctx, x);
        self.reset_session(d, ctx, y);
        State::Connected(self)
    }

    /// Answers the request a relay came from.
    pub(super) fn respond_relay(
        &self,
        ctx: &mut Ctx<'_>,
        relay: &Relay,
        status: u16,
        reason: &str,
        headers: Vec<(&str, String)>,
        body: Option<(String, Vec<u8>)>,
    ) -> Option<Bytes> {
        let bytes = ResponseSpec {
            status,
            reason,
            to_tag: None,
            source: relay.source,
            headers,
            server: &ctx.config.user_agent,
            body: body.as_ref().map(|(ct, b)| (ct.as_str(), b.clone())),
        }
        .to_bytes(&relay.request)?;
        ctx.respond(relay.server, status, bytes.clone());
        Some(bytes)
    }
}
