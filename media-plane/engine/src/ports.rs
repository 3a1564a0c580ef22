//! The even ports a core owns (RTP on the even port, RTCP on the next): which of them are
//! taken and by which endpoint, and the bound sockets of pairs released lately, kept for
//! reuse.
//!
//! Opening a pair costs a dozen system calls (socket, non-blocking, bind and epoll
//! registration for each socket, then epoll removal and close at the end), about a fifth of
//! what a call costs the media plane when the kernel forwards its RTP. So a released pair's
//! sockets stay bound, and in the core's epoll set: what arrives on them meanwhile is read
//! and dropped. A pair is reused once it rested [`QUARANTINE`] (RTP still in flight from the
//! last call never reaches the next one), the longest-resting first; before that, a free
//! port is bound instead, and only when none is left does a resting pair go early. At most
//! `idle_limit` pairs rest; past that a released pair is closed.
//!
//! The core's epoll tokens name a pair by its index here ([`token`]), so neither reuse nor
//! a new endpoint on the pair touches the epoll set.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use warden_shared::{EndpointHandle, ErrorCode};

use crate::sys;

/// How long a released pair rests before it is reused.
pub(crate) const QUARANTINE: Duration = Duration::from_secs(2);

/// Most released pairs a core keeps bound (two descriptors each).
pub(crate) const IDLE_LIMIT: usize = 1024;

/// The epoll token of a pair's RTP or RTCP socket (never 0, the core's doorbell).
pub(crate) fn token(index: usize, rtcp: bool) -> u64 {
    ((index as u64 + 1) << 1) | u64::from(rtcp)
}

/// The pair and socket a token names.
pub(crate) fn untoken(token: u64) -> (usize, bool) {
    (((token >> 1) as usize).wrapping_sub(1), token & 1 == 1)
}

/// A pair handed out by [`PortPool::allocate`].
pub(crate) struct Lease {
    pub(crate) index: usize,
    pub(crate) port: u16,
    pub(crate) rtp: socket2::Socket,
    pub(crate) rtcp: socket2::Socket,
    /// Bound just now: not in the core's epoll set yet.
    pub(crate) fresh: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    Taken(Option<EndpointHandle>),
    /// Resting, with the RTP and RTCP sockets' descriptors (looked up per late packet).
    Resting(RawFd, RawFd),
}

struct Resting {
    index: usize,
    since: Instant,
    rtp: socket2::Socket,
    rtcp: socket2::Socket,
}

/// The even ports a core owns, who holds them, and the pairs resting between calls.
pub(crate) struct PortPool {
    ports: Vec<u16>,
    state: Vec<State>,
    cursor: usize,
    resting: VecDeque<Resting>,
    idle_limit: usize,
}

impl PortPool {
    pub(crate) fn with_idle_limit(ports: Vec<u16>, idle_limit: usize) -> Self {
        let n = ports.len();
        Self {
            ports,
            state: vec![State::Free; n],
            cursor: 0,
            resting: VecDeque::new(),
            idle_limit,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.ports.len()
    }

    /// Pairs resting between calls.
    #[cfg(test)]
    pub(crate) fn resting(&self) -> usize {
        self.resting.len()
    }

    /// A pair for a new endpoint: one that rested long enough, else the next free pair bound
    /// on `ip` (skipping ports another process holds), else the longest-resting pair.
    pub(crate) fn allocate(&mut self, ip: IpAddr, now: Instant) -> Result<Lease, ErrorCode> {
        let rested = self
            .resting
            .front()
            .is_some_and(|r| now.saturating_duration_since(r.since) >= QUARANTINE);
        if rested {
            if let Some(lease) = self.wake_oldest() {
                return Ok(lease);
            }
        }
        let n = self.ports.len();
        let mut saw_free = false;
        for step in 0..n {
            let index = (self.cursor + step) % n;
            if self.state[index] != State::Free {
                continue;
            }
            saw_free = true;
            let port = self.ports[index];
            let Ok(rtp) = sys::bind_udp(SocketAddr::new(ip, port)) else {
                continue;
            };
            let Ok(rtcp) = sys::bind_udp(SocketAddr::new(ip, port.wrapping_add(1))) else {
                continue;
            };
            self.state[index] = State::Taken(None);
            self.cursor = (index + 1) % n;
            return Ok(Lease {
                index,
                port,
                rtp,
                rtcp,
                fresh: true,
            });
        }
        if let Some(lease) = self.wake_oldest() {
            return Ok(lease);
        }
        Err(if saw_free {
            ErrorCode::SocketError
        } else {
            ErrorCode::NoFreePort
        })
    }

    fn wake_oldest(&mut self) -> Option<Lease> {
        let r = self.resting.pop_front()?;
        self.state[r.index] = State::Taken(None);
        Some(Lease {
            index: r.index,
            port: self.ports[r.index],
            rtp: r.rtp,
            rtcp: r.rtcp,
            fresh: false,
        })
    }

    /// Records which endpoint holds a taken pair (what its sockets' tokens lead to).
    pub(crate) fn assign(&mut self, index: usize, endpoint: EndpointHandle) {
        if let Some(s @ State::Taken(_)) = self.state.get_mut(index) {
            *s = State::Taken(Some(endpoint));
        }
    }

    /// The endpoint holding the pair, if one does.
    pub(crate) fn owner(&self, index: usize) -> Option<EndpointHandle> {
        match self.state.get(index) {
            Some(State::Taken(owner)) => *owner,
            _ => None,
        }
    }

    /// The socket of a resting pair (to read and drop what reached it).
    pub(crate) fn resting_fd(&self, index: usize, rtcp: bool) -> Option<RawFd> {
        match self.state.get(index) {
            Some(State::Resting(rtp, rtcp_fd)) => Some(if rtcp { *rtcp_fd } else { *rtp }),
            _ => None,
        }
    }

    /// Gives a pair back. Its sockets, still in the core's epoll set, rest for reuse; past
    /// the limit they are closed (which also takes them out of the epoll set).
    pub(crate) fn release(
        &mut self,
        index: usize,
        rtp: socket2::Socket,
        rtcp: socket2::Socket,
        now: Instant,
    ) {
        if !matches!(self.state.get(index), Some(State::Taken(_))) {
            return;
        }
        if self.resting.len() >= self.idle_limit {
            self.state[index] = State::Free;
            return;
        }
        self.state[index] = State::Resting(rtp.as_raw_fd(), rtcp.as_raw_fd());
        self.resting.push_back(Resting {
            index,
            since: now,
            rtp,
            rtcp,
        });
    }

    /// Gives back a pair whose sockets are closed by the caller (never registered, or
    /// failed): the port is free to bind again.
    pub(crate) fn discard(&mut self, index: usize) {
        if let Some(s @ State::Taken(_)) = self.state.get_mut(index) {
            *s = State::Free;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_pool(n: usize, offset: u16, idle_limit: usize) -> PortPool {
        // The pool skips ports another process holds, so any range works.
        let base = 42000 + (std::process::id() % 500) as u16 * 16 + offset;
        PortPool::with_idle_limit((0..n as u16).map(|i| base + 2 * i).collect(), idle_limit)
    }

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    fn local_port(s: &socket2::Socket) -> u16 {
        s.local_addr().unwrap().as_socket().unwrap().port()
    }

    #[test]
    fn tokens_round_trip_and_never_collide_with_the_doorbell() {
        for index in [0, 1, 7, 65_535] {
            for rtcp in [false, true] {
                let t = token(index, rtcp);
                assert_ne!(t, 0);
                assert_eq!(untoken(t), (index, rtcp));
            }
        }
    }

    #[test]
    fn pool_runs_out_and_recovers() {
        let mut pool = free_pool(2, 8, 0);
        let now = Instant::now();
        let first = pool.allocate(ip(), now).unwrap();
        let second = pool.allocate(ip(), now).unwrap();
        assert!(first.fresh && second.fresh);
        assert_ne!(first.port, second.port);
        assert_eq!(first.port % 2, 0);
        assert_eq!(local_port(&first.rtcp), first.port + 1);
        assert!(matches!(
            pool.allocate(ip(), now),
            Err(ErrorCode::NoFreePort)
        ));
        // No resting allowed: the pair is closed and bound again.
        pool.release(first.index, first.rtp, first.rtcp, now);
        assert_eq!(pool.resting(), 0);
        let again = pool.allocate(ip(), now).unwrap();
        assert!(again.fresh);
        assert_eq!(again.port, first.port);
    }

    #[test]
    fn a_released_pair_rests_before_reuse_and_keeps_its_sockets() {
        let mut pool = free_pool(3, 40, 8);
        let t0 = Instant::now();
        let a = pool.allocate(ip(), t0).unwrap();
        let handle = EndpointHandle {
            slot: 4,
            generation: 9,
        };
        pool.assign(a.index, handle);
        assert_eq!(pool.owner(a.index), Some(handle));
        let (port, fd) = (a.port, a.rtp.as_raw_fd());
        pool.release(a.index, a.rtp, a.rtcp, t0);
        assert_eq!(pool.owner(a.index), None);
        assert_eq!(pool.resting_fd(a.index, false), Some(fd));

        // Too soon: another port is bound.
        let b = pool.allocate(ip(), t0 + QUARANTINE / 2).unwrap();
        assert!(b.fresh);
        assert_ne!(b.port, port);

        // Rested: the same sockets come back, already registered.
        let c = pool.allocate(ip(), t0 + QUARANTINE).unwrap();
        assert!(!c.fresh);
        assert_eq!((c.port, c.rtp.as_raw_fd()), (port, fd));
        assert_eq!(local_port(&c.rtcp), port + 1);
        assert_eq!(pool.resting_fd(c.index, false), None);
        assert_eq!(pool.owner(c.index), None, "not assigned yet");
    }

    #[test]
    fn a_resting_pair_goes_early_only_when_nothing_else_is_free() {
        let mut pool = free_pool(2, 80, 8);
        let t0 = Instant::now();
        let a = pool.allocate(ip(), t0).unwrap();
        let b = pool.allocate(ip(), t0).unwrap();
        let port = a.port;
        pool.release(a.index, a.rtp, a.rtcp, t0);
        let early = pool.allocate(ip(), t0).unwrap();
        assert!(!early.fresh);
        assert_eq!(early.port, port);
        assert!(matches!(
            pool.allocate(ip(), t0),
            Err(ErrorCode::NoFreePort)
        ));
        // A pair given back unregistered is free to bind again.
        pool.discard(b.index);
        drop(b);
        assert!(pool.allocate(ip(), t0).unwrap().fresh);
    }

    #[test]
    fn past_the_limit_released_pairs_are_closed() {
        let mut pool = free_pool(3, 120, 1);
        let t0 = Instant::now();
        let a = pool.allocate(ip(), t0).unwrap();
        let b = pool.allocate(ip(), t0).unwrap();
        let b_port = b.port;
        pool.release(a.index, a.rtp, a.rtcp, t0);
        pool.release(b.index, b.rtp, b.rtcp, t0);
        assert_eq!(pool.resting(), 1);
        assert_eq!(pool.resting_fd(b.index, false), None);
        // b's port was closed: it binds again.
        let probe = std::net::UdpSocket::bind((ip(), b_port)).unwrap();
        drop(probe);
    }
}
