//! Exhaustive G.711 tests against an independent reference built from the segment tables.

use super::*;
use crate::codec::g711_simd;

/// Reference quantizer written from the G.711 segment tables (decision boundaries and step
/// sizes per segment), with no bit tricks, to check the fast paths against.
mod reference {
    /// µ-law segment starts in the 14-bit magnitude domain (segment 0's first interval holds
    /// only 0, so its nominal start is −1) and the step size of each segment.
    const ULAW_START: [i32; 8] = [-1, 31, 95, 223, 479, 991, 2015, 4063];
    const ULAW_STEP: [i32; 8] = [2, 4, 8, 16, 32, 64, 128, 256];
    /// A-law segment starts in the 13-bit magnitude domain and step sizes.
    const ALAW_START: [i32; 8] = [0, 32, 64, 128, 256, 512, 1024, 2048];
    const ALAW_STEP: [i32; 8] = [2, 2, 4, 8, 16, 32, 64, 128];

    fn ones_magnitude(x: i16, shift: u32) -> i32 {
        let x = i32::from(x);
        if x < 0 {
            (-x - 1) >> shift
        } else {
            x >> shift
        }
    }

    fn segment(mag: i32, starts: &[i32; 8]) -> usize {
        let mut seg = 0;
        for (i, &s) in starts.iter().enumerate() {
            if mag >= s {
                seg = i;
            }
        }
        seg
    }

    pub fn ulaw_encode(x: i16) -> u8 {
        let mag = ones_magnitude(x, 2).min(8158);
        let seg = segment(mag, &ULAW_START);
        let step_index = ((mag - ULAW_START[seg]) / ULAW_STEP[seg]).min(15);
        let sign = if x >= 0 { 0x80 } else { 0 };
        // µ-law transmits the complement of sign/segment/step.
        !((if sign == 0x80 { 0 } else { 0x80 }) | (seg as i32) << 4 | step_index) as u8
    }

    pub fn ulaw_decode(code: u8) -> i16 {
        let c = i32::from(!code);
        let seg = ((c >> 4) & 7) as usize;
        let step_index = c & 15;
        let centre = ULAW_START[seg] + ULAW_STEP[seg] * step_index + ULAW_STEP[seg] / 2;
        let v = centre * 4;
        (if c & 0x80 != 0 { -v } else { v }) as i16
    }

    pub fn alaw_encode(x: i16) -> u8 {
        let mag = ones_magnitude(x, 3);
        let seg = segment(mag, &ALAW_START);
        let step_index = (mag - ALAW_START[seg]) / ALAW_STEP[seg];
        let sign = if x >= 0 { 0x80 } else { 0 };
        ((sign | (seg as i32) << 4 | step_index) ^ 0x55) as u8
    }

    pub fn alaw_decode(code: u8) -> i16 {
        let c = i32::from(code ^ 0x55);
        let seg = ((c >> 4) & 7) as usize;
        let step_index = c & 15;
        let centre = ALAW_START[seg] + ALAW_STEP[seg] * step_index + ALAW_STEP[seg] / 2;
        let v = centre * 8;
        (if c & 0x80 != 0 { v } else { -v }) as i16
    }
}

fn all_samples() -> Vec<i16> {
    (i16::MIN..=i16::MAX).collect()
}

#[test]
fn ulaw_encode_matches_reference_for_every_input() {
    let pcm = all_samples();
    let mut simd = vec![0u8; pcm.len()];
    let mut table = vec![0u8; pcm.len()];
    assert_eq!(encode_ulaw(&pcm, &mut simd), 65536);
    encode_ulaw_table(&pcm, &mut table);
    for (i, &x) in pcm.iter().enumerate() {
        let want = reference::ulaw_encode(x);
        assert_eq!(ulaw_encode_sample(x), want, "scalar, x={x}");
        assert_eq!(simd[i], want, "vector, x={x}");
        assert_eq!(table[i], want, "table, x={x}");
    }
}

#[test]
fn alaw_encode_matches_reference_for_every_input() {
    let pcm = all_samples();
    let mut simd = vec![0u8; pcm.len()];
    let mut table = vec![0u8; pcm.len()];
    encode_alaw(&pcm, &mut simd);
    encode_alaw_table(&pcm, &mut table);
    for (i, &x) in pcm.iter().enumerate() {
        let want = reference::alaw_encode(x);
        assert_eq!(alaw_encode_sample(x), want, "scalar, x={x}");
        assert_eq!(simd[i], want, "vector, x={x}");
        assert_eq!(table[i], want, "table, x={x}");
    }
}

#[test]
fn decoders_match_reference_for_every_code() {
    // Repeat the 256 codes with an odd offset so vector blocks and scalar tails both see all.
    let codes: Vec<u8> = (0..256 * 3 + 7).map(|i| (i % 256) as u8).collect();
    let mut u = vec![0i16; codes.len()];
    let mut a = vec![0i16; codes.len()];
    let mut ut = vec![0i16; codes.len()];
    let mut at = vec![0i16; codes.len()];
    decode_ulaw(&codes, &mut u);
    decode_alaw(&codes, &mut a);
    decode_ulaw_table(&codes, &mut ut);
    decode_alaw_table(&codes, &mut at);
    for (i, &c) in codes.iter().enumerate() {
        assert_eq!(
            ulaw_decode_sample(c),
            reference::ulaw_decode(c),
            "µ scalar {c:#04x}"
        );
        assert_eq!(u[i], reference::ulaw_decode(c), "µ vector {c:#04x}");
        assert_eq!(ut[i], reference::ulaw_decode(c), "µ table {c:#04x}");
        assert_eq!(
            alaw_decode_sample(c),
            reference::alaw_decode(c),
            "A scalar {c:#04x}"
        );
        assert_eq!(a[i], reference::alaw_decode(c), "A vector {c:#04x}");
        assert_eq!(at[i], reference::alaw_decode(c), "A table {c:#04x}");
    }
}

#[test]
fn known_values() {
    // (linear, µ-law code, A-law code)
    let enc = [
        (0i16, 0xFFu8, 0xD5u8),
        (-1, 0x7F, 0x55),
        (1000, 0xCE, 0xFA),
        (-1000, 0x4E, 0x7A),
        (i16::MAX, 0x80, 0xAA),
        (i16::MIN, 0x00, 0x2A),
    ];
    for (x, mu, a) in enc {
        assert_eq!(ulaw_encode_sample(x), mu, "µ-law of {x}");
        assert_eq!(alaw_encode_sample(x), a, "A-law of {x}");
    }
    // (code, µ-law value, A-law value)
    let dec = [
        (0x00u8, -32124i16, -5504i16),
        (0x80, 32124, 5504),
        (0xFF, 0, 848),
        (0x7F, 0, -848),
        (0xD5, 716, 8),
        (0x55, -716, -8),
        (0xAA, 5372, 32256),
        (0x2A, -5372, -32256),
    ];
    for (c, mu, a) in dec {
        assert_eq!(ulaw_decode_sample(c), mu, "µ-law code {c:#04x}");
        assert_eq!(alaw_decode_sample(c), a, "A-law code {c:#04x}");
    }
}

#[test]
fn decode_then_encode_is_identity_on_codes() {
    for c in 0..=255u8 {
        let u = ulaw_encode_sample(ulaw_decode_sample(c));
        // µ-law has two codes for zero (0x7F and 0xFF); both decode to 0 which encodes to 0xFF.
        if c == 0x7F {
            assert_eq!(u, 0xFF);
        } else {
            assert_eq!(u, c, "µ-law {c:#04x}");
        }
        assert_eq!(
            alaw_encode_sample(alaw_decode_sample(c)),
            c,
            "A-law {c:#04x}"
        );
    }
}

#[test]
fn short_and_mismatched_buffers() {
    let pcm = [100i16; 40];
    let mut out = [0u8; 20];
    assert_eq!(encode_ulaw(&pcm, &mut out), 20);
    assert!(out.iter().all(|&c| c == ulaw_encode_sample(100)));
    let mut pcm_out = [0i16; 3];
    assert_eq!(decode_alaw(&[0xD5; 10], &mut pcm_out), 3);
    assert_eq!(pcm_out, [8, 8, 8]);
    assert_eq!(encode_alaw(&[], &mut out), 0);
}

/// The kernels this build and CPU can run; the others are named on stderr as not tested.
fn runnable_kernels() -> Vec<Kernel> {
    Kernel::ALL
        .into_iter()
        .filter(|k| {
            let ok = k.available();
            if !ok {
                eprintln!("G.711 kernel {k:?} is not available here and is not tested");
            }
            ok
        })
        .collect()
}

/// Index of the first difference between two equally long slices.
fn first_mismatch<T: PartialEq>(got: &[T], want: &[T]) -> Option<usize> {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).position(|(g, w)| g != w)
}

/// Every code four times, in two orders, so each vector block sees a mix of codes: 1024
/// codes, a multiple of every kernel's block size.
fn all_codes() -> Vec<u8> {
    (0..512usize)
        .map(|i| (i % 256) as u8)
        .chain((0..512usize).map(|i| (i * 167 % 256) as u8))
        .collect()
}

#[test]
fn best_kernel_is_the_fastest_available() {
    let best = Kernel::best();
    assert!(best.available());
    let faster: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .skip_while(|&k| k != best)
        .skip(1)
        .collect();
    assert!(
        faster.iter().all(|k| !k.available()),
        "{best:?} < {faster:?}"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(Kernel::Avx2.available());
    }
}

#[test]
fn each_vector_kernel_encodes_every_input_bit_exactly() {
    let pcm = all_samples();
    let want_u: Vec<u8> = pcm.iter().map(|&x| reference::ulaw_encode(x)).collect();
    let want_a: Vec<u8> = pcm.iter().map(|&x| reference::alaw_encode(x)).collect();
    for kernel in runnable_kernels() {
        if kernel == Kernel::Scalar {
            continue;
        }
        // The kernel alone, no scalar tail: 65 536 is a multiple of every block size, so the
        // whole input must go through the vector code.
        let mut out = vec![0u8; pcm.len()];
        assert_eq!(g711_simd::encode(kernel, &pcm, &mut out, false), pcm.len());
        if let Some(i) = first_mismatch(&out, &want_u) {
            panic!(
                "{kernel:?} µ-law x={}: {:#04x} != {:#04x}",
                pcm[i], out[i], want_u[i]
            );
        }
        let mut out = vec![0u8; pcm.len()];
        assert_eq!(g711_simd::encode(kernel, &pcm, &mut out, true), pcm.len());
        if let Some(i) = first_mismatch(&out, &want_a) {
            panic!(
                "{kernel:?} A-law x={}: {:#04x} != {:#04x}",
                pcm[i], out[i], want_a[i]
            );
        }
    }
}

#[test]
fn each_vector_kernel_decodes_every_code_bit_exactly() {
    let codes = all_codes();
    let want_u: Vec<i16> = codes.iter().map(|&c| reference::ulaw_decode(c)).collect();
    let want_a: Vec<i16> = codes.iter().map(|&c| reference::alaw_decode(c)).collect();
    for kernel in runnable_kernels() {
        if kernel == Kernel::Scalar {
            continue;
        }
        let mut out = vec![0i16; codes.len()];
        assert_eq!(
            g711_simd::decode(kernel, &codes, &mut out, false),
            codes.len()
        );
        if let Some(i) = first_mismatch(&out, &want_u) {
            panic!(
                "{kernel:?} µ-law {:#04x}: {} != {}",
                codes[i], out[i], want_u[i]
            );
        }
        let mut out = vec![0i16; codes.len()];
        assert_eq!(
            g711_simd::decode(kernel, &codes, &mut out, true),
            codes.len()
        );
        if let Some(i) = first_mismatch(&out, &want_a) {
            panic!(
                "{kernel:?} A-law {:#04x}: {} != {}",
                codes[i], out[i], want_a[i]
            );
        }
    }
}

#[test]
fn each_kernel_handles_every_length_and_offset() {
    // Inputs spread over all segments; every length 0..=200 (tails of every block size,
    // including the AVX-512 → AVX2 → scalar chain) at offsets that break alignment.
    let pcm: Vec<i16> = (0..300u32)
        .map(|i| (i.wrapping_mul(40_503) >> 3) as u16 as i16)
        .collect();
    let codes: Vec<u8> = (0..300u32).map(|i| (i * 73 % 256) as u8).collect();
    for kernel in runnable_kernels() {
        for offset in [0usize, 1, 3, 17] {
            for len in 0..=200usize {
                let src = &pcm[offset..offset + len];
                // One spare slot checks that nothing is written past the processed samples.
                let mut u = vec![0xA5u8; len + 1];
                let mut a = vec![0xA5u8; len + 1];
                assert_eq!(encode_ulaw_with(kernel, src, &mut u[..len]), len);
                assert_eq!(encode_alaw_with(kernel, src, &mut a[..len]), len);
                for (i, &x) in src.iter().enumerate() {
                    assert_eq!(
                        u[i],
                        reference::ulaw_encode(x),
                        "{kernel:?} µ len {len} @{i}"
                    );
                    assert_eq!(
                        a[i],
                        reference::alaw_encode(x),
                        "{kernel:?} A len {len} @{i}"
                    );
                }
                assert_eq!(
                    (u[len], a[len]),
                    (0xA5, 0xA5),
                    "{kernel:?} wrote past {len}"
                );

                let src = &codes[offset..offset + len];
                let mut u = vec![0x5A5Ai16; len + 1];
                let mut a = vec![0x5A5Ai16; len + 1];
                assert_eq!(decode_ulaw_with(kernel, src, &mut u[..len]), len);
                assert_eq!(decode_alaw_with(kernel, src, &mut a[..len]), len);
                for (i, &c) in src.iter().enumerate() {
                    assert_eq!(
                        u[i],
                        reference::ulaw_decode(c),
                        "{kernel:?} µ len {len} @{i}"
                    );
                    assert_eq!(
                        a[i],
                        reference::alaw_decode(c),
                        "{kernel:?} A len {len} @{i}"
                    );
                }
                assert_eq!(
                    (u[len], a[len]),
                    (0x5A5A, 0x5A5A),
                    "{kernel:?} wrote past {len}"
                );
            }
        }
    }
}

#[test]
fn vector_kernels_leave_only_the_tail_to_scalar_code() {
    // A 20 ms frame at 8 kHz (160 samples) and an odd length: each kernel covers whole blocks.
    let pcm = [1234i16; 173];
    let mut out = [0u8; 173];
    for kernel in runnable_kernels() {
        // AVX-512 covers 32-sample encode and 64-code decode blocks and hands the rest to
        // AVX2 (16-sample blocks), so every vector kernel stops at 160.
        let expected = if kernel == Kernel::Scalar { 0 } else { 160 };
        assert_eq!(
            g711_simd::encode(kernel, &pcm[..160], &mut out[..160], false),
            expected
        );
        assert_eq!(g711_simd::encode(kernel, &pcm, &mut out, true), expected);
        let mut samples = [0i16; 173];
        let codes = [0x33u8; 173];
        assert_eq!(
            g711_simd::decode(kernel, &codes, &mut samples, false),
            expected
        );
    }
}
