//! Call recording on a media core: the packet path copies each tapped leg's G.711 payloads
//! into that leg's jitter buffer (a terminating path: reordering, loss concealment); every
//! 20 ms the core pops one frame per leg, interleaves (stereo) or mixes (mono) them, and
//! about once a second hands the PCM to the writer task.
//!
//! Only G.711 is decoded (payload types 0 and 8). Packets of any other payload type
//! (G.722, Opus, dynamic types, comfort noise, telephone-event) are not recorded: they are
//! counted as skipped and that channel holds silence; a leg negotiated at another clock
//! rate than 8 kHz is refused with `UnsupportedCodec`.

use warden_dsp::{Codec, CodecParams, JitterConfig, PcmJitterBuffer, WavFormat};
use warden_shared::{EndpointHandle, RecordMode};

use crate::writer::{WriteJob, WriterHandle};

/// Samples per 20 ms at 8 kHz.
pub(crate) const FRAME: usize = 160;
/// Frames per chunk handed to the writer (one second).
const CHUNK_FRAMES: usize = 50;

/// Which recording and channel an endpoint feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tap {
    pub(crate) recording: u16,
    /// 0: left (first leg), 1: right (second leg).
    pub(crate) channel: u8,
}

struct LegIn {
    jb: Option<(u8, PcmJitterBuffer)>,
    skipped: u64,
}

impl LegIn {
    fn new() -> Self {
        Self {
            jb: None,
            skipped: 0,
        }
    }

    fn insert(&mut self, now_ms: u64, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) {
        let params = match pt {
            0 => CodecParams::pcmu(),
            8 => CodecParams::pcma(),
            _ => {
                self.skipped += 1;
                return;
            }
        };
        if self.jb.as_ref().is_none_or(|(p, _)| *p != pt) {
            let made =
                Codec::new(params).and_then(|c| PcmJitterBuffer::new(c, JitterConfig::new(8000)));
            match made {
                Ok(jb) => self.jb = Some((pt, jb)),
                Err(_) => {
                    self.skipped += 1;
                    return;
                }
            }
        }
        if let Some((_, jb)) = &mut self.jb {
            let _ = jb.insert(now_ms, seq, ts, ssrc, false, payload);
        }
    }

    fn pop(&mut self, now_ms: u64, out: &mut [i16; FRAME]) {
        match &mut self.jb {
            Some((_, jb)) => {
                let frame = jb.pop(now_ms);
                let n = frame.pcm.len().min(FRAME);
                out[..n].copy_from_slice(&frame.pcm[..n]);
                out[n..].fill(0);
            }
            None => out.fill(0),
        }
    }
}

/// One call being recorded.
pub(crate) struct Recording {
    pub(crate) id: u64,
    pub(crate) legs: [EndpointHandle; 2],
    mode: RecordMode,
    inputs: [LegIn; 2],
    pcm: Vec<u8>,
    frames: usize,
    /// Chunks the writer queue had no room for.
    pub(crate) lost_chunks: u64,
}

impl Recording {
    pub(crate) fn format(mode: RecordMode) -> WavFormat {
        match mode {
            RecordMode::Stereo => WavFormat::stereo(8000),
            RecordMode::Mono => WavFormat::mono(8000),
        }
    }

    fn chunk_bytes(&self) -> usize {
        CHUNK_FRAMES * FRAME * 2 * usize::from(Self::format(self.mode).channels)
    }

    /// Next 20 ms of both legs into the pending chunk; hands full chunks to the writer.
    fn tick(&mut self, now_ms: u64, writer: &WriterHandle) {
        let mut left = [0i16; FRAME];
        let mut right = [0i16; FRAME];
        self.inputs[0].pop(now_ms, &mut left);
        self.inputs[1].pop(now_ms, &mut right);
        match self.mode {
            RecordMode::Stereo => {
                for (l, r) in left.iter().zip(&right) {
                    self.pcm.extend_from_slice(&l.to_le_bytes());
                    self.pcm.extend_from_slice(&r.to_le_bytes());
                }
            }
            RecordMode::Mono => {
                for (l, r) in left.iter().zip(&right) {
                    self.pcm
                        .extend_from_slice(&l.saturating_add(*r).to_le_bytes());
                }
            }
        }
        self.frames += 1;
        if self.frames >= CHUNK_FRAMES {
            self.flush(writer);
        }
    }

    /// Hands the pending PCM to the writer (dropped and counted when its queue is full).
    fn flush(&mut self, writer: &WriterHandle) {
        self.frames = 0;
        if self.pcm.is_empty() {
            return;
        }
        let cap = self.chunk_bytes();
        let bytes = std::mem::replace(&mut self.pcm, Vec::with_capacity(cap));
        if writer
            .try_send(WriteJob::Data { id: self.id, bytes })
            .is_err()
        {
            self.lost_chunks += 1;
        }
    }
}

/// A core's recordings, addressed by the small index the endpoints' taps carry.
pub(crate) struct Recorders {
    slots: Vec<Option<Recording>>,
}

impl Recorders {
    pub(crate) fn new() -> Self {
        Self { slots: Vec::new() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Starts recording `legs`; returns the taps for the two endpoints. Fails (`None`)
    /// when the writer queue has no room for the open and a chunk.
    pub(crate) fn start(
        &mut self,
        id: u64,
        legs: [EndpointHandle; 2],
        mode: RecordMode,
        writer: &WriterHandle,
    ) -> Option<[Tap; 2]> {
        if writer.room() < 2 {
            return None;
        }
        let index = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < usize::from(u16::MAX) => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        writer
            .try_send(WriteJob::Open {
                id,
                format: Recording::format(mode),
            })
            .ok()?;
        let mut rec = Recording {
            id,
            legs,
            mode,
            inputs: [LegIn::new(), LegIn::new()],
            pcm: Vec::new(),
            frames: 0,
            lost_chunks: 0,
        };
        rec.pcm.reserve(rec.chunk_bytes());
        self.slots[index] = Some(rec);
        let recording = index as u16;
        Some([
            Tap {
                recording,
                channel: 0,
            },
            Tap {
                recording,
                channel: 1,
            },
        ])
    }

    /// Packet path: one accepted RTP packet of a tapped leg.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn on_rtp(
        &mut self,
        tap: Tap,
        now_ms: u64,
        pt: u8,
        seq: u16,
        ts: u32,
        ssrc: u32,
        payload: &[u8],
    ) {
        if let Some(Some(rec)) = self.slots.get_mut(usize::from(tap.recording)) {
            if let Some(leg) = rec.inputs.get_mut(usize::from(tap.channel)) {
                leg.insert(now_ms, pt, seq, ts, ssrc, payload);
            }
        }
    }

    /// The 20 ms tick of every recording.
    pub(crate) fn tick(&mut self, now_ms: u64, writer: &WriterHandle) {
        for rec in self.slots.iter_mut().flatten() {
            rec.tick(now_ms, writer);
        }
    }

    /// Ends recording `index`: flushes what is pending and asks the writer to close the
    /// file. Returns the recording (its legs' taps must be cleared by the caller).
    pub(crate) fn stop(&mut self, index: u16, writer: &WriterHandle) -> Option<Recording> {
        let mut rec = self.slots.get_mut(usize::from(index))?.take()?;
        rec.flush(writer);
        let close = WriteJob::Close {
            id: rec.id,
            endpoint: rec.legs[0],
        };
        if writer.try_send(close).is_err() {
            rec.lost_chunks += 1;
            tracing::warn!(
                recording = rec.id,
                "writer queue full: recording not closed"
            );
        }
        let skipped = rec.inputs[0].skipped + rec.inputs[1].skipped;
        tracing::debug!(
            recording = rec.id,
            skipped,
            lost_chunks = rec.lost_chunks,
            "recording stopped"
        );
        Some(rec)
    }
}
