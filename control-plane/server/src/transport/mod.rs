//! SIP transports: UDP sockets and TCP listeners on the configured addresses.
//!
//! Transports only move bytes. Every datagram or deframed stream message becomes an
//! [`Inbound`] handed to the SIP core; responses go back through [`Transports::send`] on the
//! flow they came from (the same UDP socket, or the same TCP connection).

mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::ControlError;
pub(crate) use tcp::spawn_tcp_listener;
pub(crate) use udp::spawn_udp_listener;

/// The transport protocol a message travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams: retransmissions are the transaction layer's job.
    Udp,
    /// A reliable stream: no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable (RFC 3261 §17: no retransmission timers).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in Via headers and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a message came from and where its responses go: the transaction layer's address type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Transport protocol.
    pub transport: Transport,
    /// Our local socket address the message arrived on.
    pub local: SocketAddr,
    /// The peer's source address (what RFC 3581 calls received/rport).
    pub peer: SocketAddr,
    /// For TCP, the connection the message arrived on; responses use the same connection.
    pub conn: Option<u64>,
}

/// One inbound SIP message (or keep-alive) from a transport.
#[derive(Debug)]
pub struct Inbound {
    /// The flow it arrived on.
    pub flow: Flow,
    /// The raw bytes of one complete message.
    pub data: Bytes,
}

/// Counters the transports update; read by metrics.
pub(crate) trait TransportObserver: Send + Sync + 'static {
    /// A stream could not be deframed (bad Content-Length, oversize) and was closed.
    fn frame_error(&self, transport: Transport);
    /// A message was dropped by the per-source rate limiter or a ban.
    fn dropped(&self, peer: SocketAddr) -> bool;
    /// Handles a call message at once, on the transport's own task (so a socket's call
    /// messages are handled in arrival order, with no hand-over to another task). False:
    /// it is not one (or does not parse), and goes to the SIP core's task as an [`Inbound`].
    fn call_message(&self, flow: Flow, data: &[u8]) -> bool;
}

/// Handles to every open socket and connection, used to send.
#[derive(Clone, Default)]
pub struct Transports {
    inner: Arc<TransportsInner>,
}

#[derive(Default)]
struct TransportsInner {
    udp: Mutex<HashMap<SocketAddr, Arc<tokio::net::UdpSocket>>>,
    tcp: Mutex<HashMap<u64, mpsc::Sender<Bytes>>>,
}

impl Transports {
    pub(crate) fn add_udp(&self, local: SocketAddr, socket: Arc<tokio::net::UdpSocket>) {
        if let Ok(mut map) = self.inner.udp.lock() {
            map.insert(local, socket);
        }
    }

    pub(crate) fn add_tcp(&self, conn: u64, tx: mpsc::Sender<Bytes>) {
        if let Ok(mut map) = self.inner.tcp.lock() {
            map.insert(conn, tx);
        }
    }

    pub(crate) fn remove_tcp(&self, conn: u64) {
        if let Ok(mut map) = self.inner.tcp.lock() {
            map.remove(&conn);
        }
    }

    /// Sends bytes on a flow: the UDP socket it arrived on (to `to`), or its TCP connection.
    pub async fn send(
        &self,
        flow: &Flow,
        to: SocketAddr,
        bytes: Bytes,
    ) -> Result<(), ControlError> {
        match flow.transport {
            Transport::Udp => {
                let socket = self
                    .inner
                    .udp
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&flow.local).cloned())
                    .ok_or(ControlError::NoTransport(flow.local))?;
                socket
                    .send_to(&bytes, to)
                    .await
                    .map_err(|e| ControlError::Send { to, source: e })?;
                Ok(())
            }
            Transport::Tcp => {
                let tx = flow
                    .conn
                    .and_then(|c| self.inner.tcp.lock().ok().and_then(|m| m.get(&c).cloned()))
                    .ok_or(ControlError::ConnectionGone(flow.peer))?;
                tx.send(bytes)
                    .await
                    .map_err(|_| ControlError::ConnectionGone(flow.peer))
            }
        }
    }
}

/// The sink transports hand inbound messages to.
pub(crate) type InboundTx = mpsc::Sender<Inbound>;
