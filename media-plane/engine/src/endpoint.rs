//! Endpoints (one RTP/RTCP port pair each), the generation-checked table that holds them,
//! and the core's pool of port pairs.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use warden_rtp_proto::stats::quality::estimate;
use warden_rtp_proto::{
    Codec, Latch, LatchConfig, PayloadTypeMap, RecvStats, RewriterConfig, SsrcMode, StreamRewriter,
};
use warden_shared::{Direction, EndpointHandle, PtMap, RemoteSpec, StreamStats};

use crate::record::Tap;

/// Default RTP clock rate when the remote did not give one.
const DEFAULT_CLOCK_RATE: u32 = 8000;

fn clock_of(remote: Option<RemoteSpec>) -> u32 {
    match remote.map_or(0, |r| r.clock_rate) {
        0 => DEFAULT_CLOCK_RATE,
        c => c,
    }
}

fn new_stats(clock_rate: u32) -> RecvStats {
    // A relay has no reason to hold back the first packet: validate sources at once.
    RecvStats::with_probation(clock_rate, 1)
}

/// The rewriter's payload-type table: identity, with the negotiated overrides.
fn payload_types(map: &PtMap) -> PayloadTypeMap {
    let mut table = PayloadTypeMap::identity();
    for &(from, to) in map.entries() {
        // `PtMap` only holds 7-bit values, which `set` accepts.
        let _ = table.set(from, to);
    }
    table
}

/// One media endpoint: its sockets, remote, latches, bridge peer, statistics, and the
/// rewriter for what it sends.
pub(crate) struct Endpoint {
    pub(crate) rtp_fd: RawFd,
    pub(crate) rtcp_fd: RawFd,
    pub(crate) port_index: usize,
    pub(crate) remote: Option<RemoteSpec>,
    /// Symmetric-RTP latch of the RTP port (also covers RTCP with rtcp-mux).
    pub(crate) rtp_latch: Latch<SocketAddr>,
    /// Latch of the separate RTCP port.
    pub(crate) rtcp_latch: Latch<SocketAddr>,
    pub(crate) direction: Direction,
    pub(crate) peer: Option<u32>,
    pub(crate) recv: RecvStats,
    pub(crate) ssrc: Option<u32>,
    /// Rewrites RTP sent to this endpoint's remote: payload types, one stable SSRC with
    /// continuous sequence numbers and timestamps across source changes.
    pub(crate) out: StreamRewriter,
    /// Totals of earlier SSRCs (statistics restart on an SSRC change).
    prior_packets: u64,
    prior_bytes: u64,
    prior_lost: i64,
    pub(crate) packets_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) rtcp_received: u32,
    pub(crate) rtcp_sent: u32,
    pub(crate) dropped_malformed: u32,
    pub(crate) dropped_stranger: u32,
    pub(crate) last_rx: Instant,
    pub(crate) timeout_reported: bool,
    /// DTMF detection on what this endpoint receives, when the control plane asked for it.
    pub(crate) dtmf: Option<Box<crate::dtmf::DtmfTap>>,
    /// The recording this endpoint's received audio feeds.
    pub(crate) tap: Option<Tap>,
    /// Last static, non-comfort-noise payload type received (the leg's voice codec).
    pub(crate) voice_pt: Option<u8>,
    /// A prompt or tone is playing to the remote (the peer's audio is not relayed).
    pub(crate) playing: bool,
    pub(crate) replaced_while_playing: u64,
    /// Transcoding state when bridged in transcoding mode (decodes what this party sends).
    pub(crate) xcode: Option<Box<crate::transcode::Xcode>>,
    /// The RTP port (what the kernel's forwarder keys this endpoint's flow on).
    pub(crate) rtp_port: u16,
    /// What this endpoint receives is forwarded in the kernel (see `core/kernel.rs`).
    pub(crate) in_kernel: Option<crate::kernel::InKernel>,
    /// RTP packets still to relay here before the direction is offered to the kernel.
    pub(crate) kernel_countdown: u16,
    // The sockets are declared last: they close when the endpoint is dropped (unless the
    // port pool takes them back, `into_sockets`).
    rtp_socket: socket2::Socket,
    rtcp_socket: socket2::Socket,
}

impl Endpoint {
    /// `out_ssrc` is the SSRC this endpoint's remote will see on everything relayed to it.
    pub(crate) fn new(
        rtp: socket2::Socket,
        rtcp: socket2::Socket,
        port_index: usize,
        rtp_port: u16,
        now: Instant,
        out_ssrc: u32,
    ) -> Self {
        Self {
            rtp_fd: rtp.as_raw_fd(),
            rtcp_fd: rtcp.as_raw_fd(),
            port_index,
            remote: None,
            rtp_latch: Latch::new(None, LatchConfig::default()),
            rtcp_latch: Latch::new(None, LatchConfig::default()),
            direction: Direction::SendRecv,
            peer: None,
            recv: new_stats(DEFAULT_CLOCK_RATE),
            ssrc: None,
            out: StreamRewriter::new(RewriterConfig::new(
                SsrcMode::Fixed(out_ssrc),
                DEFAULT_CLOCK_RATE,
            )),
            prior_packets: 0,
            prior_bytes: 0,
            prior_lost: 0,
            packets_sent: 0,
            bytes_sent: 0,
            rtcp_received: 0,
            rtcp_sent: 0,
            dropped_malformed: 0,
            dropped_stranger: 0,
            last_rx: now,
            timeout_reported: false,
            dtmf: None,
            tap: None,
            voice_pt: None,
            playing: false,
            replaced_while_playing: 0,
            xcode: None,
            rtp_port,
            in_kernel: None,
            kernel_countdown: crate::kernel::WARM_UP,
            rtp_socket: rtp,
            rtcp_socket: rtcp,
        }
    }

    /// The endpoint's RTP and RTCP sockets, for the port pool to keep.
    pub(crate) fn into_sockets(self) -> (socket2::Socket, socket2::Socket) {
        (self.rtp_socket, self.rtcp_socket)
    }

    /// Applies a (re)negotiated remote. A moved address reopens the latches (the latch
    /// ignores a repeated address, so re-INVITEs cannot be used to hijack).
    pub(crate) fn set_remote(&mut self, remote: RemoteSpec, now: Instant) {
        self.rtp_latch.set_expected(remote.rtp);
        self.rtcp_latch.set_expected(remote.rtcp_addr());
        let clock = clock_of(Some(remote));
        if clock != clock_of(self.remote) {
            self.restart_stats(clock);
        }
        if clock != self.out.config().clock_rate {
            let mut config = *self.out.config();
            config.clock_rate = clock;
            self.out = StreamRewriter::new(config);
        }
        self.out.set_payload_types(payload_types(&remote.pt_map));
        self.remote = Some(remote);
        self.last_rx = now;
        self.timeout_reported = false;
    }

    /// Starts a new statistics stream (new SSRC or clock rate), keeping the totals.
    pub(crate) fn restart_stats(&mut self, clock_rate: u32) {
        let snap = self.recv.snapshot();
        self.prior_packets += snap.packets;
        self.prior_bytes += snap.bytes;
        self.prior_lost += snap.lost;
        self.recv = new_stats(clock_rate);
    }

    /// RTP clock rate of the received stream.
    pub(crate) fn clock_rate(&self) -> u32 {
        clock_of(self.remote)
    }

    /// Where RTP for this endpoint's remote goes: the latched source, else the SDP address.
    #[inline]
    pub(crate) fn rtp_destination(&self) -> Option<SocketAddr> {
        self.rtp_latch.destination()
    }

    /// Socket and destination for RTCP to this endpoint's remote.
    #[inline]
    pub(crate) fn rtcp_route(&self) -> Option<(RawFd, SocketAddr)> {
        let remote = self.remote?;
        if remote.rtcp_mux {
            Some((self.rtp_fd, self.rtp_latch.destination()?))
        } else {
            Some((self.rtcp_fd, self.rtcp_latch.destination()?))
        }
    }

    pub(crate) fn stats(&self) -> StreamStats {
        self.stats_with(&self.recv, 0, 0)
    }

    /// [`Endpoint::stats`] with `recv` standing for the receive statistics, and
    /// `extra_sent` packets (`extra_bytes` of payload) sent besides those counted here.
    pub(crate) fn stats_with(
        &self,
        recv: &RecvStats,
        extra_sent: u64,
        extra_bytes: u64,
    ) -> StreamStats {
        let snap = recv.snapshot();
        let packets = self.prior_packets + snap.packets;
        let lost = self.prior_lost + snap.lost;
        let (r, mos) = if packets == 0 {
            (0.0, 0.0)
        } else {
            let expected = (packets as i64 + lost.max(0)).max(1) as f64;
            // A relay cannot see mouth-to-ear delay; the receiver's jitter buffer
            // (about twice the jitter) stands in for the delay term. A transcoding bridge
            // hears the party's RTCP: half the round trip it measured adds to it.
            let network_ms = self
                .xcode
                .as_ref()
                .and_then(|x| x.rtcp.figures.rtt_us)
                .map_or(0.0, |us| f64::from(us) / 2000.0);
            let q = estimate(
                Codec::G711,
                lost.max(0) as f64 / expected,
                Some(2.0 * snap.jitter_ms + network_ms),
            );
            (q.r_factor, q.mos)
        };
        StreamStats {
            packets_received: packets,
            bytes_received: self.prior_bytes + snap.bytes,
            packets_lost: lost,
            highest_seq: snap.highest_seq_ext,
            jitter_us: (snap.jitter_ms * 1000.0).clamp(0.0, u32::MAX as f64) as u32,
            ssrc: self.ssrc.unwrap_or(0),
            r_factor_x100: (r * 100.0).round() as u16,
            mos_x100: (mos * 100.0).round() as u16,
            packets_sent: self.packets_sent + extra_sent,
            bytes_sent: self.bytes_sent + extra_bytes,
            rtcp_received: self.rtcp_received,
            rtcp_sent: self.rtcp_sent,
            dropped_malformed: self.dropped_malformed,
            dropped_stranger: self.dropped_stranger,
        }
    }
}

struct Slot {
    generation: u32,
    endpoint: Option<Endpoint>,
}

/// Fixed-capacity endpoint table addressed by [`EndpointHandle`]s.
pub(crate) struct EndpointTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl EndpointTable {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(u32::MAX as usize);
        Self {
            slots: (0..capacity)
                .map(|_| Slot {
                    generation: 1,
                    endpoint: None,
                })
                .collect(),
            free: (0..capacity as u32).rev().collect(),
            live: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn insert(&mut self, endpoint: Endpoint) -> Option<EndpointHandle> {
        let slot = self.free.pop()?;
        let entry = self.slots.get_mut(slot as usize)?;
        entry.endpoint = Some(endpoint);
        self.live += 1;
        Some(EndpointHandle {
            slot,
            generation: entry.generation,
        })
    }

    pub(crate) fn remove(&mut self, handle: EndpointHandle) -> Option<Endpoint> {
        let entry = self.slots.get_mut(handle.slot as usize)?;
        if entry.generation != handle.generation {
            return None;
        }
        let endpoint = entry.endpoint.take()?;
        entry.generation = entry.generation.wrapping_add(1).max(1);
        self.free.push(handle.slot);
        self.live -= 1;
        Some(endpoint)
    }

    /// Whether the handle names a live endpoint.
    pub(crate) fn contains(&self, handle: EndpointHandle) -> bool {
        self.get(handle).is_some()
    }

    pub(crate) fn get(&self, handle: EndpointHandle) -> Option<&Endpoint> {
        let entry = self.slots.get(handle.slot as usize)?;
        if entry.generation != handle.generation {
            return None;
        }
        entry.endpoint.as_ref()
    }

    pub(crate) fn get_mut(&mut self, handle: EndpointHandle) -> Option<&mut Endpoint> {
        let entry = self.slots.get_mut(handle.slot as usize)?;
        if entry.generation != handle.generation {
            return None;
        }
        entry.endpoint.as_mut()
    }

    #[inline]
    pub(crate) fn get_slot(&self, slot: u32) -> Option<&Endpoint> {
        self.slots.get(slot as usize)?.endpoint.as_ref()
    }

    pub(crate) fn slot_mut(&mut self, slot: u32) -> Option<&mut Endpoint> {
        self.slots.get_mut(slot as usize)?.endpoint.as_mut()
    }

    /// Two distinct live endpoints at once.
    pub(crate) fn pair_mut(&mut self, a: u32, b: u32) -> Option<(&mut Endpoint, &mut Endpoint)> {
        let (a, b) = (a as usize, b as usize);
        if a == b || a >= self.slots.len() || b >= self.slots.len() {
            return None;
        }
        if a < b {
            let (lo, hi) = self.slots.split_at_mut(b);
            Some((lo[a].endpoint.as_mut()?, hi[0].endpoint.as_mut()?))
        } else {
            let (lo, hi) = self.slots.split_at_mut(a);
            Some((hi[0].endpoint.as_mut()?, lo[b].endpoint.as_mut()?))
        }
    }

    /// Every live endpoint with its handle.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (EndpointHandle, &mut Endpoint)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| {
            let generation = s.generation;
            s.endpoint.as_mut().map(|e| {
                (
                    EndpointHandle {
                        slot: i as u32,
                        generation,
                    },
                    e,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortPool;

    fn endpoint(pool: &mut PortPool) -> Endpoint {
        let lease = pool
            .allocate("127.0.0.1".parse().unwrap(), Instant::now())
            .unwrap();
        Endpoint::new(
            lease.rtp,
            lease.rtcp,
            lease.index,
            30000,
            Instant::now(),
            0x1234,
        )
    }

    fn free_pool(n: usize, offset: u16) -> PortPool {
        // The pool skips ports another process holds, so any range works.
        let base = 42000 + (std::process::id() % 500) as u16 * 16 + offset;
        PortPool::with_idle_limit((0..n as u16).map(|i| base + 2 * i).collect(), 0)
    }

    #[test]
    fn a_bridge_round_trip_lowers_the_leg_quality_estimate() {
        let mut pool = free_pool(2, 8);
        let mut ep = endpoint(&mut pool);
        for seq in 0..100u16 {
            let _ = ep
                .recv
                .on_packet(seq, u32::from(seq) * 160, u64::from(seq) * 20_000_000, 160);
        }
        let plain = ep.stats().r_factor_x100;
        let pcmu = warden_shared::LegFormat {
            codec: warden_shared::WireCodec::Pcmu,
            payload_type: 0,
            clock_rate: 8000,
            ptime_ms: 20,
            telephone_event: None,
        };
        let mut x = crate::transcode::Xcode::new(&pcmu, &pcmu, 1, 0, 0).unwrap();
        ep.xcode = Some(Box::new(x));
        assert_eq!(ep.stats().r_factor_x100, plain, "no RTCP yet: no change");
        x = *ep.xcode.take().unwrap();
        x.rtcp.figures.rtt_us = Some(800_000);
        ep.xcode = Some(Box::new(x));
        let far = ep.stats().r_factor_x100;
        assert!(far + 500 < plain, "400 ms one way: R {far} vs {plain}");
    }

    #[test]
    fn stale_handles_are_rejected() {
        let mut pool = free_pool(4, 0);
        let mut table = EndpointTable::with_capacity(2);
        let a = table.insert(endpoint(&mut pool)).unwrap();
        let b = table.insert(endpoint(&mut pool)).unwrap();
        assert!(table.insert(endpoint(&mut pool)).is_none(), "table is full");
        assert_eq!(table.len(), 2);
        let removed = table.remove(a).unwrap();
        pool.discard(removed.port_index);
        drop(removed);
        assert!(!table.contains(a));
        assert!(table.remove(a).is_none());
        let c = table.insert(endpoint(&mut pool)).unwrap();
        assert_eq!(c.slot, a.slot);
        assert_ne!(c.generation, a.generation);
        assert!(table.get(a).is_none());
        assert!(table.get(c).is_some());
        assert!(table.pair_mut(b.slot, c.slot).is_some());
        assert!(table.pair_mut(b.slot, b.slot).is_none());
        assert_eq!(table.iter_mut().count(), 2);
    }
}
