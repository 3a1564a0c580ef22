//! Compound RTCP packets (RFC 3550 §6.1): validation and iteration.
//!
//! Validation follows RFC 3550 Appendix A.2: every packet is version 2, the first
//! packet is an SR or RR (unless reduced-size RTCP per RFC 5506 is accepted), only
//! the last packet may carry padding, and the packet lengths add up exactly to the
//! datagram. Padding on the last packet is accepted even when it is also the first
//! one (a single-packet compound), which RFC 3550 §6.4.1 allows.

use crate::error::RtpError;
use crate::rtcp::views::RtcpView;

/// Sender report packet type.
pub const RTCP_SR: u8 = 200;
/// Receiver report packet type.
pub const RTCP_RR: u8 = 201;
/// Source description packet type.
pub const RTCP_SDES: u8 = 202;
/// Goodbye packet type.
pub const RTCP_BYE: u8 = 203;
/// Application-defined packet type.
pub const RTCP_APP: u8 = 204;
/// Transport-layer feedback (RFC 4585).
pub const RTCP_RTPFB: u8 = 205;
/// Payload-specific feedback (RFC 4585).
pub const RTCP_PSFB: u8 = 206;
/// Extended reports (RFC 3611).
pub const RTCP_XR: u8 = 207;
/// Length of the common RTCP header.
pub const RTCP_HEADER_LEN: usize = 4;

/// Reads a big-endian `u16` at `off`, or 0 if out of bounds.
#[inline]
pub(crate) fn be16(buf: &[u8], off: usize) -> u16 {
    match buf.get(off..off + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Reads a big-endian `u32` at `off`, or 0 if out of bounds.
#[inline]
pub(crate) fn be32(buf: &[u8], off: usize) -> u32 {
    match buf.get(off..off + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// One RTCP packet inside a compound, borrowed (header, body and padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    buf: &'a [u8],
}

impl<'a> RtcpPacket<'a> {
    /// The packet type (200 = SR, 201 = RR, ...).
    #[must_use]
    pub fn packet_type(&self) -> u8 {
        self.buf.get(1).copied().unwrap_or(0)
    }

    /// The 5-bit count field (report count, source count, subtype or feedback format).
    #[must_use]
    pub fn count(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0) & 0x1F
    }

    /// Whether the padding bit is set.
    #[must_use]
    pub fn has_padding(&self) -> bool {
        self.buf.first().copied().unwrap_or(0) & 0x20 != 0
    }

    /// Number of padding bytes at the end (validated when the compound was parsed).
    #[must_use]
    pub fn padding_len(&self) -> usize {
        if self.has_padding() {
            usize::from(self.buf.last().copied().unwrap_or(0))
        } else {
            0
        }
    }

    /// The whole packet, header and padding included.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The packet after the 4-byte common header, without padding.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        let end = self.buf.len().saturating_sub(self.padding_len());
        self.buf.get(RTCP_HEADER_LEN..end).unwrap_or_default()
    }

    /// Decodes the packet into its typed view.
    pub fn view(&self) -> Result<RtcpView<'a>, RtpError> {
        RtcpView::parse(*self)
    }
}

/// A validated compound RTCP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpCompound<'a> {
    buf: &'a [u8],
}

impl<'a> RtcpCompound<'a> {
    /// Validates a compound packet strictly (RFC 3550 A.2: first packet SR or RR).
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        validate(buf, true)?;
        Ok(Self { buf })
    }

    /// Validates like [`RtcpCompound::parse`] but accepts any first packet type, as
    /// reduced-size RTCP (RFC 5506) does, e.g. a lone feedback message.
    pub fn parse_reduced_size(buf: &'a [u8]) -> Result<Self, RtpError> {
        validate(buf, false)?;
        Ok(Self { buf })
    }

    /// The whole datagram.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Iterates the individual packets.
    #[must_use]
    pub fn iter(&self) -> RtcpIter<'a> {
        RtcpIter { rest: self.buf }
    }
}

impl<'a> IntoIterator for &RtcpCompound<'a> {
    type Item = RtcpPacket<'a>;
    type IntoIter = RtcpIter<'a>;

    fn into_iter(self) -> RtcpIter<'a> {
        self.iter()
    }
}

/// Iterator over the packets of an [`RtcpCompound`].
#[derive(Debug, Clone)]
pub struct RtcpIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RtcpIter<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        let len = packet_len(self.rest, 0)?;
        if len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let (packet, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(RtcpPacket { buf: packet })
    }
}

/// Total length in bytes of the packet whose header starts at `off`.
#[inline]
pub(crate) fn packet_len(buf: &[u8], off: usize) -> Option<usize> {
    if buf.len() < off + RTCP_HEADER_LEN {
        return None;
    }
    Some((usize::from(be16(buf, off + 2)) + 1) * 4)
}

/// Walks and checks the whole compound; see the module documentation.
pub(crate) fn validate(buf: &[u8], require_report_first: bool) -> Result<(), RtpError> {
    let total = buf.len();
    if total < RTCP_HEADER_LEN {
        return Err(RtpError::TooShort {
            needed: RTCP_HEADER_LEN,
            available: total,
        });
    }
    let mut off = 0;
    while off < total {
        let Some(len) = packet_len(buf, off) else {
            return Err(RtpError::BadLength { offset: off });
        };
        let b0 = buf.get(off).copied().unwrap_or(0);
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let pt = buf.get(off + 1).copied().unwrap_or(0);
        if off == 0 && require_report_first && pt != RTCP_SR && pt != RTCP_RR {
            return Err(RtpError::FirstNotReport(pt));
        }
        let end = off + len;
        if end > total {
            return Err(RtpError::BadLength { offset: off });
        }
        if b0 & 0x20 != 0 {
            if end != total {
                return Err(RtpError::PaddingNotLast { offset: off });
            }
            let count = buf.get(end - 1).copied().unwrap_or(0);
            let max = len - RTCP_HEADER_LEN;
            if count == 0 || usize::from(count) > max {
                return Err(RtpError::BadPadding { count, max });
            }
        }
        off = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RR with no report blocks: 8 bytes.
    fn rr(ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, RTCP_RR, 0, 1];
        v.extend_from_slice(&ssrc.to_be_bytes());
        v
    }

    /// SDES with one chunk holding CNAME "ab": 4 + 4 + 4 = 12 bytes.
    fn sdes(ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x81, RTCP_SDES, 0, 3];
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[1, 2, b'a', b'b']);
        // terminator + alignment
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    #[test]
    fn iterates_a_valid_compound() {
        let mut buf = rr(1);
        buf.extend(sdes(1));
        let c = RtcpCompound::parse(&buf).unwrap();
        let pts: Vec<u8> = c.iter().map(|p| p.packet_type()).collect();
        assert_eq!(pts, vec![RTCP_RR, RTCP_SDES]);
        let lens: usize = c.iter().map(|p| p.as_bytes().len()).sum();
        assert_eq!(lens, buf.len());
        let first = c.iter().next().unwrap();
        assert_eq!(first.count(), 0);
        assert_eq!(first.body(), &1u32.to_be_bytes());
    }

    #[test]
    fn first_packet_must_be_a_report() {
        let mut buf = sdes(1);
        buf.extend(rr(1));
        assert_eq!(
            RtcpCompound::parse(&buf),
            Err(RtpError::FirstNotReport(RTCP_SDES))
        );
        assert_eq!(
            RtcpCompound::parse_reduced_size(&buf)
                .unwrap()
                .iter()
                .count(),
            2
        );
    }

    #[test]
    fn version_checked_on_every_packet() {
        let mut buf = rr(1);
        let mut second = sdes(1);
        second[0] = 0x41;
        buf.extend(second);
        assert_eq!(RtcpCompound::parse(&buf), Err(RtpError::BadVersion(1)));
    }

    #[test]
    fn lengths_must_sum_to_the_datagram() {
        let mut buf = rr(1);
        buf.extend(sdes(1));
        // Trailing garbage shorter than a header.
        let mut extra = buf.clone();
        extra.extend_from_slice(&[0x80, 0xC9]);
        assert_eq!(
            RtcpCompound::parse(&extra),
            Err(RtpError::BadLength { offset: 24 })
        );
        // Length field running past the end.
        let mut long = buf.clone();
        long[3] = 9;
        assert_eq!(
            RtcpCompound::parse(&long),
            Err(RtpError::BadLength { offset: 0 })
        );
        assert!(matches!(
            RtcpCompound::parse(&[0x80, 201]),
            Err(RtpError::TooShort { .. })
        ));
    }

    #[test]
    fn padding_only_on_the_last_packet() {
        // Padding on the first of two packets.
        let mut buf = rr(1);
        buf[0] |= 0x20;
        buf.extend(sdes(1));
        assert_eq!(
            RtcpCompound::parse(&buf),
            Err(RtpError::PaddingNotLast { offset: 0 })
        );
        // Padding on the last packet: RR grown by 4 pad bytes.
        let mut buf = rr(1);
        let mut last = rr(2);
        last[0] |= 0x20;
        last[3] = 2;
        last.extend_from_slice(&[0, 0, 0, 4]);
        buf.extend(last);
        let c = RtcpCompound::parse(&buf).unwrap();
        let p = c.iter().nth(1).unwrap();
        assert_eq!(p.padding_len(), 4);
        assert_eq!(p.body(), &2u32.to_be_bytes());
        // Bad pad counts.
        let n = buf.len();
        buf[n - 1] = 0;
        assert!(matches!(
            RtcpCompound::parse(&buf),
            Err(RtpError::BadPadding { count: 0, .. })
        ));
        buf[n - 1] = 9;
        assert_eq!(
            RtcpCompound::parse(&buf),
            Err(RtpError::BadPadding { count: 9, max: 8 })
        );
    }
}
