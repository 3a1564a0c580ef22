//! Per-packet media path of the relay on a 172-byte G.711 packet (12-byte header,
//! 160 bytes of 20 ms PCMU): classify, parse, latch check, receive statistics and
//! in-place rewrite (payload-type map and fixed SSRC), together and one by one.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use warden_rtp_proto::{
    classify, Latch, LatchConfig, PacketKind, PayloadTypeMap, RecvStats, RewriterConfig, RtpPacket,
    RtpWriter, SsrcMode, StreamRewriter,
};

const PACKET_LEN: usize = 172;
const SSRC: u32 = 0x1234_5678;

fn g711_packet() -> [u8; PACKET_LEN] {
    let mut buf = [0u8; PACKET_LEN];
    let writer = RtpWriter {
        payload_type: 0,
        sequence: 1,
        timestamp: 160,
        ssrc: SSRC,
        ..RtpWriter::default()
    };
    let _ = writer.write(&[0xD5; 160], &mut buf);
    buf
}

/// Restores the input header for packet number `n` (as if freshly received).
#[inline]
fn receive(buf: &mut [u8; PACKET_LEN], n: u32) {
    buf[1] = 0;
    buf[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    buf[4..8].copy_from_slice(&n.wrapping_mul(160).to_be_bytes());
    buf[8..12].copy_from_slice(&SSRC.to_be_bytes());
}

fn rewriter() -> StreamRewriter {
    let mut map = PayloadTypeMap::empty();
    let _ = map.set(0, 0);
    let _ = map.set(101, 96);
    let mut cfg = RewriterConfig::new(SsrcMode::Fixed(0xFEED_BEEF), 8000);
    cfg.payload_types = map;
    StreamRewriter::new(cfg)
}

fn peer() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 7), 40_000))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rtp_path");

    group.bench_function("full_path", |b| {
        let mut buf = g711_packet();
        let mut latch = Latch::new(None, LatchConfig::default());
        let mut stats = RecvStats::new(8000);
        let mut rw = rewriter();
        let from = peer();
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            receive(&mut buf, n);
            let now = u64::from(n) * 20_000_000;
            if classify(black_box(&buf)) != PacketKind::Rtp {
                return false;
            }
            let Ok(pkt) = RtpPacket::parse(&buf) else {
                return false;
            };
            let ssrc = pkt.ssrc();
            let decision = latch.on_packet(black_box(from), ssrc, now);
            let outcome = stats.on_rtp(&pkt, now);
            black_box((decision, outcome));
            matches!(rw.rewrite(&mut buf, now), Ok(o) if o.is_forwarded())
        });
    });

    group.bench_function("classify", |b| {
        let buf = g711_packet();
        b.iter(|| classify(black_box(&buf)));
    });

    group.bench_function("parse", |b| {
        let buf = g711_packet();
        b.iter(|| {
            RtpPacket::parse(black_box(&buf))
                .map(|p| p.payload().len() + p.sequence() as usize)
                .ok()
        });
    });

    group.bench_function("latch", |b| {
        let mut latch = Latch::new(None, LatchConfig::default());
        let from = peer();
        let mut now = 0u64;
        b.iter(|| {
            now += 20_000_000;
            latch.on_packet(black_box(from), black_box(SSRC), now)
        });
    });

    group.bench_function("stats", |b| {
        let mut stats = RecvStats::new(8000);
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            stats.on_packet(
                black_box(n as u16),
                n.wrapping_mul(160),
                u64::from(n) * 20_000_000,
                160,
            )
        });
    });

    group.bench_function("rewrite", |b| {
        let mut buf = g711_packet();
        let mut rw = rewriter();
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            receive(&mut buf, n);
            rw.rewrite(black_box(&mut buf), u64::from(n) * 20_000_000)
        });
    });

    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
