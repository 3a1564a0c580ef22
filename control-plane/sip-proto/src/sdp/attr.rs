//! Typed views of common attributes: rtpmap, fmtp, ptime, rtcp, rtcp-mux
//! and the direction attributes.

use super::{Attribute, MediaDescription, SessionDescription};
use crate::text::parse_u32;

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'s> {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name (e.g. `PCMU`, `opus`, `telephone-event`).
    pub encoding: &'s str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio), if given.
    pub channels: Option<u16>,
}

impl<'s> RtpMap<'s> {
    /// Parses the value of an rtpmap attribute.
    pub fn parse(value: &'s str) -> Option<Self> {
        let (pt, rest) = value.split_once(' ')?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parse_u32(parts.next()?)?;
        let channels = match parts.next() {
            Some(c) => Some(u16::try_from(parse_u32(c)?).ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            payload_type: parse_pt(pt)?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

/// `a=fmtp:<pt> <parameters>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'s> {
    /// RTP payload type (the format the parameters apply to).
    pub payload_type: u8,
    /// Format-specific parameters, raw (e.g. `0-16` or `minptime=10;useinbandfec=1`).
    pub params: &'s str,
}

impl<'s> Fmtp<'s> {
    /// Parses the value of an fmtp attribute.
    pub fn parse(value: &'s str) -> Option<Self> {
        let (pt, params) = value.split_once(' ')?;
        Some(Self {
            payload_type: parse_pt(pt)?,
            params: params.trim(),
        })
    }

    /// The value of a `name=value` parameter (`;`-separated).
    pub fn param(&self, name: &str) -> Option<&'s str> {
        self.params.split(';').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAttr<'s> {
    /// RTCP port.
    pub port: u16,
    /// Network type, address type and address, if given.
    pub address: Option<(&'s str, &'s str, &'s str)>,
}

impl<'s> RtcpAttr<'s> {
    /// Parses the value of an rtcp attribute.
    pub fn parse(value: &'s str) -> Option<Self> {
        let mut it = value.split(' ');
        let port = crate::uri::parse_port(it.next()?)?;
        let address = match (it.next(), it.next(), it.next()) {
            (None, _, _) => None,
            (Some(n), Some(t), Some(a)) => Some((n, t, a)),
            _ => return None,
        };
        it.next().is_none().then_some(Self { port, address })
    }
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction the answerer should use for this offered direction.
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }

    fn from_attrs(attrs: &[Attribute<'_>]) -> Option<Self> {
        attrs.iter().rev().find_map(|a| match a.name.as_ref() {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        })
    }
}

fn parse_pt(s: &str) -> Option<u8> {
    parse_u32(s)
        .and_then(|p| u8::try_from(p).ok())
        .filter(|&p| p <= 127)
}

fn find<'s>(attrs: &'s [Attribute<'_>], name: &str) -> Option<&'s Attribute<'s>> {
    attrs.iter().find(|a| a.name == name)
}

impl SessionDescription<'_> {
    /// The value of the first session-level attribute with this name
    /// (`Some("")` for a flag attribute).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find(&self.attributes, name).map(|a| a.value.as_deref().unwrap_or(""))
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_attrs(&self.attributes)
    }
}

impl MediaDescription<'_> {
    /// The value of the first attribute with this name (`Some("")` for a
    /// flag attribute).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find(&self.attributes, name).map(|a| a.value.as_deref().unwrap_or(""))
    }

    /// All well-formed rtpmap attributes.
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap<'_>> {
        self.values("rtpmap").filter_map(RtpMap::parse)
    }

    /// The rtpmap of a payload type.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap<'_>> {
        self.rtpmaps().find(|r| r.payload_type == payload_type)
    }

    /// All well-formed fmtp attributes.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp<'_>> {
        self.values("fmtp").filter_map(Fmtp::parse)
    }

    /// The fmtp of a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<Fmtp<'_>> {
        self.fmtps().find(|f| f.payload_type == payload_type)
    }

    /// `a=ptime`, in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime").and_then(|p| parse_u32(p.trim()))
    }

    /// `a=maxptime`, in milliseconds.
    pub fn maxptime(&self) -> Option<u32> {
        self.attribute("maxptime").and_then(|p| parse_u32(p.trim()))
    }

    /// `a=rtcp`.
    pub fn rtcp(&self) -> Option<RtcpAttr<'_>> {
        self.attribute("rtcp").and_then(RtcpAttr::parse)
    }

    /// True if `a=rtcp-mux` is present.
    pub fn rtcp_mux(&self) -> bool {
        self.attribute("rtcp-mux").is_some()
    }

    /// The media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_attrs(&self.attributes)
    }

    /// The direction in force: media level, else session level, else
    /// sendrecv.
    pub fn effective_direction(&self, session: &SessionDescription<'_>) -> Direction {
        self.direction()
            .or_else(|| session.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// Sets the direction, replacing any direction attribute.
    pub fn set_direction(&mut self, dir: Direction) {
        self.attributes.retain(|a| {
            !matches!(
                a.name.as_ref(),
                "sendrecv" | "sendonly" | "recvonly" | "inactive"
            )
        });
        self.attributes.push(super::Attribute {
            name: std::borrow::Cow::Borrowed(dir.as_str()),
            value: None,
        });
    }

    /// RTP payload types listed on the m= line (non-numeric formats skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| parse_pt(f))
    }

    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value.as_deref())
    }
}
