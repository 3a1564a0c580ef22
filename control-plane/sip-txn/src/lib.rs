//! Sans-IO SIP transaction layer: RFC 3261 section 17 (Timers A-K) with the
//! RFC 6026 Accepted state (Timers L and M).
//!
//! The layer never parses SIP. The caller extracts a [`RequestKey`] or
//! [`ResponseKey`] from each parsed message, hands over serialized bytes for
//! everything the layer may have to retransmit, and drives time explicitly:
//!
//! - input: [`TransactionLayer::on_request`], [`TransactionLayer::on_response`],
//!   [`TransactionLayer::send_request`], [`TransactionLayer::send_response`],
//!   [`TransactionLayer::set_ack`], [`TransactionLayer::handle_timeout`];
//! - output: [`TransactionLayer::poll_transmit`], [`TransactionLayer::poll_event`],
//!   [`TransactionLayer::poll_timeout`].
//!
//! 2xx responses to INVITE follow RFC 6026: both INVITE transactions enter
//! an Accepted state (Timer L on the server, Timer M on the client) instead
//! of terminating at once, so INVITE copies are absorbed and further 2xx
//! reach the TU. On a reliable transport Timers A, E and G are never started
//! and Timers D, I, J and K last zero.

mod client_invite;
mod client_non_invite;
mod config;
mod deadline;
mod error;
mod index;
mod key;
mod layer;
mod machine;
mod output;
mod server_invite;
mod server_non_invite;
mod timer;

#[cfg(test)]
mod matching_tests;
#[cfg(test)]
mod sim;

/// The byte buffer type the layer stores and transmits.
pub use bytes::Bytes;
pub use config::Config;
pub use error::TxError;
pub use key::{Method, RequestKey, ResponseKey, MAGIC_COOKIE};
pub use layer::TransactionLayer;
pub use machine::{TxKind, TxState};
pub use output::{ClientResponse, Event, ServerRequest, Transmit, TxCounts, TxId};
pub use timer::TimerKind;
