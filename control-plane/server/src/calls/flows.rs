//! Where the phones are: the flow each peer last talked to us on (a phone behind NAT is
//! reached at the address its REGISTER came from, on the same socket or TCP connection),
//! and the conversions between the transport's and the B2BUA's names for a flow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use warden_b2bua as b2b;

use crate::transport::{Flow, Transport};

/// Most peers remembered; past it the table starts over (peers are re-learnt from their
/// next message, and a UDP peer is reachable without it).
const MAX_PEERS: usize = 65_536;

/// The flows peers last used, and our listeners.
#[derive(Default)]
pub(crate) struct FlowTable {
    peers: Mutex<HashMap<SocketAddr, Flow>>,
    udp: Mutex<Vec<SocketAddr>>,
}

impl FlowTable {
    /// Notes the flow a message arrived on.
    pub(crate) fn note(&self, flow: Flow) {
        if let Ok(mut peers) = self.peers.lock() {
            if peers.len() >= MAX_PEERS && !peers.contains_key(&flow.peer) {
                peers.clear();
            }
            peers.insert(flow.peer, flow);
        }
    }

    /// Remembers our UDP listeners (to reach a peer never heard from since start).
    pub(crate) fn set_udp_listeners(&self, locals: Vec<SocketAddr>) {
        if let Ok(mut udp) = self.udp.lock() {
            *udp = locals;
        }
    }

    /// The flow to reach `peer` over `transport`: the one it last used, or for UDP one of
    /// our sockets of the same address family. A TCP peer without a live connection cannot
    /// be reached (we do not open connections to phones).
    pub(crate) fn route(&self, peer: SocketAddr, transport: Transport) -> Option<Flow> {
        if let Some(flow) = self
            .peers
            .lock()
            .ok()
            .and_then(|p| p.get(&peer).copied())
            .filter(|f| f.transport == transport)
        {
            return Some(flow);
        }
        if transport != Transport::Udp {
            return None;
        }
        let udp = self.udp.lock().ok()?;
        let local = udp
            .iter()
            .find(|l| l.is_ipv4() == peer.is_ipv4())
            .copied()?;
        Some(Flow {
            transport,
            local,
            peer,
            conn: None,
        })
    }
}

/// The B2BUA's name for a flow.
pub(crate) fn to_b2b(flow: Flow) -> b2b::Flow {
    b2b::Flow {
        transport: match flow.transport {
            Transport::Udp => b2b::Transport::Udp,
            Transport::Tcp => b2b::Transport::Tcp,
        },
        local: flow.local,
        peer: flow.peer,
        conn: flow.conn,
    }
}

/// The transport's name for a flow.
pub(crate) fn from_b2b(flow: b2b::Flow) -> Flow {
    Flow {
        transport: match flow.transport {
            b2b::Transport::Udp => Transport::Udp,
            b2b::Transport::Tcp => Transport::Tcp,
        },
        local: flow.local,
        peer: flow.peer,
        conn: flow.conn,
    }
}

/// Whether a raw message belongs to the call core: every response (only the B2BUA sends
/// requests), and the requests of the INVITE dialog family.
pub(crate) fn is_call_message(data: &[u8]) -> bool {
    const CALL_METHODS: [&[u8]; 8] = [
        b"SIP/2.0 ",
        b"INVITE ",
        b"ACK ",
        b"BYE ",
        b"CANCEL ",
        b"PRACK ",
        b"UPDATE ",
        b"INFO ",
    ];
    let start = data
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(data.len());
    let head = data.get(start..).unwrap_or_default();
    CALL_METHODS.iter().any(|m| head.starts_with(m))
}

/// The start line and, for a response, the CSeq method of a message we send (for metrics).
pub(crate) fn describe(bytes: &[u8]) -> Option<(&str, Option<u16>)> {
    let head = std::str::from_utf8(bytes.get(..bytes.len().min(1024))?).ok()?;
    let first = head.split("\r\n").next()?;
    if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
        let status = rest.get(..3)?.parse().ok()?;
        let method = head
            .split("\r\n")
            .find_map(|l| l.strip_prefix("CSeq: "))
            .and_then(|v| v.split_whitespace().nth(1))
            .unwrap_or("");
        return Some((method, Some(status)));
    }
    Some((first.split(' ').next()?, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(transport: Transport, peer: &str, conn: Option<u64>) -> Flow {
        Flow {
            transport,
            local: "127.0.0.1:5060".parse().unwrap(),
            peer: peer.parse().unwrap(),
            conn,
        }
    }

    #[test]
    fn routes_prefer_the_last_flow_and_fall_back_to_a_udp_socket() {
        let t = FlowTable::default();
        let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(t.route(peer, Transport::Udp), None, "no listener known yet");
        t.set_udp_listeners(vec!["127.0.0.1:5060".parse().unwrap()]);
        assert_eq!(t.route(peer, Transport::Udp).unwrap().conn, None);
        assert_eq!(
            t.route(peer, Transport::Tcp),
            None,
            "no connection to reuse"
        );
        t.note(flow(Transport::Tcp, "192.0.2.7:40000", Some(9)));
        assert_eq!(t.route(peer, Transport::Tcp).unwrap().conn, Some(9));
        let v6: SocketAddr = "[2001:db8::1]:5060".parse().unwrap();
        assert_eq!(t.route(v6, Transport::Udp), None, "no IPv6 listener");
        let f = flow(Transport::Tcp, "192.0.2.7:40000", Some(3));
        assert_eq!(from_b2b(to_b2b(f)), f);
    }

    #[test]
    fn call_messages_are_recognised_by_their_first_bytes() {
        assert!(is_call_message(b"INVITE sip:1@x SIP/2.0\r\n"));
        assert!(is_call_message(b"\r\nSIP/2.0 200 OK\r\n"));
        assert!(is_call_message(b"BYE sip:1@x SIP/2.0\r\n"));
        assert!(!is_call_message(b"REGISTER sip:x SIP/2.0\r\n"));
        assert!(!is_call_message(b"OPTIONS sip:x SIP/2.0\r\n"));
        assert!(!is_call_message(b"INVITEX sip:x SIP/2.0\r\n"));
        assert!(!is_call_message(b""));
    }

    #[test]
    fn outgoing_messages_are_described_for_metrics() {
        let r = b"SIP/2.0 486 Busy Here\r\nVia: x\r\nCSeq: 1 INVITE\r\n\r\n";
        assert_eq!(describe(r), Some(("INVITE", Some(486))));
        assert_eq!(describe(b"BYE sip:a@b SIP/2.0\r\n"), Some(("BYE", None)));
    }
}
