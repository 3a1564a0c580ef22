//! Mixing helpers for conferences and recording.
//!
//! [`mix`] sums N frames exactly in 32-bit and saturates once at the end (so the result does
//! not depend on the order of the inputs); [`add_saturating`] is the cheap two-input form.
//! Both use AVX2 when the CPU has it (runtime detection) and SSE2 or scalar code otherwise.
//! [`interleave_stereo`] builds a two-channel frame (e.g. caller left, callee right).

/// Samples per block of the portable N-way mixer (stack accumulator).
const BLOCK: usize = 64;

/// `out[i] = saturate(Σ inputs[j][i])`; inputs shorter than `out` count as silence there.
pub fn mix(inputs: &[&[i16]], out: &mut [i16]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 support was just checked; the kernel bounds-checks every input.
            unsafe { x86::mix_avx2(inputs, out) };
            return;
        }
    }
    mix_portable(inputs, out);
}

/// Portable N-way mix: 32-bit accumulation in blocks (vectorized by the compiler).
fn mix_portable(inputs: &[&[i16]], out: &mut [i16]) {
    let mut acc = [0i32; BLOCK];
    for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
        let start = b * BLOCK;
        let acc = &mut acc[..chunk.len()];
        acc.fill(0);
        for input in inputs {
            let avail = input.get(start..).unwrap_or(&[]);
            for (a, &s) in acc.iter_mut().zip(avail) {
                *a += i32::from(s);
            }
        }
        for (o, &a) in chunk.iter_mut().zip(acc.iter()) {
            *o = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
    }
}

/// `acc[i] = saturate(acc[i] + src[i])` over the common length.
pub fn add_saturating(acc: &mut [i16], src: &[i16]) {
    let n = acc.len().min(src.len());
    let (acc, src) = (&mut acc[..n], &src[..n]);
    #[cfg(target_arch = "x86_64")]
    let done = {
        // SAFETY: SSE2 is baseline on x86_64; the kernel stays within `n`.
        unsafe { x86::add_saturating_sse2(acc, src) }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (a, &s) in acc[done..].iter_mut().zip(&src[done..]) {
        *a = a.saturating_add(s);
    }
}

/// Interleaves two mono frames into `out` (`[l0, r0, l1, r1, …]`); the shorter channel is
/// padded with silence. Returns the number of samples written (2 × frames, limited by `out`).
pub fn interleave_stereo(left: &[i16], right: &[i16], out: &mut [i16]) -> usize {
    let frames = left.len().max(right.len()).min(out.len() / 2);
    for (i, pair) in out[..2 * frames].chunks_exact_mut(2).enumerate() {
        pair[0] = left.get(i).copied().unwrap_or(0);
        pair[1] = right.get(i).copied().unwrap_or(0);
    }
    2 * frames
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // intrinsics are safe inside `target_feature` fns on newer compilers
mod x86 {
    use std::arch::x86_64::*;

    /// AVX2 N-way mix: 16 samples at a time, two 8×i32 accumulators, one saturating pack.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn mix_avx2(inputs: &[&[i16]], out: &mut [i16]) {
        let whole = out.len() / 16 * 16;
        let mut at = 0;
        while at < whole {
            // SAFETY: each load reads 16 i16 from an input holding at least at + 16 samples;
            // the store writes 16 i16 inside `out`.
            unsafe {
                let mut lo = _mm256_setzero_si256();
                let mut hi = _mm256_setzero_si256();
                for input in inputs {
                    if input.len() >= at + 16 {
                        let v = _mm256_loadu_si256(input.as_ptr().add(at).cast());
                        lo = _mm256_add_epi32(lo, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
                        hi = _mm256_add_epi32(
                            hi,
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(v)),
                        );
                    } else {
                        // Partial or missing input for this block: add what exists.
                        let mut tmp = [0i16; 16];
                        if let Some(tail) = input.get(at..) {
                            tmp[..tail.len().min(16)].copy_from_slice(&tail[..tail.len().min(16)]);
                        }
                        let v = _mm256_loadu_si256(tmp.as_ptr().cast());
                        lo = _mm256_add_epi32(lo, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
                        hi = _mm256_add_epi32(
                            hi,
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(v)),
                        );
                    }
                }
                // Saturating pack, then undo AVX2's per-lane interleave.
                let packed = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(lo, hi));
                _mm256_storeu_si256(out.as_mut_ptr().add(at).cast(), packed);
            }
            at += 16;
        }
        if at < out.len() {
            let mut acc = [0i32; 16];
            for input in inputs {
                if let Some(tail) = input.get(at..) {
                    for (a, &s) in acc.iter_mut().zip(tail) {
                        *a += i32::from(s);
                    }
                }
            }
            for (o, &a) in out[at..].iter_mut().zip(&acc) {
                *o = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
        }
    }

    /// SSE2 saturating add of equal-length slices; returns the samples processed.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn add_saturating_sse2(acc: &mut [i16], src: &[i16]) -> usize {
        let whole = acc.len().min(src.len()) / 8 * 8;
        let mut at = 0;
        while at < whole {
            // SAFETY: 8 i16 are in bounds of both slices at `at`.
            unsafe {
                let a = _mm_loadu_si128(acc.as_ptr().add(at).cast());
                let s = _mm_loadu_si128(src.as_ptr().add(at).cast());
                _mm_storeu_si128(acc.as_mut_ptr().add(at).cast(), _mm_adds_epi16(a, s));
            }
            at += 8;
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsig::Rng;

    fn reference(inputs: &[&[i16]], n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let s: i32 = inputs
                    .iter()
                    .map(|x| i32::from(x.get(i).copied().unwrap_or(0)))
                    .sum();
                s.clamp(-32768, 32767) as i16
            })
            .collect()
    }

    #[test]
    fn mix_matches_exact_sum_with_saturation() {
        let mut rng = Rng::new(8);
        for n_inputs in [0usize, 1, 2, 3, 7] {
            for len in [0usize, 1, 15, 16, 17, 160, 333, 960] {
                let data: Vec<Vec<i16>> = (0..n_inputs)
                    .map(|k| {
                        // Inputs of varying length, some loud enough to saturate.
                        let l = len.saturating_sub(k * 5);
                        (0..l).map(|_| rng.next_u64() as i16).collect()
                    })
                    .collect();
                let inputs: Vec<&[i16]> = data.iter().map(Vec::as_slice).collect();
                let mut out = vec![1i16; len];
                mix(&inputs, &mut out);
                assert_eq!(
                    out,
                    reference(&inputs, len),
                    "{n_inputs} inputs, {len} samples"
                );
                let mut portable = vec![1i16; len];
                mix_portable(&inputs, &mut portable);
                assert_eq!(portable, out);
            }
        }
    }

    #[test]
    fn saturating_add_and_interleave() {
        let mut a: Vec<i16> = (0..21i32).map(|i| (30_000 - i * 3000) as i16).collect();
        let b: Vec<i16> = vec![5000; 21];
        let want: Vec<i16> = a.iter().map(|&x| x.saturating_add(5000)).collect();
        add_saturating(&mut a, &b);
        assert_eq!(a, want);
        assert_eq!(a[0], i16::MAX);
        let mut out = [9i16; 7];
        assert_eq!(interleave_stereo(&[1, 2, 3], &[-1], &mut out), 6);
        assert_eq!(out, [1, -1, 2, 0, 3, 0, 9]);
    }
}
