//! Names: calls, legs, and where messages travel.

use std::fmt;
use std::net::SocketAddr;

/// Identifies one call for its whole life; never reused by a [`crate::B2bua`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

impl CallId {
    /// The raw number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses the decimal form written by `Display` (e.g. an id from the API).
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok().map(CallId)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One side of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The caller's side: the B2BUA is the user agent server of this dialog.
    A,
    /// The callee's side: the B2BUA is the user agent client of this dialog.
    B,
}

impl Leg {
    /// The other side.
    pub fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }

    /// `"a"` or `"b"`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::A => "a",
            Leg::B => "b",
        }
    }
}

/// SIP transport of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams: the transaction layer retransmits.
    Udp,
    /// A stream connection: no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in Via headers (`UDP`, `TCP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Parses a transport name, ignoring case (`udp`, `TCP`).
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if text.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
        } else {
            None
        }
    }
}

/// A signalling path to a peer: the transport, our socket, the peer's address and, for a
/// stream, the connection. Requests to a phone go to the address its messages come from
/// (NAT), on the same socket or connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Transport protocol.
    pub transport: Transport,
    /// Our local socket address.
    pub local: SocketAddr,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The stream connection, if any.
    pub conn: Option<u64>,
}

/// Where one message goes: a flow and the destination address on it (a response over UDP
/// without `rport` goes to the Via port rather than the source port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dest {
    /// The flow to send on.
    pub flow: Flow,
    /// The destination address.
    pub to: SocketAddr,
}

impl Dest {
    /// The flow's own peer as destination.
    pub fn peer_of(flow: Flow) -> Self {
        Dest {
            flow,
            to: flow.peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_round_trip_through_text() {
        let id = CallId(42);
        assert_eq!(CallId::parse(&id.to_string()), Some(id));
        assert_eq!(CallId::parse("x"), None);
        assert_eq!(CallId::parse("-1"), None);
    }

    #[test]
    fn legs_and_transports() {
        assert_eq!(Leg::A.other(), Leg::B);
        assert_eq!(Leg::B.other(), Leg::A);
        assert_eq!(Transport::parse("udp"), Some(Transport::Udp));
        assert_eq!(Transport::parse("TCP"), Some(Transport::Tcp));
        assert_eq!(Transport::parse("sctp"), None);
        assert!(Transport::Tcp.is_reliable() && !Transport::Udp.is_reliable());
    }
}
