//! RTP data packets (RFC 3550 §5): parsing, in-place header rewriting and writing.

mod header;
mod packet;
mod writer;

pub use header::{set_marker, set_payload_type, set_sequence, set_ssrc, set_timestamp};
pub use packet::{
    ExtensionElement, ExtensionElements, ExtensionProfile, RtpExtension, RtpPacket,
    ONE_BYTE_PROFILE, RTP_HEADER_LEN,
};
pub use writer::RtpWriter;
