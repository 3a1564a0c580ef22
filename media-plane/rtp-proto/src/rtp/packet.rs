//! Zero-copy view of one RTP packet (RFC 3550 §5.1) and its header extension
//! (RFC 8285 one-byte and two-byte forms).

use crate::error::RtpError;

/// Length of the fixed RTP header.
pub const RTP_HEADER_LEN: usize = 12;
/// RFC 8285 profile value announcing one-byte extension elements.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 two-byte profile values are `0x100X`: this mask selects the fixed part.
const TWO_BYTE_MASK: u16 = 0xFFF0;
/// Fixed part of the RFC 8285 two-byte profile value.
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// A validated, borrowed RTP packet.
///
/// Construction checks everything that could make a later accessor read out of
/// bounds, so every accessor is infallible and cheap (a load and a shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    /// Offset of the extension header, or 0 when there is none.
    ext_offset: usize,
    /// Offset of the first payload byte (after CSRCs and extension).
    payload_start: usize,
    /// Offset one past the last payload byte (before padding).
    payload_end: usize,
}

/// Reads a big-endian `u16` at `off`; the caller has checked the length.
#[inline]
fn be16(buf: &[u8], off: usize) -> u16 {
    match buf.get(off..off + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Reads a big-endian `u32` at `off`; the caller has checked the length.
#[inline]
fn be32(buf: &[u8], off: usize) -> u32 {
    match buf.get(off..off + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

impl<'a> RtpPacket<'a> {
    /// Parses and validates an RTP packet.
    ///
    /// Checks: at least the 12-byte header; version 2; the CSRC list and the header
    /// extension (if flagged) fit; if the padding bit is set, the pad count in the last
    /// byte is at least 1 and does not reach into the headers. An empty payload is
    /// valid.
    #[inline]
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let len = buf.len();
        let Some(head) = buf.first_chunk::<RTP_HEADER_LEN>() else {
            return Err(RtpError::TooShort {
                needed: RTP_HEADER_LEN,
                available: len,
            });
        };
        let b0 = head[0];
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let mut off = RTP_HEADER_LEN + 4 * usize::from(b0 & 0x0F);
        if len < off {
            return Err(RtpError::TooShort {
                needed: off,
                available: len,
            });
        }
        let mut ext_offset = 0;
        if b0 & 0x10 != 0 {
            if len < off + 4 {
                return Err(RtpError::TooShort {
                    needed: off + 4,
                    available: len,
                });
            }
            ext_offset = off;
            off += 4 + 4 * usize::from(be16(buf, off + 2));
            if len < off {
                return Err(RtpError::TooShort {
                    needed: off,
                    available: len,
                });
            }
        }
        let mut payload_end = len;
        if b0 & 0x20 != 0 {
            let count = buf.last().copied().unwrap_or(0);
            let max = len - off;
            if count == 0 || usize::from(count) > max {
                return Err(RtpError::BadPadding { count, max });
            }
            payload_end = len - usize::from(count);
        }
        Ok(Self {
            buf,
            ext_offset,
            payload_start: off,
            payload_end,
        })
    }

    /// The whole datagram this view was parsed from.
    #[inline]
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// RTP version (always 2 for a parsed packet).
    #[inline]
    #[must_use]
    pub fn version(&self) -> u8 {
        self.byte(0) >> 6
    }

    /// Whether the padding bit is set.
    #[inline]
    #[must_use]
    pub fn has_padding(&self) -> bool {
        self.byte(0) & 0x20 != 0
    }

    /// Number of padding bytes at the end (0 without the padding bit).
    #[inline]
    #[must_use]
    pub fn padding_len(&self) -> usize {
        self.buf.len() - self.payload_end
    }

    /// Whether the extension bit is set.
    #[inline]
    #[must_use]
    pub fn has_extension(&self) -> bool {
        self.ext_offset != 0
    }

    /// Number of CSRC identifiers (0–15).
    #[inline]
    #[must_use]
    pub fn csrc_count(&self) -> usize {
        usize::from(self.byte(0) & 0x0F)
    }

    /// The marker bit.
    #[inline]
    #[must_use]
    pub fn marker(&self) -> bool {
        self.byte(1) & 0x80 != 0
    }

    /// The 7-bit payload type.
    #[inline]
    #[must_use]
    pub fn payload_type(&self) -> u8 {
        self.byte(1) & 0x7F
    }

    /// The 16-bit sequence number.
    #[inline]
    #[must_use]
    pub fn sequence(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// The 32-bit media timestamp.
    #[inline]
    #[must_use]
    pub fn timestamp(&self) -> u32 {
        be32(self.buf, 4)
    }

    /// The synchronization source identifier.
    #[inline]
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        be32(self.buf, 8)
    }

    /// Iterates the contributing source identifiers.
    #[must_use]
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let end = RTP_HEADER_LEN + 4 * self.csrc_count();
        self.buf
            .get(RTP_HEADER_LEN..end)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| be32(c, 0))
    }

    /// The header extension, if the extension bit is set.
    #[must_use]
    pub fn extension(&self) -> Option<RtpExtension<'a>> {
        if self.ext_offset == 0 {
            return None;
        }
        let profile = be16(self.buf, self.ext_offset);
        let data = self
            .buf
            .get(self.ext_offset + 4..self.payload_start)
            .unwrap_or_default();
        Some(RtpExtension { profile, data })
    }

    /// Length of all headers (fixed header, CSRCs and extension).
    #[inline]
    #[must_use]
    pub fn header_len(&self) -> usize {
        self.payload_start
    }

    /// The payload, without headers and padding.
    #[inline]
    #[must_use]
    pub fn payload(&self) -> &'a [u8] {
        self.buf
            .get(self.payload_start..self.payload_end)
            .unwrap_or_default()
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }
}

/// The header extension block of an RTP packet, exposed raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16-bit "defined by profile" value.
    pub profile: u16,
    /// The extension data (a multiple of 4 bytes, without the 4-byte extension header).
    pub data: &'a [u8],
}

/// Which RFC 8285 element layout an extension block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionProfile {
    /// One-byte headers (profile `0xBEDE`): 4-bit id, 4-bit length minus one.
    OneByte,
    /// Two-byte headers (profile `0x100X`): 8-bit id, 8-bit length; carries the four
    /// application bits.
    TwoByte {
        /// The low four bits of the profile value.
        app_bits: u8,
    },
    /// Any other profile: only the raw data is meaningful.
    Other(u16),
}

impl<'a> RtpExtension<'a> {
    /// The element layout announced by the profile value.
    #[must_use]
    pub fn kind(&self) -> ExtensionProfile {
        if self.profile == ONE_BYTE_PROFILE {
            ExtensionProfile::OneByte
        } else if self.profile & TWO_BYTE_MASK == TWO_BYTE_PROFILE {
            ExtensionProfile::TwoByte {
                app_bits: (self.profile & 0x0F) as u8,
            }
        } else {
            ExtensionProfile::Other(self.profile)
        }
    }

    /// Iterates RFC 8285 elements; empty for [`ExtensionProfile::Other`].
    ///
    /// Padding bytes are skipped. A truncated element yields one error and ends the
    /// iteration; in the one-byte form, id 15 ends the iteration as RFC 8285 requires.
    #[must_use]
    pub fn elements(&self) -> ExtensionElements<'a> {
        ExtensionElements {
            data: self.data,
            pos: 0,
            kind: self.kind(),
            done: false,
        }
    }
}

/// One RFC 8285 extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// The local identifier negotiated in SDP (`a=extmap`).
    pub id: u8,
    /// The element value.
    pub data: &'a [u8],
}

/// Iterator over the elements of an [`RtpExtension`].
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    pos: usize,
    kind: ExtensionProfile,
    done: bool,
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>, RtpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let start = self.pos;
            let Some(&b) = self.data.get(start) else {
                self.done = true;
                return None;
            };
            if b == 0 {
                self.pos += 1;
                continue;
            }
            let (id, len, hdr) = match self.kind {
                ExtensionProfile::OneByte => {
                    let id = b >> 4;
                    if id == 15 {
                        self.done = true;
                        return None;
                    }
                    (id, usize::from(b & 0x0F) + 1, 1)
                }
                ExtensionProfile::TwoByte { .. } => {
                    let Some(&len) = self.data.get(start + 1) else {
                        self.done = true;
                        return Some(Err(RtpError::BadLength { offset: start }));
                    };
                    (b, usize::from(len), 2)
                }
                ExtensionProfile::Other(_) => {
                    self.done = true;
                    return None;
                }
            };
            let value = start + hdr;
            let Some(data) = self.data.get(value..value + len) else {
                self.done = true;
                return Some(Err(RtpError::BadLength { offset: start }));
            };
            self.pos = value + len;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PCMU packet: marker set, seq 0x1234, ts 0xDEADBEEF, ssrc 0x01020304.
    fn basic(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04,
        ];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn parses_fixed_header() {
        let buf = basic(&[1, 2, 3]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0);
        assert_eq!(p.sequence(), 0x1234);
        assert_eq!(p.timestamp(), 0xDEAD_BEEF);
        assert_eq!(p.ssrc(), 0x0102_0304);
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert_eq!(p.header_len(), 12);
        assert!(!p.has_padding() && !p.has_extension());
        assert_eq!(p.csrcs().len(), 0);
        assert!(p.extension().is_none());
    }

    #[test]
    fn empty_payload_is_valid() {
        let buf = basic(&[]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn rejects_short_and_bad_version() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]),
            Err(RtpError::TooShort {
                needed: 12,
                available: 11
            })
        );
        let mut buf = basic(&[0]);
        buf[0] = 0x40;
        assert_eq!(RtpPacket::parse(&buf), Err(RtpError::BadVersion(1)));
        buf[0] = 0x00;
        assert_eq!(RtpPacket::parse(&buf), Err(RtpError::BadVersion(0)));
    }

    #[test]
    fn csrcs_are_read_and_bounded() {
        let mut buf = basic(&[]);
        buf[0] = 0x82;
        buf.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9, 0xAA]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![7, 9]);
        assert_eq!(p.payload(), &[0xAA]);
        // Announce 3 CSRCs but carry only 2.
        buf.truncate(20);
        buf[0] = 0x83;
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::TooShort {
                needed: 24,
                available: 20
            })
        );
    }

    #[test]
    fn padding_is_validated() {
        let mut buf = basic(&[9, 9, 0, 0, 3]);
        buf[0] |= 0x20;
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.payload(), &[9, 9]);
        assert_eq!(p.padding_len(), 3);

        // Pad count of zero.
        *buf.last_mut().unwrap() = 0;
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::BadPadding { count: 0, max: 5 })
        );
        // Pad count eating into the header.
        *buf.last_mut().unwrap() = 6;
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::BadPadding { count: 6, max: 5 })
        );
        // Padding covering the whole payload area is fine.
        *buf.last_mut().unwrap() = 5;
        assert!(RtpPacket::parse(&buf).unwrap().payload().is_empty());
        // Padding bit on a header-only packet: no room for the count byte.
        let mut bare = basic(&[]);
        bare[0] |= 0x20;
        assert!(matches!(
            RtpPacket::parse(&bare),
            Err(RtpError::BadPadding { max: 0, .. })
        ));
    }

    #[test]
    fn one_byte_extension_elements() {
        let mut buf = basic(&[]);
        buf[0] |= 0x10;
        // profile 0xBEDE, length 2 words: id 1 len 1 [0xAA], pad, id 3 len 3 [1,2,3], pad pad
        buf.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x02]);
        buf.extend_from_slice(&[0x10, 0xAA, 0x00, 0x32, 1, 2, 3, 0x00]);
        buf.extend_from_slice(&[0x55]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload(), &[0x55]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.kind(), ExtensionProfile::OneByte);
        assert_eq!(ext.data.len(), 8);
        let els: Vec<_> = ext.elements().map(Result::unwrap).collect();
        assert_eq!(
            els,
            vec![
                ExtensionElement {
                    id: 1,
                    data: &[0xAA]
                },
                ExtensionElement {
                    id: 3,
                    data: &[1, 2, 3]
                },
            ]
        );
    }

    #[test]
    fn one_byte_id_15_stops_and_overrun_errors() {
        let ext = RtpExtension {
            profile: ONE_BYTE_PROFILE,
            data: &[0x10, 0xAA, 0xF0, 0x10, 0x20, 0, 0, 0],
        };
        assert_eq!(ext.elements().count(), 1);
        let bad = RtpExtension {
            profile: ONE_BYTE_PROFILE,
            data: &[0x12, 0xAA, 0xBB, 0xCC, 0x2F, 0, 0, 0],
        };
        let items: Vec<_> = bad.elements().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(RtpError::BadLength { offset: 4 }));
    }

    #[test]
    fn two_byte_extension_elements() {
        let ext = RtpExtension {
            profile: 0x1003,
            data: &[0x07, 0x00, 0x00, 0x09, 0x02, 0xAB, 0xCD, 0x00],
        };
        assert_eq!(ext.kind(), ExtensionProfile::TwoByte { app_bits: 3 });
        let els: Vec<_> = ext.elements().map(Result::unwrap).collect();
        assert_eq!(els[0], ExtensionElement { id: 7, data: &[] });
        assert_eq!(
            els[1],
            ExtensionElement {
                id: 9,
                data: &[0xAB, 0xCD]
            }
        );
        assert_eq!(els.len(), 2);
        let other = RtpExtension {
            profile: 0x1234,
            data: &[1, 2, 3, 4],
        };
        assert_eq!(other.kind(), ExtensionProfile::Other(0x1234));
        assert_eq!(other.elements().count(), 0);
    }

    #[test]
    fn extension_length_must_fit() {
        let mut buf = basic(&[]);
        buf[0] |= 0x10;
        buf.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x03, 0, 0, 0, 0]);
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::TooShort {
                needed: 28,
                available: 20
            })
        );
        buf.truncate(14);
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::TooShort {
                needed: 16,
                available: 14
            })
        );
    }
}
