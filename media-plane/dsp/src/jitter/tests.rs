use super::netem::{self, Arrival, Netem};
use super::*;
use crate::codec::{Codec, CodecParams};

/// Summary of one pop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Packet(u16, u32),
    Conceal(bool),
    Silence,
}

/// Feeds `arrivals` and pops every 20 ms from `start_ms` for `pops` frames.
fn drive(
    jb: &mut JitterBuffer,
    arrivals: &[Arrival],
    start_ms: u64,
    pops: usize,
    mut each: impl FnMut(usize, &JitterBuffer),
) -> Vec<Out> {
    let mut next = 0;
    let mut outs = Vec::with_capacity(pops);
    for k in 0..pops {
        let now = start_ms + 20 * k as u64;
        while next < arrivals.len() && arrivals[next].at_ms <= now {
            let a = arrivals[next];
            let p = a.pkt;
            jb.insert(a.at_ms, p.seq, p.ts, p.ssrc, p.marker, &p.seq.to_be_bytes());
            next += 1;
        }
        let o = match jb.pop(now) {
            Playout::Packet {
                payload, seq, ts, ..
            } => {
                assert_eq!(payload, seq.to_be_bytes(), "payload belongs to its packet");
                Out::Packet(seq, ts)
            }
            Playout::Conceal { fec } => Out::Conceal(fec.is_some()),
            Playout::Silence => Out::Silence,
        };
        outs.push(o);
        each(k, jb);
    }
    outs
}

fn played(outs: &[Out]) -> Vec<u16> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Packet(s, _) => Some(*s),
            _ => None,
        })
        .collect()
}

fn jb8k() -> JitterBuffer {
    JitterBuffer::new(JitterConfig::new(8000)).unwrap()
}

#[test]
fn clean_network_plays_every_packet_in_order() {
    let sent = netem::stream(500, 1000, 65_000, u32::MAX - 20_000, 7, 160);
    let net = netem::run(Netem::clean(30.0), &sent, 1);
    let mut jb = jb8k();
    let outs = drive(&mut jb, &net.arrivals, 1000, 520, |_, _| {});
    let seqs = played(&outs);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.duplicates), (0, 0, 0));
    // The only concealment is the 3-frame tail after the stream ends, then silence.
    let last = outs
        .iter()
        .rposition(|o| matches!(o, Out::Packet(..)))
        .unwrap();
    assert_eq!(s.concealed, 3);
    assert!(outs[last + 1..last + 4]
        .iter()
        .all(|o| *o == Out::Conceal(false)));
    assert!(outs[last + 4..].iter().all(|o| *o == Out::Silence));
    // Once 16 packets show there is no jitter, the 60 ms initial delay shrinks to the 20 ms
    // minimum: at most two frames are skipped, everything else plays in order.
    assert!(s.skipped <= 2, "{s:?}");
    assert_eq!(seqs.len() as u64 + s.skipped, 500);
    assert!(seqs
        .windows(2)
        .all(|w| w[1].wrapping_sub(w[0]) >= 1 && w[1].wrapping_sub(w[0]) <= 2));
    assert_eq!(
        (seqs[0], seqs[seqs.len() - 1]),
        (65_000, 65_000u16.wrapping_add(499))
    );

    // With the initial delay equal to the minimum nothing is ever skipped.
    let mut cfg = JitterConfig::new(8000);
    cfg.initial_delay_ms = 20;
    let mut jb = JitterBuffer::new(cfg).unwrap();
    let outs = drive(&mut jb, &net.arrivals, 1000, 520, |_, _| {});
    let expected: Vec<u16> = sent.iter().map(|p| p.seq).collect();
    assert!(
        played(&outs) == expected,
        "all packets, in order, across seq and ts wrap"
    );
    let first = outs
        .iter()
        .position(|o| matches!(o, Out::Packet(..)))
        .unwrap();
    assert!(outs[first..first + 500]
        .iter()
        .all(|o| matches!(o, Out::Packet(..))));
    assert!(
        s.target_delay_ms <= 40.0,
        "no jitter: minimum target, got {}",
        s.target_delay_ms
    );
}

#[test]
fn seeded_netem_reorder_loss_duplication() {
    let net_cfg = Netem {
        base_ms: 40.0,
        jitter_mean_ms: 8.0,
        loss: 0.03,
        duplicate: 0.02,
        reorder: 0.05,
        reorder_ms: 30.0,
    };
    let n = 3000;
    let sent = netem::stream(n, 0, 100, 5000, 42, 160);
    let net = netem::run(net_cfg, &sent, 0x5EED);
    assert!(
        net.lost.len() > 50 && net.duplicates > 30,
        "the seed exercises loss and dups"
    );
    let mut jb = jb8k();
    let mut max_delay = 0.0f64;
    let outs = drive(&mut jb, &net.arrivals, 0, n + 40, |k, jb| {
        if k > 300 {
            max_delay = max_delay.max(jb.stats().current_delay_ms);
        }
    });
    let s = jb.stats();
    eprintln!(
        "netem run: {} lost, {} duplicated; buffer: {s:?}",
        net.lost.len(),
        net.duplicates
    );

    // Continuity: packets come out strictly in sequence order, each at most once.
    let seqs = played(&outs);
    assert!(
        seqs.windows(2).all(|w| w[1].wrapping_sub(w[0]) as i16 > 0),
        "in order"
    );
    // Exact accounting from the emulator.
    assert_eq!(s.duplicates, net.duplicates as u64);
    let last_delivered = net.arrivals.iter().map(|a| a.pkt.seq).max().unwrap();
    let lost_before_end = net
        .lost
        .iter()
        .filter(|&&i| sent[i].seq < last_delivered)
        .count();
    assert_eq!(s.lost, lost_before_end as u64);
    // Every delivered packet is accounted for: played, late, still buffered, or dropped by a
    // delay-shrinking skip (skips may also land on empty frames, hence the bounds).
    let delivered = (n - net.lost.len()) as u64;
    let accounted = seqs.len() as u64 + s.late + s.buffered as u64;
    assert!(
        accounted <= delivered && delivered <= accounted + s.skipped,
        "{s:?}"
    );
    // Concealment covers the losses; FEC candidates exist for most of them.
    assert!(s.concealed >= s.lost - s.skipped.min(s.lost), "{s:?}");
    assert!(s.fec_opportunities * 10 >= s.lost * 7, "{s:?}");
    // The 95 % target keeps late packets rare, and the delay bounded and sensible.
    assert!(s.late * 100 <= n as u64 * 5, "late {} of {n}", s.late);
    assert!(
        (30.0..=150.0).contains(&s.target_delay_ms),
        "target {}",
        s.target_delay_ms
    );
    assert!(
        max_delay <= 200.0,
        "delay above fastest packet peaked at {max_delay} ms"
    );
}

#[test]
fn target_follows_jitter_up_and_down() {
    let calm = Netem {
        jitter_mean_ms: 1.0,
        ..Netem::clean(20.0)
    };
    let rough = Netem {
        jitter_mean_ms: 25.0,
        ..Netem::clean(20.0)
    };
    let phase = 1500; // 30 s each
    let sent = netem::stream(3 * phase, 0, 0, 0, 1, 160);
    let mut arrivals = netem::run(calm, &sent[..phase], 1).arrivals;
    arrivals.extend(netem::run(rough, &sent[phase..2 * phase], 2).arrivals);
    arrivals.extend(netem::run(calm, &sent[2 * phase..], 3).arrivals);
    arrivals.sort_by_key(|a| a.at_ms);
    let mut jb = jb8k();
    let mut targets = Vec::new();
    let mut late_at = Vec::new();
    let outs = drive(&mut jb, &arrivals, 0, 3 * phase + 30, |k, jb| {
        if k % 50 == 0 {
            targets.push((k, jb.stats().target_delay_ms));
        }
        late_at.push(jb.stats().late);
    });
    let target_at = |k: usize| targets.iter().rev().find(|(i, _)| *i <= k).unwrap().1;
    assert!(
        target_at(phase - 1) <= 30.0,
        "calm: {}",
        target_at(phase - 1)
    );
    // Exponential with mean 25 ms: the 95th percentile is ~75 ms.
    let rough_target = target_at(2 * phase - 1);
    assert!(
        (70.0..=130.0).contains(&rough_target),
        "rough: {rough_target}"
    );
    assert!(
        target_at(3 * phase - 1) <= 30.0,
        "calm again: {}",
        target_at(3 * phase - 1)
    );
    // Once adapted (after 5 s of rough network), late packets stay near the 5 % design point.
    let late_rough = late_at[2 * phase - 1] - late_at[phase + 250];
    assert!(
        late_rough * 100 <= (phase as u64 - 250) * 8,
        "late {late_rough}"
    );
    assert!(played(&outs).len() > 3 * phase * 9 / 10);
}

#[test]
fn ssrc_change_resynchronises() {
    let a = netem::stream(100, 0, 10, 1000, 0xA, 160);
    let b = netem::stream(100, 2000, 40_000, 9_999_999, 0xB, 160);
    let mut sent = a.clone();
    sent.extend(&b);
    let net = netem::run(Netem::clean(30.0), &sent, 9);
    let mut jb = jb8k();
    let outs = drive(&mut jb, &net.arrivals, 0, 220, |_, _| {});
    let seqs = played(&outs);
    assert_eq!(jb.stats().resyncs, 1);
    let switch = seqs.iter().position(|&s| s >= 40_000).unwrap();
    assert!(seqs[..switch].iter().all(|&s| s < 110));
    assert!(
        seqs[switch..].iter().all(|&s| s >= 40_000),
        "no old packets after the switch"
    );
    assert!(seqs.len() >= 190, "both streams play ({})", seqs.len());
    // B starts playing within its initial delay of its first arrival (2030 ms).
    let first_b = outs
        .iter()
        .position(|o| matches!(o, Out::Packet(s, _) if *s >= 40_000))
        .unwrap();
    assert!(
        (2030..=2130).contains(&(first_b as u64 * 20)),
        "B first played at {}",
        first_b * 20
    );
}

#[test]
fn timestamp_jump_resynchronises_after_confirmation_or_marker() {
    let mut sent = netem::stream(100, 0, 0, 0, 5, 160);
    // Same SSRC, sequence continues, timestamp jumps by ~1.6 hours of 8 kHz clock.
    let mut jump = netem::stream(100, 2000, 100, 50_000_000, 5, 160);
    jump[0].marker = false;
    sent.extend(&jump);
    let net = netem::run(Netem::clean(10.0), &sent, 3);
    let mut jb = jb8k();
    let outs = drive(&mut jb, &net.arrivals, 0, 220, |_, _| {});
    let s = jb.stats();
    assert_eq!(
        (s.resyncs, s.discarded),
        (1, 1),
        "first packet held, second confirms"
    );
    let seqs = played(&outs);
    assert!(seqs.contains(&199) && seqs.contains(&99) && !seqs.contains(&100));

    // With the marker bit the jump is taken at once.
    let mut sent = netem::stream(50, 0, 0, 0, 5, 160);
    sent.extend(netem::stream(50, 1000, 50, 7_777_777, 5, 160));
    let net = netem::run(Netem::clean(10.0), &sent, 3);
    let mut jb = jb8k();
    let outs = drive(&mut jb, &net.arrivals, 0, 120, |_, _| {});
    assert_eq!((jb.stats().resyncs, jb.stats().discarded), (1, 0));
    assert!(played(&outs).contains(&50));
}

#[test]
fn stray_packet_does_not_derail_the_stream() {
    let sent = netem::stream(200, 0, 0, 0, 5, 160);
    let mut net = netem::run(Netem::clean(10.0), &sent, 3);
    let mut stray = net.arrivals[100];
    stray.pkt.ts = 123_456_789;
    stray.pkt.seq = 30_000;
    net.arrivals.insert(101, stray);
    let mut jb = jb8k();
    let outs = drive(&mut jb, &net.arrivals, 0, 210, |_, _| {});
    let s = jb.stats();
    assert_eq!((s.resyncs, s.discarded), (0, 1));
    assert!(played(&outs).len() >= 198);
}

#[test]
fn dtx_gap_does_not_grow_the_buffer() {
    // Talk 2 s, silence (no packets) 5 s, talk 2 s; timestamps keep running during the gap.
    let mut sent = netem::stream(100, 0, 0, 0, 5, 160);
    let mut resume = netem::stream(100, 7000, 100, 350 * 160, 5, 160);
    resume[0].marker = true;
    sent.extend(&resume);
    let net = netem::run(
        Netem {
            jitter_mean_ms: 3.0,
            ..Netem::clean(25.0)
        },
        &sent,
        11,
    );
    let mut jb = jb8k();
    let mut delays = Vec::new();
    let outs = drive(&mut jb, &net.arrivals, 0, 470, |_, jb| {
        delays.push(jb.stats().current_delay_ms)
    });
    let first_resumed = outs
        .iter()
        .position(|o| matches!(o, Out::Packet(100, _)))
        .unwrap();
    let gap = &outs[105..first_resumed];
    let conceal = gap.iter().filter(|o| matches!(o, Out::Conceal(_))).count();
    assert!(conceal <= 3 && gap.iter().filter(|o| **o == Out::Silence).count() > 200);
    // The resumed talk-spurt plays at the same delay as before the gap.
    let before = delays[90];
    let after = delays[first_resumed + 20];
    assert!(
        (after - before).abs() <= 20.0,
        "delay before {before} after {after}"
    );
    assert!(jb.stats().buffered <= 8);
    assert_eq!(jb.stats().resyncs, 0);
}

#[test]
fn caller_stall_catches_up_at_once() {
    let sent = netem::stream(400, 0, 0, 0, 5, 160);
    let net = netem::run(Netem::clean(20.0), &sent, 4);
    let mut jb = jb8k();
    let mut next = 0;
    let mut delays = Vec::new();
    for k in 0..400u64 {
        let now = k * 20;
        while next < net.arrivals.len() && net.arrivals[next].at_ms <= now {
            let p = net.arrivals[next].pkt;
            jb.insert(
                net.arrivals[next].at_ms,
                p.seq,
                p.ts,
                p.ssrc,
                p.marker,
                &[0],
            );
            next += 1;
        }
        // The caller freezes between 2 s and 3 s.
        if !(100..150).contains(&k) {
            let _ = jb.pop(now);
            delays.push(jb.stats().current_delay_ms);
        }
    }
    // Right after the stall the delay is back to normal (one bulk skip, not 50 small ones).
    let normal = delays[90];
    assert!(
        (delays[102] - normal).abs() <= 20.0,
        "{} vs {normal}",
        delays[102]
    );
    let s = jb.stats();
    // Packets that arrived during the stall ran past the slot ring, so the buffer either
    // skipped ahead in bulk or resynchronised on them; both restore the delay at once.
    assert!(s.skipped >= 45 || s.resyncs == 1, "{s:?}");
}

#[test]
fn pcm_buffer_always_yields_one_frame() {
    let codec = Codec::new(CodecParams::pcmu()).unwrap();
    let mut pjb = PcmJitterBuffer::new(codec, JitterConfig::new(8000)).unwrap();
    let net_cfg = Netem {
        jitter_mean_ms: 10.0,
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.05,
        reorder_ms: 30.0,
        ..Netem::clean(30.0)
    };
    let sent = netem::stream(500, 0, 0, 0, 5, 160);
    let net = netem::run(net_cfg, &sent, 77);
    let mut next = 0;
    let mut kinds = std::collections::HashMap::new();
    for k in 0..520u64 {
        let now = k * 20;
        while next < net.arrivals.len() && net.arrivals[next].at_ms <= now {
            let p = net.arrivals[next].pkt;
            let payload = [0x55u8; 160];
            pjb.insert(
                net.arrivals[next].at_ms,
                p.seq,
                p.ts,
                p.ssrc,
                p.marker,
                &payload,
            );
            next += 1;
        }
        let f = pjb.pop(now);
        assert_eq!(f.pcm.len(), 160);
        *kinds.entry(f.kind).or_insert(0u32) += 1;
    }
    assert!(
        kinds[&FrameKind::Decoded] > 400 && kinds[&FrameKind::Concealed] > 30,
        "{kinds:?}"
    );
    assert_eq!(pjb.decode_errors(), 0);
    // A clock-rate mismatch is refused.
    let opus = Codec::new(CodecParams::opus(16_000)).unwrap();
    assert!(PcmJitterBuffer::new(opus, JitterConfig::new(8000)).is_err());
}

#[test]
fn opus_pcm_buffer_uses_fec_and_survives_garbage() {
    let params = CodecParams::opus(48_000);
    let mut enc = Codec::new(params).unwrap();
    let mut pjb =
        PcmJitterBuffer::new(Codec::new(params).unwrap(), JitterConfig::new(48_000)).unwrap();
    let pcm = crate::testsig::speech_like(48_000, 960);
    let mut buf = [0u8; 1275];
    let mut kinds = Vec::new();
    for k in 0..100u32 {
        let n = enc.encode(&pcm, &mut buf).unwrap();
        let now = u64::from(k) * 20;
        // Drop packet 50; packet 70 is garbage.
        if k != 50 {
            let payload: &[u8] = if k == 70 {
                &[0xFF, 0xFF, 0xFF]
            } else {
                &buf[..n]
            };
            pjb.insert(now, k as u16, k * 960, 1, k == 0, payload);
        }
        let f = pjb.pop(now);
        assert_eq!(f.pcm.len(), 960);
        kinds.push(f.kind);
    }
    assert!(kinds.contains(&FrameKind::Fec), "{kinds:?}");
    assert_eq!(pjb.decode_errors(), 1);
}

#[test]
fn rejects_bad_configs_and_oversized_payloads() {
    let mut cfg = JitterConfig::new(8000);
    cfg.frame_ms = 7;
    assert!(JitterBuffer::new(cfg).is_err());
    let mut cfg = JitterConfig::new(8000);
    cfg.min_delay_ms = 500;
    assert!(JitterBuffer::new(cfg).is_err());
    let mut cfg = JitterConfig::new(8000);
    cfg.max_payload = 10;
    let mut jb = JitterBuffer::new(cfg).unwrap();
    assert_eq!(
        jb.insert(0, 1, 1, 1, false, &[0; 11]),
        InsertOutcome::TooLarge
    );
    assert_eq!(jb.pop(0), Playout::Silence);
    assert_eq!(
        jb.insert(u64::MAX, 1, 1, 1, false, &[0; 10]),
        InsertOutcome::Resynced
    );
    let _ = jb.pop(u64::MAX);
}

/// Sends `pcm` in packets of `ms` (one every `ms`, on time) and pops every 20 ms; returns
/// the kinds popped and the decoded samples.
fn long_packets(
    params: CodecParams,
    pcm: &[i16],
    ms: usize,
    mut encode: impl FnMut(&[i16], &mut [u8]) -> usize,
) -> (Vec<FrameKind>, Vec<i16>, JitterStats) {
    let codec = Codec::new(params).unwrap();
    let clock = codec.clock_rate();
    let mut pjb = PcmJitterBuffer::new(codec, JitterConfig::new(clock)).unwrap();
    let per_ms = pcm.len() / 1000;
    let ts_per_ms = clock as usize / 1000;
    let mut buf = vec![0u8; 4000];
    let (mut kinds, mut out) = (Vec::new(), Vec::new());
    let packets = pcm.chunks_exact(per_ms * ms).collect::<Vec<_>>();
    for k in 0..50 + 10 {
        let now = k as u64 * 20;
        // Packet p carries [p*ms, (p+1)*ms) and is sent when its last sample was taken.
        if (k * 20) % ms == 0 && k * 20 >= ms {
            let p = k * 20 / ms - 1;
            if let Some(chunk) = packets.get(p) {
                let n = encode(chunk, &mut buf);
                let ts = (p * ms * ts_per_ms) as u32;
                pjb.insert(now, p as u16, ts, 9, p == 0, &buf[..n]);
            }
        }
        let f = pjb.pop(now);
        kinds.push(f.kind);
        out.extend_from_slice(f.pcm);
    }
    (kinds, out, pjb.stats())
}

/// Power of `freq` in `x` (Goertzel).
fn tone_power(x: &[i16], rate: u32, freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

fn sine(rate: u32, freq: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16
        })
        .collect()
}

#[test]
fn g711_packets_of_40_and_60_ms_are_played_out_whole() {
    let pcm = sine(8000, 1000.0, 8000);
    for ms in [40, 60] {
        let mut enc = Codec::new(CodecParams::pcmu()).unwrap();
        // G.711 is one byte per sample: a packet is its 20 ms frames back to back.
        let (kinds, out, stats) = long_packets(CodecParams::pcmu(), &pcm, ms, |chunk, buf| {
            let mut n = 0;
            for f in chunk.chunks_exact(160) {
                n += enc.encode(f, &mut buf[n..]).unwrap();
            }
            n
        });
        let first = kinds.iter().position(|k| *k == FrameKind::Decoded).unwrap();
        let played = &kinds[first..first + 1000 / 20 - ms / 20];
        assert!(
            played.iter().all(|k| *k == FrameKind::Decoded),
            "{ms} ms: every frame of every packet is played: {kinds:?}"
        );
        // The delay comes down from the initial 60 ms by dropping whole packets only.
        assert_eq!(stats.lost, 0, "{ms} ms: {stats:?}");
        assert!(
            stats.skipped as usize % (ms / 20) == 0,
            "{ms} ms: {stats:?}"
        );
        assert!(
            stats.current_delay_ms <= 20.0 + ms as f64,
            "{ms} ms: the delay came down to within a packet of the target: {stats:?}"
        );
        // The samples of each packet come out in order: every 20 ms played is the tone.
        let decoded = &out[first * 160..(first + played.len()) * 160];
        for f in decoded.chunks_exact(160) {
            assert!(
                tone_power(f, 8000, 1000.0) > 100.0 * tone_power(f, 8000, 440.0),
                "{ms} ms"
            );
        }
    }
}

#[test]
fn opus_packets_of_40_and_60_ms_are_played_out_whole() {
    let pcm = sine(48_000, 440.0, 48_000);
    for ms in [40, 60] {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let (kinds, out, stats) =
            long_packets(CodecParams::opus(48_000), &pcm, ms, |chunk, buf| {
                enc.encode(chunk, buf).unwrap()
            });
        let first = kinds.iter().position(|k| *k == FrameKind::Decoded).unwrap();
        let played = &kinds[first..first + 1000 / 20 - ms / 20];
        assert!(
            played.iter().all(|k| *k == FrameKind::Decoded),
            "{ms} ms: {kinds:?}"
        );
        // The delay comes down from the initial 60 ms by dropping whole packets only.
        assert_eq!(stats.lost, 0, "{ms} ms: {stats:?}");
        assert!(
            stats.skipped as usize % (ms / 20) == 0,
            "{ms} ms: {stats:?}"
        );
        let x = &out[(first + 5) * 960..(first + played.len()) * 960];
        assert!(
            tone_power(x, 48_000, 440.0) > 100.0 * tone_power(x, 48_000, 1000.0),
            "{ms} ms"
        );
    }
}
