use super::*;
use crate::testsig::{speech_like, Rng, DBM0};

/// Peak amplitude of a sine at `dbm0`.
fn amp(dbm0: f64) -> f64 {
    DBM0 * 10f64.powf(dbm0 / 20.0)
}

/// Silence, then a dual tone (`low_db`/`high_db` dBm0, frequencies scaled by `1 + offset`),
/// then silence.
fn dual(digit: Digit, low_db: f64, high_db: f64, ms: usize, lead: usize, offset: f64) -> Vec<i16> {
    let (fr, fc) = digit.frequencies();
    let n = ms * 8;
    let mut v = vec![0i16; lead];
    v.extend((0..n).map(|i| {
        let t = i as f64 / 8000.0;
        let s = amp(low_db) * (2.0 * PI * fr * (1.0 + offset) * t).sin()
            + amp(high_db) * (2.0 * PI * fc * (1.0 + offset) * t + 1.0).sin();
        s as i16
    }));
    v.extend(std::iter::repeat_n(0, 800));
    v
}

fn detect(pcm: &[i16]) -> Vec<InbandEvent> {
    let mut d = DtmfDetector::new();
    let mut out = Vec::new();
    // Feed in 20 ms frames, as the media plane does.
    for frame in pcm.chunks(160) {
        d.process(frame, |e| out.push(e));
    }
    out
}

fn digits(events: &[InbandEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            InbandEvent::Began { digit, .. } => Some(digit.to_char()),
            InbandEvent::Ended { .. } => None,
        })
        .collect()
}

#[test]
fn all_sixteen_digits_at_minus_20_dbm0() {
    for d in Digit::ALL {
        let ev = detect(&dual(d, -20.0, -20.0, 100, 37, 0.0));
        assert_eq!(digits(&ev), d.to_char().to_string(), "{ev:?}");
        match ev.last() {
            Some(InbandEvent::Ended { digit, duration_ms }) => {
                assert_eq!(*digit, d);
                assert!((75..=115).contains(duration_ms), "{d:?}: {duration_ms} ms");
            }
            other => panic!("no end for {d:?}: {other:?}"),
        }
    }
}

#[test]
fn minimum_duration_40ms_accepted_20ms_rejected_at_any_alignment() {
    for d in Digit::ALL {
        for lead in (0..BLOCK).step_by(7) {
            let long = detect(&dual(d, -15.0, -15.0, 40, lead, 0.0));
            assert_eq!(
                digits(&long),
                d.to_char().to_string(),
                "40 ms {d:?} lead {lead}"
            );
            let short = detect(&dual(d, -15.0, -15.0, 20, lead, 0.0));
            assert!(short.is_empty(), "20 ms {d:?} lead {lead}: {short:?}");
        }
    }
}

#[test]
fn level_limits() {
    for d in Digit::ALL {
        assert_eq!(
            digits(&detect(&dual(d, -25.0, -25.0, 60, 0, 0.0))).len(),
            1,
            "{d:?}"
        );
        assert!(
            detect(&dual(d, -36.0, -36.0, 60, 0, 0.0)).is_empty(),
            "{d:?}"
        );
        // Loud but not clipping: 0 dBm0 per tone (peak 2 × 22 827 would clip, so −3).
        assert_eq!(
            digits(&detect(&dual(d, -3.0, -3.0, 60, 0, 0.0))).len(),
            1,
            "{d:?}"
        );
    }
}

#[test]
fn twist_limits() {
    let d = Digit::from_char('8').unwrap();
    let ok = |lo, hi| digits(&detect(&dual(d, lo, hi, 60, 0, 0.0))).len() == 1;
    assert!(ok(-20.0, -17.0), "high group +3 dB");
    assert!(!ok(-20.0, -14.0), "high group +6 dB");
    assert!(ok(-13.0, -20.0), "low group +7 dB");
    assert!(!ok(-10.0, -20.0), "low group +10 dB");
}

#[test]
fn frequency_tolerance() {
    for d in Digit::ALL {
        for off in [-0.015, 0.015] {
            let ev = detect(&dual(d, -15.0, -15.0, 60, 11, off));
            assert_eq!(digits(&ev).len(), 1, "{d:?} at {:+.1} %", off * 100.0);
        }
        for off in [-0.035, 0.035] {
            let ev = detect(&dual(d, -15.0, -15.0, 60, 11, off));
            assert!(ev.is_empty(), "{d:?} at {:+.1} %: {ev:?}", off * 100.0);
        }
    }
}

#[test]
fn rejects_noise_speech_chirps_and_single_tones() {
    let mut rng = Rng::new(99);
    for level in [-30.0, -20.0, -10.0] {
        let noise: Vec<i16> = (0..80_000)
            .map(|_| (rng.gauss() * amp(level) / 2f64.sqrt()) as i16)
            .collect();
        assert!(detect(&noise).is_empty(), "white noise at {level} dBm0");
    }
    // Voiced speech-like signal (150 Hz fundamental, formants), louder and quieter.
    let speech = speech_like(8000, 80_000);
    assert!(detect(&speech).is_empty(), "speech-like");
    let quiet: Vec<i16> = speech.iter().map(|&s| s / 4).collect();
    assert!(detect(&quiet).is_empty(), "quiet speech-like");
    // Harmonic series on other fundamentals (100–300 Hz), each held 0.5 s.
    for f0 in [100.0, 120.0, 174.0, 233.0, 300.0] {
        let v: Vec<i16> = (0..4000)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let s: f64 = (1..30)
                    .map(|k| f64::from(k) * f0)
                    .filter(|&f| f < 3800.0)
                    .map(|f| (2.0 * PI * f * t).sin() / (1.0 + ((f - 800.0) / 600.0).powi(2)))
                    .sum();
                (s * 4000.0) as i16
            })
            .collect();
        assert!(detect(&v).is_empty(), "harmonics of {f0} Hz");
    }
    // Linear chirp 300 Hz → 3400 Hz over 2 s.
    let chirp: Vec<i16> = (0..16_000)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (amp(-10.0) * (2.0 * PI * (300.0 * t + 775.0 * t * t)).sin()) as i16
        })
        .collect();
    assert!(detect(&chirp).is_empty(), "chirp");
    // Each DTMF frequency alone.
    for f in ROWS.iter().chain(&COLS) {
        let v: Vec<i16> = (0..4000)
            .map(|i| (amp(-10.0) * (2.0 * PI * f * i as f64 / 8000.0).sin()) as i16)
            .collect();
        assert!(detect(&v).is_empty(), "single tone {f} Hz");
    }
}

#[test]
fn noisy_digit_still_detected() {
    let mut rng = Rng::new(5);
    let d = Digit::from_char('0').unwrap();
    let mut v = dual(d, -15.0, -15.0, 80, 0, 0.0);
    for s in &mut v {
        *s = s.saturating_add((rng.gauss() * amp(-35.0)) as i16);
    }
    assert_eq!(digits(&detect(&v)), "0");
}

#[test]
fn inter_digit_pause_and_dropouts() {
    let one = Digit::from_char('1').unwrap();
    let tone = |ms| dual(one, -15.0, -15.0, ms, 0, 0.0)[..ms * 8].to_vec();
    // 60 ms, 40 ms pause, 60 ms: two presses.
    let mut v = tone(60);
    v.extend(std::iter::repeat_n(0, 320));
    v.extend(tone(60));
    v.extend(std::iter::repeat_n(0, 800));
    assert_eq!(digits(&detect(&v)), "11");
    // 100 ms with a 10 ms dropout: one press.
    let mut v = tone(50);
    v.extend(std::iter::repeat_n(0, 80));
    v.extend(tone(50));
    v.extend(std::iter::repeat_n(0, 800));
    assert_eq!(digits(&detect(&v)), "1");
    // A digit string.
    let mut v = Vec::new();
    for c in "147*2580369#ABCD".chars() {
        v.extend(dual(Digit::from_char(c).unwrap(), -18.0, -17.0, 50, 0, 0.0)[..400].to_vec());
        v.extend(std::iter::repeat_n(0, 400));
    }
    assert_eq!(digits(&detect(&v)), "147*2580369#ABCD");
}

#[test]
fn chunking_does_not_matter() {
    let v = dual(Digit::from_char('9').unwrap(), -20.0, -20.0, 90, 3, 0.0);
    let mut d = DtmfDetector::new();
    let mut whole = Vec::new();
    d.process(&v, |e| whole.push(e));
    let mut d = DtmfDetector::new();
    let mut bits = Vec::new();
    for c in v.chunks(13) {
        d.process(c, |e| bits.push(e));
    }
    assert_eq!(whole, bits);
    assert_eq!(whole.len(), 2);
}
