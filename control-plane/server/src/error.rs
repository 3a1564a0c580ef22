//! The control plane's error type.

use std::net::SocketAddr;

/// Errors of the control plane's runtime (not of SIP processing, which answers with statuses).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A listen address could not be bound (in use, no permission, bad address).
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Sending a datagram failed.
    #[error("cannot send to {to}: {source}")]
    Send {
        /// Destination.
        to: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// No UDP socket is bound on this local address.
    #[error("no transport bound on {0}")]
    NoTransport(SocketAddr),
    /// The TCP connection a response should go back on has closed.
    #[error("connection to {0} is gone")]
    ConnectionGone(SocketAddr),
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] warden_storage::StorageError),
    /// The media plane could not start (cores, ports, locked-memory limit).
    #[error("media plane: {0}")]
    Media(String),
    /// The configuration cannot be served (e.g. no SIP listener).
    #[error("configuration: {0}")]
    Config(String),
}
