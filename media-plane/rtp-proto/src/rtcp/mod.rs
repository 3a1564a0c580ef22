//! RTCP control packets (RFC 3550 §6, RFC 4585 feedback): compound validation and
//! iteration, typed views, in-place SSRC rewriting, writers and NTP helpers.

mod compound;
mod ntp;
mod rewrite;
mod sdes;
mod views;
mod writer;

pub use compound::{
    RtcpCompound, RtcpIter, RtcpPacket, RTCP_APP, RTCP_BYE, RTCP_HEADER_LEN, RTCP_PSFB, RTCP_RR,
    RTCP_RTPFB, RTCP_SDES, RTCP_SR, RTCP_XR,
};
pub use ntp::{dlsr_from_ns, ntp_from_unix_ns, ntp_middle32, round_trip_ns};
pub(crate) use rewrite::rewrite_with;
pub use rewrite::{rewrite_ssrcs, SsrcRole};
pub use sdes::{Sdes, SdesChunk, SdesChunks, SdesItem, SdesItemType, SdesItems};
pub use views::{
    App, Bye, Feedback, ReceiverReport, ReportBlock, ReportBlocks, RtcpView, SenderInfo,
    SenderReport, SsrcList, REPORT_BLOCK_LEN, SENDER_INFO_LEN,
};
pub use writer::{write_bye, write_receiver_report, write_sdes_cname, write_sender_report};
