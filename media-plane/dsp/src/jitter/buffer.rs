//! The [`JitterBuffer`] state machine: insert, pop, resynchronisation.

use super::estimator::DelayEstimator;
use super::stream::{SeqCheck, SeqTracker, Unwrapper};
use super::{
    Candidate, InsertOutcome, JitterBuffer, JitterConfig, JitterStats, Playout, Slot, Stream,
};
use crate::error::DspError;

/// Times beyond this (about 34 years in ms) are clamped so arithmetic cannot overflow.
const MAX_TIME_MS: u64 = 1 << 40;

impl JitterBuffer {
    /// Creates an empty buffer; fails on an inconsistent configuration.
    pub fn new(cfg: JitterConfig) -> Result<Self, DspError> {
        cfg.validate()?;
        let per_ms = |ms: u32| i64::from(cfg.clock_rate) * i64::from(ms) / 1000;
        let frame = per_ms(cfg.frame_ms);
        // Room for the maximum delay plus a few frames of early arrivals.
        let slot_count = (cfg.max_delay_ms / cfg.frame_ms) as usize + 8;
        let estimator = DelayEstimator::new(
            cfg.window,
            cfg.quantile,
            frame,
            per_ms(cfg.min_delay_ms),
            per_ms(cfg.max_delay_ms),
            per_ms(cfg.initial_delay_ms),
        );
        Ok(Self {
            cfg,
            frame,
            slots: vec![Slot::default(); slot_count],
            payloads: vec![0; slot_count * cfg.max_payload],
            stream: None,
            candidate: None,
            estimator,
            stats: JitterStats::default(),
            lost_before: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &JitterConfig {
        &self.cfg
    }

    /// Current counters and delay figures.
    #[must_use]
    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats;
        s.lost = self.lost_before + self.stream.as_ref().map_or(0, |st| st.seqs.lost());
        let to_ms = |v: f64| v * 1000.0 / f64::from(self.cfg.clock_rate);
        s.jitter_ms = to_ms(self.estimator.jitter());
        s.target_delay_ms = to_ms(self.estimator.target() as f64);
        s.buffered = self.slots.iter().filter(|sl| sl.used).count();
        s
    }

    /// Drops every buffered packet and the stream state (counters are kept).
    pub fn reset(&mut self) {
        self.end_stream();
        self.candidate = None;
    }

    fn now_ticks(&self, now_ms: u64) -> i64 {
        (now_ms.min(MAX_TIME_MS) as i64) * i64::from(self.cfg.clock_rate) / 1000
    }

    fn end_stream(&mut self) {
        if let Some(st) = self.stream.take() {
            self.lost_before += st.seqs.lost();
        }
        for s in &mut self.slots {
            s.used = false;
        }
    }

    /// Frame index of an extended timestamp (rounded to the nearest frame).
    fn frame_of(&self, base: i64, ext: i64) -> i64 {
        (ext - base + self.frame / 2).div_euclid(self.frame)
    }

    /// Accepts one RTP packet that arrived at `now_ms`.
    pub fn insert(
        &mut self,
        now_ms: u64,
        seq: u16,
        ts: u32,
        ssrc: u32,
        marker: bool,
        payload: &[u8],
    ) -> InsertOutcome {
        if payload.len() > self.cfg.max_payload {
            self.stats.discarded += 1;
            return InsertOutcome::TooLarge;
        }
        let now = self.now_ticks(now_ms);
        let Some(st) = self.stream.as_ref() else {
            self.resync(now, seq, ts, ssrc);
            return self.store(now, seq, ts, marker, payload, InsertOutcome::Resynced);
        };
        if st.ssrc != ssrc {
            tracing::trace!(old = st.ssrc, new = ssrc, "jitter buffer: ssrc changed");
            self.resync(now, seq, ts, ssrc);
            return self.store(now, seq, ts, marker, payload, InsertOutcome::Resynced);
        }
        let ext = st.ts.extend(ts);
        let frame = self.frame_of(st.base, ext);
        let ahead = frame - st.next_frame;
        // Reach: the slot ring forwards, the statistics window backwards.
        let reach_back = self.slots.len() as i64 * 4;
        let in_reach = ahead < self.slots.len() as i64
            && ahead > -reach_back
            && st.seqs.distance(seq).abs() < 512;
        if !in_reach {
            let confirmed = self.candidate.is_some_and(|c| {
                c.ssrc == ssrc
                    && seq.wrapping_sub(c.seq).wrapping_sub(1) < 3
                    && ts.wrapping_sub(c.ts) <= 3 * self.frame as u32
            });
            if marker || confirmed {
                tracing::trace!(ssrc, seq, ts, "jitter buffer: timeline jump, resync");
                self.resync(now, seq, ts, ssrc);
                return self.store(now, seq, ts, marker, payload, InsertOutcome::Resynced);
            }
            self.candidate = Some(Candidate { ssrc, seq, ts });
            self.stats.discarded += 1;
            return InsertOutcome::Discarded;
        }
        self.candidate = None;
        self.store(now, seq, ts, marker, payload, InsertOutcome::Buffered)
    }

    /// Starts a new timeline at this packet; playout waits for the target delay again.
    fn resync(&mut self, now: i64, seq: u16, ts: u32, ssrc: u32) {
        let had_stream = self.stream.is_some();
        self.end_stream();
        self.candidate = None;
        if had_stream {
            self.stats.resyncs += 1;
        }
        self.estimator.new_timeline();
        tracing::trace!(ssrc, seq, ts, now, "jitter buffer: new timeline");
        self.stream = Some(Stream {
            ssrc,
            ts: Unwrapper::new(ts),
            seqs: SeqTracker::new(seq),
            base: i64::from(ts),
            next_frame: 0,
            max_frame: -1,
            started: false,
            conceal_run: 0,
        });
    }

    fn store(
        &mut self,
        now: i64,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: &[u8],
        ok: InsertOutcome,
    ) -> InsertOutcome {
        let slot_count = self.slots.len() as i64;
        let frame_len = self.frame;
        let Some(st) = self.stream.as_mut() else {
            return InsertOutcome::Discarded;
        };
        match st.seqs.record(seq) {
            SeqCheck::Duplicate => {
                self.stats.duplicates += 1;
                return InsertOutcome::Duplicate;
            }
            SeqCheck::Ancient => {
                self.stats.late += 1;
                return InsertOutcome::Late;
            }
            SeqCheck::New => {}
        }
        let ext = st.ts.extend(ts);
        st.ts.advance(ts, ext);
        // Every in-reach packet, late or not, informs the delay statistics.
        self.estimator.update(now - ext);
        let frame = (ext - st.base + frame_len / 2).div_euclid(frame_len);
        if frame < st.next_frame {
            self.stats.late += 1;
            return InsertOutcome::Late;
        }
        if frame - st.next_frame >= slot_count {
            // Unreachable after the reach check, kept as a guard.
            self.stats.discarded += 1;
            return InsertOutcome::Discarded;
        }
        let index = frame.rem_euclid(slot_count) as usize;
        let slot = &mut self.slots[index];
        if slot.used && slot.frame == frame {
            // Another packet for the same frame (different sequence number): keep the first.
            self.stats.duplicates += 1;
            return InsertOutcome::Duplicate;
        }
        *slot = Slot {
            used: true,
            frame,
            seq,
            ts,
            marker,
            len: payload.len(),
        };
        let start = index * self.cfg.max_payload;
        self.payloads[start..start + payload.len()].copy_from_slice(payload);
        st.max_frame = st.max_frame.max(frame);
        self.stats.received += 1;
        ok
    }

    /// The packet just played held `frames` more frames than one (a 40 or 60 ms packet
    /// whose rest the caller plays out itself): the timeline moves past them without
    /// counting them lost, and whatever was buffered for them is dropped.
    pub fn covered(&mut self, frames: u32) {
        let slot_count = self.slots.len() as i64;
        let Some(st) = self.stream.as_mut() else {
            return;
        };
        for k in 0..i64::from(frames).min(slot_count) {
            let frame = st.next_frame + k;
            let index = frame.rem_euclid(slot_count) as usize;
            if self.slots[index].used && self.slots[index].frame == frame {
                self.slots[index].used = false;
            }
        }
        st.next_frame += i64::from(frames);
    }

    /// Playout decision for the frame due at `now_ms`; call once per frame period.
    pub fn pop(&mut self, now_ms: u64) -> Playout<'_> {
        let now = self.now_ticks(now_ms);
        let frame_len = self.frame;
        let slot_count = self.slots.len() as i64;
        let max_conceal = self.cfg.max_conceal_frames;
        let schedule = self.estimator.min_transit() + self.estimator.target();
        let has_data = self.estimator.has_data();
        let Some(st) = self.stream.as_mut() else {
            return Playout::Silence;
        };
        // How far behind schedule the next frame is (positive: late, we should hurry).
        let due = |st: &Stream| now - schedule - (st.base + st.next_frame * frame_len);
        let margin = frame_len * 3 / 4;
        if !st.started {
            if !has_data || due(st) < -margin {
                return Playout::Silence;
            }
            st.started = true;
        } else if due(st) < -margin {
            // Too early: the target grew. Insert a frame without advancing.
            self.stats.stretched += 1;
            self.stats.concealed += 1;
            return Playout::Conceal { fec: None };
        } else if due(st) > margin {
            // Too late: the target shrank (drop frames up to the next buffered packet, when
            // that late: with 40 or 60 ms packets the frames after a packet's first are
            // inside it, and landing there would lose the whole packet) or the caller stalled
            // for several frames (jump straight to the frame due now).
            let behind = due(st) / frame_len;
            let landing = (1..=3i64).find(|k| {
                let slot = &self.slots[(st.next_frame + k).rem_euclid(slot_count) as usize];
                slot.used && slot.frame == st.next_frame + k
            });
            let skip = match landing {
                _ if behind > 4 => behind,
                Some(k) if due(st) > margin + (k - 1) * frame_len => k,
                // Not that late yet, or nothing buffered to land on (dropping a frame would
                // only be concealed): play on.
                _ => 0,
            };
            for k in 0..skip.min(slot_count) {
                let frame = st.next_frame + k;
                let index = frame.rem_euclid(slot_count) as usize;
                if self.slots[index].used && self.slots[index].frame == frame {
                    self.slots[index].used = false;
                }
            }
            st.next_frame += skip;
            self.stats.skipped += skip as u64;
        }
        let f = st.next_frame;
        st.next_frame += 1;
        self.stats.current_delay_ms = ((now - schedule - (st.base + f * frame_len)
            + self.estimator.target()) as f64)
            * 1000.0
            / f64::from(self.cfg.clock_rate);
        let index = f.rem_euclid(slot_count) as usize;
        let slot = self.slots[index];
        if slot.used && slot.frame == f {
            self.slots[index].used = false;
            st.conceal_run = 0;
            let start = index * self.cfg.max_payload;
            return Playout::Packet {
                payload: &self.payloads[start..start + slot.len],
                seq: slot.seq,
                ts: slot.ts,
                marker: slot.marker,
            };
        }
        if slot.used && slot.frame < f {
            // Stale (skipped past): free it.
            self.slots[index].used = false;
        }
        if st.max_frame > f {
            // A gap with later packets buffered: a loss.
            st.conceal_run = 0;
            self.stats.concealed += 1;
            let next = (f + 1).rem_euclid(slot_count) as usize;
            let ns = self.slots[next];
            if ns.used && ns.frame == f + 1 {
                self.stats.fec_opportunities += 1;
                let start = next * self.cfg.max_payload;
                return Playout::Conceal {
                    fec: Some(&self.payloads[start..start + ns.len]),
                };
            }
            return Playout::Conceal { fec: None };
        }
        if st.conceal_run < max_conceal {
            st.conceal_run += 1;
            self.stats.concealed += 1;
            return Playout::Conceal { fec: None };
        }
        self.stats.silence += 1;
        Playout::Silence
    }
}
