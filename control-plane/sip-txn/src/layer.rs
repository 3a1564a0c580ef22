//! The transaction layer: owns every transaction, routes arriving messages
//! to them, and collects their transmits, events and deadlines.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Instant;

use bytes::Bytes;
use tracing::{debug, trace};

use crate::client_invite::ClientInvite;
use crate::client_non_invite::ClientNonInvite;
use crate::deadline::DeadlineQueue;
use crate::index::{ClientKey, Index, ServerKeys};
use crate::machine::{Ctx, Machine, Termination};
use crate::server_invite::ServerInvite;
use crate::server_non_invite::ServerNonInvite;
use crate::timer::{TimerKind, TimerTable};
use crate::{
    ClientResponse, Config, Event, Method, RequestKey, ResponseKey, ServerRequest, Transmit,
    TxCounts, TxError, TxId, TxKind, TxState,
};

/// Which index entries a transaction owns.
#[derive(Debug)]
enum Keys {
    Client(ClientKey),
    Server(ServerKeys),
}

#[derive(Debug)]
struct Transaction<A> {
    peer: A,
    reliable: bool,
    timers: TimerTable,
    machine: Machine,
    keys: Keys,
}

/// A sans-IO SIP transaction layer (RFC 3261 section 17 with RFC 6026).
///
/// `A` is the caller's address or flow token for a peer. The layer never
/// reads a clock, sleeps or does I/O: every input carries `now`, output is
/// drained with [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event), and the caller calls
/// [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) is reached.
#[derive(Debug)]
pub struct TransactionLayer<A> {
    config: Config,
    next_id: u64,
    /// The latest `now` seen, for calls that take none.
    now: Option<Instant>,
    txs: HashMap<TxId, Transaction<A>>,
    index: Index,
    deadlines: DeadlineQueue,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<Event>,
    counts: TxCounts,
    scratch: Vec<Bytes>,
}

impl<A: Clone + Eq + Hash + Debug> TransactionLayer<A> {
    /// An empty layer using `config`.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            next_id: 0,
            now: None,
            txs: HashMap::new(),
            index: Index::default(),
            deadlines: DeadlineQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counts: TxCounts::default(),
            scratch: Vec::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Classifies an arriving request (RFC 3261 section 17.2.3 matching, with
    /// the RFC 2543 fallback when the branch lacks the magic cookie) and
    /// creates a server transaction for it when it is new. `from` is where
    /// responses go; `reliable` is true for stream transports.
    pub fn on_request(
        &mut self,
        now: Instant,
        key: RequestKey,
        from: A,
        reliable: bool,
    ) -> ServerRequest {
        self.observe(now);
        let verdict = self.classify_request(now, key, from, reliable);
        self.tidy();
        verdict
    }

    fn classify_request(
        &mut self,
        now: Instant,
        key: RequestKey,
        from: A,
        reliable: bool,
    ) -> ServerRequest {
        if let Some(id) = self.index.find_server(&key) {
            if key.method.is_ack() {
                return self
                    .drive(now, id, |m, ctx| m.on_ack(ctx))
                    .unwrap_or(ServerRequest::StrayAck);
            }
            self.drive(now, id, |m, ctx| m.on_request_retransmit(ctx));
            return ServerRequest::Retransmission(id);
        }
        match key.method {
            Method::Ack => ServerRequest::StrayAck,
            Method::Cancel => {
                let invite_tx = self.index.find_cancel_target(&key);
                let cancel_tx = self.create_server(key, from, reliable);
                ServerRequest::CancelTarget {
                    cancel_tx,
                    invite_tx,
                }
            }
            _ => {
                let original = if self.config.detect_merged_requests {
                    self.index.find_merged(&key)
                } else {
                    None
                };
                let send_100_trying = key.method.is_invite();
                let tx = self.create_server(key, from, reliable);
                match original {
                    Some(original) => ServerRequest::Merged { tx, original },
                    None => ServerRequest::New {
                        tx,
                        send_100_trying,
                    },
                }
            }
        }
    }

    fn create_server(&mut self, key: RequestKey, from: A, reliable: bool) -> TxId {
        let id = self.alloc_id();
        let keys = self.index.insert_server(&key, id);
        let machine = if key.method.is_invite() {
            Machine::ServerInvite(ServerInvite::start())
        } else {
            Machine::ServerNonInvite(ServerNonInvite::start())
        };
        trace!(tx = %id, method = %key.method, reliable, "server transaction created");
        self.insert(
            id,
            Transaction {
                peer: from,
                reliable,
                timers: TimerTable::default(),
                machine,
                keys: Keys::Server(keys),
            },
        );
        id
    }

    /// Sends a response on a server transaction and advances it.
    pub fn send_response(
        &mut self,
        now: Instant,
        tx: TxId,
        status: u16,
        bytes: Bytes,
    ) -> Result<(), TxError> {
        check_status(status)?;
        self.observe(now);
        let result = self
            .drive(now, tx, |m, ctx| m.send_response(ctx, status, bytes))
            .unwrap_or(Err(TxError::UnknownTransaction(tx)));
        self.tidy();
        result
    }

    /// Hands an INVITE server transaction the 100 (Trying) to send if the TU sends no
    /// response of its own within [`Config::trying_delay`](crate::Config::trying_delay)
    /// (RFC 3261 section 17.2.1), or when a copy of the INVITE arrives first. A TU that
    /// usually answers or challenges at once then sends no 100 at all.
    pub fn defer_trying(&mut self, now: Instant, tx: TxId, trying: Bytes) -> Result<(), TxError> {
        self.observe(now);
        let result = self
            .drive(now, tx, |m, ctx| m.defer_trying(ctx, trying))
            .unwrap_or(Err(TxError::UnknownTransaction(tx)));
        self.tidy();
        result
    }

    /// Like [`send_response`](Self::send_response), also recording the To
    /// tag of the response. Only RFC 2543 transactions (no magic cookie)
    /// use it: their ACK must carry this tag to match. Without it such an
    /// ACK is matched without looking at its To tag.
    pub fn send_response_with_to_tag(
        &mut self,
        now: Instant,
        tx: TxId,
        status: u16,
        to_tag: &str,
        bytes: Bytes,
    ) -> Result<(), TxError> {
        self.send_response(now, tx, status, bytes)?;
        if let Some(Transaction {
            keys: Keys::Server(keys),
            ..
        }) = self.txs.get(&tx)
        {
            self.index.set_response_to_tag(keys, tx, to_tag);
        }
        Ok(())
    }

    /// Starts a client transaction: `bytes` is sent to `to` at once, then
    /// retransmitted as the state machine requires.
    pub fn send_request(
        &mut self,
        now: Instant,
        key: RequestKey,
        to: A,
        reliable: bool,
        bytes: Bytes,
    ) -> Result<TxId, TxError> {
        if key.method.is_ack() {
            return Err(TxError::AckIsNotATransaction);
        }
        let client_key = ClientKey::of_request(&key);
        if self.index.contains_client(&client_key) {
            return Err(TxError::DuplicateTransaction {
                branch: key.branch,
                method: key.method,
            });
        }
        self.observe(now);
        let id = self.alloc_id();
        self.index.insert_client(client_key, id);
        let mut timers = TimerTable::default();
        let mut sends = std::mem::take(&mut self.scratch);
        let machine = {
            let mut ctx = Ctx {
                tx: id,
                now,
                config: &self.config,
                reliable,
                timers: &mut timers,
                sends: &mut sends,
            };
            if key.method.is_invite() {
                Machine::ClientInvite(ClientInvite::start(&mut ctx, bytes))
            } else {
                Machine::ClientNonInvite(ClientNonInvite::start(&mut ctx, bytes))
            }
        };
        self.queue_sends(id, &to, &mut sends);
        self.scratch = sends;
        if let Some(at) = timers.next_timeout() {
            self.deadlines.push(at, id);
        }
        trace!(tx = %id, method = %key.method, reliable, "client transaction created");
        self.insert(
            id,
            Transaction {
                peer: to,
                reliable,
                timers,
                machine,
                keys: Keys::Client(ClientKey::of_request(&key)),
            },
        );
        self.tidy();
        Ok(id)
    }

    /// Classifies an arriving response (RFC 3261 section 17.1.3: branch and
    /// CSeq method) and advances its client transaction.
    pub fn on_response(
        &mut self,
        now: Instant,
        key: &ResponseKey,
        status: u16,
    ) -> Result<ClientResponse, TxError> {
        check_status(status)?;
        self.observe(now);
        let Some(id) = self.index.find_client(key) else {
            return Ok(ClientResponse::Stray);
        };
        let verdict = self
            .drive(now, id, |m, ctx| m.on_response(ctx, status))
            .unwrap_or(ClientResponse::Stray);
        self.tidy();
        Ok(verdict)
    }

    /// Hands over the ACK for a 300-699 final response after
    /// [`ClientResponse::DeliverNeedsAck`]: it is sent now and again for
    /// every copy of the final response until Timer D fires.
    pub fn set_ack(&mut self, tx: TxId, ack: Bytes) -> Result<(), TxError> {
        let Some(now) = self.now else {
            return Err(TxError::UnknownTransaction(tx));
        };
        let result = self
            .drive(now, tx, |m, ctx| m.set_ack(ctx, ack))
            .unwrap_or(Err(TxError::UnknownTransaction(tx)));
        self.tidy();
        result
    }

    /// Reports that sending a [`Transmit`] of `tx` failed: the transaction
    /// ends with [`Event::TransportError`] then [`Event::Terminated`].
    pub fn on_transport_error(&mut self, now: Instant, tx: TxId) -> Result<(), TxError> {
        self.observe(now);
        self.drive(now, tx, |m, _| m.abort(Termination::TransportError))
            .ok_or(TxError::UnknownTransaction(tx))?;
        self.tidy();
        Ok(())
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        while let Some((at, id)) = self.deadlines.pop_due(now) {
            if !self.is_live(at, id) {
                continue;
            }
            self.drive(now, id, |machine, ctx| {
                while let Some(kind) = ctx.timers.pop_expired(now) {
                    machine.on_timer(ctx, kind);
                    if machine.termination().is_some() {
                        break;
                    }
                }
            });
        }
        self.tidy();
    }

    /// The earliest timer deadline over all transactions (O(1)).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|(at, _)| at)
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        self.transmits.pop_front()
    }

    /// The next event for the TU, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Live transactions per kind.
    pub fn counts(&self) -> TxCounts {
        self.counts
    }

    /// The state of a live transaction.
    pub fn state(&self, tx: TxId) -> Option<TxState> {
        self.txs.get(&tx).map(|t| t.machine.state())
    }

    /// The kind of a live transaction.
    pub fn kind(&self, tx: TxId) -> Option<TxKind> {
        self.txs.get(&tx).map(|t| t.machine.kind())
    }

    /// The peer a live transaction sends to.
    pub fn peer(&self, tx: TxId) -> Option<&A> {
        self.txs.get(&tx).map(|t| &t.peer)
    }

    /// Whether a live transaction runs over a reliable transport.
    pub fn is_reliable(&self, tx: TxId) -> Option<bool> {
        self.txs.get(&tx).map(|t| t.reliable)
    }

    /// When timer `kind` of a live transaction fires, if armed.
    pub fn timer(&self, tx: TxId, kind: TimerKind) -> Option<Instant> {
        self.txs.get(&tx).and_then(|t| t.timers.get(kind))
    }

    fn observe(&mut self, now: Instant) {
        self.now = Some(self.now.map_or(now, |seen| seen.max(now)));
    }

    fn alloc_id(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    fn insert(&mut self, id: TxId, tx: Transaction<A>) {
        *self.count_mut(tx.machine.kind()) += 1;
        self.txs.insert(id, tx);
    }

    fn count_mut(&mut self, kind: TxKind) -> &mut usize {
        match kind {
            TxKind::ClientInvite => &mut self.counts.client_invite,
            TxKind::ClientNonInvite => &mut self.counts.client_non_invite,
            TxKind::ServerInvite => &mut self.counts.server_invite,
            TxKind::ServerNonInvite => &mut self.counts.server_non_invite,
        }
    }

    fn queue_sends(&mut self, id: TxId, to: &A, sends: &mut Vec<Bytes>) {
        for bytes in sends.drain(..) {
            self.transmits.push_back(Transmit {
                tx: id,
                to: to.clone(),
                bytes,
            });
        }
    }

    /// Runs `f` on transaction `id`, then flushes its sends, reschedules
    /// its deadline, and removes it if it terminated. `None` if unknown.
    fn drive<R>(
        &mut self,
        now: Instant,
        id: TxId,
        f: impl FnOnce(&mut Machine, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let tx = self.txs.get_mut(&id)?;
        let before = tx.timers.next_timeout();
        let mut sends = std::mem::take(&mut self.scratch);
        let result = {
            let mut ctx = Ctx {
                tx: id,
                now,
                config: &self.config,
                reliable: tx.reliable,
                timers: &mut tx.timers,
                sends: &mut sends,
            };
            f(&mut tx.machine, &mut ctx)
        };
        for bytes in sends.drain(..) {
            self.transmits.push_back(Transmit {
                tx: id,
                to: tx.peer.clone(),
                bytes,
            });
        }
        self.scratch = sends;
        let termination = tx.machine.termination();
        let after = tx.timers.next_timeout();
        match termination {
            Some(reason) => self.finish(id, reason),
            None => {
                if let Some(at) = after.filter(|_| after != before) {
                    self.deadlines.push(at, id);
                }
            }
        }
        Some(result)
    }

    /// Removes a terminated transaction and reports it.
    fn finish(&mut self, id: TxId, reason: Termination) {
        let Some(tx) = self.txs.remove(&id) else {
            return;
        };
        match &tx.keys {
            Keys::Client(key) => self.index.remove_client(key, id),
            Keys::Server(keys) => self.index.remove_server(keys, id),
        }
        let kind = tx.machine.kind();
        let count = self.count_mut(kind);
        *count = count.saturating_sub(1);
        match reason {
            Termination::Normal => {}
            Termination::Timeout => {
                debug!(tx = %id, ?kind, "transaction timed out");
                self.events.push_back(Event::Timeout(id));
            }
            Termination::AckTimeout => {
                debug!(tx = %id, "no ACK for final response");
                self.events.push_back(Event::AckTimeout(id));
            }
            Termination::TransportError => {
                debug!(tx = %id, ?kind, "transport error");
                self.events.push_back(Event::TransportError(id));
            }
        }
        trace!(tx = %id, ?kind, "transaction terminated");
        self.events.push_back(Event::Terminated(id));
    }

    fn is_live(&self, at: Instant, id: TxId) -> bool {
        self.txs.get(&id).and_then(|t| t.timers.next_timeout()) == Some(at)
    }

    /// Restores the queue invariant: the top entry, if any, is live.
    fn tidy(&mut self) {
        if self.deadlines.needs_compaction(self.txs.len()) {
            let live = self
                .txs
                .iter()
                .filter_map(|(id, t)| t.timers.next_timeout().map(|at| (at, *id)));
            self.deadlines.rebuild(live);
        }
        let txs = &self.txs;
        self.deadlines
            .prune(|at, id| txs.get(&id).and_then(|t| t.timers.next_timeout()) == Some(at));
    }

    /// Number of index entries, to check nothing leaks.
    #[cfg(test)]
    pub(crate) fn index_entries(&self) -> usize {
        self.index.entries()
    }

    /// The earliest deadline by a full scan, to check the queue against.
    #[cfg(test)]
    pub(crate) fn scan_next_timeout(&self) -> Option<Instant> {
        self.txs
            .values()
            .filter_map(|t| t.timers.next_timeout())
            .min()
    }

    /// Entries in the deadline queue, stale ones included.
    #[cfg(test)]
    pub(crate) fn queue_len(&self) -> usize {
        self.deadlines.len()
    }
}

fn check_status(status: u16) -> Result<(), TxError> {
    if (100..=699).contains(&status) {
        Ok(())
    } else {
        Err(TxError::InvalidStatus(status))
    }
}
