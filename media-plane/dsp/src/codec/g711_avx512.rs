//! AVX-512 G.711 kernels (F + BW + VBMI), built only with rustc ≥ 1.89 (see `build.rs`).
//!
//! Both directions are byte-table lookups with `vpermi2b`, which indexes 128 bytes held in two
//! registers with the low seven bits of every byte lane:
//!
//! * **Decode**: the 16-bit result of each of the 256 codes is split into a low-byte and a
//!   high-byte table. Each plane is two 128-entry lookups (codes with the top bit clear, and
//!   set) blended by the code's top bit; a two-source byte permute then interleaves the planes
//!   into 16-bit samples in order. The tables come from the same `const` builder as the
//!   scalar lookup tables, so they are right by construction and the tests prove it.
//! * **Encode** stays in 16-bit lanes: the top seven bits of the magnitude index a table of
//!   the segment's shift count and one of the segment's code bits, a per-lane variable shift
//!   (`vpsrlvw`) brings the four step bits down (with the leading one at bit 4, folded into
//!   the second table), and `vpmovwb` narrows 32 codes to bytes.

use std::arch::x86_64::*;

use super::g711::build_decode_table;

/// Codes per decode block and samples per encode block.
pub(super) const DECODE_BLOCK: usize = 64;
pub(super) const ENCODE_BLOCK: usize = 32;

/// Low-byte and high-byte planes of a 256-entry decode table.
const fn planes(alaw: bool) -> [[u8; 256]; 2] {
    let table = build_decode_table(alaw);
    let mut out = [[0u8; 256]; 2];
    let mut i = 0;
    while i < 256 {
        let v = table[i] as u16;
        out[0][i] = v as u8;
        out[1][i] = (v >> 8) as u8;
        i += 1;
    }
    out
}

static ULAW_PLANES: [[u8; 256]; 2] = planes(false);
static ALAW_PLANES: [[u8; 256]; 2] = planes(true);

/// Two-source byte permutes that interleave a low-byte and a high-byte plane (64 lanes each)
/// into 16-bit samples: the first yields samples 0..32, the second 32..64.
static INTERLEAVE: [[u8; 64]; 2] = {
    let mut t = [[0u8; 64]; 2];
    let mut j = 0;
    while j < 64 {
        let sample = (j / 2) as u8;
        let from_high = if j % 2 == 1 { 64 } else { 0 };
        t[0][j] = sample + from_high;
        t[1][j] = sample + 32 + from_high;
        j += 1;
    }
    t
};

/// Bit length of `i` (0 for 0).
const fn bit_len(i: usize) -> u8 {
    (usize::BITS - i.leading_zeros()) as u8
}

/// µ-law encode tables over `biased >> 6` (0..128), where `biased` = 14-bit magnitude + 33 and
/// the segment is `bit_len(biased >> 6)`: the shift that leaves the leading one at bit 4, and
/// `0x8F - (segment << 4)`, from which subtracting the shifted value gives the complemented
/// seven code bits.
static ULAW_ENCODE: [[u8; 128]; 2] = {
    let mut t = [[0u8; 128]; 2];
    let mut i = 0;
    while i < 128 {
        let seg = bit_len(i);
        t[0][i] = seg + 1;
        t[1][i] = 0x8F - (seg << 4);
        i += 1;
    }
    t
};

/// A-law encode tables over `mag >> 4` (0..128), where `mag` is the 11-bit magnitude: the
/// shift (segment − 1, and 0 in segment 0) and `shift << 4`; adding the shifted value (which
/// carries the leading one at bit 4 in segments ≥ 1) gives the seven code bits.
static ALAW_ENCODE: [[u8; 128]; 2] = {
    let mut t = [[0u8; 128]; 2];
    let mut i = 0;
    while i < 128 {
        let shift = if i == 0 { 0 } else { bit_len(i) - 1 };
        t[0][i] = shift;
        t[1][i] = shift << 4;
        i += 1;
    }
    t
};

/// Low bytes of every 16-bit lane: byte lookups on word indices keep only these.
const LOW_BYTES: __mmask64 = 0x5555_5555_5555_5555;

/// Loads 64 bytes of `table` starting at `at` (panics if out of range: constant offsets).
#[target_feature(enable = "avx512f")]
#[inline]
fn load64(table: &[u8], at: usize) -> __m512i {
    let part = &table[at..at + 64];
    // SAFETY: `part` is exactly 64 readable bytes; the load is unaligned.
    unsafe { _mm512_loadu_si512(part.as_ptr().cast()) }
}

// The kernels below are safe functions: inside them the register intrinsics are safe (their
// target features are enabled), and `unsafe` covers only the raw-pointer loads and stores.
// Calling a kernel from code without these features still needs `unsafe` and a feature check.

/// Decodes `codes` into `out`; both have the same length, a multiple of [`DECODE_BLOCK`].
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) fn decode(codes: &[u8], out: &mut [i16], alaw: bool) {
    let [low, high] = if alaw { &ALAW_PLANES } else { &ULAW_PLANES };
    let (lo0, lo1, lo2, lo3) = (
        load64(low, 0),
        load64(low, 64),
        load64(low, 128),
        load64(low, 192),
    );
    let (hi0, hi1, hi2, hi3) = (
        load64(high, 0),
        load64(high, 64),
        load64(high, 128),
        load64(high, 192),
    );
    let first = load64(&INTERLEAVE[0], 0);
    let second = load64(&INTERLEAVE[1], 0);
    for (src, dst) in codes
        .chunks_exact(DECODE_BLOCK)
        .zip(out.chunks_exact_mut(DECODE_BLOCK))
    {
        // SAFETY: `src` is exactly 64 bytes; unaligned load.
        let c = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
        let upper = _mm512_movepi8_mask(c);
        let lo = _mm512_mask_blend_epi8(
            upper,
            _mm512_permutex2var_epi8(lo0, c, lo1),
            _mm512_permutex2var_epi8(lo2, c, lo3),
        );
        let hi = _mm512_mask_blend_epi8(
            upper,
            _mm512_permutex2var_epi8(hi0, c, hi1),
            _mm512_permutex2var_epi8(hi2, c, hi3),
        );
        let (a, b) = (
            _mm512_permutex2var_epi8(lo, first, hi),
            _mm512_permutex2var_epi8(lo, second, hi),
        );
        // SAFETY: `dst` is exactly 64 i16 = 128 bytes, stored as two unaligned 64-byte halves
        // (elements 0..32 and 32..64).
        unsafe {
            _mm512_storeu_si512(dst.as_mut_ptr().cast(), a);
            _mm512_storeu_si512(dst.as_mut_ptr().add(32).cast(), b);
        }
    }
}

/// Encodes `pcm` into `out`; both have the same length, a multiple of [`ENCODE_BLOCK`].
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) fn encode(pcm: &[i16], out: &mut [u8], alaw: bool) {
    let [shifts, bases] = if alaw { &ALAW_ENCODE } else { &ULAW_ENCODE };
    let (shift0, shift1) = (load64(shifts, 0), load64(shifts, 64));
    let (base0, base1) = (load64(bases, 0), load64(bases, 64));
    let positive_bit = _mm512_set1_epi16(0x80);
    for (src, dst) in pcm
        .chunks_exact(ENCODE_BLOCK)
        .zip(out.chunks_exact_mut(ENCODE_BLOCK))
    {
        // SAFETY: `src` is exactly 32 i16 = 64 bytes; unaligned load.
        let x = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
        let negative = _mm512_srai_epi16::<15>(x);
        // One's-complement magnitude: x ^ (x >> 15).
        let ones = _mm512_xor_si512(x, negative);
        let (value, index) = if alaw {
            (_mm512_srli_epi16::<4>(ones), _mm512_srli_epi16::<8>(ones))
        } else {
            let biased = _mm512_min_epu16(
                _mm512_add_epi16(_mm512_srli_epi16::<2>(ones), _mm512_set1_epi16(33)),
                _mm512_set1_epi16(0x1FFF),
            );
            (biased, _mm512_srli_epi16::<6>(biased))
        };
        // `index` < 128 in every 16-bit lane; the high bytes are zeroed by the mask.
        let shift = _mm512_maskz_permutex2var_epi8(LOW_BYTES, shift0, index, shift1);
        let base = _mm512_maskz_permutex2var_epi8(LOW_BYTES, base0, index, base1);
        let step = _mm512_srlv_epi16(value, shift);
        let code = if alaw {
            let bits = _mm512_xor_si512(_mm512_add_epi16(base, step), _mm512_set1_epi16(0x55));
            // bits | (!negative & 0x80)
            _mm512_ternarylogic_epi32::<0xF2>(bits, negative, positive_bit)
        } else {
            _mm512_ternarylogic_epi32::<0xF2>(_mm512_sub_epi16(base, step), negative, positive_bit)
        };
        let bytes = _mm512_cvtepi16_epi8(code);
        // SAFETY: `dst` is exactly 32 bytes; unaligned store.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), bytes) };
    }
}
