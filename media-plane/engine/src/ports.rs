//! The even ports a core owns (RTP on the even port, RTCP on the next) and which of them
//! are taken.

use std::net::{IpAddr, SocketAddr};

use warden_shared::ErrorCode;

use crate::sys;

/// The even ports a core owns and which of them are taken.
pub(crate) struct PortPool {
    ports: Vec<u16>,
    in_use: Vec<bool>,
    cursor: usize,
}

impl PortPool {
    pub(crate) fn new(ports: Vec<u16>) -> Self {
        let n = ports.len();
        Self {
            ports,
            in_use: vec![false; n],
            cursor: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.ports.len()
    }

    /// Binds the next free pair (even RTP port, odd RTCP port) on `ip`, skipping ports
    /// another process holds. Returns the pair's index, its RTP port and both sockets.
    pub(crate) fn allocate(
        &mut self,
        ip: IpAddr,
    ) -> Result<(usize, u16, socket2::Socket, socket2::Socket), ErrorCode> {
        let n = self.ports.len();
        let mut saw_free = false;
        for step in 0..n {
            let idx = (self.cursor + step) % n;
            if self.in_use[idx] {
                continue;
            }
            saw_free = true;
            let port = self.ports[idx];
            let Ok(rtp) = sys::bind_udp(SocketAddr::new(ip, port)) else {
                continue;
            };
            let Ok(rtcp) = sys::bind_udp(SocketAddr::new(ip, port.wrapping_add(1))) else {
                continue;
            };
            self.in_use[idx] = true;
            self.cursor = (idx + 1) % n;
            return Ok((idx, port, rtp, rtcp));
        }
        Err(if saw_free {
            ErrorCode::SocketError
        } else {
            ErrorCode::NoFreePort
        })
    }

    pub(crate) fn release(&mut self, idx: usize) {
        if let Some(flag) = self.in_use.get_mut(idx) {
            *flag = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_pool(n: usize, offset: u16) -> PortPool {
        // The pool skips ports another process holds, so any range works.
        let base = 42000 + (std::process::id() % 500) as u16 * 16 + offset;
        PortPool::new((0..n as u16).map(|i| base + 2 * i).collect())
    }

    #[test]
    fn pool_runs_out_and_recovers() {
        let mut pool = free_pool(2, 8);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = pool.allocate(ip).unwrap();
        let second = pool.allocate(ip).unwrap();
        assert_ne!(first.1, second.1);
        assert_eq!(first.1 % 2, 0);
        assert_eq!(
            first.3.local_addr().unwrap().as_socket().unwrap().port(),
            first.1 + 1
        );
        assert!(matches!(pool.allocate(ip), Err(ErrorCode::NoFreePort)));
        pool.release(first.0);
        drop(first);
        assert!(pool.allocate(ip).is_ok());
    }
}
