#![no_main]
//! Arbitrary bytes into the WAV reader: never panics; anything accepted is self-consistent.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(wav) = warden_dsp::Wav::parse(data) {
        let f = wav.format();
        assert!(matches!(f.sample_rate, 8000 | 16_000 | 48_000) && matches!(f.channels, 1 | 2));
        assert_eq!(
            wav.samples().count(),
            wav.frames() * usize::from(f.channels)
        );
        assert_eq!(wav.to_mono().len(), wav.frames());
        let _ = wav.duration_ms();
    }
});
