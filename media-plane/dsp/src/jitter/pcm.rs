//! A jitter buffer that decodes: one 20 ms PCM frame per `pop`, whatever the network did.

use super::{InsertOutcome, JitterBuffer, JitterConfig, JitterStats, Playout};
use crate::codec::Codec;
use crate::error::DspError;

/// How a PCM frame was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Decoded from the packet scheduled for this frame.
    Decoded,
    /// Rebuilt from the next packet's in-band FEC data (Opus).
    Fec,
    /// Synthesized by packet-loss concealment.
    Concealed,
    /// Silence (no stream yet, initial delay, or a gap longer than the concealment limit).
    Silence,
}

/// One 20 ms frame of PCM at the codec's sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Exactly `samples_per_frame` samples.
    pub pcm: &'a [i16],
    /// Where the samples came from.
    pub kind: FrameKind,
}

/// [`JitterBuffer`] plus the leg's [`Codec`]: packets in, PCM frames out.
#[derive(Debug)]
pub struct PcmJitterBuffer {
    jb: JitterBuffer,
    codec: Codec,
    /// Decode scratch: room for a 120 ms Opus packet.
    pcm: Vec<i16>,
    /// The not yet played frames of the last packet decoded (`pcm[carry.0..carry.1]`),
    /// when it was longer than one frame.
    carry: (usize, usize),
    frame: usize,
    decode_errors: u64,
}

impl PcmJitterBuffer {
    /// Wraps `codec`; `cfg.clock_rate` must equal the codec's RTP clock rate.
    pub fn new(codec: Codec, cfg: JitterConfig) -> Result<Self, DspError> {
        if cfg.clock_rate != codec.clock_rate() {
            return Err(DspError::InvalidParameter {
                name: "clock_rate",
                reason: "jitter buffer clock rate differs from the codec's RTP clock rate",
            });
        }
        let frame = codec.samples_per_frame();
        Ok(Self {
            jb: JitterBuffer::new(cfg)?,
            pcm: vec![0; frame * 6],
            carry: (0, 0),
            frame,
            codec,
            decode_errors: 0,
        })
    }

    /// Accepts one RTP packet (see [`JitterBuffer::insert`]).
    pub fn insert(
        &mut self,
        now_ms: u64,
        seq: u16,
        ts: u32,
        ssrc: u32,
        marker: bool,
        payload: &[u8],
    ) -> InsertOutcome {
        self.jb.insert(now_ms, seq, ts, ssrc, marker, payload)
    }

    /// The next 20 ms of audio. Undecodable packets are concealed (and counted). A packet
    /// longer than one frame (40 or 60 ms of G.711, G.722 or L16; an Opus packet of 40 or
    /// 60 ms, one frame or several) is decoded once and played out over as many pops; a
    /// part of a frame left at its end is dropped.
    pub fn pop(&mut self, now_ms: u64) -> Frame<'_> {
        let frame = self.frame;
        let (start, end) = self.carry;
        if end >= start + frame {
            self.carry.0 += frame;
            return Frame {
                pcm: &self.pcm[start..start + frame],
                kind: FrameKind::Decoded,
            };
        }
        self.carry = (0, 0);
        let out = &mut self.pcm;
        let mut extra = 0;
        let kind = match self.jb.pop(now_ms) {
            Playout::Packet { payload, .. } => match self.codec.decode(payload, out) {
                Ok(n) if n >= frame => {
                    extra = n / frame - 1;
                    FrameKind::Decoded
                }
                Ok(n) => {
                    // A short packet: complete the frame with concealment.
                    let mut tail = [0i16; 960];
                    let missing = (frame - n).min(tail.len());
                    self.codec.conceal(&mut tail[..]);
                    out[n..n + missing].copy_from_slice(&tail[..missing]);
                    FrameKind::Decoded
                }
                Err(e) => {
                    self.decode_errors += 1;
                    tracing::trace!(error = %e, "jitter buffer: undecodable payload concealed");
                    self.codec.conceal(out);
                    FrameKind::Concealed
                }
            },
            Playout::Conceal { fec: Some(next) } => match self.codec.decode_fec(next, out) {
                Ok(_) if self.codec.kind() == crate::CodecKind::Opus => FrameKind::Fec,
                Ok(_) => FrameKind::Concealed,
                Err(_) => {
                    self.codec.conceal(out);
                    FrameKind::Concealed
                }
            },
            Playout::Conceal { fec: None } => {
                self.codec.conceal(out);
                FrameKind::Concealed
            }
            Playout::Silence => {
                self.codec.silence(out);
                FrameKind::Silence
            }
        };
        if extra > 0 {
            self.carry = (frame, frame * (extra + 1));
            self.jb.covered(extra as u32);
        }
        Frame {
            pcm: &self.pcm[..frame],
            kind,
        }
    }

    /// Buffer statistics.
    #[must_use]
    pub fn stats(&self) -> JitterStats {
        self.jb.stats()
    }

    /// Payloads that failed to decode (and were concealed instead).
    #[must_use]
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }

    /// The codec (e.g. to inspect its parameters).
    #[must_use]
    pub fn codec(&self) -> &Codec {
        &self.codec
    }
}
