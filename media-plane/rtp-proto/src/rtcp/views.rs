//! Typed views of individual RTCP packets: SR, RR, BYE, APP (RFC 3550 §6.4–6.7; SDES
//! lives in its own module)
//! and the RFC 4585 feedback messages (exposed raw).
//!
//! Every view is validated when built, so its iterators never fail; they still stop
//! defensively at the end of the data instead of indexing past it.

use crate::error::RtpError;
use crate::rtcp::compound::{
    be32, RtcpPacket, RTCP_APP, RTCP_BYE, RTCP_PSFB, RTCP_RR, RTCP_RTPFB, RTCP_SDES, RTCP_SR,
};
use crate::rtcp::sdes::Sdes;

/// Length of one report block.
pub const REPORT_BLOCK_LEN: usize = 24;
/// Length of the sender-info section of an SR.
pub const SENDER_INFO_LEN: usize = 20;

/// A packet decoded according to its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpView<'a> {
    /// Sender report (200).
    SenderReport(SenderReport<'a>),
    /// Receiver report (201).
    ReceiverReport(ReceiverReport<'a>),
    /// Source description (202).
    Sdes(Sdes<'a>),
    /// Goodbye (203).
    Bye(Bye<'a>),
    /// Application-defined (204).
    App(App<'a>),
    /// Transport-layer feedback (205), e.g. generic NACK.
    TransportFeedback(Feedback<'a>),
    /// Payload-specific feedback (206), e.g. PLI or FIR.
    PayloadFeedback(Feedback<'a>),
    /// Any other type (XR, ...), undecoded.
    Other(RtcpPacket<'a>),
}

impl<'a> RtcpView<'a> {
    /// Decodes `packet` according to its packet type.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        Ok(match packet.packet_type() {
            RTCP_SR => Self::SenderReport(SenderReport::parse(packet)?),
            RTCP_RR => Self::ReceiverReport(ReceiverReport::parse(packet)?),
            RTCP_SDES => Self::Sdes(Sdes::parse(packet)?),
            RTCP_BYE => Self::Bye(Bye::parse(packet)?),
            RTCP_APP => Self::App(App::parse(packet)?),
            RTCP_RTPFB => Self::TransportFeedback(Feedback::parse(packet)?),
            RTCP_PSFB => Self::PayloadFeedback(Feedback::parse(packet)?),
            _ => Self::Other(packet),
        })
    }
}

pub(crate) fn expect_type(packet: &RtcpPacket<'_>, expected: u8) -> Result<(), RtpError> {
    let found = packet.packet_type();
    if found == expected {
        Ok(())
    } else {
        Err(RtpError::WrongPacketType { expected, found })
    }
}

fn need(body: &[u8], needed: usize) -> Result<(), RtpError> {
    if body.len() < needed {
        Err(RtpError::TooShort {
            needed,
            available: body.len(),
        })
    } else {
        Ok(())
    }
}

/// The sender-information section of an SR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP wallclock time of the report.
    pub ntp_timestamp: u64,
    /// RTP timestamp corresponding to the NTP time.
    pub rtp_timestamp: u32,
    /// Packets sent so far.
    pub packet_count: u32,
    /// Payload octets sent so far.
    pub octet_count: u32,
}

/// One reception report block (owned, `Copy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// Source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (signed 24-bit).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from the source.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 seconds.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Decodes one 24-byte block; `None` if `b` is shorter.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b = b.get(..REPORT_BLOCK_LEN)?;
        let lost_raw = be32(b, 4) & 0x00FF_FFFF;
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((lost_raw << 8) as i32) >> 8;
        Some(Self {
            ssrc: be32(b, 0),
            fraction_lost: b.get(4).copied().unwrap_or(0),
            cumulative_lost,
            extended_highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            last_sr: be32(b, 16),
            delay_since_last_sr: be32(b, 20),
        })
    }

    /// Encodes the block into 24 bytes; the cumulative loss is clamped to 24 bits.
    #[must_use]
    pub fn encode(&self) -> [u8; REPORT_BLOCK_LEN] {
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        let mut out = [0u8; REPORT_BLOCK_LEN];
        out[0..4].copy_from_slice(&self.ssrc.to_be_bytes());
        out[4..8].copy_from_slice(&((u32::from(self.fraction_lost) << 24) | lost).to_be_bytes());
        out[8..12].copy_from_slice(&self.extended_highest_seq.to_be_bytes());
        out[12..16].copy_from_slice(&self.jitter.to_be_bytes());
        out[16..20].copy_from_slice(&self.last_sr.to_be_bytes());
        out[20..24].copy_from_slice(&self.delay_since_last_sr.to_be_bytes());
        out
    }
}

/// Iterator over the report blocks of an SR or RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    raw: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    /// The raw blocks (a multiple of 24 bytes).
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let block = ReportBlock::decode(self.raw)?;
        self.raw = self.raw.get(REPORT_BLOCK_LEN..).unwrap_or_default();
        Some(block)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.raw.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

/// Splits `rest` into `count` report blocks and the profile-specific extension.
fn split_blocks(rest: &[u8], count: u8) -> Result<(ReportBlocks<'_>, &[u8]), RtpError> {
    let len = usize::from(count) * REPORT_BLOCK_LEN;
    need(rest, len)?;
    let (raw, extension) = rest.split_at(len);
    Ok((ReportBlocks { raw }, extension))
}

/// A sender report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// Sender information.
    pub info: SenderInfo,
    /// Reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension after the blocks (usually empty).
    pub extension: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// Decodes an SR packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        expect_type(&packet, RTCP_SR)?;
        let body = packet.body();
        need(body, 4 + SENDER_INFO_LEN)?;
        let ntp = (u64::from(be32(body, 4)) << 32) | u64::from(be32(body, 8));
        let (reports, extension) = split_blocks(
            body.get(4 + SENDER_INFO_LEN..).unwrap_or_default(),
            packet.count(),
        )?;
        Ok(Self {
            ssrc: be32(body, 0),
            info: SenderInfo {
                ntp_timestamp: ntp,
                rtp_timestamp: be32(body, 12),
                packet_count: be32(body, 16),
                octet_count: be32(body, 20),
            },
            reports,
            extension,
        })
    }
}

/// A receiver report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    /// SSRC of the receiver sending the report.
    pub ssrc: u32,
    /// Reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension after the blocks (usually empty).
    pub extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// Decodes an RR packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        expect_type(&packet, RTCP_RR)?;
        let body = packet.body();
        need(body, 4)?;
        let (reports, extension) = split_blocks(body.get(4..).unwrap_or_default(), packet.count())?;
        Ok(Self {
            ssrc: be32(body, 0),
            reports,
            extension,
        })
    }
}

/// A list of SSRCs (BYE sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcList<'a> {
    raw: &'a [u8],
}

impl Iterator for SsrcList<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (head, rest) = self.raw.split_first_chunk::<4>()?;
        self.raw = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.raw.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for SsrcList<'_> {}

/// A goodbye packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    /// Sources leaving.
    pub sources: SsrcList<'a>,
    /// Optional reason text.
    pub reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    /// Decodes a BYE packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        expect_type(&packet, RTCP_BYE)?;
        let body = packet.body();
        let list_len = 4 * usize::from(packet.count());
        need(body, list_len)?;
        let (raw, rest) = body.split_at(list_len);
        let reason = match rest.split_first() {
            None => None,
            Some((&len, text)) => {
                Some(text.get(..usize::from(len)).ok_or(RtpError::BadLength {
                    offset: 4 + list_len,
                })?)
            }
        };
        Ok(Self {
            sources: SsrcList { raw },
            reason,
        })
    }
}

/// An application-defined packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    /// The 5-bit subtype.
    pub subtype: u8,
    /// SSRC of the sender.
    pub ssrc: u32,
    /// Four-character name.
    pub name: [u8; 4],
    /// Application data.
    pub data: &'a [u8],
}

impl<'a> App<'a> {
    /// Decodes an APP packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        expect_type(&packet, RTCP_APP)?;
        let body = packet.body();
        need(body, 8)?;
        Ok(Self {
            subtype: packet.count(),
            ssrc: be32(body, 0),
            name: be32(body, 4).to_be_bytes(),
            data: body.get(8..).unwrap_or_default(),
        })
    }
}

/// An RFC 4585 feedback message (RTPFB or PSFB), exposed raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feedback<'a> {
    /// Feedback message type (FMT), e.g. 1 = generic NACK for RTPFB, 1 = PLI for PSFB.
    pub format: u8,
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source the feedback is about.
    pub media_ssrc: u32,
    /// Feedback control information.
    pub fci: &'a [u8],
}

impl<'a> Feedback<'a> {
    /// Decodes an RTPFB or PSFB packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        let found = packet.packet_type();
        if found != RTCP_RTPFB && found != RTCP_PSFB {
            return Err(RtpError::WrongPacketType {
                expected: RTCP_RTPFB,
                found,
            });
        }
        let body = packet.body();
        need(body, 8)?;
        Ok(Self {
            format: packet.count(),
            sender_ssrc: be32(body, 0),
            media_ssrc: be32(body, 4),
            fci: body.get(8..).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::compound::RtcpCompound;

    fn one(buf: &[u8]) -> RtcpPacket<'_> {
        RtcpCompound::parse_reduced_size(buf)
            .unwrap()
            .iter()
            .next()
            .unwrap()
    }

    #[test]
    fn report_block_sign_extension() {
        let b = ReportBlock {
            cumulative_lost: -2,
            fraction_lost: 0xFF,
            ..ReportBlock::default()
        };
        let raw = b.encode();
        assert_eq!(&raw[4..8], &[0xFF, 0xFF, 0xFF, 0xFE]);
        assert_eq!(ReportBlock::decode(&raw), Some(b));
        let min = ReportBlock {
            cumulative_lost: i32::MIN,
            ..ReportBlock::default()
        };
        assert_eq!(
            ReportBlock::decode(&min.encode()).unwrap().cumulative_lost,
            -0x80_0000
        );
        assert_eq!(ReportBlock::decode(&raw[..23]), None);
    }

    #[test]
    fn report_count_must_fit() {
        // RR claiming 1 block but carrying none.
        let buf = [0x81, RTCP_RR, 0, 1, 0, 0, 0, 1];
        assert_eq!(
            one(&buf).view(),
            Err(RtpError::TooShort {
                needed: 24,
                available: 0
            })
        );
        // SR too short for the sender info.
        let buf = [0x80, RTCP_SR, 0, 1, 0, 0, 0, 1];
        assert!(matches!(one(&buf).view(), Err(RtpError::TooShort { .. })));
        // Asking for the wrong view.
        let buf = [0x80, RTCP_RR, 0, 1, 0, 0, 0, 1];
        assert_eq!(
            SenderReport::parse(one(&buf)),
            Err(RtpError::WrongPacketType {
                expected: RTCP_SR,
                found: RTCP_RR
            })
        );
        // RR with trailing profile-specific extension.
        let buf = [0x80, RTCP_RR, 0, 2, 0, 0, 0, 1, 9, 9, 9, 9];
        let RtcpView::ReceiverReport(rr) = one(&buf).view().unwrap() else {
            panic!()
        };
        assert_eq!(rr.reports.len(), 0);
        assert_eq!(rr.extension, &[9, 9, 9, 9]);
    }

    #[test]
    fn bye_app_and_feedback() {
        // BYE without reason, and with a reason overrunning the packet.
        let buf = [0x81, RTCP_BYE, 0, 1, 0, 0, 0, 5];
        let RtcpView::Bye(bye) = one(&buf).view().unwrap() else {
            panic!()
        };
        assert_eq!(bye.sources.collect::<Vec<_>>(), vec![5]);
        assert_eq!(bye.reason, None);
        let buf = [0x81, RTCP_BYE, 0, 2, 0, 0, 0, 5, 9, b'a', b'b', b'c'];
        assert_eq!(one(&buf).view(), Err(RtpError::BadLength { offset: 8 }));
        let buf = [0x82, RTCP_BYE, 0, 1, 0, 0, 0, 5];
        assert!(matches!(one(&buf).view(), Err(RtpError::TooShort { .. })));

        let buf = [
            0x83, RTCP_APP, 0, 3, 0, 0, 0, 7, b'W', b'R', b'D', b'N', 1, 2, 3, 4,
        ];
        let RtcpView::App(app) = one(&buf).view().unwrap() else {
            panic!()
        };
        assert_eq!(app.subtype, 3);
        assert_eq!(app.ssrc, 7);
        assert_eq!(&app.name, b"WRDN");
        assert_eq!(app.data, &[1, 2, 3, 4]);

        // Generic NACK: PID 100, BLP 0x0003.
        let buf = [0x81, RTCP_RTPFB, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0, 3];
        let RtcpView::TransportFeedback(fb) = one(&buf).view().unwrap() else {
            panic!()
        };
        assert_eq!((fb.format, fb.sender_ssrc, fb.media_ssrc), (1, 1, 2));
        assert_eq!(fb.fci, &[0, 100, 0, 3]);
        let short = [0x81, RTCP_PSFB, 0, 1, 0, 0, 0, 1];
        assert!(matches!(one(&short).view(), Err(RtpError::TooShort { .. })));

        // XR is passed through undecoded.
        let xr = [0x80, 207, 0, 1, 0, 0, 0, 1];
        assert!(matches!(one(&xr).view(), Ok(RtcpView::Other(_))));
    }
}
