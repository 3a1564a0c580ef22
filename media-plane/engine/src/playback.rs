//! Prompt and tone playback into an endpoint: every 20 ms (the core's media tick) the next
//! frame is generated (8 kHz), G.711-encoded for the leg (a leg of a transcoding bridge is
//! played by the bridge instead, which encodes the frames in the leg's codec), framed as RTP, passed through the
//! endpoint's stream rewriter (so the remote sees one continuous stream) and sent. While a
//! playback runs, what the bridge peer sends to that endpoint is not relayed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;

use warden_dsp::{Codec, CodecParams, Player, PlayerState, ToneGenerator, ToneSpec, Wav};
use warden_shared::{EndpointHandle, ErrorCode};

use crate::record::FRAME;

const RTP_HEADER: usize = 12;

/// Prompts loaded at start: name → (mono PCM, sample rate).
#[derive(Default)]
pub(crate) struct Prompts {
    by_name: HashMap<String, (Arc<[i16]>, u32)>,
}

impl Prompts {
    /// Loads every `<name>.wav` of `dir` (16-bit PCM, 8/16/48 kHz; stereo is mixed down).
    /// Unreadable or unsupported files are skipped with a warning. Runs on the control
    /// side before the cores start, never on a packet task.
    /// The narrowband set (`8000/`, as `scripts/make-prompts.sh` lays it out) is preferred,
    /// then the directory itself, then the wideband sets.
    pub(crate) fn load(dir: Option<&std::path::Path>) -> Self {
        let mut by_name = HashMap::new();
        let Some(dir) = dir else {
            return Self { by_name };
        };
        for sub in ["8000", "", "16000", "48000"] {
            Self::load_dir(&dir.join(sub), &mut by_name);
        }
        tracing::info!(dir = %dir.display(), prompts = by_name.len(), "prompts loaded");
        Self { by_name }
    }

    fn load_dir(dir: &std::path::Path, by_name: &mut HashMap<String, (Arc<[i16]>, u32)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("wav") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if warden_shared::PromptName::new(name).is_none() || by_name.contains_key(name) {
                continue;
            }
            let loaded = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    Wav::parse(&bytes)
                        .map(|w| (Arc::<[i16]>::from(w.to_mono()), w.format().sample_rate))
                        .map_err(|e| e.to_string())
                });
            match loaded {
                Ok(p) => {
                    by_name.insert(name.to_string(), p);
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "prompt not loaded");
                }
            }
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<(Arc<[i16]>, u32)> {
        self.by_name.get(name).cloned()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }
}

enum Source {
    Prompt(Box<Player>),
    Tone(Box<ToneGenerator>),
}

/// One playback in progress on an endpoint.
pub(crate) struct Playback {
    source: Source,
    codec: Codec,
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    pub(crate) frames: u32,
    /// Played through a transcoding bridge: the bridge encodes the frames for the leg
    /// (see [`next_pcm`](Self::next_pcm)); the media tick leaves it alone.
    pub(crate) bridged: bool,
}

/// The G.711 codec for a payload type the leg uses; PCMU when nothing was received yet.
fn codec_for(voice_pt: Option<u8>) -> Result<(u8, Codec), ErrorCode> {
    let (pt, params) = match voice_pt {
        None | Some(0) => (0, CodecParams::pcmu()),
        Some(8) => (8, CodecParams::pcma()),
        Some(_) => return Err(ErrorCode::UnsupportedCodec),
    };
    Codec::new(params)
        .map(|c| (pt, c))
        .map_err(|_| ErrorCode::UnsupportedCodec)
}

impl Playback {
    pub(crate) fn prompt(
        pcm: Arc<[i16]>,
        rate: u32,
        voice_pt: Option<u8>,
        ssrc: u32,
    ) -> Result<Self, ErrorCode> {
        let (pt, codec) = codec_for(voice_pt)?;
        let player = Player::new(pcm, rate, 8000, false).map_err(|_| ErrorCode::UnknownPrompt)?;
        Ok(Self::new(Source::Prompt(Box::new(player)), codec, pt, ssrc))
    }

    pub(crate) fn tone(
        freqs: [u16; 2],
        duration_ms: u32,
        voice_pt: Option<u8>,
        ssrc: u32,
    ) -> Result<Self, ErrorCode> {
        let (pt, codec) = codec_for(voice_pt)?;
        let spec = ToneSpec {
            freqs: [f64::from(freqs[0]), f64::from(freqs[1])],
            level_dbm0: -10.0,
            cadence: [(duration_ms.max(20), 0), (0, 0), (0, 0), (0, 0)],
            repeat: false,
        };
        let tone = ToneGenerator::new(spec, 8000).map_err(|_| ErrorCode::UnsupportedCodec)?;
        Ok(Self::new(Source::Tone(Box::new(tone)), codec, pt, ssrc))
    }

    fn new(source: Source, codec: Codec, pt: u8, ssrc: u32) -> Self {
        Self {
            source,
            codec,
            pt,
            ssrc,
            seq: (ssrc >> 8) as u16,
            ts: ssrc.rotate_left(7),
            frames: 0,
            bridged: false,
        }
    }

    /// The next 20 ms at 8 kHz into `pcm`; false once the source has ended.
    pub(crate) fn next_pcm(&mut self, pcm: &mut [i16; FRAME]) -> bool {
        let playing = match &mut self.source {
            Source::Prompt(p) => matches!(p.next_frame(pcm), Ok(PlayerState::Playing)),
            Source::Tone(t) => {
                !t.is_finished() && {
                    t.next_frame(pcm);
                    true
                }
            }
        };
        if playing {
            self.frames = self.frames.saturating_add(1);
        }
        playing
    }

    /// Writes the next 20 ms RTP packet into `out`; `None` once the source has ended.
    pub(crate) fn next_packet(&mut self, out: &mut [u8; RTP_HEADER + FRAME]) -> Option<usize> {
        let mut pcm = [0i16; FRAME];
        if !self.next_pcm(&mut pcm) {
            return None;
        }
        let first = self.frames == 1;
        let n = self.codec.encode(&pcm, &mut out[RTP_HEADER..]).ok()?;
        out[0] = 0x80;
        out[1] = self.pt | if first { 0x80 } else { 0 };
        out[2..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..8].copy_from_slice(&self.ts.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        Some(RTP_HEADER + n)
    }
}

/// Playbacks by endpoint.
#[derive(Default)]
pub(crate) struct Playbacks {
    pub(crate) by_endpoint: HashMap<EndpointHandle, Playback>,
}

impl Playbacks {
    pub(crate) fn is_empty(&self) -> bool {
        self.by_endpoint.is_empty()
    }
}

/// Sends one datagram without blocking; false when the kernel refused it.
pub(crate) fn send_to(fd: RawFd, bytes: &[u8], dest: SocketAddr) -> bool {
    let addr = socket2::SockAddr::from(dest);
    // SAFETY: `bytes` and `addr` are valid for the duration of the call.
    let n = unsafe {
        libc::sendto(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT,
            addr.as_ptr().cast(),
            addr.len(),
        )
    };
    n == bytes.len() as isize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goertzel(x: &[i16], f: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * f / 8000.0;
        let c = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s = f64::from(v) + c * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - c * s1 * s2
    }

    #[test]
    fn tone_packets_are_g711_rtp_of_the_tone_and_end() {
        let mut p = Playback::tone([1000, 0], 100, Some(8), 0x1234_5678).unwrap();
        let mut buf = [0u8; RTP_HEADER + FRAME];
        let mut decoder = Codec::new(CodecParams::pcma()).unwrap();
        let mut pcm = Vec::new();
        let mut seqs = Vec::new();
        while let Some(n) = p.next_packet(&mut buf) {
            assert_eq!(n, RTP_HEADER + FRAME);
            assert_eq!(buf[1] & 0x7f, 8);
            seqs.push(u16::from_be_bytes([buf[2], buf[3]]));
            let mut out = [0i16; FRAME];
            decoder.decode(&buf[RTP_HEADER..n], &mut out).unwrap();
            pcm.extend_from_slice(&out);
        }
        assert_eq!(p.frames, 5, "100 ms is five 20 ms frames");
        assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
        assert!(goertzel(&pcm, 1000.0) > 100.0 * goertzel(&pcm, 440.0));
    }

    #[test]
    fn other_codecs_are_refused_and_prompts_load_from_a_directory() {
        assert_eq!(
            Playback::tone([440, 0], 100, Some(9), 1).err(),
            Some(ErrorCode::UnsupportedCodec)
        );
        let dir = tempfile::tempdir().unwrap();
        let pcm: Vec<i16> = (0..16000).map(|i| ((i % 32) * 500) as i16).collect();
        let mut w = warden_dsp::WavWriter::new(
            std::fs::File::create(dir.path().join("hello.wav")).unwrap(),
            warden_dsp::WavFormat::mono(16000),
        )
        .unwrap();
        w.write_samples(&pcm).unwrap();
        w.finish().unwrap();
        std::fs::write(dir.path().join("broken.wav"), b"RIFFjunk").unwrap();
        std::fs::write(dir.path().join("bad name.wav"), b"").unwrap();
        std::fs::create_dir(dir.path().join("8000")).unwrap();
        std::fs::copy(
            dir.path().join("hello.wav"),
            dir.path().join("8000/bye.wav"),
        )
        .unwrap();
        let prompts = Prompts::load(Some(dir.path()));
        assert_eq!(prompts.len(), 2);
        assert!(prompts.get("bye").is_some());
        let (samples, rate) = prompts.get("hello").unwrap();
        assert_eq!((samples.len(), rate), (16000, 16000));
        // One second at 16 kHz plays as 50 frames at 8 kHz (plus the resampler's tail).
        let mut p = Playback::prompt(samples, rate, None, 7).unwrap();
        let mut buf = [0u8; RTP_HEADER + FRAME];
        let mut frames = 0;
        while p.next_packet(&mut buf).is_some() {
            frames += 1;
        }
        assert!((50..=52).contains(&frames), "{frames}");
    }
}
