#![no_main]
//! Arbitrary insert/pop sequences (any sequence numbers, timestamps, SSRCs and times, including
//! time going backwards) against the jitter buffer and its decoding wrapper: nothing panics,
//! every pop yields exactly one decision / one full PCM frame, buffered packets stay within
//! the slot ring, and payloads handed out are the size they were inserted with.

use arbitrary::Arbitrary;
use warden_dsp::{Codec, CodecParams, JitterBuffer, JitterConfig, PcmJitterBuffer, Playout};

#[derive(Arbitrary, Debug)]
enum Op {
    Insert {
        dt: i16,
        seq: u16,
        ts: u32,
        ssrc: u8,
        marker: bool,
        len: u8,
    },
    Near {
        dt: u8,
        seq_step: i8,
        ts_step: i16,
    },
    Pop {
        dt: i16,
    },
    Jump {
        now: u64,
    },
}

libfuzzer_sys::fuzz_target!(|ops: Vec<Op>| {
    let cfg = JitterConfig::new(8000);
    let slots = (cfg.max_delay_ms / cfg.frame_ms) as usize + 8;
    let mut jb = JitterBuffer::new(cfg).unwrap();
    let mut pcm = PcmJitterBuffer::new(Codec::new(CodecParams::pcmu()).unwrap(), cfg).unwrap();
    let mut now: u64 = 1 << 20;
    let (mut seq, mut ts) = (0u16, 0u32);
    for op in ops {
        let insert = match op {
            Op::Insert {
                dt,
                seq: s,
                ts: t,
                ssrc,
                marker,
                len,
            } => {
                now = now.saturating_add_signed(i64::from(dt));
                seq = s;
                ts = t;
                Some((u32::from(ssrc % 3), marker, usize::from(len)))
            }
            Op::Near {
                dt,
                seq_step,
                ts_step,
            } => {
                now = now.saturating_add(u64::from(dt));
                seq = seq.wrapping_add_signed(i16::from(seq_step));
                ts = ts.wrapping_add_signed(i32::from(ts_step) * 8);
                Some((1, false, 160))
            }
            Op::Pop { dt } => {
                now = now.saturating_add_signed(i64::from(dt));
                let len_ok = match jb.pop(now) {
                    Playout::Packet { payload, .. } => payload.len() <= cfg.max_payload,
                    Playout::Conceal { fec } => fec.is_none_or(|p| p.len() <= cfg.max_payload),
                    Playout::Silence => true,
                };
                assert!(len_ok);
                let frame = pcm.pop(now);
                assert_eq!(frame.pcm.len(), 160);
                None
            }
            Op::Jump { now: t } => {
                now = t;
                None
            }
        };
        if let Some((ssrc, marker, len)) = insert {
            let payload = vec![0xD5u8; len];
            let _ = jb.insert(now, seq, ts, ssrc, marker, &payload);
            let _ = pcm.insert(now, seq, ts, ssrc, marker, &payload);
        }
        let s = jb.stats();
        assert!(
            s.buffered <= slots,
            "{} buffered > {slots} slots",
            s.buffered
        );
        assert!(s.target_delay_ms <= f64::from(cfg.max_delay_ms) + 1e-9);
    }
});
