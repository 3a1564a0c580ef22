//! The per-packet cost DTMF detection adds to the relay for an endpoint that asked for it
//! (media-plane/engine/src/dtmf.rs does exactly these steps): parse the 172-byte RTP packet,
//! then either decode its 160 PCMU bytes and run the in-band detector (endpoints without
//! telephone-event), or hand a telephone-event payload to the RFC 4733 receiver.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use warden_dsp::codec::g711;
use warden_dsp::dtmf::Digit;
use warden_dsp::{DtmfDetector, DtmfGenerator, DtmfReceiver, ToneGenerator, ToneSpec};
use warden_rtp_proto::{RtpPacket, RtpWriter};

fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + payload.len()];
    let writer = RtpWriter {
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x1234_5678,
        ..RtpWriter::default()
    };
    let _ = writer.write(payload, &mut buf);
    buf
}

/// One second of PCMU packets: a key pressed for 100 ms every 200 ms.
fn inband_packets() -> Vec<Vec<u8>> {
    let mut pcm = Vec::new();
    for c in "1234#".chars() {
        if let Some(d) = Digit::from_char(c) {
            if let Ok(mut g) = ToneGenerator::new(ToneSpec::dtmf(d, 100), 8000) {
                let mut tone = [0i16; 800];
                g.next_frame(&mut tone);
                pcm.extend_from_slice(&tone);
            }
        }
        pcm.extend(std::iter::repeat_n(0i16, 800));
    }
    pcm.chunks(160)
        .enumerate()
        .map(|(i, c)| {
            let mut codes = [0u8; 160];
            g711::encode_ulaw(c, &mut codes);
            packet(0, i as u16, i as u32 * 160, &codes)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("dtmf_tap");

    let packets = inband_packets();
    let mut detector = DtmfDetector::new();
    let mut pcm = [0i16; 160];
    let mut k = 0;
    group.bench_function("inband_pcmu_packet", |b| {
        b.iter(|| {
            k = (k + 1) % packets.len();
            if let Ok(p) = RtpPacket::parse(black_box(&packets[k])) {
                let n = g711::decode_ulaw(p.payload(), &mut pcm);
                detector.process(&pcm[..n], |e| {
                    black_box(e);
                });
            }
        })
    });

    let generator = DtmfGenerator::new(8000, 10);
    let events: Vec<(u64, Vec<u8>)> = "159#"
        .chars()
        .enumerate()
        .filter_map(|(i, c)| Some((i, Digit::from_char(c)?)))
        .flat_map(|(i, d)| {
            let ts = 1000 + i as u32 * 2000;
            generator.packets(d, ts, 120).map(move |p| {
                (
                    i as u64 * 250 + p.offset_ms,
                    packet(101, 0, p.ts, &p.payload),
                )
            })
        })
        .collect();
    let mut receiver = DtmfReceiver::new(8000, 800);
    let mut k = 0;
    let mut lap = 0u64;
    group.bench_function("rfc4733_packet", |b| {
        b.iter(|| {
            k += 1;
            if k == events.len() {
                k = 0;
                lap += 1000;
            }
            let (at, bytes) = &events[k];
            if let Ok(p) = RtpPacket::parse(black_box(bytes)) {
                // Each lap is one second later, in RTP time too.
                let ts = p.timestamp().wrapping_add((lap * 8) as u32);
                let _ = receiver.on_packet(lap + at, ts, p.payload(), |e| {
                    black_box(e);
                });
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
