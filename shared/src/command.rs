//! Commands: control plane → media core.

use std::net::SocketAddr;

use crate::codec::{Reader, Writer};
use crate::dtmf::{self, DtmfSpec};
use crate::error::DecodeError;
use crate::frame::Frame;
use crate::media_ops::{self as ops, PromptName, RecordMode};
use crate::transcode::{self, LegFormat, TAG_TRANSCODE};
use crate::types::{Direction, EndpointHandle, PtMap, RequestId};

const TAG_CREATE: u8 = 0x01;
const TAG_SET_REMOTE: u8 = 0x02;
const TAG_BRIDGE: u8 = 0x03;
const TAG_UNBRIDGE: u8 = 0x04;
const TAG_SET_DIRECTION: u8 = 0x05;
const TAG_DESTROY: u8 = 0x06;
const TAG_QUERY_STATS: u8 = 0x07;
const TAG_SHUTDOWN: u8 = 0x08;
const TAG_CREATE_PAIR: u8 = 0x09;
const TAG_RELEASE: u8 = 0x0a;

/// Where and how to send media for one endpoint (what the remote's SDP said).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSpec {
    /// The remote's RTP address.
    pub rtp: SocketAddr,
    /// The remote's RTCP port; 0 means "RTP port + 1". Ignored with `rtcp_mux`.
    pub rtcp_port: u16,
    /// Rewrite applied to the payload type of RTP sent to this remote.
    pub pt_map: PtMap,
    /// Packetization time in milliseconds (informational; 0 if unknown).
    pub ptime_ms: u16,
    /// RTP and RTCP share one port (RFC 5761).
    pub rtcp_mux: bool,
    /// RTP clock rate of the received stream, for jitter (0 means 8000 Hz).
    pub clock_rate: u32,
}

impl RemoteSpec {
    /// A remote at `rtp` with no payload-type rewrite, 20 ms ptime, separate RTCP port.
    pub fn new(rtp: SocketAddr) -> Self {
        Self {
            rtp,
            rtcp_port: 0,
            pt_map: PtMap::new(),
            ptime_ms: 20,
            rtcp_mux: false,
            clock_rate: 0,
        }
    }

    /// The address RTCP is sent to.
    pub fn rtcp_addr(&self) -> SocketAddr {
        if self.rtcp_mux {
            return self.rtp;
        }
        let port = match self.rtcp_port {
            0 => self.rtp.port().wrapping_add(1),
            p => p,
        };
        SocketAddr::new(self.rtp.ip(), port)
    }
}

/// A request to a media core. Every command carries a [`RequestId`]; the core answers with
/// exactly one event carrying the same id (`Created`, `PairCreated`, `Done`, `Stats` or
/// `Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Allocate an endpoint with a fresh RTP/RTCP port pair. Answered by `Event::Created`.
    CreateEndpoint {
        /// Request id.
        req: RequestId,
    },
    /// Allocate two endpoints and bridge them (a call's two legs, in one round trip).
    /// Answered by `Event::PairCreated`; on failure neither endpoint is left behind.
    CreatePair {
        /// Request id.
        req: RequestId,
    },
    /// Set (or renegotiate) the remote party of an endpoint; clears its latched addresses.
    SetRemote {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// Remote address and stream parameters.
        remote: RemoteSpec,
    },
    /// Relay media between two endpoints of the same core.
    Bridge {
        /// Request id.
        req: RequestId,
        /// First leg.
        a: EndpointHandle,
        /// Second leg.
        b: EndpointHandle,
    },
    /// Undo the bridge the endpoint takes part in (both legs become unbridged).
    Unbridge {
        /// Request id.
        req: RequestId,
        /// Either leg.
        endpoint: EndpointHandle,
    },
    /// Change the media direction of an endpoint.
    SetDirection {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// New direction.
        direction: Direction,
    },
    /// Close the endpoint's sockets and free its ports (unbridging it first).
    Destroy {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
    },
    /// Report the endpoint's statistics. Answered by `Event::Stats` with the same id.
    QueryStats {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
    },
    /// Free an endpoint and report its final statistics (what `QueryStats` then `Destroy`
    /// would do, in one command). Answered by `Event::Stats` with the same id, which does
    /// not wake the control plane by itself: it goes with the next event that does, or
    /// with the core's housekeeping (at most 100 ms later).
    Release {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
    },
    /// Stop the core: close every endpoint and leave the executor.
    Shutdown {
        /// Request id.
        req: RequestId,
    },
    /// Detect DTMF in what the endpoint receives (RFC 4733 and/or in-band G.711), reported
    /// as `Event::Dtmf`; the packets are still relayed unchanged.
    SetDtmf {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// The payload types to watch; the default turns detection off.
        spec: DtmfSpec,
    },
    /// Record the bridged legs `a` (left/caller) and `b` (right/callee) to the WAV file
    /// named by `id` (see [`crate::recording_file_name`]) until `StopRecording`, unbridge or
    /// destroy. A leg of a transcoding bridge is recorded from the bridge's decoded audio
    /// (8 kHz); any other leg must send G.711 (else its channel holds silence).
    StartRecording {
        /// Request id.
        req: RequestId,
        /// First leg (left channel).
        a: EndpointHandle,
        /// Second leg (right channel).
        b: EndpointHandle,
        /// Recording id chosen by the control plane.
        id: u64,
        /// Stereo or mixed mono.
        mode: RecordMode,
    },
    /// Stop the recording either leg takes part in; the file is closed off the packet path
    /// and `RecordingDone` reports it.
    StopRecording {
        /// Request id.
        req: RequestId,
        /// Either leg.
        endpoint: EndpointHandle,
    },
    /// Play a loaded prompt to the endpoint's remote (instead of what its peer sends) until
    /// it ends or `StopPlayback`; `PlaybackDone` follows.
    PlayPrompt {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// The prompt.
        prompt: PromptName,
    },
    /// Play a steady tone (one or two frequencies, Hz; second 0 for one) for `duration_ms`.
    PlayTone {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// Frequencies in Hz (1..=4000; the second may be 0).
        freqs: [u16; 2],
        /// How long.
        duration_ms: u32,
    },
    /// Stop the endpoint's playback now (barge-in, e.g. on a DTMF digit).
    StopPlayback {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
    },
    /// Bridge two endpoints of the same core in transcoding mode: what `a`'s party sends
    /// (in `a_format`) is decoded and re-encoded in `b_format` towards `b`'s party, and the
    /// other way round. `Bridge`/`Unbridge`/`Destroy` end it.
    Transcode {
        /// Request id.
        req: RequestId,
        /// First leg.
        a: EndpointHandle,
        /// Second leg.
        b: EndpointHandle,
        /// What `a`'s party speaks.
        a_format: LegFormat,
        /// What `b`'s party speaks.
        b_format: LegFormat,
    },
    /// The payload type of the voice codec the endpoint's remote agreed to (0 PCMU, 8 PCMA),
    /// used by prompts and tones played to it until it has sent audio itself (which then
    /// decides).
    SetVoicePt {
        /// Request id.
        req: RequestId,
        /// Target endpoint.
        endpoint: EndpointHandle,
        /// The RTP payload type (0..=127).
        payload_type: u8,
    },
}

impl Command {
    /// The request id the reply will carry.
    pub fn request_id(&self) -> RequestId {
        match *self {
            Command::CreateEndpoint { req }
            | Command::CreatePair { req }
            | Command::SetRemote { req, .. }
            | Command::Bridge { req, .. }
            | Command::Unbridge { req, .. }
            | Command::SetDirection { req, .. }
            | Command::Destroy { req, .. }
            | Command::QueryStats { req, .. }
            | Command::Release { req, .. }
            | Command::Shutdown { req }
            | Command::SetDtmf { req, .. }
            | Command::StartRecording { req, .. }
            | Command::StopRecording { req, .. }
            | Command::PlayPrompt { req, .. }
            | Command::PlayTone { req, .. }
            | Command::StopPlayback { req, .. }
            | Command::Transcode { req, .. }
            | Command::SetVoicePt { req, .. } => req,
        }
    }

    /// Serialises the command into a frame.
    pub fn encode(&self) -> Frame {
        match *self {
            Command::CreateEndpoint { req } => {
                let mut w = Writer::new(TAG_CREATE);
                w.req(req);
                w.finish()
            }
            Command::CreatePair { req } => {
                let mut w = Writer::new(TAG_CREATE_PAIR);
                w.req(req);
                w.finish()
            }
            Command::SetRemote {
                req,
                endpoint,
                remote,
            } => {
                let mut w = Writer::new(TAG_SET_REMOTE);
                w.req(req);
                w.endpoint(endpoint);
                w.addr(remote.rtp);
                w.u16(remote.rtcp_port);
                w.pt_map(&remote.pt_map);
                w.u16(remote.ptime_ms);
                w.bool(remote.rtcp_mux);
                w.u32(remote.clock_rate);
                w.finish()
            }
            Command::Bridge { req, a, b } => {
                let mut w = Writer::new(TAG_BRIDGE);
                w.req(req);
                w.endpoint(a);
                w.endpoint(b);
                w.finish()
            }
            Command::Unbridge { req, endpoint } => Self::simple(TAG_UNBRIDGE, req, endpoint),
            Command::SetDirection {
                req,
                endpoint,
                direction,
            } => {
                let mut w = Writer::new(TAG_SET_DIRECTION);
                w.req(req);
                w.endpoint(endpoint);
                w.direction(direction);
                w.finish()
            }
            Command::Destroy { req, endpoint } => Self::simple(TAG_DESTROY, req, endpoint),
            Command::QueryStats { req, endpoint } => Self::simple(TAG_QUERY_STATS, req, endpoint),
            Command::Release { req, endpoint } => Self::simple(TAG_RELEASE, req, endpoint),
            Command::Shutdown { req } => {
                let mut w = Writer::new(TAG_SHUTDOWN);
                w.req(req);
                w.finish()
            }
            Command::SetDtmf {
                req,
                endpoint,
                spec,
            } => {
                let mut w = Writer::new(dtmf::TAG_SET_DTMF);
                w.req(req);
                w.endpoint(endpoint);
                dtmf::write_spec(&mut w, &spec);
                w.finish()
            }
            Command::StartRecording {
                req,
                a,
                b,
                id,
                mode,
            } => {
                let mut w = ops::simple(ops::CMD_START_RECORDING, req, a);
                w.endpoint(b);
                w.u64(id);
                w.record_mode(mode);
                w.finish()
            }
            Command::StopRecording { req, endpoint } => {
                ops::simple(ops::CMD_STOP_RECORDING, req, endpoint).finish()
            }
            Command::PlayPrompt {
                req,
                endpoint,
                prompt,
            } => {
                let mut w = ops::simple(ops::CMD_PLAY_PROMPT, req, endpoint);
                w.prompt(&prompt);
                w.finish()
            }
            Command::PlayTone {
                req,
                endpoint,
                freqs,
                duration_ms,
            } => {
                let mut w = ops::simple(ops::CMD_PLAY_TONE, req, endpoint);
                w.u16(freqs[0]);
                w.u16(freqs[1]);
                w.u32(duration_ms);
                w.finish()
            }
            Command::StopPlayback { req, endpoint } => {
                ops::simple(ops::CMD_STOP_PLAYBACK, req, endpoint).finish()
            }
            Command::Transcode {
                req,
                a,
                b,
                a_format,
                b_format,
            } => {
                let mut w = Writer::new(TAG_TRANSCODE);
                w.req(req);
                w.endpoint(a);
                w.endpoint(b);
                transcode::write(&mut w, &a_format);
                transcode::write(&mut w, &b_format);
                w.finish()
            }
            Command::SetVoicePt {
                req,
                endpoint,
                payload_type,
            } => {
                let mut w = ops::simple(ops::CMD_SET_VOICE_PT, req, endpoint);
                w.u8(payload_type);
                w.finish()
            }
        }
    }

    fn simple(tag: u8, req: RequestId, endpoint: EndpointHandle) -> Frame {
        let mut w = Writer::new(tag);
        w.req(req);
        w.endpoint(endpoint);
        w.finish()
    }

    /// Parses and validates a frame.
    pub fn decode(frame: &Frame) -> Result<Command, DecodeError> {
        let mut r = Reader::new(frame);
        let tag = frame.0[0];
        let req = r.req()?;
        Ok(match tag {
            TAG_CREATE => Command::CreateEndpoint { req },
            TAG_CREATE_PAIR => Command::CreatePair { req },
            TAG_SET_REMOTE => {
                let endpoint = r.endpoint("endpoint")?;
                let rtp = r.addr("remote.rtp")?;
                let rtcp_port = r.u16("remote.rtcp_port")?;
                let pt_map = r.pt_map()?;
                let ptime_ms = r.u16("remote.ptime_ms")?;
                let rtcp_mux = r.bool("remote.rtcp_mux")?;
                let clock_rate = r.u32("remote.clock_rate")?;
                Command::SetRemote {
                    req,
                    endpoint,
                    remote: RemoteSpec {
                        rtp,
                        rtcp_port,
                        pt_map,
                        ptime_ms,
                        rtcp_mux,
                        clock_rate,
                    },
                }
            }
            TAG_BRIDGE => Command::Bridge {
                req,
                a: r.endpoint("a")?,
                b: r.endpoint("b")?,
            },
            TAG_UNBRIDGE => Command::Unbridge {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            TAG_SET_DIRECTION => Command::SetDirection {
                req,
                endpoint: r.endpoint("endpoint")?,
                direction: r.direction()?,
            },
            TAG_DESTROY => Command::Destroy {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            TAG_QUERY_STATS => Command::QueryStats {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            TAG_RELEASE => Command::Release {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            TAG_SHUTDOWN => Command::Shutdown { req },
            dtmf::TAG_SET_DTMF => Command::SetDtmf {
                req,
                endpoint: r.endpoint("endpoint")?,
                spec: dtmf::read_spec(&mut r)?,
            },
            ops::CMD_START_RECORDING => Command::StartRecording {
                req,
                a: r.endpoint("a")?,
                b: r.endpoint("b")?,
                id: r.u64("id")?,
                mode: r.record_mode()?,
            },
            ops::CMD_STOP_RECORDING => Command::StopRecording {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            ops::CMD_PLAY_PROMPT => Command::PlayPrompt {
                req,
                endpoint: r.endpoint("endpoint")?,
                prompt: r.prompt()?,
            },
            ops::CMD_PLAY_TONE => Command::PlayTone {
                req,
                endpoint: r.endpoint("endpoint")?,
                freqs: r.freqs()?,
                duration_ms: r.u32("duration_ms")?,
            },
            ops::CMD_STOP_PLAYBACK => Command::StopPlayback {
                req,
                endpoint: r.endpoint("endpoint")?,
            },
            TAG_TRANSCODE => Command::Transcode {
                req,
                a: r.endpoint("a")?,
                b: r.endpoint("b")?,
                a_format: transcode::read(&mut r, "a_format")?,
                b_format: transcode::read(&mut r, "b_format")?,
            },
            ops::CMD_SET_VOICE_PT => Command::SetVoicePt {
                req,
                endpoint: r.endpoint("endpoint")?,
                payload_type: match r.u8("payload_type")? {
                    pt @ 0..=127 => pt,
                    _ => {
                        return Err(DecodeError::InvalidField {
                            field: "payload_type",
                        })
                    }
                },
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    kind: "command",
                    tag,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv6Addr, SocketAddrV6};

    fn ep(slot: u32, generation: u32) -> EndpointHandle {
        EndpointHandle { slot, generation }
    }

    pub(crate) fn samples() -> Vec<Command> {
        let v6 = SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4),
            40000,
            0,
            7,
        ));
        let mut remote = RemoteSpec::new("192.0.2.10:4000".parse().unwrap());
        remote.pt_map = PtMap::from_pairs(&[
            (0, 8),
            (101, 96),
            (1, 2),
            (3, 4),
            (5, 6),
            (7, 9),
            (10, 11),
            (12, 13),
        ])
        .unwrap();
        remote.rtcp_mux = true;
        remote.clock_rate = 48000;
        remote.rtcp_port = 4011;
        let mut remote6 = RemoteSpec::new(v6);
        remote6.ptime_ms = 30;
        vec![
            Command::CreateEndpoint { req: RequestId(1) },
            Command::SetRemote {
                req: RequestId(u64::MAX),
                endpoint: ep(u32::MAX, 3),
                remote,
            },
            Command::SetRemote {
                req: RequestId(9),
                endpoint: ep(0, 0),
                remote: remote6,
            },
            Command::Bridge {
                req: RequestId(2),
                a: ep(1, 1),
                b: ep(2, 5),
            },
            Command::Unbridge {
                req: RequestId(3),
                endpoint: ep(4, 4),
            },
            Command::SetDirection {
                req: RequestId(4),
                endpoint: ep(4, 4),
                direction: Direction::RecvOnly,
            },
            Command::SetDirection {
                req: RequestId(4),
                endpoint: ep(4, 4),
                direction: Direction::Inactive,
            },
            Command::Destroy {
                req: RequestId(5),
                endpoint: ep(7, 1),
            },
            Command::QueryStats {
                req: RequestId(6),
                endpoint: ep(8, 2),
            },
            Command::Shutdown { req: RequestId(7) },
            Command::StartRecording {
                req: RequestId(10),
                a: ep(1, 1),
                b: ep(2, 3),
                id: u64::MAX,
                mode: RecordMode::Stereo,
            },
            Command::StartRecording {
                req: RequestId(11),
                a: ep(5, 1),
                b: ep(2, 9),
                id: 0,
                mode: RecordMode::Mono,
            },
            Command::StopRecording {
                req: RequestId(12),
                endpoint: ep(2, 3),
            },
            Command::PlayPrompt {
                req: RequestId(13),
                endpoint: ep(2, 3),
                prompt: PromptName::new("goodbye").unwrap(),
            },
            Command::PlayPrompt {
                req: RequestId(13),
                endpoint: ep(2, 3),
                prompt: PromptName::new(&"z".repeat(crate::PROMPT_NAME_MAX)).unwrap(),
            },
            Command::PlayTone {
                req: RequestId(14),
                endpoint: ep(2, 3),
                freqs: [1000, 0],
                duration_ms: 2000,
            },
            Command::StopPlayback {
                req: RequestId(15),
                endpoint: ep(2, 3),
            },
            Command::SetVoicePt {
                req: RequestId(16),
                endpoint: ep(2, 3),
                payload_type: 8,
            },
            Command::Transcode {
                req: RequestId(10),
                a: ep(1, 1),
                b: ep(2, 5),
                a_format: LegFormat {
                    codec: crate::WireCodec::Pcmu,
                    payload_type: 0,
                    clock_rate: 8000,
                    ptime_ms: 20,
                    telephone_event: Some(101),
                },
                b_format: LegFormat {
                    codec: crate::WireCodec::Opus,
                    payload_type: 127,
                    clock_rate: 48_000,
                    ptime_ms: 60,
                    telephone_event: None,
                },
            },
            Command::CreatePair { req: RequestId(14) },
            Command::Release {
                req: RequestId(15),
                endpoint: ep(9, 3),
            },
        ]
    }

    #[test]
    fn voice_payload_types_are_seven_bit() {
        let good = Command::SetVoicePt {
            req: RequestId(1),
            endpoint: ep(2, 3),
            payload_type: 8,
        }
        .encode();
        let mut bad = good;
        bad.0[1 + 8 + 8] = 128;
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField {
                field: "payload_type"
            })
        );
    }

    #[test]
    fn recording_and_playback_use_their_tag_range() {
        for cmd in samples().into_iter().skip(10).filter(|c| {
            !matches!(
                c,
                Command::Transcode { .. } | Command::CreatePair { .. } | Command::Release { .. }
            )
        }) {
            assert!((0x50..=0x5f).contains(&cmd.encode().0[0]), "{cmd:?}");
        }
        // A prompt name with a path separator or bytes after its length is refused.
        let good = samples()[13].encode();
        let name_at = 1 + 8 + 8 + 1;
        let mut bad = good;
        bad.0[name_at] = b'/';
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "prompt" })
        );
        let mut bad = good;
        bad.0[name_at + 10] = b'x';
        assert!(Command::decode(&bad).is_err());
        let mut bad = good;
        bad.0[name_at - 1] = 0;
        assert!(Command::decode(&bad).is_err());
        let mut bad = samples()[10].encode();
        bad.0[1 + 8 + 8 + 8 + 8] = 7; // record mode
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "mode" })
        );
        let mut bad = samples()[15].encode();
        bad.0[1 + 8 + 8] = 0; // first frequency 0
        bad.0[1 + 8 + 8 + 1] = 0;
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "freqs" })
        );
    }

    #[test]
    fn transcode_formats_are_validated() {
        let Some(cmd) = samples()
            .into_iter()
            .find(|c| matches!(c, Command::Transcode { .. }))
        else {
            unreachable!()
        };
        let frame = cmd.encode();
        // Tag, request id, two endpoints, then the first format's codec byte.
        let codec_at = 1 + 8 + 8 + 8;
        let mut bad = frame;
        bad.0[codec_at] = 0;
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "a_format" })
        );
        let mut bad = frame;
        bad.0[codec_at + 1] = 128; // payload type above 127
        assert!(Command::decode(&bad).is_err());
        let mut bad = frame;
        bad.0[codec_at + 8] = 200; // telephone-event neither absent nor 7-bit
        assert!(Command::decode(&bad).is_err());
        let mut bad = frame;
        bad.0[codec_at + 9] = 9; // second format's codec
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "b_format" })
        );
    }

    #[test]
    fn every_command_round_trips() {
        for cmd in samples() {
            let frame = cmd.encode();
            assert_eq!(Command::decode(&frame), Ok(cmd), "{cmd:?}");
            assert_eq!(
                cmd.request_id(),
                Command::decode(&frame).unwrap().request_id()
            );
        }
    }

    #[test]
    fn largest_layout_fits_in_a_frame() {
        // SetRemote is the largest command; its last field must end inside the frame.
        let cmd = samples()[1];
        let frame = cmd.encode();
        let mut r = Reader::new(&frame);
        r.req().unwrap();
        r.endpoint("e").unwrap();
        r.addr("a").unwrap();
        r.u16("p").unwrap();
        r.pt_map().unwrap();
        r.u16("t").unwrap();
        r.bool("m").unwrap();
        r.u32("c").unwrap();
        assert!(r.position() <= crate::FRAME_LEN);
    }

    #[test]
    fn unknown_tag_and_bad_fields_are_errors() {
        let mut frame = Frame::zeroed();
        assert_eq!(
            Command::decode(&frame),
            Err(DecodeError::UnknownTag {
                kind: "command",
                tag: 0
            })
        );
        frame.0[0] = 0xee;
        assert!(matches!(
            Command::decode(&frame),
            Err(DecodeError::UnknownTag { .. })
        ));

        let good = Command::SetDirection {
            req: RequestId(1),
            endpoint: ep(1, 1),
            direction: Direction::SendOnly,
        }
        .encode();
        let mut bad = good;
        bad.0[1 + 8 + 8] = 9;
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "direction" })
        );

        let remote = Command::SetRemote {
            req: RequestId(1),
            endpoint: ep(1, 1),
            remote: RemoteSpec::new("10.0.0.1:5".parse().unwrap()),
        }
        .encode();
        let mut bad = remote;
        bad.0[17] = 5; // address family
        assert!(matches!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { .. })
        ));
        let mut bad = remote;
        bad.0[17 + 1 + 10] = 1; // non-zero padding of an IPv4 address
        assert!(matches!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { .. })
        ));
        let mut bad = remote;
        bad.0[17 + 23 + 2] = 9; // pt map count above capacity
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField { field: "pt_map" })
        );
    }

    #[test]
    fn rtcp_address_rules() {
        let mut r = RemoteSpec::new("192.0.2.1:5000".parse().unwrap());
        assert_eq!(r.rtcp_addr(), "192.0.2.1:5001".parse().unwrap());
        r.rtcp_port = 6000;
        assert_eq!(r.rtcp_addr(), "192.0.2.1:6000".parse().unwrap());
        r.rtcp_mux = true;
        assert_eq!(r.rtcp_addr(), "192.0.2.1:5000".parse().unwrap());
    }
}
