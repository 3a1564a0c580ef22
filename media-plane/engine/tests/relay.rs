//! End-to-end: the media plane on loopback relaying real UDP between two test "phones".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::time::timeout;
use warden_media::{
    default_cores, DropReason, EndpointId, EngineConfig, KernelForwarding, MediaError, MediaEvent,
    MediaPlane, PtMap, RemoteSpec,
};
use warden_shared::{Command, ErrorCode, Event};

fn config(ports: (u16, u16)) -> EngineConfig {
    let mut cfg = support::config(ports);
    cfg.rtp_timeout = Duration::from_millis(400);
    cfg
}

fn rtp(pt: u8, seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn recv(sock: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    match timeout(wait, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => {
            buf.truncate(n);
            Some((buf, from))
        }
        _ => None,
    }
}

async fn next_event(
    events: &mut broadcast::Receiver<MediaEvent>,
    wait: Duration,
    want: impl Fn(&MediaEvent) -> bool,
) -> Option<MediaEvent> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match timeout(left, events.recv()).await {
            Ok(Ok(ev)) if want(&ev) => return Some(ev),
            Ok(Ok(_)) => continue,
            _ => return None,
        }
    }
}

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_endpoints_relay_rtp_and_rtcp_both_ways() {
    // The core's own relay: the kernel would take the steady packets counted below.
    let mut cfg = config((41000, 41099));
    cfg.kernel_forwarding = KernelForwarding::Off;
    let plane = MediaPlane::start(cfg).unwrap();
    let mut events = plane.subscribe();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    assert_eq!(a.rtp.port() % 2, 0);
    assert_eq!(a.rtcp.port(), a.rtp.port() + 1);
    assert_ne!(a.rtp, b.rtp);
    assert!((41000..=41099).contains(&a.rtp.port()));

    let (alice, alice_rtcp, bob, bob_rtcp) =
        (bind().await, bind().await, bind().await, bind().await);
    let alice_addr = alice.local_addr().unwrap();
    let bob_addr = bob.local_addr().unwrap();
    // Alice's leg speaks PCMU as 0; Bob's leg was negotiated with PCMU as 8 (for the test).
    let mut to_alice = RemoteSpec::new(alice_addr);
    to_alice.rtcp_port = alice_rtcp.local_addr().unwrap().port();
    to_alice.pt_map = PtMap::from_pairs(&[(8, 0)]).unwrap();
    let mut to_bob = RemoteSpec::new(bob_addr);
    to_bob.rtcp_port = bob_rtcp.local_addr().unwrap().port();
    to_bob.pt_map = PtMap::from_pairs(&[(0, 8)]).unwrap();
    plane.set_remote(a.id, to_alice).await.unwrap();
    plane.set_remote(b.id, to_bob).await.unwrap();
    plane.bridge(a.id, b.id).await.unwrap();

    // Alice -> Bob: sequence numbers 1..=10 with 4 and 7 deliberately skipped.
    let sent: Vec<u16> = (1..=10).filter(|s| *s != 4 && *s != 7).collect();
    for &seq in &sent {
        alice
            .send_to(&rtp(0, seq, 0xA11CE, &[seq as u8; 160]), a.rtp)
            .await
            .unwrap();
    }
    let mut bob_sees_ssrc = None;
    for &seq in &sent {
        let (pkt, from) = recv(&bob, Duration::from_secs(2))
            .await
            .expect("relayed to bob");
        assert_eq!(from, b.rtp, "arrives from B's allocated port");
        assert_eq!(pkt[1] & 0x7f, 8, "payload type rewritten for bob");
        assert_eq!(u16::from_be_bytes([pkt[2], pkt[3]]), seq);
        assert_eq!(&pkt[12..], &[seq as u8; 160][..]);
        let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
        assert_eq!(
            *bob_sees_ssrc.get_or_insert(ssrc),
            ssrc,
            "one stable SSRC towards bob"
        );
    }
    let bob_sees_ssrc = bob_sees_ssrc.unwrap();
    let first = next_event(
        &mut events,
        Duration::from_secs(2),
        |e| matches!(e, MediaEvent::FirstPacket { endpoint, .. } if *endpoint == a.id),
    )
    .await
    .expect("first-packet event for A");
    assert_eq!(
        first,
        MediaEvent::FirstPacket {
            endpoint: a.id,
            source: alice_addr,
            rtcp: false
        }
    );

    // Bob -> Alice, with the marker bit set on the first packet (it must survive the rewrite).
    for seq in 100..105u16 {
        let pt = if seq == 100 { 0x80 | 8 } else { 8 };
        bob.send_to(&rtp(pt, seq, 0xB0B, b"hello"), b.rtp)
            .await
            .unwrap();
    }
    let mut alice_sees_ssrc = 0;
    for seq in 100..105u16 {
        let (pkt, from) = recv(&alice, Duration::from_secs(2))
            .await
            .expect("relayed to alice");
        assert_eq!(from, a.rtp, "arrives from A's allocated port");
        assert_eq!(pkt[1] & 0x7f, 0, "payload type rewritten for alice");
        assert_eq!(pkt[1] & 0x80 != 0, seq == 100, "marker bit kept");
        assert_eq!(u16::from_be_bytes([pkt[2], pkt[3]]), seq);
        assert_eq!(&pkt[12..], b"hello");
        alice_sees_ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
    }
    assert!(next_event(&mut events, Duration::from_secs(2), |e| {
        matches!(e, MediaEvent::FirstPacket { endpoint, source, .. } if *endpoint == b.id && *source == bob_addr)
    })
    .await
    .is_some());

    let sa = plane.stats(a.id).await.unwrap();
    assert_eq!(sa.packets_received, 8);
    assert_eq!(sa.packets_lost, 2, "two skipped sequence numbers");
    assert_eq!(sa.highest_seq, 10);
    assert_eq!(sa.ssrc, 0xA11CE);
    assert_eq!(sa.bytes_received, 8 * 160);
    assert_eq!(sa.packets_sent, 5);
    assert!(
        sa.mos_x100 > 100 && sa.mos_x100 <= 450,
        "mos {}",
        sa.mos_x100
    );
    let sb = plane.stats(b.id).await.unwrap();
    assert_eq!(
        (sb.packets_received, sb.packets_lost, sb.packets_sent),
        (5, 0, 8)
    );
    assert!(sb.mos_x100 > sa.mos_x100, "loss lowers the MOS");

    // A stranger cannot hijack A once it latched onto Alice.
    let stranger = bind().await;
    stranger
        .send_to(&rtp(0, 11, 0xBAD, b"evil"), a.rtp)
        .await
        .unwrap();
    alice
        .send_to(&rtp(0, 11, 0xA11CE, b"good"), a.rtp)
        .await
        .unwrap();
    let (pkt, _) = recv(&bob, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&pkt[12..], b"good", "only Alice's packet is relayed");
    assert!(recv(&bob, Duration::from_millis(100)).await.is_none());
    assert_eq!(plane.stats(a.id).await.unwrap().dropped_stranger, 1);

    // Garbage from the latched source is dropped and counted as malformed.
    alice.send_to(&[1, 2, 3], a.rtp).await.unwrap();
    alice.send_to(&[0x80, 0, 0], a.rtp).await.unwrap();
    assert!(recv(&bob, Duration::from_millis(100)).await.is_none());
    assert_eq!(plane.stats(a.id).await.unwrap().dropped_malformed, 2);
    let load = plane.load()[0];
    assert_eq!(load.dropped(DropReason::Stranger), 1);
    assert_eq!(load.dropped(DropReason::Malformed), 2);
    assert_eq!(load.endpoints, 2);
    assert_eq!(load.sessions, 1);
    assert!(load.packets_in >= 17 && load.packets_out >= 14, "{load:?}");

    // RTCP: a receiver report from Alice's RTCP port reaches Bob's RTCP port from B's.
    let rr = [0x80u8, 201, 0, 1, 0, 0x0A, 0x11, 0xCE];
    alice_rtcp.send_to(&rr, a.rtcp).await.unwrap();
    let (pkt, from) = recv(&bob_rtcp, Duration::from_secs(2))
        .await
        .expect("RTCP relayed");
    assert_eq!(from, b.rtcp);
    assert_eq!(pkt[..4], rr[..4]);
    // The sender SSRC is rewritten to the one Bob sees on the relayed RTP.
    assert_eq!(pkt[4..8], bob_sees_ssrc.to_be_bytes());
    bob_rtcp.send_to(&rr, b.rtcp).await.unwrap();
    let (_, from) = recv(&alice_rtcp, Duration::from_secs(2))
        .await
        .expect("RTCP relayed back");
    assert_eq!(from, a.rtcp);
    assert_eq!(plane.stats(a.id).await.unwrap().rtcp_received, 1);
    assert_eq!(plane.stats(b.id).await.unwrap().rtcp_sent, 1);

    // A new SSRC from Bob is announced and restarts the sequence base.
    bob.send_to(&rtp(8, 5000, 0xB0B2, b"x"), b.rtp)
        .await
        .unwrap();
    let changed = next_event(&mut events, Duration::from_secs(2), |e| {
        matches!(e, MediaEvent::SsrcChanged { .. })
    })
    .await
    .expect("SSRC change event");
    assert_eq!(
        changed,
        MediaEvent::SsrcChanged {
            endpoint: b.id,
            old: 0xB0B,
            new: 0xB0B2
        }
    );
    // Alice keeps seeing one SSRC with continuous sequence numbers, and a marker bit.
    let (pkt, _) = recv(&alice, Duration::from_secs(2))
        .await
        .expect("new source relayed");
    assert_eq!(
        u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]),
        alice_sees_ssrc
    );
    assert_eq!(u16::from_be_bytes([pkt[2], pkt[3]]), 105);
    assert!(pkt[1] & 0x80 != 0);
    let sb = plane.stats(b.id).await.unwrap();
    assert_eq!(
        (sb.packets_received, sb.packets_lost, sb.ssrc),
        (6, 0, 0xB0B2)
    );

    // Silence: both legs time out (the configured timeout is 400 ms).
    let mut timed_out = Vec::new();
    while timed_out.len() < 2 {
        match next_event(&mut events, Duration::from_secs(3), |e| {
            matches!(e, MediaEvent::RtpTimeout { .. })
        })
        .await
        {
            Some(MediaEvent::RtpTimeout { endpoint, idle }) => {
                assert!(idle >= Duration::from_millis(400));
                if !timed_out.contains(&endpoint) {
                    timed_out.push(endpoint);
                }
            }
            other => panic!("expected RTP timeouts, got {other:?}"),
        }
    }
    assert!(timed_out.contains(&a.id) && timed_out.contains(&b.id));

    // Unbridged: nothing is relayed any more, and that is counted.
    plane.unbridge(a.id).await.unwrap();
    assert!(matches!(
        plane.unbridge(b.id).await,
        Err(MediaError::Refused(_))
    ));
    alice
        .send_to(&rtp(0, 12, 0xA11CE, b"late"), a.rtp)
        .await
        .unwrap();
    assert!(recv(&bob, Duration::from_millis(150)).await.is_none());
    assert!(plane.load()[0].dropped(DropReason::NoRoute) >= 1);

    plane.destroy(a.id).await.unwrap();
    plane.destroy(b.id).await.unwrap();
    assert!(matches!(
        plane.stats(a.id).await,
        Err(MediaError::Refused(_))
    ));
    plane.close_session(session);
    assert_eq!(plane.load()[0].sessions, 0);
    plane.shutdown();
    assert!(matches!(plane.stats(b.id).await, Err(MediaError::Stopped)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_command_ring_is_reported_and_nothing_is_lost() {
    let mut cfg = config((41100, 41199));
    cfg.ring_capacity = 2;
    let plane = MediaPlane::start(cfg).unwrap();
    let session = plane.open_session();
    let ep = plane.create_endpoint(session).await.unwrap();
    let handle = ep.id.handle();
    let mut accepted = Vec::new();
    let mut full = false;
    for _ in 0..1_000_000 {
        match plane.submit(0, |req| Command::QueryStats {
            req,
            endpoint: handle,
        }) {
            Ok(reply) => accepted.push(reply),
            Err(MediaError::RingFull { core: 0 }) => {
                full = true;
                break;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(full, "a 2-slot ring must fill under a burst");
    // Every command the ring accepted is answered.
    let n = accepted.len();
    for reply in accepted {
        let event = timeout(Duration::from_secs(5), reply)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(event, Event::Stats { endpoint, .. } if endpoint == handle));
    }
    assert!(n >= 1);
    // After the burst the ring drains and commands are accepted again.
    assert!(plane.stats(ep.id).await.is_ok());
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_of_different_cores_cannot_be_bridged() {
    let mut cfg = config((41200, 41299));
    cfg.cores = vec![0, *default_cores().last().unwrap()];
    if cfg.cores[0] == cfg.cores[1] {
        return; // one-CPU machine: nothing to test
    }
    let plane = MediaPlane::start(cfg).unwrap();
    let s1 = plane.open_session();
    let s2 = plane.open_session();
    assert_ne!(s1.core(), s2.core(), "sessions are spread over the cores");
    let a = plane.create_endpoint(s1).await.unwrap();
    let b = plane.create_endpoint(s2).await.unwrap();
    assert!(matches!(
        plane.bridge(a.id, b.id).await,
        Err(MediaError::CrossCore { .. })
    ));
    let a2: EndpointId = plane.create_endpoint(s1).await.unwrap().id;
    plane.bridge(a.id, a2).await.unwrap();
    assert!(matches!(
        plane.bridge(a.id, a.id).await,
        Err(MediaError::Refused(_))
    ));
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtcp_mux_and_direction_are_honoured() {
    let plane = MediaPlane::start(config((41300, 41399))).unwrap();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    let (alice, alice_rtcp, bob) = (bind().await, bind().await, bind().await);
    let mut to_alice = RemoteSpec::new(alice.local_addr().unwrap());
    to_alice.rtcp_port = alice_rtcp.local_addr().unwrap().port();
    let mut to_bob = RemoteSpec::new(bob.local_addr().unwrap());
    to_bob.rtcp_mux = true;
    plane.set_remote(a.id, to_alice).await.unwrap();
    plane.set_remote(b.id, to_bob).await.unwrap();
    plane.bridge(a.id, b.id).await.unwrap();

    // Bob multiplexes: his RTP and RTCP both use his one port and B's RTP port.
    bob.send_to(&rtp(0, 1, 0xB0B, b"rtp"), b.rtp).await.unwrap();
    assert!(recv(&alice, Duration::from_secs(2)).await.is_some());
    let sr_from_bob = [0x80u8, 201, 0, 1, 0, 0, 0x0B, 0x0B];
    bob.send_to(&sr_from_bob, b.rtp).await.unwrap();
    let (pkt, from) = recv(&alice_rtcp, Duration::from_secs(2))
        .await
        .expect("muxed RTCP reaches Alice's RTCP port");
    assert_eq!(from, a.rtcp);
    assert_eq!(pkt[1], 201);
    // Alice's RTCP (separate port) reaches Bob on his muxed port, from B's RTP port.
    alice.send_to(&rtp(0, 1, 0xA, b"rtp"), a.rtp).await.unwrap();
    assert!(recv(&bob, Duration::from_secs(2)).await.is_some());
    alice_rtcp
        .send_to(&[0x80u8, 201, 0, 1, 0, 0, 0, 0x0A], a.rtcp)
        .await
        .unwrap();
    let (pkt, from) = recv(&bob, Duration::from_secs(2))
        .await
        .expect("RTCP muxed to Bob");
    assert_eq!((pkt[1], from), (201, b.rtp));

    // Bob on hold (B receive-only): nothing is sent to him, and that is counted.
    plane
        .set_direction(b.id, warden_media::Direction::RecvOnly)
        .await
        .unwrap();
    alice
        .send_to(&rtp(0, 2, 0xA, b"held"), a.rtp)
        .await
        .unwrap();
    assert!(recv(&bob, Duration::from_millis(150)).await.is_none());
    assert_eq!(plane.load()[0].dropped(DropReason::Direction), 1);
    // Bob's media still flows to Alice.
    bob.send_to(&rtp(0, 2, 0xB0B, b"rtp"), b.rtp).await.unwrap();
    assert!(recv(&alice, Duration::from_secs(2)).await.is_some());
    plane
        .set_direction(b.id, warden_media::Direction::SendRecv)
        .await
        .unwrap();
    alice
        .send_to(&rtp(0, 3, 0xA, b"back"), a.rtp)
        .await
        .unwrap();
    let (pkt, _) = recv(&bob, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&pkt[12..], b"back");
    plane.shutdown();
}

#[test]
fn a_missing_cpu_fails_start_with_a_clear_error() {
    let mut cfg = config((41400, 41499));
    cfg.cores = vec![4095];
    match MediaPlane::start(cfg) {
        Err(MediaError::Startup { core: 0, reason }) => assert!(!reason.is_empty()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("started on a CPU that does not exist"),
    }
}

/// Sends `count` RTP packets from `from` to `to`, one every millisecond, and counts what
/// arrives at `sink` within a second of the last one. Returns the packets received and the
/// core's wake-ups while they flowed.
async fn paced_relay(
    plane: &MediaPlane,
    from: &UdpSocket,
    to: SocketAddr,
    sink: &UdpSocket,
    count: u16,
) -> (u16, u64) {
    let woke = |p: &MediaPlane| p.load().iter().map(|c| c.wakeups).sum::<u64>();
    let before = woke(plane);
    for seq in 0..count {
        from.send_to(&rtp(0, seq, 0xC0A1, &[0x55; 160]), to)
            .await
            .unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut got = 0;
    while got < count {
        if recv(sink, Duration::from_secs(1)).await.is_none() {
            break;
        }
        got += 1;
    }
    (got, woke(plane) - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_interval_relays_every_packet_with_fewer_wake_ups() {
    let mut cfg = config((41700, 41799));
    cfg.wake_interval = Duration::from_millis(10);
    let plane = MediaPlane::start(cfg).unwrap();
    let (a, _b, alice, bob) = support::bridged(&plane).await;
    // Latch Alice first so that the paced run measures relaying only.
    alice
        .send_to(&rtp(0, 1000, 0xC0A1, &[0x55; 160]), a.rtp)
        .await
        .unwrap();
    assert!(recv(&bob, Duration::from_secs(2)).await.is_some());

    // 200 packets over at least 200 ms: a core waking on each packet wakes about 200
    // times; with a 10 ms interval it wakes about 20 times (plus its 100 ms housekeeping).
    let (got, wakeups) = paced_relay(&plane, &alice, a.rtp, &bob, 200).await;
    println!("wake interval 10 ms: {got} of 200 packets relayed, {wakeups} wake-ups");
    assert_eq!(got, 200, "every packet is relayed");
    assert!(
        wakeups <= 60,
        "the core woke {wakeups} times for 200 packets despite a 10 ms interval"
    );
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_pair_rests_then_serves_the_next_call_without_the_last_calls_late_rtp() {
    // Two pairs only: the second call gets the first call's pairs back.
    let plane = MediaPlane::start(config((41400, 41403))).unwrap();
    let (a, b, alice, bob) = support::bridged(&plane).await;
    alice
        .send_to(&rtp(0, 1, 0xA11CE, &[1; 160]), a.rtp)
        .await
        .unwrap();
    let (_, from) = recv(&bob, Duration::from_secs(2)).await.expect("relayed");
    assert_eq!(from, b.rtp);
    plane.destroy(a.id).await.unwrap();
    plane.destroy(b.id).await.unwrap();
    let released = Instant::now();

    // Alice has not seen the BYE yet: her RTP reaches the resting pair and is dropped there.
    for seq in 2..=6 {
        alice
            .send_to(&rtp(0, seq, 0xA11CE, &[seq as u8; 160]), a.rtp)
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while plane.load()[0].dropped(DropReason::NoRoute) < 5 {
        assert!(Instant::now() < deadline, "late RTP not read and dropped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    tokio::time::sleep(Duration::from_secs(2).saturating_sub(released.elapsed())).await;
    let (c, d, carol, dave) = support::bridged(&plane).await;
    let mut reused = [c.rtp, d.rtp];
    reused.sort();
    let mut before = [a.rtp, b.rtp];
    before.sort();
    assert_eq!(reused, before, "the rested pairs are reused");
    carol
        .send_to(&rtp(0, 100, 0xCA201, &[9; 160]), c.rtp)
        .await
        .unwrap();
    let (pkt, from) = recv(&dave, Duration::from_secs(2)).await.expect("relayed");
    assert_eq!(from, d.rtp);
    assert_eq!(
        &pkt[12..],
        &[9; 160][..],
        "the first packet is the new call's"
    );
    assert!(recv(&dave, Duration::from_millis(200)).await.is_none());
    assert!(recv(&bob, Duration::from_millis(50)).await.is_none());
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_pair_relays_at_once_and_one_that_does_not_fit_leaves_nothing_behind() {
    // Three port pairs: one call's two endpoints and one to spare.
    let mut cfg = config((40990, 40995));
    cfg.kernel_forwarding = KernelForwarding::Off;
    let plane = MediaPlane::start(cfg).unwrap();
    let (a, b) = plane.create_pair(plane.open_session()).await.unwrap();
    assert_eq!(a.id.core(), b.id.core());
    assert_ne!(a.rtp, b.rtp);
    let (alice, bob) = support::phones(&plane, &a, &b).await;
    // Bridged already: no Bridge command.
    alice
        .send_to(&rtp(0, 1, 0xA11CE, b"to bob"), a.rtp)
        .await
        .unwrap();
    let (pkt, from) = recv(&bob, Duration::from_secs(2)).await.expect("relayed");
    assert_eq!((from, &pkt[12..]), (b.rtp, &b"to bob"[..]));
    bob.send_to(&rtp(0, 1, 0xB0B, b"to alice"), b.rtp)
        .await
        .unwrap();
    let (pkt, from) = recv(&alice, Duration::from_secs(2)).await.expect("relayed");
    assert_eq!((from, &pkt[12..]), (a.rtp, &b"to alice"[..]));

    // One pair is left: a second call does not fit, and its first endpoint is released.
    let err = plane.create_pair(plane.open_session()).await.unwrap_err();
    assert!(
        matches!(err, MediaError::Refused(ErrorCode::NoFreePort)),
        "{err:?}"
    );
    assert_eq!(plane.load()[0].endpoints, 2, "only the first call's");
    let spare = plane.create_endpoint(plane.open_session()).await.unwrap();
    assert!(![a.rtp, b.rtp].contains(&spare.rtp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_endpoint_reports_its_final_statistics_and_is_gone() {
    let mut cfg = config((40996, 40999));
    cfg.kernel_forwarding = KernelForwarding::Off;
    let plane = MediaPlane::start(cfg).unwrap();
    let (a, b, alice, bob) = support::bridged(&plane).await;
    for seq in 1..=3 {
        alice
            .send_to(&rtp(0, seq, 0xA11CE, &[seq as u8; 160]), a.rtp)
            .await
            .unwrap();
        recv(&bob, Duration::from_secs(2)).await.expect("relayed");
    }
    let stats = plane.release(a.id).await.unwrap();
    assert_eq!((stats.packets_received, stats.ssrc), (3, 0xA11CE));
    assert_eq!(stats.bytes_received, 3 * 160);
    assert!(matches!(
        plane.stats(a.id).await,
        Err(MediaError::Refused(ErrorCode::UnknownEndpoint))
    ));
    assert!(matches!(
        plane.release(a.id).await,
        Err(MediaError::Refused(ErrorCode::UnknownEndpoint))
    ));
    assert_eq!(plane.release(b.id).await.unwrap().packets_sent, 3);
    assert_eq!(plane.load()[0].endpoints, 0);
}
