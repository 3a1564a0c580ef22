//! Audio and RTP helpers shared by the media tests: G.711 µ-law written out from ITU-T G.711
//! (so the tests do not check the DSP crate against itself), Goertzel, tones, RTP packets and
//! WAV files.

use std::f64::consts::PI;
use std::path::Path;

/// Amplitude of the test tones.
pub(crate) const AMPLITUDE: f64 = 8000.0;
/// The frequencies [`dominant`] chooses from.
const CANDIDATES: [f64; 6] = [300.0, 440.0, 700.0, 1000.0, 1400.0, 2000.0];

/// G.711 µ-law encoding of one sample.
pub(crate) fn ulaw_encode(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    x = x.min(32_635) + 0x84;
    let mut exp = 7;
    while exp > 0 && x & (0x80 << exp) == 0 {
        exp -= 1;
    }
    let mantissa = (x >> (exp + 3)) & 0x0f;
    !(sign | (exp << 4) | mantissa) as u8
}

/// G.711 µ-law decoding of one byte.
pub(crate) fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let exp = (u >> 4) & 7;
    let mantissa = i32::from(u & 0x0f);
    let x = (((mantissa << 3) + 0x84) << exp) - 0x84;
    (if u & 0x80 != 0 { -x } else { x }) as i16
}

/// Power of `freq` in `x` sampled at `rate` (Goertzel).
pub(crate) fn power(x: &[i16], rate: u32, freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest of a few candidate frequencies in 8 kHz audio.
pub(crate) fn dominant(x: &[i16]) -> f64 {
    CANDIDATES
        .into_iter()
        .max_by(|a, b| power(x, 8000, *a).total_cmp(&power(x, 8000, *b)))
        .unwrap_or(0.0)
}

/// Samples `from..from + n` of a `freq` tone at `rate`.
pub(crate) fn tone(rate: u32, freq: f64, from: usize, n: usize) -> Vec<i16> {
    (from..from + n)
        .map(|i| (AMPLITUDE * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

/// An RTP packet (version 2, no CSRC or extension).
pub(crate) fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Packet `seq` of a continuous `hz` PCMU tone: 20 ms from sample `seq * 160`.
pub(crate) fn pcmu_tone_packet(seq: u16, ssrc: u32, hz: f64) -> Vec<u8> {
    let from = usize::from(seq) * 160;
    let payload: Vec<u8> = tone(8000, hz, from, 160)
        .into_iter()
        .map(ulaw_encode)
        .collect();
    rtp(0, false, seq, u32::from(seq) * 160, ssrc, &payload)
}

/// The samples of a 16-bit 8 kHz PCM WAV: (channels, interleaved samples).
pub(crate) fn wav_samples(bytes: &[u8]) -> (u16, Vec<i16>) {
    assert!(bytes.len() >= 44, "{} bytes", bytes.len());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
    assert_eq!(rate, 8000);
    let samples = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    (channels, samples)
}

/// A WAV file's samples, checking that its data size was fixed up when it was closed.
pub(crate) fn read_wav(path: &Path) -> (u16, Vec<i16>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[36..40], b"data");
    let len = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) as usize;
    assert_eq!(
        len + 44,
        bytes.len(),
        "the data size was fixed up at the end"
    );
    wav_samples(&bytes)
}

#[test]
fn the_reference_mu_law_round_trips() {
    for s in [-32_768i16, -8000, -1, 0, 1, 100, 8000, 32_767] {
        let back = ulaw_decode(ulaw_encode(s));
        let err = (i32::from(back) - i32::from(s)).abs();
        assert!(err <= (i32::from(s).abs() / 16).max(8), "{s} -> {back}");
    }
    assert_eq!(ulaw_encode(0), 0xff);
}
