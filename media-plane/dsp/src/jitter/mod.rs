//! Adaptive jitter buffer: packets in at arrival time, exactly one 20 ms playout decision out
//! per [`JitterBuffer::pop`].
//!
//! Playout model. Frame `f` of a stream (RTP timestamp `base + f · frame`) is scheduled at
//! time `timestamp + P`, where `P = min_transit + target` comes from the
//! [`estimator`](self) (fastest observed transit plus the delay covering 95 % of packets).
//! Each `pop(now)` plays the next frame and compares `now` with that frame's scheduled time:
//! more than ¾ frame late and the buffer skips one frame (shrinking the delay); more than
//! ¾ frame early and it inserts one concealment frame without advancing (growing the delay).
//! So the delay follows the measured jitter one frame per call, and `pop` may be called on an
//! imprecise timer.
//!
//! Robustness:
//! * reordering: packets are stored by frame index in a ring of slots sized for the maximum
//!   delay; duplicates are detected with a 1024-packet sequence-number bitmap;
//! * late packets (their frame already played) are dropped and counted, but still feed the
//!   delay statistics so the target grows;
//! * loss: a missing frame with later packets buffered is concealed, and the next packet is
//!   offered for Opus in-band FEC;
//! * DTX / end of talk-spurt: with nothing buffered, up to `max_conceal_frames` are concealed,
//!   then silence; the schedule keeps running, so a resumed stream lands at the same delay;
//! * SSRC change: immediate resynchronisation to the new stream;
//! * timestamp or sequence jumps beyond the buffer's reach: resynchronisation when the packet
//!   starts a talk-spurt (marker bit) or when a second consecutive packet confirms the new
//!   timeline (a single stray packet is discarded).
//!
//! The buffer allocates everything in [`JitterBuffer::new`]; insert and pop never allocate.

mod buffer;
mod estimator;
mod pcm;
mod stream;

pub use pcm::{Frame, FrameKind, PcmJitterBuffer};

use crate::error::DspError;
use estimator::DelayEstimator;
use stream::{SeqTracker, Unwrapper};

/// Jitter buffer configuration. All delays in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream (8000 for PCMU/PCMA/G.722, 48000 for Opus).
    pub clock_rate: u32,
    /// Frame (packet) duration; 20 ms.
    pub frame_ms: u32,
    /// Lowest target delay.
    pub min_delay_ms: u32,
    /// Highest target delay (also sizes the slot ring).
    pub max_delay_ms: u32,
    /// Delay used until enough packets have been seen to measure jitter.
    pub initial_delay_ms: u32,
    /// Largest payload accepted, in bytes.
    pub max_payload: usize,
    /// Packets in the delay-statistics window.
    pub window: usize,
    /// Share of packets the target delay should cover (0.5..=1.0).
    pub quantile: f64,
    /// Frames concealed with an empty buffer before switching to silence.
    pub max_conceal_frames: u32,
}

impl JitterConfig {
    /// Defaults for a stream with the given RTP clock rate: 20 ms frames, delay 20–400 ms
    /// (60 ms initially), 1500-byte payloads, 128-packet window, 95 % quantile, 3 frames of
    /// concealment.
    #[must_use]
    pub const fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            frame_ms: 20,
            min_delay_ms: 20,
            max_delay_ms: 400,
            initial_delay_ms: 60,
            max_payload: 1500,
            window: 128,
            quantile: 0.95,
            max_conceal_frames: 3,
        }
    }

    fn validate(&self) -> Result<(), DspError> {
        let bad = |name, reason| Err(DspError::InvalidParameter { name, reason });
        if !(8000..=96_000).contains(&self.clock_rate) {
            return bad("clock_rate", "must be 8000..=96000 Hz");
        }
        if !(10..=60).contains(&self.frame_ms)
            || (u64::from(self.clock_rate) * u64::from(self.frame_ms)) % 1000 != 0
        {
            return bad(
                "frame_ms",
                "must be 10..=60 ms and a whole number of clock ticks",
            );
        }
        if self.min_delay_ms > self.initial_delay_ms
            || self.initial_delay_ms > self.max_delay_ms
            || self.max_delay_ms > 2000
        {
            return bad("delay", "need min <= initial <= max <= 2000 ms");
        }
        if !(1..=65_535).contains(&self.max_payload) {
            return bad("max_payload", "must be 1..=65535 bytes");
        }
        if !(8..=4096).contains(&self.window) {
            return bad("window", "must be 8..=4096 packets");
        }
        if !(0.5..=1.0).contains(&self.quantile) {
            return bad("quantile", "must be 0.5..=1.0");
        }
        Ok(())
    }
}

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored for playout.
    Buffered,
    /// Stored after resynchronising to a new SSRC or timeline.
    Resynced,
    /// Already received (same sequence number).
    Duplicate,
    /// Its frame has already been played or skipped.
    Late,
    /// Out of the buffer's reach; kept as a resynchronisation candidate only.
    Discarded,
    /// Larger than `max_payload`.
    TooLarge,
}

/// One playout decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode this packet.
    Packet {
        /// The RTP payload.
        payload: &'a [u8],
        /// Its sequence number.
        seq: u16,
        /// Its RTP timestamp.
        ts: u32,
        /// Its marker bit.
        marker: bool,
    },
    /// The frame is missing: conceal it. `fec` is the next packet's payload when buffered
    /// (Opus can rebuild the lost frame from its in-band FEC data).
    Conceal {
        /// The following packet, if already received.
        fec: Option<&'a [u8]>,
    },
    /// Nothing to play (no stream yet, waiting for the initial delay, or a long gap / DTX).
    Silence,
}

/// Counters and current state, for logs, metrics and RTCP.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitterStats {
    /// Packets stored for playout.
    pub received: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// Packets that arrived after their frame was played.
    pub late: u64,
    /// Packets never received (RFC 3550 accounting: expected minus received, late included).
    pub lost: u64,
    /// Frames concealed (loss, empty buffer, or delay growth).
    pub concealed: u64,
    /// Concealed frames for which the next packet was available for FEC.
    pub fec_opportunities: u64,
    /// Frames inserted to grow the delay (counted in `concealed` too).
    pub stretched: u64,
    /// Frames skipped to shrink the delay.
    pub skipped: u64,
    /// Silence decisions after the stream started.
    pub silence: u64,
    /// Resynchronisations (SSRC change, timestamp jump).
    pub resyncs: u64,
    /// Out-of-reach or oversized packets discarded.
    pub discarded: u64,
    /// RFC 3550 interarrival jitter in ms.
    pub jitter_ms: f64,
    /// Current target delay above the fastest transit, in ms.
    pub target_delay_ms: f64,
    /// Delay of the last played frame above the fastest transit, in ms.
    pub current_delay_ms: f64,
    /// Packets currently buffered.
    pub buffered: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    used: bool,
    frame: i64,
    seq: u16,
    ts: u32,
    marker: bool,
    len: usize,
}

/// Per-SSRC timeline state.
#[derive(Debug, Clone)]
struct Stream {
    ssrc: u32,
    ts: Unwrapper,
    seqs: SeqTracker,
    /// Extended timestamp of frame 0.
    base: i64,
    /// Next frame to play.
    next_frame: i64,
    /// Highest frame index received.
    max_frame: i64,
    /// Whether playout has begun (initial delay elapsed).
    started: bool,
    /// Consecutive frames concealed with an empty buffer.
    conceal_run: u32,
}

/// A packet seen out of reach, waiting for a second one to confirm a new timeline.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

/// The adaptive jitter buffer (packet level; see [`PcmJitterBuffer`] for decoded audio).
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    /// RTP clock units per frame.
    frame: i64,
    slots: Vec<Slot>,
    payloads: Vec<u8>,
    stream: Option<Stream>,
    candidate: Option<Candidate>,
    estimator: DelayEstimator,
    stats: JitterStats,
    lost_before: u64,
}

#[cfg(test)]
mod netem;
#[cfg(test)]
mod tests;
