//! Resampling: Warden's polyphase resampler (`warden_dsp::Resampler`) against dasp's sinc
//! interpolator (`dasp_signal::Signal::from_hz_to_hz` over `dasp_interpolate::sinc::Sinc`),
//! the crate the design named, on the same second of audio. Before the timings it prints
//! each one's gain for a tone that must pass (1 kHz, 8 to 48 kHz) and for one that must not
//! survive down-sampling (6 kHz, 48 to 8 kHz, where it would alias to 2 kHz), so cost and
//! quality are read from one run.

// Inputs are fixed and known-good: an error here is a bench setup bug, so unwrap is fine.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dasp::interpolate::sinc::Sinc;
use dasp::{ring_buffer, signal, Signal};
use warden_dsp::Resampler;

/// Zero crossings on each side of dasp's sinc kernel: 32, as many as Warden's filter has.
const DASP_TAPS: usize = 64;

fn tone(rate: u32, hz: f64, seconds: f64, amplitude: f64) -> Vec<i16> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * hz * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

/// Warden's resampler over `input` in 20 ms frames, as a media core runs it.
fn own(from: u32, to: u32, input: &[i16]) -> Vec<i16> {
    let mut r = Resampler::new(from, to).unwrap();
    let frame = from as usize / 50;
    let mut out = vec![0i16; r.max_output_len(frame)];
    let mut all = Vec::with_capacity(input.len() * to as usize / from as usize);
    for chunk in input.chunks(frame) {
        let n = r.process(chunk, &mut out).unwrap();
        all.extend_from_slice(&out[..n]);
    }
    all
}

/// dasp's sinc interpolation of the whole of `input`.
fn dasp_sinc(from: u32, to: u32, input: &[i16]) -> Vec<i16> {
    let source = signal::from_iter(input.iter().map(|s| f64::from(*s)));
    let sinc = Sinc::new(ring_buffer::Fixed::from([0.0f64; DASP_TAPS]));
    let len = input.len() * to as usize / from as usize;
    source
        .from_hz_to_hz(sinc, f64::from(from), f64::from(to))
        .take(len)
        .map(|s| s.clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn rms(x: &[i16]) -> f64 {
    let s: f64 = x.iter().map(|v| f64::from(*v).powi(2)).sum();
    (s / x.len().max(1) as f64).sqrt()
}

/// Output level against input level of a tone, in dB, skipping the first 100 ms of filter
/// start-up. An output that rounds to silence counts as half a step of RMS, so the figure
/// is then a lower bound of the attenuation.
fn gain_db(convert: fn(u32, u32, &[i16]) -> Vec<i16>, from: u32, to: u32, hz: f64) -> f64 {
    let input = tone(from, hz, 1.0, 16_000.0);
    let out = convert(from, to, &input);
    let settled = &out[out.len().min(to as usize / 10)..];
    20.0 * (rms(settled).max(0.5) / rms(&input)).log10()
}

fn resample(c: &mut Criterion) {
    for (name, convert) in [
        ("warden", own as fn(u32, u32, &[i16]) -> Vec<i16>),
        ("dasp sinc", dasp_sinc),
    ] {
        eprintln!(
            "{name}: 1 kHz 8 -> 48 kHz {:+.1} dB; 6 kHz 48 -> 8 kHz (aliases to 2 kHz) {:+.1} dB",
            gain_db(convert, 8000, 48_000, 1000.0),
            gain_db(convert, 48_000, 8000, 6000.0),
        );
    }
    let mut g = c.benchmark_group("resample_1s");
    for (from, to) in [(8000u32, 48_000u32), (48_000, 8000), (16_000, 48_000)] {
        let input = tone(from, 440.0, 1.0, 8000.0);
        g.throughput(Throughput::Elements(input.len() as u64));
        g.bench_function(format!("warden/{from}_to_{to}"), |b| {
            b.iter(|| own(from, to, black_box(&input)))
        });
        g.bench_function(format!("dasp_sinc/{from}_to_{to}"), |b| {
            b.iter(|| dasp_sinc(from, to, black_box(&input)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(20);
    targets = resample
}
criterion_main!(benches);
