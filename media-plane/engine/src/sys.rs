//! Thin, audited wrappers over the Linux calls the media core needs: epoll, eventfd,
//! `recvmmsg`/`sendmmsg` and the thread CPU clock. All `unsafe` of the crate lives here.
//!
//! Why not glommio's own UDP sockets: glommio 0.9 moves one datagram per call, and each call
//! that has to wait allocates a DMA buffer and a reactor source; it exposes no way to await
//! readiness of an arbitrary fd. RTP reaches each socket at only ~50 packets/s, so batching
//! has to happen *across* sockets: one level-triggered epoll set per core reports every
//! ready socket at once, and each ready socket is drained with `recvmmsg` into preallocated
//! buffers and relayed with `sendmmsg` from those same buffers (zero copies, zero
//! allocations per packet).

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Largest datagram the core accepts; longer ones are truncated by the kernel and dropped.
pub(crate) const MAX_DATAGRAM: usize = 2048;
/// Datagrams moved per `recvmmsg`/`sendmmsg` call.
pub(crate) const BATCH: usize = 32;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A non-blocking eventfd used as a doorbell between threads.
#[derive(Debug)]
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the returned fd is checked and then owned.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Rings the bell. A saturated counter (EAGAIN) means a wake-up is already pending.
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an fd we own.
        let _ = unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter after a wake-up.
    pub(crate) fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from an fd we own.
        let _ = unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Blocks until signalled or `timeout` passes; returns whether it was signalled.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            self.drain();
            true
        } else {
            false
        }
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A level-triggered epoll set; each registration carries a 64-bit token.
pub(crate) struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        // SAFETY: plain syscall; checked.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Self {
            // SAFETY: fresh descriptor.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
        })
    }

    pub(crate) fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: valid epoll fd and event struct.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
            .map(drop)
    }

    /// Waits up to `timeout_ms` (-1: forever); returns how many tokens are ready.
    pub(crate) fn wait(&mut self, timeout_ms: i32) -> usize {
        let cap = self.events.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: the buffer holds `cap` events.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                self.events.as_mut_ptr(),
                cap,
                timeout_ms,
            )
        };
        usize::try_from(n).unwrap_or(0).min(self.events.len())
    }

    /// Token of ready entry `i` of the last wait.
    pub(crate) fn token(&self, i: usize) -> Option<u64> {
        self.events.get(i).map(|e| e.u64)
    }
}

/// Raises the soft limit on open files to the hard one (every endpoint holds two sockets);
/// returns the soft limit in force afterwards.
pub(crate) fn raise_open_files() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid resource id and out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_max > lim.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: valid resource id and a live rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    lim.rlim_cur
}

/// Binds a non-blocking UDP socket.
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    // Non-blocking from the start: no fcntl calls.
    let socket = socket2::Socket::new(
        domain,
        socket2::Type::DGRAM.nonblocking(),
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        socket.set_only_v6(false).ok();
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

fn storage_to_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn addr_to_storage(addr: SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe {
                &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Sends one datagram generated by the core (not a received one) out of `fd` to `dest`,
/// without blocking. Used by the transcoding bridge.
pub(crate) fn send_to(fd: RawFd, bytes: &[u8], dest: SocketAddr) -> io::Result<usize> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = addr_to_storage(dest, &mut storage);
    // SAFETY: `bytes` and `storage` outlive the call; `len` is the size of the address
    // written into `storage`.
    let n = unsafe {
        libc::sendto(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT,
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// One queued send: which received buffer, how many bytes, out of which socket, to where.
#[derive(Clone, Copy)]
struct PendingSend {
    buf: usize,
    len: usize,
    fd: RawFd,
}

/// Outcome of flushing the send queue.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flushed {
    pub(crate) sent: usize,
    pub(crate) bytes: usize,
    pub(crate) failed: usize,
}

/// Preallocated receive/send batch: [`BATCH`] buffers of [`MAX_DATAGRAM`] bytes, the source
/// address and length of each received datagram, and a queue of sends that point back into
/// those buffers. Built once per core; the hot path allocates nothing.
pub(crate) struct Batch {
    bufs: Box<[[u8; MAX_DATAGRAM]; BATCH]>,
    lens: [usize; BATCH],
    truncated: [bool; BATCH],
    sources: [libc::sockaddr_storage; BATCH],
    dests: [libc::sockaddr_storage; BATCH],
    dest_lens: [libc::socklen_t; BATCH],
    pending: [PendingSend; BATCH],
    pending_len: usize,
    received: usize,
}

impl Batch {
    pub(crate) fn new() -> Box<Self> {
        // SAFETY: every field is plain old data for which all-zero bytes are valid.
        let zero_storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        Box::new(Self {
            bufs: Box::new([[0u8; MAX_DATAGRAM]; BATCH]),
            lens: [0; BATCH],
            truncated: [false; BATCH],
            sources: [zero_storage; BATCH],
            dests: [zero_storage; BATCH],
            dest_lens: [0; BATCH],
            pending: [PendingSend {
                buf: 0,
                len: 0,
                fd: -1,
            }; BATCH],
            pending_len: 0,
            received: 0,
        })
    }

    /// Receives up to [`BATCH`] datagrams from `fd` without blocking. Returns how many
    /// arrived (0 when none is waiting).
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.received = 0;
        self.pending_len = 0;
        // SAFETY: zeroed iovec/mmsghdr arrays are valid; every pointer set below points into
        // `self`, which outlives the call.
        let mut iov: [libc::iovec; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for i in 0..BATCH {
            iov[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            iov[i].iov_len = MAX_DATAGRAM;
            let hdr = &mut msgs[i].msg_hdr;
            hdr.msg_name = (&mut self.sources[i] as *mut libc::sockaddr_storage).cast();
            hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &mut iov[i];
            hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` describes BATCH valid buffers; MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(err),
            };
        }
        let n = (n as usize).min(BATCH);
        for (i, msg) in msgs.iter().enumerate().take(n) {
            self.lens[i] = (msg.msg_len as usize).min(MAX_DATAGRAM);
            self.truncated[i] = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        self.received = n;
        Ok(n)
    }

    /// Datagram `i` of the last receive: its bytes (mutable, for in-place rewriting), its
    /// source, and whether the kernel truncated it.
    pub(crate) fn datagram(&mut self, i: usize) -> Option<(&mut [u8], Option<SocketAddr>, bool)> {
        if i >= self.received {
            return None;
        }
        let src = storage_to_addr(&self.sources[i]);
        let len = self.lens[i];
        Some((&mut self.bufs[i][..len], src, self.truncated[i]))
    }

    /// Queues datagram `i` (its first `len` bytes) to be sent out of `fd` to `dest`.
    pub(crate) fn queue_send(&mut self, i: usize, len: usize, fd: RawFd, dest: SocketAddr) {
        if i >= self.received || self.pending_len >= BATCH {
            return;
        }
        let slot = self.pending_len;
        self.dest_lens[slot] = addr_to_storage(dest, &mut self.dests[slot]);
        self.pending[slot] = PendingSend {
            buf: i,
            len: len.min(MAX_DATAGRAM),
            fd,
        };
        self.pending_len += 1;
    }

    /// Sends everything queued, one `sendmmsg` per run of sends sharing a socket. A datagram
    /// the kernel refuses is skipped and counted as failed.
    pub(crate) fn flush(&mut self) -> Flushed {
        let mut out = Flushed::default();
        let total = self.pending_len;
        self.pending_len = 0;
        // SAFETY: zeroed iovec/mmsghdr arrays are valid; pointers set below point into `self`.
        let mut iov: [libc::iovec; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for k in 0..total {
            let p = self.pending[k];
            iov[k].iov_base = self.bufs[p.buf].as_mut_ptr().cast();
            iov[k].iov_len = p.len;
            let hdr = &mut msgs[k].msg_hdr;
            hdr.msg_name = (&mut self.dests[k] as *mut libc::sockaddr_storage).cast();
            hdr.msg_namelen = self.dest_lens[k];
            hdr.msg_iov = &mut iov[k];
            hdr.msg_iovlen = 1;
        }
        let mut start = 0;
        while start < total {
            let fd = self.pending[start].fd;
            let mut end = start + 1;
            while end < total && self.pending[end].fd == fd {
                end += 1;
            }
            while start < end {
                let count = (end - start) as libc::c_uint;
                // SAFETY: msgs[start..end] are fully initialised headers.
                let n = unsafe {
                    libc::sendmmsg(fd, msgs[start..].as_mut_ptr(), count, libc::MSG_DONTWAIT)
                };
                if n <= 0 {
                    // The first remaining datagram was refused (buffer full, unreachable):
                    // drop it, count it, go on with the rest.
                    out.failed += 1;
                    start += 1;
                } else {
                    let n = (n as usize).min(end - start);
                    out.sent += n;
                    out.bytes += self.pending[start..start + n]
                        .iter()
                        .map(|p| p.len)
                        .sum::<usize>();
                    start += n;
                }
            }
        }
        out
    }
}

/// CPU time consumed so far by the calling thread.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Whether `ip` can be a destination (not unspecified, not multicast).
pub(crate) fn usable_destination(ip: IpAddr) -> bool {
    !ip.is_unspecified() && !ip.is_multicast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_receives_and_sends_between_sockets() {
        let a = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let a_addr = a.local_addr().unwrap().as_socket().unwrap();
        let b_addr = b.local_addr().unwrap().as_socket().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            sender.send_to(&[i; 10], a_addr).unwrap();
        }
        let mut batch = Batch::new();
        let mut got = 0;
        for _ in 0..100 {
            got += batch.recv(a.as_raw_fd()).unwrap();
            if got == 5 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got, 5);
        let (bytes, src, truncated) = batch.datagram(4).unwrap();
        assert_eq!(bytes, &[4u8; 10]);
        assert!(!truncated);
        assert_eq!(src, Some(sender.local_addr().unwrap()));
        assert!(batch.datagram(5).is_none());
        for i in 0..5 {
            batch.queue_send(i, 10, b.as_raw_fd(), c.local_addr().unwrap());
        }
        assert_eq!(
            batch.flush(),
            Flushed {
                sent: 5,
                bytes: 50,
                failed: 0
            }
        );
        let mut buf = [0u8; 64];
        for i in 0..5u8 {
            let (n, from) = c.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i; 10]);
            assert_eq!(from, b_addr);
        }
    }

    #[test]
    fn empty_socket_yields_zero_and_eventfd_wakes() {
        let a = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut batch = Batch::new();
        assert_eq!(batch.recv(a.as_raw_fd()).unwrap(), 0);
        let ev = EventFd::new().unwrap();
        assert!(!ev.wait(Duration::from_millis(1)));
        ev.signal();
        assert!(ev.wait(Duration::from_millis(100)));
        let mut ep = Epoll::new(4).unwrap();
        ep.add(ev.raw(), 7).unwrap();
        assert_eq!(ep.wait(0), 0);
        ev.signal();
        assert_eq!(ep.wait(100), 1);
        assert_eq!(ep.token(0), Some(7));
        assert!(thread_cpu_time() > Duration::ZERO);
    }
}
