//! Call recording on a media core: the packet path copies each tapped leg's G.711 payloads
//! into that leg's jitter buffer (a terminating path: reordering, loss concealment); every
//! 20 ms the core pops one frame per leg, interleaves (stereo) or mixes (mono) them, and
//! about once a second hands the PCM to the writer task.
//!
//! Only G.711 is decoded here (payload types 0 and 8). A leg of a transcoding bridge is
//! instead fed by the bridge's own timer (`on_pcm`): the PCM it already decoded, resampled
//! to the recording's 8 kHz. Packets of any other payload type on a leg that is not
//! transcoded (G.722, Opus, dynamic types, comfort noise, telephone-event) are not
//! recorded: they are counted as skipped and that channel holds silence.

use std::collections::VecDeque;

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

/// 8 kHz PCM a transcoding bridge hands over (up to four 20 ms frames).
const FED: usize = 4 * FRAME;

struct LegIn {
    jb: Option<(u8, PcmJitterBuffer)>,
    skipped: u64,
    /// PCM a transcoding bridge feeds this leg (allocated with the recording).
    fed: Box<Fed>,
}

/// Decoded PCM from a transcoding bridge, taken one frame per tick once two are waiting
/// (the bridge's and the recording's 20 ms schedules are not in phase).
struct Fed {
    /// Set once the bridge feeds this leg: packets are then not decoded here.
    on: bool,
    pcm: [i16; FED],
    len: usize,
    primed: bool,
    underruns: u64,
}

impl LegIn {
    fn new() -> Self {
        Self {
            jb: None,
            skipped: 0,
            fed: Box::new(Fed {
                on: false,
                pcm: [0; FED],
                len: 0,
                primed: false,
                underruns: 0,
            }),
        }
    }

    /// PCM decoded by the bridge (oldest samples dropped when the recording falls behind).
    fn feed(&mut self, pcm: &[i16]) {
        let fed = &mut *self.fed;
        fed.on = true;
        let pcm = &pcm[pcm.len().saturating_sub(FED)..];
        let over = (fed.len + pcm.len()).saturating_sub(FED);
        if over > 0 {
            fed.pcm.copy_within(over..fed.len, 0);
            fed.len -= over;
        }
        fed.pcm[fed.len..fed.len + pcm.len()].copy_from_slice(pcm);
        fed.len += pcm.len();
    }

    fn insert(&mut self, now_ms: u64, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) {
        if self.fed.on {
            return;
        }
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
        if self.fed.on {
            let fed = &mut *self.fed;
            fed.primed |= fed.len >= 2 * FRAME;
            if fed.primed && fed.len >= FRAME {
                out.copy_from_slice(&fed.pcm[..FRAME]);
                fed.pcm.copy_within(FRAME..fed.len, 0);
                fed.len -= FRAME;
            } else {
                out.fill(0);
                if fed.primed {
                    fed.underruns += 1;
                    fed.primed = false;
                }
            }
            return;
        }
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
        if let Some(job) = self.take_chunk() {
            if writer.try_send(job).is_err() {
                self.lost_chunks += 1;
            }
        }
    }

    /// The pending PCM as a write job.
    fn take_chunk(&mut self) -> Option<WriteJob> {
        self.frames = 0;
        if self.pcm.is_empty() {
            return None;
        }
        let cap = self.chunk_bytes();
        let bytes = std::mem::replace(&mut self.pcm, Vec::with_capacity(cap));
        Some(WriteJob::Data { id: self.id, bytes })
    }
}

/// A core's recordings, addressed by the small index the endpoints' taps carry.
pub(crate) struct Recorders {
    slots: Vec<Option<Recording>>,
    /// Last chunks and closes of stopped recordings the writer queue had no room for,
    /// retried in order every tick (a stopped recording loses nothing and is always closed).
    closing: VecDeque<WriteJob>,
}

impl Recorders {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            closing: VecDeque::new(),
        }
    }

    /// Nothing recording and nothing left to close.
    pub(crate) fn is_empty(&self) -> bool {
        self.closing.is_empty() && self.slots.iter().all(Option::is_none)
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

    /// Timer path of a transcoding bridge: `pcm` is what the tapped leg's party said (already
    /// decoded, 8 kHz).
    #[inline]
    pub(crate) fn on_pcm(&mut self, tap: Tap, pcm: &[i16]) {
        if let Some(Some(rec)) = self.slots.get_mut(usize::from(tap.recording)) {
            if let Some(leg) = rec.inputs.get_mut(usize::from(tap.channel)) {
                leg.feed(pcm);
            }
        }
    }

    /// The 20 ms tick of every recording.
    pub(crate) fn tick(&mut self, now_ms: u64, writer: &WriterHandle) {
        while let Some(job) = self.closing.pop_front() {
            if let Err(job) = writer.try_send(job) {
                self.closing.push_front(job);
                break;
            }
        }
        for rec in self.slots.iter_mut().flatten() {
            rec.tick(now_ms, writer);
        }
    }

    /// Ends recording `index`: flushes what is pending and asks the writer to close the
    /// file. Returns the recording (its legs' taps must be cleared by the caller).
    pub(crate) fn stop(&mut self, index: u16, writer: &WriterHandle) -> Option<Recording> {
        let mut rec = self.slots.get_mut(usize::from(index))?.take()?;
        let close = WriteJob::Close {
            id: rec.id,
            endpoint: rec.legs[0],
        };
        for job in rec.take_chunk().into_iter().chain([close]) {
            // Behind anything already waiting, to keep each file's jobs in order.
            if !self.closing.is_empty() {
                self.closing.push_back(job);
            } else if let Err(job) = writer.try_send(job) {
                tracing::debug!(recording = rec.id, "writer queue full: close deferred");
                self.closing.push_back(job);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use glommio::LocalExecutorBuilder;
    use warden_dsp::Wav;
    use warden_shared::recording_file_name;

    fn ep(slot: u32) -> EndpointHandle {
        EndpointHandle {
            slot,
            generation: 1,
        }
    }

    async fn drain(writer: &WriterHandle) {
        while writer.busy() {
            glommio::executor().yield_task_queue_now().await;
        }
    }

    #[test]
    fn legs_are_jitter_buffered_interleaved_and_closed_even_after_a_full_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let ex = LocalExecutorBuilder::default()
            .io_memory(128 * 1024)
            .make()
            .unwrap();
        ex.run(async move {
            let writer = crate::writer::spawn(path.clone(), 0).unwrap();
            let mut recs = Recorders::new();
            let taps = recs
                .start(9, [ep(1), ep(2)], RecordMode::Stereo, &writer)
                .unwrap();
            assert_eq!((taps[0].channel, taps[1].channel), (0, 1));
            // Left: PCMU 0xff (digital silence); right: PCMA 0x55 (also silence) then a
            // loud constant, arriving out of order; one G.722 packet is skipped.
            for frame in 0..60u16 {
                let now = u64::from(frame) * 20;
                let seq = if frame % 2 == 0 { frame + 1 } else { frame - 1 };
                recs.on_rtp(
                    taps[0],
                    now,
                    0,
                    frame,
                    u32::from(frame) * 160,
                    1,
                    &[0xff; 160],
                );
                recs.on_rtp(taps[1], now, 8, seq, u32::from(seq) * 160, 2, &[0xaa; 160]);
                recs.on_rtp(taps[1], now, 9, 0, 0, 3, &[0; 160]);
                recs.tick(now, &writer);
            }
            // Jam the writer queue (it has not run yet), then stop: the close waits.
            while writer.room() > 0 {
                let _ = writer.try_send(WriteJob::Data {
                    id: 1234,
                    bytes: Vec::new(),
                });
            }
            let rec = recs.stop(taps[0].recording, &writer).unwrap();
            assert_eq!(rec.legs, [ep(1), ep(2)]);
            assert_eq!(rec.inputs[1].skipped, 60, "G.722 packets are not recorded");
            assert!(!recs.is_empty(), "a close is still owed");
            drain(&writer).await;
            assert!(writer.take_closed().is_empty());
            recs.tick(1200, &writer);
            assert!(recs.is_empty());
            drain(&writer).await;
            let closed = writer.take_closed();
            assert_eq!(closed.len(), 1);
            assert!(!closed[0].failed);
            let bytes = std::fs::read(path.join(recording_file_name(9))).unwrap();
            let wav = Wav::parse(&bytes).unwrap();
            assert_eq!(wav.format().channels, 2);
            // Nothing was lost to the full queue: 60 frames of 20 ms.
            assert_eq!(wav.frames(), 60 * FRAME);
            let samples: Vec<i16> = wav.samples().collect();
            assert!(
                samples.iter().step_by(2).all(|s| s.abs() < 16),
                "left is silent"
            );
            let right_loud = samples
                .iter()
                .skip(1)
                .step_by(2)
                .filter(|s| s.abs() > 1000)
                .count();
            assert!(
                right_loud > 40 * FRAME,
                "right holds the callee: {right_loud}"
            );
        });
    }
}
