//! Building RTP packets into caller-provided buffers (for locally generated media
//! such as prompts and tones).

use crate::error::RtpError;
use crate::rtp::packet::RTP_HEADER_LEN;

/// Largest CSRC count the 4-bit header field can express.
const MAX_CSRCS: usize = 15;

/// Header fields of an RTP packet to generate.
///
/// A generator keeps one `RtpWriter` per stream, calls [`RtpWriter::write`] for each
/// frame and then [`RtpWriter::advance`] to step sequence and timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtpWriter<'c> {
    /// Marker bit (for audio: first packet after silence).
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number of the next packet.
    pub sequence: u16,
    /// Media timestamp of the next packet.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Contributing sources (at most 15).
    pub csrcs: &'c [u32],
    /// Padding bytes to append (0 for none). When non-zero the padding bit is set and
    /// the last padding byte holds this count.
    pub padding: u8,
}

impl RtpWriter<'_> {
    /// Length of the header this writer emits (fixed header plus CSRCs).
    #[must_use]
    pub fn header_len(&self) -> usize {
        RTP_HEADER_LEN + 4 * self.csrcs.len()
    }

    /// Writes the header only and returns its length; the caller writes the payload
    /// right after it (no padding is added).
    pub fn write_header(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        self.emit(out, 0, false)
    }

    /// Writes header, payload and padding into `out` and returns the packet length.
    pub fn write(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
        let header_len = self.header_len();
        let total = header_len + payload.len() + usize::from(self.padding);
        let written = self.emit(out, total, self.padding != 0)?;
        let (_, rest) = out.split_at_mut(written);
        let (body, pad) = rest.split_at_mut(payload.len());
        body.copy_from_slice(payload);
        if let Some((last, zeros)) = pad
            .get_mut(..usize::from(self.padding))
            .and_then(|p| p.split_last_mut())
        {
            zeros.fill(0);
            *last = self.padding;
        }
        Ok(total)
    }

    /// Steps to the next packet: sequence + 1, timestamp + `samples`, marker cleared.
    pub fn advance(&mut self, samples: u32) {
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.marker = false;
    }

    /// Checks sizes and writes the header. `total` is the full packet size to reserve
    /// (0 means header only).
    fn emit(&self, out: &mut [u8], total: usize, padded: bool) -> Result<usize, RtpError> {
        if self.payload_type > 0x7F {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyEntries {
                count: self.csrcs.len(),
                max: MAX_CSRCS,
            });
        }
        let header_len = self.header_len();
        let needed = total.max(header_len);
        if out.len() < needed {
            return Err(RtpError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        let (head, rest) = out.split_at_mut(RTP_HEADER_LEN);
        head[0] = 0x80 | if padded { 0x20 } else { 0 } | self.csrcs.len() as u8;
        head[1] = if self.marker { 0x80 } else { 0 } | self.payload_type;
        head[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        head[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        head[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        for (slot, csrc) in rest.chunks_exact_mut(4).zip(self.csrcs) {
            slot.copy_from_slice(&csrc.to_be_bytes());
        }
        Ok(header_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::RtpPacket;

    #[test]
    fn round_trips_through_the_parser() {
        let csrcs = [5, 6];
        let mut w = RtpWriter {
            marker: true,
            payload_type: 8,
            sequence: 65535,
            timestamp: u32::MAX - 10,
            ssrc: 0xCAFE_BABE,
            csrcs: &csrcs,
            padding: 4,
        };
        let mut out = [0u8; 64];
        let n = w.write(&[1, 2, 3], &mut out).unwrap();
        assert_eq!(n, 12 + 8 + 3 + 4);
        let p = RtpPacket::parse(&out[..n]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence(), 65535);
        assert_eq!(p.timestamp(), u32::MAX - 10);
        assert_eq!(p.ssrc(), 0xCAFE_BABE);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![5, 6]);
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert_eq!(p.padding_len(), 4);
        assert_eq!(&out[n - 4..n], &[0, 0, 0, 4]);

        w.advance(160);
        w.csrcs = &[];
        w.padding = 0;
        let n = w.write(&[0xFF; 160], &mut out[..]).unwrap_err();
        assert_eq!(
            n,
            RtpError::BufferTooSmall {
                needed: 172,
                available: 64
            }
        );
        let mut big = [0u8; 172];
        let n = w.write(&[0xFF; 160], &mut big).unwrap();
        let p = RtpPacket::parse(&big[..n]).unwrap();
        assert!(!p.marker());
        assert_eq!(p.sequence(), 0);
        assert_eq!(p.timestamp(), 149);
        assert!(!p.has_padding());
    }

    #[test]
    fn header_only_and_limits() {
        let w = RtpWriter {
            payload_type: 0,
            ssrc: 1,
            ..RtpWriter::default()
        };
        let mut out = [0xEEu8; 12];
        assert_eq!(w.write_header(&mut out).unwrap(), 12);
        assert_eq!(out[0], 0x80);
        let mut small = [0u8; 11];
        assert!(w.write_header(&mut small).is_err());
        let bad_pt = RtpWriter {
            payload_type: 200,
            ..w
        };
        assert_eq!(
            bad_pt.write(&[], &mut out),
            Err(RtpError::BadPayloadType(200))
        );
        let many = [0u32; 16];
        let too_many = RtpWriter { csrcs: &many, ..w };
        assert_eq!(
            too_many.write(&[], &mut [0u8; 128]),
            Err(RtpError::TooManyEntries { count: 16, max: 15 })
        );
    }
}
