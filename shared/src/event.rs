//! Events: media core → control plane (replies and unsolicited notifications).
//!
//! Tags `0x01..=0x3f` are replies and media notifications defined here; `0x40..=0x7f` are
//! reserved for later media features (DTMF digits, playback progress) so adding them does
//! not renumber anything.

use std::net::SocketAddr;

use crate::codec::{Reader, Writer};
use crate::dtmf::{self, DtmfDigit};
use crate::error::DecodeError;
use crate::frame::Frame;
use crate::media_ops as ops;
use crate::types::{EndpointHandle, RequestId};

const TAG_CREATED: u8 = 0x01;
const TAG_DONE: u8 = 0x02;
const TAG_FAILED: u8 = 0x03;
const TAG_STATS: u8 = 0x04;
const TAG_PAIR_CREATED: u8 = 0x05;
const TAG_FIRST_PACKET: u8 = 0x10;
const TAG_RTP_TIMEOUT: u8 = 0x11;
const TAG_SSRC_CHANGED: u8 = 0x12;

/// Why a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The endpoint handle names no live endpoint (never existed or destroyed).
    UnknownEndpoint,
    /// Every port pair of the core's range is in use.
    NoFreePort,
    /// Binding or configuring a socket failed.
    SocketError,
    /// An endpoint cannot be bridged with itself.
    SameEndpoint,
    /// The endpoint is not part of a bridge.
    NotBridged,
    /// The remote address cannot be used (unspecified address, port 0, wrong family).
    InvalidRemote,
    /// The core's endpoint table is full.
    TableFull,
    /// The endpoint's codec cannot be recorded or played to (only G.711 can).
    UnsupportedCodec,
    /// The endpoint is already being recorded.
    AlreadyRecording,
    /// No prompt of that name was loaded.
    UnknownPrompt,
    /// Nothing to stop (no recording or playback on the endpoint).
    NotActive,
    /// The core cannot take more recordings now (writer queue full).
    Busy,
}

impl ErrorCode {
    fn to_wire(self) -> u8 {
        match self {
            ErrorCode::UnknownEndpoint => 1,
            ErrorCode::NoFreePort => 2,
            ErrorCode::SocketError => 3,
            ErrorCode::SameEndpoint => 4,
            ErrorCode::NotBridged => 5,
            ErrorCode::InvalidRemote => 6,
            ErrorCode::TableFull => 7,
            ErrorCode::UnsupportedCodec => 8,
            ErrorCode::AlreadyRecording => 9,
            ErrorCode::UnknownPrompt => 10,
            ErrorCode::NotActive => 11,
            ErrorCode::Busy => 12,
        }
    }

    fn from_wire(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => ErrorCode::UnknownEndpoint,
            2 => ErrorCode::NoFreePort,
            3 => ErrorCode::SocketError,
            4 => ErrorCode::SameEndpoint,
            5 => ErrorCode::NotBridged,
            6 => ErrorCode::InvalidRemote,
            7 => ErrorCode::TableFull,
            8 => ErrorCode::UnsupportedCodec,
            9 => ErrorCode::AlreadyRecording,
            10 => ErrorCode::UnknownPrompt,
            11 => ErrorCode::NotActive,
            12 => ErrorCode::Busy,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ErrorCode::UnknownEndpoint => "unknown endpoint",
            ErrorCode::NoFreePort => "no free port pair",
            ErrorCode::SocketError => "socket error",
            ErrorCode::SameEndpoint => "cannot bridge an endpoint with itself",
            ErrorCode::NotBridged => "endpoint is not bridged",
            ErrorCode::InvalidRemote => "invalid remote address",
            ErrorCode::TableFull => "endpoint table full",
            ErrorCode::UnsupportedCodec => "codec not supported for recording or playback",
            ErrorCode::AlreadyRecording => "endpoint is already being recorded",
            ErrorCode::UnknownPrompt => "unknown prompt",
            ErrorCode::NotActive => "no recording or playback to stop",
            ErrorCode::Busy => "media core busy",
        };
        f.write_str(text)
    }
}

/// Per-endpoint statistics: what arrived from the endpoint's remote and what was sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// RTP packets accepted from the remote.
    pub packets_received: u64,
    /// RTP payload-carrying bytes (whole RTP packets) accepted from the remote.
    pub bytes_received: u64,
    /// Cumulative packets lost (expected minus received; negative with duplicates).
    pub packets_lost: i64,
    /// Highest extended sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter (RFC 3550), in microseconds.
    pub jitter_us: u32,
    /// SSRC of the stream currently received (0 before the first packet).
    pub ssrc: u32,
    /// E-model R-factor × 100 (0 before any packet).
    pub r_factor_x100: u16,
    /// Estimated MOS × 100 (0 before any packet).
    pub mos_x100: u16,
    /// RTP packets sent to the remote.
    pub packets_sent: u64,
    /// RTP bytes sent to the remote.
    pub bytes_sent: u64,
    /// RTCP packets received from the remote.
    pub rtcp_received: u32,
    /// RTCP packets sent to the remote.
    pub rtcp_sent: u32,
    /// Packets dropped because they were not valid RTP/RTCP.
    pub dropped_malformed: u32,
    /// Packets dropped because they came from an address other than the latched one.
    pub dropped_stranger: u32,
}

/// A message from a media core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Reply to `CreateEndpoint`.
    Created {
        /// Request id of the command.
        req: RequestId,
        /// The new endpoint.
        endpoint: EndpointHandle,
        /// Advertised RTP address (RTCP is on the next port).
        local: SocketAddr,
    },
    /// Reply to `CreatePair`: two new endpoints, bridged to each other.
    PairCreated {
        /// Request id of the command.
        req: RequestId,
        /// The first endpoint.
        a: EndpointHandle,
        /// The second endpoint.
        b: EndpointHandle,
        /// The first endpoint's advertised RTP address (RTCP is on the next port).
        a_local: SocketAddr,
        /// The second endpoint's advertised RTP address.
        b_local: SocketAddr,
    },
    /// Success reply to a command that returns nothing.
    Done {
        /// Request id of the command.
        req: RequestId,
    },
    /// Failure reply to any command.
    Failed {
        /// Request id of the command.
        req: RequestId,
        /// What went wrong.
        code: ErrorCode,
    },
    /// Statistics: a reply to `QueryStats`, or periodic when `req` is
    /// [`RequestId::UNSOLICITED`].
    Stats {
        /// Request id, or `RequestId::UNSOLICITED` for the periodic report.
        req: RequestId,
        /// The endpoint reported on.
        endpoint: EndpointHandle,
        /// The figures.
        stats: StreamStats,
    },
    /// The first packet arrived and the endpoint latched onto its source address.
    FirstPacket {
        /// The endpoint.
        endpoint: EndpointHandle,
        /// The latched source.
        source: SocketAddr,
        /// Whether the packet was RTCP on the separate RTCP port.
        rtcp: bool,
    },
    /// No media arrived from the remote for longer than the configured timeout.
    RtpTimeout {
        /// The endpoint.
        endpoint: EndpointHandle,
        /// Milliseconds since the last packet (or since the remote was set).
        idle_ms: u32,
    },
    /// The remote started sending a different SSRC; statistics restarted their sequence base.
    SsrcChanged {
        /// The endpoint.
        endpoint: EndpointHandle,
        /// The previous SSRC.
        old: u32,
        /// The new SSRC.
        new: u32,
    },
    /// A DTMF digit went down or up in what the endpoint received (see `Command::SetDtmf`).
    Dtmf {
        /// The endpoint.
        endpoint: EndpointHandle,
        /// The digit.
        digit: DtmfDigit,
    },
    /// A prompt or tone finished playing, or was stopped.
    PlaybackDone {
        /// The endpoint played to.
        endpoint: EndpointHandle,
        /// Stopped by `StopPlayback` (barge-in), a new playback, or the endpoint going away,
        /// rather than played to the end.
        interrupted: bool,
        /// 20 ms frames sent.
        frames: u32,
    },
    /// A recording's file was closed (header sizes fixed up) or could not be written.
    RecordingDone {
        /// The first leg of the recording.
        endpoint: EndpointHandle,
        /// The recording id.
        id: u64,
        /// PCM bytes in the file's data chunk.
        data_bytes: u64,
        /// Creating or writing the file failed (the file may be missing or short).
        failed: bool,
    },
}

impl Event {
    /// The request id for replies, `None` for unsolicited notifications.
    pub fn request_id(&self) -> Option<RequestId> {
        match *self {
            Event::Created { req, .. }
            | Event::PairCreated { req, .. }
            | Event::Done { req }
            | Event::Failed { req, .. } => Some(req),
            Event::Stats { req, .. } if req != RequestId::UNSOLICITED => Some(req),
            _ => None,
        }
    }

    /// Serialises the event into a frame.
    pub fn encode(&self) -> Frame {
        match *self {
            Event::Created {
                req,
                endpoint,
                local,
            } => {
                let mut w = Writer::new(TAG_CREATED);
                w.req(req);
                w.endpoint(endpoint);
                w.addr(local);
                w.finish()
            }
            Event::PairCreated {
                req,
                a,
                b,
                a_local,
                b_local,
            } => {
                let mut w = Writer::new(TAG_PAIR_CREATED);
                w.req(req);
                w.endpoint(a);
                w.endpoint(b);
                w.addr(a_local);
                w.addr(b_local);
                w.finish()
            }
            Event::Done { req } => {
                let mut w = Writer::new(TAG_DONE);
                w.req(req);
                w.finish()
            }
            Event::Failed { req, code } => {
                let mut w = Writer::new(TAG_FAILED);
                w.req(req);
                w.u8(code.to_wire());
                w.finish()
            }
            Event::Stats {
                req,
                endpoint,
                stats,
            } => {
                let mut w = Writer::new(TAG_STATS);
                w.req(req);
                w.endpoint(endpoint);
                w.u64(stats.packets_received);
                w.u64(stats.bytes_received);
                w.i64(stats.packets_lost);
                w.u32(stats.highest_seq);
                w.u32(stats.jitter_us);
                w.u32(stats.ssrc);
                w.u16(stats.r_factor_x100);
                w.u16(stats.mos_x100);
                w.u64(stats.packets_sent);
                w.u64(stats.bytes_sent);
                w.u32(stats.rtcp_received);
                w.u32(stats.rtcp_sent);
                w.u32(stats.dropped_malformed);
                w.u32(stats.dropped_stranger);
                w.finish()
            }
            Event::FirstPacket {
                endpoint,
                source,
                rtcp,
            } => {
                let mut w = Writer::new(TAG_FIRST_PACKET);
                w.req(RequestId::UNSOLICITED);
                w.endpoint(endpoint);
                w.addr(source);
                w.bool(rtcp);
                w.finish()
            }
            Event::RtpTimeout { endpoint, idle_ms } => {
                let mut w = Writer::new(TAG_RTP_TIMEOUT);
                w.req(RequestId::UNSOLICITED);
                w.endpoint(endpoint);
                w.u32(idle_ms);
                w.finish()
            }
            Event::SsrcChanged { endpoint, old, new } => {
                let mut w = Writer::new(TAG_SSRC_CHANGED);
                w.req(RequestId::UNSOLICITED);
                w.endpoint(endpoint);
                w.u32(old);
                w.u32(new);
                w.finish()
            }
            Event::Dtmf { endpoint, digit } => {
                let mut w = Writer::new(dtmf::TAG_DTMF);
                w.req(RequestId::UNSOLICITED);
                w.endpoint(endpoint);
                dtmf::write_digit(&mut w, &digit);
                w.finish()
            }
            Event::PlaybackDone {
                endpoint,
                interrupted,
                frames,
            } => {
                let mut w = ops::simple(ops::EVT_PLAYBACK_DONE, RequestId::UNSOLICITED, endpoint);
                w.bool(interrupted);
                w.u32(frames);
                w.finish()
            }
            Event::RecordingDone {
                endpoint,
                id,
                data_bytes,
                failed,
            } => {
                let mut w = ops::simple(ops::EVT_RECORDING_DONE, RequestId::UNSOLICITED, endpoint);
                w.u64(id);
                w.u64(data_bytes);
                w.bool(failed);
                w.finish()
            }
        }
    }

    /// Parses and validates a frame.
    pub fn decode(frame: &Frame) -> Result<Event, DecodeError> {
        let mut r = Reader::new(frame);
        let tag = frame.0[0];
        let req = r.req()?;
        let unsolicited = |req: RequestId| {
            if req == RequestId::UNSOLICITED {
                Ok(())
            } else {
                Err(DecodeError::InvalidField {
                    field: "request_id",
                })
            }
        };
        Ok(match tag {
            TAG_CREATED => Event::Created {
                req,
                endpoint: r.endpoint("endpoint")?,
                local: r.addr("local")?,
            },
            TAG_PAIR_CREATED => Event::PairCreated {
                req,
                a: r.endpoint("a")?,
                b: r.endpoint("b")?,
                a_local: r.addr("a_local")?,
                b_local: r.addr("b_local")?,
            },
            TAG_DONE => Event::Done { req },
            TAG_FAILED => {
                let code = ErrorCode::from_wire(r.u8("code")?)
                    .ok_or(DecodeError::InvalidField { field: "code" })?;
                Event::Failed { req, code }
            }
            TAG_STATS => Event::Stats {
                req,
                endpoint: r.endpoint("endpoint")?,
                stats: StreamStats {
                    packets_received: r.u64("packets_received")?,
                    bytes_received: r.u64("bytes_received")?,
                    packets_lost: r.i64("packets_lost")?,
                    highest_seq: r.u32("highest_seq")?,
                    jitter_us: r.u32("jitter_us")?,
                    ssrc: r.u32("ssrc")?,
                    r_factor_x100: r.u16("r_factor_x100")?,
                    mos_x100: r.u16("mos_x100")?,
                    packets_sent: r.u64("packets_sent")?,
                    bytes_sent: r.u64("bytes_sent")?,
                    rtcp_received: r.u32("rtcp_received")?,
                    rtcp_sent: r.u32("rtcp_sent")?,
                    dropped_malformed: r.u32("dropped_malformed")?,
                    dropped_stranger: r.u32("dropped_stranger")?,
                },
            },
            TAG_FIRST_PACKET => {
                unsolicited(req)?;
                Event::FirstPacket {
                    endpoint: r.endpoint("endpoint")?,
                    source: r.addr("source")?,
                    rtcp: r.bool("rtcp")?,
                }
            }
            TAG_RTP_TIMEOUT => {
                unsolicited(req)?;
                Event::RtpTimeout {
                    endpoint: r.endpoint("endpoint")?,
                    idle_ms: r.u32("idle_ms")?,
                }
            }
            TAG_SSRC_CHANGED => {
                unsolicited(req)?;
                Event::SsrcChanged {
                    endpoint: r.endpoint("endpoint")?,
                    old: r.u32("old")?,
                    new: r.u32("new")?,
                }
            }
            dtmf::TAG_DTMF => {
                unsolicited(req)?;
                Event::Dtmf {
                    endpoint: r.endpoint("endpoint")?,
                    digit: dtmf::read_digit(&mut r)?,
                }
            }
            ops::EVT_PLAYBACK_DONE => {
                unsolicited(req)?;
                Event::PlaybackDone {
                    endpoint: r.endpoint("endpoint")?,
                    interrupted: r.bool("interrupted")?,
                    frames: r.u32("frames")?,
                }
            }
            ops::EVT_RECORDING_DONE => {
                unsolicited(req)?;
                Event::RecordingDone {
                    endpoint: r.endpoint("endpoint")?,
                    id: r.u64("id")?,
                    data_bytes: r.u64("data_bytes")?,
                    failed: r.bool("failed")?,
                }
            }
            tag => return Err(DecodeError::UnknownTag { kind: "event", tag }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> EndpointHandle {
        EndpointHandle {
            slot: 12,
            generation: 99,
        }
    }

    fn full_stats() -> StreamStats {
        StreamStats {
            packets_received: u64::MAX,
            bytes_received: 1 << 40,
            packets_lost: -3,
            highest_seq: 70_000,
            jitter_us: 1234,
            ssrc: 0xdead_beef,
            r_factor_x100: 9320,
            mos_x100: 441,
            packets_sent: 7,
            bytes_sent: 8,
            rtcp_received: 9,
            rtcp_sent: 10,
            dropped_malformed: 11,
            dropped_stranger: u32::MAX,
        }
    }

    fn samples() -> Vec<Event> {
        vec![
            Event::Created {
                req: RequestId(1),
                endpoint: ep(),
                local: "203.0.113.5:30000".parse().unwrap(),
            },
            Event::Created {
                req: RequestId(1),
                endpoint: ep(),
                local: "[2001:db8::1]:30002".parse().unwrap(),
            },
            Event::Done { req: RequestId(2) },
            Event::Failed {
                req: RequestId(3),
                code: ErrorCode::NoFreePort,
            },
            Event::Failed {
                req: RequestId(3),
                code: ErrorCode::TableFull,
            },
            Event::Stats {
                req: RequestId(4),
                endpoint: ep(),
                stats: full_stats(),
            },
            Event::Stats {
                req: RequestId::UNSOLICITED,
                endpoint: ep(),
                stats: StreamStats::default(),
            },
            Event::FirstPacket {
                endpoint: ep(),
                source: "198.51.100.7:7078".parse().unwrap(),
                rtcp: true,
            },
            Event::RtpTimeout {
                endpoint: ep(),
                idle_ms: 30_000,
            },
            Event::SsrcChanged {
                endpoint: ep(),
                old: 1,
                new: 2,
            },
            Event::PlaybackDone {
                endpoint: ep(),
                interrupted: true,
                frames: u32::MAX,
            },
            Event::RecordingDone {
                endpoint: ep(),
                id: u64::MAX,
                data_bytes: 1 << 33,
                failed: false,
            },
            Event::Failed {
                req: RequestId(3),
                code: ErrorCode::UnsupportedCodec,
            },
            Event::Failed {
                req: RequestId(3),
                code: ErrorCode::Busy,
            },
            Event::PairCreated {
                req: RequestId(5),
                a: ep(),
                b: EndpointHandle {
                    slot: u32::MAX,
                    generation: u32::MAX,
                },
                a_local: "[2001:db8::1]:30002".parse().unwrap(),
                b_local: "[2001:db8::1]:65534".parse().unwrap(),
            },
        ]
    }

    #[test]
    fn every_event_round_trips() {
        for event in samples() {
            assert_eq!(Event::decode(&event.encode()), Ok(event), "{event:?}");
        }
    }

    #[test]
    fn request_ids_distinguish_replies_from_notifications() {
        let s = samples();
        assert_eq!(s[0].request_id(), Some(RequestId(1)));
        assert_eq!(s[5].request_id(), Some(RequestId(4)));
        assert_eq!(s[6].request_id(), None);
        assert_eq!(s[7].request_id(), None);
        assert_eq!(s[10].request_id(), None);
        assert_eq!(s[11].request_id(), None);
        for e in &s[10..12] {
            assert!((0x50..=0x5f).contains(&e.encode().0[0]), "{e:?}");
            let mut f = e.encode();
            f.0[1] = 1; // notifications carry no request id
            assert!(Event::decode(&f).is_err());
        }
    }

    #[test]
    fn invalid_events_are_rejected() {
        assert!(matches!(
            Event::decode(&Frame::zeroed()),
            Err(DecodeError::UnknownTag { .. })
        ));
        let mut f = Event::Failed {
            req: RequestId(3),
            code: ErrorCode::NoFreePort,
        }
        .encode();
        f.0[9] = 200;
        assert_eq!(
            Event::decode(&f),
            Err(DecodeError::InvalidField { field: "code" })
        );
        let mut f = Event::RtpTimeout {
            endpoint: ep(),
            idle_ms: 1,
        }
        .encode();
        f.0[1] = 1; // a notification must not carry a request id
        assert!(Event::decode(&f).is_err());
        for code in 0..=255u8 {
            if let Some(c) = ErrorCode::from_wire(code) {
                assert_eq!(c.to_wire(), code);
                assert!(!c.to_string().is_empty());
            }
        }
    }
}
