//! Builds the default prompt set with `scripts/make-prompts.sh` (when espeak-ng and sox are
//! installed) and checks every file with the crate's own WAV reader.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use warden_dsp::{DtmfDetector, Player, PlayerState, Wav, WavFormat};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-prompts.sh")
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn default_prompt_set() {
    if !have("espeak-ng") || !have("sox") {
        eprintln!("SKIP default_prompt_set: espeak-ng and sox are not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(script())
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "make-prompts.sh failed");

    let mut names: Vec<String> = (0..10).map(|d| format!("digit-{d}")).collect();
    names.extend(["leave-message", "invalid-option", "goodbye", "moh"].map(String::from));
    for rate in [8000u32, 16_000] {
        for name in &names {
            let path = dir
                .path()
                .join(rate.to_string())
                .join(format!("{name}.wav"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let wav = Wav::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(wav.format(), WavFormat::mono(rate), "{name}");
            let ms = wav.duration_ms();
            let range = match name.as_str() {
                n if n.starts_with("digit-") => 250..=1500,
                "moh" => 15_000..=25_000,
                _ => 500..=5000,
            };
            assert!(range.contains(&ms), "{name} at {rate} Hz lasts {ms} ms");
            let pcm = wav.to_mono();
            let level = rms(&pcm);
            assert!(
                level > 500.0,
                "{name} at {rate} Hz is (nearly) silent: RMS {level:.0}"
            );

            // Real speech and music must not trigger the DTMF detector ("talk-off").
            if rate == 8000 {
                let mut det = DtmfDetector::new();
                let mut hits = Vec::new();
                det.process(&pcm, |e| hits.push(e));
                assert!(hits.is_empty(), "{name} falsely detected as DTMF: {hits:?}");
            }

            // Each prompt plays to completion on a 48 kHz leg.
            let mut player = Player::new(Arc::from(pcm), rate, 48_000, false).unwrap();
            let mut frame = [0i16; 960];
            let mut frames = 0u64;
            while player.next_frame(&mut frame).unwrap() == PlayerState::Playing {
                frames += 1;
            }
            assert!(
                frames * 20 >= ms && frames * 20 <= ms + 60,
                "{name}: {frames} frames"
            );
        }
    }
}
