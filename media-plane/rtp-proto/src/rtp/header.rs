//! In-place rewriting of the fixed RTP header fields of a received datagram.
//!
//! Each helper checks that the buffer holds a version-2 fixed header and touches only
//! the bytes of its field, so a relay can rewrite a packet in its receive buffer and
//! send it on without copying.

use crate::error::RtpError;
use crate::rtp::packet::RTP_HEADER_LEN;

/// Borrows the fixed header of `buf`, checking its length and version.
#[inline]
fn fixed_mut(buf: &mut [u8]) -> Result<&mut [u8; RTP_HEADER_LEN], RtpError> {
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
    Ok(head)
}

/// Sets the 7-bit payload type, keeping the marker bit.
///
/// Fails with [`RtpError::BadPayloadType`] if `payload_type > 127`.
#[inline]
pub fn set_payload_type(buf: &mut [u8], payload_type: u8) -> Result<(), RtpError> {
    if payload_type > 0x7F {
        return Err(RtpError::BadPayloadType(payload_type));
    }
    let head = fixed_mut(buf)?;
    head[1] = (head[1] & 0x80) | payload_type;
    Ok(())
}

/// Sets or clears the marker bit, keeping the payload type.
#[inline]
pub fn set_marker(buf: &mut [u8], marker: bool) -> Result<(), RtpError> {
    let head = fixed_mut(buf)?;
    head[1] = (head[1] & 0x7F) | if marker { 0x80 } else { 0 };
    Ok(())
}

/// Sets the sequence number.
#[inline]
pub fn set_sequence(buf: &mut [u8], sequence: u16) -> Result<(), RtpError> {
    let head = fixed_mut(buf)?;
    let [a, b] = sequence.to_be_bytes();
    head[2] = a;
    head[3] = b;
    Ok(())
}

/// Sets the media timestamp.
#[inline]
pub fn set_timestamp(buf: &mut [u8], timestamp: u32) -> Result<(), RtpError> {
    let head = fixed_mut(buf)?;
    let [a, b, c, d] = timestamp.to_be_bytes();
    head[4] = a;
    head[5] = b;
    head[6] = c;
    head[7] = d;
    Ok(())
}

/// Sets the SSRC.
#[inline]
pub fn set_ssrc(buf: &mut [u8], ssrc: u32) -> Result<(), RtpError> {
    let head = fixed_mut(buf)?;
    let [a, b, c, d] = ssrc.to_be_bytes();
    head[8] = a;
    head[9] = b;
    head[10] = c;
    head[11] = d;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::RtpPacket;

    #[test]
    fn setters_touch_only_their_field() {
        let mut buf = vec![
            0x80, 0x88, 0x00, 0x01, 0, 0, 0, 160, 0xAA, 0xBB, 0xCC, 0xDD, 7, 7,
        ];
        set_payload_type(&mut buf, 0).unwrap();
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0);

        set_marker(&mut buf, false).unwrap();
        set_sequence(&mut buf, 0xFFFE).unwrap();
        set_timestamp(&mut buf, 0x0102_0304).unwrap();
        set_ssrc(&mut buf, 0x1122_3344).unwrap();
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(!p.marker());
        assert_eq!(p.payload_type(), 0);
        assert_eq!(p.sequence(), 0xFFFE);
        assert_eq!(p.timestamp(), 0x0102_0304);
        assert_eq!(p.ssrc(), 0x1122_3344);
        assert_eq!(p.payload(), &[7, 7]);

        set_marker(&mut buf, true).unwrap();
        set_payload_type(&mut buf, 101).unwrap();
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 101);
    }

    #[test]
    fn setters_reject_bad_input() {
        let mut short = [0x80u8; 11];
        assert!(matches!(
            set_ssrc(&mut short, 1),
            Err(RtpError::TooShort { needed: 12, .. })
        ));
        let mut v1 = [0x40u8; 12];
        assert_eq!(set_sequence(&mut v1, 1), Err(RtpError::BadVersion(1)));
        assert_eq!(v1, [0x40u8; 12]);
        let mut ok = [0x80u8; 12];
        assert_eq!(
            set_payload_type(&mut ok, 128),
            Err(RtpError::BadPayloadType(128))
        );
    }
}
