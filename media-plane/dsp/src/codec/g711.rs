//! G.711 µ-law (PCMU) and A-law (PCMA).
//!
//! G.711 itself quantizes 14-bit (µ-law) or 13-bit (A-law) linear samples. For 16-bit input
//! this module follows the convention of the ITU-T G.191 reference software: the sample is
//! truncated to 14/13 bits by an arithmetic shift and negative values use the one's-complement
//! magnitude (`!x`), so the quantizer is symmetric around −½ LSB. Decoding reconstructs the
//! centre of each decision interval and scales it back to 16 bits. Every function in this
//! module is bit-exact with that convention for every input (proved exhaustively by the tests
//! against an independent implementation built from the segment tables of G.711).
//!
//! The batch functions ([`encode_ulaw`], [`decode_ulaw`], …) pick the fastest [`Kernel`] at
//! run time (AVX-512 VBMI, AVX2 or SSE2 on x86_64, scalar code elsewhere); the `*_with`
//! variants force one, for tests and benchmarks. The `*_table` variants are the
//! classic lookup-table implementation, kept as a portable reference and benchmark baseline.

use super::g711_simd;
pub use super::g711_simd::Kernel;

/// Encodes one 16-bit sample to a µ-law code (arithmetic, no table).
#[inline]
#[must_use]
pub fn ulaw_encode_sample(x: i16) -> u8 {
    let x = i32::from(x);
    // One's-complement magnitude truncated to 14 bits, then the µ-law bias of 33.
    let biased = (((x ^ (x >> 31)) >> 2) + 33).min(0x1FFF);
    // `biased` >= 33, so the segment (exponent) is the bit length minus 6, in 0..=7.
    let exp = (26 - (biased as u32).leading_zeros()) as i32;
    let mant = (biased >> (exp + 1)) & 0x0F;
    let sign = if x >= 0 { 0x80 } else { 0 };
    (sign | (0x7F ^ ((exp << 4) | mant))) as u8
}

/// Decodes one µ-law code to a 16-bit sample (arithmetic, no table).
#[inline]
#[must_use]
pub fn ulaw_decode_sample(code: u8) -> i16 {
    let c = i32::from(!code);
    let exp = (c >> 4) & 0x07;
    let mant = c & 0x0F;
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    (if c & 0x80 != 0 { -mag } else { mag }) as i16
}

/// Encodes one 16-bit sample to an A-law code (arithmetic, no table).
#[inline]
#[must_use]
pub fn alaw_encode_sample(x: i16) -> u8 {
    let x = i32::from(x);
    // One's-complement magnitude in units of two 13-bit steps: 0..=2047.
    let mag = (x ^ (x >> 31)) >> 4;
    let seg_mant = if mag < 16 {
        mag
    } else {
        // Segment 1..=7 from the bit length; the four bits below the leading one are the step.
        let exp = (28 - (mag as u32).leading_zeros()) as i32;
        (exp << 4) | ((mag >> (exp - 1)) & 0x0F)
    };
    let sign = if x >= 0 { 0x80 } else { 0 };
    ((sign | seg_mant) ^ 0x55) as u8
}

/// Decodes one A-law code to a 16-bit sample (arithmetic, no table).
#[inline]
#[must_use]
pub fn alaw_decode_sample(code: u8) -> i16 {
    let c = i32::from(code ^ 0x55);
    let exp = (c >> 4) & 0x07;
    let mant = c & 0x0F;
    let mag = if exp == 0 {
        (mant << 4) + 8
    } else {
        (((mant + 16) << 4) + 8) << (exp - 1)
    };
    (if c & 0x80 != 0 { mag } else { -mag }) as i16
}

/// Builds the 64 Ki-entry encode table for one law at compile time.
const fn build_encode_table(alaw: bool) -> [u8; 65536] {
    let mut table = [0u8; 65536];
    let mut i = 0usize;
    while i < 65536 {
        let x = (i as u16) as i16;
        table[i] = if alaw {
            alaw_encode_const(x)
        } else {
            ulaw_encode_const(x)
        };
        i += 1;
    }
    table
}

/// `const` twin of [`ulaw_encode_sample`] (loops instead of `min`/`leading_zeros` on i32).
const fn ulaw_encode_const(x: i16) -> u8 {
    let x = x as i32;
    let mut biased = ((x ^ (x >> 31)) >> 2) + 33;
    if biased > 0x1FFF {
        biased = 0x1FFF;
    }
    let exp = (26 - (biased as u32).leading_zeros()) as i32;
    let mant = (biased >> (exp + 1)) & 0x0F;
    let sign = if x >= 0 { 0x80 } else { 0 };
    (sign | (0x7F ^ ((exp << 4) | mant))) as u8
}

/// `const` twin of [`alaw_encode_sample`].
const fn alaw_encode_const(x: i16) -> u8 {
    let x = x as i32;
    let mag = (x ^ (x >> 31)) >> 4;
    let seg_mant = if mag < 16 {
        mag
    } else {
        let exp = (28 - (mag as u32).leading_zeros()) as i32;
        (exp << 4) | ((mag >> (exp - 1)) & 0x0F)
    };
    let sign = if x >= 0 { 0x80 } else { 0 };
    ((sign | seg_mant) ^ 0x55) as u8
}

/// Builds a 256-entry decode table.
pub(super) const fn build_decode_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0usize;
    while i < 256 {
        let c = if alaw {
            (i as i32) ^ 0x55
        } else {
            !(i as i32) & 0xFF
        };
        let exp = (c >> 4) & 0x07;
        let mant = c & 0x0F;
        let mag = if alaw {
            if exp == 0 {
                (mant << 4) + 8
            } else {
                (((mant + 16) << 4) + 8) << (exp - 1)
            }
        } else {
            (((mant << 3) + 0x84) << exp) - 0x84
        };
        let negative = if alaw { c & 0x80 == 0 } else { c & 0x80 != 0 };
        table[i] = (if negative { -mag } else { mag }) as i16;
        i += 1;
    }
    table
}

static ULAW_ENCODE: [u8; 65536] = build_encode_table(false);
static ALAW_ENCODE: [u8; 65536] = build_encode_table(true);
static ULAW_DECODE: [i16; 256] = build_decode_table(false);
static ALAW_DECODE: [i16; 256] = build_decode_table(true);

/// Encodes `pcm` to µ-law into `out[..pcm.len()]` with the fastest kernel available.
///
/// Only `min(pcm.len(), out.len())` samples are processed; the count is returned.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    encode_ulaw_with(Kernel::best(), pcm, out)
}

/// Encodes `pcm` to A-law into `out[..pcm.len()]` with the fastest kernel available.
///
/// Only `min(pcm.len(), out.len())` samples are processed; the count is returned.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    encode_alaw_with(Kernel::best(), pcm, out)
}

/// Decodes µ-law `codes` into `out[..codes.len()]` with the fastest kernel available.
///
/// Only `min(codes.len(), out.len())` samples are processed; the count is returned.
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> usize {
    decode_ulaw_with(Kernel::best(), codes, out)
}

/// Decodes A-law `codes` into `out[..codes.len()]` with the fastest kernel available.
///
/// Only `min(codes.len(), out.len())` samples are processed; the count is returned.
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> usize {
    decode_alaw_with(Kernel::best(), codes, out)
}

/// [`encode_ulaw`] with a chosen kernel; an unavailable kernel falls back to scalar code.
pub fn encode_ulaw_with(kernel: Kernel, pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    let (pcm, out) = (&pcm[..n], &mut out[..n]);
    let done = g711_simd::encode(kernel, pcm, out, false);
    for (o, &x) in out[done..].iter_mut().zip(&pcm[done..]) {
        *o = ulaw_encode_sample(x);
    }
    n
}

/// [`encode_alaw`] with a chosen kernel; an unavailable kernel falls back to scalar code.
pub fn encode_alaw_with(kernel: Kernel, pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    let (pcm, out) = (&pcm[..n], &mut out[..n]);
    let done = g711_simd::encode(kernel, pcm, out, true);
    for (o, &x) in out[done..].iter_mut().zip(&pcm[done..]) {
        *o = alaw_encode_sample(x);
    }
    n
}

/// [`decode_ulaw`] with a chosen kernel; an unavailable kernel falls back to scalar code.
pub fn decode_ulaw_with(kernel: Kernel, codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    let (codes, out) = (&codes[..n], &mut out[..n]);
    let done = g711_simd::decode(kernel, codes, out, false);
    for (o, &c) in out[done..].iter_mut().zip(&codes[done..]) {
        *o = ulaw_decode_sample(c);
    }
    n
}

/// [`decode_alaw`] with a chosen kernel; an unavailable kernel falls back to scalar code.
pub fn decode_alaw_with(kernel: Kernel, codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    let (codes, out) = (&codes[..n], &mut out[..n]);
    let done = g711_simd::decode(kernel, codes, out, true);
    for (o, &c) in out[done..].iter_mut().zip(&codes[done..]) {
        *o = alaw_decode_sample(c);
    }
    n
}

/// µ-law encode through a 64 Ki-entry lookup table (portable baseline).
pub fn encode_ulaw_table(pcm: &[i16], out: &mut [u8]) -> usize {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = ULAW_ENCODE[usize::from(x as u16)];
    }
    pcm.len().min(out.len())
}

/// A-law encode through a 64 Ki-entry lookup table (portable baseline).
pub fn encode_alaw_table(pcm: &[i16], out: &mut [u8]) -> usize {
    for (o, &x) in out.iter_mut().zip(pcm) {
        *o = ALAW_ENCODE[usize::from(x as u16)];
    }
    pcm.len().min(out.len())
}

/// µ-law decode through a 256-entry lookup table (portable baseline).
pub fn decode_ulaw_table(codes: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ULAW_DECODE[usize::from(c)];
    }
    codes.len().min(out.len())
}

/// A-law decode through a 256-entry lookup table (portable baseline).
pub fn decode_alaw_table(codes: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ALAW_DECODE[usize::from(c)];
    }
    codes.len().min(out.len())
}

#[cfg(test)]
#[path = "g711_tests.rs"]
mod tests;
