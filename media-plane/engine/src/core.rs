//! One media core: the loop that runs inside a pinned glommio executor.
//!
//! Each iteration applies queued commands, fires due timers, publishes counters, then waits
//! on the core's epoll set (RTP/RTCP sockets plus the command doorbell) until a socket is
//! readable, a command arrives, or the next timer is due. An idle core sleeps in that wait:
//! it never spins, and a command wakes it at once through the doorbell.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_shared::{
    Command, CommandConsumer, EndpointHandle, ErrorCode, Event, EventProducer, RemoteSpec,
    RequestId,
};

use crate::doorbell::Doorbell;
use crate::endpoint::{Endpoint, EndpointTable};
use crate::kernel::Kernel;
use crate::load::{CoreLoad, DropReason, LocalCounters};
use crate::notify::Notifier;
use crate::playback::{Playbacks, Prompts};
use crate::ports::{token, untoken, PortPool};
use crate::record::Recorders;
use crate::relay::PacketPath;
use crate::sys::{self, Batch, Epoll, EventFd, BATCH};
use crate::timers::{Timer, Timers};
use crate::transcode::{Xcode, XcodeSet};
use crate::writer::{self, WriterHandle};

mod ops;

/// Token of the command doorbell in the epoll set (socket tokens are never 0: generations
/// start at 1).
const WAKE_TOKEN: u64 = 0;
/// Commands applied per iteration before packets get their turn.
const COMMAND_BUDGET: usize = 256;
/// `recvmmsg` rounds per ready socket per iteration (fairness between sockets).
const SOCKET_ROUNDS: usize = 4;
/// Ready sockets reported per wait.
const EPOLL_EVENTS: usize = 256;
/// Longest sleep when no timer is armed.
const MAX_SLEEP_MS: i32 = 1000;

/// Everything a core needs, built on the control side and moved into the executor.
pub(crate) struct CoreSetup {
    pub(crate) index: usize,
    pub(crate) cpu: usize,
    pub(crate) bind: IpAddr,
    pub(crate) address: IpAddr,
    pub(crate) ports: Vec<u16>,
    /// Most port pairs kept bound between calls (see `ports.rs`).
    pub(crate) resting_pairs: usize,
    pub(crate) rtp_timeout: Duration,
    /// Shortest time between two wake-ups (see `EngineConfig::wake_interval`).
    pub(crate) wake_interval: Duration,
    pub(crate) stats_interval: Duration,
    pub(crate) commands: CommandConsumer,
    pub(crate) events: EventProducer,
    pub(crate) load: Arc<CoreLoad>,
    /// The core's doorbell (rung by the control side after pushing a command).
    pub(crate) wake: Arc<Doorbell>,
    /// The event pump's doorbell (rung by the core after pushing events).
    pub(crate) event_bell: Arc<EventFd>,
    /// Where recordings are written.
    pub(crate) recording_dir: PathBuf,
    /// Prompts loaded at start.
    pub(crate) prompts: Arc<Prompts>,
    /// The in-kernel forwarder, when it runs.
    pub(crate) kernel: Option<Arc<warden_kfwd::Forwarder>>,
}

/// How long a core that woke at `woke` (and before that at `previous`) sleeps at `now`
/// before waiting `timeout_ms` (0: do not wait), given its wake-up interval, and the wait's
/// timeout after that sleep. No sleep when the interval is off, has passed, or the core
/// must not wait; nor when the core is not busy: woken an interval or more after its
/// previous wake-up, it would only add a sleep's context switch to the next one.
fn coalesce_plan(
    interval: Duration,
    previous: Instant,
    woke: Instant,
    now: Instant,
    timeout_ms: i32,
) -> (Duration, i32) {
    if interval.is_zero() || timeout_ms <= 0 || woke.saturating_duration_since(previous) >= interval
    {
        return (Duration::ZERO, timeout_ms);
    }
    let timeout = Duration::from_millis(u64::from(timeout_ms.unsigned_abs()));
    let sleep = interval
        .saturating_sub(now.saturating_duration_since(woke))
        .min(timeout);
    if sleep.is_zero() {
        return (Duration::ZERO, timeout_ms);
    }
    let left = timeout.saturating_sub(sleep).as_micros().div_ceil(1000);
    (sleep, left.min(MAX_SLEEP_MS as u128) as i32)
}

/// A new endpoint and the RTP address it advertises.
type NewEndpoint = (EndpointHandle, SocketAddr);

/// Whether the loop goes on.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

pub(crate) struct Core {
    index: usize,
    cpu: usize,
    bind: IpAddr,
    address: IpAddr,
    rtp_timeout: Duration,
    wake_interval: Duration,
    commands: CommandConsumer,
    notifier: Notifier,
    load: Arc<CoreLoad>,
    wake: Arc<Doorbell>,
    event_bell: Arc<EventFd>,
    epoll: Epoll,
    table: EndpointTable,
    pool: PortPool,
    batch: Box<Batch>,
    counters: LocalCounters,
    timers: Timers,
    epoch: Instant,
    /// Commands are still queued (budget spent or no room for replies).
    backlog: bool,
    /// xorshift state for the SSRCs endpoints send with.
    ssrc_state: u64,
    recorders: Recorders,
    playbacks: Playbacks,
    /// The recording writer task (absent outside an executor).
    writer: Option<WriterHandle>,
    prompts: Arc<Prompts>,
    /// Next 20 ms media tick, while recordings or playbacks run.
    next_tick: Option<Instant>,
    /// Endpoints bridged in transcoding mode and their frame schedule.
    xcode: XcodeSet,
    /// In-kernel forwarding, when it runs.
    kernel: Option<Kernel>,
    /// Endpoints whose received direction is due to be offered to the kernel.
    offers: Vec<u32>,
}

impl Core {
    pub(crate) fn new(setup: CoreSetup) -> std::io::Result<Self> {
        let epoll = Epoll::new(EPOLL_EVENTS)?;
        epoll.add(setup.wake.raw(), WAKE_TOKEN)?;
        let now = Instant::now();
        let housekeeping = if setup.rtp_timeout.is_zero() {
            Duration::from_millis(100)
        } else {
            (setup.rtp_timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(100))
        };
        let pool = PortPool::with_idle_limit(setup.ports, setup.resting_pairs);
        let writer = match writer::spawn(setup.recording_dir.clone(), setup.index) {
            Ok(w) => Some(w),
            Err(error) => {
                tracing::warn!(core = setup.index, %error, "recording writer not started");
                None
            }
        };
        let xcode = XcodeSet::with_capacity(pool.capacity());
        Ok(Self {
            index: setup.index,
            cpu: setup.cpu,
            bind: setup.bind,
            address: setup.address,
            rtp_timeout: setup.rtp_timeout,
            wake_interval: setup.wake_interval,
            commands: setup.commands,
            notifier: Notifier::new(setup.events),
            load: setup.load,
            wake: setup.wake,
            event_bell: setup.event_bell,
            epoll,
            table: EndpointTable::with_capacity(pool.capacity()),
            pool,
            batch: Batch::new(),
            counters: LocalCounters::default(),
            timers: Timers::new(now, housekeeping, setup.stats_interval),
            epoch: now,
            backlog: false,
            ssrc_state: RandomState::new().hash_one(setup.index) | 1,
            recorders: Recorders::new(),
            playbacks: Playbacks::default(),
            writer,
            prompts: setup.prompts,
            next_tick: None,
            xcode,
            kernel: setup.kernel.map(|fwd| Kernel::new(fwd, now, setup.bind)),
            offers: Vec::with_capacity(BATCH),
        })
    }

    /// Runs until a `Shutdown` command or until the control side is gone.
    pub(crate) async fn run(mut self) {
        tracing::info!(
            core = self.index,
            cpu = self.cpu,
            ports = self.pool.capacity(),
            "media core started"
        );
        let mut woke = Instant::now();
        let mut previous = woke;
        loop {
            // One clock read per wake-up: commands and timers use the wake-up time.
            let now = woke;
            if self.run_commands(now) == Flow::Stop {
                break;
            }
            self.collect_closed();
            self.media_tick(now);
            // Quiet events go out at the latest with housekeeping.
            let mut flush = false;
            for timer in self.timers.expired(now) {
                match timer {
                    Timer::Housekeeping => {
                        self.housekeeping(now);
                        flush = true;
                    }
                    Timer::StatsReport => self.report_stats(),
                }
            }
            let mut taps = crate::transcode::Taps {
                recorders: &mut self.recorders,
                playbacks: &mut self.playbacks,
            };
            self.xcode.run(
                &mut self.table,
                &mut self.counters,
                &mut taps,
                now,
                self.epoch,
            );
            if self.commands.is_abandoned() && self.commands.is_empty() {
                tracing::info!(core = self.index, "control side gone, media core stopping");
                break;
            }
            let done = Instant::now();
            let timeout = self.sleep_ms(done);
            self.counters.busy_ns += done.duration_since(woke).as_nanos() as u64;
            self.publish(flush);
            let timeout = self.coalesce(previous, woke, done, timeout);
            let ready = self.epoll.wait(timeout);
            previous = woke;
            woke = Instant::now();
            self.counters.wakeups += 1;
            for i in 0..ready {
                match self.epoll.token(i) {
                    Some(WAKE_TOKEN) => self.wake.drain(),
                    Some(token) => self.drain_socket(token, woke),
                    None => {}
                }
            }
            if self.writer_busy() {
                // Let the recording writer (throughput task queue) run.
                glommio::executor().yield_task_queue_now().await;
            }
        }
        self.close_all();
        // Let the writer close the recordings that just ended (their sizes get patched).
        while self.writer_busy() {
            glommio::executor().yield_task_queue_now().await;
        }
        self.collect_closed();
        self.counters.cpu_ns = sys::thread_cpu_time().as_nanos() as u64;
        self.publish(true);
        tracing::info!(core = self.index, "media core stopped");
    }

    fn sleep_ms(&self, now: Instant) -> i32 {
        if self.backlog {
            // Budget spent: go on at once. No room for replies: give the pump a moment.
            return if self.notifier.has_room() { 0 } else { 1 };
        }
        if self.writer_busy() {
            return 0;
        }
        let media = match (self.media_deadline(), self.xcode.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let next = match (self.timers.next_timeout(), media) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            None => MAX_SLEEP_MS,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(now);
                // Round up so the timer is due when we wake.
                let ms = left.as_micros().div_ceil(1000);
                ms.min(MAX_SLEEP_MS as u128) as i32
            }
        }
    }

    /// With a wake-up interval set, a busy core that woke less than an interval ago sleeps
    /// out the rest before it waits (packets and commands queue meanwhile and are taken in
    /// one pass). Returns the wait's timeout, shortened by the time slept.
    fn coalesce(&self, previous: Instant, woke: Instant, now: Instant, timeout_ms: i32) -> i32 {
        let (sleep, timeout_ms) =
            coalesce_plan(self.wake_interval, previous, woke, now, timeout_ms);
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
        }
        timeout_ms
    }

    /// Publishes the counters and rings the event pump's bell when it is due; `flush`
    /// rings it for quiet events too.
    fn publish(&mut self, flush: bool) {
        self.counters.events_dropped = self.notifier.dropped;
        self.counters.endpoints = self.table.len() as u64;
        self.counters.publish(&self.load);
        if self.notifier.take_ring(flush) {
            self.event_bell.signal();
        }
    }

    /// Reads and drops what reached a pair resting between calls (late RTP of its last
    /// call): it never reaches the pair's next call.
    fn drain_resting(&mut self, index: usize, rtcp: bool) {
        let Some(fd) = self.pool.resting_fd(index, rtcp) else {
            return;
        };
        for _ in 0..SOCKET_ROUNDS {
            match self.batch.recv(fd) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.counters.drop_many(DropReason::NoRoute, n as u64),
            }
        }
    }

    /// Reads and relays everything waiting on one socket (bounded rounds).
    fn drain_socket(&mut self, token: u64, now: Instant) {
        let (index, rtcp) = untoken(token);
        let Some(handle) = self.pool.owner(index) else {
            self.drain_resting(index, rtcp);
            return;
        };
        let now_ns = now.duration_since(self.epoch).as_nanos() as u64;
        for _ in 0..SOCKET_ROUNDS {
            let Some(ep) = self.table.get(handle) else {
                return;
            };
            let fd = if rtcp { ep.rtcp_fd } else { ep.rtp_fd };
            let n = match self.batch.recv(fd) {
                Ok(n) => n,
                Err(error) => {
                    tracing::debug!(core = self.index, %error, "receive failed");
                    return;
                }
            };
            if n == 0 {
                return;
            }
            let mut path = PacketPath {
                table: &mut self.table,
                counters: &mut self.counters,
                notifier: &mut self.notifier,
                recorders: &mut self.recorders,
                kernel: self.kernel.as_ref(),
                offers: &mut self.offers,
                now,
                now_ns,
            };
            for i in 0..n {
                path.relay(&mut self.batch, i, handle, rtcp);
            }
            let flushed = self.batch.flush();
            self.counters.packets_out += flushed.sent as u64;
            self.counters.bytes_out += flushed.bytes as u64;
            self.counters
                .drop_many(DropReason::SendFailed, flushed.failed as u64);
            if let Some(kernel) = &self.kernel {
                for slot in self.offers.drain(..) {
                    kernel.offer(&mut self.table, slot, &mut self.counters);
                }
            }
            if n < BATCH {
                return;
            }
        }
    }

    fn run_commands(&mut self, now: Instant) -> Flow {
        self.wake.answer();
        self.backlog = false;
        for _ in 0..COMMAND_BUDGET {
            if !self.notifier.has_room() {
                self.backlog = !self.commands.is_empty();
                return Flow::Continue;
            }
            match self.commands.pop() {
                None => return Flow::Continue,
                Some(Err(error)) => {
                    self.counters.bad_commands += 1;
                    tracing::warn!(core = self.index, %error, "undecodable command frame");
                }
                Some(Ok(command)) => {
                    if self.apply(command, now) == Flow::Stop {
                        return Flow::Stop;
                    }
                }
            }
        }
        self.backlog = !self.commands.is_empty();
        Flow::Continue
    }

    fn reply(&mut self, req: RequestId, result: Result<(), ErrorCode>) {
        let event = match result {
            Ok(()) => Event::Done { req },
            Err(code) => Event::Failed { req, code },
        };
        self.notifier.send(&event);
    }

    fn apply(&mut self, command: Command, now: Instant) -> Flow {
        tracing::debug!(core = self.index, ?command, "media command");
        if let Some(kernel) = &self.kernel {
            // Whatever the command changes, the core relays it from here on.
            for handle in crate::kernel::touched(&command).into_iter().flatten() {
                if self.table.contains(handle) {
                    kernel.take_back_pair(&mut self.table, handle.slot, &mut self.counters);
                }
            }
        }
        if let Some(result) = self.apply_media_op(command, now) {
            self.reply(command.request_id(), result);
            return Flow::Continue;
        }
        match command {
            Command::CreateEndpoint { req } => {
                let event = match self.create_endpoint(now) {
                    Ok((endpoint, local)) => Event::Created {
                        req,
                        endpoint,
                        local,
                    },
                    Err(code) => Event::Failed { req, code },
                };
                self.notifier.send(&event);
            }
            Command::CreatePair { req } => {
                let event = match self.create_pair(now) {
                    Ok(((a, a_local), (b, b_local))) => Event::PairCreated {
                        req,
                        a,
                        b,
                        a_local,
                        b_local,
                    },
                    Err(code) => Event::Failed { req, code },
                };
                self.notifier.send(&event);
            }
            Command::SetRemote {
                req,
                endpoint,
                remote,
            } => {
                let result = self.set_remote(endpoint, remote, now);
                self.reply(req, result);
            }
            Command::Bridge { req, a, b } => {
                let result = self.bridge(a, b);
                self.reply(req, result);
            }
            Command::Unbridge { req, endpoint } => {
                let result = self.unbridge(endpoint);
                self.reply(req, result);
            }
            Command::SetDirection {
                req,
                endpoint,
                direction,
            } => {
                let result = match self.table.get_mut(endpoint) {
                    Some(ep) => {
                        ep.direction = direction;
                        Ok(())
                    }
                    None => Err(ErrorCode::UnknownEndpoint),
                };
                self.reply(req, result);
            }
            Command::Destroy { req, endpoint } => {
                let result = self.destroy(endpoint, now);
                self.reply(req, result);
            }
            Command::Release { req, endpoint } => {
                // The kernel gave its directions back first: the table has every count.
                let released = self
                    .stats_of(endpoint)
                    .ok_or(ErrorCode::UnknownEndpoint)
                    .and_then(|stats| self.destroy(endpoint, now).map(|()| stats));
                let event = match released {
                    Ok(stats) => Event::Stats {
                        req,
                        endpoint,
                        stats,
                    },
                    Err(code) => Event::Failed { req, code },
                };
                // Nothing waits on a call's final statistics but its record.
                self.notifier.send_quietly(&event);
            }
            Command::QueryStats { req, endpoint } => {
                let event = match self.stats_of(endpoint) {
                    Some(stats) => Event::Stats {
                        req,
                        endpoint,
                        stats,
                    },
                    None => Event::Failed {
                        req,
                        code: ErrorCode::UnknownEndpoint,
                    },
                };
                self.notifier.send(&event);
            }
            Command::Shutdown { req } => {
                self.reply(req, Ok(()));
                return Flow::Stop;
            }
            Command::SetDtmf {
                req,
                endpoint,
                spec,
            } => {
                let result = crate::dtmf::configure(&mut self.table, endpoint, spec);
                self.reply(req, result);
            }
            Command::Transcode {
                req,
                a,
                b,
                a_format,
                b_format,
            } => {
                let result = self.transcode(a, b, &a_format, &b_format, now);
                self.reply(req, result);
            }
            // Recording and playback, handled above.
            _ => {}
        }
        Flow::Continue
    }

    fn create_endpoint(&mut self, now: Instant) -> Result<NewEndpoint, ErrorCode> {
        let lease = self.pool.allocate(self.bind, now)?;
        let (index, port) = (lease.index, lease.port);
        if lease.fresh {
            // A pair that rested is in the epoll set already, under the same tokens.
            let registered = self
                .epoll
                .add(lease.rtp.as_raw_fd(), token(index, false))
                .and_then(|()| self.epoll.add(lease.rtcp.as_raw_fd(), token(index, true)));
            if registered.is_err() {
                // Closing the sockets (dropping the lease) takes them out of the set.
                self.pool.discard(index);
                return Err(ErrorCode::SocketError);
            }
        }
        let endpoint = Endpoint::new(lease.rtp, lease.rtcp, index, port, now, self.next_ssrc());
        let Some(handle) = self.table.insert(endpoint) else {
            self.pool.discard(index);
            return Err(ErrorCode::TableFull);
        };
        self.pool.assign(index, handle);
        Ok((handle, SocketAddr::new(self.address, port)))
    }

    /// Two new endpoints, bridged; on failure neither is left behind.
    fn create_pair(&mut self, now: Instant) -> Result<(NewEndpoint, NewEndpoint), ErrorCode> {
        let a = self.create_endpoint(now)?;
        let b = match self.create_endpoint(now) {
            Ok(b) => b,
            Err(code) => {
                let _ = self.destroy(a.0, now);
                return Err(code);
            }
        };
        if let Err(code) = self.bridge(a.0, b.0) {
            let _ = self.destroy(a.0, now);
            let _ = self.destroy(b.0, now);
            return Err(code);
        }
        Ok((a, b))
    }

    /// A fresh random SSRC for an endpoint's outgoing stream.
    fn next_ssrc(&mut self) -> u32 {
        let mut x = self.ssrc_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.ssrc_state = x;
        ((x >> 32) as u32).max(1)
    }

    fn set_remote(
        &mut self,
        endpoint: EndpointHandle,
        mut remote: RemoteSpec,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        if !sys::usable_destination(remote.rtp.ip()) || remote.rtp.port() == 0 {
            return Err(ErrorCode::InvalidRemote);
        }
        // Sockets bound to IPv6 reach IPv4 peers through mapped addresses; IPv4 sockets
        // cannot reach IPv6 peers at all.
        match (self.bind, remote.rtp) {
            (IpAddr::V4(_), SocketAddr::V6(a)) => match a.ip().to_ipv4_mapped() {
                Some(v4) => remote.rtp = SocketAddr::new(IpAddr::V4(v4), a.port()),
                None => return Err(ErrorCode::InvalidRemote),
            },
            (IpAddr::V6(_), SocketAddr::V4(a)) => {
                remote.rtp = SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port());
            }
            _ => {}
        }
        let ep = self
            .table
            .get_mut(endpoint)
            .ok_or(ErrorCode::UnknownEndpoint)?;
        ep.set_remote(remote, now);
        Ok(())
    }

    fn bridge(&mut self, a: EndpointHandle, b: EndpointHandle) -> Result<(), ErrorCode> {
        if a == b {
            return Err(ErrorCode::SameEndpoint);
        }
        if !self.table.contains(a) || !self.table.contains(b) {
            return Err(ErrorCode::UnknownEndpoint);
        }
        // Leave any previous bridge first.
        let _ = self.unbridge(a);
        let _ = self.unbridge(b);
        let (ea, eb) = self
            .table
            .pair_mut(a.slot, b.slot)
            .ok_or(ErrorCode::UnknownEndpoint)?;
        ea.peer = Some(b.slot);
        eb.peer = Some(a.slot);
        Ok(())
    }

    fn unbridge(&mut self, endpoint: EndpointHandle) -> Result<(), ErrorCode> {
        let ep = self
            .table
            .get_mut(endpoint)
            .ok_or(ErrorCode::UnknownEndpoint)?;
        let peer = ep.peer.take().ok_or(ErrorCode::NotBridged)?;
        let mine = ep.xcode.take();
        let theirs = self.table.slot_mut(peer).and_then(|other| {
            other.peer = None;
            other.xcode.take()
        });
        if mine.is_some() || theirs.is_some() {
            self.xcode.remove(endpoint.slot);
            self.xcode.remove(peer);
            let c = |x: &Option<Box<Xcode>>| x.as_ref().map(|x| x.counters).unwrap_or_default();
            let (m, t) = (c(&mine), c(&theirs));
            tracing::debug!(
                core = self.index,
                frames_sent = m.sent + t.sent,
                packets_in = m.ingested + t.ingested,
                concealed = m.concealed + t.concealed,
                events = m.events + t.events,
                ignored = m.ignored + t.ignored,
                errors = m.errors + t.errors,
                rtt_us_a = mine.as_ref().and_then(|x| x.rtcp.figures.rtt_us),
                rtt_us_b = theirs.as_ref().and_then(|x| x.rtcp.figures.rtt_us),
                "transcoding bridge stopped"
            );
        }
        Ok(())
    }

    /// Bridges `a` and `b` in transcoding mode: codec state for both directions is built
    /// here, once.
    fn transcode(
        &mut self,
        a: EndpointHandle,
        b: EndpointHandle,
        a_format: &warden_shared::LegFormat,
        b_format: &warden_shared::LegFormat,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        let (sa, sb) = (self.next_ssrc(), self.next_ssrc());
        let (seq, ts) = (self.next_ssrc(), self.next_ssrc());
        // What a's party sends goes out to b's party, and the other way round.
        let a_to_b = Xcode::new(a_format, b_format, sb, seq as u16, ts)?;
        let b_to_a = Xcode::new(
            b_format,
            a_format,
            sa,
            (seq >> 16) as u16,
            ts.rotate_left(16),
        )?;
        self.bridge(a, b)?;
        let (ea, eb) = self
            .table
            .pair_mut(a.slot, b.slot)
            .ok_or(ErrorCode::UnknownEndpoint)?;
        ea.xcode = Some(Box::new(a_to_b));
        eb.xcode = Some(Box::new(b_to_a));
        self.xcode.add(a.slot, now);
        self.xcode.add(b.slot, now);
        tracing::debug!(
            core = self.index,
            ?a_format,
            ?b_format,
            "transcoding bridge started"
        );
        Ok(())
    }

    fn destroy(&mut self, endpoint: EndpointHandle, now: Instant) -> Result<(), ErrorCode> {
        if !self.table.contains(endpoint) {
            return Err(ErrorCode::UnknownEndpoint);
        }
        if let Some(kernel) = &self.kernel {
            kernel.take_back_pair(&mut self.table, endpoint.slot, &mut self.counters);
        }
        let _ = self.unbridge(endpoint);
        let _ = self.stop_recording(endpoint);
        self.end_playback(endpoint, true);
        let ep = self
            .table
            .remove(endpoint)
            .ok_or(ErrorCode::UnknownEndpoint)?;
        let index = ep.port_index;
        let (rtp, rtcp) = ep.into_sockets();
        self.pool.release(index, rtp, rtcp, now);
        Ok(())
    }

    fn close_all(&mut self) {
        let handles: Vec<EndpointHandle> = self.table.iter_mut().map(|(h, _)| h).collect();
        let now = Instant::now();
        for handle in handles {
            let _ = self.destroy(handle, now);
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        self.counters.cpu_ns = sys::thread_cpu_time().as_nanos() as u64;
        let now_ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        crate::dtmf::poll_all(
            &mut self.table,
            now_ms,
            &mut self.notifier,
            &mut self.counters,
        );
        if self.rtp_timeout.is_zero() {
            return;
        }
        for (handle, ep) in self.table.iter_mut() {
            if ep.remote.is_none() || ep.timeout_reported || !ep.direction.receives() {
                continue;
            }
            let mut idle = now.saturating_duration_since(ep.last_rx);
            if idle >= self.rtp_timeout {
                // The kernel may have heard the sender since.
                if let Some(heard) = self.kernel.as_ref().and_then(|k| k.last_rx(ep)) {
                    ep.last_rx = ep.last_rx.max(heard);
                    idle = now.saturating_duration_since(ep.last_rx);
                }
            }
            if idle >= self.rtp_timeout {
                ep.timeout_reported = true;
                self.notifier.send(&Event::RtpTimeout {
                    endpoint: handle,
                    idle_ms: idle.as_millis().min(u128::from(u32::MAX)) as u32,
                });
            }
        }
    }

    fn report_stats(&mut self) {
        let handles: Vec<EndpointHandle> = self
            .table
            .iter_mut()
            .filter(|(_, ep)| ep.remote.is_some())
            .map(|(h, _)| h)
            .collect();
        for handle in handles {
            if let Some(stats) = self.stats_of(handle) {
                self.notifier.send_quietly(&Event::Stats {
                    req: RequestId::UNSOLICITED,
                    endpoint: handle,
                    stats,
                });
            }
        }
    }

    /// An endpoint's statistics, with what the kernel forwarded for it so far.
    fn stats_of(&self, handle: EndpointHandle) -> Option<warden_shared::StreamStats> {
        match &self.kernel {
            Some(kernel) => kernel.stats(&self.table, handle),
            None => self.table.get(handle).map(|ep| ep.stats()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_that_just_woke_sleeps_out_its_interval_and_waits_less() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        // Woke 300 µs ago, 200 µs after the wake-up before, with a 1 ms interval: sleep
        // 700 µs, then wait what is left of 5 ms.
        assert_eq!(
            coalesce_plan(ms(1), t0, t0 + us(200), t0 + us(500), 5),
            (us(700), 5)
        );
        assert_eq!(
            coalesce_plan(ms(1), t0, t0 + us(200), t0 + us(500), 1000),
            (us(700), 1000)
        );
        // A timer due in 2 ms with a 5 ms interval: sleep only until the timer, no wait.
        assert_eq!(coalesce_plan(ms(5), t0, t0, t0, 2), (ms(2), 0));
        assert_eq!(coalesce_plan(ms(5), t0, t0, t0 + ms(1), 10), (ms(4), 6));
    }

    #[test]
    fn no_sleep_when_off_past_or_not_waiting() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Interval off.
        assert_eq!(
            coalesce_plan(Duration::ZERO, t0, t0, t0, 5),
            (Duration::ZERO, 5)
        );
        // The interval has passed since the last wake-up.
        assert_eq!(
            coalesce_plan(ms(1), t0, t0, t0 + ms(3), 5),
            (Duration::ZERO, 5)
        );
        // Not busy: woken an interval or more after the wake-up before.
        assert_eq!(
            coalesce_plan(ms(1), t0, t0 + ms(1), t0 + ms(1), 5),
            (Duration::ZERO, 5)
        );
        assert_eq!(
            coalesce_plan(ms(1), t0, t0 + ms(20), t0 + ms(20), 5),
            (Duration::ZERO, 5)
        );
        // The core must go on at once (backlog, writer busy).
        assert_eq!(coalesce_plan(ms(1), t0, t0, t0, 0), (Duration::ZERO, 0));
        // A clock that looks backwards counts as "just woke", never as a panic.
        assert_eq!(coalesce_plan(ms(1), t0 + ms(1), t0 + ms(1), t0, 5).0, ms(1));
    }
}
