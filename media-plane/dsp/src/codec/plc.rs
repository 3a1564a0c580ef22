//! Packet-loss concealment by pitch-synchronous waveform substitution (for G.711, G.722, L16).
//!
//! In the spirit of ITU-T G.711 Appendix I, simplified:
//! * the decoder output of good frames is kept in a 48 ms history;
//! * on the first lost frame the pitch period is estimated by normalized autocorrelation of
//!   the last 20 ms against lags of 2.5–15 ms (computed at an 8 kHz-equivalent decimation);
//! * the last period is copied into a loop buffer whose final quarter is cross-faded with the
//!   quarter before the period, so looping has no discontinuity;
//! * the loop plays at full level for 10 ms, then fades linearly to silence at 60 ms;
//! * the first good frame after a loss is cross-faded (over a quarter period, at most 5 ms)
//!   from the continued synthetic signal, so the splice is click-free.
//!
//! Everything is allocated in [`Plc::new`]; concealing a frame does not allocate.

/// Concealment state for one decoder.
#[derive(Debug, Clone)]
pub(crate) struct Plc {
    /// Decoded history, oldest first, always `history.len()` samples.
    history: Vec<f32>,
    /// One pitch period, smoothed for looping.
    period: Vec<f32>,
    period_len: usize,
    pos: usize,
    /// Samples concealed in the current loss burst (0 when the last frame was good).
    erased: usize,
    /// Decimation factor to the 8 kHz-equivalent pitch search.
    decim: usize,
    /// Samples per millisecond.
    per_ms: usize,
}

impl Plc {
    /// Concealment for a decoder running at `rate` Hz (a multiple of 8000).
    pub(crate) fn new(rate: u32) -> Self {
        let per_ms = (rate / 1000) as usize;
        Self {
            history: vec![0.0; 48 * per_ms],
            period: vec![0.0; 15 * per_ms],
            period_len: 15 * per_ms,
            pos: 0,
            erased: 0,
            decim: (rate / 8000).max(1) as usize,
            per_ms,
        }
    }

    /// Records a correctly decoded frame, smoothing the transition after a loss.
    pub(crate) fn good_frame(&mut self, frame: &mut [i16]) {
        if self.erased > 0 {
            let ola = (self.period_len / 4)
                .clamp(1, 5 * self.per_ms)
                .min(frame.len());
            for (i, s) in frame[..ola].iter_mut().enumerate() {
                let synthetic = self.period[self.pos] * self.gain(self.erased + i);
                self.pos = (self.pos + 1) % self.period_len;
                let w = (i + 1) as f32 / (ola + 1) as f32;
                *s = clamp16(synthetic * (1.0 - w) + f32::from(*s) * w);
            }
            self.erased = 0;
        }
        self.push_history(frame);
    }

    /// Fills `out` with a concealment frame.
    pub(crate) fn conceal(&mut self, out: &mut [i16]) {
        if self.erased == 0 {
            self.start_loss();
        }
        for s in out.iter_mut() {
            *s = clamp16(self.period[self.pos] * self.gain(self.erased));
            self.pos = (self.pos + 1) % self.period_len;
            self.erased = self.erased.saturating_add(1);
        }
    }

    /// Fills `out` with silence; the next good frame fades in.
    pub(crate) fn silence(&mut self, out: &mut [i16]) {
        out.fill(0);
        if self.erased == 0 {
            self.start_loss();
        }
        // Past the fade-out: the synthetic continuation is zero.
        self.erased = self.erased.max(60 * self.per_ms) + out.len();
    }

    /// Attenuation after `erased` concealed samples: 1 for 10 ms, then linear to 0 at 60 ms.
    fn gain(&self, erased: usize) -> f32 {
        let hold = 10 * self.per_ms;
        if erased < hold {
            1.0
        } else {
            (1.0 - (erased - hold) as f32 / (50 * self.per_ms) as f32).max(0.0)
        }
    }

    fn push_history(&mut self, frame: &[i16]) {
        let h = self.history.len();
        let n = frame.len().min(h);
        self.history.copy_within(n.., 0);
        for (d, &s) in self.history[h - n..]
            .iter_mut()
            .zip(&frame[frame.len() - n..])
        {
            *d = f32::from(s);
        }
    }

    fn start_loss(&mut self) {
        let p = self.estimate_pitch();
        let h = self.history.len();
        let quarter = p / 4;
        for i in 0..p {
            self.period[i] = self.history[h - p + i];
        }
        // Blend the last quarter towards the samples that precede the period, so the end of
        // the loop flows into its start.
        for j in 0..quarter {
            let w = (j + 1) as f32 / (quarter + 1) as f32;
            let tail = self.history[h - quarter + j];
            let before = self.history[h - p - quarter + j];
            self.period[p - quarter + j] = tail * (1.0 - w) + before * w;
        }
        self.period_len = p;
        self.pos = 0;
    }

    /// Pitch period in samples (full rate), from 2.5 to 15 ms.
    fn estimate_pitch(&self) -> usize {
        let d = self.decim;
        let h = self.history.len();
        let window = 160; // 20 ms at the 8 kHz-equivalent rate
        let (min_lag, max_lag) = (20, 120);
        // Sample k steps (decimated) back from the newest.
        let at = |k: usize| self.history[h - 1 - k * d];
        let energy: f32 = (0..window).map(|k| at(k) * at(k)).sum();
        if energy < 1.0 {
            return max_lag * d;
        }
        let mut best = (max_lag, f32::MIN);
        for lag in min_lag..=max_lag {
            let mut cross = 0.0f32;
            let mut lagged = 0.0f32;
            for k in 0..window {
                let y = at(k + lag);
                cross += at(k) * y;
                lagged += y * y;
            }
            let score = cross / (lagged * energy).sqrt().max(1.0);
            if score > best.1 {
                best = (lag, score);
            }
        }
        best.0 * d
    }
}

fn clamp16(x: f32) -> i16 {
    x.round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsig::{rms, tone};

    #[test]
    fn conceals_a_periodic_signal_with_its_own_period() {
        let mut plc = Plc::new(8000);
        // 200 Hz: a 40-sample period.
        let signal = tone(8000, 200.0, 10_000.0, 800);
        for f in signal.chunks(160).take(4) {
            let mut f = f.to_vec();
            plc.good_frame(&mut f);
        }
        let mut out = [0i16; 160];
        plc.conceal(&mut out);
        assert_eq!(plc.period_len, 40);
        // The concealed frame continues the sine closely (first 10 ms at full level).
        let expected = &signal[640..720];
        let err: f64 = out[..80]
            .iter()
            .zip(expected)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum::<f64>()
            / 80.0;
        assert!(err.sqrt() < 1500.0, "rms error {}", err.sqrt());
        assert!(rms(&out[..80]) > 6000.0);
    }

    #[test]
    fn fades_to_silence_and_back_in() {
        let mut plc = Plc::new(16_000);
        let mut f = tone(16_000, 300.0, 8000.0, 320);
        plc.good_frame(&mut f);
        let mut out = [0i16; 320];
        for _ in 0..3 {
            plc.conceal(&mut out);
        }
        assert!(rms(&out) > 100.0, "still audible at 60 ms");
        plc.conceal(&mut out);
        assert!(rms(&out) < 1.0, "muted after 60 ms");
        let mut good = tone(16_000, 300.0, 8000.0, 320);
        plc.good_frame(&mut good);
        assert!(good[0].abs() < 1000, "fade-in starts near zero");
        assert_eq!(plc.erased, 0);
    }

    #[test]
    fn silence_history_is_safe() {
        let mut plc = Plc::new(48_000);
        let mut out = [1i16; 960];
        plc.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
        plc.silence(&mut out);
        let mut good = [1000i16; 960];
        plc.good_frame(&mut good);
        assert!(good[0] < 100 && good[959] == 1000);
    }
}
