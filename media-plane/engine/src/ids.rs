//! Control-side names for sessions, endpoints and the events fanned out to subscribers.

use std::net::SocketAddr;
use std::time::Duration;

use warden_shared::{DtmfDigit, EndpointHandle, StreamStats};

/// A call's group of endpoints. Every endpoint of a session lives on the session's core, so
/// any two of them can be bridged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    pub(crate) core: usize,
    pub(crate) id: u64,
}

impl SessionId {
    /// Index of the media core (in the configured core list) serving the session.
    pub fn core(&self) -> usize {
        self.core
    }

    /// A number unique among the sessions of this media plane.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// One endpoint of the media plane: its core and the core's handle for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointId {
    pub(crate) core: usize,
    pub(crate) handle: EndpointHandle,
}

impl EndpointId {
    /// Index of the media core owning the endpoint.
    pub fn core(&self) -> usize {
        self.core
    }

    /// The core-local handle.
    pub fn handle(&self) -> EndpointHandle {
        self.handle
    }
}

/// A freshly created endpoint: its id and the addresses to advertise in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint.
    pub id: EndpointId,
    /// Advertised RTP address (even port).
    pub rtp: SocketAddr,
    /// Advertised RTCP address (the next, odd port).
    pub rtcp: SocketAddr,
}

/// Unsolicited media events, fanned out to every subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// The first packet arrived; the endpoint latched onto `source`.
    FirstPacket {
        /// The endpoint.
        endpoint: EndpointId,
        /// The latched source address.
        source: SocketAddr,
        /// Whether it arrived on the separate RTCP port.
        rtcp: bool,
    },
    /// No media from the remote for longer than the configured RTP timeout.
    RtpTimeout {
        /// The endpoint.
        endpoint: EndpointId,
        /// How long it has been silent.
        idle: Duration,
    },
    /// The remote switched to another SSRC.
    SsrcChanged {
        /// The endpoint.
        endpoint: EndpointId,
        /// Previous SSRC.
        old: u32,
        /// New SSRC.
        new: u32,
    },
    /// Periodic statistics of an endpoint.
    Stats {
        /// The endpoint.
        endpoint: EndpointId,
        /// The figures.
        stats: StreamStats,
    },
    /// A DTMF digit went down or up in what the endpoint received (detection is asked for
    /// with [`crate::MediaPlane::set_dtmf`]).
    Dtmf {
        /// The endpoint.
        endpoint: EndpointId,
        /// The digit.
        digit: DtmfDigit,
    },
    /// A prompt or tone playback ended (`interrupted`: stopped before its end).
    PlaybackDone {
        /// The endpoint played to.
        endpoint: EndpointId,
        /// Stopped (barge-in, replaced, endpoint closed) rather than played out.
        interrupted: bool,
        /// 20 ms frames sent.
        frames: u32,
    },
    /// A recording's file was closed (or could not be written).
    RecordingDone {
        /// The recording's first leg.
        endpoint: EndpointId,
        /// The recording id.
        id: u64,
        /// PCM bytes in the file.
        data_bytes: u64,
        /// Creating or writing the file failed.
        failed: bool,
    },
}

impl MediaEvent {
    /// The endpoint the event is about.
    pub fn endpoint(&self) -> EndpointId {
        match *self {
            MediaEvent::FirstPacket { endpoint, .. }
            | MediaEvent::RtpTimeout { endpoint, .. }
            | MediaEvent::SsrcChanged { endpoint, .. }
            | MediaEvent::Stats { endpoint, .. }
            | MediaEvent::Dtmf { endpoint, .. }
            | MediaEvent::PlaybackDone { endpoint, .. }
            | MediaEvent::RecordingDone { endpoint, .. } => endpoint,
        }
    }
}
