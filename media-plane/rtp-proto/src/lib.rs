//! Sans-IO RTP/RTCP for Warden's media plane: the per-packet logic of the relay.
//!
//! Everything here works on caller-owned byte slices and takes time as an argument;
//! nothing reads a clock, touches a socket, allocates or locks on the packet path.
//!
//! - [`classify`]: tell RTP, RTCP, STUN, DTLS, ... apart on a shared port.
//! - [`rtp`]: [`RtpPacket::parse`], in-place header setters, [`RtpWriter`].
//! - [`rtcp`]: compound validation and iteration, typed views, SSRC rewriting, writers.
//! - [`RecvStats`]: sequence validation, loss and jitter per stream, E-model quality.
//! - [`Latch`]: symmetric-RTP source latching with hijack protection.
//! - [`StreamRewriter`]: payload-type mapping and a stable outgoing SSRC per direction.

mod demux;
mod error;
mod latch;
mod ptmap;
mod rewriter;
pub mod rtcp;
pub mod rtp;
pub mod stats;

pub use demux::{classify, PacketKind};
pub use error::RtpError;
pub use latch::{Latch, LatchConfig, LatchDecision, LatchState, Latched, Unlatched};
pub use ptmap::PayloadTypeMap;
pub use rewriter::{RewriteOutcome, RewriterConfig, SsrcMode, SteadyRewrite, StreamRewriter};
pub use rtcp::{RtcpCompound, RtcpPacket, RtcpView};
pub use rtp::{RtpPacket, RtpWriter};
pub use stats::{Codec, Continuation, Quality, RecvStats, SeqOutcome, StreamStats};
