//! Where a forwarded packet leaves the host: handed to the local stack, or sent out of an
//! interface (the program needs the interface; the kernel resolves the next hop).

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};

/// How the program delivers packets to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// The destination is this host: hand the packet to the local stack.
    Local,
    /// Send it out of this interface (index).
    Interface(u32),
}

/// Routes to destinations, from the host's IPv4 addresses and the kernel's routing table,
/// remembered per destination.
#[derive(Debug, Default)]
pub struct Routes {
    /// The host's own IPv4 addresses and their interfaces, read once.
    own: Vec<(Ipv4Addr, u32)>,
    known: HashMap<Ipv4Addr, Option<Egress>>,
}

/// Destinations remembered before the cache starts over.
const KNOWN: usize = 4096;

impl Routes {
    /// Reads the host's addresses now.
    pub fn new() -> Self {
        Self {
            own: crate::sys::ipv4_addresses(),
            known: HashMap::new(),
        }
    }

    /// How to reach `dst`; `None` when the route cannot be told (the core keeps relaying).
    pub fn egress(&mut self, dst: Ipv4Addr) -> Option<Egress> {
        if let Some(known) = self.known.get(&dst) {
            return *known;
        }
        let found = self.look_up(dst);
        if self.known.len() >= KNOWN {
            self.known.clear();
        }
        self.known.insert(dst, found);
        found
    }

    fn look_up(&self, dst: Ipv4Addr) -> Option<Egress> {
        if dst.is_loopback() || self.own.iter().any(|(a, _)| *a == dst) {
            return Some(Egress::Local);
        }
        // The kernel picks the route's source address for a connected UDP socket; the
        // interface holding that address is the way out.
        let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
        probe.connect((dst, 9)).ok()?;
        let src = match probe.local_addr().ok()? {
            std::net::SocketAddr::V4(a) => *a.ip(),
            std::net::SocketAddr::V6(_) => return None,
        };
        self.own
            .iter()
            .find(|(a, _)| *a == src)
            .map(|(_, index)| Egress::Interface(*index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_own_addresses_are_local() {
        let mut routes = Routes::new();
        assert_eq!(routes.egress(Ipv4Addr::LOCALHOST), Some(Egress::Local));
        assert_eq!(
            routes.egress(Ipv4Addr::new(127, 0, 0, 9)),
            Some(Egress::Local)
        );
        if let Some(&(own, _)) = routes.own.iter().find(|(a, _)| !a.is_loopback()) {
            assert_eq!(routes.egress(own), Some(Egress::Local));
        }
    }
}
