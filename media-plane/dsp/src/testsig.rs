//! Test signals and measurements shared by the unit tests.

use std::f64::consts::PI;

/// Amplitude of a 0 dBm0 sine in 16-bit PCM (see `dtmf::detect`).
pub(crate) const DBM0: f64 = 22_827.0;

/// `n` samples of a sine at `freq` Hz and peak `amplitude`.
pub(crate) fn tone(rate: u32, freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

/// A voiced-speech-like signal: harmonics of a 150 Hz fundamental with 3 Hz vibrato, shaped
/// by three formant-like resonances (700, 1200, 2500 Hz) and a 4 Hz syllabic envelope.
pub(crate) fn speech_like(rate: u32, n: usize) -> Vec<i16> {
    let fs = f64::from(rate);
    let top = (fs / 2.0).min(7000.0);
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / fs;
            let f0 = 150.0 + 20.0 * (2.0 * PI * 3.0 * t).sin();
            phase += 2.0 * PI * f0 / fs;
            let mut s = 0.0;
            let mut k = 1.0;
            while k * f0 < top {
                let f = k * f0;
                let w = (-((f - 700.0) / 300.0).powi(2)).exp()
                    + 0.6 * (-((f - 1200.0) / 400.0).powi(2)).exp()
                    + 0.3 * (-((f - 2500.0) / 500.0).powi(2)).exp()
                    + 0.02;
                s += w * (k * phase).sin();
                k += 1.0;
            }
            let env = 0.6 + 0.4 * (2.0 * PI * 4.0 * t).sin();
            (s * env * 5000.0).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

/// Finds the delay (0..`max_delay`) that best aligns `output` with `reference` and returns it
/// with the SNR in dB over the aligned overlap, skipping the first tenth (codec start-up).
pub(crate) fn aligned_snr(reference: &[i16], output: &[i16], max_delay: usize) -> (usize, f64) {
    let mut best = (0usize, f64::MIN);
    for d in 0..max_delay.min(output.len()) {
        let n = reference.len().min(output.len() - d);
        let c: f64 = (0..n)
            .map(|i| f64::from(reference[i]) * f64::from(output[i + d]))
            .sum();
        if c > best.1 {
            best = (d, c);
        }
    }
    let d = best.0;
    let n = reference.len().min(output.len() - d);
    let (mut sig, mut err) = (0.0f64, 0.0f64);
    for i in reference.len() / 10..n {
        let r = f64::from(reference[i]);
        let e = r - f64::from(output[i + d]);
        sig += r * r;
        err += e * e;
    }
    (d, 10.0 * (sig / err.max(1e-9)).log10())
}

/// Root-mean-square level of `x`.
pub(crate) fn rms(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// A small deterministic PRNG (xorshift64*) so tests never depend on external crates.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately normal (sum of 12 uniforms), mean 0, deviation 1.
    pub(crate) fn gauss(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}
