//! Call-progress tones: ringback, busy, dial tone, beep, in-band DTMF — any rate, any cadence.
//!
//! A tone is one or two frequencies at a level in dBm0 (per frequency; 0 dBm0 is a sine of
//! peak 22 827, see `dtmf`), switched by a cadence of up to four on/off steps that repeats or
//! plays once. Edges get a 2 ms linear ramp so switching does not click. The oscillators are
//! complex phasors rotated per sample and renormalized per frame: no allocation, no clock.

use crate::dtmf::Digit;
use crate::error::DspError;

/// Peak amplitude of a 0 dBm0 sine in 16-bit PCM.
const DBM0_PEAK: f64 = 22_827.0;
const RAMP_MS: u64 = 2;

/// What to play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    /// Frequencies in Hz (one or two; a second of 0 means a single frequency).
    pub freqs: [f64; 2],
    /// Level of each frequency in dBm0.
    pub level_dbm0: f64,
    /// (on ms, off ms) steps; unused steps are (0, 0). All zero means continuous.
    pub cadence: [(u32, u32); 4],
    /// Repeat the cadence forever, or play it once and stop.
    pub repeat: bool,
}

impl ToneSpec {
    const fn new(freqs: [f64; 2], cadence: [(u32, u32); 4], repeat: bool) -> Self {
        Self {
            freqs,
            level_dbm0: -16.0,
            cadence,
            repeat,
        }
    }

    /// European / ITU ringback: 425 Hz, 1 s on, 4 s off.
    #[must_use]
    pub const fn ringback_eu() -> Self {
        Self::new([425.0, 0.0], [(1000, 4000), (0, 0), (0, 0), (0, 0)], true)
    }

    /// North American ringback: 440 + 480 Hz, 2 s on, 4 s off.
    #[must_use]
    pub const fn ringback_us() -> Self {
        Self::new([440.0, 480.0], [(2000, 4000), (0, 0), (0, 0), (0, 0)], true)
    }

    /// European busy: 425 Hz, 0.5 s on, 0.5 s off.
    #[must_use]
    pub const fn busy_eu() -> Self {
        Self::new([425.0, 0.0], [(500, 500), (0, 0), (0, 0), (0, 0)], true)
    }

    /// North American busy: 480 + 620 Hz, 0.5 s on, 0.5 s off.
    #[must_use]
    pub const fn busy_us() -> Self {
        Self::new([480.0, 620.0], [(500, 500), (0, 0), (0, 0), (0, 0)], true)
    }

    /// European dial tone: continuous 425 Hz.
    #[must_use]
    pub const fn dial_eu() -> Self {
        Self::new([425.0, 0.0], [(0, 0); 4], true)
    }

    /// North American dial tone: continuous 350 + 440 Hz.
    #[must_use]
    pub const fn dial_us() -> Self {
        Self::new([350.0, 440.0], [(0, 0); 4], true)
    }

    /// Beep (e.g. before voicemail recording): 1 kHz for 250 ms, once.
    #[must_use]
    pub const fn beep() -> Self {
        Self::new([1000.0, 0.0], [(250, 0), (0, 0), (0, 0), (0, 0)], false)
    }

    /// An in-band DTMF digit held for `on_ms`, once.
    #[must_use]
    pub fn dtmf(digit: Digit, on_ms: u32) -> Self {
        let (row, col) = digit.frequencies();
        Self {
            level_dbm0: -10.0,
            ..Self::new([row, col], [(on_ms, 0), (0, 0), (0, 0), (0, 0)], false)
        }
    }

    /// The same tone at another level.
    #[must_use]
    pub fn with_level(mut self, level_dbm0: f64) -> Self {
        self.level_dbm0 = level_dbm0;
        self
    }
}

/// Generates a [`ToneSpec`] frame by frame at a fixed sample rate.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    spec: ToneSpec,
    rate: u32,
    amplitude: f64,
    /// Oscillator phasors (re, im) and per-sample rotations.
    osc: [(f64, f64); 2],
    rot: [(f64, f64); 2],
    /// Samples since the start of the cadence cycle.
    pos: u64,
    cycle: u64,
    finished: bool,
}

impl ToneGenerator {
    /// A generator for `spec` at `rate` Hz (8000, 16000 or 48000).
    pub fn new(spec: ToneSpec, rate: u32) -> Result<Self, DspError> {
        if !matches!(rate, 8000 | 16_000 | 48_000) {
            return Err(DspError::UnsupportedRate(rate));
        }
        let nyquist = f64::from(rate) / 2.0;
        if spec.freqs.iter().any(|&f| !(0.0..nyquist).contains(&f)) {
            return Err(DspError::InvalidParameter {
                name: "freqs",
                reason: "tone frequencies must be in 0..Nyquist",
            });
        }
        let rot = spec.freqs.map(|f| {
            let w = 2.0 * std::f64::consts::PI * f / f64::from(rate);
            (w.cos(), w.sin())
        });
        let cycle: u64 = spec
            .cadence
            .iter()
            .map(|&(on, off)| u64::from(on) + u64::from(off))
            .sum::<u64>()
            * u64::from(rate)
            / 1000;
        Ok(Self {
            spec,
            rate,
            amplitude: DBM0_PEAK * 10f64.powf(spec.level_dbm0 / 20.0),
            osc: [(1.0, 0.0); 2],
            rot,
            pos: 0,
            cycle,
            finished: false,
        })
    }

    /// Whether a non-repeating tone has played to its end.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Restarts the cadence from the beginning.
    pub fn restart(&mut self) {
        self.pos = 0;
        self.finished = false;
        self.osc = [(1.0, 0.0); 2];
    }

    /// Envelope (0..=1) at cadence position `pos`.
    fn envelope(&self, pos: u64) -> f64 {
        if self.cycle == 0 {
            return 1.0;
        }
        let per_ms = u64::from(self.rate) / 1000;
        let ramp = (RAMP_MS * per_ms) as f64;
        let mut start = 0u64;
        for &(on, off) in &self.spec.cadence {
            let on = u64::from(on) * per_ms;
            let off = u64::from(off) * per_ms;
            if pos < start + on {
                let into = (pos - start) as f64;
                let left = (start + on - pos) as f64;
                return (into / ramp).min(left / ramp).min(1.0);
            }
            if pos < start + on + off {
                return 0.0;
            }
            start += on + off;
        }
        0.0
    }

    /// Fills `out` with the next samples; returns false once a one-shot tone has finished
    /// (the rest of `out` is silence).
    pub fn next_frame(&mut self, out: &mut [i16]) -> bool {
        let two = self.spec.freqs[1] > 0.0;
        for s in out.iter_mut() {
            if self.finished {
                *s = 0;
                continue;
            }
            let env = self.envelope(self.pos);
            let mut v = self.osc[0].1;
            if two {
                v += self.osc[1].1;
            }
            *s = (v * env * self.amplitude).round().clamp(-32768.0, 32767.0) as i16;
            for (o, r) in self.osc.iter_mut().zip(&self.rot) {
                *o = (o.0 * r.0 - o.1 * r.1, o.0 * r.1 + o.1 * r.0);
            }
            self.pos += 1;
            if self.cycle > 0 && self.pos >= self.cycle {
                if self.spec.repeat {
                    self.pos = 0;
                } else {
                    self.finished = true;
                }
            }
        }
        // Renormalize the phasors so rounding does not make them drift in amplitude.
        for o in &mut self.osc {
            let m = (o.0 * o.0 + o.1 * o.1).sqrt();
            if m > 0.0 {
                *o = (o.0 / m, o.1 / m);
            }
        }
        !self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{DtmfDetector, InbandEvent};
    use crate::testsig::rms;

    fn render(spec: ToneSpec, rate: u32, ms: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(spec, rate).unwrap();
        let frame = rate as usize / 50;
        let mut out = vec![0i16; ms * rate as usize / 1000];
        for f in out.chunks_mut(frame) {
            g.next_frame(f);
        }
        out
    }

    /// RMS of 10 ms windows, as on/off pattern.
    fn pattern(x: &[i16], rate: u32) -> Vec<bool> {
        x.chunks(rate as usize / 100)
            .map(|c| rms(c) > 100.0)
            .collect()
    }

    #[test]
    fn cadences() {
        let on = |spec, rate| pattern(&render(spec, rate, 10_000), rate);
        let eu = on(ToneSpec::ringback_eu(), 8000);
        assert!(eu[1..99].iter().all(|&b| b) && eu[101..499].iter().all(|&b| !b) && eu[501]);
        let us = on(ToneSpec::ringback_us(), 16_000);
        assert!(us[1..199].iter().all(|&b| b) && us[201..599].iter().all(|&b| !b) && us[601]);
        let busy = on(ToneSpec::busy_us(), 48_000);
        assert!(busy[1..49].iter().all(|&b| b) && busy[51..99].iter().all(|&b| !b) && busy[101]);
        let dial = on(ToneSpec::dial_eu(), 8000);
        assert!(dial.iter().all(|&b| b));
        let beep = render(ToneSpec::beep(), 8000, 1000);
        assert!(rms(&beep[100..1900]) > 1000.0 && rms(&beep[2100..]) == 0.0);
    }

    #[test]
    fn level_and_frequency() {
        // −16 dBm0 single tone: RMS = 22 827 · 10^(−16/20) / √2.
        let x = render(ToneSpec::busy_eu(), 8000, 500);
        let want = 22_827.0 * 10f64.powf(-16.0 / 20.0) / 2f64.sqrt();
        assert!((rms(&x[100..3900]) / want - 1.0).abs() < 0.01);
        // 425 Hz: zero crossings over 0.4 s ≈ 2 · 425 · 0.4 = 340.
        let zc = x[100..3300]
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!((338..=342).contains(&zc), "{zc} crossings in 0.4 s");
        // Amplitude stays stable over a long run (phasor renormalization).
        let long = render(ToneSpec::dial_us(), 48_000, 60_000);
        let first = rms(&long[48_000..96_000]);
        let last = rms(&long[long.len() - 48_000..]);
        assert!((first / last - 1.0).abs() < 1e-3);
    }

    #[test]
    fn one_shot_finishes_and_restarts() {
        let mut g = ToneGenerator::new(ToneSpec::beep(), 8000).unwrap();
        let mut f = [0i16; 160];
        let mut frames = 0;
        while g.next_frame(&mut f) {
            frames += 1;
        }
        assert_eq!(frames, 12); // 250 ms = 12.5 frames
        assert!(g.is_finished());
        g.restart();
        assert!(g.next_frame(&mut f));
        assert!(ToneGenerator::new(ToneSpec::beep(), 44_100).is_err());
        let bad = ToneSpec {
            freqs: [5000.0, 0.0],
            ..ToneSpec::beep()
        };
        assert!(ToneGenerator::new(bad, 8000).is_err());
    }

    #[test]
    fn generated_dtmf_is_detected() {
        for d in Digit::ALL {
            let mut x = render(ToneSpec::dtmf(d, 80), 8000, 300);
            x.extend(vec![0; 800]);
            let mut det = DtmfDetector::new();
            let mut got = Vec::new();
            det.process(&x, |e| got.push(e));
            assert!(matches!(got.first(), Some(InbandEvent::Began { digit, .. }) if *digit == d));
        }
    }
}
