//! Offer/answer with anchored media (RFC 3264): what a party's SDP asks for, the SDP the
//! B2BUA sends in its place (connection address and port of the media plane, its own
//! origin line), and the codec intersection of an answer with its offer.
//!
//! A caller that sends no offer (delayed offer) is offered to the callee as
//! [`capabilities`]; its answer arrives in its ACK.
//!
//! Only the first audio stream is anchored; other streams are refused (port 0) in what the
//! B2BUA sends, so the answer it receives refuses them too.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use warden_sip_proto::sdp::{Attribute, Connection, Direction, MediaDescription, Origin};
use warden_sip_proto::MediaType;

use crate::io::{DtmfFormats, MediaDirection, RemoteMedia};

/// An owned session description.
pub(crate) type Sdp = warden_sip_proto::sdp::SessionDescription<'static>;

/// Why a body cannot be used as a session description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// A body that is not `application/sdp` (415).
    NotSdp,
    /// An SDP that does not parse (400).
    Malformed,
    /// No usable audio stream (488).
    NoAudio,
}

/// Reads the session description of a message body: `Ok(None)` without a body.
pub(crate) fn from_body(
    content_type: Option<MediaType<'_>>,
    body: &[u8],
) -> Result<Option<Sdp>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match content_type {
        Some(ct) if ct.is_sdp() => {}
        _ => return Err(BodyError::NotSdp),
    }
    let sd = warden_sip_proto::sdp::parse(body)
        .map_err(|_| BodyError::Malformed)?
        .into_owned();
    if audio_index(&sd).is_none() {
        return Err(BodyError::NoAudio);
    }
    Ok(Some(sd))
}

/// What the B2BUA offers the callee on behalf of a caller that made no offer (an INVITE
/// without SDP: the caller answers our offer in its ACK, RFC 3261 §13.2.1): the voice codecs
/// the media plane knows, in the order most phones prefer them, and RFC 4733 events.
/// Anchoring replaces the placeholder address.
pub(crate) fn capabilities() -> Option<Sdp> {
    const OFFER: &[u8] = b"v=0\r\n\
        o=- 0 0 IN IP4 0.0.0.0\r\n\
        s=-\r\n\
        c=IN IP4 0.0.0.0\r\n\
        t=0 0\r\n\
        m=audio 9 RTP/AVP 0 8 9 111 101\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:9 G722/8000\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=ptime:20\r\n\
        a=sendrecv\r\n";
    Some(warden_sip_proto::sdp::parse(OFFER).ok()?.into_owned())
}

/// Index of the anchored stream: the first audio `m=` line with a non-zero port.
pub(crate) fn audio_index(sd: &Sdp) -> Option<usize> {
    sd.media
        .iter()
        .position(|m| m.media.eq_ignore_ascii_case("audio") && m.port != 0)
}

/// What one party's description says about its audio stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartyMedia {
    /// Where to send its media (`None` for the RFC 2543 hold address 0.0.0.0 or an
    /// address that is not an IP literal).
    pub(crate) remote: Option<RemoteMedia>,
    /// The direction, from the party's point of view (`sendonly`: it only sends).
    pub(crate) direction: Direction,
}

impl PartyMedia {
    /// The media-plane direction of the endpoint facing this party: what the party only
    /// sends, the endpoint only receives.
    pub(crate) fn endpoint_direction(&self) -> MediaDirection {
        match self.direction {
            Direction::SendRecv => MediaDirection::SendRecv,
            Direction::SendOnly => MediaDirection::RecvOnly,
            Direction::RecvOnly => MediaDirection::SendOnly,
            Direction::Inactive => MediaDirection::Inactive,
        }
    }

    /// True when the party does not want media sent to it (on hold).
    pub(crate) fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
    }
}

fn connection_ip(c: &Connection<'_>) -> Option<IpAddr> {
    c.net_type
        .eq_ignore_ascii_case("IN")
        .then(|| c.address.parse::<IpAddr>().ok())
        .flatten()
}

/// Reads a party's audio stream. `None` when it has none.
pub(crate) fn party_media(sd: &Sdp) -> Option<PartyMedia> {
    let m = sd.media.get(audio_index(sd)?)?;
    let conn = m.connections.first().or(sd.connection.as_ref());
    let ip = conn.and_then(connection_ip);
    let mut direction = m.effective_direction(sd);
    let on_hold_address = ip.is_some_and(|ip| ip.is_unspecified());
    if on_hold_address {
        // RFC 2543 hold: "do not send to me".
        direction = match direction {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        };
    }
    let remote = ip.filter(|ip| !ip.is_unspecified()).map(|ip| {
        let first = m.payload_types().next();
        RemoteMedia {
            rtp: SocketAddr::new(ip, m.port),
            rtcp_port: m.rtcp().map(|r| r.port).unwrap_or(0),
            ptime_ms: m
                .ptime()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .unwrap_or(20),
            clock_rate: first.map(|pt| clock_rate(m, pt)).unwrap_or(8000),
            dtmf: dtmf_formats(m),
        }
    });
    Some(PartyMedia { remote, direction })
}

/// The payload types of a stream that can carry DTMF: `telephone-event` (RFC 4733) and
/// G.711 for in-band tones (the first of each).
fn dtmf_formats(m: &MediaDescription<'_>) -> DtmfFormats {
    let mut f = DtmfFormats::default();
    for pt in m.payload_types() {
        let Some((name, rate)) = encoding(m, pt) else {
            continue;
        };
        if name.eq_ignore_ascii_case("telephone-event") {
            if f.telephone_event.is_none() {
                f.telephone_event = Some(pt);
                f.telephone_event_rate = rate;
            }
        } else if rate == 8000 && name.eq_ignore_ascii_case("PCMU") {
            f.pcmu = f.pcmu.or(Some(pt));
        } else if rate == 8000 && name.eq_ignore_ascii_case("PCMA") {
            f.pcma = f.pcma.or(Some(pt));
        }
    }
    f
}

/// Encoding name and clock rate of a payload type: from its rtpmap, else the static table
/// of RFC 3551.
pub(crate) fn encoding(m: &MediaDescription<'_>, pt: u8) -> Option<(String, u32)> {
    if let Some(map) = m.rtpmap(pt) {
        return Some((map.encoding.to_string(), map.clock_rate));
    }
    let name = match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        8 => "PCMA",
        9 => "G722",
        13 => "CN",
        18 => "G729",
        _ => return None,
    };
    Some((name.to_string(), 8000))
}

fn clock_rate(m: &MediaDescription<'_>, pt: u8) -> u32 {
    encoding(m, pt).map(|(_, c)| c).unwrap_or(8000)
}

/// Formats that carry no voice: they never count as the call's codec.
pub(crate) fn is_auxiliary(name: &str) -> bool {
    name.eq_ignore_ascii_case("telephone-event")
        || name.eq_ignore_ascii_case("CN")
        || name.eq_ignore_ascii_case("red")
}

/// The voice codec of the anchored stream: its first non-auxiliary format.
pub(crate) fn codec(sd: &Sdp) -> Option<String> {
    let m = sd.media.get(audio_index(sd)?)?;
    m.payload_types().find_map(|pt| match encoding(m, pt) {
        Some((name, _)) if is_auxiliary(&name) => None,
        Some((name, _)) => Some(name),
        None => Some(pt.to_string()),
    })
}

/// The answer has no voice codec in common with the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NoCommonCodec;

/// Restricts an answer's anchored stream to the formats of the offer (static payload types
/// by number, dynamic ones by encoding name and clock rate) and drops the attributes of the
/// formats removed. `telephone-event` stays when both sides have it. Fails when no voice
/// codec remains.
pub(crate) fn intersect(offer: &Sdp, answer: &Sdp) -> Result<Sdp, NoCommonCodec> {
    let mut out = answer.clone();
    let idx = audio_index(answer).ok_or(NoCommonCodec)?;
    let offered = offer.media.get(idx).ok_or(NoCommonCodec)?;
    let m = out.media.get_mut(idx).ok_or(NoCommonCodec)?;
    let keep: Vec<u8> = m
        .payload_types()
        .filter(|&pt| offers(offered, m, pt))
        .collect();
    let voice = keep
        .iter()
        .any(|&pt| encoding(m, pt).is_none_or(|(name, _)| !is_auxiliary(&name)));
    if !voice {
        return Err(NoCommonCodec);
    }
    m.formats
        .retain(|f| f.parse::<u8>().map_or(true, |pt| keep.contains(&pt)));
    m.attributes.retain(|a| match a.name.as_ref() {
        "rtpmap" | "fmtp" => a
            .value
            .as_deref()
            .and_then(|v| v.split(' ').next())
            .and_then(|pt| pt.parse::<u8>().ok())
            .is_none_or(|pt| keep.contains(&pt)),
        _ => true,
    });
    Ok(out)
}

/// Whether payload type `pt` of the answer stream `m` matches a format of the offer.
fn offers(offered: &MediaDescription<'_>, m: &MediaDescription<'_>, pt: u8) -> bool {
    if pt < 96 && offered.payload_types().any(|o| o == pt) {
        return true;
    }
    match encoding(m, pt) {
        Some((name, clock)) => offered.payload_types().any(|o| {
            encoding(offered, o).is_some_and(|(n, c)| n.eq_ignore_ascii_case(&name) && c == clock)
        }),
        // A dynamic type without rtpmap: only the same number can match.
        None => offered.payload_types().any(|o| o == pt),
    }
}

/// The origin and version of the descriptions the B2BUA sends on one leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalSdp {
    session_id: u64,
    /// The last description sent on the leg.
    last: Option<Sdp>,
}

impl LocalSdp {
    /// A new origin with this session id.
    pub(crate) fn new(session_id: u64) -> Self {
        LocalSdp {
            session_id,
            last: None,
        }
    }

    /// The last description sent, if any.
    pub(crate) fn last(&self) -> Option<&Sdp> {
        self.last.as_ref()
    }

    /// Builds the description to send on this leg from the other party's `src`: our origin,
    /// the media plane's `local` address and port, `direction` written explicitly on the
    /// anchored stream, transport details (ICE, RTCP port, rtcp-mux) removed and every
    /// other stream refused. The version goes up only when the content changes.
    pub(crate) fn anchor(&mut self, src: &Sdp, local: SocketAddr, direction: Direction) -> Sdp {
        let idx = audio_index(src);
        let mut sd = src.clone();
        let addr_type = if local.is_ipv4() { "IP4" } else { "IP6" };
        sd.origin = Origin {
            username: Cow::Borrowed("-"),
            session_id: Cow::Owned(self.session_id.to_string()),
            session_version: 0,
            net_type: Cow::Borrowed("IN"),
            addr_type: Cow::Borrowed(addr_type),
            address: Cow::Owned(local.ip().to_string()),
        };
        sd.session_name = Cow::Borrowed("warden");
        sd.connection = Some(Connection {
            net_type: Cow::Borrowed("IN"),
            addr_type: Cow::Borrowed(addr_type),
            address: Cow::Owned(local.ip().to_string()),
            ttl: None,
            count: None,
        });
        sd.attributes.retain(|a| keep_session_attribute(a));
        for (i, m) in sd.media.iter_mut().enumerate() {
            m.connections.clear();
            if Some(i) == idx {
                m.port = local.port();
                m.port_count = None;
                m.attributes.retain(|a| keep_media_attribute(a));
                m.set_direction(direction);
            } else {
                m.port = 0;
                m.port_count = None;
                m.bandwidths.clear();
                m.attributes.clear();
            }
        }
        let version = match &self.last {
            Some(last) => {
                let mut same = sd.clone();
                same.origin.session_version = last.origin.session_version;
                if same == *last {
                    last.origin.session_version
                } else {
                    last.origin.session_version.saturating_add(1)
                }
            }
            None => 1,
        };
        sd.origin.session_version = version;
        self.last = Some(sd.clone());
        sd
    }
}

fn is_transport_detail(name: &str) -> bool {
    name.starts_with("ice-")
        || matches!(
            name,
            "candidate" | "remote-candidates" | "end-of-candidates" | "rtcp" | "rtcp-mux"
        )
}

fn keep_session_attribute(a: &Attribute<'_>) -> bool {
    let name = a.name.as_ref();
    !is_transport_detail(name)
        && !matches!(
            name,
            "sendrecv" | "sendonly" | "recvonly" | "inactive" | "group"
        )
}

fn keep_media_attribute(a: &Attribute<'_>) -> bool {
    !is_transport_detail(a.name.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "v=0\r\n\
o=alice 1 1 IN IP4 192.0.2.10\r\n\
s=call\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
a=ice-ufrag:abcd\r\n\
m=audio 4000 RTP/AVP 0 8 96 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:30\r\n\
a=rtcp:4005\r\n\
a=rtcp-mux\r\n\
a=candidate:1 1 UDP 1 192.0.2.10 4000 typ host\r\n\
m=video 5000 RTP/AVP 31\r\n\
a=rtpmap:31 H261/90000\r\n";

    fn sdp(text: &str) -> Sdp {
        warden_sip_proto::sdp::parse_str(text).unwrap().into_owned()
    }

    fn ct() -> Option<MediaType<'static>> {
        MediaType::parse("application/sdp")
    }

    #[test]
    fn bodies_are_classified() {
        assert_eq!(from_body(ct(), b""), Ok(None));
        assert_eq!(from_body(ct(), b"\r\n"), Ok(None));
        assert_eq!(
            from_body(MediaType::parse("text/plain"), b"hello"),
            Err(BodyError::NotSdp)
        );
        assert_eq!(from_body(None, b"v=0"), Err(BodyError::NotSdp));
        assert_eq!(from_body(ct(), b"v=0\r\nx"), Err(BodyError::Malformed));
        let video_only =
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5 RTP/AVP 31\r\n";
        assert_eq!(
            from_body(ct(), video_only.as_bytes()),
            Err(BodyError::NoAudio)
        );
        assert!(from_body(ct(), ALICE.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn party_media_reads_address_ports_clock_and_direction() {
        let pm = party_media(&sdp(ALICE)).unwrap();
        let remote = pm.remote.unwrap();
        assert_eq!(remote.rtp, "192.0.2.10:4000".parse().unwrap());
        assert_eq!(remote.rtcp_port, 4005);
        assert_eq!(remote.ptime_ms, 30);
        assert_eq!(remote.clock_rate, 8000);
        assert_eq!(pm.direction, Direction::SendRecv);
        assert_eq!(pm.endpoint_direction(), MediaDirection::SendRecv);

        let held = sdp(&ALICE.replace("a=rtcp-mux\r\n", "a=sendonly\r\n"));
        let pm = party_media(&held).unwrap();
        assert!(pm.is_hold());
        assert_eq!(pm.endpoint_direction(), MediaDirection::RecvOnly);

        let old_hold = sdp(&ALICE.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0"));
        let pm = party_media(&old_hold).unwrap();
        assert_eq!(pm.remote, None);
        assert_eq!(pm.direction, Direction::SendOnly);

        let opus_first = sdp(&ALICE.replace("RTP/AVP 0 8 96 101", "RTP/AVP 96 0"));
        assert_eq!(
            party_media(&opus_first).unwrap().remote.unwrap().clock_rate,
            48000
        );
    }

    #[test]
    fn party_media_reads_the_formats_that_carry_dtmf() {
        let f = party_media(&sdp(ALICE)).unwrap().remote.unwrap().dtmf;
        assert_eq!(
            f,
            DtmfFormats {
                telephone_event: Some(101),
                telephone_event_rate: 8000,
                pcmu: Some(0),
                pcma: Some(8),
            }
        );
        // Static payload types without rtpmap; no telephone-event.
        let plain = sdp(&ALICE
            .replace("RTP/AVP 0 8 96 101", "RTP/AVP 8")
            .replace("a=rtpmap:0 PCMU/8000\r\n", "")
            .replace("a=rtpmap:8 PCMA/8000\r\n", ""));
        let f = party_media(&plain).unwrap().remote.unwrap().dtmf;
        assert_eq!(
            f,
            DtmfFormats {
                pcma: Some(8),
                ..DtmfFormats::default()
            }
        );
        // A dynamic telephone-event at another rate, next to opus.
        let wide = sdp(&ALICE
            .replace("RTP/AVP 0 8 96 101", "RTP/AVP 96 110")
            .replace(
                "a=fmtp:101 0-16\r\n",
                "a=rtpmap:110 telephone-event/48000\r\n",
            ));
        let f = party_media(&wide).unwrap().remote.unwrap().dtmf;
        assert_eq!(
            (f.telephone_event, f.telephone_event_rate),
            (Some(110), 48000)
        );
        assert_eq!((f.pcmu, f.pcma), (None, None));
    }

    #[test]
    fn anchoring_rewrites_address_port_origin_and_refuses_other_streams() {
        let mut local = LocalSdp::new(77);
        let ep: SocketAddr = "203.0.113.5:20000".parse().unwrap();
        let out = local.anchor(&sdp(ALICE), ep, Direction::SendRecv);
        let text = out.to_string();
        assert!(text.contains("o=- 77 1 IN IP4 203.0.113.5\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 203.0.113.5\r\n"), "{text}");
        assert!(
            text.contains("m=audio 20000 RTP/AVP 0 8 96 101\r\n"),
            "{text}"
        );
        assert!(text.contains("m=video 0 RTP/AVP 31\r\n"), "{text}");
        for gone in [
            "ice-ufrag",
            "a=rtcp:",
            "rtcp-mux",
            "candidate",
            "192.0.2.10",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert!(text.contains("a=sendrecv\r\n"));
        assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        // The result parses and reads back as the media plane's address.
        let back = party_media(&sdp(&text)).unwrap();
        assert_eq!(back.remote.unwrap().rtp, ep);

        // Same content: same version; changed content: version + 1.
        let again = local.anchor(&sdp(ALICE), ep, Direction::SendRecv);
        assert_eq!(again.origin.session_version, 1);
        let held = local.anchor(&sdp(ALICE), ep, Direction::SendOnly);
        assert_eq!(held.origin.session_version, 2);
        assert!(held.to_string().contains("a=sendonly\r\n"));
        assert_eq!(local.last().unwrap().origin.session_version, 2);
    }

    #[test]
    fn answers_are_cut_to_the_offer_keeping_telephone_event() {
        let offer = sdp(ALICE);
        let answer = sdp(
            "v=0\r\no=bob 5 5 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 8 9 97 100\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n\
a=rtpmap:97 opus/48000/2\r\na=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\n\
m=video 0 RTP/AVP 31\r\n",
        );
        let cut = intersect(&offer, &answer).unwrap();
        let m = &cut.media[0];
        // G722 was not offered; opus and telephone-event match by name with other numbers.
        assert_eq!(m.formats, ["8", "97", "100"]);
        assert!(m.rtpmap(9).is_none());
        assert_eq!(m.fmtp(100).unwrap().params, "0-15");
        assert_eq!(codec(&cut).as_deref(), Some("PCMA"));

        let dtmf_only = sdp(
            "v=0\r\no=bob 5 5 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 9 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        );
        assert_eq!(intersect(&offer, &dtmf_only), Err(NoCommonCodec));
    }

    #[test]
    fn codec_names_come_from_rtpmap_or_the_static_table() {
        let s = sdp(&ALICE.replace("RTP/AVP 0 8 96 101", "RTP/AVP 101 18 0"));
        assert_eq!(codec(&s).as_deref(), Some("G729"));
        let s = sdp(&ALICE.replace("RTP/AVP 0 8 96 101", "RTP/AVP 96"));
        assert_eq!(codec(&s).as_deref(), Some("opus"));
    }
}
