//! The crate's single error type.

/// Why an RTP or RTCP buffer could not be parsed, built or rewritten.
///
/// Every variant is `Copy` and carries only numbers so that returning an error on the
/// per-packet path never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// The buffer ends before a structure that it announces.
    #[error("packet too short: need {needed} bytes, have {available}")]
    TooShort {
        /// Bytes required to hold the structure being read.
        needed: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// The two version bits are not 2.
    #[error("unsupported RTP/RTCP version {0}")]
    BadVersion(u8),
    /// The padding bit is set but the pad count in the last byte is zero or larger than
    /// the space left after the headers.
    #[error("invalid padding count {count} (at most {max} allowed)")]
    BadPadding {
        /// The pad count read from the last byte.
        count: u8,
        /// The largest pad count the packet could carry.
        max: usize,
    },
    /// An RTCP length field or an element length does not fit the buffer, or the
    /// packets of a compound do not add up to the datagram length.
    #[error("length field inconsistent with the buffer at offset {offset}")]
    BadLength {
        /// Byte offset of the offending packet or element inside the buffer.
        offset: usize,
    },
    /// A compound RTCP packet does not start with a sender or receiver report.
    #[error("compound RTCP must start with SR or RR, found packet type {0}")]
    FirstNotReport(u8),
    /// An RTCP packet other than the last one of a compound has the padding bit set.
    #[error("padding bit set on a non-final RTCP packet at offset {offset}")]
    PaddingNotLast {
        /// Byte offset of the offending packet.
        offset: usize,
    },
    /// A typed RTCP view was requested for a packet of another type.
    #[error("expected RTCP packet type {expected}, found {found}")]
    WrongPacketType {
        /// The packet type the view decodes.
        expected: u8,
        /// The packet type actually present.
        found: u8,
    },
    /// An RTCP SDES chunk is malformed (item overruns the chunk, missing terminator).
    #[error("malformed SDES chunk at offset {offset}")]
    BadSdes {
        /// Byte offset of the offending chunk inside the packet.
        offset: usize,
    },
    /// A payload type outside 0..=127 was given to a writer or rewrite helper.
    #[error("payload type {0} is out of range 0..=127")]
    BadPayloadType(u8),
    /// A writer was asked to emit more items than the 4- or 5-bit count field holds
    /// (15 CSRCs, 31 report blocks or SSRCs).
    #[error("too many entries: {count} (at most {max})")]
    TooManyEntries {
        /// Entries requested.
        count: usize,
        /// Largest count the header field can express.
        max: usize,
    },
    /// An SDES text item is longer than 255 bytes.
    #[error("SDES item of {0} bytes exceeds 255")]
    ItemTooLong(usize),
    /// The caller-provided output buffer is too small for what a writer must emit.
    #[error("output buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes the writer needs.
        needed: usize,
        /// Bytes in the caller's buffer.
        available: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_informative() {
        let e = RtpError::TooShort {
            needed: 12,
            available: 3,
        };
        assert_eq!(e.to_string(), "packet too short: need 12 bytes, have 3");
        assert_eq!(
            RtpError::BadVersion(1).to_string(),
            "unsupported RTP/RTCP version 1"
        );
    }
}
