#![no_main]
//! Arbitrary packet sequences through a relayed direction that is handed to a model of the
//! in-kernel forwarder and taken back, as the media core does (`RecvStats::continuation` /
//! `absorb`, `StreamRewriter::steady` / `absorb`): nothing panics, every packet the core or
//! the kernel counted is in the statistics once, and the rewriter's count of forwarded
//! packets is the sum of both.

use arbitrary::Arbitrary;
use warden_rtp_proto::{Continuation, RecvStats, RewriterConfig, SsrcMode, StreamRewriter};

#[derive(Arbitrary, Debug)]
enum Op {
    /// A packet `step` after the last one (wrapping), from SSRC `ssrc % 2`, `dt` ms later.
    Packet { step: i16, ssrc: bool, dt: u8 },
    /// The core offers the direction to the kernel.
    HandOff,
    /// The core takes it back.
    TakeBack,
}

/// What the forwarding program keeps for a rule.
struct Kernel {
    in_ssrc: u32,
    seed_ext: u64,
    last_seq: u16,
    ext: u32,
    packets: u64,
    last: (u64, u32),
}

libfuzzer_sys::fuzz_target!(|ops: Vec<Op>| {
    let mut stats = RecvStats::with_probation(8000, 1);
    let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xABCD), 8000));
    let mut kernel: Option<Kernel> = None;
    let (mut seq, mut now) = (1000u16, 1u64 << 30);
    let (mut by_core, mut by_kernel, mut forwarded) = (0u64, 0u64, 0u64);
    for op in ops {
        match op {
            Op::Packet { step, ssrc, dt } => {
                seq = seq.wrapping_add_signed(step);
                now += u64::from(dt) * 1_000_000;
                let (ssrc, ts) = (u32::from(ssrc) + 1, u32::from(seq).wrapping_mul(160));
                // The program: the rule's SSRC, a forward step of 1..3000.
                if let Some(k) = kernel.as_mut() {
                    let delta = seq.wrapping_sub(k.last_seq);
                    if ssrc == k.in_ssrc && (1..3000).contains(&delta) {
                        k.last_seq = seq;
                        k.ext = k.ext.wrapping_add(u32::from(delta));
                        k.packets += 1;
                        k.last = (now, ts);
                        by_kernel += 1;
                        forwarded += 1;
                        continue;
                    }
                }
                // Anything else reaches the core, which takes the direction back first.
                if let Some(k) = kernel.take() {
                    fold(&mut stats, &mut rw, &k);
                }
                if stats.on_packet(seq, ts, now, 160).is_counted() {
                    by_core += 1;
                }
                let mut buf = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                buf[4..8].copy_from_slice(&ts.to_be_bytes());
                buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
                if rw.rewrite(&mut buf, now).is_ok_and(|o| o.is_forwarded()) {
                    forwarded += 1;
                }
            }
            Op::HandOff => {
                if kernel.is_some() {
                    continue;
                }
                let (Some(cont), Some(steady)) = (stats.continuation(), rw.steady()) else {
                    continue;
                };
                kernel = Some(Kernel {
                    in_ssrc: steady.in_ssrc,
                    seed_ext: cont.highest_seq_ext,
                    last_seq: cont.highest_seq_ext as u16,
                    ext: cont.highest_seq_ext as u32,
                    packets: 0,
                    last: (cont.last_arrival_ns, cont.last_ts),
                });
            }
            Op::TakeBack => {
                if let Some(k) = kernel.take() {
                    fold(&mut stats, &mut rw, &k);
                }
            }
        }
    }
    if let Some(k) = kernel.take() {
        fold(&mut stats, &mut rw, &k);
    }
    let snap = stats.snapshot();
    assert_eq!(
        snap.packets,
        by_core + by_kernel,
        "every counted packet once"
    );
    assert_eq!(
        rw.forwarded(),
        forwarded,
        "the rewriter knows every forwarded packet"
    );
});

fn fold(stats: &mut RecvStats, rw: &mut StreamRewriter, k: &Kernel) {
    let end = k.seed_ext + u64::from(k.ext.wrapping_sub(k.seed_ext as u32));
    stats.absorb(
        k.packets,
        k.packets * 160,
        Continuation {
            highest_seq_ext: end,
            last_arrival_ns: k.last.0,
            last_ts: k.last.1,
            jitter: 0.0,
        },
    );
    rw.absorb(k.packets, end as u16, k.last.1, k.last.0);
}
