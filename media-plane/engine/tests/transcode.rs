//! End-to-end: a transcoding bridge on loopback between two test "phones" that share no
//! codec (PCMA and G.722), with packet loss, then back to plain relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{sleep, timeout, Instant};
use warden_dsp::{Codec, CodecParams};
use warden_media::{LegFormat, MediaPlane, RemoteSpec, WireCodec};

mod support;

use support::config;

fn format(codec: WireCodec, payload_type: u8) -> LegFormat {
    LegFormat {
        codec,
        payload_type,
        clock_rate: 8000,
        ptime_ms: 20,
        telephone_event: None,
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x5151_5151u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn power(x: &[i16], rate: u32, freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

async fn drain(sock: &UdpSocket, into: &mut Vec<Vec<u8>>) {
    let mut buf = [0u8; 2048];
    while let Ok(Ok(n)) = timeout(Duration::from_millis(1), sock.recv(&mut buf)).await {
        into.push(buf[..n].to_vec());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_and_g722_parties_are_bridged_through_the_transcoder() {
    let plane = MediaPlane::start(config((41500, 41599))).unwrap();
    let (a, b, alice, bob) = support::pointed(&plane).await;
    plane
        .transcode(
            a.id,
            b.id,
            format(WireCodec::Pcma, 8),
            format(WireCodec::G722, 9),
        )
        .await
        .unwrap();

    // Alice sends 1.5 s of an 800 Hz tone in PCMA, two packets lost on the way.
    let mut enc = Codec::new(CodecParams::pcma()).unwrap();
    let mut payload = [0u8; 160];
    let mut got = Vec::new();
    let start = Instant::now();
    for i in 0..75u16 {
        let pcm: Vec<i16> = (0..160)
            .map(|k| {
                let t = f64::from(u32::from(i) * 160 + k) / 8000.0;
                (8000.0 * (2.0 * std::f64::consts::PI * 800.0 * t).sin()) as i16
            })
            .collect();
        let n = enc.encode(&pcm, &mut payload).unwrap();
        if i != 30 && i != 31 {
            let p = rtp(8, i, u32::from(i) * 160, &payload[..n]);
            alice.send_to(&p, a.rtp).await.unwrap();
        }
        // RTCP to a transcoding endpoint is not relayed.
        if i == 10 {
            alice
                .send_to(&[0x80, 201, 0, 1, 0, 0, 0, 1], a.rtp)
                .await
                .unwrap();
        }
        sleep(
            (start + Duration::from_millis(20 * (u64::from(i) + 1)))
                .saturating_duration_since(Instant::now()),
        )
        .await;
        drain(&bob, &mut got).await;
    }
    sleep(Duration::from_millis(200)).await;
    drain(&bob, &mut got).await;

    assert!(
        got.iter().all(|p| p.len() == 12 + 160 && p[1] & 0x7f == 9),
        "G.722 only"
    );
    assert!(
        got.len() >= 70,
        "{} G.722 packets: losses are concealed",
        got.len()
    );
    let seqs: Vec<u16> = got
        .iter()
        .map(|p| u16::from_be_bytes([p[2], p[3]]))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{seqs:?}"
    );
    let mut dec = Codec::new(CodecParams::g722()).unwrap();
    let mut pcm = Vec::new();
    let mut frame = [0i16; 320];
    for p in &got {
        let n = dec.decode(&p[12..], &mut frame).unwrap();
        pcm.extend_from_slice(&frame[..n]);
    }
    let steady = &pcm[16_000 / 5..];
    assert!(power(steady, 16_000, 800.0) > 100.0 * power(steady, 16_000, 2000.0));
    let stats = plane.stats(b.id).await.unwrap();
    assert_eq!(stats.packets_sent, got.len() as u64);

    // A plain bridge ends transcoding: packets are relayed as they are again.
    plane.bridge(a.id, b.id).await.unwrap();
    sleep(Duration::from_millis(60)).await;
    drain(&bob, &mut Vec::new()).await;
    let p = rtp(8, 100, 16_000, &[0xd5; 160]);
    alice.send_to(&p, a.rtp).await.unwrap();
    let mut relayed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while relayed.is_empty() && Instant::now() < deadline {
        drain(&bob, &mut relayed).await;
    }
    assert_eq!(relayed.len(), 1);
    assert_eq!(relayed[0][1] & 0x7f, 8, "PCMA relayed untouched");
    assert_eq!(&relayed[0][12..], &[0xd5; 160]);
    plane.shutdown();
}

/// What an RTCP socket received: the SRs (SSRC, packet count, report blocks).
type Srs = Vec<(u32, u32, Vec<warden_rtp_proto::rtcp::ReportBlock>)>;

fn sender_reports(packets: &[Vec<u8>]) -> Srs {
    use warden_rtp_proto::rtcp::{RtcpCompound, RtcpView};
    let mut out = Vec::new();
    for p in packets {
        let compound = RtcpCompound::parse(p).expect("a valid RTCP compound");
        let mut kinds = Vec::new();
        for packet in compound.iter() {
            match packet.view().unwrap() {
                RtcpView::SenderReport(sr) => {
                    kinds.push(200);
                    out.push((sr.ssrc, sr.info.packet_count, sr.reports.collect()));
                }
                RtcpView::Sdes(_) => kinds.push(202),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(kinds, [200, 202], "SR then SDES");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_sends_its_own_rtcp_to_each_party_and_consumes_theirs() {
    use warden_rtp_proto::rtcp::{
        ntp_from_unix_ns, ntp_middle32, write_receiver_report, write_sender_report, ReportBlock,
        SenderInfo,
    };
    let plane = MediaPlane::start(config((41600, 41699))).unwrap();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    let bind = || UdpSocket::bind("127.0.0.1:0");
    let (alice, alice_rtcp, bob, bob_rtcp) = (
        bind().await.unwrap(),
        bind().await.unwrap(),
        bind().await.unwrap(),
        bind().await.unwrap(),
    );
    for (ep, rtp, rtcp) in [(&a, &alice, &alice_rtcp), (&b, &bob, &bob_rtcp)] {
        let mut spec = RemoteSpec::new(rtp.local_addr().unwrap());
        spec.rtcp_port = rtcp.local_addr().unwrap().port();
        plane.set_remote(ep.id, spec).await.unwrap();
    }
    plane
        .transcode(
            a.id,
            b.id,
            format(WireCodec::Pcma, 8),
            format(WireCodec::G722, 9),
        )
        .await
        .unwrap();

    // Both talk for 2.5 s; Alice loses two packets on the way and sends an SR at 0.4 s.
    // A report block counts only the losses below the highest sequence number received
    // when it is written (RFC 3550 A.3), and the bridge's first report comes at a random
    // 0.5..1.5 s after the start, its second 2.5..7.5 s later (after the end of this
    // test). The losses are therefore early (seq 10 and 11, at 0.2 s; seq 12 reveals the
    // gap at 0.24 s), so that the one report Alice gets always counts them.
    const ALICE_LOST: [u16; 2] = [10, 11];
    let sr_ntp = ntp_from_unix_ns(1_790_000_000_000_000_000);
    let (mut to_alice, mut to_bob) = (Vec::new(), Vec::new());
    let (mut alice_got, mut bob_got) = (Vec::new(), Vec::new());
    let start = Instant::now();
    for i in 0..125u16 {
        if !ALICE_LOST.contains(&i) {
            let p = rtp(8, i, u32::from(i) * 160, &[0xd5; 160]);
            alice.send_to(&p, a.rtp).await.unwrap();
        }
        let mut p = rtp(9, i, u32::from(i) * 160, &[0; 160]);
        p[8..12].copy_from_slice(&0xB0B0_B0B0u32.to_be_bytes());
        bob.send_to(&p, b.rtp).await.unwrap();
        if i == 20 {
            let mut sr = [0u8; 28];
            let info = SenderInfo {
                ntp_timestamp: sr_ntp,
                ..SenderInfo::default()
            };
            let n = write_sender_report(0x5151_5151, &info, &[], &mut sr).unwrap();
            alice_rtcp.send_to(&sr[..n], a.rtcp).await.unwrap();
        }
        sleep(
            (start + Duration::from_millis(20 * (u64::from(i) + 1)))
                .saturating_duration_since(Instant::now()),
        )
        .await;
        drain(&alice, &mut alice_got).await;
        drain(&bob, &mut bob_got).await;
        drain(&alice_rtcp, &mut to_alice).await;
        drain(&bob_rtcp, &mut to_bob).await;
    }
    let ssrc_of = |p: &Vec<u8>| u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
    let (to_alice_ssrc, to_bob_ssrc) = (ssrc_of(&alice_got[0]), ssrc_of(&bob_got[0]));

    // Each party got the bridge's own SR about the stream it receives (the first within
    // 1.5 s, then every 2.5..7.5 s) with a block about its own stream.
    for (who, got, ssrc, party, rtp_in) in [
        (
            "alice",
            &to_alice,
            to_alice_ssrc,
            0x5151_5151,
            alice_got.len(),
        ),
        ("bob", &to_bob, to_bob_ssrc, 0xB0B0_B0B0, bob_got.len()),
    ] {
        let srs = sender_reports(got);
        assert!(!srs.is_empty(), "{who} got no RTCP");
        for (sr_ssrc, count, blocks) in &srs {
            assert_eq!(
                *sr_ssrc, ssrc,
                "{who}: the SR is about the stream it receives"
            );
            assert!(
                *count > 0 && *count as usize <= rtp_in,
                "{who}: {count} of {rtp_in}"
            );
            assert_eq!(blocks.len(), 1, "{who}");
            assert_eq!(
                blocks[0].ssrc, party,
                "{who}: the block is about its stream"
            );
        }
        if who == "alice" {
            for (_, _, blocks) in &srs {
                let b = blocks[0];
                let below = ALICE_LOST
                    .iter()
                    .filter(|s| u32::from(**s) < b.extended_highest_seq)
                    .count();
                assert_eq!(b.cumulative_lost, below as i32, "{b:?}");
            }
            let b = srs.last().unwrap().2[0];
            assert!(
                b.extended_highest_seq > 11,
                "first report after 0.5 s: {b:?}"
            );
            assert_eq!(b.cumulative_lost, 2, "{b:?}");
            assert_eq!(b.last_sr, ntp_middle32(sr_ntp), "LSR from Alice's SR");
            assert!(b.delay_since_last_sr > 0);
        }
    }
    // Alice's RTCP is consumed by the bridge, not relayed to Bob.
    assert!(sender_reports(&to_bob)
        .iter()
        .all(|(ssrc, _, _)| *ssrc == to_bob_ssrc));

    // Alice answers with an RR about the bridge's stream; it is counted, not relayed.
    let block = ReportBlock {
        ssrc: to_alice_ssrc,
        ..ReportBlock::default()
    };
    let mut rr = [0u8; 32];
    let n = write_receiver_report(0x5151_5151, &[block], &mut rr).unwrap();
    alice_rtcp.send_to(&rr[..n], a.rtcp).await.unwrap();
    sleep(Duration::from_millis(100)).await;
    let stats = plane.stats(a.id).await.unwrap();
    assert_eq!(stats.rtcp_received, 2, "{stats:?}");
    assert_eq!(stats.rtcp_sent as usize, to_alice.len(), "{stats:?}");
    drain(&bob_rtcp, &mut to_bob).await;
    assert!(sender_reports(&to_bob)
        .iter()
        .all(|(ssrc, _, _)| *ssrc == to_bob_ssrc));
    plane.shutdown();
}
