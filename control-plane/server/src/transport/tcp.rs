//! TCP: one task per connection; messages are deframed by Content-Length with size limits,
//! and responses are written back on the connection the request came in on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, warn};
use warden_sip_proto::{Deframer, Frame};

use super::{Flow, Inbound, InboundTx, Transport, TransportObserver, Transports};
use crate::error::ControlError;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Queue depth of outbound messages per connection.
const WRITE_QUEUE: usize = 256;

/// Binds a TCP listener and spawns its accept loop. Returns the bound address.
pub(crate) async fn spawn_tcp_listener(
    addr: SocketAddr,
    max_message: usize,
    transports: Transports,
    inbound: InboundTx,
    observer: Arc<dyn TransportObserver>,
) -> Result<SocketAddr, ControlError> {
    let listener = bind(addr)?;
    let local = listener
        .local_addr()
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if observer.dropped(peer) {
                        continue;
                    }
                    let conn = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(serve(
                        stream,
                        Flow {
                            transport: Transport::Tcp,
                            local,
                            peer,
                            conn: Some(conn),
                        },
                        max_message,
                        transports.clone(),
                        inbound.clone(),
                        observer.clone(),
                    ));
                }
                Err(e) => {
                    warn!(error = %e, %local, "tcp accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    Ok(local)
}

async fn serve(
    stream: TcpStream,
    flow: Flow,
    max_message: usize,
    transports: Transports,
    inbound: InboundTx,
    observer: Arc<dyn TransportObserver>,
) {
    let conn = flow.conn.unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    transports.add_tcp(conn, tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });

    let mut deframer = Deframer::new(max_message);
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if observer.dropped(flow.peer) {
            break;
        }
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_frame() {
                Ok(Some(Frame::Message(data))) => {
                    if observer.call_message(flow, &data) {
                        continue;
                    }
                    if inbound.send(Inbound { flow, data }).await.is_err() {
                        break 'read;
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    // RFC 5626 §4.4.1: a double-CRLF ping is answered with a single CRLF pong.
                    let _ = tx.send(Bytes::from_static(b"\r\n")).await;
                }
                Ok(Some(Frame::Pong)) => {}
                Ok(None) => break,
                Err(e) => {
                    debug!(error = %e, peer = %flow.peer, "tcp framing error; closing");
                    observer.frame_error(Transport::Tcp);
                    break 'read;
                }
            }
        }
    }
    transports.remove_tcp(conn);
    drop(tx);
    let _ = writer.await;
}

fn bind(addr: SocketAddr) -> Result<TcpListener, ControlError> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    if addr.is_ipv6() {
        let _ = sock.set_only_v6(true);
    }
    let _ = sock.set_reuse_address(true);
    sock.set_nonblocking(true)
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    sock.bind(&addr.into())
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    sock.listen(1024)
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    TcpListener::from_std(sock.into()).map_err(|e| ControlError::Bind { addr, source: e })
}
