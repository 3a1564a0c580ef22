//! The Via header (RFC 3261 §20.42, `rport` from RFC 3581).

use std::fmt;
use std::net::IpAddr;

use crate::params::{header_params_with, Params};
use crate::text::{sep, sws, token, trim_lws};
use crate::uri::{host, parse_port, Host};

/// The transport of a Via entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS over TCP
    Tls,
    /// SCTP
    Sctp,
    /// TLS over SCTP
    TlsSctp,
    /// WebSocket (RFC 7118)
    Ws,
    /// Secure WebSocket (RFC 7118)
    Wss,
    /// Any other transport token, as written.
    Other(&'a str),
}

impl<'a> Transport<'a> {
    /// Classifies a transport token (case-insensitive).
    pub fn parse(s: &'a str) -> Self {
        const KNOWN: [(&str, Transport<'static>); 7] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("TLS-SCTP", Transport::TlsSctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map_or(Self::Other(s), |(_, t)| *t)
    }

    /// The transport token in upper case (as written for `Other`).
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Sctp => "SCTP",
            Self::TlsSctp => "TLS-SCTP",
            Self::Ws => "WS",
            Self::Wss => "WSS",
            Self::Other(s) => s,
        }
    }

    /// True for transports that run over a reliable stream.
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Self::Udp)
    }
}

impl fmt::Display for Transport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `rport` parameter (RFC 3581).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RPort {
    /// `;rport` without a value: the client asks for symmetric response routing.
    Requested,
    /// `;rport=N`, filled in by the server.
    Value(u16),
}

/// Checks the value grammar of the Via parameters this crate interprets.
fn param_valid(n: &str, v: Option<&str>) -> bool {
    if n.eq_ignore_ascii_case("branch") {
        v.is_some_and(crate::text::is_token)
    } else if n.eq_ignore_ascii_case("received") {
        v.is_some_and(|r| r.parse::<IpAddr>().is_ok())
    } else if n.eq_ignore_ascii_case("rport") {
        v.is_none_or(|r| parse_port(r).is_some())
    } else if n.eq_ignore_ascii_case("ttl") {
        v.is_some_and(|t| crate::text::parse_u32(t).is_some_and(|t| t <= 255))
    } else if n.eq_ignore_ascii_case("maddr") {
        v.is_some_and(|m| host(m).is_ok_and(|(rest, _)| rest.is_empty()))
    } else {
        true
    }
}

/// One Via entry (a Via header may hold several, comma-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// Protocol name (`SIP`).
    pub protocol: &'a str,
    /// Protocol version (`2.0`).
    pub version: &'a str,
    /// Transport.
    pub transport: Transport<'a>,
    /// Host of the sent-by.
    pub host: Host<'a>,
    /// Port of the sent-by, if explicit.
    pub port: Option<u16>,
    /// The parameters (branch, received, rport, maddr, ttl, others).
    pub params: Params<'a>,
    branch: Option<&'a str>,
    raw: &'a str,
}

impl<'a> Via<'a> {
    /// Parses one via-parm (one element of a Via header value).
    pub fn parse(s: &'a str) -> Option<Self> {
        let raw = trim_lws(s);
        let (rest, protocol) = token(raw).ok()?;
        let rest = sep(rest, b'/')?;
        let (rest, version) = token(rest).ok()?;
        let rest = sep(rest, b'/')?;
        let (rest, transport) = token(rest).ok()?;
        if !protocol.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return None;
        }
        // LWS is mandatory between sent-protocol and sent-by.
        let after = sws(rest);
        if after.len() == rest.len() {
            return None;
        }
        let (rest, host) = host(after).ok()?;
        let (rest, port) = match sep(rest, b':') {
            Some(r) => {
                let end = r.bytes().take_while(u8::is_ascii_digit).count();
                let (digits, r) = r.split_at(end);
                (r, Some(parse_port(digits)?))
            }
            None => (rest, None),
        };
        let mut branch = None;
        let (rest, params) = header_params_with(rest, |n, v| {
            if n.eq_ignore_ascii_case("branch") {
                branch = branch.or(v);
            }
            param_valid(n, v)
        })?;
        if !sws(rest).is_empty() {
            return None;
        }
        Some(Self {
            protocol,
            version,
            transport: Transport::parse(transport),
            host,
            port,
            params,
            branch,
            raw,
        })
    }

    /// The raw text of this entry (trimmed; may contain line folds).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The `branch` parameter (transaction id).
    pub fn branch(&self) -> Option<&'a str> {
        self.branch
    }

    /// True if the branch carries the RFC 3261 magic cookie `z9hG4bK`.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// The `received` parameter, as an address.
    pub fn received(&self) -> Option<IpAddr> {
        self.params.value("received").and_then(|r| r.parse().ok())
    }

    /// The `rport` parameter.
    pub fn rport(&self) -> Option<RPort> {
        let p = self.params.get("rport")?;
        Some(match p.value {
            None => RPort::Requested,
            Some(v) => RPort::Value(parse_port(v)?),
        })
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| t.parse().ok())
    }

    /// The text before the parameters (`SIP/2.0/UDP host:port`), trimmed.
    pub(crate) fn head(&self) -> &'a str {
        let b = self.raw.as_bytes();
        let end = b.iter().position(|&c| c == b';').unwrap_or(b.len());
        trim_lws(self.raw.get(..end).unwrap_or(self.raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn simple_via() {
        let v =
            Via::parse("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Domain("pc33.atlanta.com"));
        assert_eq!(v.port, Some(5066));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), Some(RPort::Requested));
        assert_eq!(v.received(), None);
        assert_eq!(v.head(), "SIP/2.0/UDP pc33.atlanta.com:5066");
    }

    #[test]
    fn via_with_all_params() {
        let v = Via::parse(
            "SIP/2.0/TCP [2001:db8::1]:5070 ; branch=z9hG4bKx;received=2001:db8::2;rport=4000;maddr=224.2.0.1;ttl=16",
        )
        .unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert_eq!(v.host, Host::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()));
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.received(), Some("2001:db8::2".parse().unwrap()));
        assert_eq!(v.rport(), Some(RPort::Value(4000)));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
    }

    #[test]
    fn folded_and_spaced_via() {
        let v = Via::parse("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.host, Host::V4("192.0.2.2".parse().unwrap()));
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
        let v = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239")
            .unwrap();
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn transports() {
        for (t, want) in [
            ("UDP", Transport::Udp),
            ("tcp", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("WSS", Transport::Wss),
            ("UNKNOWN", Transport::Other("UNKNOWN")),
        ] {
            let text = format!("SIP/2.0/{t} h.example.com");
            let v = Via::parse(&text).unwrap();
            assert_eq!(v.transport, want);
        }
    }

    #[test]
    fn bad_vias() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP ",
            "SIP/2.0/UDPhost",
            "SIP/7.0/UDP host",
            "SIP/2.0 host",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;rport=x",
            "SIP/2.0/UDP host;received=example.com",
            "SIP/2.0/UDP host;ttl=300",
            "SIP/2.0/UDP host;branch",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host extra",
        ] {
            assert!(Via::parse(bad).is_none(), "{bad}");
        }
    }
}
