//! Exhaustive G.711 tests against an independent reference built from the segment tables.

use super::*;

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
