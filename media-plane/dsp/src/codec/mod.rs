//! Audio codecs behind one [`Codec`] type: G.711 µ/A-law, G.722, Opus and L16.
//!
//! Every codec works on 20 ms frames of mono 16-bit PCM at its own PCM rate
//! ([`Codec::sample_rate`]), which can differ from the RTP clock rate (G.722 samples at
//! 16 kHz but its RTP clock runs at 8 kHz; Opus always uses a 48 kHz RTP clock).

pub mod g711;
// `build.rs` sets `warden_avx512` only for rustc ≥ 1.89, where AVX-512 intrinsics are stable.
#[cfg(all(target_arch = "x86_64", warden_avx512))]
#[clippy::msrv = "1.89"]
mod g711_avx512;
mod g711_simd;
pub mod g722;
mod opus;
pub(crate) mod plc;

use crate::error::DspError;
use plc::Plc;

/// The codecs the media plane can terminate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 at 64 kbit/s.
    G722,
    /// Opus (mono, 20 ms frames).
    Opus,
    /// Linear 16-bit PCM in network byte order.
    L16,
}

/// Construction parameters of a [`Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecParams {
    /// Which codec.
    pub kind: CodecKind,
    /// PCM sample rate: fixed 8000 for G.711 and 16000 for G.722; 8000, 16000 or 48000 for
    /// Opus and L16.
    pub sample_rate: u32,
    /// Opus target bitrate in bit/s (ignored by the other codecs).
    pub bitrate: u32,
    /// Opus in-band forward error correction.
    pub fec: bool,
    /// Opus: expected packet loss in percent (sizes the FEC data).
    pub expected_loss_percent: u8,
}

impl CodecParams {
    /// G.711 µ-law, 8 kHz.
    #[must_use]
    pub const fn pcmu() -> Self {
        Self::fixed(CodecKind::Pcmu, 8000)
    }

    /// G.711 A-law, 8 kHz.
    #[must_use]
    pub const fn pcma() -> Self {
        Self::fixed(CodecKind::Pcma, 8000)
    }

    /// G.722, 16 kHz PCM.
    #[must_use]
    pub const fn g722() -> Self {
        Self::fixed(CodecKind::G722, 16_000)
    }

    /// Opus at `sample_rate` with 32 kbit/s and FEC for 5 % loss.
    #[must_use]
    pub const fn opus(sample_rate: u32) -> Self {
        Self {
            kind: CodecKind::Opus,
            sample_rate,
            bitrate: 32_000,
            fec: true,
            expected_loss_percent: 5,
        }
    }

    /// L16 at `sample_rate`.
    #[must_use]
    pub const fn l16(sample_rate: u32) -> Self {
        Self::fixed(CodecKind::L16, sample_rate)
    }

    const fn fixed(kind: CodecKind, sample_rate: u32) -> Self {
        Self {
            kind,
            sample_rate,
            bitrate: 0,
            fec: false,
            expected_loss_percent: 0,
        }
    }
}

enum Imp {
    Pcmu,
    Pcma,
    G722 {
        enc: Box<g722::G722Encoder>,
        dec: Box<g722::G722Decoder>,
    },
    Opus(Box<opus::OpusCodec>),
    L16,
}

/// One leg's encoder + decoder + concealment for a codec.
pub struct Codec {
    params: CodecParams,
    imp: Imp,
    /// Waveform-substitution concealment (unused for Opus, which has its own).
    plc: Plc,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("params", &self.params)
            .finish()
    }
}

impl Codec {
    /// Creates a codec; fails on a rate the codec does not support or a bad Opus setting.
    pub fn new(params: CodecParams) -> Result<Self, DspError> {
        let rate = params.sample_rate;
        let imp = match params.kind {
            CodecKind::Pcmu | CodecKind::Pcma if rate != 8000 => {
                return Err(DspError::UnsupportedRate(rate))
            }
            CodecKind::G722 if rate != 16_000 => return Err(DspError::UnsupportedRate(rate)),
            CodecKind::L16 if !matches!(rate, 8000 | 16_000 | 48_000) => {
                return Err(DspError::UnsupportedRate(rate))
            }
            CodecKind::Pcmu => Imp::Pcmu,
            CodecKind::Pcma => Imp::Pcma,
            CodecKind::G722 => Imp::G722 {
                enc: Box::default(),
                dec: Box::default(),
            },
            CodecKind::Opus => Imp::Opus(Box::new(opus::OpusCodec::new(
                rate,
                params.bitrate,
                params.fec,
                params.expected_loss_percent,
            )?)),
            CodecKind::L16 => Imp::L16,
        };
        Ok(Self {
            params,
            imp,
            plc: Plc::new(rate),
        })
    }

    /// The parameters this codec was built with.
    #[must_use]
    pub fn params(&self) -> CodecParams {
        self.params
    }

    /// Which codec this is.
    #[must_use]
    pub fn kind(&self) -> CodecKind {
        self.params.kind
    }

    /// PCM sample rate in Hz.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.params.sample_rate
    }

    /// RTP clock rate in Hz (8000 for G.722 and 48000 for Opus, per RFC 3551 / RFC 7587).
    #[must_use]
    pub fn clock_rate(&self) -> u32 {
        match self.params.kind {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 8000,
            CodecKind::Opus => 48_000,
            CodecKind::L16 => self.params.sample_rate,
        }
    }

    /// PCM samples in one 20 ms frame.
    #[must_use]
    pub fn samples_per_frame(&self) -> usize {
        (self.params.sample_rate / 50) as usize
    }

    /// RTP timestamp increment per 20 ms frame.
    #[must_use]
    pub fn timestamp_step(&self) -> u32 {
        self.clock_rate() / 50
    }

    /// The static RTP payload type (RFC 3551), if the codec has one at this rate.
    #[must_use]
    pub fn static_payload_type(&self) -> Option<u8> {
        match self.params.kind {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::G722 => Some(9),
            CodecKind::Opus | CodecKind::L16 => None,
        }
    }

    /// The payload type to offer by default: the static one, else a conventional dynamic
    /// number (Opus 111, L16 96); SDP negotiation may override it.
    #[must_use]
    pub fn default_payload_type(&self) -> u8 {
        self.static_payload_type()
            .unwrap_or(match self.params.kind {
                CodecKind::Opus => 111,
                _ => 96,
            })
    }

    /// The SDP `rtpmap` encoding name.
    #[must_use]
    pub fn encoding_name(&self) -> &'static str {
        match self.params.kind {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
            CodecKind::L16 => "L16",
        }
    }

    /// Largest encoded size of one 20 ms frame in bytes (an output buffer of this size
    /// always suffices for [`Codec::encode`]).
    #[must_use]
    pub fn max_payload_len(&self) -> usize {
        match self.params.kind {
            CodecKind::Pcmu | CodecKind::Pcma => 160,
            CodecKind::G722 => 160,
            CodecKind::Opus => 1275,
            CodecKind::L16 => 2 * self.samples_per_frame(),
        }
    }

    /// Encodes one 20 ms frame (`pcm.len() == samples_per_frame()`) into `out`; returns the
    /// payload length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, DspError> {
        let frame = self.samples_per_frame();
        if pcm.len() != frame {
            return Err(DspError::FrameLength {
                expected: frame,
                got: pcm.len(),
            });
        }
        let needed = match self.params.kind {
            CodecKind::Pcmu | CodecKind::Pcma => frame,
            CodecKind::G722 => frame / 2,
            CodecKind::L16 => frame * 2,
            CodecKind::Opus => 1,
        };
        if out.len() < needed {
            return Err(DspError::OutputTooSmall {
                needed,
                got: out.len(),
            });
        }
        match &mut self.imp {
            Imp::Pcmu => Ok(g711::encode_ulaw(pcm, out)),
            Imp::Pcma => Ok(g711::encode_alaw(pcm, out)),
            Imp::G722 { enc, .. } => Ok(enc.encode(pcm, out)),
            Imp::Opus(o) => o.encode(pcm, out),
            Imp::L16 => {
                for (dst, &s) in out.chunks_exact_mut(2).zip(pcm) {
                    dst.copy_from_slice(&s.to_be_bytes());
                }
                Ok(needed)
            }
        }
    }

    /// Decodes one payload into `out`; returns the number of samples written.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DspError> {
        let needed = match self.params.kind {
            CodecKind::Pcmu | CodecKind::Pcma => payload.len(),
            CodecKind::G722 => payload.len() * 2,
            CodecKind::L16 => {
                if payload.len() % 2 != 0 {
                    return Err(DspError::Malformed("L16 payload has an odd length"));
                }
                payload.len() / 2
            }
            CodecKind::Opus => 0,
        };
        if out.len() < needed {
            return Err(DspError::OutputTooSmall {
                needed,
                got: out.len(),
            });
        }
        let n = match &mut self.imp {
            Imp::Pcmu => g711::decode_ulaw(payload, out),
            Imp::Pcma => g711::decode_alaw(payload, out),
            Imp::G722 { dec, .. } => dec.decode(payload, out),
            Imp::Opus(o) => return o.decode(payload, out),
            Imp::L16 => {
                for (dst, src) in out.iter_mut().zip(payload.chunks_exact(2)) {
                    *dst = i16::from_be_bytes([src[0], src[1]]);
                }
                needed
            }
        };
        self.plc.good_frame(&mut out[..n]);
        Ok(n)
    }

    /// Recovers a lost frame from the following packet `next`: Opus decodes its in-band FEC
    /// data; the other codecs have none and conceal instead. Writes one 20 ms frame.
    pub fn decode_fec(&mut self, next: &[u8], out: &mut [i16]) -> Result<usize, DspError> {
        match &mut self.imp {
            Imp::Opus(o) => o.decode_fec(next, out),
            _ => Ok(self.conceal(out)),
        }
    }

    /// Conceals one lost 20 ms frame into `out` (PLC); returns the samples written.
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        let n = self.samples_per_frame().min(out.len());
        match &mut self.imp {
            Imp::Opus(o) => o.conceal(&mut out[..n]),
            _ => {
                self.plc.conceal(&mut out[..n]);
                n
            }
        }
    }

    /// Writes one 20 ms frame of silence (DTX / no stream) and arms the fade-in of the next
    /// decoded frame; returns the samples written.
    pub fn silence(&mut self, out: &mut [i16]) -> usize {
        let n = self.samples_per_frame().min(out.len());
        self.plc.silence(&mut out[..n]);
        n
    }

    /// Opus encoder lookahead in samples (0 for the other codecs).
    pub fn lookahead(&mut self) -> usize {
        match &mut self.imp {
            Imp::Opus(o) => o.lookahead(),
            _ => 0,
        }
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
