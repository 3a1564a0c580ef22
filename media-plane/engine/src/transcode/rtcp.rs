//! RTCP of a transcoding bridge. The bridge is the RTP source towards each party (its own
//! SSRC, sequence numbers and timestamps), so it reports as one (RFC 3550): every few
//! seconds each party gets a compound of an SR about the bridge's stream to it, with a
//! report block about what the bridge receives from that party, and an SDES CNAME. What a
//! party sends is consumed here instead of relayed: its SR gives the LSR/DLSR of the next
//! report block, its report block about the bridge's stream gives the round-trip time and
//! the loss and jitter the party sees.
//!
//! Sans-IO: packets and times (monotonic and wall clock, in nanoseconds) in, bytes out.

use warden_rtp_proto::rtcp::{
    dlsr_from_ns, ntp_from_unix_ns, ntp_middle32, round_trip_ns, write_sdes_cname,
    write_sender_report, ReportBlock, RtcpView, SenderInfo,
};
use warden_rtp_proto::{RecvStats, RtcpCompound};

/// Mean interval between reports (RFC 3550's minimum, the usual figure).
const INTERVAL_NS: u64 = 5_000_000_000;
/// The first report comes sooner (RFC 3550 §6.2: half the minimum for the first one).
const FIRST_NS: u64 = 1_000_000_000;
/// CNAME of the bridge's streams.
const CNAME: &[u8] = b"warden-media";
/// Room for an SR with one block and the SDES.
pub(crate) const REPORT_MAX: usize = 28 + 24 + 4 + 4 + 2 + CNAME.len() + 4;

/// What the bridge knows about the RTCP of one party.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartyReports {
    /// Reports sent to the party.
    pub(crate) sent: u64,
    /// RTCP compounds received from the party (consumed, not relayed).
    pub(crate) received: u64,
    /// Round-trip time from the party's last report block about the bridge's stream.
    pub(crate) rtt_us: Option<u32>,
    /// The party's last report block about the bridge's stream (its loss and jitter).
    pub(crate) seen_by_party: Option<ReportBlock>,
}

/// RTCP state of one party of a bridge (kept with the direction that decodes that party).
#[derive(Debug)]
pub(crate) struct LegRtcp {
    /// When the next report is due (monotonic ns); 0 before the first check.
    next_ns: u64,
    /// xorshift state spreading the intervals over 0.5..1.5 of the mean.
    rand: u32,
    /// Middle 32 bits of the NTP time of the party's last SR, and its arrival (ns).
    last_sr: Option<(u32, u64)>,
    pub(crate) figures: PartyReports,
}

impl LegRtcp {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            next_ns: 0,
            rand: seed | 1,
            last_sr: None,
            figures: PartyReports::default(),
        }
    }

    fn spread(&mut self, mean: u64) -> u64 {
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        mean / 2 + mean * u64::from(x % 1000) / 1000
    }

    /// Whether a report is due at `now_ns` (the first call schedules the first report).
    pub(crate) fn due(&mut self, now_ns: u64) -> bool {
        if self.next_ns == 0 {
            self.next_ns = now_ns.max(1) + self.spread(FIRST_NS);
            return false;
        }
        now_ns >= self.next_ns
    }

    /// An RTCP compound from the party. `bridge_ssrc` is the SSRC of the bridge's stream
    /// to the party (the one its report blocks are about).
    pub(crate) fn on_rtcp(&mut self, bytes: &[u8], bridge_ssrc: u32, now_ns: u64, unix_ns: u64) {
        let Ok(compound) = RtcpCompound::parse_reduced_size(bytes) else {
            return;
        };
        self.figures.received += 1;
        let arrival = ntp_middle32(ntp_from_unix_ns(unix_ns));
        for packet in compound.iter() {
            let blocks = match packet.view() {
                Ok(RtcpView::SenderReport(sr)) => {
                    self.last_sr = Some((ntp_middle32(sr.info.ntp_timestamp), now_ns));
                    sr.reports
                }
                Ok(RtcpView::ReceiverReport(rr)) => rr.reports,
                _ => continue,
            };
            for block in blocks.filter(|b| b.ssrc == bridge_ssrc) {
                if let Some(rtt) = round_trip_ns(arrival, block.last_sr, block.delay_since_last_sr)
                {
                    self.figures.rtt_us = Some((rtt / 1000).min(u64::from(u32::MAX)) as u32);
                }
                self.figures.seen_by_party = Some(block);
            }
        }
    }

    /// Writes the report to the party into `out` and schedules the next one; returns its
    /// length. `sender` is the bridge's stream to the party (SSRC, RTP time now, packets
    /// and payload octets sent); `recv` and `party_ssrc` describe what the party sends
    /// (no report block before its first packet).
    pub(crate) fn write_report(
        &mut self,
        sender: (u32, u32, u64, u64),
        recv: &mut RecvStats,
        party_ssrc: Option<u32>,
        now_ns: u64,
        unix_ns: u64,
        out: &mut [u8; REPORT_MAX],
    ) -> Option<usize> {
        self.next_ns = now_ns + self.spread(INTERVAL_NS);
        let (ssrc, rtp_ts, packets, octets) = sender;
        let info = SenderInfo {
            ntp_timestamp: ntp_from_unix_ns(unix_ns),
            rtp_timestamp: rtp_ts,
            packet_count: packets as u32,
            octet_count: octets as u32,
        };
        let block = party_ssrc.map(|party| {
            let (lsr, dlsr) = self.last_sr.map_or((0, 0), |(lsr, at)| {
                (lsr, dlsr_from_ns(now_ns.saturating_sub(at)))
            });
            recv.report_block(party, lsr, dlsr)
        });
        let n = write_sender_report(ssrc, &info, block.as_slice(), out).ok()?;
        let m = write_sdes_cname(ssrc, CNAME, out.get_mut(n..)?).ok()?;
        self.figures.sent += 1;
        Some(n + m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_rtp_proto::rtcp::{write_receiver_report, SenderReport};
    use warden_rtp_proto::RtcpPacket;

    const SEC: u64 = 1_000_000_000;
    /// Some wall-clock time (2026).
    const UNIX: u64 = 1_790_000_000 * SEC;

    #[test]
    fn reports_carry_the_bridge_stream_and_what_the_party_sends_and_rtt_is_measured() {
        let mut leg = LegRtcp::new(42);
        assert!(!leg.due(SEC), "the first check only schedules");
        assert!(!leg.due(SEC + FIRST_NS / 2 - 1));
        assert!(leg.due(SEC + 3 * FIRST_NS / 2));

        // The party sent 50 packets (two lost) and an SR at t = 1.2 s.
        let mut recv = RecvStats::with_probation(8000, 1);
        for seq in (0..52u16).filter(|s| *s != 10 && *s != 20) {
            let _ = recv.on_packet(seq, u32::from(seq) * 160, u64::from(seq) * 20_000_000, 160);
        }
        let party_ntp = ntp_from_unix_ns(UNIX + SEC + SEC / 5);
        let mut sr = [0u8; 28];
        let info = SenderInfo {
            ntp_timestamp: party_ntp,
            ..SenderInfo::default()
        };
        let n = write_sender_report(0xCA11, &info, &[], &mut sr).unwrap();
        leg.on_rtcp(&sr[..n], 0xB41D, SEC + SEC / 5, UNIX + SEC + SEC / 5);
        assert_eq!(leg.figures.received, 1);

        // The report at t = 2 s.
        let mut out = [0u8; REPORT_MAX];
        let len = leg
            .write_report(
                (0xB41D, 16_000, 40, 6400),
                &mut recv,
                Some(0xCA11),
                2 * SEC,
                UNIX + 2 * SEC,
                &mut out,
            )
            .unwrap();
        let compound = RtcpCompound::parse(&out[..len]).unwrap();
        let packets: Vec<RtcpPacket<'_>> = compound.iter().collect();
        assert_eq!(packets.len(), 2, "SR and SDES");
        let sr = SenderReport::parse(packets[0]).unwrap();
        assert_eq!(sr.ssrc, 0xB41D);
        assert_eq!(sr.info.ntp_timestamp, ntp_from_unix_ns(UNIX + 2 * SEC));
        assert_eq!(
            (
                sr.info.rtp_timestamp,
                sr.info.packet_count,
                sr.info.octet_count
            ),
            (16_000, 40, 6400)
        );
        let blocks: Vec<ReportBlock> = sr.reports.collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].ssrc, 0xCA11);
        assert_eq!(blocks[0].cumulative_lost, 2);
        assert_eq!(blocks[0].extended_highest_seq, 51);
        assert_eq!(blocks[0].last_sr, ntp_middle32(party_ntp));
        // 0.8 s since the party's SR, in 1/65536 s.
        assert_eq!(blocks[0].delay_since_last_sr, dlsr_from_ns(4 * SEC / 5));
        assert!(!leg.due(2 * SEC + 1), "the next one is seconds away");
        assert!(leg.due(2 * SEC + 3 * INTERVAL_NS / 2));

        // The party's RR about the bridge's stream: 3 % lost, sent 30 ms after our SR
        // arrived, received 80 ms after we sent it: the round trip is 50 ms.
        let ours = RtcpCompound::parse(&out[..len]).unwrap();
        let our_sr = SenderReport::parse(ours.iter().next().unwrap()).unwrap();
        let rr_block = ReportBlock {
            ssrc: 0xB41D,
            fraction_lost: 8,
            cumulative_lost: 1,
            extended_highest_seq: 40,
            jitter: 12,
            last_sr: ntp_middle32(our_sr.info.ntp_timestamp),
            delay_since_last_sr: dlsr_from_ns(30_000_000),
        };
        let mut rr = [0u8; 32];
        let n = write_receiver_report(0xCA11, &[rr_block], &mut rr).unwrap();
        leg.on_rtcp(
            &rr[..n],
            0xB41D,
            2 * SEC + 80_000_000,
            UNIX + 2 * SEC + 80_000_000,
        );
        let rtt = leg.figures.rtt_us.unwrap();
        assert!((49_000..=51_000).contains(&rtt), "{rtt} us");
        assert_eq!(leg.figures.seen_by_party, Some(rr_block));
        // A block about someone else and garbage change nothing.
        let other = ReportBlock {
            ssrc: 7,
            ..rr_block
        };
        let n = write_receiver_report(0xCA11, &[other], &mut rr).unwrap();
        leg.on_rtcp(&rr[..n], 0xB41D, 3 * SEC, UNIX + 3 * SEC);
        leg.on_rtcp(&[0x80, 200, 0], 0xB41D, 3 * SEC, UNIX + 3 * SEC);
        assert_eq!(leg.figures.seen_by_party, Some(rr_block));
        assert_eq!(leg.figures.received, 3);
    }
}
