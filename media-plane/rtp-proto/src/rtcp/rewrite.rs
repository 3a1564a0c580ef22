//! In-place SSRC rewriting of a compound RTCP packet, for relaying between call legs
//! whose RTP SSRCs the relay rewrites.
//!
//! Fields rewritten, by role:
//! - [`SsrcRole::Sender`]: SR/RR sender SSRC, every SDES chunk SSRC, every BYE
//!   SSRC, APP SSRC, RTPFB/PSFB sender SSRC, XR sender SSRC.
//! - [`SsrcRole::Source`]: report block SSRCs, RTPFB/PSFB media SSRC, and the SSRC
//!   of each 8-byte FCI entry of FIR (PSFB 4) and TMMBR/TMMBN (RTPFB 3 and 4).
//!
//! Other content (report block counters, XR blocks, other FCI formats, unknown packet
//! types) is left unchanged.

use crate::error::RtpError;
use crate::rtcp::compound::{
    be32, packet_len, RtcpCompound, RTCP_APP, RTCP_BYE, RTCP_HEADER_LEN, RTCP_PSFB, RTCP_RR,
    RTCP_RTPFB, RTCP_SDES, RTCP_SR, RTCP_XR,
};
use crate::rtcp::views::{REPORT_BLOCK_LEN, SENDER_INFO_LEN};

/// What an SSRC field identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SsrcRole {
    /// The source that sent this RTCP packet.
    Sender,
    /// A source the packet reports on or asks something of.
    Source,
}

/// PSFB format: full intra request.
const PSFB_FIR: u8 = 4;
/// RTPFB formats: temporary maximum bitrate request and notification.
const RTPFB_TMMBR: u8 = 3;
/// See [`RTPFB_TMMBR`].
const RTPFB_TMMBN: u8 = 4;

/// Rewrites every SSRC field of a compound packet through `map` and returns how many
/// fields changed value. Reduced-size packets (RFC 5506) are accepted.
///
/// The whole compound, including each typed packet, is validated before the first
/// byte is written, so on error `buf` is unchanged.
pub fn rewrite_ssrcs(
    buf: &mut [u8],
    map: impl FnMut(SsrcRole, u32) -> u32,
) -> Result<usize, RtpError> {
    rewrite_with(buf, map, |_, ts| ts)
}

/// Like [`rewrite_ssrcs`], and also passes each SR's RTP timestamp through
/// `sr_timestamp(original_sender_ssrc, rtp_timestamp)`.
pub(crate) fn rewrite_with(
    buf: &mut [u8],
    mut map: impl FnMut(SsrcRole, u32) -> u32,
    mut sr_timestamp: impl FnMut(u32, u32) -> u32,
) -> Result<usize, RtpError> {
    let compound = RtcpCompound::parse_reduced_size(buf)?;
    for packet in compound.iter() {
        packet.view()?;
    }
    let mut changed = 0;
    let mut off = 0;
    while let Some(len) = packet_len(buf, off) {
        let end = (off + len).min(buf.len());
        let Some(packet) = buf.get_mut(off..end) else {
            break;
        };
        changed += rewrite_packet(packet, &mut map, &mut sr_timestamp);
        off = end;
        if off >= buf.len() {
            break;
        }
    }
    Ok(changed)
}

/// Applies `map` to the `u32` at `at`; returns 1 if it changed.
fn patch(
    p: &mut [u8],
    at: usize,
    role: SsrcRole,
    map: &mut impl FnMut(SsrcRole, u32) -> u32,
) -> usize {
    let Some(field) = p.get_mut(at..at + 4) else {
        return 0;
    };
    let old = be32(field, 0);
    let new = map(role, old);
    if new == old {
        return 0;
    }
    field.copy_from_slice(&new.to_be_bytes());
    1
}

/// Rewrites one validated packet (header, body and possible padding).
fn rewrite_packet(
    p: &mut [u8],
    map: &mut impl FnMut(SsrcRole, u32) -> u32,
    sr_timestamp: &mut impl FnMut(u32, u32) -> u32,
) -> usize {
    let b0 = p.first().copied().unwrap_or(0);
    let count = b0 & 0x1F;
    let pad = if b0 & 0x20 != 0 {
        usize::from(p.last().copied().unwrap_or(0))
    } else {
        0
    };
    let body_end = p.len().saturating_sub(pad);
    let pt = p.get(1).copied().unwrap_or(0);
    // Never touch padding: every SSRC field lies before it.
    let Some(p) = p.get_mut(..body_end) else {
        return 0;
    };
    let h = RTCP_HEADER_LEN;
    let mut changed = 0;
    match pt {
        pt @ (RTCP_SR | RTCP_RR) => {
            if pt == RTCP_SR {
                let sender = be32(p, h);
                let mut ts = |_: SsrcRole, ts: u32| sr_timestamp(sender, ts);
                changed += patch(p, h + 12, SsrcRole::Sender, &mut ts);
            }
            changed += patch(p, h, SsrcRole::Sender, map);
            let mut at = h + 4 + if pt == RTCP_SR { SENDER_INFO_LEN } else { 0 };
            for _ in 0..count {
                changed += patch(p, at, SsrcRole::Source, map);
                at += REPORT_BLOCK_LEN;
            }
        }
        RTCP_SDES => {
            let mut at = h;
            for _ in 0..count {
                if at + 4 > body_end {
                    break;
                }
                changed += patch(p, at, SsrcRole::Sender, map);
                at = sdes_chunk_end(p, at, body_end);
            }
        }
        RTCP_BYE => {
            for i in 0..usize::from(count) {
                changed += patch(p, h + 4 * i, SsrcRole::Sender, map);
            }
        }
        RTCP_APP | RTCP_XR => changed += patch(p, h, SsrcRole::Sender, map),
        pt @ (RTCP_RTPFB | RTCP_PSFB) => {
            changed += patch(p, h, SsrcRole::Sender, map);
            changed += patch(p, h + 4, SsrcRole::Source, map);
            let entries = (pt == RTCP_PSFB && count == PSFB_FIR)
                || (pt == RTCP_RTPFB && (count == RTPFB_TMMBR || count == RTPFB_TMMBN));
            if entries {
                let mut at = h + 8;
                while at + 8 <= body_end {
                    changed += patch(p, at, SsrcRole::Source, map);
                    at += 8;
                }
            }
        }
        _ => {}
    }
    changed
}

/// Offset just past the SDES chunk starting at `at` (terminator and alignment included).
fn sdes_chunk_end(p: &[u8], at: usize, body_end: usize) -> usize {
    let mut pos = at + 4;
    while pos < body_end {
        match p.get(pos) {
            Some(0) | None => break,
            Some(_) => pos += 2 + usize::from(p.get(pos + 1).copied().unwrap_or(0)),
        }
    }
    if pos < body_end {
        // Chunks are aligned relative to the packet start, which is itself aligned.
        (pos + 4) & !3
    } else {
        body_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::views::{ReportBlock, RtcpView, SenderInfo};
    use crate::rtcp::writer::{write_bye, write_sdes_cname, write_sender_report};

    fn views(buf: &[u8]) -> Vec<RtcpView<'_>> {
        RtcpCompound::parse_reduced_size(buf)
            .unwrap()
            .iter()
            .map(|p| p.view().unwrap())
            .collect()
    }

    fn swap(role: SsrcRole, s: u32) -> u32 {
        match (role, s) {
            (SsrcRole::Sender, 0xA) => 0x1A,
            (SsrcRole::Source, 0xB) => 0x1B,
            _ => s,
        }
    }

    #[test]
    fn rewrites_sender_and_source_fields() {
        let mut buf = [0u8; 256];
        let blocks = [
            ReportBlock {
                ssrc: 0xB,
                ..ReportBlock::default()
            },
            ReportBlock {
                ssrc: 0xC,
                ..ReportBlock::default()
            },
        ];
        let mut n = write_sender_report(0xA, &SenderInfo::default(), &blocks, &mut buf).unwrap();
        n += write_sdes_cname(0xA, b"abc", &mut buf[n..]).unwrap();
        n += write_bye(&[0xA, 0xB], None, &mut buf[n..]).unwrap();
        let buf = &mut buf[..n];
        // SR sender, block 0xB, SDES chunk, BYE 0xA (BYE 0xB is a sender role: untouched).
        assert_eq!(rewrite_ssrcs(buf, swap).unwrap(), 4);
        let v = views(buf);
        let RtcpView::SenderReport(sr) = v[0] else {
            panic!()
        };
        assert_eq!(sr.ssrc, 0x1A);
        assert_eq!(
            sr.reports.map(|b| b.ssrc).collect::<Vec<_>>(),
            vec![0x1B, 0xC]
        );
        let RtcpView::Sdes(sdes) = v[1] else { panic!() };
        let chunk = sdes.chunks().next().unwrap();
        assert_eq!(chunk.ssrc, 0x1A);
        assert_eq!(chunk.cname(), Some(&b"abc"[..]));
        let RtcpView::Bye(bye) = v[2] else { panic!() };
        assert_eq!(bye.sources.collect::<Vec<_>>(), vec![0x1A, 0xB]);
    }

    #[test]
    fn rewrites_feedback_and_fir_entries() {
        // PSFB FIR: sender 0xA, media 0 (unused), one FCI entry for 0xB.
        let mut buf = vec![0x84, RTCP_PSFB, 0, 4];
        buf.extend_from_slice(&0xAu32.to_be_bytes());
        buf.extend_from_slice(&0u32.to_be_bytes());
        buf.extend_from_slice(&0xBu32.to_be_bytes());
        buf.extend_from_slice(&[7, 0, 0, 0]);
        assert_eq!(rewrite_ssrcs(&mut buf, swap).unwrap(), 2);
        let RtcpView::PayloadFeedback(fb) = views(&buf)[0] else {
            panic!()
        };
        assert_eq!(fb.format, 4);
        assert_eq!(fb.sender_ssrc, 0x1A);
        assert_eq!(&fb.fci[..4], &0x1Bu32.to_be_bytes());
        assert_eq!(fb.fci[4], 7);
        // PLI (format 1): media SSRC is the source.
        let mut pli = vec![0x81, RTCP_PSFB, 0, 2];
        pli.extend_from_slice(&0xAu32.to_be_bytes());
        pli.extend_from_slice(&0xBu32.to_be_bytes());
        assert_eq!(rewrite_ssrcs(&mut pli, swap).unwrap(), 2);
        let RtcpView::PayloadFeedback(fb) = views(&pli)[0] else {
            panic!()
        };
        assert_eq!((fb.sender_ssrc, fb.media_ssrc), (0x1A, 0x1B));
    }

    #[test]
    fn padding_is_never_rewritten() {
        // XR whose only body word is padding (found by fuzzing).
        let mut buf = [0xA1, RTCP_XR, 0, 1, 0, 0, 0, 4];
        assert_eq!(rewrite_ssrcs(&mut buf, |_, s| s ^ 1).unwrap(), 0);
        assert_eq!(buf, [0xA1, RTCP_XR, 0, 1, 0, 0, 0, 4]);
    }

    #[test]
    fn invalid_input_is_left_untouched() {
        let mut buf = [0u8; 64];
        let n = write_sender_report(0xA, &SenderInfo::default(), &[], &mut buf).unwrap();
        // Append a malformed SDES (chunk item overruns).
        let bad = [0x81, RTCP_SDES, 0, 2, 0, 0, 0, 0xA, 1, 9, b'x', b'y'];
        buf[n..n + bad.len()].copy_from_slice(&bad);
        let total = n + bad.len();
        let before = buf;
        assert!(rewrite_ssrcs(&mut buf[..total], swap).is_err());
        assert_eq!(buf, before);
    }
}
