//! Leaf value types of the schema that are written as strings in YAML:
//! listen addresses, port ranges, the log format and the media core list.
//!
//! Each string type parses inside a serde visitor so that a bad value is
//! reported by the YAML deserializer at the exact line and column of the
//! scalar.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// SIP transport protocol of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
}

impl Transport {
    /// Lower-case name as written in the configuration (`udp`, `tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SIP listener: a transport and a socket address, written
/// `"udp:0.0.0.0:5060"` or `"tcp:[::]:5060"` (IPv6 hosts in brackets).
///
/// Port 0 is accepted and means "let the operating system choose", which is
/// mostly useful in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// Transport protocol.
    pub transport: Transport,
    /// Local address and port to bind.
    pub addr: SocketAddr,
}

impl ListenSpec {
    /// Builds a listener specification.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self { transport, addr }
    }
}

impl FromStr for ListenSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid listen address {s:?} (expected transport:host:port)");
        let (transport, rest) = s.split_once(':').ok_or_else(bad)?;
        let transport = match transport.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            other => {
                return Err(format!(
                "invalid listen address {s:?} (unknown transport {other:?}, expected udp or tcp)"
            ))
            }
        };
        let addr = rest.parse::<SocketAddr>().map_err(|_| bad())?;
        Ok(Self { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SocketAddr's Display already brackets IPv6 hosts.
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// Inclusive range of UDP ports for media, written `"10000-20000"`.
///
/// RTP uses the even ports and RTCP the odd port just above, so `start` must
/// be even and strictly lower than `end`; the range then holds at least one
/// RTP/RTCP pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range (even, non-zero).
    pub start: u16,
    /// Last port of the range (inclusive, greater than `start`).
    pub end: u16,
}

impl PortRange {
    /// Builds a range, checking its invariants.
    pub fn new(start: u16, end: u16) -> Result<Self, String> {
        let range = Self { start, end };
        range.check()?;
        Ok(range)
    }

    /// Checks the invariants (non-zero even start, start lower than end).
    pub fn check(&self) -> Result<(), String> {
        if self.start == 0 {
            return Err(format!(
                "invalid port range \"{self}\" (start must not be 0)"
            ));
        }
        if self.start % 2 != 0 {
            return Err(format!(
                "invalid port range \"{self}\" (start must be even: RTP uses even ports)"
            ));
        }
        if self.start >= self.end {
            return Err(format!(
                "invalid port range \"{self}\" (start must be lower than end)"
            ));
        }
        Ok(())
    }

    /// Number of RTP/RTCP port pairs in the range.
    pub fn pairs(&self) -> usize {
        (usize::from(self.end) - usize::from(self.start)).div_ceil(2)
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid port range {s:?} (expected start-end, e.g. \"10000-20000\")");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let start = a.trim().parse::<u16>().map_err(|_| bad())?;
        let end = b.trim().parse::<u16>().map_err(|_| bad())?;
        Self::new(start, end)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Serde visitor that parses a string scalar with `FromStr<Err = String>`.
struct ParseVisitor<T>(&'static str, std::marker::PhantomData<T>);

impl<T: FromStr<Err = String>> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse::<T>().map_err(E::custom)
    }
}

macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(ParseVisitor::<$ty>($expecting, std::marker::PhantomData))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

string_serde!(ListenSpec, "a listen address such as \"udp:0.0.0.0:5060\"");
string_serde!(PortRange, "a port range such as \"10000-20000\"");

/// Serde adapter for `media.cores`: a list of CPU ids, or `auto` / null /
/// absent for the automatic choice (`None`).
pub(crate) mod cores_serde {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<Vec<usize>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(list) => list.serialize(s),
            None => s.serialize_str("auto"),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<usize>>, D::Error> {
        d.deserialize_any(CoresVisitor)
    }

    struct CoresVisitor;

    impl<'de> Visitor<'de> for CoresVisitor {
        type Value = Option<Vec<usize>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of CPU ids or \"auto\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v == "auto" {
                Ok(None)
            } else {
                Err(E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(id) = seq.next_element::<usize>()? {
                out.push(id);
            }
            Ok(Some(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_spec_parses_ipv4_and_ipv6() {
        let v4: ListenSpec = "udp:0.0.0.0:5060".parse().unwrap();
        assert_eq!(v4.transport, Transport::Udp);
        assert_eq!(v4.addr, "0.0.0.0:5060".parse::<SocketAddr>().unwrap());
        let v6: ListenSpec = "tcp:[::]:5070".parse().unwrap();
        assert_eq!(v6.transport, Transport::Tcp);
        assert_eq!(v6.addr, "[::]:5070".parse::<SocketAddr>().unwrap());
        let upper: ListenSpec = "TCP:127.0.0.1:5060".parse().unwrap();
        assert_eq!(upper.transport, Transport::Tcp);
    }

    #[test]
    fn listen_spec_round_trips_through_display() {
        for s in ["udp:0.0.0.0:5060", "tcp:[::1]:5061", "tcp:10.1.2.3:0"] {
            let spec: ListenSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
    }

    #[test]
    fn listen_spec_rejects_malformed_input() {
        for s in [
            "",
            "udp",
            "udp:",
            "tcp:nope",
            "udp:1.2.3.4",
            "udp:::1:5060",
            "tcp:1.2.3.4:99999",
        ] {
            let err = s.parse::<ListenSpec>().unwrap_err();
            assert!(err.contains("expected transport:host:port"), "{s}: {err}");
            assert!(err.contains(&format!("{s:?}")), "{s}: {err}");
        }
        let err = "sctp:0.0.0.0:5060".parse::<ListenSpec>().unwrap_err();
        assert!(err.contains("unknown transport \"sctp\""), "{err}");
    }

    #[test]
    fn port_range_parses_and_counts_pairs() {
        let r: PortRange = "10000-20000".parse().unwrap();
        assert_eq!((r.start, r.end), (10000, 20000));
        assert_eq!(r.pairs(), 5000);
        assert_eq!(r.to_string(), "10000-20000");
        assert_eq!("10000-10001".parse::<PortRange>().unwrap().pairs(), 1);
        assert_eq!(
            " 2000 - 2003 ".trim().parse::<PortRange>().unwrap().pairs(),
            2
        );
    }

    #[test]
    fn port_range_rejects_bad_ranges() {
        let cases = [
            ("20000-10000", "start must be lower than end"),
            ("10000-10000", "start must be lower than end"),
            ("10001-20000", "start must be even"),
            ("0-100", "start must not be 0"),
            ("10000", "expected start-end"),
            ("a-b", "expected start-end"),
            ("10000-70000", "expected start-end"),
            ("-5-10", "expected start-end"),
        ];
        for (s, want) in cases {
            let err = s.parse::<PortRange>().unwrap_err();
            assert!(err.contains(want), "{s}: {err}");
        }
    }

    #[test]
    fn log_format_names() {
        let f: LogFormat = serde_norway::from_str("json").unwrap();
        assert_eq!(f, LogFormat::Json);
        assert_eq!(
            serde_norway::to_string(&LogFormat::Text).unwrap().trim(),
            "text"
        );
        assert!(serde_norway::from_str::<LogFormat>("xml").is_err());
    }
}
