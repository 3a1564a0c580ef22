//! In-band DTMF detection on 8 kHz PCM (ITU-T Q.24 style acceptance rules).
//!
//! Level reference: 0 dBm0 is the power of a sine whose peak is 3.14 dB below the A-law
//! full-scale sine (G.711 defines full scale as +3.14 dBm0 for A-law, +3.17 dBm0 for µ-law);
//! in 16-bit PCM that is a peak amplitude of **22 827** (`32768 · 10^(−3.14/20)`). Levels
//! below are per frequency component.
//!
//! Analysis: blocks of 102 samples (12.75 ms, 78 Hz resolution), each split in two halves of
//! 51. Sixteen Goertzel filters — the eight DTMF frequencies and their second harmonics — run
//! over each half in SIMD lanes; the halves are combined coherently for the full-block
//! spectrum. A block is a *hit* for a digit when all of these hold:
//! * **level**: each tone ≥ −30 dBm0 (threshold sits between Q.24's −25 dBm0 must-accept
//!   and the −30 to −35 dBm0 must-reject levels used by North American practice);
//! * **twist**: high-group minus low-group level within −8 dB (reverse) … +4 dB (normal);
//! * **selectivity**: each tone ≥ 6 dB above every other frequency of its group;
//! * **energy ratio**: the two tones carry ≥ 65 % of the block's energy (rejects noise and
//!   broadband speech);
//! * **harmonics**: each tone's second harmonic ≥ 13 dB below it, after subtracting the
//!   calculated leakage of the two tones (rejects voiced speech, whose harmonics are strong);
//! * **frequency**: the frequency measured from the phase advance between the two halves is
//!   within ±2.5 % of nominal (Q.24: accept ±1.5 %, reject ±3.5 %);
//! * **steadiness**: each tone's power in the two halves differs by < 3 dB (the tone fills
//!   the block: partial blocks at the tone's edges are not hits).
//!
//! The half-block measurements (frequency, steadiness) first subtract the calculated leakage
//! of the other tone, which at 157 Hz half-block resolution would otherwise bias them.
//!
//! Timing: a digit is reported when two consecutive blocks hit the same digit; since a block
//! only hits when the tone covers ≳ 85 % of it, that needs ≥ 21.8 ms of tone, while any
//! tone of ≥ 40 ms contains two whole blocks. So tones ≥ 40 ms are always detected and tones
//! < 20 ms never are (Q.24). Two consecutive non-hit blocks (≥ 25 ms) end the digit;
//! a single-block dropout is bridged, and a new digit (or the same one again) needs the
//! pause to end the previous one first.

use std::f64::consts::PI;

use super::event::{Digit, COLS, ROWS};
use super::goertzel::{goertzel8, GoertzelState};

const RATE: f64 = 8000.0;
const BLOCK: usize = 102;
const HALF: usize = BLOCK / 2;
/// Peak amplitude of a 0 dBm0 sine in 16-bit PCM.
const DBM0_PEAK: f64 = 22_827.0;
const MIN_LEVEL_DBM0: f64 = -30.0;
const MAX_NORMAL_TWIST_DB: f64 = 4.0;
const MAX_REVERSE_TWIST_DB: f64 = 8.0;
const SELECTIVITY: f64 = 4.0; // 6 dB
const ENERGY_RATIO: f64 = 0.65;
const HARMONIC_RATIO: f64 = 0.05; // −13 dB
const FREQ_TOLERANCE: f64 = 0.025;
const STEADINESS: f64 = 0.5; // 3 dB

/// A detector report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InbandEvent {
    /// A digit was recognized (reported once per press).
    Began {
        /// The digit.
        digit: Digit,
        /// Sample index (since the detector was created) of the first hit block.
        at_sample: u64,
    },
    /// The digit stopped.
    Ended {
        /// The digit.
        digit: Digit,
        /// Duration of the hit blocks in milliseconds (block resolution, 12.75 ms).
        duration_ms: u64,
    },
}

/// `Σ_{i<n} e^{jdi}`, as (re, im).
fn dirichlet(d: f64, n: usize) -> (f64, f64) {
    let n = n as f64;
    let half = d / 2.0;
    let mag = if half.sin().abs() < 1e-12 {
        n
    } else {
        (n * half).sin() / half.sin()
    };
    let phase = d * (n - 1.0) / 2.0;
    (mag * phase.cos(), mag * phase.sin())
}

/// Contribution at filter frequency `w_h` of a tone at `w_true` whose DFT value at filter
/// frequency `w_c` is `x_c`, over `n` samples: `x_c / D(w_true − w_c) · D(w_true − w_h)`.
fn leakage(x_c: (f64, f64), w_true: f64, w_c: f64, w_h: f64, n: usize) -> (f64, f64) {
    let at_c = dirichlet(w_true - w_c, n);
    let at_h = dirichlet(w_true - w_h, n);
    let den = at_c.0 * at_c.0 + at_c.1 * at_c.1;
    if den < 1e-9 {
        return (0.0, 0.0);
    }
    let ar = (x_c.0 * at_c.0 + x_c.1 * at_c.1) / den;
    let ai = (x_c.1 * at_c.0 - x_c.0 * at_c.1) / den;
    (ar * at_h.0 - ai * at_h.1, ar * at_h.1 + ai * at_h.0)
}

/// Frequency offset (Hz) from nominal `w` given the DFT values of two consecutive halves.
fn phase_offset_hz(a: (f64, f64), b: (f64, f64), w: f64) -> f64 {
    let m = HALF as f64;
    let cross = (b.0 * a.0 + b.1 * a.1, b.1 * a.0 - b.0 * a.1);
    let d = (cross.1.atan2(cross.0) - w * m + PI).rem_euclid(2.0 * PI) - PI;
    d * RATE / (2.0 * PI * m)
}

/// Frequencies of the 16 filters: 8 fundamentals (rows then columns), 8 second harmonics.
fn filter_freqs() -> [f64; 16] {
    let mut f = [0.0; 16];
    for i in 0..4 {
        f[i] = ROWS[i];
        f[4 + i] = COLS[i];
        f[8 + i] = 2.0 * ROWS[i];
        f[12 + i] = 2.0 * COLS[i];
    }
    f
}

/// Streaming DTMF detector for 8 kHz mono PCM. Allocation-free after construction.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    coeff: [[f32; 8]; 2],
    omega: [f64; 16],
    block: [f32; BLOCK],
    fill: usize,
    samples: u64,
    /// Digit hit by the previous block.
    last_hit: Option<Digit>,
    /// Sample index where the current run of hits began.
    run_start: u64,
    /// The digit currently reported as pressed, with its first sample and hit-block count.
    active: Option<(Digit, u64, u64)>,
    misses: u32,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// Spectrum of one block for the 16 filters.
struct Spectrum {
    /// Full-block complex DFT value (re, im).
    full: [(f64, f64); 16],
    /// Full-block power.
    power: [f64; 16],
    /// Complex DFT value of each half.
    halfc: [[(f64, f64); 16]; 2],
    /// Frequency offset (Hz) estimated from the phase advance between halves.
    offset_hz: [f64; 16],
}

impl DtmfDetector {
    /// A detector in its idle state.
    #[must_use]
    pub fn new() -> Self {
        let freqs = filter_freqs();
        let mut coeff = [[0.0f32; 8]; 2];
        let mut omega = [0.0; 16];
        for (k, &f) in freqs.iter().enumerate() {
            omega[k] = 2.0 * PI * f / RATE;
            coeff[k / 8][k % 8] = (2.0 * omega[k].cos()) as f32;
        }
        Self {
            coeff,
            omega,
            block: [0.0; BLOCK],
            fill: 0,
            samples: 0,
            last_hit: None,
            run_start: 0,
            active: None,
            misses: 0,
        }
    }

    /// Feeds 8 kHz PCM (any chunk size); reports digits through `emit`.
    pub fn process(&mut self, pcm: &[i16], mut emit: impl FnMut(InbandEvent)) {
        for &s in pcm {
            self.block[self.fill] = f32::from(s);
            self.fill += 1;
            if self.fill == BLOCK {
                self.fill = 0;
                let hit = self.analyse();
                self.advance(hit, &mut emit);
                self.samples += BLOCK as u64;
            }
        }
    }

    fn spectrum(&self) -> Spectrum {
        let mut sp = Spectrum {
            full: [(0.0, 0.0); 16],
            power: [0.0; 16],
            halfc: [[(0.0, 0.0); 16]; 2],
            offset_hz: [0.0; 16],
        };
        let halves = [&self.block[..HALF], &self.block[HALF..]];
        let mut states = [[GoertzelState::default(); 2]; 2];
        for (h, x) in halves.iter().enumerate() {
            for (g, c) in self.coeff.iter().enumerate() {
                states[h][g] = goertzel8(x, c);
            }
        }
        let m = HALF as f64;
        for k in 0..16 {
            let w = self.omega[k];
            // Complex DFT value of each half, referenced to the half's first sample.
            let dft = |st: &GoertzelState| {
                let (s1, s2) = (f64::from(st.s1[k % 8]), f64::from(st.s2[k % 8]));
                let (re, im) = (s1 - w.cos() * s2, w.sin() * s2);
                let (c, s) = ((w * (m - 1.0)).cos(), -(w * (m - 1.0)).sin());
                (re * c - im * s, re * s + im * c)
            };
            let a = dft(&states[0][k / 8]);
            let b = dft(&states[1][k / 8]);
            sp.halfc[0][k] = a;
            sp.halfc[1][k] = b;
            // Full block: the second half shifted by M samples.
            let (c, s) = ((w * m).cos(), -(w * m).sin());
            let full = (a.0 + b.0 * c - b.1 * s, a.1 + b.0 * s + b.1 * c);
            sp.full[k] = full;
            sp.power[k] = full.0 * full.0 + full.1 * full.1;
            sp.offset_hz[k] = phase_offset_hz(a, b, w);
        }
        sp
    }

    /// Decides whether the current block holds a valid digit.
    fn analyse(&self) -> Option<Digit> {
        match self.classify() {
            Ok(d) => Some(d),
            Err(reason) => {
                tracing::trace!(reason, "dtmf detector: block rejected");
                None
            }
        }
    }

    /// The digit in the current block, or why there is none.
    fn classify(&self) -> Result<Digit, &'static str> {
        let energy: f64 = self
            .block
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum();
        if energy <= 0.0 {
            return Err("silence");
        }
        let sp = self.spectrum();
        let n = BLOCK as f64;
        // Mean-square of a tone from its DFT power: |X|² = (A·N/2)² and A²/2 = 2|X|²/N².
        let tone_ms = |p: f64| 2.0 * p / (n * n);
        let dbm0 = |p: f64| 10.0 * (tone_ms(p) / (DBM0_PEAK * DBM0_PEAK / 2.0)).log10();
        let strongest = |range: std::ops::Range<usize>| {
            range
                .clone()
                .max_by(|&a, &b| sp.power[a].total_cmp(&sp.power[b]))
                .unwrap_or(range.start)
        };
        let row = strongest(0..4);
        let col = strongest(4..8);
        let (pr, pc) = (sp.power[row], sp.power[col]);
        if dbm0(pr) < MIN_LEVEL_DBM0 || dbm0(pc) < MIN_LEVEL_DBM0 {
            return Err("level");
        }
        let twist = 10.0 * (pc / pr).log10();
        if !(-MAX_REVERSE_TWIST_DB..=MAX_NORMAL_TWIST_DB).contains(&twist) {
            return Err("twist");
        }
        let selective = |best: usize, range: std::ops::Range<usize>| {
            range
                .filter(|&k| k != best)
                .all(|k| sp.power[best] >= SELECTIVITY * sp.power[k])
        };
        if !selective(row, 0..4) || !selective(col, 4..8) {
            return Err("selectivity");
        }
        if tone_ms(pr) + tone_ms(pc) < ENERGY_RATIO * energy / n {
            return Err("energy ratio");
        }
        for (k, partner) in [(row, col), (col, row)] {
            if self.harmonic_power(&sp, k + 8, [row, col]) > HARMONIC_RATIO * sp.power[k] {
                return Err("second harmonic");
            }
            let ([a, b], offset) = self.clean_halves(&sp, k, partner);
            let nominal = if k < 4 { ROWS[k] } else { COLS[k - 4] };
            if offset.abs() > FREQ_TOLERANCE * nominal {
                return Err("frequency");
            }
            if a.min(b) < STEADINESS * a.max(b) {
                return Err("steadiness");
            }
        }
        Digit::at(row, col - 4).ok_or("grid")
    }

    /// Power at harmonic filter `h` after removing the spectral leakage of the two detected
    /// tones. A tone at its measured frequency ω_t has complex amplitude
    /// `a = X_c / D(ω_t − ω_c)` given its DFT value X_c at filter c, and contributes
    /// `a · D(ω_t − ω_h)` at filter h (D: Dirichlet kernel of the block). Without this, the
    /// column tone of digits 2 and 6 (1336/1477 Hz) leaks into the second harmonic of their
    /// row tone (1394/1540 Hz, under one bin away) and would be mistaken for speech.
    fn harmonic_power(&self, sp: &Spectrum, h: usize, tones: [usize; 2]) -> f64 {
        let (mut re, mut im) = sp.full[h];
        for c in tones {
            let w_true = self.omega[c] + 2.0 * PI * sp.offset_hz[c] / RATE;
            let leak = leakage(sp.full[c], w_true, self.omega[c], self.omega[h], BLOCK);
            re -= leak.0;
            im -= leak.1;
        }
        re * re + im * im
    }

    /// Half-block values of tone `k` with the leakage of the partner tone `p` removed, and
    /// the frequency offset of `k` measured from their phase advance.
    fn clean_halves(&self, sp: &Spectrum, k: usize, p: usize) -> ([f64; 2], f64) {
        let w_p = self.omega[p] + 2.0 * PI * sp.offset_hz[p] / RATE;
        let mut x = [(0.0, 0.0); 2];
        for (h, xh) in x.iter_mut().enumerate() {
            let leak = leakage(sp.halfc[h][p], w_p, self.omega[p], self.omega[k], HALF);
            *xh = (sp.halfc[h][k].0 - leak.0, sp.halfc[h][k].1 - leak.1);
        }
        let power = [
            x[0].0.powi(2) + x[0].1.powi(2),
            x[1].0.powi(2) + x[1].1.powi(2),
        ];
        (power, phase_offset_hz(x[0], x[1], self.omega[k]))
    }

    /// Runs the per-block timing state machine.
    fn advance(&mut self, hit: Option<Digit>, emit: &mut impl FnMut(InbandEvent)) {
        let block_start = self.samples;
        if hit.is_some() && hit != self.last_hit {
            self.run_start = block_start;
        }
        match (self.active, hit) {
            (Some((digit, start, blocks)), Some(h)) if h == digit => {
                self.active = Some((digit, start, blocks + 1 + u64::from(self.misses)));
                self.misses = 0;
            }
            (Some((digit, _, blocks)), _) => {
                self.misses += 1;
                if self.misses >= 2 {
                    emit(InbandEvent::Ended {
                        digit,
                        duration_ms: blocks * BLOCK as u64 * 1000 / RATE as u64,
                    });
                    self.active = None;
                    self.misses = 0;
                }
            }
            (None, Some(h)) if self.last_hit == Some(h) => {
                self.active = Some((h, self.run_start, 2));
                self.misses = 0;
                emit(InbandEvent::Began {
                    digit: h,
                    at_sample: self.run_start,
                });
            }
            (None, _) => {}
        }
        self.last_hit = hit;
    }
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
