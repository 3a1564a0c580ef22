//! ITU-T G.722 sub-band ADPCM, 64 kbit/s mode (mode 1), 16 kHz wideband.
//!
//! Structure, following the recommendation's block diagram:
//! * a 24-tap quadrature mirror filter pair splits 16 kHz input into a lower and a higher
//!   8 kHz sub-band (and merges them again in the decoder);
//! * the lower band is coded with 6 bits per sample (a 60-level adaptive quantizer whose
//!   4-bit core drives the predictor and the scale factor), the higher band with 2 bits;
//! * each band has a pole-zero predictor (2 poles, 6 zeros) updated by sign-sign gradient
//!   rules, and a logarithmic scale factor with leakage.
//!
//! Every octet carries `ih << 6 | il`. All arithmetic is 16/32-bit integer with the
//! saturation the recommendation specifies, so encoder and decoder stay in lock step. The
//! sub-band signals use a 15-bit scale (16-bit PCM divided by two), the scale the quantizer
//! tables are designed for.
//!
//! Packet loss: the decoder simply continues from its state; the caller conceals the missing
//! frame with waveform substitution (see `plc`).

/// QMF coefficients h(2i) for i = 0..12 (the filter is symmetric: h(k) = h(23 − k)).
const QMF_EVEN: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/// QMF coefficients h(2i + 1).
const QMF_ODD: [i32; 12] = [-11, 53, -156, 362, -805, 3876, 951, -210, 32, 12, -11, 3];

/// Lower-band quantizer decision levels (magnitude, relative to the scale factor).
const Q6: [i32; 31] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0,
];
/// 6-bit codes for negative differences, indexed by decision interval.
const ILN: [i32; 31] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4,
];
/// 6-bit codes for positive differences, indexed by decision interval.
const ILP: [i32; 31] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32,
];
/// 6-bit inverse quantizer outputs (used by the decoder's reconstructed signal).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// 4-bit inverse quantizer outputs (predictor and adaptation path, both ends).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// 4-bit code to magnitude class for the lower-band scale factor.
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Lower-band log scale factor increments per magnitude class.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// Mantissa table of the log-to-linear scale factor conversion: 2048 · 2^(i/32).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Higher-band 2-bit inverse quantizer outputs.
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// Higher-band code to magnitude class, and the log scale factor increments.
const RH2: [usize; 4] = [2, 1, 2, 1];
const WH: [i32; 3] = [0, -214, 798];
/// Higher-band codes for (negative, positive) differences by magnitude class 1 (small) and 2.
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];

#[inline]
fn sat16(x: i32) -> i32 {
    x.clamp(-32768, 32767)
}

/// Adaptive predictor and scale factor of one sub-band.
#[derive(Debug, Clone)]
struct Band {
    /// Predicted signal s(n).
    s: i32,
    /// Pole-section output.
    sp: i32,
    /// Zero-section output.
    sz: i32,
    /// Reconstructed signal history r(n), r(n−1), r(n−2).
    r: [i32; 3],
    /// Pole coefficients a1, a2 (index 0 unused).
    a: [i32; 3],
    /// Zero coefficients b1..b6 (index 0 unused).
    b: [i32; 7],
    /// Quantized difference history d(n)..d(n−6).
    d: [i32; 7],
    /// Partial reconstruction history p(n)..p(n−2).
    p: [i32; 3],
    /// Log scale factor.
    nb: i32,
    /// Linear scale factor.
    det: i32,
}

impl Band {
    fn new(det: i32) -> Self {
        Self {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            b: [0; 7],
            d: [0; 7],
            p: [0; 3],
            nb: 0,
            det,
        }
    }

    /// Log-domain scale factor update and conversion back to linear.
    fn adapt_scale(&mut self, increment: i32, nb_max: i32, exp_offset: i32) {
        self.nb = (((self.nb * 127) >> 7) + increment).clamp(0, nb_max);
        let mant = ILB[((self.nb >> 6) & 31) as usize];
        let shift = exp_offset - (self.nb >> 11);
        let lin = if shift < 0 {
            mant << -shift
        } else {
            mant >> shift
        };
        self.det = lin << 2;
    }

    /// Reconstruction, predictor coefficient adaptation and new prediction, given the
    /// quantized difference `dq` of this sample.
    fn update(&mut self, dq: i32) {
        self.d[0] = dq;
        self.r[0] = sat16(self.s + dq);
        self.p[0] = sat16(self.sz + dq);
        let sign = |v: i32| v >> 15;

        // Second pole coefficient.
        let f = sat16(self.a[1] << 2);
        let mut t = if sign(self.p[0]) == sign(self.p[1]) {
            -f
        } else {
            f
        };
        t = t.min(32767);
        let mut a2 = (t >> 7)
            + if sign(self.p[0]) == sign(self.p[2]) {
                128
            } else {
                -128
            };
        a2 += (self.a[2] * 32512) >> 15;
        let a2 = a2.clamp(-12288, 12288);

        // First pole coefficient, bounded by the stability triangle.
        let step = if sign(self.p[0]) == sign(self.p[1]) {
            192
        } else {
            -192
        };
        let a1 = sat16(step + ((self.a[1] * 32640) >> 15));
        let limit = sat16(15360 - a2);
        let a1 = a1.clamp(-limit, limit);

        // Zero coefficients.
        let mut b_next = [0i32; 7];
        let gain = if dq == 0 { 0 } else { 128 };
        for (i, next) in b_next.iter_mut().enumerate().skip(1) {
            let g = if sign(self.d[i]) == sign(dq) {
                gain
            } else {
                -gain
            };
            *next = sat16(g + ((self.b[i] * 32640) >> 15));
        }

        // Shift the delay lines.
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
        }
        self.b = b_next;
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
        }
        self.a = [0, a1, a2];

        // New prediction: poles on the reconstructed signal, zeros on the differences.
        let pole = |a: i32, r: i32| (a * sat16(r + r)) >> 15;
        self.sp = sat16(pole(self.a[1], self.r[1]) + pole(self.a[2], self.r[2]));
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat16(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat16(sz);
        self.s = sat16(self.sp + self.sz);
    }
}

/// G.722 encoder state (64 kbit/s): 16 kHz PCM in, one octet per two samples out.
#[derive(Debug, Clone)]
pub struct G722Encoder {
    /// Last 24 input samples, oldest first.
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Encoder {
    /// A fresh encoder in the recommendation's reset state.
    #[must_use]
    pub fn new() -> Self {
        Self {
            x: [0; 24],
            low: Band::new(32),
            high: Band::new(8),
        }
    }

    /// Encodes `pcm` (16 kHz) into `out`; returns the number of octets written
    /// (`pcm.len() / 2`, limited by `out.len()`). A trailing odd sample is ignored.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        let mut n = 0;
        for (pair, o) in pcm.chunks_exact(2).zip(out.iter_mut()) {
            *o = self.encode_pair(pair[0], pair[1]);
            n += 1;
        }
        n
    }

    fn encode_pair(&mut self, first: i16, second: i16) -> u8 {
        // Transmit QMF: the newest sample is x[23].
        self.x.copy_within(2.., 0);
        self.x[22] = i32::from(first);
        self.x[23] = i32::from(second);
        let mut even = 0;
        let mut odd = 0;
        for i in 0..12 {
            // h(2i)·x(j − 2i) and h(2i + 1)·x(j − 2i − 1), j being the newest sample.
            even += QMF_EVEN[i] * self.x[23 - 2 * i];
            odd += QMF_ODD[i] * self.x[22 - 2 * i];
        }
        let xl = (even + odd) >> 14;
        let xh = (even - odd) >> 14;

        // Lower band: 6-bit adaptive quantizer.
        let el = sat16(xl - self.low.s);
        let mag = if el >= 0 { el } else { -(el + 1) };
        let mut interval = 1;
        while interval < 30 && mag >= (Q6[interval] * self.low.det) >> 12 {
            interval += 1;
        }
        let il = if el < 0 { ILN[interval] } else { ILP[interval] };
        let il4 = (il >> 2) as usize;
        let dl = (self.low.det * QM4[il4]) >> 15;
        self.low.adapt_scale(WL[RL42[il4]], 18432, 8);
        self.low.update(dl);

        // Higher band: 2-bit adaptive quantizer.
        let eh = sat16(xh - self.high.s);
        let mag = if eh >= 0 { eh } else { -(eh + 1) };
        let class = if mag >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ih = if eh < 0 { IHN[class] } else { IHP[class] };
        let dh = (self.high.det * QM2[ih as usize]) >> 15;
        self.high.adapt_scale(WH[RH2[ih as usize]], 22528, 10);
        self.high.update(dh);

        ((ih << 6) | il) as u8
    }
}

/// G.722 decoder state (64 kbit/s): one octet in, two 16 kHz samples out.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    /// Receive QMF delay lines of rl − rh and rl + rh, newest first.
    xd: [i32; 12],
    xs: [i32; 12],
    low: Band,
    high: Band,
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A fresh decoder in the recommendation's reset state.
    #[must_use]
    pub fn new() -> Self {
        Self {
            xd: [0; 12],
            xs: [0; 12],
            low: Band::new(32),
            high: Band::new(8),
        }
    }

    /// Decodes `codes` into `out` (16 kHz, two samples per octet); returns samples written.
    /// Decoding stops early when `out` is full (every octet is valid input).
    pub fn decode(&mut self, codes: &[u8], out: &mut [i16]) -> usize {
        let mut n = 0;
        for (&code, pair) in codes.iter().zip(out.chunks_exact_mut(2)) {
            let (a, b) = self.decode_octet(code);
            pair[0] = a;
            pair[1] = b;
            n += 2;
        }
        n
    }

    fn decode_octet(&mut self, code: u8) -> (i16, i16) {
        let il = usize::from(code & 0x3F);
        let ih = usize::from(code >> 6);

        // Lower band: the 6-bit code reconstructs the output, its 4-bit core adapts.
        let rl = (self.low.s + ((self.low.det * QM6[il]) >> 15)).clamp(-16384, 16383);
        let dl = (self.low.det * QM4[il >> 2]) >> 15;
        self.low.adapt_scale(WL[RL42[il >> 2]], 18432, 8);
        self.low.update(dl);

        // Higher band.
        let dh = (self.high.det * QM2[ih]) >> 15;
        let rh = (dh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_scale(WH[RH2[ih]], 22528, 10);
        self.high.update(dh);

        // Receive QMF.
        self.xd.copy_within(..11, 1);
        self.xs.copy_within(..11, 1);
        self.xd[0] = rl - rh;
        self.xs[0] = rl + rh;
        let mut first = 0;
        let mut second = 0;
        for i in 0..12 {
            first += QMF_EVEN[i] * self.xd[i];
            second += QMF_ODD[i] * self.xs[i];
        }
        (sat16(first >> 11) as i16, sat16(second >> 11) as i16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsig::{aligned_snr, speech_like, tone};

    fn round_trip(input: &[i16]) -> Vec<i16> {
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut out = Vec::new();
        for frame in input.chunks_exact(320) {
            let mut bytes = [0u8; 160];
            assert_eq!(enc.encode(frame, &mut bytes), 160);
            let mut pcm = [0i16; 320];
            assert_eq!(dec.decode(&bytes, &mut pcm), 320);
            out.extend_from_slice(&pcm);
        }
        out
    }

    #[test]
    fn ilb_is_the_exponential_table() {
        for (i, &v) in ILB.iter().enumerate() {
            let exact = 2048.0 * 2f64.powf(i as f64 / 32.0);
            assert!((f64::from(v) - exact).abs() <= 1.0, "ilb[{i}]");
        }
    }

    #[test]
    fn qmf_is_symmetric_and_sums_to_unity_gain() {
        // h(2i + 1) = h(22 − 2i): the odd taps are the even ones reversed.
        let mut rev = QMF_EVEN;
        rev.reverse();
        assert_eq!(rev, QMF_ODD);
        let sum: i32 = QMF_EVEN.iter().chain(&QMF_ODD).sum();
        assert_eq!(sum, 8192);
    }

    #[test]
    fn tone_1khz_round_trip_snr() {
        let input = tone(16_000, 1000.0, 8000.0, 16_000);
        let output = round_trip(&input);
        let (delay, snr) = aligned_snr(&input, &output, 64);
        assert!(snr > 20.0, "1 kHz SNR {snr:.1} dB (delay {delay})");
    }

    #[test]
    fn speech_like_round_trip_snr() {
        let input = speech_like(16_000, 32_000);
        let output = round_trip(&input);
        let (delay, snr) = aligned_snr(&input, &output, 64);
        assert!(snr > 20.0, "speech-like SNR {snr:.1} dB (delay {delay})");
        // Analysis plus synthesis QMF delay the signal by 22 samples (the 47-tap cascade
        // peaks at lag 23, minus one for the output order within each pair).
        assert_eq!(delay, 22);
    }

    #[test]
    fn high_band_tone_survives() {
        // 6 kHz lives entirely in the upper sub-band.
        let input = tone(16_000, 6000.0, 6000.0, 16_000);
        let output = round_trip(&input);
        let (_, snr) = aligned_snr(&input, &output, 64);
        assert!(snr > 10.0, "6 kHz SNR {snr:.1} dB");
    }

    #[test]
    fn silence_stays_quiet_and_full_scale_does_not_overflow() {
        let out = round_trip(&[0i16; 3200]);
        assert!(out.iter().all(|&s| s.abs() < 64));
        let square: Vec<i16> = (0..6400)
            .map(|i| if (i / 8) % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect();
        let out = round_trip(&square);
        assert_eq!(out.len(), square.len());
    }

    #[test]
    fn decoder_accepts_every_octet() {
        let codes: Vec<u8> = (0..=255).cycle().take(4096).collect();
        let mut dec = G722Decoder::new();
        let mut pcm = vec![0i16; 8192];
        assert_eq!(dec.decode(&codes, &mut pcm), 8192);
        let mut small = [0i16; 5];
        assert_eq!(dec.decode(&codes, &mut small), 4);
    }
}
