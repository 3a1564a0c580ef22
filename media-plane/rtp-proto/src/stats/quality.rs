//! Call-quality estimate: a simplified ITU-T G.107 E-model producing an R-factor
//! and a MOS.
//!
//! Formula (all defaults of G.107 except the impairments below, so `R0 - Is = 93.2`
//! and the advantage factor `A = 0`):
//!
//! ```text
//! R      = 93.2 - Id - Ie_eff
//! Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl)        random loss (BurstR = 1), Ppl in %
//! Id     = 0.024 * Ta + 0.11 * (Ta - 177.3) * [Ta > 177.3]   Ta = one-way delay in ms
//! MOS    = 1                                          if R <= 0
//!        = 1 + 0.035 R + R (R - 60)(100 - R) 7e-6     if 0 < R < 100
//!        = 4.5                                        if R >= 100
//! ```
//!
//! `Id` is the usual linear approximation of G.107's delay terms for a connection
//! with good echo control; with no delay estimate it is taken as 0. All codecs are
//! scored on the narrowband scale (maximum MOS about 4.4) so results are comparable;
//! the wideband advantage of G.722 and Opus is therefore not expressed. Codec
//! parameters: G.711 with packet-loss concealment `Ie = 0, Bpl = 25.1` (the ITU-T
//! G.113 Appendix I value); G.722 `Ie = 0, Bpl = 20` and Opus `Ie = 0, Bpl = 30` are
//! estimates reflecting weaker (G.722) and stronger (Opus) built-in loss
//! concealment. Use [`Codec::Custom`] to supply other values.

/// Codec whose impairment factors the estimate uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Codec {
    /// G.711 (PCMU/PCMA) with packet-loss concealment.
    G711,
    /// G.722 at 64 kbit/s.
    G722,
    /// Opus at a voice bitrate.
    Opus,
    /// Caller-supplied equipment impairment `ie` and loss robustness `bpl`.
    Custom {
        /// Equipment impairment factor at zero loss.
        ie: f64,
        /// Packet-loss robustness factor (must be positive).
        bpl: f64,
    },
}

impl Codec {
    /// The `(Ie, Bpl)` pair used for this codec.
    #[must_use]
    pub fn impairment(self) -> (f64, f64) {
        match self {
            Self::G711 => (0.0, 25.1),
            Self::G722 => (0.0, 20.0),
            Self::Opus => (0.0, 30.0),
            Self::Custom { ie, bpl } => (ie, bpl),
        }
    }
}

/// Result of a quality estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Transmission rating factor, 0..=93.2 on the narrowband scale.
    pub r_factor: f64,
    /// Estimated mean opinion score, 1.0..=4.5.
    pub mos: f64,
}

/// Default `R0 - Is` of G.107.
const R_BASE: f64 = 93.2;
/// Delay above which the steeper delay-impairment slope applies, in ms.
const DELAY_KNEE_MS: f64 = 177.3;

/// Estimates quality from a loss ratio (0.0..=1.0) and an optional one-way
/// mouth-to-ear delay in milliseconds. Out-of-range or non-finite inputs are clamped
/// (NaN counts as 0).
#[must_use]
pub fn estimate(codec: Codec, loss_ratio: f64, one_way_delay_ms: Option<f64>) -> Quality {
    let (ie, bpl) = codec.impairment();
    let ie = finite_or_zero(ie).clamp(0.0, 95.0);
    let bpl = finite_or_zero(bpl).max(f64::MIN_POSITIVE);
    let ppl = finite_or_zero(loss_ratio).clamp(0.0, 1.0) * 100.0;
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    let ta = finite_or_zero(one_way_delay_ms.unwrap_or(0.0)).max(0.0);
    let mut id = 0.024 * ta;
    if ta > DELAY_KNEE_MS {
        id += 0.11 * (ta - DELAY_KNEE_MS);
    }
    let r = (R_BASE - id - ie_eff).max(0.0);
    Quality {
        r_factor: r,
        mos: mos_from_r(r),
    }
}

/// The G.107 R-to-MOS mapping.
#[must_use]
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6
    }
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() < eps
    }

    #[test]
    fn perfect_g711_is_the_classic_4_41() {
        let q = estimate(Codec::G711, 0.0, None);
        assert!(close(q.r_factor, 93.2, 1e-9));
        // 1 + 0.035*93.2 + 93.2*33.2*6.8*7e-6 = 4.4093
        assert!(close(q.mos, 4.4093, 1e-3), "{}", q.mos);
    }

    #[test]
    fn loss_follows_ie_eff() {
        // 1% loss: Ie_eff = 95 * 1 / (1 + 25.1) = 3.6398; R = 89.560
        let q = estimate(Codec::G711, 0.01, None);
        assert!(close(q.r_factor, 89.560, 1e-3), "{}", q.r_factor);
        // MOS = 1 + 3.1346 + 89.56*29.56*10.44*7e-6 = 4.328
        assert!(close(q.mos, 4.328, 1e-3), "{}", q.mos);
        // Opus conceals better than G.711 which conceals better than G.722.
        let opus = estimate(Codec::Opus, 0.05, None).r_factor;
        let g711 = estimate(Codec::G711, 0.05, None).r_factor;
        let g722 = estimate(Codec::G722, 0.05, None).r_factor;
        assert!(opus > g711 && g711 > g722);
        // Total loss is unusable.
        let dead = estimate(Codec::G711, 1.0, None);
        assert!(dead.r_factor < 20.0 && dead.mos < 1.5);
    }

    #[test]
    fn delay_impairment_has_a_knee() {
        // 100 ms: Id = 2.4
        let q = estimate(Codec::G711, 0.0, Some(100.0));
        assert!(close(q.r_factor, 90.8, 1e-9));
        // 300 ms: Id = 7.2 + 0.11 * 122.7 = 20.697
        let q = estimate(Codec::G711, 0.0, Some(300.0));
        assert!(close(q.r_factor, 72.503, 1e-9), "{}", q.r_factor);
    }

    #[test]
    fn mos_mapping_bounds_and_garbage_inputs() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert!(close(
            mos_from_r(50.0),
            1.0 + 1.75 + 50.0 * -10.0 * 50.0 * 7e-6,
            1e-12
        ));
        let q = estimate(Codec::G711, f64::NAN, Some(f64::INFINITY));
        assert!(close(q.r_factor, 93.2, 1e-9));
        let q = estimate(
            Codec::Custom {
                ie: 500.0,
                bpl: -1.0,
            },
            2.0,
            Some(-3.0),
        );
        assert!(q.r_factor >= 0.0 && q.mos >= 1.0);
    }
}
