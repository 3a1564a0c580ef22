//! End-to-end: a transcoding bridge on loopback between two test "phones" that share no
//! codec (PCMA and G.722), with packet loss, then back to plain relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{sleep, timeout, Instant};
use warden_dsp::{Codec, CodecParams};
use warden_media::{default_cores, EngineConfig, LegFormat, MediaPlane, RemoteSpec, WireCodec};

fn config(ports: (u16, u16)) -> EngineConfig {
    let mut cfg = EngineConfig::new("127.0.0.1".parse().unwrap());
    cfg.bind = "127.0.0.1".parse().unwrap();
    cfg.cores = vec![*default_cores().last().unwrap()];
    cfg.rtp_ports = ports;
    cfg.stats_interval = Duration::ZERO;
    cfg.io_memory_bytes = 128 * 1024;
    cfg
}

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
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    let (alice, bob) = (
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    );
    plane
        .set_remote(a.id, RemoteSpec::new(alice.local_addr().unwrap()))
        .await
        .unwrap();
    plane
        .set_remote(b.id, RemoteSpec::new(bob.local_addr().unwrap()))
        .await
        .unwrap();
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
