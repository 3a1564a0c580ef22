//! Set-up shared by the media plane's integration tests.

use tokio::net::UdpSocket;
use warden_media::{EndpointInfo, MediaPlane, RemoteSpec};

/// Two endpoints of a new session, bridged, each pointed at its own loopback "phone"
/// socket: (A, B, Alice's socket, Bob's socket).
pub async fn bridged(plane: &MediaPlane) -> (EndpointInfo, EndpointInfo, UdpSocket, UdpSocket) {
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
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
    plane.bridge(a.id, b.id).await.unwrap();
    (a, b, alice, bob)
}
