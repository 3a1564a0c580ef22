//! Telling apart the protocols that share one UDP port (RFC 7983, RFC 5761).
//!
//! The first byte selects the protocol family: 0–3 STUN, 16–19 ZRTP, 20–63 DTLS,
//! 64–79 TURN channel data, 128–191 RTP or RTCP (version 2). RTP and RTCP are then
//! separated by the second byte: RTCP packet types 192–223 (which RFC 5761 keeps
//! free in the RTP payload-type space, marker bit included) mean RTCP.

/// What a datagram received on a media port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// An RTP packet (version 2, second byte outside the RTCP range).
    Rtp,
    /// An RTCP packet (version 2, second byte 192–223).
    Rtcp,
    /// A STUN message (first byte 0–3), e.g. an ICE connectivity check.
    Stun,
    /// A DTLS record (first byte 20–63), e.g. a DTLS-SRTP handshake.
    Dtls,
    /// A ZRTP packet (first byte 16–19).
    Zrtp,
    /// TURN channel data (first byte 64–79).
    TurnChannel,
    /// Anything else, including buffers too short to be any of the above.
    Unknown,
}

/// Smallest RTP packet: the fixed header.
const MIN_RTP: usize = 12;
/// Smallest RTCP packet: common header plus one SSRC.
const MIN_RTCP: usize = 8;
/// STUN message header.
const MIN_STUN: usize = 20;
/// DTLS record header.
const MIN_DTLS: usize = 13;
/// ZRTP packet header (the RTP-like 12-byte header).
const MIN_ZRTP: usize = 12;
/// TURN ChannelData header.
const MIN_TURN: usize = 4;

/// Classifies a datagram by its first two bytes and a minimum length.
///
/// Never panics; a buffer too short for the protocol its first byte announces is
/// [`PacketKind::Unknown`].
#[inline]
#[must_use]
pub fn classify(buf: &[u8]) -> PacketKind {
    let Some(&first) = buf.first() else {
        return PacketKind::Unknown;
    };
    let len = buf.len();
    match first {
        128..=191 => match buf.get(1) {
            Some(192..=223) if len >= MIN_RTCP => PacketKind::Rtcp,
            Some(192..=223) => PacketKind::Unknown,
            Some(_) if len >= MIN_RTP => PacketKind::Rtp,
            _ => PacketKind::Unknown,
        },
        0..=3 if len >= MIN_STUN => PacketKind::Stun,
        16..=19 if len >= MIN_ZRTP => PacketKind::Zrtp,
        20..=63 if len >= MIN_DTLS => PacketKind::Dtls,
        64..=79 if len >= MIN_TURN => PacketKind::TurnChannel,
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(first: u8, second: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[0] = first;
        if len > 1 {
            v[1] = second;
        }
        v
    }

    #[test]
    fn rtp_and_rtcp_split_on_second_byte() {
        // PCMU without and with marker.
        assert_eq!(classify(&pkt(0x80, 0, 172)), PacketKind::Rtp);
        assert_eq!(classify(&pkt(0x80, 0x80, 172)), PacketKind::Rtp);
        // Dynamic PT 96 with marker is 0xE0 = 224: just past the RTCP range.
        assert_eq!(classify(&pkt(0x80, 0xE0, 40)), PacketKind::Rtp);
        // PT 63 with marker is 0xBF = 191: just below the RTCP range.
        assert_eq!(classify(&pkt(0x80, 0xBF, 40)), PacketKind::Rtp);
        for pt in 192..=223u8 {
            assert_eq!(classify(&pkt(0x81, pt, 8)), PacketKind::Rtcp, "pt {pt}");
        }
        // SR with padding bit and five report blocks still classifies by version bits.
        assert_eq!(classify(&pkt(0xA5, 200, 28)), PacketKind::Rtcp);
    }

    #[test]
    fn rfc7983_ranges() {
        assert_eq!(classify(&pkt(0x00, 0x01, 20)), PacketKind::Stun);
        assert_eq!(classify(&pkt(0x03, 0x01, 20)), PacketKind::Stun);
        assert_eq!(classify(&pkt(16, 0, 12)), PacketKind::Zrtp);
        assert_eq!(classify(&pkt(22, 0xFE, 13)), PacketKind::Dtls);
        assert_eq!(classify(&pkt(63, 0, 13)), PacketKind::Dtls);
        assert_eq!(classify(&pkt(64, 0, 4)), PacketKind::TurnChannel);
        assert_eq!(classify(&pkt(79, 0, 4)), PacketKind::TurnChannel);
        for first in [4u8, 15, 80, 127, 192, 255] {
            assert_eq!(classify(&pkt(first, 0, 64)), PacketKind::Unknown, "{first}");
        }
    }

    #[test]
    fn short_buffers_are_unknown() {
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
        assert_eq!(classify(&pkt(0x80, 0, 11)), PacketKind::Unknown);
        assert_eq!(classify(&pkt(0x80, 200, 7)), PacketKind::Unknown);
        assert_eq!(classify(&pkt(0x00, 1, 19)), PacketKind::Unknown);
        assert_eq!(classify(&pkt(22, 0, 12)), PacketKind::Unknown);
    }
}
