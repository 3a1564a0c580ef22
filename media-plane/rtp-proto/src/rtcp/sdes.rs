//! Source description packets (RFC 3550 §6.5): chunks of items per source.
//!
//! A chunk is an SSRC followed by items (type, length, text) and ended by a null
//! byte plus zero padding to the next 32-bit boundary. The view validates every
//! chunk when built; a final chunk that reaches the end of the packet without its
//! terminator is tolerated.

use crate::error::RtpError;
use crate::rtcp::compound::{be32, RtcpPacket, RTCP_SDES};
use crate::rtcp::views::expect_type;

/// SDES item types (RFC 3550 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdesItemType {
    /// Canonical end-point identifier (1).
    Cname,
    /// User name (2).
    Name,
    /// E-mail address (3).
    Email,
    /// Phone number (4).
    Phone,
    /// Location (5).
    Loc,
    /// Application or tool name (6).
    Tool,
    /// Notice/status (7).
    Note,
    /// Private extension (8).
    Priv,
    /// Any other type value.
    Other(u8),
}

impl From<u8> for SdesItemType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Cname,
            2 => Self::Name,
            3 => Self::Email,
            4 => Self::Phone,
            5 => Self::Loc,
            6 => Self::Tool,
            7 => Self::Note,
            8 => Self::Priv,
            other => Self::Other(other),
        }
    }
}

/// One SDES item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type.
    pub kind: SdesItemType,
    /// Item value (UTF-8 by specification, not checked).
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// Iterates the chunk's items.
    #[must_use]
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { rest: self.items }
    }

    /// The CNAME item's value, if present.
    #[must_use]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesItemType::Cname)
            .map(|i| i.value)
    }
}

/// Iterator over the items of an [`SdesChunk`].
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let (&kind, rest) = self.rest.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let value = rest.get(..usize::from(len))?;
        self.rest = rest.get(usize::from(len)..).unwrap_or_default();
        Some(SdesItem {
            kind: SdesItemType::from(kind),
            value,
        })
    }
}

/// Parses one chunk at the start of `data`: returns the chunk and its length
/// including the terminator and alignment. A chunk whose items run to the end of the
/// packet without a terminator is accepted.
fn sdes_chunk(data: &[u8], offset: usize) -> Result<(SdesChunk<'_>, usize), RtpError> {
    let bad = RtpError::BadSdes { offset };
    if data.len() < 4 {
        return Err(bad);
    }
    let ssrc = be32(data, 0);
    let mut pos = 4;
    loop {
        match data.get(pos) {
            None => break,
            Some(0) => break,
            Some(_) => {
                let len = usize::from(*data.get(pos + 1).ok_or(bad)?);
                pos += 2 + len;
                if pos > data.len() {
                    return Err(bad);
                }
            }
        }
    }
    let items = data.get(4..pos).unwrap_or_default();
    // Skip the terminator and pad to the next 32-bit boundary.
    let consumed = if pos < data.len() {
        (pos + 4) & !3
    } else {
        pos
    };
    Ok((SdesChunk { ssrc, items }, consumed.min(data.len())))
}

/// A source description packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    count: u8,
    body: &'a [u8],
}

impl<'a> Sdes<'a> {
    /// Decodes and validates an SDES packet.
    pub fn parse(packet: RtcpPacket<'a>) -> Result<Self, RtpError> {
        expect_type(&packet, RTCP_SDES)?;
        let body = packet.body();
        let mut pos = 0;
        for _ in 0..packet.count() {
            let (_, len) = sdes_chunk(body.get(pos..).unwrap_or_default(), pos)?;
            pos += len;
        }
        Ok(Self {
            count: packet.count(),
            body,
        })
    }

    /// Iterates the chunks.
    #[must_use]
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            left: self.count,
            rest: self.body,
        }
    }
}

/// Iterator over the chunks of an [`Sdes`] packet.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    left: u8,
    rest: &'a [u8],
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (chunk, len) = sdes_chunk(self.rest, 0).ok()?;
        self.rest = self.rest.get(len..).unwrap_or_default();
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::compound::RtcpCompound;
    use crate::rtcp::views::RtcpView;

    fn one(buf: &[u8]) -> RtcpPacket<'_> {
        RtcpCompound::parse_reduced_size(buf)
            .unwrap()
            .iter()
            .next()
            .unwrap()
    }

    #[test]
    fn sdes_multiple_chunks_and_items() {
        let mut buf = vec![0x82, RTCP_SDES, 0, 0];
        // Chunk 1: CNAME "a", NAME "bob" -> 4 + 3 + 5 + 1 = 13 -> 16.
        buf.extend_from_slice(&[0, 0, 0, 1, 1, 1, b'a', 2, 3, b'b', b'o', b'b', 0, 0, 0, 0]);
        // Chunk 2: no items, just the terminator word.
        buf.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        buf[3] = (buf.len() / 4 - 1) as u8;
        let RtcpView::Sdes(sdes) = one(&buf).view().unwrap() else {
            panic!()
        };
        let chunks: Vec<_> = sdes.chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].ssrc, 1);
        let items: Vec<_> = chunks[0].items().collect();
        assert_eq!(
            items,
            vec![
                SdesItem {
                    kind: SdesItemType::Cname,
                    value: b"a"
                },
                SdesItem {
                    kind: SdesItemType::Name,
                    value: b"bob"
                },
            ]
        );
        assert_eq!(chunks[1].ssrc, 2);
        assert_eq!(chunks[1].items().count(), 0);
        assert_eq!(chunks[1].cname(), None);
        assert_eq!(SdesItemType::from(42), SdesItemType::Other(42));
    }

    #[test]
    fn sdes_malformed() {
        // Item length runs past the packet.
        let buf = [0x81, RTCP_SDES, 0, 2, 0, 0, 0, 1, 1, 9, b'x', b'y'];
        assert_eq!(one(&buf).view(), Err(RtpError::BadSdes { offset: 0 }));
        // Two chunks announced, one present.
        let buf = [0x82, RTCP_SDES, 0, 2, 0, 0, 0, 1, 1, 1, b'x', 0];
        assert_eq!(one(&buf).view(), Err(RtpError::BadSdes { offset: 8 }));
        // Item type byte with no length byte at the very end.
        let buf = [0x81, RTCP_SDES, 0, 2, 0, 0, 0, 1, 1, 1, b'x', 1];
        assert_eq!(one(&buf).view(), Err(RtpError::BadSdes { offset: 0 }));
        // Missing terminator at the end of the packet is tolerated.
        let buf = [0x81, RTCP_SDES, 0, 2, 0, 0, 0, 1, 1, 2, b'x', b'y'];
        let RtcpView::Sdes(s) = one(&buf).view().unwrap() else {
            panic!()
        };
        assert_eq!(s.chunks().next().unwrap().cname(), Some(&b"xy"[..]));
    }
}
