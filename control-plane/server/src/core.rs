//! The SIP core: parse, guard, match transactions, dispatch to the transaction user, and send.
//!
//! Parsing and transaction matching are sans-IO crates; this module is the glue that owns the
//! transaction layer (behind a short-lived lock, never held across an await), the timer task,
//! and the per-request tasks of the transaction users.
//!
//! Call signalling (INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, every request inside a
//! call's dialog, and every response) goes to [`Calls`], which has its own transaction layer
//! inside the B2BUA. Those messages are handed over on the transport's receive task, in
//! arrival order and with no hop to another task; REGISTER and out-of-dialog OPTIONS come
//! here through a channel and get a task each.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, trace, warn};
use warden_sip_auth::{RateLimitConfig, RateLimiter};
use warden_sip_proto::{
    parse_message, response_to, salvage_for_error_response, validate_request, Message, RPort,
};
use warden_sip_txn::{Event, ServerRequest, TransactionLayer, TxId};

use crate::calls::{self, Calls};
use crate::metrics::{Metrics, ReasonLabels, TransportLabels};
use crate::registrar::Registrar;
use crate::request::{self, Check};
use crate::transport::{Flow, Inbound, TransportObserver, Transports};

/// Where a transaction's messages go: the flow it came on and the destination address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Dest {
    pub(crate) flow: Flow,
    pub(crate) to: SocketAddr,
}

/// Settings the core needs.
pub(crate) struct CoreSettings {
    pub(crate) server_header: String,
    pub(crate) rate_limit: RateLimitConfig,
}

/// The SIP core shared by all tasks.
pub(crate) struct SipCore {
    txl: Mutex<TransactionLayer<Dest>>,
    timer_wake: Notify,
    transports: Transports,
    metrics: Arc<Metrics>,
    registrar: Registrar,
    calls: Arc<Calls>,
    rate: Mutex<RateLimiter>,
    settings: CoreSettings,
}

impl SipCore {
    pub(crate) fn new(
        transports: Transports,
        metrics: Arc<Metrics>,
        registrar: Registrar,
        calls: Arc<Calls>,
        settings: CoreSettings,
    ) -> Arc<Self> {
        Arc::new(SipCore {
            txl: Mutex::new(TransactionLayer::new(warden_sip_txn::Config::default())),
            timer_wake: Notify::new(),
            transports,
            metrics,
            rate: Mutex::new(RateLimiter::new(settings.rate_limit)),
            registrar,
            calls,
            settings,
        })
    }

    pub(crate) fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Receives inbound messages until every transport is gone.
    pub(crate) async fn run(self: Arc<Self>, mut inbound: mpsc::Receiver<Inbound>) {
        tokio::spawn(self.clone().timer_loop());
        // Call messages were taken on the transports' tasks ([`TransportObserver::call_message`]).
        while let Some(msg) = inbound.recv().await {
            let core = self.clone();
            tokio::spawn(async move { core.on_inbound(msg).await });
        }
    }

    /// Hands a call message to the B2BUA, in arrival order. Returns false when the generic
    /// path must handle it: it does not parse, or a request fails the RFC 3261 §8.2 checks
    /// (both answered there).
    fn on_call_message(&self, flow: Flow, data: &[u8]) -> bool {
        let Ok(msg) = parse_message(data) else {
            return false;
        };
        if msg.is_request() {
            if validate_request(&msg).is_err() {
                return false;
            }
            self.metrics
                .request("in", msg.method().map(|m| m.as_str()).unwrap_or(""));
        } else {
            let method = msg.cseq().map(|c| c.method.as_str()).unwrap_or("");
            self.metrics
                .response("in", method, msg.status().unwrap_or(0));
        }
        self.calls.handle(flow, &msg);
        true
    }

    /// Sleeps until the transaction layer's next deadline and drives its timers.
    async fn timer_loop(self: Arc<Self>) {
        loop {
            let next = self.txl.lock().ok().and_then(|t| t.poll_timeout());
            match next {
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline.into()) => {
                            if let Ok(mut t) = self.txl.lock() {
                                t.handle_timeout(Instant::now());
                            }
                            self.flush().await;
                        }
                        _ = self.timer_wake.notified() => {}
                    }
                }
                None => self.timer_wake.notified().await,
            }
        }
    }

    /// Sends everything the transaction layer queued and consumes its events.
    async fn flush(&self) {
        let (transmits, events) = match self.txl.lock() {
            Ok(mut t) => {
                let mut out = Vec::new();
                while let Some(x) = t.poll_transmit() {
                    out.push(x);
                }
                let mut ev = Vec::new();
                while let Some(e) = t.poll_event() {
                    ev.push(e);
                }
                (out, ev)
            }
            Err(_) => return,
        };
        self.timer_wake.notify_one();
        for t in transmits {
            if let Err(e) = self.transports.send(&t.to.flow, t.to.to, t.bytes).await {
                debug!(error = %e, tx = %t.tx, "send failed");
                if let Ok(mut l) = self.txl.lock() {
                    let _ = l.on_transport_error(Instant::now(), t.tx);
                }
            }
        }
        for e in events {
            trace!(event = ?e, "transaction event");
            if let Event::Timeout(_) | Event::TransportError(_) = e {
                // Client transactions (B2BUA) consume these; the registrar has none.
            }
        }
    }

    async fn on_inbound(self: Arc<Self>, msg: Inbound) {
        let flow = msg.flow;
        let data = msg.data;
        let parsed = match parse_message(&data) {
            Ok(m) => m,
            Err(e) => {
                self.metrics
                    .parse_errors
                    .get_or_create(&TransportLabels {
                        transport: flow.transport.as_str(),
                    })
                    .inc();
                trace!(error = %e, peer = %flow.peer, "unparsable message");
                if let Some(salvaged) = salvage_for_error_response(&data) {
                    let status = e.status_code();
                    let mut out = Vec::with_capacity(512);
                    salvaged
                        .response(status, e.reason_phrase())
                        .received_from(flow.peer)
                        .header("Server", self.settings.server_header.as_str())
                        .write(&mut out);
                    self.metrics.response("out", salvaged.method, status);
                    let to = reply_address(flow, None);
                    let _ = self.transports.send(&flow, to, Bytes::from(out)).await;
                }
                return;
            }
        };
        if parsed.is_response() {
            let method = parsed.cseq().map(|c| c.method.as_str()).unwrap_or("");
            self.metrics
                .response("in", method, parsed.status().unwrap_or(0));
            // No client transactions yet: a stray response is dropped (RFC 3261 §18.1.2).
            return;
        }
        self.on_request(flow, &parsed).await;
    }

    async fn on_request(&self, flow: Flow, msg: &Message<'_>) {
        let method = msg.method().map(|m| m.as_str()).unwrap_or("");
        self.metrics.request("in", method);
        let rport = msg.top_via().and_then(|v| v.rport());
        let dest = Dest {
            flow,
            to: reply_address(flow, msg.top_via().map(|v| (v.port, rport))),
        };
        // RFC 3261 §8.2: mandatory headers present, single-instance headers not repeated.
        if let Err(e) = validate_request(msg) {
            self.metrics
                .parse_errors
                .get_or_create(&TransportLabels {
                    transport: flow.transport.as_str(),
                })
                .inc();
            let reason = e.reason_phrase();
            return self
                .stateless(msg, flow, dest, e.status_code(), &reason, &[])
                .await;
        }
        // Requests inside a call's dialog (OPTIONS, MESSAGE, NOTIFY...) belong to the call.
        let in_dialog = msg.to().and_then(|t| t.tag()).is_some();
        if in_dialog && msg.method() != Some(warden_sip_proto::Method::Register) {
            self.calls.handle(flow, msg);
            return;
        }
        let Some(key) = warden_b2bua::request_key(msg) else {
            return self
                .stateless(msg, flow, dest, 400, "Missing Transaction Headers", &[])
                .await;
        };
        let verdict = match self.txl.lock() {
            Ok(mut t) => t.on_request(Instant::now(), key, dest, flow.transport.is_reliable()),
            Err(_) => return,
        };
        match verdict {
            ServerRequest::New { tx, .. } => self.dispatch(tx, flow, msg).await,
            ServerRequest::Retransmission(_) => self.flush().await,
            ServerRequest::Merged { tx, .. } => {
                self.respond(tx, msg, flow, 482, "Loop Detected", &[]).await
            }
            ServerRequest::CancelTarget {
                cancel_tx,
                invite_tx: _,
            } => {
                // No INVITE server transactions are kept by the TU yet: nothing to cancel.
                self.respond(
                    cancel_tx,
                    msg,
                    flow,
                    481,
                    "Call/Transaction Does Not Exist",
                    &[],
                )
                .await
            }
            ServerRequest::AckForNon2xx(_) | ServerRequest::Ack2xx(_) | ServerRequest::StrayAck => {
            }
        }
    }

    /// Hands a new server transaction to its transaction user.
    async fn dispatch(&self, tx: TxId, flow: Flow, msg: &Message<'_>) {
        match request::check(msg) {
            Check::Ok => {}
            Check::Reject {
                status,
                reason,
                headers,
            } => {
                return self.respond(tx, msg, flow, status, reason, &headers).await;
            }
        }
        let method = msg.method().map(|m| m.as_str()).unwrap_or("");
        match method {
            "REGISTER" => match request::register(msg, flow) {
                Ok(req) => {
                    let reply = self.registrar.handle(&req, &self.metrics).await;
                    let headers: Vec<(&str, String)> = reply.headers;
                    self.respond(tx, msg, flow, reply.status, reply.reason, &headers)
                        .await;
                }
                Err(reason) => self.respond(tx, msg, flow, 400, reason, &[]).await,
            },
            "OPTIONS" => {
                let headers = request::options_headers();
                self.respond(tx, msg, flow, 200, "OK", &headers).await
            }
            _ => {
                let allow = ("Allow", request::ALLOW.to_string());
                self.respond(tx, msg, flow, 501, "Not Implemented", &[allow])
                    .await
            }
        }
    }

    /// Answers through the transaction (which owns retransmissions) and flushes.
    async fn respond(
        &self,
        tx: TxId,
        msg: &Message<'_>,
        flow: Flow,
        status: u16,
        reason: &str,
        headers: &[(&str, String)],
    ) {
        let bytes = self.build(msg, flow, status, reason, headers);
        let method = msg.method().map(|m| m.as_str()).unwrap_or("");
        self.metrics.response("out", method, status);
        let sent = match self.txl.lock() {
            Ok(mut t) => t.send_response(Instant::now(), tx, status, bytes),
            Err(_) => return,
        };
        if let Err(e) = sent {
            warn!(error = %e, %tx, status, "response not accepted by the transaction");
        }
        self.flush().await;
    }

    /// Answers without a transaction (the request could not be matched).
    async fn stateless(
        &self,
        msg: &Message<'_>,
        flow: Flow,
        dest: Dest,
        status: u16,
        reason: &str,
        headers: &[(&str, String)],
    ) {
        let bytes = self.build(msg, flow, status, reason, headers);
        let method = msg.method().map(|m| m.as_str()).unwrap_or("");
        self.metrics.response("out", method, status);
        let _ = self.transports.send(&dest.flow, dest.to, bytes).await;
    }

    fn build(
        &self,
        msg: &Message<'_>,
        flow: Flow,
        status: u16,
        reason: &str,
        headers: &[(&str, String)],
    ) -> Bytes {
        // Owned values: the builder borrows only from the request's buffer.
        let mut b = response_to(msg, status, reason.to_string()).received_from(flow.peer);
        if status > 100 {
            b = b.to_tag(request::to_tag(msg));
        }
        for (name, value) in headers {
            b = b.header(name.to_string(), value.clone());
        }
        b = b.header("Server", self.settings.server_header.clone());
        let mut out = Vec::with_capacity(512);
        b.write(&mut out);
        Bytes::from(out)
    }
}

/// Where responses go (RFC 3261 §18.2.2 with RFC 3581): on a stream, the connection; over UDP,
/// the source address when `rport` was asked for, otherwise the source IP and the Via port.
fn reply_address(flow: Flow, via: Option<(Option<u16>, Option<RPort>)>) -> SocketAddr {
    match (flow.transport.is_reliable(), via) {
        (true, _) | (false, None) => flow.peer,
        (false, Some((_, Some(_)))) => flow.peer,
        (false, Some((port, None))) => SocketAddr::new(flow.peer.ip(), port.unwrap_or(5060)),
    }
}

impl TransportObserver for SipCore {
    fn call_message(&self, flow: Flow, data: &[u8]) -> bool {
        self.calls.note_flow(flow);
        calls::is_call_message(data) && self.on_call_message(flow, data)
    }

    fn frame_error(&self, transport: crate::transport::Transport) {
        self.metrics
            .parse_errors
            .get_or_create(&TransportLabels {
                transport: transport.as_str(),
            })
            .inc();
    }

    fn dropped(&self, peer: SocketAddr) -> bool {
        let now = Instant::now();
        if self.registrar.authenticator().is_banned(peer.ip(), now) {
            self.metrics
                .dropped
                .get_or_create(&ReasonLabels { reason: "banned" })
                .inc();
            return true;
        }
        let allowed = self
            .rate
            .lock()
            .map(|mut r| r.allow(peer.ip(), now))
            .unwrap_or(true);
        if !allowed {
            self.metrics
                .dropped
                .get_or_create(&ReasonLabels {
                    reason: "rate_limited",
                })
                .inc();
        }
        !allowed
    }
}
