//! What crosses the boundary with the glue: the questions the B2BUA asks (authenticate,
//! locate, open media), their answers, the actions it asks for, and call records.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use warden_sip_txn::TxId;

use crate::ids::{CallId, Dest, Flow, Leg};

/// Bytes to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub dest: Dest,
    /// One SIP message.
    pub bytes: Bytes,
    /// The transaction that sent them, if any: report a failed send with
    /// [`crate::B2bua::on_transport_error`].
    pub tx: Option<TxId>,
}

/// An extension taking part in a call, as the directory knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// The extension number.
    pub number: String,
    /// Its display name.
    pub display_name: String,
    /// Largest number of simultaneous calls; `None` for no limit.
    pub max_calls: Option<u32>,
}

/// Credentials to check before a call is placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// The user the credentials must be for: the user part of the From URI.
    pub user: String,
    /// The request method (for the digest).
    pub method: &'static str,
    /// The Request-URI as sent (for the digest `uri` check).
    pub request_uri: String,
    /// Every `Proxy-Authorization` header value.
    pub authorization: Vec<String>,
    /// Where the request came from (for the failure guard).
    pub source: SocketAddr,
}

/// A response the glue decided, e.g. a 407 challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Extra header fields (name, value), in order.
    pub headers: Vec<(String, String)>,
}

/// The glue's answer to [`Action::Authenticate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthVerdict {
    /// The caller is this extension.
    Authenticated(Party),
    /// Answer the INVITE with this (407 challenge, 403...); no call is recorded.
    Rejected(Reply),
}

/// One registered contact of the callee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The contact URI (the Request-URI of the INVITE sent to it).
    pub uri: String,
    /// Where to send: the address the contact registered from.
    pub flow: Flow,
}

/// The glue's answer to [`Action::Locate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// No such extension (404).
    Unknown,
    /// The extension exists but is disabled (480).
    Disabled(Party),
    /// The extension and its reachable contacts (none: not registered, 480).
    Found {
        /// The callee.
        party: Party,
        /// Its contacts, each called in parallel.
        targets: Vec<Target>,
        /// Where to send the call when the callee is busy or does not answer.
        forward: ForwardRules,
    },
}

/// The callee's conditional forwarding (unconditional forwarding is resolved by the glue
/// before it answers [`Action::Locate`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardRules {
    /// Retarget the call to this extension when the best final response is busy
    /// (486 or 600).
    pub on_busy: Option<String>,
    /// Retarget the call to this extension when nobody answered after this long.
    pub on_no_answer: Option<(String, Duration)>,
    /// The callee's voicemail box, used when the call would fail busy, unanswered or
    /// unregistered and no forwarding applied first.
    pub voicemail: Option<VoicemailRule>,
}

/// How a callee's voicemail answers ([`ForwardRules::voicemail`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoicemailRule {
    /// Ringing this long unanswered goes to voicemail.
    pub no_answer: Duration,
    /// A message is cut after this long (counted from
    /// [`crate::B2bua::on_voicemail_recording`]).
    pub max_message: Duration,
}

/// The media plane's addresses for a call, from [`Action::OpenMedia`]: one endpoint facing
/// each party, bridged together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaAddrs {
    /// RTP address of the endpoint facing the caller.
    pub a: SocketAddr,
    /// RTP address of the endpoint facing the callee.
    pub b: SocketAddr,
}

/// Where and how the endpoint facing a party sends media, from the party's SDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteMedia {
    /// The party's RTP address.
    pub rtp: SocketAddr,
    /// Its RTCP port (`a=rtcp`); 0 means RTP port + 1.
    pub rtcp_port: u16,
    /// Packetization time in milliseconds.
    pub ptime_ms: u16,
    /// RTP clock rate of its first format.
    pub clock_rate: u32,
    /// The formats of its audio that can carry DTMF.
    pub dtmf: DtmfFormats,
}

/// The payload types of a party's audio stream that can carry DTMF (from its SDP), so the
/// glue can ask the media plane to detect digits in what the party sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DtmfFormats {
    /// RFC 4733 `telephone-event` payload type.
    pub telephone_event: Option<u8>,
    /// Its clock rate.
    pub telephone_event_rate: u32,
    /// G.711 µ-law payload type (in-band tones).
    pub pcmu: Option<u8>,
    /// G.711 A-law payload type (in-band tones).
    pub pcma: Option<u8>,
}

/// Direction of an endpoint, seen from the media plane: "send" is towards the party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaDirection {
    /// Relay both ways.
    SendRecv,
    /// Send to the party, discard what it sends.
    SendOnly,
    /// Accept from the party, send it nothing.
    RecvOnly,
    /// Neither.
    Inactive,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The callee answered.
    Answered,
    /// The callee was busy or declined.
    Busy,
    /// Nobody answered in time.
    NoAnswer,
    /// The call could not be placed or failed.
    Failed,
    /// The caller gave up before an answer.
    Cancelled,
}

impl Disposition {
    /// Lower-case name (`answered`, `no_answer`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "no_answer",
            Disposition::Failed => "failed",
            Disposition::Cancelled => "cancelled",
        }
    }
}

/// Which party ended a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HangupSide {
    /// The calling party.
    Caller,
    /// The called party.
    Callee,
    /// The PBX (timers, media loss, an administrator, shutdown).
    System,
}

impl HangupSide {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Caller => "caller",
            HangupSide::Callee => "callee",
            HangupSide::System => "system",
        }
    }

    pub(crate) fn of(leg: Leg) -> Self {
        match leg {
            Leg::A => HangupSide::Caller,
            Leg::B => HangupSide::Callee,
        }
    }
}

/// The record of a finished call (the glue adds the media quality and stores it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Calling extension.
    pub caller: String,
    /// Dialled number.
    pub callee: String,
    /// When the INVITE arrived.
    pub started_at: Instant,
    /// When the callee answered.
    pub answered_at: Option<Instant>,
    /// When the call ended.
    pub ended_at: Instant,
    /// Outcome.
    pub disposition: Disposition,
    /// Why it ended, e.g. `486 Busy Here`, `BYE`, `RTP timeout`.
    pub hangup_cause: String,
    /// Who ended it.
    pub hangup_side: Option<HangupSide>,
    /// The voice codec of the answer.
    pub codec: Option<String>,
}

/// Something that happened to a call, for events and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// An authenticated caller placed a call.
    Started {
        /// The call.
        call: CallId,
        /// Calling extension.
        caller: String,
        /// Dialled number.
        callee: String,
        /// SIP Call-ID of the caller's leg.
        call_id: String,
    },
    /// The callee is being alerted (first 180/183).
    Ringing {
        /// The call.
        call: CallId,
    },
    /// The callee answered.
    Answered {
        /// The call.
        call: CallId,
        /// The voice codec.
        codec: Option<String>,
    },
    /// The call ended.
    Ended {
        /// The call.
        call: CallId,
        /// Outcome.
        disposition: Disposition,
        /// Why.
        cause: String,
        /// Who ended it.
        side: Option<HangupSide>,
    },
    /// A party sent INFO with a body in the dialog (relayed to the other party as usual),
    /// e.g. `application/dtmf-relay` key presses.
    Info {
        /// The call.
        call: CallId,
        /// The party that sent it.
        leg: Leg,
        /// Its Content-Type.
        content_type: String,
        /// Its body.
        body: Vec<u8>,
    },
}

/// Work for the glue, from [`crate::B2bua::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Check the credentials; answer with [`crate::B2bua::on_authenticated`].
    Authenticate {
        /// The call.
        call: CallId,
        /// What to check.
        request: AuthRequest,
    },
    /// Find the dialled extension and its contacts; answer with
    /// [`crate::B2bua::on_located`]. Also asked while ringing, for the target of the
    /// callee's busy or no-answer forwarding.
    Locate {
        /// The call.
        call: CallId,
        /// The dialled number.
        number: String,
    },
    /// Open a media session with two bridged endpoints; answer with
    /// [`crate::B2bua::on_media_opened`].
    OpenMedia {
        /// The call.
        call: CallId,
    },
    /// Point the endpoint facing `leg` at the party's media (when known) and set its
    /// direction. Apply in order per call.
    Media {
        /// The call.
        call: CallId,
        /// Which endpoint.
        leg: Leg,
        /// The party's media address, when it gave one.
        remote: Option<RemoteMedia>,
        /// The endpoint's direction.
        direction: MediaDirection,
    },
    /// A call event.
    Event(CallEvent),
    /// The call is over: release its media session (when one was opened) and store the
    /// record.
    Finished {
        /// The call.
        call: CallId,
        /// The record.
        record: CallRecord,
    },
    /// The B2BUA answered the caller for the callee's voicemail: the endpoint facing the
    /// caller (already pointed at it by an [`Action::Media`]) plays the greeting and a beep,
    /// then records what the caller sends; report the recording's start with
    /// [`crate::B2bua::on_voicemail_recording`]. The recording ends with the call
    /// ([`Action::Finished`]).
    Voicemail {
        /// The call.
        call: CallId,
        /// The extension whose box takes the message.
        mailbox: String,
        /// The caller's extension.
        caller: String,
        /// The voice codec answered to the caller (`PCMU` or `PCMA`).
        codec: VoiceCodec,
    },
    /// The legs share no codec: bridge the two endpoints in transcoding mode, decoding what
    /// each party sends and re-encoding it in the other's codec. Follows the [`Action::Media`]
    /// of both legs.
    Transcode {
        /// The call.
        call: CallId,
        /// The caller's codec (endpoint facing the caller).
        a: LegCodec,
        /// The callee's codec (endpoint facing the callee).
        b: LegCodec,
    },
}

/// A voice codec the media plane can decode and encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoiceCodec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722.
    G722,
    /// Opus (RTP clock 48 kHz).
    Opus,
    /// Linear 16-bit PCM at the clock rate.
    L16,
}

impl VoiceCodec {
    /// The SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            VoiceCodec::Pcmu => "PCMU",
            VoiceCodec::Pcma => "PCMA",
            VoiceCodec::G722 => "G722",
            VoiceCodec::Opus => "opus",
            VoiceCodec::L16 => "L16",
        }
    }
}

/// What one leg of a transcoded call speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegCodec {
    /// The codec.
    pub codec: VoiceCodec,
    /// Its RTP payload type on this leg.
    pub payload_type: u8,
    /// Its RTP clock rate.
    pub clock_rate: u32,
    /// Packetization time in milliseconds.
    pub ptime_ms: u16,
    /// The `telephone-event` payload type on this leg, when both legs negotiated it.
    pub telephone_event: Option<u8>,
}

/// What a call is doing, for listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallPhase {
    /// Checking the caller and finding the callee.
    Setup,
    /// The callee's phones are being called.
    Ringing,
    /// Talking.
    Answered,
    /// Answered, and one side put the other on hold.
    Held,
    /// Ended; kept a little to absorb late messages.
    Ending,
}

impl CallPhase {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallPhase::Setup => "setup",
            CallPhase::Ringing => "ringing",
            CallPhase::Answered => "answered",
            CallPhase::Held => "held",
            CallPhase::Ending => "ending",
        }
    }
}

/// One leg of a live call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegInfo {
    /// Which leg.
    pub leg: Leg,
    /// SIP Call-ID of the leg.
    pub call_id: String,
    /// The party on the leg.
    pub party: String,
    /// Its signalling address.
    pub remote: Option<SocketAddr>,
}

/// A snapshot of a live call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    /// The call.
    pub id: CallId,
    /// Calling extension.
    pub caller: String,
    /// Dialled number.
    pub callee: String,
    /// What it is doing.
    pub phase: CallPhase,
    /// When it started.
    pub started_at: Instant,
    /// When it was answered.
    pub answered_at: Option<Instant>,
    /// The voice codec.
    pub codec: Option<String>,
    /// Caller's leg first.
    pub legs: Vec<LegInfo>,
}
