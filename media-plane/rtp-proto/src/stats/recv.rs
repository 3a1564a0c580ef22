//! Per-stream receive statistics: sequence validation (RFC 3550 A.1), loss (A.3)
//! and interarrival jitter (A.8).
//!
//! Arrival times are nanoseconds from any monotonic clock (only differences are
//! used); they are converted to timestamp units with the stream's clock rate.
//! Duplicates are recognised with a 128-packet history bitmap and, unlike the bare
//! RFC algorithm, are not counted as received, so loss never goes negative because
//! of duplication.

use crate::rtcp::ReportBlock;
use crate::rtp::RtpPacket;
use crate::stats::quality::{self, Codec, Quality};

/// Packets in sequence needed before a new source is considered valid.
pub const MIN_SEQUENTIAL: u16 = 2;
/// Largest forward jump treated as loss rather than a discontinuity.
pub const MAX_DROPOUT: u16 = 3000;
/// Largest backward distance treated as reordering rather than a discontinuity.
pub const MAX_MISORDER: u16 = 100;
/// Sequence-number modulus.
const SEQ_MOD: u64 = 1 << 16;
/// Bits in the duplicate-detection history.
const HISTORY: u16 = 128;
/// Nanoseconds per second.
const NANOS: f64 = 1.0e9;

/// What [`RecvStats::on_packet`] concluded about a packet's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqOutcome {
    /// The next expected packet or a forward jump below [`MAX_DROPOUT`] (the gap counts
    /// as loss until the missing packets arrive). Also the packet that ends probation.
    InOrder,
    /// A packet already received within the last 128 sequence numbers; not counted.
    Duplicate,
    /// A late packet up to [`MAX_MISORDER`] behind the highest one; counted.
    Reordered,
    /// The second of two sequential packets after a large jump: the sender restarted
    /// its sequence space and statistics were re-initialised from this packet.
    Restarted,
    /// The source is still on probation ([`MIN_SEQUENTIAL`] packets in sequence not yet
    /// seen); not counted.
    Probation,
    /// A large jump: the packet is not counted, but if the next packet follows it the
    /// stream is considered restarted.
    BadSeq,
}

impl SeqOutcome {
    /// Whether the packet was counted as received (and fed the jitter estimate).
    #[must_use]
    pub fn is_counted(self) -> bool {
        matches!(self, Self::InOrder | Self::Reordered | Self::Restarted)
    }
}

/// A plain copy of a stream's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamStats {
    /// The stream's RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Packets counted as received since the stream was created.
    pub packets: u64,
    /// Payload bytes of those packets.
    pub bytes: u64,
    /// Packets expected since the last (re)initialisation of the sequence space.
    pub expected: u64,
    /// Cumulative packets lost since the last (re)initialisation (expected minus
    /// received; negative only if packets from before the base sequence arrive late).
    pub lost: i64,
    /// Fraction lost since the last [`RecvStats::end_interval`], in 1/256 units.
    pub fraction_lost: u8,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Interarrival jitter in milliseconds.
    pub jitter_ms: f64,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub highest_seq_ext: u32,
    /// Duplicate packets seen (not counted as received).
    pub duplicates: u64,
    /// Late packets counted as reordered.
    pub reordered: u64,
    /// Times the sequence space was restarted after a large jump.
    pub restarts: u64,
    /// Packets discarded as large jumps.
    pub bad_seq: u64,
    /// Packets seen while on probation.
    pub probation: u64,
    /// Whether the source has passed probation.
    pub valid: bool,
}

impl StreamStats {
    /// Cumulative loss ratio, 0.0..=1.0.
    #[must_use]
    pub fn loss_ratio(&self) -> f64 {
        if self.expected == 0 || self.lost <= 0 {
            0.0
        } else {
            (self.lost as f64 / self.expected as f64).min(1.0)
        }
    }

    /// E-model estimate from the cumulative loss ratio; see [`quality::estimate`].
    #[must_use]
    pub fn quality(&self, codec: Codec, one_way_delay_ms: Option<f64>) -> Quality {
        quality::estimate(codec, self.loss_ratio(), one_way_delay_ms)
    }
}

/// Where a stream's statistics stand, for a forwarder that counts the next packets
/// elsewhere; see [`RecvStats::continuation`] and [`RecvStats::absorb`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Continuation {
    /// Extended highest sequence number (cycles in the bits above 16).
    pub highest_seq_ext: u64,
    /// Arrival time of the last counted packet (the same clock as `on_packet`'s).
    pub last_arrival_ns: u64,
    /// Its RTP timestamp.
    pub last_ts: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: f64,
}

/// Receive-side state of one RTP stream (one SSRC).
///
/// Fixed size, no allocation: safe to keep one per stream on the media path.
#[derive(Debug, Clone)]
pub struct RecvStats {
    clock_rate: u32,
    units_per_ns: f64,
    min_sequential: u16,
    started: bool,
    probation: u16,
    max_seq: u16,
    /// Wrap count times 65536.
    cycles: u64,
    base_seq: u64,
    /// Sequence number that would confirm a restart (65536 means none).
    bad_seq: u32,
    /// Bit `i` set: extended sequence `max - i` received.
    history: u128,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Jitter in timestamp units (A.8 floating-point form).
    jitter: f64,
    /// Arrival and RTP timestamp of the previous counted packet, if any.
    last: Option<(u64, u32)>,
    packets: u64,
    bytes: u64,
    duplicates: u64,
    reordered: u64,
    restarts: u64,
    bad_seq_count: u64,
    probation_count: u64,
}

impl RecvStats {
    /// Creates statistics for a stream with the given RTP clock rate (Hz), using the
    /// RFC 3550 probation of [`MIN_SEQUENTIAL`] packets.
    #[must_use]
    pub fn new(clock_rate: u32) -> Self {
        Self::with_probation(clock_rate, MIN_SEQUENTIAL)
    }

    /// Like [`RecvStats::new`] with a custom probation length; 0 or 1 validates a
    /// source on its first packet.
    #[must_use]
    pub fn with_probation(clock_rate: u32, min_sequential: u16) -> Self {
        Self {
            clock_rate,
            units_per_ns: f64::from(clock_rate) / NANOS,
            min_sequential,
            started: false,
            probation: 0,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD as u32,
            history: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter: 0.0,
            last: None,
            packets: 0,
            bytes: 0,
            duplicates: 0,
            reordered: 0,
            restarts: 0,
            bad_seq_count: 0,
            probation_count: 0,
        }
    }

    /// Accounts one packet: its sequence number, RTP timestamp, arrival time in
    /// nanoseconds (any monotonic epoch) and payload length in bytes.
    pub fn on_packet(
        &mut self,
        seq: u16,
        rtp_ts: u32,
        arrival_ns: u64,
        payload_len: usize,
    ) -> SeqOutcome {
        let outcome = self.update_seq(seq);
        match outcome {
            SeqOutcome::InOrder | SeqOutcome::Reordered | SeqOutcome::Restarted => {
                self.packets += 1;
                self.bytes += payload_len as u64;
                self.update_jitter(rtp_ts, arrival_ns);
            }
            SeqOutcome::Duplicate => self.duplicates += 1,
            SeqOutcome::Probation => self.probation_count += 1,
            SeqOutcome::BadSeq => self.bad_seq_count += 1,
        }
        if outcome == SeqOutcome::Reordered {
            self.reordered += 1;
        }
        outcome
    }

    /// [`RecvStats::on_packet`] for a parsed packet.
    pub fn on_rtp(&mut self, packet: &RtpPacket<'_>, arrival_ns: u64) -> SeqOutcome {
        self.on_packet(
            packet.sequence(),
            packet.timestamp(),
            arrival_ns,
            packet.payload().len(),
        )
    }

    /// Current statistics; the fraction lost covers the interval since the last
    /// [`RecvStats::end_interval`].
    #[must_use]
    pub fn snapshot(&self) -> StreamStats {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval as u64) << 8)
                .checked_div(expected_interval)
                .unwrap_or(0)
                .min(255) as u8
        };
        StreamStats {
            clock_rate: self.clock_rate,
            packets: self.packets,
            bytes: self.bytes,
            expected,
            lost: expected as i64 - self.received as i64,
            fraction_lost,
            jitter: self.jitter as u32,
            jitter_ms: if self.clock_rate == 0 {
                0.0
            } else {
                self.jitter * 1000.0 / f64::from(self.clock_rate)
            },
            highest_seq_ext: (self.cycles + u64::from(self.max_seq)) as u32,
            duplicates: self.duplicates,
            reordered: self.reordered,
            restarts: self.restarts,
            bad_seq: self.bad_seq_count,
            probation: self.probation_count,
            valid: self.started && self.probation == 0,
        }
    }

    /// Returns the current statistics and starts a new loss interval (RFC 3550 A.3).
    pub fn end_interval(&mut self) -> StreamStats {
        let stats = self.snapshot();
        self.expected_prior = self.expected();
        self.received_prior = self.received;
        stats
    }

    /// Builds an RTCP report block about this stream (source `ssrc`) and starts a new
    /// loss interval. `last_sr` and `delay_since_last_sr` are the LSR and DLSR fields
    /// (0 when no sender report was received).
    pub fn report_block(
        &mut self,
        ssrc: u32,
        last_sr: u32,
        delay_since_last_sr: u32,
    ) -> ReportBlock {
        let s = self.end_interval();
        ReportBlock {
            ssrc,
            fraction_lost: s.fraction_lost,
            cumulative_lost: s.lost.clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: s.highest_seq_ext,
            jitter: s.jitter,
            last_sr,
            delay_since_last_sr,
        }
    }

    /// Where a forwarder outside these statistics (the kernel's) should continue from:
    /// the extended highest sequence number, the last counted packet's arrival and RTP
    /// timestamp, and the jitter in timestamp units. `None` before the source is valid.
    #[must_use]
    pub fn continuation(&self) -> Option<Continuation> {
        let (arrival_ns, ts) = self.last?;
        if !self.started || self.probation != 0 {
            return None;
        }
        Some(Continuation {
            highest_seq_ext: self.cycles + u64::from(self.max_seq),
            last_arrival_ns: arrival_ns,
            last_ts: ts,
            jitter: self.jitter,
        })
    }

    /// Takes in `packets` in-order packets (`bytes` of payload) counted elsewhere from
    /// [`RecvStats::continuation`], which ended at `end` (its highest sequence number, last
    /// packet and jitter). Older sequence numbers than `end`'s highest arriving later
    /// count as reordered. May be called again for later packets of the same count, as long
    /// as `packets` only covers what was not absorbed yet.
    pub fn absorb(&mut self, packets: u64, bytes: u64, end: Continuation) {
        if packets == 0 {
            return;
        }
        self.received += packets;
        self.packets += packets;
        self.bytes += bytes;
        let ext = self.cycles + u64::from(self.max_seq);
        if end.highest_seq_ext <= ext {
            // Packets counted here meanwhile went further (they were newer).
            return;
        }
        let advance = end.highest_seq_ext - ext;
        self.history = if advance >= u64::from(HISTORY) {
            1
        } else {
            (self.history << advance) | 1
        };
        self.cycles = end.highest_seq_ext & !(SEQ_MOD - 1);
        self.max_seq = (end.highest_seq_ext & (SEQ_MOD - 1)) as u16;
        self.jitter = end.jitter;
        self.last = Some((end.last_arrival_ns, end.last_ts));
    }

    /// Arrival time of the last counted packet, if any.
    #[must_use]
    pub fn last_arrival_ns(&self) -> Option<u64> {
        self.last.map(|(t, _)| t)
    }

    fn expected(&self) -> u64 {
        if !self.started || self.probation != 0 {
            return 0;
        }
        (self.cycles + u64::from(self.max_seq) + 1).saturating_sub(self.base_seq)
    }

    /// RFC 3550 A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD as u32 + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.history = 1;
        self.last = None;
    }

    /// RFC 3550 A.1 `update_seq`, extended with duplicate detection.
    fn update_seq(&mut self, seq: u16) -> SeqOutcome {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            if self.min_sequential <= 1 {
                self.probation = 0;
                self.received = 1;
                return SeqOutcome::InOrder;
            }
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received = 1;
                    return SeqOutcome::InOrder;
                }
            } else {
                self.probation = self.min_sequential - 1;
                self.max_seq = seq;
            }
            return SeqOutcome::Probation;
        }
        if udelta == 0 {
            return SeqOutcome::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            self.history = if udelta >= HISTORY {
                1
            } else {
                (self.history << udelta) | 1
            };
            self.received += 1;
            return SeqOutcome::InOrder;
        }
        if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
                self.received = 1;
                self.restarts += 1;
                return SeqOutcome::Restarted;
            }
            self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD as u32 - 1);
            return SeqOutcome::BadSeq;
        }
        let back = 0u16.wrapping_sub(udelta);
        let bit = 1u128 << back;
        if self.history & bit != 0 {
            return SeqOutcome::Duplicate;
        }
        self.history |= bit;
        self.received += 1;
        SeqOutcome::Reordered
    }

    /// RFC 3550 A.8: `J += (|D| - J) / 16` with `D` the difference of relative transit
    /// times of this and the previous counted packet, in timestamp units.
    fn update_jitter(&mut self, rtp_ts: u32, arrival_ns: u64) {
        if let Some((prev_arrival, prev_ts)) = self.last {
            let arrival_delta = arrival_ns.wrapping_sub(prev_arrival) as i64 as f64;
            let ts_delta = f64::from(rtp_ts.wrapping_sub(prev_ts) as i32);
            let d = (arrival_delta * self.units_per_ns - ts_delta).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last = Some((arrival_ns, rtp_ts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Feeds `seqs` with perfectly paced 20 ms / 160-sample G.711 timing.
    fn feed(stats: &mut RecvStats, seqs: &[u16]) -> Vec<SeqOutcome> {
        seqs.iter()
            .map(|&s| {
                let ts = u32::from(s).wrapping_mul(160);
                stats.on_packet(s, ts, u64::from(s) * 20 * MS, 160)
            })
            .collect()
    }

    #[test]
    fn packets_counted_elsewhere_are_absorbed_as_if_seen_here() {
        // 65530.. wraps: the second half (with one packet lost) is counted elsewhere.
        let seqs: Vec<u16> = (0..40u16).map(|i| 65530u16.wrapping_add(i)).collect();
        let (here, there) = seqs.split_at(10);
        let mut direct = RecvStats::with_probation(8000, 1);
        let mut split = RecvStats::with_probation(8000, 1);
        let arrive = |s: u16| (u64::from(s.wrapping_sub(65530)) * 20 + 3) * MS;
        for &s in here {
            let ts = u32::from(s).wrapping_mul(160);
            direct.on_packet(s, ts, arrive(s), 160);
            split.on_packet(s, ts, arrive(s), 160);
        }
        let start = split.continuation().unwrap();
        let mut counted = 0;
        for &s in there.iter().filter(|&&s| s != 5) {
            direct.on_packet(s, u32::from(s).wrapping_mul(160), arrive(s), 160);
            counted += 1;
        }
        let last = *there.last().unwrap();
        let direct_now = direct.snapshot();
        split.absorb(
            counted,
            counted * 160,
            Continuation {
                highest_seq_ext: start.highest_seq_ext + there.len() as u64,
                last_arrival_ns: arrive(last),
                last_ts: u32::from(last).wrapping_mul(160),
                jitter: direct_now.jitter_ms * 8.0,
            },
        );
        let split_now = split.snapshot();
        assert_eq!(split_now.packets, direct_now.packets);
        assert_eq!(split_now.bytes, direct_now.bytes);
        assert_eq!(split_now.expected, direct_now.expected);
        assert_eq!(split_now.lost, 1);
        assert_eq!(split_now.highest_seq_ext, direct_now.highest_seq_ext);
        // The lost packet arriving late counts as reordered, and the next one in order.
        assert_eq!(
            split.on_packet(5, 5 * 160, arrive(5), 160),
            SeqOutcome::Reordered
        );
        let next = last.wrapping_add(1);
        assert_eq!(
            split.on_packet(next, u32::from(next).wrapping_mul(160), arrive(next), 160),
            SeqOutcome::InOrder
        );
        assert_eq!(split.snapshot().lost, 0);
    }

    #[test]
    fn nothing_continues_before_a_valid_source() {
        let mut st = RecvStats::new(8000);
        assert_eq!(st.continuation(), None);
        st.on_packet(1, 160, MS, 160);
        assert_eq!(st.continuation(), None, "still on probation");
    }

    #[test]
    fn probation_then_in_order() {
        let mut st = RecvStats::new(8000);
        let out = feed(&mut st, &[100, 101, 102, 103]);
        use SeqOutcome::*;
        assert_eq!(out, vec![Probation, InOrder, InOrder, InOrder]);
        let s = st.snapshot();
        // Base is 101 (the packet ending probation): 101..=103 expected and received.
        assert_eq!(s.expected, 3);
        assert_eq!(s.lost, 0);
        assert_eq!(s.packets, 3);
        assert_eq!(s.bytes, 480);
        assert_eq!(s.highest_seq_ext, 103);
        assert_eq!(s.probation, 1);
        assert!(s.valid);
        assert_eq!(s.jitter, 0);
    }

    #[test]
    fn probation_resets_on_gap() {
        let mut st = RecvStats::new(8000);
        use SeqOutcome::*;
        assert_eq!(
            feed(&mut st, &[10, 12, 13]),
            vec![Probation, Probation, InOrder]
        );
        assert_eq!(st.snapshot().expected, 1);
        assert_eq!(st.snapshot().highest_seq_ext, 13);
    }

    #[test]
    fn without_probation_first_packet_counts() {
        let mut st = RecvStats::with_probation(8000, 0);
        assert_eq!(feed(&mut st, &[0]), vec![SeqOutcome::InOrder]);
        let s = st.snapshot();
        assert_eq!((s.expected, s.lost, s.highest_seq_ext), (1, 0, 0));
    }

    #[test]
    fn wraps_at_65535() {
        let mut st = RecvStats::new(8000);
        feed(&mut st, &[65533, 65534, 65535, 0, 1]);
        let s = st.snapshot();
        // Base 65534; extended highest is one cycle (65536) + 1.
        assert_eq!(s.highest_seq_ext, 65536 + 1);
        assert_eq!(s.expected, 65537 - 65534 + 1);
        assert_eq!(s.lost, 0);
        // A second copy of 65535 after the wrap is recognised as a duplicate.
        assert_eq!(feed(&mut st, &[65535]), vec![SeqOutcome::Duplicate]);
    }

    #[test]
    fn loss_and_fraction_lost() {
        let mut st = RecvStats::new(8000);
        // Base 1; 1..=10 expected, 3 and 7 missing.
        feed(&mut st, &[0, 1, 2, 4, 5, 6, 8, 9, 10]);
        let s = st.end_interval();
        assert_eq!(s.expected, 10);
        assert_eq!(s.lost, 2);
        // 2/10 * 256 = 51.2 -> 51
        assert_eq!(s.fraction_lost, 51);
        // Next interval: 11..=14 all received; cumulative unchanged, fraction 0.
        feed(&mut st, &[11, 12, 13, 14]);
        let s = st.snapshot();
        assert_eq!(s.lost, 2);
        assert_eq!(s.fraction_lost, 0);
        // Late arrival of 7 reduces cumulative loss; the interval gains a packet it
        // did not expect, so its fraction stays 0 (never negative).
        assert_eq!(feed(&mut st, &[7]), vec![SeqOutcome::Reordered]);
        let s = st.end_interval();
        assert_eq!(s.lost, 1);
        assert_eq!(s.fraction_lost, 0);
        assert_eq!(s.reordered, 1);
        let rb = st.report_block(0xABCD, 7, 9);
        assert_eq!(rb.cumulative_lost, 1);
        assert_eq!(rb.extended_highest_seq, 14);
        assert_eq!(
            (rb.ssrc, rb.last_sr, rb.delay_since_last_sr),
            (0xABCD, 7, 9)
        );
    }

    #[test]
    fn duplicates_are_not_counted() {
        let mut st = RecvStats::new(8000);
        use SeqOutcome::*;
        let out = feed(&mut st, &[1, 2, 3, 3, 4, 2, 5]);
        assert_eq!(
            out,
            vec![Probation, InOrder, InOrder, Duplicate, InOrder, Duplicate, InOrder]
        );
        let s = st.snapshot();
        assert_eq!(s.duplicates, 2);
        assert_eq!(s.lost, 0);
        assert_eq!(s.packets, 4);
        // Reordered then duplicated.
        let out = feed(&mut st, &[7, 6, 6]);
        assert_eq!(out, vec![InOrder, Reordered, Duplicate]);
        assert_eq!(st.snapshot().lost, 0);
    }

    #[test]
    fn large_jump_restarts_after_two_sequential() {
        let mut st = RecvStats::new(8000);
        use SeqOutcome::*;
        feed(&mut st, &[1, 2, 3, 4]);
        // 4 -> 20000 is beyond MAX_DROPOUT.
        assert_eq!(feed(&mut st, &[20000]), vec![BadSeq]);
        // Not sequential with 20000: still bad, and the old stream continues fine.
        assert_eq!(feed(&mut st, &[30000, 5]), vec![BadSeq, InOrder]);
        assert_eq!(st.snapshot().highest_seq_ext, 5);
        // Two sequential packets: restart from 40001.
        assert_eq!(
            feed(&mut st, &[40000, 40001, 40002]),
            vec![BadSeq, Restarted, InOrder]
        );
        let s = st.snapshot();
        assert_eq!(s.restarts, 1);
        assert_eq!(s.bad_seq, 3);
        assert_eq!(s.expected, 2);
        assert_eq!(s.lost, 0);
        assert_eq!(s.highest_seq_ext, 40002);
        assert_eq!(s.packets, 3 + 1 + 2);
    }

    #[test]
    fn dropout_and_misorder_boundaries() {
        let mut st = RecvStats::new(8000);
        use SeqOutcome::*;
        feed(&mut st, &[999, 1000]);
        // Jump of MAX_DROPOUT - 1 is loss.
        assert_eq!(feed(&mut st, &[1000 + 2999]), vec![InOrder]);
        assert_eq!(st.snapshot().lost, 2998);
        // Jump of exactly MAX_DROPOUT is a discontinuity.
        assert_eq!(feed(&mut st, &[3999 + 3000]), vec![BadSeq]);
        // 99 behind is reordering (not in history: a gap), 101 behind is a discontinuity.
        assert_eq!(feed(&mut st, &[3999 - 99]), vec![Reordered]);
        assert_eq!(feed(&mut st, &[3999 - 101]), vec![BadSeq]);
    }

    #[test]
    fn jitter_zero_for_perfect_pacing() {
        let mut st = RecvStats::new(8000);
        let seqs: Vec<u16> = (0..200).collect();
        feed(&mut st, &seqs);
        assert_eq!(st.snapshot().jitter_ms, 0.0);
    }

    #[test]
    fn jitter_converges_for_alternating_delay() {
        // Packets every 20 ms, every other one delayed by 4 ms: |D| = 4 ms = 32 units
        // at 8 kHz for every packet pair, so J converges to 32 units = 4 ms.
        let mut st = RecvStats::new(8000);
        for s in 0..400u16 {
            let arrival = u64::from(s) * 20 * MS + if s % 2 == 1 { 4 * MS } else { 0 };
            st.on_packet(s, u32::from(s) * 160, arrival, 160);
        }
        let s = st.snapshot();
        assert!((s.jitter_ms - 4.0).abs() < 1e-6, "{}", s.jitter_ms);
        assert_eq!(s.jitter, 31); // 31.99999.. truncated
    }

    #[test]
    fn jitter_first_steps_match_the_recurrence() {
        // Hand computation: counted packets start at seq 1 (after probation), so the
        // first D is between seq 1 and seq 2. Delay seq 2 by 16 ms = 128 units:
        // J1 = 128/16 = 8. Seq 3 on time: D = 128, J2 = 8 + (128 - 8)/16 = 15.5.
        let mut st = RecvStats::new(8000);
        let arrivals = [0, 20, 56, 60];
        for (s, a) in arrivals.iter().enumerate() {
            st.on_packet(s as u16, s as u32 * 160, a * MS, 160);
        }
        let s = st.snapshot();
        assert!((s.jitter_ms - 15.5 / 8.0).abs() < 1e-9, "{}", s.jitter_ms);
        assert_eq!(s.jitter, 15);
    }

    #[test]
    fn jitter_handles_timestamp_wrap() {
        let mut st = RecvStats::with_probation(8000, 0);
        let base = u32::MAX - 160 * 5;
        for i in 0..20u32 {
            st.on_packet(
                i as u16,
                base.wrapping_add(i * 160),
                u64::from(i) * 20 * MS,
                160,
            );
        }
        assert_eq!(st.snapshot().jitter, 0);
    }

    #[test]
    fn quality_from_snapshot() {
        let mut st = RecvStats::with_probation(8000, 0);
        // 100 expected, 99 received.
        let seqs: Vec<u16> = (0..100).filter(|&s| s != 50).collect();
        feed(&mut st, &seqs);
        let s = st.snapshot();
        assert!((s.loss_ratio() - 0.01).abs() < 1e-12);
        let q = s.quality(Codec::G711, None);
        assert!((q.r_factor - 89.560).abs() < 1e-3);
    }
}
