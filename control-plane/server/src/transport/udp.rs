//! UDP: one receive task per socket; datagrams are handed on as they are.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tracing::{debug, warn};

use super::{Flow, Inbound, InboundTx, Transport, TransportObserver, Transports};
use crate::error::ControlError;

/// Largest datagram we accept; anything bigger is truncated by the kernel and dropped.
const MAX_DATAGRAM: usize = 65_535;

/// Binds a UDP socket and spawns its receive loop. Returns the bound address.
pub(crate) async fn spawn_udp_listener(
    addr: SocketAddr,
    transports: Transports,
    inbound: InboundTx,
    observer: Arc<dyn TransportObserver>,
) -> Result<SocketAddr, ControlError> {
    let socket = bind(addr)?;
    let local = socket
        .local_addr()
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    let socket = Arc::new(socket);
    transports.add_udp(local, socket.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let (n, peer) = match socket.recv_from(&mut buf).await {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors surface here on some platforms; keep serving.
                    debug!(error = %e, %local, "udp receive error");
                    continue;
                }
            };
            if observer.dropped(peer) {
                continue;
            }
            let flow = Flow {
                transport: Transport::Udp,
                local,
                peer,
                conn: None,
            };
            if observer.call_message(flow, &buf[..n]) {
                continue;
            }
            let data = Bytes::copy_from_slice(&buf[..n]);
            if inbound.send(Inbound { flow, data }).await.is_err() {
                warn!(%local, "sip core gone; udp listener stops");
                break;
            }
        }
    });
    Ok(local)
}

fn bind(addr: SocketAddr) -> Result<UdpSocket, ControlError> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    if addr.is_ipv6() {
        // Bind v6 and v4 separately when both are configured.
        let _ = sock.set_only_v6(true);
    }
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.set_nonblocking(true)
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    sock.bind(&addr.into())
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    UdpSocket::from_std(sock.into()).map_err(|e| ControlError::Bind { addr, source: e })
}
