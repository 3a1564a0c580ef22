//! Errors of the ring protocol.

/// A frame that does not decode to a valid [`crate::Command`] or [`crate::Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The first byte of the frame names no known message kind.
    #[error("unknown {kind} tag {tag:#04x}")]
    UnknownTag {
        /// Which message family was being decoded ("command" or "event").
        kind: &'static str,
        /// The tag byte found.
        tag: u8,
    },
    /// A field holds a value outside its domain (bad enum value, bool, address family, count).
    #[error("invalid value in field `{field}`")]
    InvalidField {
        /// Name of the offending field.
        field: &'static str,
    },
    /// A field would extend past the end of the frame.
    #[error("field `{field}` runs past the end of the frame")]
    Truncated {
        /// Name of the field being read.
        field: &'static str,
    },
}

/// The ring had no free slot: the message was not queued (backpressure, never a silent drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring full")]
pub struct RingFull;
