//! SDP (RFC 8866) session descriptions.
//!
//! [`parse`] borrows from the input: every text field is a `Cow` that starts
//! borrowed, so fields can be rewritten in place (e.g. the connection
//! address and media ports when anchoring media) and the description can be
//! detached from its buffer with [`SessionDescription::into_owned`]. The
//! `Display` implementation (and [`SessionDescription::write`]) serialises
//! it back with CRLF line endings.

mod attr;
mod parse;
mod write;

use std::borrow::Cow;

pub use attr::{Direction, Fmtp, RtcpAttr, RtpMap};
pub use parse::{parse, parse_str};

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription<'a> {
    /// `o=` origin.
    pub origin: Origin<'a>,
    /// `s=` session name.
    pub session_name: Cow<'a, str>,
    /// `i=` session information.
    pub info: Option<Cow<'a, str>>,
    /// `u=` URI.
    pub uri: Option<Cow<'a, str>>,
    /// `e=` email addresses.
    pub emails: Vec<Cow<'a, str>>,
    /// `p=` phone numbers.
    pub phones: Vec<Cow<'a, str>>,
    /// Session-level `c=`.
    pub connection: Option<Connection<'a>>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth<'a>>,
    /// `t=` lines, each with its `r=` lines.
    pub times: Vec<Timing<'a>>,
    /// `z=` time zone adjustments, raw.
    pub zone: Option<Cow<'a, str>>,
    /// Session-level `k=`, raw.
    pub key: Option<Cow<'a, str>>,
    /// Session-level `a=` lines.
    pub attributes: Vec<Attribute<'a>>,
    /// `m=` sections.
    pub media: Vec<MediaDescription<'a>>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    /// User name (`-` when none).
    pub username: Cow<'a, str>,
    /// Session id (digits, kept as text: it may exceed 64 bits).
    pub session_id: Cow<'a, str>,
    /// Session version, to be incremented on each change.
    pub session_version: u64,
    /// Network type (`IN`).
    pub net_type: Cow<'a, str>,
    /// Address type (`IP4`/`IP6`).
    pub addr_type: Cow<'a, str>,
    /// Unicast address of the originator.
    pub address: Cow<'a, str>,
}

/// `c=<nettype> <addrtype> <address>[/<ttl>][/<count>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection<'a> {
    /// Network type (`IN`).
    pub net_type: Cow<'a, str>,
    /// Address type (`IP4`/`IP6`).
    pub addr_type: Cow<'a, str>,
    /// The address (without `/ttl` and `/count`).
    pub address: Cow<'a, str>,
    /// Multicast TTL (IP4 multicast only).
    pub ttl: Option<u8>,
    /// Number of consecutive multicast addresses.
    pub count: Option<u32>,
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// Bandwidth type (`AS`, `CT`, `TIAS`...).
    pub kind: Cow<'a, str>,
    /// Value (kbit/s for AS and CT).
    pub value: u64,
}

/// `t=<start> <stop>` with its `r=` repeat lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing<'a> {
    /// Start time (NTP seconds, 0 for unbounded).
    pub start: u64,
    /// Stop time (NTP seconds, 0 for unbounded).
    pub stop: u64,
    /// Raw `r=` values following this `t=`.
    pub repeats: Vec<Cow<'a, str>>,
}

/// `a=<name>[:<value>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Attribute name.
    pub name: Cow<'a, str>,
    /// Value after the colon, if any.
    pub value: Option<Cow<'a, str>>,
}

/// An `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription<'a> {
    /// Media type (`audio`, `video`, `application`...).
    pub media: Cow<'a, str>,
    /// Transport port (0 for a rejected/disabled stream).
    pub port: u16,
    /// Number of ports (`port/count`).
    pub port_count: Option<u16>,
    /// Transport protocol (`RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`...).
    pub protocol: Cow<'a, str>,
    /// Formats (RTP payload types for RTP profiles).
    pub formats: Vec<Cow<'a, str>>,
    /// Media-level `i=`.
    pub info: Option<Cow<'a, str>>,
    /// Media-level `c=` lines.
    pub connections: Vec<Connection<'a>>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth<'a>>,
    /// Media-level `k=`, raw.
    pub key: Option<Cow<'a, str>>,
    /// Media-level `a=` lines.
    pub attributes: Vec<Attribute<'a>>,
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn own_opt(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(own)
}

fn own_vec(v: Vec<Cow<'_, str>>) -> Vec<Cow<'static, str>> {
    v.into_iter().map(own).collect()
}

impl Connection<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Connection<'static> {
        Connection {
            net_type: own(self.net_type),
            addr_type: own(self.addr_type),
            address: own(self.address),
            ttl: self.ttl,
            count: self.count,
        }
    }
}

impl Bandwidth<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Bandwidth<'static> {
        Bandwidth {
            kind: own(self.kind),
            value: self.value,
        }
    }
}

impl Attribute<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Attribute<'static> {
        Attribute {
            name: own(self.name),
            value: own_opt(self.value),
        }
    }
}

impl MediaDescription<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> MediaDescription<'static> {
        MediaDescription {
            media: own(self.media),
            port: self.port,
            port_count: self.port_count,
            protocol: own(self.protocol),
            formats: own_vec(self.formats),
            info: own_opt(self.info),
            connections: self
                .connections
                .into_iter()
                .map(Connection::into_owned)
                .collect(),
            bandwidths: self
                .bandwidths
                .into_iter()
                .map(Bandwidth::into_owned)
                .collect(),
            key: own_opt(self.key),
            attributes: self
                .attributes
                .into_iter()
                .map(Attribute::into_owned)
                .collect(),
        }
    }
}

impl SessionDescription<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> SessionDescription<'static> {
        let o = self.origin;
        SessionDescription {
            origin: Origin {
                username: own(o.username),
                session_id: own(o.session_id),
                session_version: o.session_version,
                net_type: own(o.net_type),
                addr_type: own(o.addr_type),
                address: own(o.address),
            },
            session_name: own(self.session_name),
            info: own_opt(self.info),
            uri: own_opt(self.uri),
            emails: own_vec(self.emails),
            phones: own_vec(self.phones),
            connection: self.connection.map(Connection::into_owned),
            bandwidths: self
                .bandwidths
                .into_iter()
                .map(Bandwidth::into_owned)
                .collect(),
            times: self
                .times
                .into_iter()
                .map(|t| Timing {
                    start: t.start,
                    stop: t.stop,
                    repeats: own_vec(t.repeats),
                })
                .collect(),
            zone: own_opt(self.zone),
            key: own_opt(self.key),
            attributes: self
                .attributes
                .into_iter()
                .map(Attribute::into_owned)
                .collect(),
            media: self
                .media
                .into_iter()
                .map(MediaDescription::into_owned)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
