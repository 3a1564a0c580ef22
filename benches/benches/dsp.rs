//! Media DSP costs: G.711 vector kernels against the lookup-table baseline, G.722 and Opus per
//! 20 ms frame, Goertzel DTMF detection per frame, resampling, mixing and the jitter buffer.

// Inputs are fixed and known-good: an error here is a bench setup bug, so unwrap is fine.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use warden_dsp::codec::g711;
use warden_dsp::{
    mix, Codec, CodecParams, DtmfDetector, JitterBuffer, JitterConfig, Playout, Resampler,
};

/// A deterministic speech-like test signal (harmonics of 150 Hz under a slow envelope).
fn signal(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let s: f64 = (1..20)
                .map(|k| {
                    (2.0 * std::f64::consts::PI * 150.0 * f64::from(k) * t).sin() / f64::from(k)
                })
                .sum();
            (s * 6000.0 * (0.6 + 0.4 * (2.0 * std::f64::consts::PI * 4.0 * t).sin())) as i16
        })
        .collect()
}

fn g711_kernels(c: &mut Criterion) {
    let best = g711::Kernel::best();
    eprintln!("G.711 batch functions use the {best:?} kernel on this CPU");
    // Every vector kernel this CPU runs, forced, against the lookup-table baseline.
    let kernels: Vec<g711::Kernel> = g711::Kernel::ALL
        .into_iter()
        .filter(|k| *k != g711::Kernel::Scalar && k.available())
        .collect();
    let n = 16_384;
    let pcm: Vec<i16> = (0..n)
        .map(|i| ((i * 7919) % 65_536) as u16 as i16)
        .collect();
    let codes: Vec<u8> = (0..n).map(|i| (i * 31 % 256) as u8).collect();
    let mut bytes = vec![0u8; n];
    let mut samples = vec![0i16; n];
    let mut g = c.benchmark_group("g711");
    g.throughput(Throughput::Elements(n as u64));
    type Encode = fn(g711::Kernel, &[i16], &mut [u8]) -> usize;
    type EncodeTable = fn(&[i16], &mut [u8]) -> usize;
    type Decode = fn(g711::Kernel, &[u8], &mut [i16]) -> usize;
    type DecodeTable = fn(&[u8], &mut [i16]) -> usize;
    let encoders: [(&str, Encode, EncodeTable); 2] = [
        (
            "ulaw_encode",
            g711::encode_ulaw_with,
            g711::encode_ulaw_table,
        ),
        (
            "alaw_encode",
            g711::encode_alaw_with,
            g711::encode_alaw_table,
        ),
    ];
    for (name, with, table) in encoders {
        g.bench_function(BenchmarkId::new(name, "table"), |b| {
            b.iter(|| table(black_box(&pcm), &mut bytes))
        });
        for &k in &kernels {
            g.bench_function(BenchmarkId::new(name, format!("{k:?}")), |b| {
                b.iter(|| with(k, black_box(&pcm), &mut bytes))
            });
        }
    }
    let decoders: [(&str, Decode, DecodeTable); 2] = [
        (
            "ulaw_decode",
            g711::decode_ulaw_with,
            g711::decode_ulaw_table,
        ),
        (
            "alaw_decode",
            g711::decode_alaw_with,
            g711::decode_alaw_table,
        ),
    ];
    for (name, with, table) in decoders {
        g.bench_function(BenchmarkId::new(name, "table"), |b| {
            b.iter(|| table(black_box(&codes), &mut samples))
        });
        for &k in &kernels {
            g.bench_function(BenchmarkId::new(name, format!("{k:?}")), |b| {
                b.iter(|| with(k, black_box(&codes), &mut samples))
            });
        }
    }
    g.finish();
}

fn codecs_per_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec_20ms");
    for params in [
        CodecParams::pcmu(),
        CodecParams::g722(),
        CodecParams::opus(16_000),
        CodecParams::opus(48_000),
    ] {
        let mut enc = Codec::new(params).unwrap();
        let frame = enc.samples_per_frame();
        let rate = enc.sample_rate();
        let name = format!("{}_{}", enc.encoding_name(), rate);
        let input = signal(rate, frame * 50);
        let mut payload = vec![0u8; enc.max_payload_len()];
        let mut k = 0;
        g.bench_function(BenchmarkId::new("encode", &name), |b| {
            b.iter(|| {
                k = (k + 1) % 50;
                enc.encode(black_box(&input[k * frame..(k + 1) * frame]), &mut payload)
                    .unwrap()
            })
        });
        let mut enc = Codec::new(params).unwrap();
        let packets: Vec<Vec<u8>> = input
            .chunks_exact(frame)
            .map(|f| {
                let n = enc.encode(f, &mut payload).unwrap();
                payload[..n].to_vec()
            })
            .collect();
        let mut dec = Codec::new(params).unwrap();
        let mut pcm = vec![0i16; frame * 6];
        let mut k = 0;
        g.bench_function(BenchmarkId::new("decode", &name), |b| {
            b.iter(|| {
                k = (k + 1) % packets.len();
                dec.decode(black_box(&packets[k]), &mut pcm).unwrap()
            })
        });
    }
    g.finish();
}

fn goertzel(c: &mut Criterion) {
    let speech = signal(8000, 160 * 50);
    let mut det = DtmfDetector::new();
    let mut k = 0;
    c.bench_function("dtmf_detect_20ms", |b| {
        b.iter(|| {
            k = (k + 1) % 50;
            det.process(black_box(&speech[k * 160..(k + 1) * 160]), |e| {
                black_box(e);
            })
        })
    });
}

fn resampling(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample_20ms");
    for (from, to) in [
        (8000u32, 48_000u32),
        (48_000, 8000),
        (16_000, 48_000),
        (48_000, 16_000),
    ] {
        let mut r = Resampler::new(from, to).unwrap();
        let input = signal(from, from as usize / 50);
        let mut out = vec![0i16; r.max_output_len(input.len())];
        g.bench_function(format!("{from}_to_{to}"), |b| {
            b.iter(|| r.process(black_box(&input), &mut out).unwrap())
        });
    }
    g.finish();
}

fn mixing(c: &mut Criterion) {
    let legs: Vec<Vec<i16>> = (0..8).map(|k| signal(48_000, 960 + k)).collect();
    let inputs: Vec<&[i16]> = legs.iter().map(|l| &l[..960]).collect();
    let mut out = vec![0i16; 960];
    c.bench_function("mix_8x960", |b| {
        b.iter(|| mix::mix(black_box(&inputs), &mut out))
    });
}

fn jitter(c: &mut Criterion) {
    let mut jb = JitterBuffer::new(JitterConfig::new(8000)).unwrap();
    let payload = [0xD5u8; 160];
    let mut k: u32 = 0;
    c.bench_function("jitter_insert_pop", |b| {
        b.iter(|| {
            let now = 1_000 + u64::from(k) * 20;
            // Steady stream with a little reordering: every 7th pair swapped.
            let seq = if k % 7 == 3 {
                k + 1
            } else if k % 7 == 4 {
                k - 1
            } else {
                k
            };
            jb.insert(
                now + 40,
                seq as u16,
                seq * 160,
                1,
                false,
                black_box(&payload),
            );
            let n = match jb.pop(now) {
                Playout::Packet { payload, .. } => payload.len(),
                _ => 0,
            };
            k = k.wrapping_add(1);
            n
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = g711_kernels, codecs_per_frame, goertzel, resampling, mixing, jitter
}
criterion_main!(benches);
