//! The packet path: validate, latch, account, route and rewrite one received datagram.
//! Runs once per packet: no allocation, no locks, no logging above `trace`.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Instant;

use warden_rtp_proto::{classify, LatchDecision, PacketKind, RtcpCompound, RtpPacket};
use warden_shared::{EndpointHandle, Event};

use crate::endpoint::EndpointTable;
use crate::kernel::Kernel;
use crate::load::{DropReason, LocalCounters};
use crate::notify::Notifier;
use crate::record::Recorders;
use crate::sys::Batch;

/// The state the packet path works on.
pub(crate) struct PacketPath<'a> {
    pub(crate) table: &'a mut EndpointTable,
    pub(crate) counters: &'a mut LocalCounters,
    pub(crate) notifier: &'a mut Notifier,
    pub(crate) recorders: &'a mut Recorders,
    /// In-kernel forwarding, when it runs.
    pub(crate) kernel: Option<&'a Kernel>,
    /// Endpoints whose received direction is due to be offered to the kernel.
    pub(crate) offers: &'a mut Vec<u32>,
    pub(crate) now: Instant,
    /// `now` in nanoseconds since the core started (arrival time for jitter and latching).
    pub(crate) now_ns: u64,
}

/// Header fields of an accepted RTP packet.
#[derive(Clone, Copy)]
struct RtpInfo {
    seq: u16,
    ts: u32,
    ssrc: u32,
    pt: u8,
    header_len: usize,
    payload_len: usize,
}

/// What a datagram turned out to be.
#[derive(Clone, Copy)]
enum Inspected {
    Rtp(RtpInfo),
    /// A valid (possibly reduced-size) RTCP compound and the SSRC of its sender.
    Rtcp {
        sender_ssrc: u32,
    },
    /// Not RTP/RTCP (STUN, DTLS and friends are not handled by the relay), truncated, or
    /// RTP on the RTCP port.
    Malformed,
}

fn inspect(bytes: &[u8], truncated: bool, on_rtcp_port: bool) -> Inspected {
    if truncated {
        return Inspected::Malformed;
    }
    match classify(bytes) {
        PacketKind::Rtp if !on_rtcp_port => match RtpPacket::parse(bytes) {
            Ok(p) => Inspected::Rtp(RtpInfo {
                seq: p.sequence(),
                ts: p.timestamp(),
                ssrc: p.ssrc(),
                pt: p.payload_type(),
                header_len: p.header_len(),
                payload_len: p.payload().len(),
            }),
            Err(_) => Inspected::Malformed,
        },
        PacketKind::Rtcp if RtcpCompound::parse_reduced_size(bytes).is_ok() => {
            let sender_ssrc = bytes
                .get(4..8)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            Inspected::Rtcp { sender_ssrc }
        }
        _ => Inspected::Malformed,
    }
}

impl PacketPath<'_> {
    /// Handles datagram `i` of `batch`, received on endpoint `handle`'s RTP port (or RTCP
    /// port when `on_rtcp_port`). A relayed datagram is rewritten in place and queued on
    /// `batch` for sending.
    pub(crate) fn relay(
        &mut self,
        batch: &mut Batch,
        i: usize,
        handle: EndpointHandle,
        on_rtcp_port: bool,
    ) {
        let Some((bytes, src, truncated)) = batch.datagram(i) else {
            return;
        };
        let len = bytes.len();
        self.counters.packets_in += 1;
        self.counters.bytes_in += len as u64;
        let inspected = inspect(bytes, truncated, on_rtcp_port);
        if let (Some(kernel), Inspected::Rtp(info)) = (self.kernel, inspected) {
            kernel.before_core_counts(self.table, handle.slot, src, info.pt, self.counters);
        }
        let mut newly_latched = false;
        let Some(peer) = self.accept(
            handle,
            on_rtcp_port,
            src,
            inspected,
            bytes,
            &mut newly_latched,
        ) else {
            return;
        };
        if newly_latched {
            if let Some(kernel) = self.kernel {
                kernel.on_latch(self.table, handle.slot, self.counters);
            }
        }
        if self.transcoded(
            batch,
            i,
            handle.slot,
            matches!(inspected, Inspected::Rtp(_)),
        ) {
            return;
        }
        let Some((a, b)) = self.table.pair_mut(handle.slot, peer) else {
            self.counters.drop(DropReason::NoRoute);
            return;
        };
        if !b.direction.sends() {
            self.counters.drop(DropReason::Direction);
            return;
        }
        if b.playing && matches!(inspected, Inspected::Rtp(_)) {
            // A prompt replaces what the peer says.
            b.replaced_while_playing += 1;
            return;
        }
        let Some((bytes, _, _)) = batch.datagram(i) else {
            return;
        };
        let route: Option<(RawFd, SocketAddr)> = match inspected {
            Inspected::Rtp(info) => {
                let Some(dest) = b.rtp_destination() else {
                    self.counters.drop(DropReason::NoRoute);
                    return;
                };
                match b.out.rewrite(bytes, self.now_ns) {
                    Ok(outcome) if outcome.is_forwarded() => {
                        b.packets_sent += 1;
                        b.bytes_sent += info.payload_len as u64;
                        if self.kernel.is_some() && crate::kernel::warmed_up(a) {
                            self.offers.push(handle.slot);
                        }
                        Some((b.rtp_fd, dest))
                    }
                    Ok(_) => {
                        self.counters.drop(DropReason::Rewrite);
                        return;
                    }
                    Err(_) => {
                        self.counters.drop(DropReason::Malformed);
                        return;
                    }
                }
            }
            Inspected::Rtcp { .. } => b.rtcp_route().inspect(|_| {
                // Keep RTCP consistent with the rewritten RTP of both directions.
                let _ = b.out.rewrite_rtcp(bytes, Some(&a.out));
                b.rtcp_sent = b.rtcp_sent.saturating_add(1);
            }),
            Inspected::Malformed => None,
        };
        match route {
            Some((fd, dest)) => batch.queue_send(i, len, fd, dest),
            None => self.counters.drop(DropReason::NoRoute),
        }
    }

    /// Receive side: validity, latching, statistics and direction of endpoint `handle`.
    /// Returns the bridge peer's slot when the packet should be relayed.
    fn accept(
        &mut self,
        handle: EndpointHandle,
        on_rtcp_port: bool,
        src: Option<SocketAddr>,
        inspected: Inspected,
        bytes: &[u8],
        newly_latched: &mut bool,
    ) -> Option<u32> {
        let a = self.table.slot_mut(handle.slot)?;
        let (src, ssrc) = match (src, inspected) {
            (Some(src), Inspected::Rtp(info)) => (src, info.ssrc),
            (Some(src), Inspected::Rtcp { sender_ssrc }) => (src, sender_ssrc),
            _ => {
                a.dropped_malformed = a.dropped_malformed.saturating_add(1);
                self.counters.drop(DropReason::Malformed);
                return None;
            }
        };

        // Symmetric RTP: the first source is latched; anyone else is a stranger.
        let latch = if on_rtcp_port {
            &mut a.rtcp_latch
        } else {
            &mut a.rtp_latch
        };
        match latch.on_packet(src, ssrc, self.now_ns) {
            LatchDecision::Reject => {
                a.dropped_stranger = a.dropped_stranger.saturating_add(1);
                self.counters.drop(DropReason::Stranger);
                tracing::trace!(%src, "packet from stranger dropped");
                return None;
            }
            LatchDecision::AcceptNewlyLatched => {
                *newly_latched = !on_rtcp_port;
                self.notifier.send_quietly(&Event::FirstPacket {
                    endpoint: handle,
                    source: src,
                    rtcp: on_rtcp_port,
                });
            }
            LatchDecision::Accept => {}
        }
        a.last_rx = self.now;
        a.timeout_reported = false;

        match inspected {
            Inspected::Rtp(info) => {
                if a.ssrc != Some(info.ssrc) {
                    if let Some(old) = a.ssrc {
                        let clock = a.clock_rate();
                        a.restart_stats(clock);
                        self.notifier.send_quietly(&Event::SsrcChanged {
                            endpoint: handle,
                            old,
                            new: info.ssrc,
                        });
                    }
                    a.ssrc = Some(info.ssrc);
                }
                let _ = a
                    .recv
                    .on_packet(info.seq, info.ts, self.now_ns, info.payload_len);
                if let Some(tap) = a.dtmf.as_deref_mut() {
                    let (now_ns, notifier) = (self.now_ns, &mut *self.notifier);
                    crate::dtmf::feed(tap, handle, bytes, now_ns, notifier, self.counters);
                }
                if info.pt < 96 && info.pt != 13 {
                    a.voice_pt = Some(info.pt);
                }
                if let Some(tap) = a.tap {
                    let end = (info.header_len + info.payload_len).min(bytes.len());
                    let payload = bytes.get(info.header_len..end).unwrap_or(&[]);
                    self.recorders.on_rtp(
                        tap,
                        self.now_ns / 1_000_000,
                        info.pt,
                        info.seq,
                        info.ts,
                        info.ssrc,
                        payload,
                    );
                }
            }
            _ => a.rtcp_received = a.rtcp_received.saturating_add(1),
        }

        if !a.direction.receives() {
            self.counters.drop(DropReason::Direction);
            return None;
        }
        let peer = a.peer;
        if peer.is_none() {
            self.counters.drop(DropReason::NoRoute);
        }
        peer
    }
}
