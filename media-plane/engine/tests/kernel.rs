//! In-kernel forwarding through the media plane: after a short warm-up a call's RTP goes
//! through the kernel and not the core, what the far phone gets is what the core would
//! have sent, and the statistics count every packet either way.
//!
//! Needs Linux 6.6 with `CAP_BPF` and `CAP_NET_ADMIN`. Without them the tests say so and
//! pass, unless `WARDEN_REQUIRE_BPF=1` (set by the project's test script).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::timeout;
use warden_media::{KernelForwarding, MediaPlane};

fn plane(ports: (u16, u16)) -> Option<MediaPlane> {
    let required = std::env::var("WARDEN_REQUIRE_BPF").as_deref() == Ok("1");
    let mut cfg = support::config(ports);
    cfg.rtp_timeout = Duration::from_secs(5);
    cfg.kernel_forwarding = KernelForwarding::Required;
    cfg.kernel_interfaces = vec!["lo".into()];
    match MediaPlane::start(cfg) {
        Ok(p) => Some(p),
        Err(e) if !required => {
            eprintln!("skipped: in-kernel forwarding is unavailable here: {e}");
            None
        }
        Err(e) => {
            panic!("WARDEN_REQUIRE_BPF=1 and the media plane cannot forward in the kernel: {e}")
        }
    }
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq).wrapping_mul(160)).to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[seq as u8; 160]);
    p
}

async fn recv(sock: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let (n, from) = timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .expect("a relayed packet within 2 s")
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

fn seq_of(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}

fn ssrc_of(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[8], p[9], p[10], p[11]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_rtp_goes_through_the_kernel_and_is_counted() {
    let Some(plane) = plane((41600, 41699)) else {
        return;
    };
    let (a, b, alice, bob) = support::bridged(&plane).await;
    const N: u16 = 300;
    let mut out_ssrcs = Vec::new();
    let mut last_seq = None;
    for seq in 1..=N {
        alice.send_to(&rtp(seq, 0xA11CE), a.rtp).await.unwrap();
        let (p, from) = recv(&bob).await;
        assert_eq!(from, b.rtp, "sent from B's port");
        assert_eq!(p.len(), 172);
        assert_eq!(p[12], seq as u8, "payload of packet {seq}");
        if let Some(prev) = last_seq {
            assert_eq!(seq_of(&p), u16::wrapping_add(prev, 1), "continuous");
        }
        last_seq = Some(seq_of(&p));
        out_ssrcs.push(ssrc_of(&p));
        // Bob talks back so both directions run.
        bob.send_to(&rtp(seq, 0xB0B), b.rtp).await.unwrap();
        let (q, from) = recv(&alice).await;
        assert_eq!(from, a.rtp);
        assert_eq!(q[12], seq as u8);
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    out_ssrcs.dedup();
    assert_eq!(out_ssrcs.len(), 1, "one SSRC towards Bob throughout");

    let load = plane.load()[0];
    assert_eq!(load.kernel_handoffs, 2, "both directions were handed over");
    assert!(
        load.packets_in < 2 * 40,
        "the core saw only the warm-up: {} of {} packets",
        load.packets_in,
        2 * N
    );
    // The statistics include what the kernel forwarded, while it still has it.
    let stats = plane.stats(a.id).await.unwrap();
    assert_eq!(stats.packets_received, u64::from(N));
    assert_eq!(stats.packets_lost, 0);
    assert_eq!(
        stats.packets_sent,
        u64::from(N),
        "A sent Bob's packets to Alice"
    );
    assert_eq!(stats.bytes_received, u64::from(N) * 160);

    // A new SSRC from Alice reaches the core, which takes the direction back: Bob still
    // sees one continuous stream.
    for seq in 1..=40u16 {
        alice
            .send_to(&rtp(seq + 5000, 0x005E_C00D), a.rtp)
            .await
            .unwrap();
        let (p, _) = recv(&bob).await;
        assert_eq!(
            seq_of(&p),
            last_seq.unwrap().wrapping_add(1),
            "continuous across the switch"
        );
        assert_eq!(ssrc_of(&p), out_ssrcs[0]);
        last_seq = Some(seq_of(&p));
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let load = plane.load()[0];
    assert!(
        load.kernel_packets >= u64::from(N) - 2 * 25,
        "counted on take-back"
    );
    assert_eq!(load.kernel_handoffs, 3, "and handed over again once steady");

    // Hold: the core takes both directions back and relays nothing towards Alice.
    plane
        .set_direction(a.id, warden_media::Direction::RecvOnly)
        .await
        .unwrap();
    bob.send_to(&rtp(N + 1, 0xB0B), b.rtp).await.unwrap();
    let mut buf = [0u8; 256];
    assert!(
        timeout(Duration::from_millis(300), alice.recv_from(&mut buf))
            .await
            .is_err(),
        "nothing reaches a held party"
    );
    let stats = plane.stats(b.id).await.unwrap();
    assert_eq!(stats.packets_received, u64::from(N) + 1);
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephone_events_are_detected_and_relayed_beside_the_kernel() {
    let Some(plane) = plane((41700, 41799)) else {
        return;
    };
    let mut events = plane.subscribe();
    let (a, _b, alice, bob) = support::bridged(&plane).await;
    plane
        .set_dtmf(
            a.id,
            warden_media::DtmfSpec {
                telephone_event_pt: Some(101),
                telephone_event_rate: 8000,
                ..warden_media::DtmfSpec::default()
            },
        )
        .await
        .unwrap();
    let mut seqs = Vec::new();
    let send = |p: Vec<u8>| {
        let alice = &alice;
        async move { alice.send_to(&p, a.rtp).await.unwrap() }
    };
    // Voice: warm-up, then the kernel has the direction.
    for seq in 1..=60u16 {
        send(rtp(seq, 0xA11CE)).await;
        seqs.push(seq_of(&recv(&bob).await.0));
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    assert_eq!(plane.load()[0].kernel_handoffs, 1);
    // Key 5: three packets down, three end packets, same timestamp.
    for (i, seq) in (61..=66u16).enumerate() {
        let mut p = rtp(seq, 0xA11CE);
        p[1] = 101 | if i == 0 { 0x80 } else { 0 };
        p[4..8].copy_from_slice(&(61u32 * 160).to_be_bytes());
        let end = if i >= 3 { 0x80 } else { 0 };
        let duration = (i.min(3) as u16 + 1) * 160;
        p.truncate(12);
        p.extend_from_slice(&[5, end | 10, (duration >> 8) as u8, duration as u8]);
        send(p).await;
        let (q, _) = recv(&bob).await;
        assert_eq!(q[1] & 0x7f, 101, "relayed as telephone-event");
        seqs.push(seq_of(&q));
    }
    for seq in 67..=90u16 {
        send(rtp(seq, 0xA11CE)).await;
        seqs.push(seq_of(&recv(&bob).await.0));
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "one continuous sequence across kernel and core: {seqs:?}"
    );
    let digit = timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(warden_media::MediaEvent::Dtmf { endpoint, digit }) = events.recv().await {
                if endpoint == a.id && digit.ended {
                    return digit;
                }
            }
        }
    })
    .await
    .expect("the key press is reported");
    assert_eq!(digit.event, 5);
    let load = plane.load()[0];
    assert_eq!(
        load.kernel_handoffs, 1,
        "the events did not take the direction back"
    );
    let stats = plane.stats(a.id).await.unwrap();
    assert_eq!(stats.packets_received, 90);
    assert_eq!(stats.packets_lost, 0);
    plane.shutdown();
}

/// Sends `seqs` from Alice to A and returns what Bob's socket gets.
async fn alice_to_bob(
    alice: &UdpSocket,
    a: SocketAddr,
    bob: &UdpSocket,
    seqs: std::ops::RangeInclusive<u16>,
) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    for seq in seqs {
        alice.send_to(&rtp(seq, 0xA11CE), a).await.unwrap();
        got.push(recv(bob).await.0);
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callee_latching_leaves_the_callers_direction_in_the_kernel() {
    let Some(plane) = plane((41900, 41949)) else {
        return;
    };
    let (a, b, alice, bob) = support::bridged(&plane).await;
    // Alice talks first: her direction is handed over before Bob is heard.
    alice_to_bob(&alice, a.rtp, &bob, 1..=10).await;
    assert_eq!(plane.load()[0].kernel_handoffs, 1);
    // Bob answers from the address his SDP gave: B latches it, which changes nothing for
    // the direction the kernel has.
    for seq in 1..=10u16 {
        bob.send_to(&rtp(seq, 0xB0B), b.rtp).await.unwrap();
        assert_eq!(recv(&alice).await.0[12], seq as u8);
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let got = alice_to_bob(&alice, a.rtp, &bob, 11..=30).await;
    assert!(got.iter().zip(11u8..).all(|(p, seq)| p[12] == seq));
    let load = plane.load()[0];
    assert_eq!(load.kernel_handoffs, 2, "each direction handed over once");
    assert_eq!(load.packets_in, 4, "the core relayed only the warm-ups");
    let stats = plane.stats(a.id).await.unwrap();
    assert_eq!(stats.packets_received, 30);
    assert_eq!(stats.packets_lost, 0);

    // Released, each endpoint reports every packet either path carried.
    let a_final = plane.release(a.id).await.unwrap();
    assert_eq!((a_final.packets_received, a_final.packets_sent), (30, 10));
    let b_final = plane.release(b.id).await.unwrap();
    assert_eq!((b_final.packets_received, b_final.packets_sent), (10, 30));
    assert_eq!(plane.load()[0].endpoints, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_heard_from_elsewhere_gets_the_callers_rtp_there() {
    let Some(plane) = plane((41950, 41999)) else {
        return;
    };
    let (a, b, alice, bob) = support::bridged(&plane).await;
    alice_to_bob(&alice, a.rtp, &bob, 1..=10).await;
    assert_eq!(plane.load()[0].kernel_handoffs, 1);
    // Bob is behind a NAT: his RTP comes from another address than his SDP's. B latches
    // it, and the kernel's rule for Alice's direction, which sends to the SDP's address,
    // is taken back.
    let nat = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for seq in 1..=3u16 {
        nat.send_to(&rtp(seq, 0xB0B), b.rtp).await.unwrap();
        assert_eq!(recv(&alice).await.0[12], seq as u8);
    }
    let got = alice_to_bob(&alice, a.rtp, &nat, 11..=30).await;
    let seqs: Vec<u16> = got.iter().map(|p| seq_of(p)).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "one continuous stream at the new address: {seqs:?}"
    );
    assert!(got.iter().zip(11u8..).all(|(p, seq)| p[12] == seq));
    assert!(
        timeout(Duration::from_millis(100), bob.recv_from(&mut [0u8; 2048]))
            .await
            .is_err(),
        "nothing more to the SDP's address"
    );
    // Alice's direction went back to the core, and to the kernel again once warm.
    let load = plane.load()[0];
    assert_eq!(load.kernel_handoffs, 3, "{load:?}");
}
