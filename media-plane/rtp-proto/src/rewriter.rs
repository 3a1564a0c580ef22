//! Per-direction relay rewriting: payload-type translation and a stable outgoing SSRC.
//!
//! With [`SsrcMode::Fixed`] the receiver always sees one SSRC and one continuous
//! sequence-number and timestamp space, even when the sender changes its SSRC (hold
//! music, transfer, a phone restarting its stream):
//!
//! - the first source is forwarded with its own sequence numbers and timestamps;
//! - when a packet with a new SSRC arrives, the new source is rebased: its first
//!   packet gets the sequence number after the highest one sent, and a timestamp
//!   advanced from the highest one sent by the wall-clock time elapsed since it was
//!   sent (at least 1), converted with the configured clock rate; that packet also
//!   gets the marker bit so the receiver's jitter buffer resynchronises;
//! - packets of the *previous* SSRC arriving within [`RewriterConfig::stale_guard_ns`]
//!   of the switch are late stragglers and are dropped instead of switching back;
//!   after that window a packet with the previous SSRC is treated as a new switch.
//!
//! With [`SsrcMode::PassThrough`] only the payload type is translated; SSRC changes
//! are still reported.

use crate::error::RtpError;
use crate::ptmap::PayloadTypeMap;
use crate::rtcp::{rewrite_with, SsrcRole};
use crate::rtp::RTP_HEADER_LEN;

/// What to do with the SSRC, sequence number and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsrcMode {
    /// Leave them as the sender set them.
    PassThrough,
    /// Send everything as this SSRC, rebasing sequence and timestamp on source changes.
    Fixed(u32),
}

/// Configuration of a [`StreamRewriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewriterConfig {
    /// Payload-type translation; unmapped types are dropped.
    pub payload_types: PayloadTypeMap,
    /// SSRC handling.
    pub ssrc: SsrcMode,
    /// Clock rate used to convert elapsed time into timestamp units when rebasing.
    pub clock_rate: u32,
    /// How long after a source switch packets of the previous SSRC are dropped, in ns.
    pub stale_guard_ns: u64,
}

impl RewriterConfig {
    /// Identity payload-type map, the given SSRC mode and clock rate, 200 ms guard.
    #[must_use]
    pub fn new(ssrc: SsrcMode, clock_rate: u32) -> Self {
        Self {
            payload_types: PayloadTypeMap::identity(),
            ssrc,
            clock_rate,
            stale_guard_ns: 200_000_000,
        }
    }
}

/// Result of rewriting one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewriteOutcome {
    /// Rewritten in place; send it.
    Forwarded,
    /// Rewritten in place and the first packet of a new input SSRC; send it.
    ForwardedNewSource {
        /// The input SSRC that was replaced.
        previous_ssrc: u32,
    },
    /// The payload type has no mapping; the buffer is unchanged, drop it.
    DroppedPayloadType(u8),
    /// A straggler from the previous input SSRC; the buffer is unchanged, drop it.
    DroppedStaleSource(u32),
}

impl RewriteOutcome {
    /// Whether the packet should be sent.
    #[must_use]
    pub fn is_forwarded(self) -> bool {
        matches!(self, Self::Forwarded | Self::ForwardedNewSource { .. })
    }
}

/// How a [`StreamRewriter`] in [`SsrcMode::Fixed`] rewrites its current source, for a
/// forwarder outside it (the kernel's) to apply to that source's next packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteadyRewrite {
    /// The input SSRC the offsets belong to.
    pub in_ssrc: u32,
    /// The SSRC the receiver sees.
    pub out_ssrc: u32,
    /// Added to the sequence number.
    pub seq_offset: u16,
    /// Added to the timestamp.
    pub ts_offset: u32,
}

/// Offsets applied to the current input source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Source {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
}

/// The highest output packet sent, the reference for rebasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutputMark {
    seq: u16,
    ts: u32,
    at_ns: u64,
}

/// Rewrites the packets of one direction of a relayed stream. Fixed size, no
/// allocation.
#[derive(Debug, Clone)]
pub struct StreamRewriter {
    config: RewriterConfig,
    current: Option<Source>,
    /// Previous input SSRC and when it was replaced.
    previous: Option<(u32, u64)>,
    mark: Option<OutputMark>,
    forwarded: u64,
    dropped: u64,
    switches: u64,
}

impl StreamRewriter {
    /// Creates a rewriter.
    #[must_use]
    pub fn new(config: RewriterConfig) -> Self {
        Self {
            config,
            current: None,
            previous: None,
            mark: None,
            forwarded: 0,
            dropped: 0,
            switches: 0,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &RewriterConfig {
        &self.config
    }

    /// Replaces the payload-type map (e.g. after a re-INVITE).
    pub fn set_payload_types(&mut self, map: PayloadTypeMap) {
        self.config.payload_types = map;
    }

    /// Rewrites the RTP packet in `buf` in place; `now_ns` is its arrival time from a
    /// monotonic clock. Only the 12-byte fixed header is read and written, so the
    /// caller should have validated the packet with [`crate::RtpPacket::parse`].
    #[inline]
    pub fn rewrite(&mut self, buf: &mut [u8], now_ns: u64) -> Result<RewriteOutcome, RtpError> {
        let available = buf.len();
        let head = buf
            .first_chunk_mut::<RTP_HEADER_LEN>()
            .ok_or(RtpError::TooShort {
                needed: RTP_HEADER_LEN,
                available,
            })?;
        let version = head[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let pt = head[1] & 0x7F;
        let Some(out_pt) = self.config.payload_types.get(pt) else {
            self.dropped += 1;
            return Ok(RewriteOutcome::DroppedPayloadType(pt));
        };
        let ssrc = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        let mut outcome = RewriteOutcome::Forwarded;
        match self.config.ssrc {
            SsrcMode::PassThrough => {
                match self.current {
                    Some(cur) if cur.ssrc != ssrc => {
                        outcome = RewriteOutcome::ForwardedNewSource {
                            previous_ssrc: cur.ssrc,
                        };
                        self.switches += 1;
                    }
                    _ => {}
                }
                self.current = Some(Source {
                    ssrc,
                    seq_offset: 0,
                    ts_offset: 0,
                });
                head[1] = (head[1] & 0x80) | out_pt;
            }
            SsrcMode::Fixed(out_ssrc) => {
                let seq = u16::from_be_bytes([head[2], head[3]]);
                let ts = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
                let mut marker = head[1] & 0x80;
                let src = match self.current {
                    Some(cur) if cur.ssrc == ssrc => cur,
                    None => {
                        let first = Source {
                            ssrc,
                            seq_offset: 0,
                            ts_offset: 0,
                        };
                        self.current = Some(first);
                        first
                    }
                    Some(cur) => {
                        if let Some((old, at)) = self.previous {
                            if old == ssrc && now_ns.saturating_sub(at) < self.config.stale_guard_ns
                            {
                                self.dropped += 1;
                                return Ok(RewriteOutcome::DroppedStaleSource(ssrc));
                            }
                        }
                        let src = self.rebase(ssrc, seq, ts, now_ns);
                        self.previous = Some((cur.ssrc, now_ns));
                        self.current = Some(src);
                        self.switches += 1;
                        marker = 0x80;
                        outcome = RewriteOutcome::ForwardedNewSource {
                            previous_ssrc: cur.ssrc,
                        };
                        src
                    }
                };
                let out_seq = seq.wrapping_add(src.seq_offset);
                let out_ts = ts.wrapping_add(src.ts_offset);
                head[1] = marker | out_pt;
                head[2..4].copy_from_slice(&out_seq.to_be_bytes());
                head[4..8].copy_from_slice(&out_ts.to_be_bytes());
                head[8..12].copy_from_slice(&out_ssrc.to_be_bytes());
                self.advance_mark(out_seq, out_ts, now_ns);
            }
        }
        self.forwarded += 1;
        Ok(outcome)
    }

    /// Offsets that continue the output after the highest packet sent.
    fn rebase(&self, ssrc: u32, seq: u16, ts: u32, now_ns: u64) -> Source {
        let Some(mark) = self.mark else {
            return Source {
                ssrc,
                seq_offset: 0,
                ts_offset: 0,
            };
        };
        let elapsed = u128::from(now_ns.saturating_sub(mark.at_ns));
        let units = elapsed * u128::from(self.config.clock_rate) / 1_000_000_000;
        let advance = u32::try_from(units).unwrap_or(u32::MAX).max(1);
        let out_seq = mark.seq.wrapping_add(1);
        let out_ts = mark.ts.wrapping_add(advance);
        Source {
            ssrc,
            seq_offset: out_seq.wrapping_sub(seq),
            ts_offset: out_ts.wrapping_sub(ts),
        }
    }

    /// Rewrites a compound RTCP packet sent by this direction's source so it matches
    /// the rewritten RTP, and returns how many fields changed.
    ///
    /// With [`SsrcMode::Fixed`]: sender fields carrying the current input SSRC become
    /// the output SSRC, and SR RTP timestamps of that source get the same offset as
    /// its RTP. If `reverse` is the rewriter of the opposite direction, source
    /// fields (report blocks, feedback targets) naming its output SSRC are mapped
    /// back to its current input SSRC, which is what the sender of those reports
    /// knows. Report-block counters are not translated. Nothing is written on error.
    pub fn rewrite_rtcp(
        &self,
        buf: &mut [u8],
        reverse: Option<&StreamRewriter>,
    ) -> Result<usize, RtpError> {
        let forward = match (self.config.ssrc, self.current) {
            (SsrcMode::Fixed(out), Some(cur)) => Some((cur, out)),
            _ => None,
        };
        let backward = reverse.and_then(|r| match (r.config.ssrc, r.current) {
            (SsrcMode::Fixed(out), Some(cur)) => Some((out, cur.ssrc)),
            _ => None,
        });
        rewrite_with(
            buf,
            |role, ssrc| match (role, forward, backward) {
                (SsrcRole::Sender, Some((cur, out)), _) if ssrc == cur.ssrc => out,
                (SsrcRole::Source, _, Some((out, input))) if ssrc == out => input,
                _ => ssrc,
            },
            |sender, ts| match forward {
                Some((cur, _)) if sender == cur.ssrc => ts.wrapping_add(cur.ts_offset),
                _ => ts,
            },
        )
    }

    /// The current source's rewrite, when the SSRC is fixed and a source is current.
    #[must_use]
    pub fn steady(&self) -> Option<SteadyRewrite> {
        match (self.config.ssrc, self.current) {
            (SsrcMode::Fixed(out_ssrc), Some(cur)) => Some(SteadyRewrite {
                in_ssrc: cur.ssrc,
                out_ssrc,
                seq_offset: cur.seq_offset,
                ts_offset: cur.ts_offset,
            }),
            _ => None,
        }
    }

    /// Accounts `packets` of the current source that were rewritten elsewhere with
    /// [`StreamRewriter::steady`]'s offsets, the newest of them with input sequence number
    /// `seq` and timestamp `ts`, at `at_ns`: later rebases continue after it.
    pub fn absorb(&mut self, packets: u64, seq: u16, ts: u32, at_ns: u64) {
        let Some(cur) = self.current else {
            return;
        };
        if packets == 0 {
            return;
        }
        self.forwarded += packets;
        self.advance_mark(
            seq.wrapping_add(cur.seq_offset),
            ts.wrapping_add(cur.ts_offset),
            at_ns,
        );
    }

    /// Makes output packet `seq` (timestamp `ts`, sent at `at_ns`) the rebase point when it
    /// is newer than the current one.
    fn advance_mark(&mut self, seq: u16, ts: u32, at_ns: u64) {
        let newer = match self.mark {
            None => true,
            Some(m) => (seq.wrapping_sub(m.seq) as i16) > 0,
        };
        if newer {
            self.mark = Some(OutputMark { seq, ts, at_ns });
        }
    }

    /// Packets forwarded so far.
    #[must_use]
    pub fn forwarded(&self) -> u64 {
        self.forwarded
    }

    /// Packets dropped so far (unmapped payload type or stale source).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Input SSRC changes seen so far.
    #[must_use]
    pub fn source_switches(&self) -> u64 {
        self.switches
    }

    /// The input SSRC currently being forwarded.
    #[must_use]
    pub fn current_input_ssrc(&self) -> Option<u32> {
        self.current.map(|c| c.ssrc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{
        write_receiver_report, write_sender_report, ReportBlock, RtcpCompound, RtcpView, SenderInfo,
    };
    use crate::rtp::{RtpPacket, RtpWriter};

    const MS: u64 = 1_000_000;

    fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let w = RtpWriter {
            payload_type: pt,
            sequence: seq,
            timestamp: ts,
            ssrc,
            ..RtpWriter::default()
        };
        let mut buf = vec![0u8; 172];
        let n = w.write(&[0xD5; 160], &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn packets_rewritten_elsewhere_move_the_rebase_point() {
        let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xAAAA), 8000));
        assert_eq!(rw.steady(), None);
        let mut p = packet(0, 100, 16_000, 1);
        rw.rewrite(&mut p, 0).unwrap();
        let steady = rw.steady().unwrap();
        assert_eq!(
            steady,
            SteadyRewrite {
                in_ssrc: 1,
                out_ssrc: 0xAAAA,
                seq_offset: 0,
                ts_offset: 0
            }
        );
        // 50 more packets went out elsewhere, the last one seq 150 at 1 s.
        rw.absorb(50, 150, 24_000, 1000 * MS);
        assert_eq!(rw.forwarded(), 51);
        // A new source 20 ms later continues after 150, not after 100.
        let mut q = packet(0, 7, 999, 2);
        rw.rewrite(&mut q, 1020 * MS).unwrap();
        let out = RtpPacket::parse(&q).unwrap();
        assert_eq!(out.sequence(), 151);
        assert_eq!(out.timestamp(), 24_000 + 160);
    }

    fn fields(buf: &[u8]) -> (bool, u8, u16, u32, u32) {
        let p = RtpPacket::parse(buf).unwrap();
        (
            p.marker(),
            p.payload_type(),
            p.sequence(),
            p.timestamp(),
            p.ssrc(),
        )
    }

    #[test]
    fn payload_type_map_applies_and_drops() {
        let mut map = PayloadTypeMap::empty();
        map.set(0, 0).unwrap();
        map.set(101, 96).unwrap();
        let mut cfg = RewriterConfig::new(SsrcMode::PassThrough, 8000);
        cfg.payload_types = map;
        let mut rw = StreamRewriter::new(cfg);
        let mut dtmf = packet(101, 1, 0, 7);
        dtmf[1] |= 0x80;
        assert_eq!(rw.rewrite(&mut dtmf, 0).unwrap(), RewriteOutcome::Forwarded);
        assert_eq!(fields(&dtmf), (true, 96, 1, 0, 7));
        let mut g729 = packet(18, 2, 160, 7);
        let before = g729.clone();
        assert_eq!(
            rw.rewrite(&mut g729, 0).unwrap(),
            RewriteOutcome::DroppedPayloadType(18)
        );
        assert_eq!(g729, before);
        assert_eq!((rw.forwarded(), rw.dropped()), (1, 1));
        // Pass-through still reports a source change but leaves it alone.
        let mut other = packet(0, 500, 9, 8);
        assert_eq!(
            rw.rewrite(&mut other, 0).unwrap(),
            RewriteOutcome::ForwardedNewSource { previous_ssrc: 7 }
        );
        assert_eq!(fields(&other), (false, 0, 500, 9, 8));
    }

    #[test]
    fn fixed_ssrc_keeps_first_source_numbering() {
        let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xFEED), 8000));
        for i in 0..3u16 {
            let mut p = packet(0, 1000 + i, 5000 + u32::from(i) * 160, 0xA);
            rw.rewrite(&mut p, u64::from(i) * 20 * MS).unwrap();
            assert_eq!(
                fields(&p),
                (false, 0, 1000 + i, 5000 + u32::from(i) * 160, 0xFEED)
            );
        }
    }

    #[test]
    fn ssrc_change_is_rebased_into_one_stream() {
        let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xFEED), 8000));
        let mut p = packet(0, 65534, u32::MAX - 159, 0xA);
        rw.rewrite(&mut p, 0).unwrap();
        let mut p = packet(0, 65535, (u32::MAX - 159).wrapping_add(160), 0xA);
        rw.rewrite(&mut p, 20 * MS).unwrap();
        // New source 60 ms after the last packet (two frames of silence).
        let mut p = packet(0, 7, 123_456, 0xB);
        assert_eq!(
            rw.rewrite(&mut p, 80 * MS).unwrap(),
            RewriteOutcome::ForwardedNewSource { previous_ssrc: 0xA }
        );
        // Sequence continues at 0 (after 65535); timestamp advances by 60 ms = 480.
        assert_eq!(fields(&p), (true, 0, 0, 480, 0xFEED));
        let mut p = packet(0, 8, 123_456 + 160, 0xB);
        rw.rewrite(&mut p, 100 * MS).unwrap();
        assert_eq!(fields(&p), (false, 0, 1, 640, 0xFEED));
        assert_eq!(rw.source_switches(), 1);
        assert_eq!(rw.current_input_ssrc(), Some(0xB));
    }

    #[test]
    fn stragglers_of_the_previous_source_are_dropped_then_allowed() {
        let mut cfg = RewriterConfig::new(SsrcMode::Fixed(1), 8000);
        cfg.stale_guard_ns = 100 * MS;
        let mut rw = StreamRewriter::new(cfg);
        let mut a = packet(0, 10, 1600, 0xA);
        rw.rewrite(&mut a, 0).unwrap();
        let mut b = packet(0, 500, 0, 0xB);
        rw.rewrite(&mut b, 20 * MS).unwrap();
        let mut late = packet(0, 9, 1440, 0xA);
        assert_eq!(
            rw.rewrite(&mut late, 30 * MS).unwrap(),
            RewriteOutcome::DroppedStaleSource(0xA)
        );
        // After the guard the old SSRC is a genuine switch back.
        let mut back = packet(0, 50, 8000, 0xA);
        assert_eq!(
            rw.rewrite(&mut back, 200 * MS).unwrap(),
            RewriteOutcome::ForwardedNewSource { previous_ssrc: 0xB }
        );
        // b went out as seq 11 / ts 1600 + 160; back follows 180 ms later.
        assert_eq!(fields(&back), (true, 0, 12, 1760 + 1440, 1));
    }

    #[test]
    fn reordered_packets_keep_their_offsets() {
        let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(1), 8000));
        let mut p = packet(0, 100, 0, 0xA);
        rw.rewrite(&mut p, 0).unwrap();
        let mut p = packet(0, 5, 0, 0xB);
        rw.rewrite(&mut p, 20 * MS).unwrap();
        assert_eq!(fields(&p).2, 101);
        let mut p = packet(0, 7, 320, 0xB);
        rw.rewrite(&mut p, 40 * MS).unwrap();
        let mut late = packet(0, 6, 160, 0xB);
        rw.rewrite(&mut late, 41 * MS).unwrap();
        assert_eq!(fields(&late).2, 102);
        // The reference stays at the highest output (103), so a new switch follows it.
        let mut c = packet(0, 0, 0, 0xC);
        rw.rewrite(&mut c, 60 * MS).unwrap();
        assert_eq!(fields(&c).2, 104);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let mut rw = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(1), 8000));
        assert!(matches!(
            rw.rewrite(&mut [0x80; 5], 0),
            Err(RtpError::TooShort { .. })
        ));
        let mut v1 = packet(0, 1, 1, 1);
        v1[0] = 0x40;
        assert_eq!(rw.rewrite(&mut v1, 0), Err(RtpError::BadVersion(1)));
    }

    #[test]
    fn rtcp_follows_the_rewritten_stream() {
        // Direction A->B sends as 0xAB00, direction B->A as 0xBA00.
        let mut ab = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xAB00), 8000));
        let mut ba = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(0xBA00), 8000));
        let mut p = packet(0, 1, 1000, 0xA);
        ab.rewrite(&mut p, 0).unwrap();
        let mut p = packet(0, 9, 0, 0xA2);
        ab.rewrite(&mut p, 20 * MS).unwrap(); // ts offset 1160
        let mut p = packet(0, 1, 1, 0xB);
        ba.rewrite(&mut p, 0).unwrap();

        // A (now SSRC 0xA2) sends an SR with a block about what it receives (0xBA00).
        let info = SenderInfo {
            rtp_timestamp: 40,
            ..SenderInfo::default()
        };
        let block = ReportBlock {
            ssrc: 0xBA00,
            ..ReportBlock::default()
        };
        let mut buf = [0u8; 64];
        let n = write_sender_report(0xA2, &info, &[block], &mut buf).unwrap();
        assert_eq!(ab.rewrite_rtcp(&mut buf[..n], Some(&ba)).unwrap(), 3);
        let c = RtcpCompound::parse(&buf[..n]).unwrap();
        let RtcpView::SenderReport(sr) = c.iter().next().unwrap().view().unwrap() else {
            panic!()
        };
        assert_eq!(sr.ssrc, 0xAB00);
        assert_eq!(sr.info.rtp_timestamp, 40 + 1160);
        assert_eq!(sr.reports.clone().next().unwrap().ssrc, 0xB);

        // An RR from an unrelated SSRC is left alone.
        let m = write_receiver_report(0x99, &[], &mut buf).unwrap();
        assert_eq!(ab.rewrite_rtcp(&mut buf[..m], None).unwrap(), 0);
        assert!(ab.rewrite_rtcp(&mut buf[..3], None).is_err());
    }
}
