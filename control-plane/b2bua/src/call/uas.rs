//! The caller's INVITE: what it asked for, and the responses the B2BUA sends it,
//! including reliable provisional responses (RFC 3262) and the 2xx held until their PRACK.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use warden_sip_proto::Message;
use warden_sip_txn::TxId;

use crate::ctx::Ctx;
use crate::ids::{Dest, Flow};
use crate::msg::{self, ResponseSpec, SessionExpires};
use crate::sdp::{LocalSdp, PartyMedia, Sdp};
use crate::timers::{CallTimer, TimerTable};

/// What the caller said about reliable provisional responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rel100 {
    /// Not mentioned.
    No,
    /// `Supported: 100rel`.
    Supported,
    /// `Require: 100rel`.
    Required,
}

/// A reliable provisional response waiting for its PRACK.
#[derive(Clone, Debug)]
pub(crate) struct PendingRel {
    pub(crate) rseq: u32,
    pub(crate) status: u16,
    pub(crate) bytes: Bytes,
    pub(crate) interval: Duration,
    pub(crate) give_up: Instant,
    pub(crate) has_sdp: bool,
}

/// A provisional response waiting for the pending one to be acknowledged.
#[derive(Clone, Debug)]
pub(crate) struct Queued {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) sdp: Option<Sdp>,
}

/// A 2xx we keep re-sending until the ACK arrives.
#[derive(Clone, Debug)]
pub(crate) struct Resend {
    pub(crate) bytes: Bytes,
    pub(crate) dest: Dest,
    pub(crate) interval: Duration,
}

/// The caller's initial INVITE and the B2BUA's side of it.
#[derive(Debug)]
pub(crate) struct Uas {
    pub(crate) tx: TxId,
    pub(crate) invite: Bytes,
    pub(crate) source: SocketAddr,
    pub(crate) flow: Flow,
    /// Where responses go (RFC 3581).
    pub(crate) reply: Dest,
    pub(crate) call_id: String,
    /// The caller's From value, with its tag.
    pub(crate) from: String,
    pub(crate) from_tag: String,
    /// The caller's To value, without tag.
    pub(crate) to: String,
    /// Our To tag.
    pub(crate) to_tag: String,
    pub(crate) cseq: u32,
    pub(crate) contact: Option<String>,
    pub(crate) record_route: Vec<String>,
    pub(crate) rel100: Rel100,
    pub(crate) supports_timer: bool,
    pub(crate) session_expires: Option<SessionExpires>,
    pub(crate) min_se: Option<u32>,
    pub(crate) allows_update: bool,
    /// The caller's offer; for a delayed offer, what we offered the callee in its place
    /// ([`crate::sdp::capabilities`]).
    pub(crate) offer: Sdp,
    /// The INVITE carried no SDP: our 2xx carries an offer and the caller's ACK the answer.
    /// Cleared once the ACK's answer is in.
    pub(crate) delayed_offer: bool,
    pub(crate) max_forwards: u8,
    pub(crate) final_sent: bool,
    /// The descriptions we send the caller.
    pub(crate) sdp: LocalSdp,
    /// Our Contact towards the caller.
    pub(crate) our_contact: String,
    next_rseq: u32,
    pub(crate) pending: Option<PendingRel>,
    pub(crate) queued: VecDeque<Queued>,
    /// A 2xx held until the reliable provisional response with SDP is acknowledged.
    pub(crate) held_2xx: Option<Bytes>,
}

/// The parts of a new INVITE the caller-side state is built from.
pub(crate) struct UasInit {
    pub(crate) tx: TxId,
    pub(crate) invite: Bytes,
    pub(crate) flow: Flow,
    pub(crate) reply: Dest,
    pub(crate) to_tag: String,
    pub(crate) offer: Sdp,
    pub(crate) delayed_offer: bool,
    pub(crate) sdp_session: u64,
    pub(crate) our_contact: String,
    pub(crate) first_rseq: u32,
}

impl Uas {
    /// Reads the INVITE. `None` if a header the parser guarantees is missing.
    pub(crate) fn new(msg: &Message<'_>, init: UasInit) -> Option<Self> {
        let rel100 = if msg::lists(msg, "Require", "100rel") {
            Rel100::Required
        } else if msg::lists(msg, "Supported", "100rel") {
            Rel100::Supported
        } else {
            Rel100::No
        };
        let from = msg.header("From")?.into_owned();
        let to = msg::strip_tag(&msg.header("To")?);
        Some(Uas {
            tx: init.tx,
            invite: init.invite,
            source: init.flow.peer,
            flow: init.flow,
            reply: init.reply,
            call_id: msg.call_id()?.to_string(),
            from,
            from_tag: msg.from()?.tag()?.to_string(),
            to,
            to_tag: init.to_tag,
            cseq: msg.cseq()?.seq,
            contact: msg
                .contacts()
                .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string())),
            record_route: msg
                .header_values("Record-Route")
                .map(|v| v.into_owned())
                .collect(),
            rel100,
            supports_timer: msg::lists(msg, "Supported", "timer")
                || msg::lists(msg, "Require", "timer"),
            session_expires: msg::session_expires(msg),
            min_se: msg::min_se(msg),
            allows_update: msg::lists(msg, "Allow", "UPDATE"),
            offer: init.offer,
            delayed_offer: init.delayed_offer,
            max_forwards: msg.max_forwards().unwrap_or(70),
            final_sent: false,
            sdp: LocalSdp::new(init.sdp_session),
            our_contact: init.our_contact,
            next_rseq: init.first_rseq,
            pending: None,
            queued: VecDeque::new(),
            held_2xx: None,
        })
    }

    /// The media the caller asked for in its offer; `None` for a delayed offer (its media
    /// comes with the answer in its ACK).
    pub(crate) fn offered_media(&self) -> Option<PartyMedia> {
        if self.delayed_offer {
            return None;
        }
        crate::sdp::party_media(&self.offer)
    }

    /// Writes a response to the INVITE.
    pub(crate) fn response(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        reason: &str,
        mut headers: Vec<(&str, String)>,
        sdp: Option<&Sdp>,
    ) -> Option<Bytes> {
        if (101..300).contains(&status) {
            headers.push(("Contact", self.our_contact.clone()));
            headers.push(("Allow", msg::ALLOW.to_string()));
            headers.push(("Supported", msg::SUPPORTED.to_string()));
        }
        ResponseSpec {
            status,
            reason,
            to_tag: (status > 100).then_some(self.to_tag.as_str()),
            source: self.source,
            headers,
            server: &ctx.config.user_agent,
            body: sdp.map(msg::sdp_body),
        }
        .to_bytes(&self.invite)
    }

    /// Sends a final non-2xx response (the transaction re-sends it and absorbs the ACK).
    pub(crate) fn reject(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: u16,
        reason: &str,
        headers: Vec<(&str, String)>,
    ) {
        if self.final_sent {
            return;
        }
        self.final_sent = true;
        self.pending = None;
        self.queued.clear();
        if let Some(bytes) = self.response(ctx, status, reason, headers, None) {
            ctx.respond(self.tx, status, bytes);
        }
    }

    /// Whether a provisional response relayed now should be sent reliably.
    pub(crate) fn wants_reliable(&self, callee_reliable: bool) -> bool {
        match self.rel100 {
            Rel100::Required => true,
            Rel100::Supported => callee_reliable,
            Rel100::No => false,
        }
    }

    /// Sends (or queues) a provisional response.
    pub(crate) fn provisional(
        &mut self,
        ctx: &mut Ctx<'_>,
        timers: &mut TimerTable,
        status: u16,
        reason: &str,
        sdp: Option<&Sdp>,
        reliable: bool,
    ) {
        if self.final_sent {
            return;
        }
        if !reliable {
            if let Some(bytes) = self.response(ctx, status, reason, Vec::new(), sdp) {
                ctx.respond(self.tx, status, bytes);
            }
            return;
        }
        if self.pending.is_some() {
            self.queued.push_back(Queued {
                status,
                reason: reason.to_string(),
                sdp: sdp.cloned(),
            });
            return;
        }
        let rseq = self.next_rseq;
        self.next_rseq = self.next_rseq.wrapping_add(1);
        let headers = vec![
            ("Require", "100rel".to_string()),
            ("RSeq", rseq.to_string()),
        ];
        let Some(bytes) = self.response(ctx, status, reason, headers, sdp) else {
            return;
        };
        ctx.respond(self.tx, status, bytes.clone());
        let t1 = ctx.config.txn.t1;
        self.pending = Some(PendingRel {
            rseq,
            status,
            bytes,
            interval: t1,
            give_up: ctx.now + t1.saturating_mul(64),
            has_sdp: sdp.is_some(),
        });
        timers.arm(CallTimer::Reliable1xx, ctx.now + t1);
    }

    /// Re-sends the pending reliable provisional response; after 64*T1 gives up on it.
    /// Returns true when it was given up (the caller then moves on as if acknowledged).
    pub(crate) fn resend_reliable(&mut self, ctx: &mut Ctx<'_>, timers: &mut TimerTable) -> bool {
        let Some(p) = self.pending.as_mut() else {
            return false;
        };
        if ctx.now >= p.give_up || self.final_sent {
            return true;
        }
        let (status, bytes) = (p.status, p.bytes.clone());
        p.interval = p.interval.saturating_mul(2);
        let next = ctx.now + p.interval;
        ctx.respond(self.tx, status, bytes);
        timers.arm(CallTimer::Reliable1xx, next);
        false
    }

    /// A PRACK arrived: true when it acknowledges the pending reliable response.
    pub(crate) fn take_prack(&mut self, rack: Option<(u32, u32)>) -> bool {
        match (&self.pending, rack) {
            (Some(p), Some((rseq, cseq))) if p.rseq == rseq && cseq == self.cseq => {
                self.pending = None;
                true
            }
            _ => false,
        }
    }

    /// After an acknowledgement (or giving up): sends the next queued provisional
    /// response, or the held 2xx. Returns the 2xx bytes when it was sent now.
    pub(crate) fn release(&mut self, ctx: &mut Ctx<'_>, timers: &mut TimerTable) -> Option<Bytes> {
        self.pending = None;
        timers.stop(CallTimer::Reliable1xx);
        if let Some(ok) = self.held_2xx.take() {
            self.queued.clear();
            ctx.respond(self.tx, 200, ok.clone());
            return Some(ok);
        }
        if let Some(q) = self.queued.pop_front() {
            self.provisional(ctx, timers, q.status, &q.reason, q.sdp.as_ref(), true);
        }
        None
    }

    /// The call ends while our 2xx still waits for a PRACK: the caller never got it, so its
    /// INVITE is answered with a final error instead. Returns true when that happened (the
    /// caller then has no confirmed dialog to send BYE in).
    pub(crate) fn abandon_held_2xx(&mut self, ctx: &mut Ctx<'_>, timers: &mut TimerTable) -> bool {
        if self.held_2xx.take().is_none() {
            return false;
        }
        self.pending = None;
        self.queued.clear();
        timers.stop(CallTimer::Reliable1xx);
        let reason = "Server Internal Error";
        if let Some(bytes) = self.response(ctx, 500, reason, Vec::new(), None) {
            ctx.respond(self.tx, 500, bytes);
        }
        true
    }

    /// True when a 2xx must wait: a reliable provisional response with SDP is not yet
    /// acknowledged.
    pub(crate) fn must_hold_2xx(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| p.has_sdp)
    }
}
