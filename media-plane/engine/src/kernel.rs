//! The media core's side of in-kernel forwarding (`warden-kfwd`).
//!
//! A core relays the first [`WARM_UP`] RTP packets of every direction itself: that latches
//! the sender, fixes the SSRC and its rewrite, and validates the statistics. It then
//! offers the direction to the kernel when it is plain: bridged, not transcoded, recorded,
//! listened to for in-band DTMF or overridden by a prompt, and sendrecv on both sides. From
//! then on the kernel rewrites and forwards that direction's RTP, and counts it. Telephone
//! events (RFC 4733) still reach the core, which detects and relays them beside the kernel.
//!
//! The core takes a direction back before anything changes it: a command naming either
//! endpoint, a packet of the direction that reached the core anyway (RTCP excepted: a new
//! SSRC, reordering), a new latch on either side, or the endpoint's end. Taking back
//! reads the kernel's counters and folds them into the endpoint's statistics and the
//! peer's rewriter, so what the control plane sees is the same either way.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::cell::RefCell;

use warden_kfwd::{Egress, FlowKey, FlowState, Forwarder, Routes, Rule, Seed, NO_PT};
use warden_rtp_proto::Continuation;
use warden_shared::{Command, Direction, EndpointHandle, StreamStats};

use crate::config::{EngineConfig, KernelForwarding};
use crate::endpoint::{Endpoint, EndpointTable};
use crate::error::MediaError;
use crate::load::LocalCounters;

/// RTP packets a direction is relayed by the core before it is offered to the kernel
/// (and again after the core took it back): RFC 3550's probation (`MIN_SEQUENTIAL`, A.1).
/// The first latches the sender and fixes the SSRC rewrite; the kernel then checks every
/// later packet's sequence against the highest the core saw.
pub(crate) const WARM_UP: u16 = 2;
/// Payload types never taken by the kernel: with rtcp-mux, RTCP's packet types read as
/// these (RFC 5761 §4).
const RTCP_RANGE: std::ops::RangeInclusive<usize> = 64..=95;

/// A direction the kernel forwards: what the endpoint receives goes to its peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InKernel {
    key: FlowKey,
    /// The latched sender, as the core knows it.
    source: SocketAddr,
    /// Where the kernel sends the direction's packets (the peer's remote).
    destination: SocketAddrV4,
    peer: u32,
    /// Extended highest sequence number when handed over.
    seed_ext: u64,
    /// Packets and payload bytes of the kernel's count already folded into the endpoint.
    absorbed: (u64, u64),
    /// Telephone-event payload type: those packets go to the core, which detects the
    /// digits and relays them beside the kernel.
    event_pt: Option<u8>,
}

/// What the kernel counted for a direction and the core has not folded in yet.
struct News {
    packets: u64,
    bytes: u64,
    /// Where the statistics stand after those packets (core clock).
    end: Continuation,
}

impl InKernel {
    /// The part of `state` not folded in yet; `mono_epoch_ns` maps the kernel's clock to the
    /// core's.
    fn news(&self, state: &FlowState, mono_epoch_ns: u64) -> News {
        News {
            packets: state.packets.saturating_sub(self.absorbed.0),
            bytes: state.payload_bytes.saturating_sub(self.absorbed.1),
            end: Continuation {
                highest_seq_ext: self.seed_ext
                    + u64::from(state.highest_seq_ext.wrapping_sub(self.seed_ext as u32)),
                last_arrival_ns: state.last_arrival_ns.saturating_sub(mono_epoch_ns),
                last_ts: state.last_ts,
                jitter: f64::from(state.jitter_x16) / 16.0,
            },
        }
    }
}

/// A core's handle on the process's forwarder.
pub(crate) struct Kernel {
    fwd: Arc<Forwarder>,
    /// The core's epoch, and `CLOCK_MONOTONIC` (the kernel's clock) at that instant.
    epoch: Instant,
    mono_epoch_ns: u64,
    /// The address relayed packets are sent from, when the core binds one.
    source_ip: Option<Ipv4Addr>,
    /// How destinations are reached (interface per destination, remembered).
    routes: RefCell<Routes>,
}

fn v4(addr: SocketAddr) -> Option<SocketAddrV4> {
    match addr {
        SocketAddr::V4(a) => Some(a),
        SocketAddr::V6(a) => a
            .ip()
            .to_ipv4_mapped()
            .map(|ip| SocketAddrV4::new(ip, a.port())),
    }
}

impl Kernel {
    pub(crate) fn new(fwd: Arc<Forwarder>, epoch: Instant, bind: IpAddr) -> Self {
        let mono_epoch_ns = warden_kfwd::monotonic_ns()
            .saturating_sub(epoch.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64);
        let source_ip = match bind {
            IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        };
        Self {
            fwd,
            epoch,
            mono_epoch_ns,
            source_ip,
            routes: RefCell::new(Routes::new()),
        }
    }

    /// Hands the direction endpoint `slot` receives to the kernel, when it is plain.
    /// Returns whether it did.
    pub(crate) fn offer(
        &self,
        table: &mut EndpointTable,
        slot: u32,
        counters: &mut LocalCounters,
    ) -> bool {
        let Some(peer) = table.slot_mut(slot).and_then(|a| a.peer) else {
            return false;
        };
        let Some((a, b)) = table.pair_mut(slot, peer) else {
            return false;
        };
        let Some((rule, handed)) = self.rule(a, b, peer, slot) else {
            a.kernel_countdown = WARM_UP;
            return false;
        };
        match self.fwd.insert(handed.key, &rule) {
            Ok(()) => {
                a.in_kernel = Some(handed);
                counters.kernel_handoffs += 1;
                true
            }
            Err(error) => {
                counters.kernel_errors += 1;
                // Not again for a long while (the map is likely full).
                a.kernel_countdown = u16::MAX;
                tracing::debug!(%error, "direction not handed to the kernel");
                false
            }
        }
    }

    /// The rule for a→b and what the core keeps of it, when the direction is plain.
    fn rule(
        &self,
        a: &Endpoint,
        b: &Endpoint,
        b_slot: u32,
        a_slot: u32,
    ) -> Option<(Rule, InKernel)> {
        let plain = a.in_kernel.is_none()
            && b.peer == Some(a_slot)
            && a.peer == Some(b_slot)
            && a.remote.is_some()
            && a.direction == Direction::SendRecv
            && b.direction == Direction::SendRecv
            && a.dtmf.as_deref().is_none_or(|t| !t.listens_to_audio())
            && a.tap.is_none()
            && a.xcode.is_none()
            && b.xcode.is_none()
            && !b.playing;
        if !plain {
            return None;
        }
        let source = a.rtp_latch.latched_source()?;
        let destination = v4(b.rtp_destination()?)?;
        let egress = match self.routes.borrow_mut().egress(*destination.ip())? {
            Egress::Local => None,
            Egress::Interface(index) => Some(index),
        };
        let steady = b.out.steady()?;
        if Some(steady.in_ssrc) != a.ssrc {
            return None;
        }
        let cont = a.recv.continuation()?;
        let event_pt = a.dtmf.as_deref().and_then(|t| t.event_pt());
        let mut payload_types = [NO_PT; 128];
        let map = &b.out.config().payload_types;
        for (pt, out) in payload_types.iter_mut().enumerate() {
            if RTCP_RANGE.contains(&pt) || event_pt == Some(pt as u8) {
                continue;
            }
            if let Some(mapped) = map.get(pt as u8) {
                *out = mapped;
            }
        }
        let key = FlowKey {
            source: v4(source)?,
            local_port: a.rtp_port,
        };
        let rule = Rule {
            in_ssrc: steady.in_ssrc,
            out_ssrc: steady.out_ssrc,
            seq_offset: steady.seq_offset,
            ts_offset: steady.ts_offset,
            clock_rate: a.clock_rate(),
            source_ip: self.source_ip,
            source_port: b.rtp_port,
            destination,
            egress,
            payload_types,
            seed: Seed {
                highest_seq_ext: cont.highest_seq_ext as u32,
                last_arrival_ns: self.mono_epoch_ns + cont.last_arrival_ns,
                last_ts: cont.last_ts,
                jitter_x16: (cont.jitter * 16.0).clamp(0.0, f64::from(u32::MAX)) as u32,
            },
        };
        let handed = InKernel {
            key,
            source,
            destination,
            peer: b_slot,
            seed_ext: cont.highest_seq_ext,
            absorbed: (0, 0),
            event_pt,
        };
        Some((rule, handed))
    }

    /// An RTP packet from `src` with payload type `pt`, received by endpoint `slot`, reached
    /// the core. If the kernel has that direction (the packet came here anyway: a new SSRC,
    /// reordering, ...), the core takes it back before it counts the packet; a telephone
    /// event, which the core detects and relays beside the kernel, only folds in what the
    /// kernel counted so far.
    pub(crate) fn before_core_counts(
        &self,
        table: &mut EndpointTable,
        slot: u32,
        src: Option<SocketAddr>,
        pt: u8,
        counters: &mut LocalCounters,
    ) {
        let Some(a) = table.get_slot(slot) else {
            return;
        };
        let Some(ik) = a.in_kernel else {
            return;
        };
        if a.rtp_latch.latched_source() != src {
            // A stranger: the latch drops it; the direction stays in the kernel.
            return;
        }
        if ik.event_pt == Some(pt) {
            self.sync(table, slot, counters);
        } else {
            self.take_back(table, slot, counters);
        }
    }

    /// Takes back the direction endpoint `slot` receives, if the kernel has it, folding
    /// what the kernel counted into the endpoint and its peer.
    pub(crate) fn take_back(
        &self,
        table: &mut EndpointTable,
        slot: u32,
        counters: &mut LocalCounters,
    ) {
        self.fold(table, slot, counters, true);
    }

    /// Folds what the kernel counted for the direction endpoint `slot` receives into the
    /// endpoint and its peer, leaving the direction in the kernel (before the core counts
    /// a packet of that direction itself).
    pub(crate) fn sync(&self, table: &mut EndpointTable, slot: u32, counters: &mut LocalCounters) {
        self.fold(table, slot, counters, false);
    }

    fn fold(&self, table: &mut EndpointTable, slot: u32, counters: &mut LocalCounters, end: bool) {
        let Some(a) = table.slot_mut(slot) else {
            return;
        };
        let Some(mut ik) = a.in_kernel else {
            return;
        };
        let read = if end {
            a.in_kernel = None;
            a.kernel_countdown = WARM_UP;
            self.fwd.remove(ik.key)
        } else {
            self.fwd.peek(ik.key)
        };
        let state = match read {
            Ok(Some(state)) => state,
            Ok(None) => return,
            Err(error) => {
                counters.kernel_errors += 1;
                tracing::debug!(%error, "reading a direction's count from the kernel failed");
                return;
            }
        };
        let News {
            packets,
            bytes,
            end: cont,
        } = ik.news(&state, self.mono_epoch_ns);
        if packets == 0 {
            return;
        }
        ik.absorbed = (state.packets, state.payload_bytes);
        if !end {
            a.in_kernel = Some(ik);
        }
        let at_ns = cont.last_arrival_ns;
        a.recv.absorb(packets, bytes, cont);
        a.last_rx = a.last_rx.max(self.epoch + Duration::from_nanos(at_ns));
        if let Some(ssrc) = a.ssrc {
            // The sender was heard until `at_ns`: the latch must not think it silent.
            let _ = a.rtp_latch.on_packet(ik.source, ssrc, at_ns);
        }
        counters.kernel_packets += packets;
        counters.kernel_bytes += bytes;
        if let Some(b) = table.slot_mut(ik.peer) {
            b.out
                .absorb(packets, cont.highest_seq_ext as u16, cont.last_ts, at_ns);
            b.packets_sent += packets;
            b.bytes_sent += bytes;
        }
    }

    /// Endpoint `slot` latched a new sender. The direction it receives is keyed by the old
    /// sender, so the core takes it back; its peer's direction stays in the kernel while
    /// it still sends to where `slot` now sends (symmetric RTP latches the address the
    /// party's SDP gave).
    pub(crate) fn on_latch(
        &self,
        table: &mut EndpointTable,
        slot: u32,
        counters: &mut LocalCounters,
    ) {
        self.take_back(table, slot, counters);
        let Some(a) = table.get_slot(slot) else {
            return;
        };
        let destination = a.rtp_destination().and_then(v4);
        let Some(peer) = a.peer else {
            return;
        };
        let moved = table
            .get_slot(peer)
            .and_then(|b| b.in_kernel)
            .is_some_and(|ik| Some(ik.destination) != destination);
        if moved {
            self.take_back(table, peer, counters);
        }
    }

    /// Takes back both directions of `slot`'s bridge.
    pub(crate) fn take_back_pair(
        &self,
        table: &mut EndpointTable,
        slot: u32,
        counters: &mut LocalCounters,
    ) {
        let peer = table.slot_mut(slot).and_then(|a| a.peer);
        self.take_back(table, slot, counters);
        if let Some(peer) = peer {
            self.take_back(table, peer, counters);
        }
    }

    /// The endpoint's statistics including what the kernel counted so far for it (what it
    /// receives) and for its peer (what it sends), leaving both directions in the kernel.
    pub(crate) fn stats(
        &self,
        table: &EndpointTable,
        handle: EndpointHandle,
    ) -> Option<StreamStats> {
        let a = table.get(handle)?;
        let mut recv = a.recv.clone();
        if let Some(ik) = a.in_kernel {
            if let Ok(Some(state)) = self.fwd.peek(ik.key) {
                let news = ik.news(&state, self.mono_epoch_ns);
                recv.absorb(news.packets, news.bytes, news.end);
            }
        }
        let sent = a
            .peer
            .and_then(|p| table.get_slot(p))
            .and_then(|b| b.in_kernel)
            .and_then(|ik| {
                let news = ik.news(&self.fwd.peek(ik.key).ok().flatten()?, self.mono_epoch_ns);
                Some((news.packets, news.bytes))
            })
            .unwrap_or((0, 0));
        Some(a.stats_with(&recv, sent.0, sent.1))
    }

    /// When the kernel last forwarded a packet the endpoint received, if it has its
    /// direction and forwarded any.
    pub(crate) fn last_rx(&self, ep: &Endpoint) -> Option<Instant> {
        let ik = ep.in_kernel?;
        let state = self.fwd.peek(ik.key).ok().flatten()?;
        let news = ik.news(&state, self.mono_epoch_ns);
        (state.packets > 0).then(|| self.epoch + Duration::from_nanos(news.end.last_arrival_ns))
    }
}

/// Counts one RTP packet the core relayed for the direction `a` receives; true when the
/// direction is due to be offered to the kernel.
pub(crate) fn warmed_up(a: &mut Endpoint) -> bool {
    if a.in_kernel.is_some() {
        return false;
    }
    a.kernel_countdown = a.kernel_countdown.saturating_sub(1);
    if a.kernel_countdown > 0 {
        return false;
    }
    a.kernel_countdown = WARM_UP;
    true
}

/// Loads and attaches the forwarder as `config` asks; `None` when it is off, or when it is
/// optional and the kernel refused it.
pub(crate) fn start(config: &EngineConfig) -> Result<Option<Arc<Forwarder>>, MediaError> {
    if config.kernel_forwarding == KernelForwarding::Off {
        return Ok(None);
    }
    let capacity = u32::try_from(config.port_pairs()).unwrap_or(u32::MAX);
    let loaded = Forwarder::load(capacity).and_then(|mut fwd| {
        fwd.attach(&config.kernel_interfaces)?;
        Ok(fwd)
    });
    match (loaded, config.kernel_forwarding) {
        (Ok(fwd), _) => {
            let interfaces: Vec<&str> = fwd.interfaces().collect();
            tracing::info!(?interfaces, flows = capacity, "in-kernel RTP forwarding on");
            Ok(Some(Arc::new(fwd)))
        }
        (Err(error), KernelForwarding::Required) => Err(MediaError::Kernel(error)),
        (Err(error), _) => {
            tracing::warn!(%error, "in-kernel RTP forwarding unavailable, media cores relay everything");
            Ok(None)
        }
    }
}

/// The endpoints a command changes (whose directions the core takes back first).
pub(crate) fn touched(command: &Command) -> [Option<EndpointHandle>; 2] {
    match *command {
        Command::SetRemote { endpoint, .. }
        | Command::Unbridge { endpoint, .. }
        | Command::SetDirection { endpoint, .. }
        | Command::Destroy { endpoint, .. }
        | Command::Release { endpoint, .. }
        | Command::SetDtmf { endpoint, .. }
        | Command::StopRecording { endpoint, .. }
        | Command::PlayPrompt { endpoint, .. }
        | Command::PlayTone { endpoint, .. }
        | Command::StopPlayback { endpoint, .. } => [Some(endpoint), None],
        Command::Bridge { a, b, .. }
        | Command::StartRecording { a, b, .. }
        | Command::Transcode { a, b, .. } => [Some(a), Some(b)],
        Command::CreateEndpoint { .. }
        | Command::CreatePair { .. }
        | Command::QueryStats { .. }
        | Command::Shutdown { .. }
        | Command::SetVoicePt { .. } => [None, None],
    }
}
