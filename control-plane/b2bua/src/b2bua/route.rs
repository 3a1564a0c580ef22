//! Arriving messages: requests matched to transactions and dialogs (a new INVITE becomes a
//! call), responses delivered to the call that sent the request, and the answers the B2BUA
//! gives without a call (481, 420, 488...).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use tracing::debug;
use warden_sip_proto::{Message, Method, RequestBuilder};
use warden_sip_txn::TxId;

use super::B2bua;
use crate::call::{Answer, Call, Uas, UasInit};
use crate::ctx::reparse;
use crate::ids::{CallId, Dest, Flow, Leg};
use crate::io::{Action, AuthRequest};
use crate::msg::{self, ResponseSpec};
use crate::sdp::{self, BodyError};

/// Where responses to a request go (RFC 3261 §18.2.2 with RFC 3581): on a stream, the
/// connection; over UDP, the source address when `rport` was asked for, otherwise the
/// source IP and the Via port.
pub(super) fn reply_dest(flow: Flow, msg: &Message<'_>) -> Dest {
    let to = match (flow.transport.is_reliable(), msg.top_via()) {
        (false, Some(via)) if via.rport().is_none() => {
            SocketAddr::new(flow.peer.ip(), via.port.unwrap_or(5060))
        }
        _ => flow.peer,
    };
    Dest { flow, to }
}

impl B2bua {
    pub(super) fn fail_tx(&mut self, now: Instant, tx: TxId, status: u16, reason: &str) {
        let Some((id, purpose)) = self.index.txs.get(&tx).cloned() else {
            return;
        };
        debug!(call = %id, %tx, status, "request failed without a response");
        self.with_call(now, id, |c, ctx| {
            c.on_response(
                ctx,
                purpose,
                Answer {
                    status,
                    reason,
                    msg: None,
                    tx,
                },
            )
        });
    }

    pub(super) fn deliver(&mut self, now: Instant, tx: TxId, msg: &Message<'_>, status: u16) {
        let Some((id, purpose)) = self.index.txs.get(&tx).cloned() else {
            return;
        };
        let reason = msg.reason().unwrap_or("");
        self.with_call(now, id, |c, ctx| {
            c.on_response(
                ctx,
                purpose,
                Answer {
                    status,
                    reason,
                    msg: Some(msg),
                    tx,
                },
            )
        });
    }

    /// Builds and hands over the ACK for a non-2xx final response to one of our INVITEs
    /// (RFC 3261 §17.1.1.3): same Request-URI, top Via, From, Call-ID and CSeq number as
    /// the INVITE, the To of the response.
    pub(super) fn ack_failure(&mut self, tx: TxId, response: &Message<'_>) {
        let Some(invite) = self.index.client_invites.get(&tx).cloned() else {
            return;
        };
        let Some(bytes) = build_non2xx_ack(&invite, response, &self.config.user_agent) else {
            return;
        };
        if let Err(e) = self.txl.set_ack(tx, bytes) {
            debug!(error = %e, %tx, "ACK not accepted by the transaction");
        }
    }

    /// Hands the INVITE's transaction a 100 (Trying), sent only if nothing else answers the
    /// INVITE within 200 ms (RFC 3261 §17.2.1): a challenge, a refusal or the callee's
    /// ringing usually comes sooner, and the caller then gets one message less.
    fn defer_trying(&mut self, now: Instant, tx: TxId, msg: &Message<'_>, dest: Dest) {
        let Some(bytes) = self.short_response(msg, dest, (100, "Trying"), Vec::new()) else {
            return;
        };
        if let Err(e) = self.txl.defer_trying(now, tx, bytes) {
            debug!(error = %e, %tx, "100 not accepted by the transaction");
        }
    }

    pub(super) fn reply(
        &mut self,
        now: Instant,
        tx: TxId,
        msg: &Message<'_>,
        dest: Dest,
        (status, reason): (u16, &str),
        headers: Vec<(&str, String)>,
    ) {
        let Some(bytes) = self.short_response(msg, dest, (status, reason), headers) else {
            return;
        };
        if let Err(e) = self.txl.send_response(now, tx, status, bytes) {
            debug!(error = %e, %tx, status, "response not accepted by the transaction");
        }
    }

    /// A response to `msg` without a body; past 100 it gets a To tag of its own.
    fn short_response(
        &mut self,
        msg: &Message<'_>,
        dest: Dest,
        (status, reason): (u16, &str),
        headers: Vec<(&str, String)>,
    ) -> Option<Bytes> {
        let tag = (status > 100).then(|| msg::token(&mut self.rng, 8));
        ResponseSpec {
            status,
            reason,
            to_tag: tag.as_deref(),
            source: dest.flow.peer,
            headers,
            server: &self.config.user_agent,
            body: None,
        }
        .to_bytes(msg.as_bytes())
    }

    pub(super) fn new_request(
        &mut self,
        now: Instant,
        tx: TxId,
        msg: &Message<'_>,
        dest: Dest,
        send_100: bool,
    ) {
        if send_100 {
            self.defer_trying(now, tx, msg, dest);
        }
        if let Some(tag) = msg.to().and_then(|t| t.tag()) {
            let key = (msg.call_id().unwrap_or("").to_string(), tag.to_string());
            match self.index.dialogs.get(&key).copied() {
                Some((id, leg)) => {
                    self.with_call(now, id, |c, ctx| c.on_request(ctx, leg, tx, msg, dest));
                }
                None => self.reply(
                    now,
                    tx,
                    msg,
                    dest,
                    (481, "Call/Transaction Does Not Exist"),
                    Vec::new(),
                ),
            }
            return;
        }
        match msg.method() {
            Some(Method::Invite) => self.new_call(now, tx, msg, dest),
            _ => self.reply(
                now,
                tx,
                msg,
                dest,
                (481, "Call/Transaction Does Not Exist"),
                Vec::new(),
            ),
        }
    }

    pub(super) fn new_call(&mut self, now: Instant, tx: TxId, msg: &Message<'_>, dest: Dest) {
        let unsupported = msg::unsupported_requirements(msg);
        if !unsupported.is_empty() {
            let h = vec![("Unsupported", unsupported.join(", "))];
            return self.reply(now, tx, msg, dest, (420, "Bad Extension"), h);
        }
        if msg.max_forwards() == Some(0) {
            return self.reply(now, tx, msg, dest, (483, "Too Many Hops"), Vec::new());
        }
        let Some(callee) = msg.request_uri().and_then(msg::user_of) else {
            return self.reply(now, tx, msg, dest, (404, "Not Found"), Vec::new());
        };
        let Some(caller) = msg.from().and_then(|f| msg::user_of(&f.uri)) else {
            return self.reply(now, tx, msg, dest, (403, "Forbidden"), Vec::new());
        };
        let (offer, delayed_offer) = match sdp::from_body(msg.content_type(), msg.body()) {
            Ok(Some(s)) => (s, false),
            // A delayed offer: we offer the callee what the media plane knows, and the
            // caller answers our 2xx's offer in its ACK.
            Ok(None) => match sdp::capabilities() {
                Some(s) => (s, true),
                None => {
                    return self.reply(
                        now,
                        tx,
                        msg,
                        dest,
                        (500, "Server Internal Error"),
                        Vec::new(),
                    )
                }
            },
            Err(BodyError::NotSdp) => {
                let h = vec![("Accept", "application/sdp".to_string())];
                return self.reply(now, tx, msg, dest, (415, "Unsupported Media Type"), h);
            }
            Err(BodyError::Malformed) => {
                return self.reply(now, tx, msg, dest, (400, "Malformed SDP"), Vec::new());
            }
            Err(BodyError::NoAudio) => {
                return self.reply(now, tx, msg, dest, (488, "Not Acceptable Here"), Vec::new());
            }
        };
        if let Some(se) = msg::session_expires(msg) {
            if se.secs < self.config.min_se_secs() {
                let h = vec![("Min-SE", self.config.min_se_secs().to_string())];
                return self.reply(now, tx, msg, dest, (422, "Session Interval Too Small"), h);
            }
        }
        self.next_id += 1;
        let id = CallId(self.next_id);
        let to_tag = msg::token(&mut self.rng, 8);
        let our_contact = msg::contact(&callee, &dest.flow, self.config.advertise_ip);
        let init = UasInit {
            tx,
            invite: Bytes::copy_from_slice(msg.as_bytes()),
            flow: dest.flow,
            reply: dest,
            to_tag: to_tag.clone(),
            offer,
            delayed_offer,
            sdp_session: rand::Rng::gen::<u32>(&mut self.rng).into(),
            our_contact,
            first_rseq: rand::Rng::gen_range(&mut self.rng, 1..1_000_000),
        };
        let Some(uas) = Uas::new(msg, init) else {
            return self.reply(now, tx, msg, dest, (400, "Bad Request"), Vec::new());
        };
        let request = AuthRequest {
            user: caller.clone(),
            method: "INVITE",
            request_uri: msg
                .request_uri()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
            authorization: msg
                .headers("Proxy-Authorization")
                .map(|v| v.into_owned())
                .collect(),
            source: dest.flow.peer,
        };
        debug!(call = %id, %caller, %callee, "new call");
        self.index.invites.insert(tx, id);
        self.index
            .dialogs
            .insert((uas.call_id.clone(), to_tag), (id, Leg::A));
        self.calls
            .insert(id, Call::new(id, now, uas, caller, callee));
        self.out
            .actions
            .push_back(Action::Authenticate { call: id, request });
    }

    pub(super) fn cancel(
        &mut self,
        now: Instant,
        cancel_tx: TxId,
        invite_tx: Option<TxId>,
        msg: &Message<'_>,
        dest: Dest,
    ) {
        match invite_tx.and_then(|t| self.index.invites.get(&t).copied()) {
            Some(id) => {
                self.reply(now, cancel_tx, msg, dest, (200, "OK"), Vec::new());
                self.with_call(now, id, |c, ctx| c.on_cancel(ctx));
            }
            // The INVITE is known but already answered: the CANCEL has no effect.
            None if invite_tx.is_some() => {
                self.reply(now, cancel_tx, msg, dest, (200, "OK"), Vec::new())
            }
            None => self.reply(
                now,
                cancel_tx,
                msg,
                dest,
                (481, "Call/Transaction Does Not Exist"),
                Vec::new(),
            ),
        }
    }

    pub(super) fn ack(&mut self, now: Instant, msg: &Message<'_>) {
        let (Some(call_id), Some(tag)) = (msg.call_id(), msg.to().and_then(|t| t.tag())) else {
            return;
        };
        if let Some((id, leg)) = self
            .index
            .dialogs
            .get(&(call_id.to_string(), tag.to_string()))
            .copied()
        {
            self.with_call(now, id, |c, ctx| c.on_ack(ctx, leg, msg));
        }
    }
}

/// The ACK of a non-2xx final response to `invite`.
fn build_non2xx_ack(invite: &[u8], response: &Message<'_>, user_agent: &str) -> Option<Bytes> {
    let inv = reparse(invite)?;
    let uri = inv.request_uri()?.as_str();
    let via = inv.header("Via")?;
    let top_via = warden_sip_proto::Via::parse(&via)
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|| via.to_string());
    let mut b = RequestBuilder::new(Method::Ack, uri)
        .header("Via", top_via)
        .header("Max-Forwards", "70")
        .header("From", inv.header("From")?.into_owned())
        .header("To", response.header("To")?.into_owned())
        .header("Call-ID", inv.call_id()?)
        .header("CSeq", format!("{} ACK", inv.cseq()?.seq));
    for r in inv.headers("Route") {
        b = b.header("Route", r.into_owned());
    }
    b = b.header("User-Agent", user_agent);
    Some(Bytes::from(b.to_bytes()))
}
