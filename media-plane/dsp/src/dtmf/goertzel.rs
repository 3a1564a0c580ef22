//! Eight Goertzel filters run in parallel SIMD lanes.
//!
//! The Goertzel recurrence `s[n] = x[n] + 2cos(ω)·s[n−1] − s[n−2]` is the same for every
//! frequency except for the coefficient, so eight frequencies map onto eight f32 lanes and
//! each input sample costs one broadcast, one multiply and two adds per lane group. On
//! x86_64 the lanes are two SSE registers (baseline, no detection needed); elsewhere a scalar
//! loop over an 8-element array is used.

/// The final two recurrence states of eight filters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GoertzelState {
    pub(crate) s1: [f32; 8],
    pub(crate) s2: [f32; 8],
}

/// Runs eight Goertzel filters with coefficients `coeff[k] = 2cos(ω_k)` over `x`.
pub(crate) fn goertzel8(x: &[f32], coeff: &[f32; 8]) -> GoertzelState {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { sse2::run(x, coeff) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scalar(x, coeff)
    }
}

/// Portable reference implementation (also used by the tests to check the SIMD one).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn scalar(x: &[f32], coeff: &[f32; 8]) -> GoertzelState {
    let mut st = GoertzelState::default();
    for &v in x {
        for (k, &c) in coeff.iter().enumerate() {
            let s = v + c * st.s1[k] - st.s2[k];
            st.s2[k] = st.s1[k];
            st.s1[k] = s;
        }
    }
    st
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // intrinsics are safe inside `target_feature` fns on newer compilers
mod sse2 {
    use super::GoertzelState;
    use std::arch::x86_64::*;

    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn run(x: &[f32], coeff: &[f32; 8]) -> GoertzelState {
        let mut st = GoertzelState::default();
        // SAFETY: every pointer below addresses 4 floats inside an 8-float array.
        unsafe {
            let c_lo = _mm_loadu_ps(coeff.as_ptr());
            let c_hi = _mm_loadu_ps(coeff.as_ptr().add(4));
            let (mut s1_lo, mut s1_hi) = (_mm_setzero_ps(), _mm_setzero_ps());
            let (mut s2_lo, mut s2_hi) = (_mm_setzero_ps(), _mm_setzero_ps());
            for &v in x {
                let xv = _mm_set1_ps(v);
                let n_lo = _mm_sub_ps(_mm_add_ps(xv, _mm_mul_ps(c_lo, s1_lo)), s2_lo);
                let n_hi = _mm_sub_ps(_mm_add_ps(xv, _mm_mul_ps(c_hi, s1_hi)), s2_hi);
                s2_lo = s1_lo;
                s2_hi = s1_hi;
                s1_lo = n_lo;
                s1_hi = n_hi;
            }
            _mm_storeu_ps(st.s1.as_mut_ptr(), s1_lo);
            _mm_storeu_ps(st.s1.as_mut_ptr().add(4), s1_hi);
            _mm_storeu_ps(st.s2.as_mut_ptr(), s2_lo);
            _mm_storeu_ps(st.s2.as_mut_ptr().add(4), s2_hi);
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_matches_scalar_exactly() {
        let x: Vec<f32> = (0..51)
            .map(|i| ((i * 7919) % 2001) as f32 - 1000.0)
            .collect();
        let coeff = [1.9, 1.5, 1.0, 0.5, 0.0, -0.5, -1.2, -1.9];
        let a = goertzel8(&x, &coeff);
        let b = scalar(&x, &coeff);
        assert_eq!(a.s1, b.s1);
        assert_eq!(a.s2, b.s2);
    }
}
