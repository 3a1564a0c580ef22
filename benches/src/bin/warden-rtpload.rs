//! RTP relay load tool.
//!
//! Starts the media plane in-process on one core, sets up N bridged calls and sends
//! G.711-sized RTP (172-byte packets, 50 packets/s per direction per call) through them from
//! a sender thread using `sendmmsg`, receiving with `recvmmsg`. Each payload carries its send
//! time, so the receiver measures loss, added latency (p50/p99) and jitter. The media core's
//! own thread CPU time (published in its load counters) gives the CPU cost per relayed
//! packet. The same traffic then goes through a bare forwarder built into this tool
//! (`recvmmsg`/`sendmmsg` on one thread pinned to the same core, no parsing) as a baseline.
//!
//! With `--record`, every call is also recorded (stereo WAV files in a temporary directory),
//! which measures what recording adds per relayed packet.
//!
//! Usage: `warden-rtpload [--calls N] [--seconds S] [--core C] [--sweep] [--no-baseline]
//! [--record]`

use std::future::Future;
use std::mem::MaybeUninit;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use warden_media::{default_cores, EngineConfig, MediaPlane, RecordMode, RemoteSpec};

/// RTP packet size on the wire (12-byte header + 160 bytes of G.711 at 20 ms).
const PACKET_LEN: usize = 172;
/// Packets per second per direction per call.
const RATE: u64 = 50;
/// Sub-ticks per 20 ms packet interval: calls are spread over them to avoid bursts.
const PHASES: u64 = 20;
/// Datagrams per system call.
const BATCH: usize = 64;
/// Pass criteria of the sweep.
const MAX_LOSS: f64 = 0.001;
const MAX_P99: Duration = Duration::from_millis(5);
/// Warm-up before each measurement window.
const WARMUP: Duration = Duration::from_secs(1);
/// Grace after the window for packets still in flight.
const GRACE: Duration = Duration::from_millis(300);

struct Args {
    calls: usize,
    seconds: u64,
    core: usize,
    sweep: bool,
    baseline: bool,
    record: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        calls: 200,
        seconds: 5,
        core: *default_cores().last().unwrap_or(&0),
        sweep: false,
        baseline: true,
        record: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> anyhow::Result<String> {
            it.next().with_context(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--calls" => args.calls = value("--calls")?.parse()?,
            "--seconds" => args.seconds = value("--seconds")?.parse()?,
            "--core" => args.core = value("--core")?.parse()?,
            "--sweep" => args.sweep = true,
            "--no-baseline" => args.baseline = false,
            "--record" => args.record = true,
            "-h" | "--help" => {
                println!(
                    "warden-rtpload [--calls N] [--seconds S] [--core C] [--sweep] [--no-baseline] [--record]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if args.calls == 0 || args.seconds == 0 {
        bail!("--calls and --seconds must be positive");
    }
    Ok(args)
}

/// Runs a future to completion on this thread (the media plane's replies are plain futures).
fn block_on<F: Future>(fut: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

/// Pins the calling thread to the given CPUs.
fn pin_to(cpus: &[usize]) {
    // SAFETY: cpu_set_t is plain data; CPU_SET stays within its bounds for valid cpu ids.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            if cpu < libc::CPU_SETSIZE as usize {
                libc::CPU_SET(cpu, &mut set);
            }
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn realtime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid resource and pointers.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    lim.rlim_cur
}

fn udp_socket(big_buffers: bool) -> anyhow::Result<UdpSocket> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_nonblocking(true)?;
    if big_buffers {
        // Big buffers (the privileged variants fail harmlessly without CAP_NET_ADMIN), and
        // kernel receive timestamps for the latency measurement.
        for (opt, value) in [
            (libc::SO_RCVBUFFORCE, 16 << 20),
            (libc::SO_SNDBUFFORCE, 16 << 20),
            (libc::SO_RCVBUF, 16 << 20),
            (libc::SO_SNDBUF, 16 << 20),
            (libc::SO_TIMESTAMPNS, 1),
        ] {
            let value: libc::c_int = value;
            // SAFETY: valid fd and option pointer.
            unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&value as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
    Ok(sock)
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_in, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    if let SocketAddr::V4(a) = addr {
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = a.port().to_be();
        sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
    }
    (
        sin,
        std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
    )
}

/// Preallocated `recvmmsg`/`sendmmsg` batch.
struct Mmsg {
    bufs: Vec<[u8; 2048]>,
    lens: [usize; BATCH],
    /// Control buffers for kernel receive timestamps.
    ctrl: Vec<[u64; 8]>,
    /// Kernel receive time of each datagram (CLOCK_REALTIME ns), 0 if none.
    stamps: [u64; BATCH],
    dests: [libc::sockaddr_in; BATCH],
    count: usize,
}

impl Mmsg {
    fn new() -> Self {
        Self {
            bufs: vec![[0u8; 2048]; BATCH],
            lens: [0; BATCH],
            ctrl: vec![[0u64; 8]; BATCH],
            stamps: [0; BATCH],
            // SAFETY: all-zero sockaddr_in values are valid.
            dests: unsafe { MaybeUninit::zeroed().assume_init() },
            count: 0,
        }
    }

    /// Receives up to BATCH datagrams (non-blocking).
    fn recv(&mut self, fd: RawFd) -> usize {
        // SAFETY: the header arrays point into `self`, which outlives the call.
        unsafe {
            let mut iov: [libc::iovec; BATCH] = std::mem::zeroed();
            let mut msgs: [libc::mmsghdr; BATCH] = std::mem::zeroed();
            for i in 0..BATCH {
                iov[i].iov_base = self.bufs[i].as_mut_ptr().cast();
                iov[i].iov_len = 2048;
                msgs[i].msg_hdr.msg_iov = &mut iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
                msgs[i].msg_hdr.msg_control = self.ctrl[i].as_mut_ptr().cast();
                msgs[i].msg_hdr.msg_controllen = std::mem::size_of::<[u64; 8]>() as _;
            }
            let n = libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            );
            let n = if n < 0 { 0 } else { n as usize };
            for (i, msg) in msgs.iter().enumerate().take(n) {
                self.lens[i] = msg.msg_len as usize;
                self.stamps[i] = 0;
                let mut cmsg = libc::CMSG_FIRSTHDR(&msg.msg_hdr);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET
                        && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                    {
                        let ts = libc::CMSG_DATA(cmsg)
                            .cast::<libc::timespec>()
                            .read_unaligned();
                        self.stamps[i] = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                    }
                    cmsg = libc::CMSG_NXTHDR(&msg.msg_hdr, cmsg);
                }
            }
            self.count = n;
            n
        }
    }

    /// Sends datagrams 0..count, datagram i to dests[i] (or to `fixed` when given).
    fn send(&mut self, fd: RawFd, fixed: Option<&libc::sockaddr_in>) -> usize {
        let count = self.count;
        let mut sent = 0;
        // SAFETY: the header arrays point into `self` (or `fixed`), alive during the call.
        unsafe {
            let mut iov: [libc::iovec; BATCH] = std::mem::zeroed();
            let mut msgs: [libc::mmsghdr; BATCH] = std::mem::zeroed();
            for i in 0..count {
                iov[i].iov_base = self.bufs[i].as_mut_ptr().cast();
                iov[i].iov_len = self.lens[i];
                let dest: *const libc::sockaddr_in = fixed.unwrap_or(&self.dests[i]);
                msgs[i].msg_hdr.msg_name = dest as *mut libc::c_void;
                msgs[i].msg_hdr.msg_namelen =
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                msgs[i].msg_hdr.msg_iov = &mut iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            while sent < count {
                let n = libc::sendmmsg(
                    fd,
                    msgs[sent..].as_mut_ptr(),
                    (count - sent) as libc::c_uint,
                    0,
                );
                if n <= 0 {
                    sent += 1; // skip the refused datagram
                } else {
                    sent += n as usize;
                }
            }
        }
        self.count = 0;
        sent
    }
}

/// Where the two tool sockets send for one call: X plays every A-side phone, Y every B-side.
#[derive(Clone, Copy)]
struct CallTargets {
    x_to: SocketAddr,
    y_to: SocketAddr,
}

struct PhaseResult {
    sent: u64,
    received: u64,
    p50: Duration,
    p99: Duration,
    jitter_ms: f64,
    cpu_ns: u64,
    relayed: u64,
}

impl PhaseResult {
    fn loss(&self) -> f64 {
        if self.sent == 0 {
            return 1.0;
        }
        1.0 - self.received.min(self.sent) as f64 / self.sent as f64
    }

    fn cpu_per_packet_ns(&self) -> f64 {
        self.cpu_ns as f64 / self.relayed.max(1) as f64
    }

    fn passes(&self) -> bool {
        self.loss() < MAX_LOSS && self.p99 < MAX_P99
    }

    fn print(&self, label: &str, calls: usize) {
        println!(
            "{label:<8} calls={calls:<5} sent={:<8} recv={:<8} loss={:.4}% p50={:.1}us p99={:.1}us \
             jitter={:.3}ms cpu/pkt={:.0}ns relayed={}",
            self.sent,
            self.received,
            self.loss() * 100.0,
            self.p50.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6,
            self.jitter_ms,
            self.cpu_per_packet_ns(),
            self.relayed
        );
    }
}

/// Traffic generator and receiver shared by both phases.
struct Traffic {
    x: UdpSocket,
    y: UdpSocket,
    /// CLOCK_REALTIME at start: send times and kernel receive timestamps share that clock.
    epoch_ns: u64,
    tool_cpus: Vec<usize>,
}

/// Per-stream jitter state (RFC 3550 style, on send/arrival nanoseconds).
#[derive(Clone, Copy, Default)]
struct StreamJitter {
    last_send: u64,
    last_arrival: u64,
    jitter_ns: f64,
    seen: bool,
}

impl Traffic {
    fn now_ns(&self) -> u64 {
        realtime_ns().saturating_sub(self.epoch_ns)
    }

    /// Sends to `targets` for warm-up + `window`, measuring the window. `cpu` samples
    /// (cpu_ns, packets relayed) of the system under test.
    fn run(
        &self,
        targets: &[CallTargets],
        window: Duration,
        cpu: &dyn Fn() -> (u64, u64),
    ) -> anyhow::Result<PhaseResult> {
        let start = self.now_ns();
        let t0 = start + WARMUP.as_nanos() as u64;
        let t1 = t0 + window.as_nanos() as u64;
        let stop = Arc::new(AtomicBool::new(false));
        let sent_in_window = Arc::new(AtomicU64::new(0));
        let n = targets.len();

        let result = std::thread::scope(|scope| -> anyhow::Result<PhaseResult> {
            let sender = {
                let stop = stop.clone();
                let sent_in_window = sent_in_window.clone();
                scope.spawn(move || self.send_loop(targets, (t0, t1), &stop, &sent_in_window))
            };
            let receiver = {
                let stop = stop.clone();
                scope.spawn(move || self.recv_loop(n, t0, t1, &stop))
            };
            // Sample the CPU counters at the window edges.
            std::thread::sleep(Duration::from_nanos(t0.saturating_sub(self.now_ns())));
            let (cpu0, pk0) = cpu();
            std::thread::sleep(Duration::from_nanos(t1.saturating_sub(self.now_ns())));
            let (cpu1, pk1) = cpu();
            std::thread::sleep(GRACE);
            stop.store(true, Ordering::Relaxed);
            sender
                .join()
                .map_err(|_| anyhow::anyhow!("sender thread panicked"))?;
            let (received, mut lat, jitter_ms) = receiver
                .join()
                .map_err(|_| anyhow::anyhow!("receiver thread panicked"))?;
            lat.sort_unstable();
            let pct = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .map_or(Duration::ZERO, |&ns| Duration::from_nanos(ns))
            };
            Ok(PhaseResult {
                sent: sent_in_window.load(Ordering::Relaxed),
                received,
                p50: pct(0.50),
                p99: pct(0.99),
                jitter_ms,
                cpu_ns: cpu1.saturating_sub(cpu0),
                relayed: pk1.saturating_sub(pk0),
            })
        })?;
        Ok(result)
    }

    fn send_loop(
        &self,
        targets: &[CallTargets],
        (t_start, t_end): (u64, u64),
        stop: &AtomicBool,
        counted: &AtomicU64,
    ) {
        pin_to(&self.tool_cpus);
        let dests: Vec<(libc::sockaddr_in, libc::sockaddr_in)> = targets
            .iter()
            .map(|t| (to_sockaddr(t.x_to).0, to_sockaddr(t.y_to).0))
            .collect();
        let mut seqs = vec![0u16; targets.len()];
        let mut bx = Mmsg::new();
        let mut by = Mmsg::new();
        let tick = Duration::from_nanos(1_000_000_000 / RATE / PHASES);
        let mut next = Instant::now();
        let mut k: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let phase = (k % PHASES) as usize;
            k += 1;
            let mut i = phase;
            while i < targets.len() {
                let now = self.now_ns();
                // Count only what is sent inside the measurement window (the receiver
                // counts by the same embedded send time).
                if (t_start..t_end).contains(&now) {
                    counted.fetch_add(2, Ordering::Relaxed);
                }
                seqs[i] = seqs[i].wrapping_add(1);
                for (dir, b) in [(0u8, &mut bx), (1u8, &mut by)] {
                    let slot = b.count;
                    let buf = &mut b.bufs[slot];
                    buf[0] = 0x80;
                    buf[1] = 0;
                    buf[2..4].copy_from_slice(&seqs[i].to_be_bytes());
                    buf[4..8].copy_from_slice(&(u32::from(seqs[i]) * 160).to_be_bytes());
                    buf[8..12].copy_from_slice(&(i as u32 * 2 + u32::from(dir)).to_be_bytes());
                    buf[12..20].copy_from_slice(&now.to_be_bytes());
                    buf[20..24].copy_from_slice(&(i as u32).to_be_bytes());
                    buf[24] = dir;
                    b.lens[slot] = PACKET_LEN;
                    b.dests[slot] = if dir == 0 { dests[i].0 } else { dests[i].1 };
                    b.count += 1;
                }
                if bx.count == BATCH {
                    bx.send(self.x.as_raw_fd(), None);
                    by.send(self.y.as_raw_fd(), None);
                }
                i += PHASES as usize;
            }
            bx.send(self.x.as_raw_fd(), None);
            by.send(self.y.as_raw_fd(), None);
            next += tick;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
    }

    fn recv_loop(&self, calls: usize, t0: u64, t1: u64, stop: &AtomicBool) -> (u64, Vec<u64>, f64) {
        pin_to(&self.tool_cpus);
        let mut batch = Mmsg::new();
        let mut received = 0u64;
        let mut lat = Vec::with_capacity(1 << 20);
        let mut streams = vec![StreamJitter::default(); calls * 2];
        let mut pfds = [
            libc::pollfd {
                fd: self.x.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.y.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: two valid pollfds.
            unsafe { libc::poll(pfds.as_mut_ptr(), 2, 10) };
            for fd in [self.x.as_raw_fd(), self.y.as_raw_fd()] {
                loop {
                    let n = batch.recv(fd);
                    if n == 0 {
                        break;
                    }
                    let fallback = self.now_ns();
                    for i in 0..n {
                        // Kernel receive timestamp: excludes this thread's own wake-up delay.
                        let arrival = match batch.stamps[i] {
                            0 => fallback,
                            t => t.saturating_sub(self.epoch_ns),
                        };
                        let b = &batch.bufs[i];
                        if batch.lens[i] != PACKET_LEN {
                            continue;
                        }
                        let mut ts = [0u8; 8];
                        ts.copy_from_slice(&b[12..20]);
                        let send = u64::from_be_bytes(ts);
                        let call = u32::from_be_bytes([b[20], b[21], b[22], b[23]]) as usize;
                        let stream = call * 2 + usize::from(b[24] & 1);
                        if send < t0 || send >= t1 {
                            continue;
                        }
                        received += 1;
                        lat.push(arrival.saturating_sub(send));
                        if let Some(s) = streams.get_mut(stream) {
                            if s.seen {
                                let d = (arrival as f64 - s.last_arrival as f64)
                                    - (send as f64 - s.last_send as f64);
                                s.jitter_ns += (d.abs() - s.jitter_ns) / 16.0;
                            }
                            s.seen = true;
                            s.last_send = send;
                            s.last_arrival = arrival;
                        }
                    }
                    if n < BATCH {
                        break;
                    }
                }
            }
        }
        let seen: Vec<f64> = streams
            .iter()
            .filter(|s| s.seen)
            .map(|s| s.jitter_ns)
            .collect();
        let jitter_ms = if seen.is_empty() {
            0.0
        } else {
            seen.iter().sum::<f64>() / seen.len() as f64 / 1e6
        };
        (received, lat, jitter_ms)
    }
}

/// The bare forwarder: epoll over per-call socket pairs, recvmmsg in, sendmmsg out.
struct BareForwarder {
    targets: Vec<CallTargets>,
    stop: Arc<AtomicBool>,
    cpu_ns: Arc<AtomicU64>,
    relayed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BareForwarder {
    fn start(calls: usize, core: usize, x: SocketAddr, y: SocketAddr) -> anyhow::Result<Self> {
        let mut pairs = Vec::with_capacity(calls);
        let mut targets = Vec::with_capacity(calls);
        for _ in 0..calls {
            let a = udp_socket(false)?;
            let b = udp_socket(false)?;
            targets.push(CallTargets {
                x_to: a.local_addr()?,
                y_to: b.local_addr()?,
            });
            pairs.push((a, b));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let cpu_ns = Arc::new(AtomicU64::new(0));
        let relayed = Arc::new(AtomicU64::new(0));
        let (s, c, r) = (stop.clone(), cpu_ns.clone(), relayed.clone());
        let thread = std::thread::Builder::new()
            .name("bare-forwarder".into())
            .spawn(move || forward(pairs, core, x, y, &s, &c, &r))?;
        Ok(Self {
            targets,
            stop,
            cpu_ns,
            relayed,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn forward(
    pairs: Vec<(UdpSocket, UdpSocket)>,
    core: usize,
    x: SocketAddr,
    y: SocketAddr,
    stop: &AtomicBool,
    cpu_ns: &AtomicU64,
    relayed: &AtomicU64,
) {
    pin_to(&[core]);
    let (to_x, _) = to_sockaddr(x);
    let (to_y, _) = to_sockaddr(y);
    // SAFETY: plain syscalls on descriptors this function owns.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    for (i, (a, b)) in pairs.iter().enumerate() {
        for (side, sock) in [(0u64, a), (1u64, b)] {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: (i as u64) << 1 | side,
            };
            // SAFETY: valid epoll fd and event.
            unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, sock.as_raw_fd(), &mut ev) };
        }
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut batch = Mmsg::new();
    let mut count = 0u64;
    let mut last_cpu = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: the buffer holds 256 events.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), 256, 100) };
        for ev in events.iter().take(n.max(0) as usize) {
            let token = ev.u64;
            let Some((a, b)) = pairs.get((token >> 1) as usize) else {
                continue;
            };
            // A-side socket (fed by X) forwards out of B to Y, and back.
            let (from, out, dest) = if token & 1 == 0 {
                (a, b, &to_y)
            } else {
                (b, a, &to_x)
            };
            for _ in 0..4 {
                let got = batch.recv(from.as_raw_fd());
                if got == 0 {
                    break;
                }
                count += batch.send(out.as_raw_fd(), Some(dest)) as u64;
                if got < BATCH {
                    break;
                }
            }
        }
        relayed.store(count, Ordering::Relaxed);
        // Same refresh policy as the media core's housekeeping tick.
        if last_cpu.elapsed() >= Duration::from_millis(100) {
            cpu_ns.store(thread_cpu_ns(), Ordering::Relaxed);
            last_cpu = Instant::now();
        }
    }
    // SAFETY: closing the epoll fd we created.
    unsafe { libc::close(epfd) };
}

/// The media plane with a growing set of bridged calls.
struct MediaUnderTest {
    plane: MediaPlane,
    targets: Vec<CallTargets>,
    x: SocketAddr,
    y: SocketAddr,
    /// Where recordings go, when calls are recorded (removed at the end).
    recordings: Option<std::path::PathBuf>,
}

impl Drop for MediaUnderTest {
    fn drop(&mut self) {
        self.plane.shutdown();
        if let Some(dir) = &self.recordings {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl MediaUnderTest {
    fn start(core: usize, x: SocketAddr, y: SocketAddr, record: bool) -> anyhow::Result<Self> {
        let recordings = record
            .then(|| std::env::temp_dir().join(format!("warden-rtpload-{}", std::process::id())));
        let mut cfg = EngineConfig::new("127.0.0.1".parse()?);
        cfg.bind = "127.0.0.1".parse()?;
        cfg.cores = vec![core];
        cfg.rtp_ports = (10000, 59999);
        cfg.rtp_timeout = Duration::ZERO;
        cfg.stats_interval = Duration::ZERO;
        cfg.io_memory_bytes = 256 * 1024;
        if let Some(dir) = &recordings {
            cfg.recording_dir = dir.clone();
        }
        let plane = MediaPlane::start(cfg)?;
        Ok(Self {
            plane,
            targets: Vec::new(),
            x,
            y,
            recordings,
        })
    }

    fn grow_to(&mut self, calls: usize) -> anyhow::Result<()> {
        while self.targets.len() < calls {
            let session = self.plane.open_session();
            let a = block_on(self.plane.create_endpoint(session))?;
            let b = block_on(self.plane.create_endpoint(session))?;
            block_on(self.plane.set_remote(a.id, RemoteSpec::new(self.x)))?;
            block_on(self.plane.set_remote(b.id, RemoteSpec::new(self.y)))?;
            block_on(self.plane.bridge(a.id, b.id))?;
            if self.recordings.is_some() {
                let id = self.targets.len() as u64;
                block_on(
                    self.plane
                        .start_recording(a.id, b.id, id, RecordMode::Stereo),
                )?;
            }
            self.targets.push(CallTargets {
                x_to: a.rtp,
                y_to: b.rtp,
            });
        }
        Ok(())
    }

    fn counters(&self) -> (u64, u64) {
        let load = self.plane.load();
        load.first().map_or((0, 0), |l| (l.cpu_ns, l.packets_out))
    }
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let nofile = raise_nofile();
    let max_calls = (nofile.saturating_sub(256) / 6) as usize;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tool_cpus: Vec<usize> = (0..cpus).filter(|&c| c != args.core).collect();
    let tool_cpus = if tool_cpus.is_empty() {
        vec![args.core]
    } else {
        tool_cpus
    };
    println!(
        "warden-rtpload: media core on CPU {}, tool threads on {:?}, {} B packets, {} pps per \
         direction per call, window {} s",
        args.core, tool_cpus, PACKET_LEN, RATE, args.seconds
    );
    let traffic = Traffic {
        x: udp_socket(true)?,
        y: udp_socket(true)?,
        epoch_ns: realtime_ns(),
        tool_cpus,
    };
    let (x, y) = (traffic.x.local_addr()?, traffic.y.local_addr()?);
    let window = Duration::from_secs(args.seconds);
    let mut media = MediaUnderTest::start(args.core, x, y, args.record)?;

    let mut calls = args.calls.min(max_calls);
    let mut best: Option<(usize, PhaseResult)> = None;
    let mut last: Option<(usize, PhaseResult)> = None;
    loop {
        media.grow_to(calls)?;
        let result = traffic.run(&media.targets, window, &|| media.counters())?;
        result.print("media", calls);
        if !args.sweep {
            last = Some((calls, result));
            break;
        }
        if !result.passes() {
            break;
        }
        best = Some((calls, result));
        let next = (calls + calls / 4).div_ceil(50) * 50;
        if next > max_calls {
            println!("sweep: stopping at the file-descriptor limit ({max_calls} calls)");
            break;
        }
        calls = next;
    }
    if args.sweep {
        match &best {
            Some((n, _)) => println!(
                "sweep: highest passing N = {n} calls ({} packets/s relayed; loss < {}%, p99 < {} ms)",
                *n as u64 * 2 * RATE,
                MAX_LOSS * 100.0,
                MAX_P99.as_millis()
            ),
            None => println!("sweep: no N passed"),
        }
        last = best;
    }
    drop(media);
    if let (true, Some((compare_calls, media_result))) = (args.baseline, last) {
        let fwd = BareForwarder::start(compare_calls, args.core, x, y)?;
        let (cpu, relayed) = (fwd.cpu_ns.clone(), fwd.relayed.clone());
        let bare = traffic.run(&fwd.targets, window, &|| {
            (cpu.load(Ordering::Relaxed), relayed.load(Ordering::Relaxed))
        })?;
        bare.print("bare", compare_calls);
        fwd.stop();
        println!(
            "cpu per relayed packet: media {:.0} ns, bare forwarder {:.0} ns, ratio {:.2}x (goal <= 1.30x)",
            media_result.cpu_per_packet_ns(),
            bare.cpu_per_packet_ns(),
            media_result.cpu_per_packet_ns() / bare.cpu_per_packet_ns().max(1.0)
        );
    }
    Ok(())
}
