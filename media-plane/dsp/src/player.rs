//! Prompt playback: a PCM buffer (e.g. a WAV prompt) out as 20 ms frames at the leg's rate.

use std::sync::Arc;

use crate::error::DspError;
use crate::resample::Resampler;

/// Whether the player still has audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerState {
    /// The frame holds prompt audio (possibly padded with silence at the very end).
    Playing,
    /// The prompt is over; the frame is silence.
    Finished,
}

/// Plays shared mono PCM, resampling when the prompt's rate differs from the leg's.
///
/// Prompts are loaded once and shared (`Arc<[i16]>`) between all calls playing them; each
/// player only keeps a position and, when rates differ, a streaming resampler.
#[derive(Debug, Clone)]
pub struct Player {
    pcm: Arc<[i16]>,
    pos: usize,
    looping: bool,
    /// Source samples per 20 ms.
    src_frame: usize,
    /// Output samples per 20 ms.
    out_frame: usize,
    resampler: Option<Resampler>,
    /// Source scratch (one 20 ms frame).
    scratch: Vec<i16>,
    /// Frames of silence still to push through the resampler to flush its delay line.
    flush: usize,
}

impl Player {
    /// Plays `pcm` (mono at `src_rate`) as frames at `out_rate`; `looping` restarts at the
    /// end (music on hold). Rates: 8000, 16000 or 48000.
    pub fn new(
        pcm: Arc<[i16]>,
        src_rate: u32,
        out_rate: u32,
        looping: bool,
    ) -> Result<Self, DspError> {
        let resampler = if src_rate == out_rate {
            for r in [src_rate, out_rate] {
                if !matches!(r, 8000 | 16_000 | 48_000) {
                    return Err(DspError::UnsupportedRate(r));
                }
            }
            None
        } else {
            Some(Resampler::new(src_rate, out_rate)?)
        };
        let src_frame = (src_rate / 50) as usize;
        let flush = resampler
            .as_ref()
            .map_or(0, |r| r.delay().div_ceil((out_rate / 50) as usize));
        Ok(Self {
            pcm,
            pos: 0,
            looping,
            src_frame,
            out_frame: (out_rate / 50) as usize,
            resampler,
            scratch: vec![0; src_frame],
            flush,
        })
    }

    /// Output samples per frame.
    #[must_use]
    pub fn samples_per_frame(&self) -> usize {
        self.out_frame
    }

    /// Restarts from the beginning.
    pub fn rewind(&mut self) {
        self.pos = 0;
        if let Some(r) = &mut self.resampler {
            r.reset();
            self.flush = r.delay().div_ceil(self.out_frame);
        }
    }

    /// Writes the next 20 ms into `out[..samples_per_frame()]`.
    pub fn next_frame(&mut self, out: &mut [i16]) -> Result<PlayerState, DspError> {
        if out.len() < self.out_frame {
            return Err(DspError::OutputTooSmall {
                needed: self.out_frame,
                got: out.len(),
            });
        }
        let out = &mut out[..self.out_frame];
        let src_done = (self.pcm.is_empty() || !self.looping) && self.pos >= self.pcm.len();
        if src_done && (self.resampler.is_none() || self.flush == 0) {
            out.fill(0);
            return Ok(PlayerState::Finished);
        }
        // Next source frame, wrapping when looping, zero-padded at the end.
        let mut filled = 0;
        while filled < self.src_frame {
            if self.pos >= self.pcm.len() {
                if self.looping && !self.pcm.is_empty() {
                    self.pos = 0;
                } else {
                    break;
                }
            }
            let n = (self.src_frame - filled).min(self.pcm.len() - self.pos);
            self.scratch[filled..filled + n].copy_from_slice(&self.pcm[self.pos..self.pos + n]);
            filled += n;
            self.pos += n;
        }
        self.scratch[filled..].fill(0);
        if src_done {
            self.flush -= 1;
        }
        match &mut self.resampler {
            None => out.copy_from_slice(&self.scratch),
            Some(r) => {
                let mut tmp = [0i16; 961];
                let n = r.process(&self.scratch, &mut tmp)?;
                let n = n.min(out.len());
                out[..n].copy_from_slice(&tmp[..n]);
                out[n..].fill(0);
            }
        }
        Ok(PlayerState::Playing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsig::{rms, tone};

    #[test]
    fn plays_whole_prompt_then_finishes() {
        let pcm: Arc<[i16]> = (1..=500i16).collect::<Vec<_>>().into();
        let mut p = Player::new(pcm, 8000, 8000, false).unwrap();
        let mut out = [0i16; 160];
        let mut got = Vec::new();
        while p.next_frame(&mut out).unwrap() == PlayerState::Playing {
            got.extend_from_slice(&out);
        }
        assert_eq!(got.len(), 640);
        assert_eq!(&got[..500], (1..=500).collect::<Vec<i16>>().as_slice());
        assert!(got[500..].iter().all(|&s| s == 0));
        assert_eq!(p.next_frame(&mut out).unwrap(), PlayerState::Finished);
        p.rewind();
        assert_eq!(p.next_frame(&mut out).unwrap(), PlayerState::Playing);
        assert_eq!(out[0], 1);
    }

    #[test]
    fn resamples_to_the_leg_rate_and_flushes_the_tail() {
        let pcm: Arc<[i16]> = tone(8000, 400.0, 8000.0, 8000).into();
        let mut p = Player::new(pcm, 8000, 48_000, false).unwrap();
        let mut out = vec![0i16; 960];
        let mut got = Vec::new();
        while p.next_frame(&mut out).unwrap() == PlayerState::Playing {
            got.extend_from_slice(&out);
        }
        // One second of audio plus the flushed filter delay, rounded up to whole frames.
        assert!(
            got.len() >= 48_000 + 192 && got.len() <= 48_000 + 960 * 2,
            "{}",
            got.len()
        );
        assert!((rms(&got[4800..43_200]) / (8000.0 / 2f64.sqrt()) - 1.0).abs() < 0.01);
    }

    #[test]
    fn loops_seamlessly() {
        let pcm: Arc<[i16]> = (0..100i16).collect::<Vec<_>>().into();
        let mut p = Player::new(pcm, 16_000, 16_000, true).unwrap();
        let mut out = [0i16; 320];
        for _ in 0..10 {
            assert_eq!(p.next_frame(&mut out).unwrap(), PlayerState::Playing);
        }
        // 10 frames = 3200 samples = 32 loops exactly.
        p.next_frame(&mut out).unwrap();
        assert_eq!(&out[..3], &[0, 1, 2]);
        assert_eq!(out[99], 99);
        assert_eq!(out[100], 0);
        let empty: Arc<[i16]> = Vec::new().into();
        let mut e = Player::new(empty, 8000, 8000, true).unwrap();
        assert_eq!(e.next_frame(&mut out).unwrap(), PlayerState::Finished);
        assert!(e.next_frame(&mut out[..10]).is_err());
        assert!(Player::new(Arc::from(vec![0i16]), 44_100, 44_100, false).is_err());
    }
}
