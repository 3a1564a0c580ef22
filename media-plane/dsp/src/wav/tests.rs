use std::io::Cursor;

use super::*;
use crate::testsig::Rng;
use crate::wav::{Wav, WavFormat};

fn write(format: WavFormat, samples: &[i16]) -> Vec<u8> {
    let mut w = WavWriter::new(Cursor::new(Vec::new()), format).unwrap();
    w.write_samples(samples).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn header_layout() {
    let h = header_for(WavFormat::mono(8000), 320);
    let mut want = Vec::new();
    want.extend_from_slice(b"RIFF");
    want.extend_from_slice(&356u32.to_le_bytes());
    want.extend_from_slice(b"WAVEfmt ");
    want.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0]);
    want.extend_from_slice(&8000u32.to_le_bytes());
    want.extend_from_slice(&16000u32.to_le_bytes());
    want.extend_from_slice(&[2, 0, 16, 0]);
    want.extend_from_slice(b"data");
    want.extend_from_slice(&320u32.to_le_bytes());
    assert_eq!(h.to_vec(), want);
    assert_eq!(
        size_fields(320),
        [(4, 356u32.to_le_bytes()), (40, 320u32.to_le_bytes())]
    );
}

#[test]
fn round_trips_every_supported_format() {
    for rate in [8000, 16_000, 48_000] {
        for format in [WavFormat::mono(rate), WavFormat::stereo(rate)] {
            let samples: Vec<i16> = (0..rate as i32 / 10)
                .map(|i| (i * 37 % 65_536 - 32_768) as i16)
                .collect();
            let bytes = write(format, &samples);
            let wav = Wav::parse(&bytes).unwrap();
            assert_eq!(wav.format(), format);
            assert_eq!(wav.samples().collect::<Vec<_>>(), samples);
            assert_eq!(wav.frames(), samples.len() / usize::from(format.channels));
            assert_eq!(wav.duration_ms(), 100 / u64::from(format.channels));
        }
    }
}

#[test]
fn stereo_interleaving_and_mono_downmix() {
    let mut w = WavWriter::new(Cursor::new(Vec::new()), WavFormat::stereo(8000)).unwrap();
    w.write_stereo(&[100, 200, 300], &[-100, 0]).unwrap();
    assert!(
        WavWriter::new(Cursor::new(Vec::new()), WavFormat::mono(8000))
            .unwrap()
            .write_stereo(&[1], &[1])
            .is_err()
    );
    let bytes = w.finish().unwrap().into_inner();
    let wav = Wav::parse(&bytes).unwrap();
    assert_eq!(
        wav.samples().collect::<Vec<_>>(),
        vec![100, -100, 200, 0, 300, 0]
    );
    assert_eq!(wav.to_mono(), vec![0, 100, 150]);
}

#[test]
fn crash_after_flush_leaves_a_valid_file() {
    let mut w = WavWriter::new(Cursor::new(Vec::new()), WavFormat::mono(16_000)).unwrap();
    w.write_samples(&[1, 2, 3, 4]).unwrap();
    w.flush().unwrap();
    w.write_samples(&[5, 6]).unwrap();
    // "Crash": take the bytes as they are on disk, without a final flush.
    let on_disk = w.inner.get_ref().clone();
    let wav = Wav::parse(&on_disk).unwrap();
    assert_eq!(wav.samples().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    // A later flush covers the rest.
    w.flush().unwrap();
    let wav_bytes = w.inner.get_ref().clone();
    assert_eq!(Wav::parse(&wav_bytes).unwrap().frames(), 6);
    // Writing continues at the end after the patch.
    w.write_samples(&[7]).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert_eq!(Wav::parse(&bytes).unwrap().samples().last(), Some(7));
}

#[test]
fn tolerates_extra_chunks_extensible_and_unpatched_sizes() {
    let pcm = [10i16, -10, 20, -20];
    let plain = write(WavFormat::mono(8000), &pcm);
    // Insert an odd-sized LIST chunk (padded) between fmt and data.
    let mut with_list = plain[..36].to_vec();
    with_list.extend_from_slice(b"LIST");
    with_list.extend_from_slice(&5u32.to_le_bytes());
    with_list.extend_from_slice(b"INFOx\0");
    with_list.extend_from_slice(&plain[36..]);
    assert_eq!(
        Wav::parse(&with_list)
            .unwrap()
            .samples()
            .collect::<Vec<_>>(),
        pcm
    );

    // WAVE_FORMAT_EXTENSIBLE with a PCM sub-format.
    let mut ext = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    ext.extend_from_slice(&40u32.to_le_bytes());
    ext.extend_from_slice(&[0xFE, 0xFF, 1, 0]);
    ext.extend_from_slice(&48_000u32.to_le_bytes());
    ext.extend_from_slice(&96_000u32.to_le_bytes());
    ext.extend_from_slice(&[2, 0, 16, 0, 22, 0, 16, 0, 4, 0, 0, 0, 1, 0]);
    ext.extend_from_slice(&[0; 14]);
    ext.extend_from_slice(b"data");
    ext.extend_from_slice(&u32::MAX.to_le_bytes()); // never patched
    ext.extend_from_slice(&[1, 0, 2, 0, 3]); // and truncated mid-sample
    let wav = Wav::parse(&ext).unwrap();
    assert_eq!(wav.format(), WavFormat::mono(48_000));
    assert_eq!(wav.samples().collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn rejects_unsupported_formats_with_reasons() {
    let base = write(WavFormat::mono(8000), &[0; 8]);
    let patch = |at: usize, bytes: &[u8]| {
        let mut b = base.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    let cases = [
        patch(20, &7u16.to_le_bytes()),      // µ-law tag
        patch(34, &8u16.to_le_bytes()),      // 8-bit
        patch(34, &24u16.to_le_bytes()),     // 24-bit
        patch(24, &44_100u32.to_le_bytes()), // 44.1 kHz
        patch(22, &3u16.to_le_bytes()),      // 3 channels
        patch(32, &4u16.to_le_bytes()),      // inconsistent block align
    ];
    for c in &cases {
        assert!(
            matches!(Wav::parse(c), Err(DspError::WavUnsupported { .. })),
            "{:?}",
            Wav::parse(c)
        );
    }
    assert!(matches!(
        Wav::parse(b"RIFX\0\0\0\0WAVE"),
        Err(DspError::NotWav)
    ));
    assert!(matches!(
        Wav::parse(&base[..36]),
        Err(DspError::WavMissingChunk("data"))
    ));
    let mut no_fmt = b"RIFF\0\0\0\0WAVE".to_vec();
    no_fmt.extend_from_slice(&base[36..]);
    assert!(matches!(
        Wav::parse(&no_fmt),
        Err(DspError::WavMissingChunk("fmt"))
    ));
}

#[test]
fn never_panics_on_truncation_or_garbage() {
    let good = write(WavFormat::stereo(16_000), &[1, 2, 3, 4, 5, 6]);
    for len in 0..good.len() {
        let _ = Wav::parse(&good[..len]);
    }
    let mut rng = Rng::new(3);
    for _ in 0..2000 {
        let mut b = good.clone();
        for _ in 0..4 {
            let i = (rng.next_u64() as usize) % b.len();
            b[i] = rng.next_u64() as u8;
        }
        let _ = Wav::parse(&b).map(|w| w.to_mono());
        let garbage: Vec<u8> = (0..(rng.next_u64() % 100))
            .map(|_| rng.next_u64() as u8)
            .collect();
        let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
        riff.extend_from_slice(&garbage);
        let _ = Wav::parse(&riff);
    }
}

#[test]
fn writer_rejects_bad_input() {
    assert!(WavWriter::new(Cursor::new(Vec::new()), WavFormat::mono(44_100)).is_err());
    let mut w = WavWriter::new(Cursor::new(Vec::new()), WavFormat::stereo(8000)).unwrap();
    assert!(w.write_samples(&[1, 2, 3]).is_err());
    let mut out = [0u8; 3];
    assert_eq!(encode_samples(&[0x0102, 0x0304], &mut out), 2);
    assert_eq!(&out[..2], &[0x02, 0x01]);
}
