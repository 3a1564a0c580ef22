//! What the layer hands back to its caller: ids, verdicts, transmits and
//! events.

use std::fmt;

use bytes::Bytes;

/// Identifies one transaction for its whole life; never reused by a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub(crate) u64);

impl TxId {
    /// The raw number, for logs and metrics labels.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Serialized bytes the caller must send to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// The transaction that produced it (report send failures against it
    /// with [`TransactionLayer::on_transport_error`](crate::TransactionLayer::on_transport_error)).
    pub tx: TxId,
    /// The peer address or flow given when the transaction was created.
    pub to: A,
    /// The message, exactly as the TU supplied it.
    pub bytes: Bytes,
}

/// Something the TU must learn about, from [`TransactionLayer::poll_event`](crate::TransactionLayer::poll_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Timer B or F fired: the client transaction got no final response;
    /// the TU acts as if it received a 408. `Terminated` follows.
    Timeout(TxId),
    /// Timer H fired: the INVITE server transaction never got the ACK for
    /// its non-2xx final response. `Terminated` follows.
    AckTimeout(TxId),
    /// The transport reported a failure for this transaction; a client TU
    /// acts as if it received a 503. `Terminated` follows.
    TransportError(TxId),
    /// The transaction is gone; its id will not be reported again.
    Terminated(TxId),
}

/// What an arriving request is, from [`TransactionLayer::on_request`](crate::TransactionLayer::on_request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRequest {
    /// A new server transaction: pass the request to the TU, which answers
    /// through `send_response`. For an INVITE `send_100_trying` is set: the TU
    /// sends a 100 Trying right away, or hands it to
    /// [`TransactionLayer::defer_trying`](crate::TransactionLayer::defer_trying), which
    /// sends it only when the TU has not answered within 200 ms (RFC 3261 section 17.2.1).
    New {
        /// The new transaction.
        tx: TxId,
        /// True for INVITE: send 100 Trying now.
        send_100_trying: bool,
    },
    /// A copy of a request already being handled: absorbed; the last
    /// response, if any, has been queued for re-sending.
    Retransmission(TxId),
    /// The ACK for a 300-699 final response of this INVITE transaction:
    /// absorbed (the transaction is Confirmed).
    AckForNon2xx(TxId),
    /// An ACK that matched an INVITE transaction which sent a 2xx (RFC 6026
    /// Accepted): pass to the TU, the ACK for 2xx is end-to-end.
    Ack2xx(TxId),
    /// An ACK that matched no transaction (normally the ACK for a 2xx, which
    /// carries a new branch): pass it to the TU to match against dialogs.
    StrayAck,
    /// A merged request (RFC 3261 section 8.2.2.2): no To tag, and its From
    /// tag, Call-ID and CSeq equal those of the ongoing transaction
    /// `original`, reached by another path. A server transaction `tx` was
    /// created for it: the TU answers 482 (Loop Detected) on `tx`.
    Merged {
        /// The transaction created for this copy.
        tx: TxId,
        /// The transaction of the copy that arrived first.
        original: TxId,
    },
    /// A new CANCEL server transaction. The TU answers it with 200 and the
    /// INVITE with 487 when `invite_tx` is still Proceeding, or answers the
    /// CANCEL with 481 when `invite_tx` is `None`.
    CancelTarget {
        /// The CANCEL's own (non-INVITE) transaction.
        cancel_tx: TxId,
        /// The INVITE server transaction it refers to, if any.
        invite_tx: Option<TxId>,
    },
}

/// What an arriving response is, from [`TransactionLayer::on_response`](crate::TransactionLayer::on_response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientResponse {
    /// Pass the response to the TU.
    Deliver(TxId),
    /// A 300-699 final response to an INVITE: pass it to the TU, which must
    /// build the ACK and hand it over with `set_ack` before the next
    /// `handle_timeout` (the layer sends it, and re-sends it for each copy
    /// of the response).
    DeliverNeedsAck(TxId),
    /// A retransmission the transaction absorbed.
    Absorbed,
    /// No client transaction matches: the caller decides (a UAC core still
    /// ACKs a stray 2xx to an INVITE; anything else is usually dropped).
    Stray,
}

/// Live transactions per kind, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxCounts {
    /// INVITE client transactions.
    pub client_invite: usize,
    /// Non-INVITE client transactions.
    pub client_non_invite: usize,
    /// INVITE server transactions.
    pub server_invite: usize,
    /// Non-INVITE server transactions.
    pub server_non_invite: usize,
}

impl TxCounts {
    /// Sum over all kinds.
    pub fn total(&self) -> usize {
        self.client_invite + self.client_non_invite + self.server_invite + self.server_non_invite
    }
}
