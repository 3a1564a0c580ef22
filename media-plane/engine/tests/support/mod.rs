//! Set-up shared by the media plane's integration tests.

use std::time::Duration;

use tokio::net::UdpSocket;
use warden_media::{default_cores, EndpointInfo, EngineConfig, MediaPlane, RemoteSpec};

/// A one-core media plane on loopback with the given ports, no periodic statistics and small
/// io_uring buffers; the tests adjust the rest.
pub fn config(ports: (u16, u16)) -> EngineConfig {
    let mut cfg = EngineConfig::new("127.0.0.1".parse().unwrap());
    cfg.bind = "127.0.0.1".parse().unwrap();
    cfg.cores = vec![*default_cores().last().unwrap()];
    cfg.rtp_ports = ports;
    cfg.stats_interval = Duration::ZERO;
    cfg.io_memory_bytes = 128 * 1024;
    cfg
}

/// Two endpoints of a new session, bridged, each pointed at its own loopback "phone"
/// socket: (A, B, Alice's socket, Bob's socket).
#[allow(dead_code)] // not every test binary bridges plainly
pub async fn bridged(plane: &MediaPlane) -> (EndpointInfo, EndpointInfo, UdpSocket, UdpSocket) {
    let (a, b, alice, bob) = pointed(plane).await;
    plane.bridge(a.id, b.id).await.unwrap();
    (a, b, alice, bob)
}

/// Two endpoints of a new session, not bridged, each pointed at its own loopback "phone"
/// socket: (A, B, Alice's socket, Bob's socket).
pub async fn pointed(plane: &MediaPlane) -> (EndpointInfo, EndpointInfo, UdpSocket, UdpSocket) {
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    let (alice, bob) = phones(plane, &a, &b).await;
    (a, b, alice, bob)
}

/// Alice's and Bob's loopback "phone" sockets, with `a` pointed at Alice and `b` at Bob.
pub async fn phones(
    plane: &MediaPlane,
    a: &EndpointInfo,
    b: &EndpointInfo,
) -> (UdpSocket, UdpSocket) {
    let alice = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let bob = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    plane
        .set_remote(a.id, RemoteSpec::new(alice.local_addr().unwrap()))
        .await
        .unwrap();
    plane
        .set_remote(b.id, RemoteSpec::new(bob.local_addr().unwrap()))
        .await
        .unwrap();
    (alice, bob)
}
