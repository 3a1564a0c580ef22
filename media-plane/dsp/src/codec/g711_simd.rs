//! Vector kernels for G.711 and their runtime selection (x86_64: AVX-512 VBMI, else AVX2,
//! else SSE2; the AVX-512 kernels live in `g711_avx512`).
//!
//! The SSE2 and AVX2 encoders find the segment with a float conversion instead of a per-lane
//! loop: a positive integer `m` converted to `f32` has the exponent `floor(log2 m)` in bits
//! 23..31 and the four bits below its leading one in bits 19..22, which is exactly "segment,
//! then four mantissa bits" once the exponent bias is subtracted. The SSE2 decoder runs the
//! same trick backwards: the 7-bit segment/mantissa code shifted to bit 19 plus a constant is
//! the float whose value is the centre of the decision interval. All integers involved are
//! below 2^24, so every conversion is exact. The AVX2 decoder uses byte-table lookups and
//! a multiply instead (see `decode_avx2`).
//!
//! Each kernel handles whole blocks (16 samples for SSE2, 32 for AVX2, 32 or 64 for
//! AVX-512), hands a remainder to the next narrower kernel, and returns how many samples it
//! processed; the caller finishes the tail with scalar code.

/// One implementation of the G.711 batch functions. Production code uses [`Kernel::best`];
/// tests and benchmarks force each one through the `*_with` functions of `g711`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Arithmetic scalar code, one sample at a time (every CPU).
    Scalar,
    /// SSE2, 16 samples per block (every x86_64 CPU).
    Sse2,
    /// AVX2, 32 samples per block (a remaining 16-sample block goes through SSE2).
    Avx2,
    /// AVX-512 F + BW + VBMI, 64 codes per decode block and 32 samples per encode block;
    /// what remains goes through AVX2. Needs a build with rustc ≥ 1.89.
    Avx512,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 4] = [Kernel::Scalar, Kernel::Sse2, Kernel::Avx2, Kernel::Avx512];

    /// Whether this build has the kernel and this CPU can run it.
    #[must_use]
    pub fn available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(all(target_arch = "x86_64", warden_avx512))]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vbmi")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[allow(unreachable_patterns)] // not reachable on x86_64 with AVX-512 built in
            _ => false,
        }
    }

    /// The fastest kernel available (feature detection is cached by the standard library).
    #[must_use]
    pub fn best() -> Kernel {
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.available())
            .unwrap_or(Kernel::Scalar)
    }
}

/// Encodes as many leading samples as `kernel` handles in whole blocks; returns that count
/// (the caller finishes the tail with scalar code). An unavailable kernel processes nothing.
pub(crate) fn encode(kernel: Kernel, pcm: &[i16], out: &mut [u8], alaw: bool) -> usize {
    if !kernel.available() {
        return 0;
    }
    let n = pcm.len().min(out.len());
    let (pcm, out) = (&pcm[..n], &mut out[..n]);
    match kernel {
        Kernel::Scalar => 0,
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => {
            let n = n & !15;
            // SAFETY: SSE2 is part of the x86_64 baseline; the kernel reads `pcm[..n]` and
            // writes `out[..n]`, equal lengths and a multiple of 16 as it requires.
            unsafe { x86::encode_sse2(&pcm[..n], &mut out[..n], alaw) };
            n
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            let wide = n & !31;
            // SAFETY: `available` checked AVX2; equal lengths, a multiple of 32 as the kernel
            // requires. A remaining 16-sample block goes through SSE2.
            unsafe { x86::encode_avx2(&pcm[..wide], &mut out[..wide], alaw) };
            wide + encode(Kernel::Sse2, &pcm[wide..], &mut out[wide..], alaw)
        }
        #[cfg(all(target_arch = "x86_64", warden_avx512))]
        Kernel::Avx512 => {
            let wide = n - n % super::g711_avx512::ENCODE_BLOCK;
            // SAFETY: `available` checked AVX-512 F/BW/VBMI, the kernel's target features (it
            // is otherwise safe); equal lengths, a multiple of its block as it expects.
            unsafe { super::g711_avx512::encode(&pcm[..wide], &mut out[..wide], alaw) };
            wide + encode(Kernel::Avx2, &pcm[wide..], &mut out[wide..], alaw)
        }
        #[allow(unreachable_patterns)]
        _ => 0,
    }
}

/// Decodes as many leading codes as `kernel` handles in whole blocks; returns that count.
pub(crate) fn decode(kernel: Kernel, codes: &[u8], out: &mut [i16], alaw: bool) -> usize {
    if !kernel.available() {
        return 0;
    }
    let n = codes.len().min(out.len());
    let (codes, out) = (&codes[..n], &mut out[..n]);
    match kernel {
        Kernel::Scalar => 0,
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => {
            let n = n & !15;
            // SAFETY: SSE2 is part of the x86_64 baseline; equal lengths, a multiple of 16.
            unsafe { x86::decode_sse2(&codes[..n], &mut out[..n], alaw) };
            n
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            let wide = n & !31;
            // SAFETY: `available` checked AVX2; equal lengths, a multiple of 32 as the kernel
            // requires. A remaining 16-code block goes through SSE2.
            unsafe { x86::decode_avx2(&codes[..wide], &mut out[..wide], alaw) };
            wide + decode(Kernel::Sse2, &codes[wide..], &mut out[wide..], alaw)
        }
        #[cfg(all(target_arch = "x86_64", warden_avx512))]
        Kernel::Avx512 => {
            let wide = n - n % super::g711_avx512::DECODE_BLOCK;
            // SAFETY: `available` checked AVX-512 F/BW/VBMI, the kernel's target features (it
            // is otherwise safe); equal lengths, a multiple of its block as it expects.
            unsafe { super::g711_avx512::decode(&codes[..wide], &mut out[..wide], alaw) };
            wide + decode(Kernel::Avx2, &codes[wide..], &mut out[wide..], alaw)
        }
        #[allow(unreachable_patterns)]
        _ => 0,
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // intrinsics are safe inside `target_feature` fns on newer compilers
mod x86 {
    use std::arch::x86_64::*;

    /// Float bits of the decoded interval centre for code 0: exponent 7, half-step bit set.
    const DECODE_BIAS: i32 = (134 << 23) | (1 << 18);
    /// Float exponent bias plus the segment offset, pre-shifted to bit 4 (µ-law: 127 + 5).
    const ULAW_EXP_OFFSET: i32 = 132 << 4;
    /// Same for A-law segments 1..=7 (127 + 3).
    const ALAW_EXP_OFFSET: i32 = 130 << 4;

    /// Segment/mantissa (7 bits, in i32 lanes) of four non-negative magnitudes.
    #[inline(always)]
    unsafe fn seg_mant_sse(mag32: __m128i, offset: i32) -> __m128i {
        unsafe {
            let bits = _mm_castps_si128(_mm_cvtepi32_ps(mag32));
            _mm_sub_epi32(_mm_srli_epi32::<19>(bits), _mm_set1_epi32(offset))
        }
    }

    /// Eight 7-bit codes (i16 lanes) from eight 16-bit samples, before sign and law mask.
    #[inline(always)]
    unsafe fn encode8_sse(x: __m128i, alaw: bool) -> __m128i {
        unsafe {
            let zero = _mm_setzero_si128();
            // One's-complement magnitude: x ^ (x >> 15).
            let ones = _mm_xor_si128(x, _mm_srai_epi16::<15>(x));
            if alaw {
                let mag = _mm_srli_epi16::<4>(ones);
                let lo = seg_mant_sse(_mm_unpacklo_epi16(mag, zero), ALAW_EXP_OFFSET);
                let hi = seg_mant_sse(_mm_unpackhi_epi16(mag, zero), ALAW_EXP_OFFSET);
                let big = _mm_packs_epi32(lo, hi);
                // Segment 0 (magnitude < 16) is the magnitude itself.
                let small = _mm_cmplt_epi16(mag, _mm_set1_epi16(16));
                let seg = _mm_or_si128(_mm_and_si128(small, mag), _mm_andnot_si128(small, big));
                let sign = _mm_andnot_si128(_mm_srai_epi16::<15>(x), _mm_set1_epi16(0x80));
                _mm_xor_si128(_mm_or_si128(seg, sign), _mm_set1_epi16(0x55))
            } else {
                let biased = _mm_min_epi16(
                    _mm_add_epi16(_mm_srli_epi16::<2>(ones), _mm_set1_epi16(33)),
                    _mm_set1_epi16(0x1FFF),
                );
                let lo = seg_mant_sse(_mm_unpacklo_epi16(biased, zero), ULAW_EXP_OFFSET);
                let hi = seg_mant_sse(_mm_unpackhi_epi16(biased, zero), ULAW_EXP_OFFSET);
                let seg = _mm_xor_si128(_mm_packs_epi32(lo, hi), _mm_set1_epi16(0x7F));
                let sign = _mm_andnot_si128(_mm_srai_epi16::<15>(x), _mm_set1_epi16(0x80));
                _mm_or_si128(seg, sign)
            }
        }
    }

    /// SSE2 encoder; `pcm.len() == out.len()`, a multiple of 16.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn encode_sse2(pcm: &[i16], out: &mut [u8], alaw: bool) {
        for (src, dst) in pcm.chunks_exact(16).zip(out.chunks_exact_mut(16)) {
            // SAFETY: `src` holds 16 i16 (32 bytes) and `dst` 16 bytes; unaligned access.
            unsafe {
                let a = _mm_loadu_si128(src.as_ptr().cast());
                let b = _mm_loadu_si128(src.as_ptr().add(8).cast());
                let codes = _mm_packus_epi16(encode8_sse(a, alaw), encode8_sse(b, alaw));
                _mm_storeu_si128(dst.as_mut_ptr().cast(), codes);
            }
        }
    }

    /// Interval centres (i32 lanes) of four 7-bit segment/mantissa codes.
    #[inline(always)]
    unsafe fn interval_centre_sse(c32: __m128i) -> __m128i {
        unsafe {
            let bits = _mm_add_epi32(_mm_slli_epi32::<19>(c32), _mm_set1_epi32(DECODE_BIAS));
            _mm_cvttps_epi32(_mm_castsi128_ps(bits))
        }
    }

    /// Eight decoded samples (i16 lanes) from eight codes zero-extended to i16 lanes.
    #[inline(always)]
    unsafe fn decode8_sse(codes: __m128i, alaw: bool) -> __m128i {
        unsafe {
            let zero = _mm_setzero_si128();
            let (c, positive) = if alaw {
                let c = _mm_xor_si128(codes, _mm_set1_epi16(0x55));
                let positive = _mm_cmpgt_epi16(_mm_and_si128(c, _mm_set1_epi16(0x80)), zero);
                (_mm_and_si128(c, _mm_set1_epi16(0x7F)), positive)
            } else {
                let c = _mm_xor_si128(codes, _mm_set1_epi16(0xFF));
                let positive = _mm_cmpeq_epi16(_mm_and_si128(c, _mm_set1_epi16(0x80)), zero);
                (_mm_and_si128(c, _mm_set1_epi16(0x7F)), positive)
            };
            // A-law segment 0 is decoded as segment 1 minus 256 (same step size).
            let (c, adjust) = if alaw {
                let seg0 = _mm_cmplt_epi16(c, _mm_set1_epi16(16));
                (
                    _mm_or_si128(c, _mm_and_si128(seg0, _mm_set1_epi16(16))),
                    _mm_and_si128(seg0, _mm_set1_epi16(256)),
                )
            } else {
                (c, _mm_set1_epi16(0x84))
            };
            let lo = interval_centre_sse(_mm_unpacklo_epi16(c, zero));
            let hi = interval_centre_sse(_mm_unpackhi_epi16(c, zero));
            // Values are at most 32256 + 256, so this pack does not saturate.
            let mag = _mm_sub_epi16(_mm_packs_epi32(lo, hi), adjust);
            // Negate the negative lanes: (m ^ s) - s with s = all ones there.
            let s = _mm_xor_si128(positive, _mm_set1_epi16(-1));
            _mm_sub_epi16(_mm_xor_si128(mag, s), s)
        }
    }

    /// SSE2 decoder; `codes.len() == out.len()`, a multiple of 16.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn decode_sse2(codes: &[u8], out: &mut [i16], alaw: bool) {
        for (src, dst) in codes.chunks_exact(16).zip(out.chunks_exact_mut(16)) {
            // SAFETY: `src` holds 16 bytes and `dst` 16 i16 (32 bytes); unaligned access.
            unsafe {
                let zero = _mm_setzero_si128();
                let bytes = _mm_loadu_si128(src.as_ptr().cast());
                let a = decode8_sse(_mm_unpacklo_epi8(bytes, zero), alaw);
                let b = decode8_sse(_mm_unpackhi_epi8(bytes, zero), alaw);
                _mm_storeu_si128(dst.as_mut_ptr().cast(), a);
                _mm_storeu_si128(dst.as_mut_ptr().add(8).cast(), b);
            }
        }
    }

    /// Codes (in 16-bit lanes) of sixteen 16-bit samples.
    ///
    /// The float conversion needs 32-bit lanes; instead of widening with shuffles, the even
    /// samples are masked and the odd ones shifted down within each 32-bit lane, and the two
    /// results are merged back into their 16-bit halves (the float fields are < 2^16).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn encode16_avx2(x: __m256i, alaw: bool) -> __m256i {
        // SAFETY: AVX2 instructions, available per this function's contract; no memory access.
        unsafe {
            let negative = _mm256_srai_epi16::<15>(x);
            // One's-complement magnitude: x ^ (x >> 15).
            let ones = _mm256_xor_si256(x, negative);
            let positive_bit = _mm256_andnot_si256(negative, _mm256_set1_epi16(0x80));
            let value = if alaw {
                _mm256_srli_epi16::<4>(ones)
            } else {
                _mm256_min_epi16(
                    _mm256_add_epi16(_mm256_srli_epi16::<2>(ones), _mm256_set1_epi16(33)),
                    _mm256_set1_epi16(0x1FFF),
                )
            };
            let even = _mm256_and_si256(value, _mm256_set1_epi32(0xFFFF));
            let odd = _mm256_srli_epi32::<16>(value);
            let even_bits = _mm256_castps_si256(_mm256_cvtepi32_ps(even));
            let odd_bits = _mm256_castps_si256(_mm256_cvtepi32_ps(odd));
            // Float bits 19..31 (exponent and top four mantissa bits) of each sample, in the
            // sample's own 16-bit lane.
            let fields = _mm256_or_si256(
                _mm256_srli_epi32::<19>(even_bits),
                _mm256_and_si256(
                    _mm256_srli_epi32::<3>(odd_bits),
                    _mm256_set1_epi32(0xFFFF_0000u32 as i32),
                ),
            );
            if alaw {
                let big = _mm256_sub_epi16(fields, _mm256_set1_epi16(ALAW_EXP_OFFSET as i16));
                // Segment 0 (magnitude < 16) is the magnitude itself.
                let small = _mm256_cmpgt_epi16(_mm256_set1_epi16(16), value);
                let seg = _mm256_blendv_epi8(big, value, small);
                _mm256_xor_si256(_mm256_or_si256(seg, positive_bit), _mm256_set1_epi16(0x55))
            } else {
                // 0x7F ^ (fields − offset) = (0x7F + offset) − fields: the field is at least
                // the offset and the code at most 0x7F, so nothing borrows across lanes.
                let inverted =
                    _mm256_sub_epi16(_mm256_set1_epi16((0x7F + ULAW_EXP_OFFSET) as i16), fields);
                _mm256_or_si256(inverted, positive_bit)
            }
        }
    }

    /// AVX2 encoder; `pcm.len() == out.len()`, a multiple of 32.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn encode_avx2(pcm: &[i16], out: &mut [u8], alaw: bool) {
        for (src, dst) in pcm.chunks_exact(32).zip(out.chunks_exact_mut(32)) {
            // SAFETY: AVX2 per this function's contract; `src` holds 32 i16 (two 32-byte
            // loads) and `dst` 32 bytes (one store); unaligned access.
            unsafe {
                let a = encode16_avx2(_mm256_loadu_si256(src.as_ptr().cast()), alaw);
                let b = encode16_avx2(_mm256_loadu_si256(src.as_ptr().add(16).cast()), alaw);
                // Codes are < 256, so the pack does not saturate; it interleaves the 128-bit
                // lanes of `a` and `b`, which the qword permute puts back in order.
                let bytes = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(a, b));
                _mm256_storeu_si256(dst.as_mut_ptr().cast(), bytes);
            }
        }
    }

    /// AVX2 decoder tables for one law, each a 16-entry `pshufb` table indexed by a raw code
    /// nibble (the law's bit inversion is folded into the indexing).
    struct DecodeTables {
        /// `8·step + 132` by low nibble (always ≥ 128: fits a byte).
        base: [i8; 16],
        /// Signed multiplier pair (`p1`, `p2`) by high nibble: `value = base·(p1 + p2) − adj`.
        p1: [i8; 16],
        p2: [i8; 16],
    }

    const fn decode_tables(alaw: bool) -> DecodeTables {
        let invert = if alaw { 0x5 } else { 0xF };
        let mut t = DecodeTables {
            base: [0; 16],
            p1: [0; 16],
            p2: [0; 16],
        };
        let mut i = 0;
        while i < 16 {
            t.base[i] = (8 * ((i ^ invert) as i32) + 132) as u8 as i8;
            let c = i ^ invert;
            let seg = (c & 7) as u32;
            // µ-law sets the sign bit for negative values, A-law for positive ones.
            let negative = (c & 8 != 0) != alaw;
            let (p1, p2): (i32, i32) = if alaw {
                // Segment 0 is 2·base − 256: (1, 1) with the adjustment `b & 0x8001` != 0;
                // every other pair has an even `p1` and a non-negative `p2`, so no adjustment.
                match (seg, negative) {
                    (0, false) => (1, 1),
                    (0, true) => (-1, -1),
                    (7, false) => (64, 64),
                    (_, false) => (1 << seg, 0),
                    (_, true) => (-(1 << seg), 0),
                }
            } else {
                // `p2` is never 0 and carries the sign, for the ∓132 adjustment by `psignw`.
                let (a, b) = if seg == 0 {
                    (0, 1)
                } else {
                    (1 << (seg - 1), 1 << (seg - 1))
                };
                if negative {
                    (-a, -b)
                } else {
                    (a, b)
                }
            };
            t.p1[i] = p1 as i8;
            t.p2[i] = p2 as i8;
            i += 1;
        }
        t
    }

    static ULAW_DECODE: DecodeTables = decode_tables(false);
    static ALAW_DECODE: DecodeTables = decode_tables(true);

    /// AVX2 decoder; `codes.len() == out.len()`, a multiple of 32.
    ///
    /// Every decoded value is `±(base(step) << segment)` with `base = 8·step + 132`, minus
    /// 132 towards zero for µ-law, and minus 256 towards zero for A-law segment 0 (which is
    /// decoded as segment 1). `pshufb` looks up the base by the code's low nibble and a pair of
    /// signed multipliers `(p1, p2)` by its high nibble, `pmaddubsw` on the interleaved bytes
    /// (base, base) × (p1, p2) forms `base·(p1 + p2)` in 16 bits (the pair splits +128, which
    /// is not an `i8`), and `psignw` with the multiplier word gives the signed adjustment.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn decode_avx2(codes: &[u8], out: &mut [i16], alaw: bool) {
        let t = if alaw { &ALAW_DECODE } else { &ULAW_DECODE };
        // SAFETY (whole block): AVX2 instructions, available per this function's contract;
        // the table loads read 16 bytes from 16-byte arrays, and the loop's accesses are
        // commented there.
        unsafe {
            let table =
                |t: &[i8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast()));
            let (base_t, p1_t, p2_t) = (table(&t.base), table(&t.p1), table(&t.p2));
            let nibble = _mm256_set1_epi8(0x0F);
            let (adjust, adjust_sel) = if alaw {
                (_mm256_set1_epi16(256), _mm256_set1_epi16(0x8001u16 as i16))
            } else {
                (_mm256_set1_epi16(132), _mm256_set1_epi16(-1))
            };
            for (src, dst) in codes.chunks_exact(32).zip(out.chunks_exact_mut(32)) {
                // `src` is 32 bytes, `dst` 32 i16 (two 32-byte stores); unaligned access.
                let raw = _mm256_loadu_si256(src.as_ptr().cast());
                // Qwords 0, 2, 1, 3: the in-lane unpacks below then emit samples in order.
                let c = _mm256_permute4x64_epi64::<0b11_01_10_00>(raw);
                let base = _mm256_shuffle_epi8(base_t, _mm256_and_si256(c, nibble));
                let high = _mm256_and_si256(_mm256_srli_epi16::<4>(c), nibble);
                let p1 = _mm256_shuffle_epi8(p1_t, high);
                let p2 = _mm256_shuffle_epi8(p2_t, high);
                let halves = [
                    (
                        _mm256_unpacklo_epi8(base, base),
                        _mm256_unpacklo_epi8(p1, p2),
                    ),
                    (
                        _mm256_unpackhi_epi8(base, base),
                        _mm256_unpackhi_epi8(p1, p2),
                    ),
                ];
                for (k, (b, p)) in halves.into_iter().enumerate() {
                    // |base·(p1 + p2)| ≤ 252·128 = 32256: `pmaddubsw` does not saturate.
                    let product = _mm256_maddubs_epi16(b, p);
                    let adj = _mm256_sign_epi16(adjust, _mm256_and_si256(p, adjust_sel));
                    let value = _mm256_sub_epi16(product, adj);
                    _mm256_storeu_si256(dst.as_mut_ptr().add(16 * k).cast(), value);
                }
            }
        }
    }
}
