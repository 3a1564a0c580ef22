//! The transcoding bridge per 20 ms frame — PCMU → Opus and Opus → PCMU: packet path
//! (parse, jitter-buffer insert) plus timer path (playout, decode, resample, encode, RTP
//! header) — against the plain relay's per-packet path (classify, parse, latch, receive
//! statistics, in-place rewrite) measured in the same run. The ratio of the two is the
//! cost of transcoding a frame relative to relaying it. The `_recorded` variants also keep
//! each decoded frame at 8 kHz for a recording of the call.

// Inputs are fixed and known-good: an error here is a bench setup bug, so unwrap is fine.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, Criterion};
use warden_dsp::{Codec, CodecParams};
use warden_media::{FramePath, LegFormat, WireCodec};
use warden_rtp_proto::{
    classify, Latch, LatchConfig, PacketKind, RecvStats, RewriterConfig, RtpPacket, SsrcMode,
    StreamRewriter,
};

const SSRC: u32 = 0x1234_5678;
/// Frames in the pre-encoded input loop (1 s).
const LOOP: usize = 50;

fn format(codec: WireCodec, payload_type: u8, clock_rate: u32) -> LegFormat {
    LegFormat {
        codec,
        payload_type,
        clock_rate,
        ptime_ms: 20,
        telephone_event: None,
    }
}

/// One second of a speech-band tone mix, encoded as `LOOP` RTP packets.
fn packets(params: CodecParams, pt: u8) -> Vec<Vec<u8>> {
    let mut c = Codec::new(params).unwrap();
    let rate = f64::from(c.sample_rate());
    let frame = c.samples_per_frame();
    let mut buf = vec![0u8; 1500];
    (0..LOOP)
        .map(|i| {
            let pcm: Vec<i16> = (i * frame..(i + 1) * frame)
                .map(|n| {
                    let t = n as f64 / rate;
                    (5000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                        + 2000.0 * (2.0 * std::f64::consts::PI * 1250.0 * t).sin())
                        as i16
                })
                .collect();
            let n = c.encode(&pcm, &mut buf).unwrap();
            let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0];
            p.extend_from_slice(&SSRC.to_be_bytes());
            p.extend_from_slice(&buf[..n]);
            p
        })
        .collect()
}

/// Restamps packet `n` of the loop (sequence and timestamp keep running).
fn stamp(p: &mut [u8], n: u32, step: u32) {
    p[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    p[4..8].copy_from_slice(&n.wrapping_mul(step).to_be_bytes());
}

fn bench_direction(
    c: &mut Criterion,
    name: &str,
    from: (LegFormat, CodecParams, u32),
    to: LegFormat,
    recorded: bool,
) {
    let (from_format, params, step) = from;
    let mut input = packets(params, from_format.payload_type);
    let mut path = FramePath::new(from_format, to).unwrap();
    let mut n = 0u32;
    let mut frame = |path: &mut FramePath, input: &mut Vec<Vec<u8>>| {
        n = n.wrapping_add(1);
        let p = &mut input[n as usize % LOOP];
        stamp(p, n, step);
        let now_ms = 1000 + u64::from(n) * 20;
        let buffered = path.ingest(now_ms, black_box(p.as_mut_slice()));
        if recorded {
            black_box((buffered, path.tick_recorded(now_ms + 5).0))
        } else {
            black_box((buffered, path.tick(now_ms + 5)))
        }
    };
    // Past the jitter buffer's initial delay: every frame decodes and encodes.
    for _ in 0..20 {
        frame(&mut path, &mut input);
    }
    c.bench_function(name, |b| b.iter(|| frame(&mut path, &mut input)));
}

fn relay(c: &mut Criterion) {
    let mut buf = [0xd5u8; 172];
    buf[..12].copy_from_slice(&[0x80, 0, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78]);
    let mut latch = Latch::new(None, LatchConfig::default());
    let mut stats = RecvStats::new(8000);
    let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xfeed_beef), 8000));
    let from = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 7), 40_000));
    let mut n = 0u32;
    c.bench_function("transcode/relay_per_packet", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            buf[1] = 0;
            stamp(&mut buf, n, 160);
            buf[8..12].copy_from_slice(&SSRC.to_be_bytes());
            let now = u64::from(n) * 20_000_000;
            if classify(black_box(&buf)) != PacketKind::Rtp {
                return false;
            }
            let Ok(pkt) = RtpPacket::parse(&buf) else {
                return false;
            };
            let decision = latch.on_packet(black_box(from), pkt.ssrc(), now);
            let outcome = stats.on_rtp(&pkt, now);
            black_box((decision, outcome));
            matches!(rw.rewrite(&mut buf, now), Ok(o) if o.is_forwarded())
        });
    });
}

fn bench(c: &mut Criterion) {
    relay(c);
    let pcmu = format(WireCodec::Pcmu, 0, 8000);
    let opus = format(WireCodec::Opus, 96, 48_000);
    for (suffix, recorded) in [("", false), ("_recorded", true)] {
        bench_direction(
            c,
            &format!("transcode/pcmu_to_opus_per_frame{suffix}"),
            (pcmu, CodecParams::pcmu(), 160),
            opus,
            recorded,
        );
        bench_direction(
            c,
            &format!("transcode/opus_to_pcmu_per_frame{suffix}"),
            (opus, CodecParams::opus(48_000), 960),
            pcmu,
            recorded,
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
