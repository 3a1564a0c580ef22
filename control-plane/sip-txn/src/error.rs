//! The crate's error type.

use crate::{Method, TxId, TxKind, TxState};

/// Why the layer refused a call. No transaction changes state when one of
/// these is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// No live transaction has this id (it never existed or has terminated).
    #[error("unknown transaction {0}")]
    UnknownTransaction(TxId),
    /// The transaction's current state does not allow the operation (for
    /// example a second final response, or a provisional after a 2xx).
    #[error("{operation} not allowed on {tx} in state {state}")]
    InvalidState {
        /// The transaction.
        tx: TxId,
        /// Its state when the call was made.
        state: TxState,
        /// The refused operation.
        operation: &'static str,
    },
    /// The operation does not apply to this kind of transaction (for example
    /// `send_response` on a client transaction).
    #[error("{operation} does not apply to {tx}, a {kind:?} transaction")]
    WrongKind {
        /// The transaction.
        tx: TxId,
        /// Its kind.
        kind: TxKind,
        /// The refused operation.
        operation: &'static str,
    },
    /// A status code outside 100..=699.
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// `send_request` with a branch and method already used by a live
    /// client transaction.
    #[error("a client transaction for branch {branch:?} and method {method} already exists")]
    DuplicateTransaction {
        /// The branch of the refused request.
        branch: String,
        /// Its method.
        method: Method,
    },
    /// `send_request` with an ACK: ACKs are sent outside client transactions
    /// (the ACK for a non-2xx goes through `set_ack`, the ACK for a 2xx is
    /// sent by the TU directly).
    #[error("ACK does not create a client transaction")]
    AckIsNotATransaction,
}
