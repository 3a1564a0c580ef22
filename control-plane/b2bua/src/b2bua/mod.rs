//! The B2BUA: owns the transaction layer of call signalling and every call, routes arriving
//! messages to them, and collects their transmits, actions and deadlines.

use std::collections::HashMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tracing::trace;
use warden_sip_proto::Message;
use warden_sip_txn::{ClientResponse, Event, ServerRequest, TransactionLayer, TxId};

use crate::call::{Call, CallLimits};
use crate::config::Config;
use crate::ctx::{Ctx, Index, Outputs};
use crate::error::B2buaError;
use crate::ids::{CallId, Dest, Flow, Leg};
use crate::io::{Action, AuthVerdict, CallInfo, Location, MediaAddrs, Transmit};
use crate::msg::{self};
use crate::timers::DeadlineQueue;

mod route;

use route::reply_dest;

/// A sans-IO back-to-back user agent for calls between extensions.
///
/// Feed it every call-related request and every response with [`handle_request`] and
/// [`handle_response`], call [`handle_timeout`] at [`poll_timeout`], answer its
/// [`Action`]s (`on_authenticated`, `on_located`, `on_media_opened`), and send what
/// [`poll_transmit`] returns. It never reads a clock, sleeps, or does I/O.
///
/// [`handle_request`]: B2bua::handle_request
/// [`handle_response`]: B2bua::handle_response
/// [`handle_timeout`]: B2bua::handle_timeout
/// [`poll_timeout`]: B2bua::poll_timeout
/// [`poll_transmit`]: B2bua::poll_transmit
pub struct B2bua {
    config: Config,
    txl: TransactionLayer<Dest>,
    calls: HashMap<CallId, Call>,
    next_id: u64,
    out: Outputs,
    rng: StdRng,
    index: Index,
    deadlines: DeadlineQueue,
}

impl B2bua {
    /// A B2BUA with `config`; `seed` seeds the generator of tags, Call-IDs and branches.
    pub fn new(config: Config, seed: u64) -> Self {
        B2bua {
            txl: TransactionLayer::new(config.txn.clone()),
            config,
            calls: HashMap::new(),
            next_id: 0,
            out: Outputs::default(),
            rng: StdRng::seed_from_u64(seed),
            index: Index::default(),
            deadlines: DeadlineQueue::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles a request (INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, or any request
    /// inside a call's dialog) that arrived on `flow`.
    pub fn handle_request(&mut self, now: Instant, msg: &Message<'_>, flow: Flow) {
        let Some(key) = msg::request_key(msg) else {
            return;
        };
        let dest = reply_dest(flow, msg);
        let verdict = self
            .txl
            .on_request(now, key, dest, flow.transport.is_reliable());
        match verdict {
            ServerRequest::New {
                tx,
                send_100_trying,
            } => self.new_request(now, tx, msg, dest, send_100_trying),
            ServerRequest::Retransmission(_) | ServerRequest::AckForNon2xx(_) => {}
            ServerRequest::Merged { tx, .. } => {
                self.reply(now, tx, msg, dest, (482, "Loop Detected"), Vec::new())
            }
            ServerRequest::CancelTarget {
                cancel_tx,
                invite_tx,
            } => self.cancel(now, cancel_tx, invite_tx, msg, dest),
            ServerRequest::Ack2xx(_) | ServerRequest::StrayAck => self.ack(now, msg),
        }
        self.pump(now);
        self.tidy();
    }

    /// Handles a response that arrived (to one of our requests).
    pub fn handle_response(&mut self, now: Instant, msg: &Message<'_>) {
        let (Some(key), Some(status)) = (msg::response_key(msg), msg.status()) else {
            return;
        };
        let verdict = match self.txl.on_response(now, &key, status) {
            Ok(v) => v,
            Err(_) => return,
        };
        match verdict {
            ClientResponse::Deliver(tx) => self.deliver(now, tx, msg, status),
            ClientResponse::DeliverNeedsAck(tx) => {
                self.ack_failure(tx, msg);
                self.deliver(now, tx, msg, status);
            }
            ClientResponse::Absorbed => {}
            ClientResponse::Stray => trace!(status, "stray response dropped"),
        }
        self.pump(now);
        self.tidy();
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.txl.handle_timeout(now);
        self.pump(now);
        while let Some((at, id)) = self.deadlines.pop_due(now) {
            let live = self
                .calls
                .get(&id)
                .is_some_and(|c| c.data.timers.next_timeout() == Some(at));
            if !live {
                continue;
            }
            self.with_call(now, id, |mut call, ctx| {
                while let Some(timer) = call.data.timers.pop_expired(now) {
                    call = call.on_timer(ctx, timer);
                    if call.is_gone() {
                        break;
                    }
                }
                call
            });
            self.pump(now);
        }
        self.tidy();
    }

    /// The glue's answer to [`Action::Authenticate`].
    pub fn on_authenticated(
        &mut self,
        now: Instant,
        call: CallId,
        verdict: AuthVerdict,
    ) -> Result<(), B2buaError> {
        self.expect(
            call,
            |c| matches!(c.state, crate::call::State::Authorizing),
            "authentication",
        )?;
        self.with_call(now, call, |c, ctx| c.on_authenticated(ctx, verdict));
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// The glue's answer to [`Action::Locate`] (for the callee, or while ringing for the
    /// target of its busy or no-answer forwarding).
    pub fn on_located(
        &mut self,
        now: Instant,
        call: CallId,
        location: Location,
    ) -> Result<(), B2buaError> {
        self.expect(call, Call::is_locating, "location")?;
        let limits = self.limits(call, &location);
        self.with_call(now, call, |c, ctx| c.on_located(ctx, location, limits));
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// The glue's answer to [`Action::OpenMedia`]: the endpoints, or `None` when the media
    /// plane could not open them.
    pub fn on_media_opened(
        &mut self,
        now: Instant,
        call: CallId,
        media: Option<MediaAddrs>,
    ) -> Result<(), B2buaError> {
        self.expect(
            call,
            |c| matches!(c.state, crate::call::State::OpeningMedia(_)),
            "media",
        )?;
        self.with_call(now, call, |c, ctx| c.on_media_opened(ctx, media));
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// The media plane reports no RTP from the party on `leg` for too long: an answered
    /// call is hung up.
    pub fn on_rtp_timeout(
        &mut self,
        now: Instant,
        call: CallId,
        leg: Leg,
    ) -> Result<(), B2buaError> {
        if !self.with_call(now, call, |c, ctx| c.on_rtp_timeout(ctx, leg)) {
            return Err(B2buaError::NoSuchCall(call));
        }
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// The glue started recording the voicemail message of `call` ([`Action::Voicemail`]):
    /// the longest message length counts from now.
    pub fn on_voicemail_recording(&mut self, now: Instant, call: CallId) -> Result<(), B2buaError> {
        if !self.with_call(now, call, |c, ctx| c.on_voicemail_recording(ctx)) {
            return Err(B2buaError::NoSuchCall(call));
        }
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// The caller ended its voicemail message (a key press): BYE to the caller. Calls not
    /// in voicemail are left alone.
    pub fn end_voicemail(&mut self, now: Instant, call: CallId) -> Result<(), B2buaError> {
        if !self.with_call(now, call, |c, ctx| c.end_voicemail(ctx)) {
            return Err(B2buaError::NoSuchCall(call));
        }
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// Sending a [`Transmit`] of transaction `tx` failed.
    pub fn on_transport_error(&mut self, now: Instant, tx: TxId) {
        let _ = self.txl.on_transport_error(now, tx);
        self.pump(now);
        self.tidy();
    }

    /// Hangs a live call up from the PBX side (BYE on both legs, or CANCEL before an
    /// answer).
    pub fn hang_up(&mut self, now: Instant, call: CallId) -> Result<(), B2buaError> {
        if !self.calls.get(&call).is_some_and(Call::is_live) {
            return Err(B2buaError::NoSuchCall(call));
        }
        self.with_call(now, call, |c, ctx| {
            c.hang_up(ctx, "hangup by administrator")
        });
        self.pump(now);
        self.tidy();
        Ok(())
    }

    /// Ends every live call (shutdown): each gets its record.
    pub fn shutdown(&mut self, now: Instant) {
        let live: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.is_live())
            .map(|(id, _)| *id)
            .collect();
        for id in live {
            self.with_call(now, id, |c, ctx| c.hang_up(ctx, "shutdown"));
        }
        self.pump(now);
        self.tidy();
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next action for the glue.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.actions.pop_front()
    }

    /// When [`B2bua::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.deadlines.peek().map(|(at, _)| at);
        match (self.txl.poll_timeout(), calls) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Snapshots of the live calls (not those ending).
    pub fn calls(&self) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = self
            .calls
            .values()
            .filter(|c| c.is_live())
            .map(Call::info)
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// A snapshot of one call (live or ending).
    pub fn call(&self, id: CallId) -> Option<CallInfo> {
        self.calls.get(&id).map(Call::info)
    }

    /// Number of live calls.
    pub fn active_calls(&self) -> usize {
        self.calls.values().filter(|c| c.is_live()).count()
    }

    /// Number of calls kept, ending ones included.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// True when no call is kept.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Number of live transactions.
    pub fn transactions(&self) -> usize {
        self.txl.len()
    }

    /// Entries in the routing tables (dialogs, transactions), to check nothing leaks.
    pub fn index_entries(&self) -> usize {
        self.index.dialogs.len()
            + self.index.txs.len()
            + self.index.invites.len()
            + self.index.client_invites.len()
    }

    fn expect(
        &self,
        call: CallId,
        state: impl Fn(&Call) -> bool,
        input: &'static str,
    ) -> Result<(), B2buaError> {
        match self.calls.get(&call) {
            None => Err(B2buaError::NoSuchCall(call)),
            Some(c) if state(c) => Ok(()),
            Some(_) => Err(B2buaError::UnexpectedInput { call, input }),
        }
    }

    fn limits(&self, call: CallId, location: &Location) -> CallLimits {
        let Some(c) = self.calls.get(&call) else {
            return CallLimits::default();
        };
        let count = |number: &str| {
            self.calls
                .iter()
                .filter(|(id, other)| **id != call && other.occupies(number))
                .count()
        };
        let caller_limited = c
            .data
            .caller_party
            .as_ref()
            .is_some_and(|p| p.max_calls.is_some());
        let callee = match location {
            Location::Found { party, .. } if party.max_calls.is_some() => {
                Some(party.number.as_str())
            }
            _ => None,
        };
        CallLimits {
            caller_calls: if caller_limited {
                count(&c.data.caller)
            } else {
                0
            },
            callee_calls: callee.map(count).unwrap_or(0),
        }
    }

    /// Runs `f` on call `id` with a context, then files its deadline or forgets it.
    fn with_call(
        &mut self,
        now: Instant,
        id: CallId,
        f: impl FnOnce(Call, &mut Ctx<'_>) -> Call,
    ) -> bool {
        let Some(call) = self.calls.remove(&id) else {
            return false;
        };
        let before = call.data.timers.next_timeout();
        let mut ctx = Ctx {
            now,
            config: &self.config,
            txl: &mut self.txl,
            out: &mut self.out,
            rng: &mut self.rng,
            index: &mut self.index,
        };
        let call = f(call, &mut ctx);
        if call.is_gone() {
            self.forget(&call);
            return true;
        }
        let after = call.data.timers.next_timeout();
        if after != before {
            if let Some(at) = after {
                self.deadlines.push(at, id);
            }
        }
        self.calls.insert(id, call);
        true
    }

    fn forget(&mut self, call: &Call) {
        let d = &call.data;
        self.index
            .dialogs
            .remove(&(d.a.call_id.clone(), d.a.to_tag.clone()));
        if let Some(b) = &d.b {
            self.index
                .dialogs
                .remove(&(b.call_id.clone(), b.from_tag.clone()));
        }
        if self.index.invites.get(&d.a.tx) == Some(&d.id) {
            self.index.invites.remove(&d.a.tx);
        }
        trace!(call = %d.id, "call forgotten");
    }

    /// Moves the transaction layer's output to ours and reacts to its events.
    fn pump(&mut self, now: Instant) {
        loop {
            while let Some(t) = self.txl.poll_transmit() {
                self.out.transmits.push_back(Transmit {
                    dest: t.to,
                    bytes: t.bytes,
                    tx: Some(t.tx),
                });
            }
            let Some(event) = self.txl.poll_event() else {
                break;
            };
            match event {
                Event::Timeout(tx) => self.fail_tx(now, tx, 408, "Request Timeout"),
                Event::TransportError(tx) => self.fail_tx(now, tx, 503, "Service Unavailable"),
                Event::Terminated(tx) => {
                    self.index.txs.remove(&tx);
                    self.index.client_invites.remove(&tx);
                    self.index.invites.remove(&tx);
                }
                Event::AckTimeout(_) => {}
            }
        }
    }

    fn tidy(&mut self) {
        let calls = &self.calls;
        self.deadlines.compact(
            calls.len(),
            calls
                .iter()
                .filter_map(|(id, c)| c.data.timers.next_timeout().map(|at| (at, *id))),
        );
        self.deadlines
            .prune(|at, id| calls.get(&id).and_then(|c| c.data.timers.next_timeout()) == Some(at));
    }
}
