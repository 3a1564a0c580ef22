//! Building RTCP packets into caller-provided buffers, so the relay can originate its
//! own reports. Packets are written back to back to form a compound: write an SR or
//! RR first, then an SDES CNAME, and send the concatenation.

use crate::error::RtpError;
use crate::rtcp::compound::{RTCP_BYE, RTCP_HEADER_LEN, RTCP_RR, RTCP_SDES, RTCP_SR};
use crate::rtcp::views::{ReportBlock, SenderInfo, REPORT_BLOCK_LEN, SENDER_INFO_LEN};

/// Largest value of the 5-bit count field.
const MAX_COUNT: usize = 31;
/// SDES CNAME item type.
const SDES_CNAME: u8 = 1;

fn check_count(count: usize) -> Result<(), RtpError> {
    if count > MAX_COUNT {
        return Err(RtpError::TooManyEntries {
            count,
            max: MAX_COUNT,
        });
    }
    Ok(())
}

/// Checks room for `len` bytes and writes the common header. `len` is a multiple of 4.
fn header(out: &mut [u8], count: usize, pt: u8, len: usize) -> Result<&mut [u8], RtpError> {
    if out.len() < len {
        return Err(RtpError::BufferTooSmall {
            needed: len,
            available: out.len(),
        });
    }
    let (packet, _) = out.split_at_mut(len);
    let words = (len / 4 - 1) as u16;
    packet[0] = 0x80 | count as u8;
    packet[1] = pt;
    packet[2..4].copy_from_slice(&words.to_be_bytes());
    Ok(packet)
}

fn put_blocks(dst: &mut [u8], blocks: &[ReportBlock]) {
    for (slot, block) in dst.chunks_exact_mut(REPORT_BLOCK_LEN).zip(blocks) {
        slot.copy_from_slice(&block.encode());
    }
}

/// Writes a sender report with up to 31 report blocks; returns its length.
pub fn write_sender_report(
    ssrc: u32,
    info: &SenderInfo,
    blocks: &[ReportBlock],
    out: &mut [u8],
) -> Result<usize, RtpError> {
    check_count(blocks.len())?;
    let len = RTCP_HEADER_LEN + 4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * blocks.len();
    let p = header(out, blocks.len(), RTCP_SR, len)?;
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    p[8..16].copy_from_slice(&info.ntp_timestamp.to_be_bytes());
    p[16..20].copy_from_slice(&info.rtp_timestamp.to_be_bytes());
    p[20..24].copy_from_slice(&info.packet_count.to_be_bytes());
    p[24..28].copy_from_slice(&info.octet_count.to_be_bytes());
    put_blocks(&mut p[28..], blocks);
    Ok(len)
}

/// Writes a receiver report with up to 31 report blocks; returns its length.
pub fn write_receiver_report(
    ssrc: u32,
    blocks: &[ReportBlock],
    out: &mut [u8],
) -> Result<usize, RtpError> {
    check_count(blocks.len())?;
    let len = RTCP_HEADER_LEN + 4 + REPORT_BLOCK_LEN * blocks.len();
    let p = header(out, blocks.len(), RTCP_RR, len)?;
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    put_blocks(&mut p[8..], blocks);
    Ok(len)
}

/// Writes an SDES packet with one chunk carrying a CNAME item; returns its length.
pub fn write_sdes_cname(ssrc: u32, cname: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
    if cname.len() > 255 {
        return Err(RtpError::ItemTooLong(cname.len()));
    }
    // ssrc + type + length + text + at least one null, rounded up to 32 bits.
    let chunk = (4 + 2 + cname.len() + 1 + 3) & !3;
    let len = RTCP_HEADER_LEN + chunk;
    let p = header(out, 1, RTCP_SDES, len)?;
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    p[8] = SDES_CNAME;
    p[9] = cname.len() as u8;
    let (text, zeros) = p[10..].split_at_mut(cname.len());
    text.copy_from_slice(cname);
    zeros.fill(0);
    Ok(len)
}

/// Writes a BYE for up to 31 sources with an optional reason; returns its length.
pub fn write_bye(ssrcs: &[u32], reason: Option<&[u8]>, out: &mut [u8]) -> Result<usize, RtpError> {
    check_count(ssrcs.len())?;
    let reason_len = match reason {
        Some(r) if r.len() > 255 => return Err(RtpError::ItemTooLong(r.len())),
        Some(r) => (1 + r.len() + 3) & !3,
        None => 0,
    };
    let list = 4 * ssrcs.len();
    let len = RTCP_HEADER_LEN + list + reason_len;
    let p = header(out, ssrcs.len(), RTCP_BYE, len)?;
    for (slot, ssrc) in p[4..].chunks_exact_mut(4).zip(ssrcs) {
        slot.copy_from_slice(&ssrc.to_be_bytes());
    }
    if let Some(r) = reason {
        let tail = &mut p[RTCP_HEADER_LEN + list..];
        tail[0] = r.len() as u8;
        let (text, zeros) = tail[1..].split_at_mut(r.len());
        text.copy_from_slice(r);
        zeros.fill(0);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::compound::RtcpCompound;
    use crate::rtcp::sdes::SdesItemType;
    use crate::rtcp::views::RtcpView;

    fn block(ssrc: u32, lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: lost,
            extended_highest_seq: 0x0001_0005,
            jitter: 40,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn sr_sdes_compound_round_trip() {
        let info = SenderInfo {
            ntp_timestamp: 0xE000_0000_8000_0000,
            rtp_timestamp: 160_000,
            packet_count: 1000,
            octet_count: 160_000,
        };
        let blocks = [block(7, 3), block(8, -2)];
        let mut out = [0u8; 256];
        let n = write_sender_report(0xAABB, &info, &blocks, &mut out).unwrap();
        assert_eq!(n, 28 + 48);
        let m = write_sdes_cname(0xAABB, b"warden@relay", &mut out[n..]).unwrap();
        assert_eq!(m % 4, 0);
        let c = RtcpCompound::parse(&out[..n + m]).unwrap();
        let mut it = c.iter();
        let RtcpView::SenderReport(sr) = it.next().unwrap().view().unwrap() else {
            panic!("not an SR")
        };
        assert_eq!(sr.ssrc, 0xAABB);
        assert_eq!(sr.info, info);
        assert_eq!(sr.reports.collect::<Vec<_>>(), blocks.to_vec());
        assert!(sr.extension.is_empty());
        let RtcpView::Sdes(sdes) = it.next().unwrap().view().unwrap() else {
            panic!("not SDES")
        };
        let chunk = sdes.chunks().next().unwrap();
        assert_eq!(chunk.ssrc, 0xAABB);
        assert_eq!(chunk.cname(), Some(&b"warden@relay"[..]));
        assert_eq!(chunk.items().next().unwrap().kind, SdesItemType::Cname);
        assert!(it.next().is_none());
    }

    #[test]
    fn cname_of_aligned_length_still_gets_a_terminator() {
        // 4 + 2 + 2 = 8: the null terminator needs a further word.
        let mut out = [0xFFu8; 32];
        let n = write_sdes_cname(1, b"ab", &mut out).unwrap();
        assert_eq!(n, 16);
        assert_eq!(&out[12..16], &[0, 0, 0, 0]);
        let c = RtcpCompound::parse_reduced_size(&out[..n]).unwrap();
        let RtcpView::Sdes(s) = c.iter().next().unwrap().view().unwrap() else {
            panic!()
        };
        assert_eq!(s.chunks().count(), 1);
    }

    #[test]
    fn rr_and_bye_round_trip() {
        let mut out = [0u8; 128];
        let n = write_receiver_report(5, &[block(9, 0x7F_FFFF + 10)], &mut out).unwrap();
        let m = write_bye(&[5, 6], Some(b"done"), &mut out[n..]).unwrap();
        let c = RtcpCompound::parse(&out[..n + m]).unwrap();
        let mut it = c.iter();
        let RtcpView::ReceiverReport(rr) = it.next().unwrap().view().unwrap() else {
            panic!()
        };
        assert_eq!(rr.ssrc, 5);
        // Clamped to the 24-bit maximum.
        assert_eq!(
            rr.reports.clone().next().unwrap().cumulative_lost,
            0x7F_FFFF
        );
        let RtcpView::Bye(bye) = it.next().unwrap().view().unwrap() else {
            panic!()
        };
        assert_eq!(bye.sources.collect::<Vec<_>>(), vec![5, 6]);
        assert_eq!(bye.reason, Some(&b"done"[..]));
    }

    #[test]
    fn writer_limits() {
        let mut small = [0u8; 10];
        assert!(matches!(
            write_receiver_report(1, &[], &mut small[..7]),
            Err(RtpError::BufferTooSmall { needed: 8, .. })
        ));
        assert_eq!(write_receiver_report(1, &[], &mut small).unwrap(), 8);
        let many = [ReportBlock::default(); 32];
        assert_eq!(
            write_receiver_report(1, &many, &mut [0u8; 1024]),
            Err(RtpError::TooManyEntries { count: 32, max: 31 })
        );
        assert_eq!(
            write_sdes_cname(1, &[b'x'; 256], &mut [0u8; 1024]),
            Err(RtpError::ItemTooLong(256))
        );
        assert_eq!(write_bye(&[], None, &mut small).unwrap(), 4);
    }
}
