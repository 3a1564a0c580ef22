use super::*;
use std::time::Instant;

use crate::endpoint::EndpointTable;
use crate::playback::Playbacks;
use crate::record::Recorders;

fn format(codec: WireCodec, payload_type: u8, clock_rate: u32) -> LegFormat {
    LegFormat {
        codec,
        payload_type,
        clock_rate,
        ptime_ms: 20,
        telephone_event: None,
    }
}

fn tone(rate: u32, freq: f64, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// Power of `freq` in `x` (Goertzel).
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

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// RTP packets of `pcm` in `params`, payload type `pt`, 20 ms each.
fn packets(params: CodecParams, pt: u8, pcm: &[i16]) -> Vec<Vec<u8>> {
    let mut c = Codec::new(params).unwrap();
    let step = c.timestamp_step();
    let mut buf = vec![0u8; 1500];
    pcm.chunks_exact(c.samples_per_frame())
        .enumerate()
        .map(|(i, f)| {
            let n = c.encode(f, &mut buf).unwrap();
            let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
            p[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            p[4..8].copy_from_slice(&(i as u32 * step).to_be_bytes());
            p.extend_from_slice(&buf[..n]);
            p
        })
        .collect()
}

/// Feeds packets one per 20 ms (skipping `lost`), ticking after each; returns what the
/// bridge sent.
fn run(x: &mut Xcode, input: &[Vec<u8>], lost: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..input.len() + 10 {
        let t = 1000 + i as u64 * 20;
        if let Some(p) = input.get(i) {
            if !lost.contains(&i) {
                assert_eq!(x.ingest(t, &mut p.clone()), Ingest::Buffered);
            }
        }
        if let Some(p) = x.tick(t + 5) {
            out.push(p.to_vec());
        }
    }
    out
}

fn decode(params: CodecParams, packets: &[Vec<u8>]) -> Vec<i16> {
    let mut c = Codec::new(params).unwrap();
    let mut pcm = vec![0i16; 5760];
    let mut all = Vec::new();
    for p in packets {
        let n = c.decode(&p[RTP_HEADER..], &mut pcm).unwrap();
        all.extend_from_slice(&pcm[..n]);
    }
    all
}

#[test]
fn pcmu_in_opus_out_keeps_the_tone_with_own_rtp_header() {
    let input = packets(CodecParams::pcmu(), 0, &tone(8000, 1000.0, 8000));
    let from = format(WireCodec::Pcmu, 0, 8000);
    let to = format(WireCodec::Opus, 96, 48_000);
    let mut x = Xcode::new(&from, &to, 0xabcd_0001, 100, 5000).unwrap();
    let out = run(&mut x, &input, &[]);
    assert!(out.len() >= 48, "{} packets out", out.len());
    assert_eq!(x.counters.ingested, 50);
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p[0], 0x80);
        assert_eq!(p[1] & 0x7f, 96);
        assert_eq!(p[1] & 0x80 != 0, i == 0, "marker only on the first packet");
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 100 + i as u16);
        assert_eq!(&p[8..12], &0xabcd_0001u32.to_be_bytes());
    }
    let ts = |p: &Vec<u8>| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    assert_eq!(ts(&out[1]) - ts(&out[0]), 960);
    let pcm = decode(CodecParams::opus(48_000), &out);
    let steady = &pcm[48_000 / 5..pcm.len() - 4800];
    let at = |f| power(steady, 48_000, f);
    for other in [440.0, 500.0, 2000.0, 3000.0] {
        assert!(at(1000.0) > 100.0 * at(other), "1 kHz dominates {other} Hz");
    }
    let level = rms(steady) / (8000.0 / 2f64.sqrt());
    assert!((0.6..1.4).contains(&level), "level ratio {level:.2}");
}

#[test]
fn opus_in_pcma_out_conceals_a_lost_packet() {
    let input = packets(CodecParams::opus(48_000), 111, &tone(48_000, 440.0, 48_000));
    let from = format(WireCodec::Opus, 111, 48_000);
    let to = format(WireCodec::Pcma, 8, 8000);
    let mut x = Xcode::new(&from, &to, 7, 0, 0).unwrap();
    let out = run(&mut x, &input, &[20, 30]);
    assert!(x.counters.concealed >= 2, "{:?}", x.counters);
    assert!(
        out.len() >= 48,
        "{} packets out: a loss still yields a frame",
        out.len()
    );
    assert!(out
        .iter()
        .all(|p| p.len() == RTP_HEADER + 160 && p[1] & 0x7f == 8));
    let pcm = decode(CodecParams::pcma(), &out);
    let steady = &pcm[1600..pcm.len() - 800];
    assert!(power(steady, 8000, 440.0) > 100.0 * power(steady, 8000, 1000.0));
}

#[test]
fn other_payload_types_and_garbage_are_ignored() {
    let from = format(WireCodec::Pcmu, 0, 8000);
    let to = format(WireCodec::G722, 9, 8000);
    let mut x = Xcode::new(&from, &to, 7, 0, 0).unwrap();
    let mut dtmf = [0x80, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 1, 0, 0, 160];
    assert_eq!(
        x.ingest(0, &mut dtmf),
        Ingest::Ignored,
        "no event type negotiated"
    );
    assert_eq!(x.ingest(0, &mut [1, 2, 3]), Ingest::Ignored);
    assert_eq!(x.counters.ignored, 2);
    // Nothing received: nothing sent.
    assert!((0..10).all(|i| x.tick(i * 20).is_none()));
    assert!(params(&format(WireCodec::L16, 96, 44_100)).is_err());
    assert!(Xcode::new(&from, &format(WireCodec::L16, 96, 16_000), 1, 0, 0).is_ok());
}

#[test]
fn the_schedule_catches_up_then_resets() {
    let t0 = Instant::now();
    let mut set = XcodeSet::with_capacity(4);
    assert_eq!(set.deadline(), None);
    set.add(3, t0);
    set.add(3, t0);
    set.add(4, t0);
    assert_eq!(set.deadline(), Some(t0 + FRAME));
    let mut table = EndpointTable::with_capacity(8);
    let mut counters = LocalCounters::default();
    let (mut recorders, mut playbacks) = (Recorders::new(), Playbacks::default());
    let mut taps = Taps {
        recorders: &mut recorders,
        playbacks: &mut playbacks,
    };
    set.run(&mut table, &mut counters, &mut taps, t0 + FRAME * 3, t0);
    assert_eq!(set.deadline(), Some(t0 + FRAME * 4));
    let late = t0 + FRAME * 40;
    set.run(&mut table, &mut counters, &mut taps, late, t0);
    assert_eq!(set.deadline(), Some(late + FRAME));
    set.remove(3);
    assert!(set.deadline().is_some());
    set.remove(4);
    assert_eq!(set.deadline(), None);
}

#[test]
fn telephone_events_join_the_outgoing_stream() {
    let mut from = format(WireCodec::Pcmu, 0, 8000);
    let mut to = format(WireCodec::Opus, 96, 48_000);
    from.telephone_event = Some(101);
    to.telephone_event = Some(100);
    let mut x = Xcode::new(&from, &to, 0x0bad_cafe, 500, 96_000).unwrap();
    let event = |seq: u16, ts: u32, marker: bool, end: bool| {
        let mut p = vec![0x80, 101 | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&[9, 9, 9, 9, 5, if end { 0x8a } else { 0x0a }, 0, 160]);
        p
    };
    let mut first = event(7, 1600, true, false);
    assert_eq!(x.ingest(0, &mut first), Ingest::Relay);
    assert_eq!(first[1], 0x80 | 100, "marker kept, payload type mapped");
    assert_eq!(u16::from_be_bytes([first[2], first[3]]), 500);
    assert_eq!(
        u32::from_be_bytes([first[4], first[5], first[6], first[7]]),
        96_000
    );
    assert_eq!(&first[8..12], &0x0bad_cafeu32.to_be_bytes());
    assert_eq!(
        &first[12..],
        &[5, 0x0a, 0, 160],
        "the event itself is untouched"
    );
    // The same event keeps its timestamp; the sequence goes on.
    let mut end = event(8, 1600, false, true);
    assert_eq!(x.ingest(0, &mut end), Ingest::Relay);
    assert_eq!(u16::from_be_bytes([end[2], end[3]]), 501);
    assert_eq!(u32::from_be_bytes([end[4], end[5], end[6], end[7]]), 96_000);
    assert_eq!(x.counters.events, 2);
    // A packet with CSRCs cannot be rewritten in place: ignored.
    let mut csrc = event(9, 3200, false, false);
    csrc[0] = 0x81;
    assert_eq!(x.ingest(0, &mut csrc), Ingest::Ignored);
}

#[test]
fn packets_follow_the_receiving_partys_ptime() {
    let input = packets(CodecParams::opus(48_000), 111, &tone(48_000, 440.0, 48_000));
    let from = format(WireCodec::Opus, 111, 48_000);
    let mut to = format(WireCodec::Pcmu, 0, 8000);
    to.ptime_ms = 40;
    let mut x = Xcode::new(&from, &to, 7, 0, 0).unwrap();
    let out = run(&mut x, &input, &[]);
    assert!(out.len() >= 23, "{} packets of 40 ms", out.len());
    assert!(out.iter().all(|p| p.len() == RTP_HEADER + 320));
    let ts = |p: &Vec<u8>| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    let seq = |p: &Vec<u8>| u16::from_be_bytes([p[2], p[3]]);
    for w in out.windows(2) {
        assert_eq!(ts(&w[1]).wrapping_sub(ts(&w[0])), 320);
        assert_eq!(seq(&w[1]).wrapping_sub(seq(&w[0])), 1);
    }
    let pcm = decode(CodecParams::pcmu(), &out);
    let steady = &pcm[1600..pcm.len() - 800];
    assert!(power(steady, 8000, 440.0) > 100.0 * power(steady, 8000, 1000.0));

    // Opus stays at 20 ms; L16 at 48 kHz fits its 1920-byte frames.
    assert_eq!(
        frames_per_packet(&LegFormat {
            ptime_ms: 60,
            ..from
        }),
        1
    );
    let l16 = LegFormat {
        ptime_ms: 30,
        ..format(WireCodec::L16, 97, 48_000)
    };
    assert_eq!(frames_per_packet(&l16), 1);
    let mut x = Xcode::new(&from, &l16, 7, 0, 0).unwrap();
    let out = run(&mut x, &input, &[]);
    assert!(out.len() >= 45 && out.iter().all(|p| p.len() == RTP_HEADER + 1920));
}

#[test]
fn an_opus_party_is_kept_at_8k_for_recording_and_a_prompt_replaces_it_for_the_other() {
    // Opus 440 Hz in, PCMU out; the frames are recorded at 8 kHz.
    let input = packets(CodecParams::opus(48_000), 96, &tone(48_000, 440.0, 48_000));
    let from = format(WireCodec::Opus, 96, 48_000);
    let to = format(WireCodec::Pcmu, 0, 8000);
    let mut x = Xcode::new(&from, &to, 7, 0, 0).unwrap();
    let (mut recorded, mut sent) = (Vec::new(), Vec::new());
    let prompt = tone(8000, 1000.0, 8000);
    for (i, p) in input.iter().enumerate() {
        let t = 1000 + i as u64 * 20;
        assert_eq!(x.ingest(t, &mut p.clone()), Ingest::Buffered);
        // The second half of the second: a 1 kHz prompt for the PCMU party.
        let frame = (i >= 25).then(|| &prompt[i * 160..(i + 1) * 160]);
        let len = x.step(t + 5, true, frame);
        assert!(
            x.recorded().len() == 160 || i == 0,
            "{}",
            x.recorded().len()
        );
        recorded.extend_from_slice(x.recorded());
        if let Some(len) = len {
            sent.push((i, x.packet(len).to_vec()));
        }
    }
    // What was recorded is the Opus party's voice throughout, at 8 kHz.
    let steady = &recorded[1600..];
    assert!(power(steady, 8000, 440.0) > 100.0 * power(steady, 8000, 1000.0));
    let level = rms(steady) / (8000.0 / 2f64.sqrt());
    assert!(
        (0.6..1.4).contains(&level),
        "recorded level ratio {level:.2}"
    );
    // What the PCMU party got: the Opus party, then the prompt, in one stream.
    let seqs: Vec<u16> = sent
        .iter()
        .map(|(_, p)| u16::from_be_bytes([p[2], p[3]]))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    let part = |from: usize, to: usize| {
        let ps: Vec<Vec<u8>> = sent
            .iter()
            .filter(|(i, _)| (from..to).contains(i))
            .map(|(_, p)| p.clone())
            .collect();
        decode(CodecParams::pcmu(), &ps)
    };
    let (voice, tone_part) = (part(8, 24), part(27, 50));
    assert!(power(&voice, 8000, 440.0) > 100.0 * power(&voice, 8000, 1000.0));
    assert!(power(&tone_part, 8000, 1000.0) > 100.0 * power(&tone_part, 8000, 440.0));
}

#[test]
fn a_party_sending_60_ms_packets_is_decoded_whole() {
    // PCMU 1 kHz in 60 ms packets (three 20 ms frames back to back), Opus out.
    let frames = packets(CodecParams::pcmu(), 0, &tone(8000, 1000.0, 8000 * 2));
    let input: Vec<Vec<u8>> = frames
        .chunks_exact(3)
        .map(|c| {
            let mut p = c[0].clone();
            p.extend_from_slice(&c[1][RTP_HEADER..]);
            p.extend_from_slice(&c[2][RTP_HEADER..]);
            p
        })
        .collect();
    let from = format(WireCodec::Pcmu, 0, 8000);
    let to = format(WireCodec::Opus, 96, 48_000);
    let mut x = Xcode::new(&from, &to, 5, 0, 0).unwrap();
    let mut out = Vec::new();
    for k in 0..input.len() * 3 + 10 {
        let t = 1000 + k as u64 * 20;
        if k % 3 == 2 {
            if let Some(p) = input.get(k / 3) {
                assert_eq!(x.ingest(t, &mut p.clone()), Ingest::Buffered);
            }
        }
        if let Some(p) = x.tick(t + 5) {
            out.push(p.to_vec());
        }
    }
    // One packet per 20 ms once playing, without concealment inside the stream (the last
    // three are the concealment after it ends).
    assert!(out.len() >= 95, "{} packets out of 100 frames", out.len());
    assert!(x.counters.concealed <= 3, "{:?}", x.counters);
    let ts = |p: &Vec<u8>| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    assert!(out
        .windows(2)
        .all(|w| ts(&w[1]).wrapping_sub(ts(&w[0])) == 960));
    let pcm = decode(CodecParams::opus(48_000), &out);
    let steady = &pcm[48_000 / 5..48_000 * 9 / 5];
    for other in [440.0, 2000.0] {
        assert!(power(steady, 48_000, 1000.0) > 100.0 * power(steady, 48_000, other));
    }
    // Every 20 ms of it holds the tone (no gap where the rest of a packet was dropped).
    for chunk in steady.chunks_exact(960) {
        let level = rms(chunk) / (8000.0 / 2f64.sqrt());
        assert!((0.6..1.4).contains(&level), "level ratio {level:.2}");
    }
}
