//! End-to-end: DTMF detection on a media core, with real UDP through a bridged pair.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::time::timeout;
use warden_dsp::codec::g711;
use warden_dsp::dtmf::Digit;
use warden_dsp::{DtmfGenerator, ToneGenerator, ToneSpec};
use warden_media::{DtmfSource, DtmfSpec, EngineConfig, MediaError, MediaEvent, MediaPlane};
use warden_shared::ErrorCode;

fn config(ports: (u16, u16)) -> EngineConfig {
    let mut cfg = support::config(ports);
    cfg.rtp_timeout = Duration::from_secs(5);
    cfg
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0xD7F0_0001u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// The digits (on key release) reported for `endpoint` within `wait`.
async fn digits(
    events: &mut broadcast::Receiver<MediaEvent>,
    endpoint: warden_media::EndpointId,
    n: usize,
    wait: Duration,
) -> Vec<(char, DtmfSource, u32)> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < n {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match timeout(left, events.recv()).await {
            Ok(Ok(MediaEvent::Dtmf { endpoint: e, digit })) if e == endpoint && digit.ended => {
                out.push((digit.to_char(), digit.source, digit.duration_ms));
            }
            Ok(Ok(_)) => {}
            _ => break,
        }
    }
    out
}

async fn received(sock: &UdpSocket, n: usize) -> Vec<(Vec<u8>, SocketAddr)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2048];
    while out.len() < n {
        match timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await {
            Ok(Ok((len, from))) => out.push((buf[..len].to_vec(), from)),
            _ => break,
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephone_events_are_reported_once_per_press_and_still_relayed() {
    let plane = MediaPlane::start(config((41800, 41849))).unwrap();
    let mut events = plane.subscribe();
    let (a, b, alice, bob) = support::bridged(&plane).await;
    plane
        .set_dtmf(
            a.id,
            DtmfSpec {
                telephone_event_pt: Some(101),
                telephone_event_rate: 8000,
                ..DtmfSpec::default()
            },
        )
        .await
        .unwrap();

    let generator = DtmfGenerator::new(8000, 10);
    let (mut seq, mut ts, mut sent) = (0u16, 8000u32, 0usize);
    for c in "4#0".chars() {
        let start = Instant::now();
        for pkt in generator.packets(Digit::from_char(c).unwrap(), ts, 100) {
            let due = start + Duration::from_millis(pkt.offset_ms);
            tokio::time::sleep_until(due.into()).await;
            seq = seq.wrapping_add(1);
            let bytes = rtp(101, pkt.marker, seq, pkt.ts, &pkt.payload);
            alice.send_to(&bytes, a.rtp).await.unwrap();
            sent += 1;
        }
        ts = ts.wrapping_add(2400);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let got = digits(&mut events, a.id, 3, Duration::from_secs(3)).await;
    let chars: String = got.iter().map(|d| d.0).collect();
    assert_eq!(chars, "4#0", "{got:?}");
    assert!(got.iter().all(|d| d.1 == DtmfSource::Rfc4733));
    assert!(got.iter().all(|d| (90..=110).contains(&d.2)), "{got:?}");
    // Nothing more (the retransmitted end packets are not new presses).
    assert!(digits(&mut events, a.id, 1, Duration::from_millis(300))
        .await
        .is_empty());

    // Every packet reached the other leg, payload unchanged.
    let relayed = received(&bob, sent).await;
    assert_eq!(relayed.len(), sent);
    assert!(relayed
        .iter()
        .all(|(p, from)| *from == b.rtp && p[1] & 0x7f == 101));

    // The other leg did not ask: nothing is reported for it.
    let mut seq = 0;
    for pkt in generator.packets(Digit::from_char('9').unwrap(), 1, 60) {
        seq += 1;
        bob.send_to(&rtp(101, pkt.marker, seq, pkt.ts, &pkt.payload), b.rtp)
            .await
            .unwrap();
    }
    assert!(digits(&mut events, b.id, 1, Duration::from_millis(500))
        .await
        .is_empty());
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inband_tones_in_pcmu_are_detected_and_turning_off_stops_detection() {
    let plane = MediaPlane::start(config((41850, 41899))).unwrap();
    let mut events = plane.subscribe();
    let (a, _b, alice, bob) = support::bridged(&plane).await;
    let spec = DtmfSpec {
        pcmu_pt: Some(0),
        ..DtmfSpec::default()
    };
    plane.set_dtmf(a.id, spec).await.unwrap();

    let mut pcm = Vec::new();
    for c in "27*".chars() {
        let mut g =
            ToneGenerator::new(ToneSpec::dtmf(Digit::from_char(c).unwrap(), 100), 8000).unwrap();
        let mut tone = [0i16; 800];
        g.next_frame(&mut tone);
        pcm.extend_from_slice(&tone);
        pcm.extend(std::iter::repeat_n(0i16, 800));
    }
    let send = |pcm: Vec<i16>| {
        let alice = &alice;
        async move {
            let mut n = 0;
            for (i, chunk) in pcm.chunks(160).enumerate() {
                let mut payload = [0u8; 160];
                g711::encode_ulaw(chunk, &mut payload);
                let bytes = rtp(0, false, i as u16, i as u32 * 160, &payload);
                alice.send_to(&bytes, a.rtp).await.unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            n
        }
    };
    let sent = send(pcm.clone()).await;
    let got = digits(&mut events, a.id, 3, Duration::from_secs(3)).await;
    let chars: String = got.iter().map(|d| d.0).collect();
    assert_eq!(chars, "27*", "{got:?}");
    assert!(got.iter().all(|d| d.1 == DtmfSource::Inband));
    assert_eq!(received(&bob, sent).await.len(), sent);

    plane.set_dtmf(a.id, DtmfSpec::default()).await.unwrap();
    let sent = send(pcm).await;
    assert!(digits(&mut events, a.id, 1, Duration::from_millis(500))
        .await
        .is_empty());
    assert_eq!(received(&bob, sent).await.len(), sent);

    // A destroyed endpoint is refused.
    plane.destroy(a.id).await.unwrap();
    assert!(matches!(
        plane.set_dtmf(a.id, spec).await,
        Err(MediaError::Refused(ErrorCode::UnknownEndpoint))
    ));
    plane.shutdown();
}
