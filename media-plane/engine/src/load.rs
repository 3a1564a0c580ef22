//! Per-core load counters, written by the core without locks and read by the control plane
//! (for `/metrics`) at any time.
//!
//! The core keeps plain counters while it works and publishes them with relaxed stores once
//! per loop iteration (it is the only writer), so the hot path does no atomic
//! read-modify-write per packet.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of [`DropReason`]s.
pub const DROP_REASONS: usize = 6;

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not RTP/RTCP, truncated, or RTP on the RTCP port.
    Malformed,
    /// From an address other than the latched one.
    Stranger,
    /// The endpoint is not bridged, or its peer has no remote yet.
    NoRoute,
    /// The direction of either leg forbids relaying it.
    Direction,
    /// The kernel refused to send it.
    SendFailed,
    /// The rewriter refused it: a payload type with no mapping, or a straggler of an SSRC
    /// that was just replaced.
    Rewrite,
}

impl DropReason {
    /// Every reason, for exporters.
    pub const ALL: [DropReason; DROP_REASONS] = [
        DropReason::Malformed,
        DropReason::Stranger,
        DropReason::NoRoute,
        DropReason::Direction,
        DropReason::SendFailed,
        DropReason::Rewrite,
    ];

    /// A stable lowercase label.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::Stranger => "stranger",
            DropReason::NoRoute => "no_route",
            DropReason::Direction => "direction",
            DropReason::SendFailed => "send_failed",
            DropReason::Rewrite => "rewrite",
        }
    }

    fn index(self) -> usize {
        match self {
            DropReason::Malformed => 0,
            DropReason::Stranger => 1,
            DropReason::NoRoute => 2,
            DropReason::Direction => 3,
            DropReason::SendFailed => 4,
            DropReason::Rewrite => 5,
        }
    }
}

/// Shared counters of one core, aligned to keep cores off each other's cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct CoreLoad {
    /// Sessions the control plane placed on this core (maintained by the control side).
    pub(crate) sessions: AtomicU64,
    endpoints: AtomicU64,
    packets_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    drops: [AtomicU64; DROP_REASONS],
    events_dropped: AtomicU64,
    bad_commands: AtomicU64,
    busy_ns: AtomicU64,
    cpu_ns: AtomicU64,
    wakeups: AtomicU64,
    dtmf_digits: AtomicU64,
    dtmf_malformed: AtomicU64,
    xcode_bridges: AtomicU64,
    xcode_decoded: AtomicU64,
    xcode_encoded: AtomicU64,
    xcode_concealed: AtomicU64,
    xcode_dropped: AtomicU64,
    kernel_handoffs: AtomicU64,
    kernel_packets: AtomicU64,
    kernel_bytes: AtomicU64,
    kernel_errors: AtomicU64,
}

/// A point-in-time copy of a core's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoreLoadSnapshot {
    /// Sessions placed on the core.
    pub sessions: u64,
    /// Live endpoints.
    pub endpoints: u64,
    /// Datagrams received.
    pub packets_in: u64,
    /// Datagrams sent.
    pub packets_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Drops, indexed like [`DropReason::ALL`].
    pub drops: [u64; DROP_REASONS],
    /// Unsolicited events lost because the event ring was full.
    pub events_dropped: u64,
    /// Command frames that failed to decode.
    pub bad_commands: u64,
    /// Time spent working (from wake-up to the next wait), in nanoseconds.
    pub busy_ns: u64,
    /// CPU time of the core's thread, in nanoseconds (refreshed every housekeeping tick).
    pub cpu_ns: u64,
    /// Wake-ups of the core loop.
    pub wakeups: u64,
    /// DTMF key presses detected (RFC 4733 and in-band).
    pub dtmf_digits: u64,
    /// Telephone-event packets whose payload did not parse (relayed anyway).
    pub dtmf_malformed: u64,
    /// Transcoding bridges running on the core.
    pub xcode_bridges: u64,
    /// 20 ms frames the transcoding bridges decoded from packets.
    pub xcode_decoded: u64,
    /// 20 ms frames the transcoding bridges encoded.
    pub xcode_encoded: u64,
    /// 20 ms frames the transcoding bridges concealed (loss, Opus FEC, undecodable).
    pub xcode_concealed: u64,
    /// Packets a transcoding bridge did not play (not voice nor telephone-event, refused
    /// by the jitter buffer) and frames lost to codec errors.
    pub xcode_dropped: u64,
    /// Directions handed to the kernel's forwarder.
    pub kernel_handoffs: u64,
    /// RTP packets the kernel forwarded (counted when a direction is taken back).
    pub kernel_packets: u64,
    /// Their payload bytes.
    pub kernel_bytes: u64,
    /// Flow-map operations that failed (map full or gone).
    pub kernel_errors: u64,
}

impl CoreLoadSnapshot {
    /// Drops for one reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()]
    }

    /// Drops for every reason.
    pub fn dropped_total(&self) -> u64 {
        self.drops.iter().sum()
    }
}

impl CoreLoad {
    /// Reads every counter.
    pub fn snapshot(&self) -> CoreLoadSnapshot {
        let mut drops = [0u64; DROP_REASONS];
        for (d, a) in drops.iter_mut().zip(&self.drops) {
            *d = a.load(Relaxed);
        }
        CoreLoadSnapshot {
            sessions: self.sessions.load(Relaxed),
            endpoints: self.endpoints.load(Relaxed),
            packets_in: self.packets_in.load(Relaxed),
            packets_out: self.packets_out.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            drops,
            events_dropped: self.events_dropped.load(Relaxed),
            bad_commands: self.bad_commands.load(Relaxed),
            busy_ns: self.busy_ns.load(Relaxed),
            cpu_ns: self.cpu_ns.load(Relaxed),
            wakeups: self.wakeups.load(Relaxed),
            dtmf_digits: self.dtmf_digits.load(Relaxed),
            dtmf_malformed: self.dtmf_malformed.load(Relaxed),
            xcode_bridges: self.xcode_bridges.load(Relaxed),
            xcode_decoded: self.xcode_decoded.load(Relaxed),
            xcode_encoded: self.xcode_encoded.load(Relaxed),
            xcode_concealed: self.xcode_concealed.load(Relaxed),
            xcode_dropped: self.xcode_dropped.load(Relaxed),
            kernel_handoffs: self.kernel_handoffs.load(Relaxed),
            kernel_packets: self.kernel_packets.load(Relaxed),
            kernel_bytes: self.kernel_bytes.load(Relaxed),
            kernel_errors: self.kernel_errors.load(Relaxed),
        }
    }
}

/// The core's private working copy of its counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LocalCounters {
    pub(crate) endpoints: u64,
    pub(crate) packets_in: u64,
    pub(crate) packets_out: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    drops: [u64; DROP_REASONS],
    pub(crate) events_dropped: u64,
    pub(crate) bad_commands: u64,
    pub(crate) busy_ns: u64,
    pub(crate) cpu_ns: u64,
    pub(crate) wakeups: u64,
    pub(crate) dtmf_digits: u64,
    pub(crate) dtmf_malformed: u64,
    pub(crate) xcode_bridges: u64,
    pub(crate) xcode_decoded: u64,
    pub(crate) xcode_encoded: u64,
    pub(crate) xcode_concealed: u64,
    pub(crate) xcode_dropped: u64,
    pub(crate) kernel_handoffs: u64,
    pub(crate) kernel_packets: u64,
    pub(crate) kernel_bytes: u64,
    pub(crate) kernel_errors: u64,
}

impl LocalCounters {
    #[inline]
    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.drops[reason.index()] += 1;
    }

    pub(crate) fn drop_many(&mut self, reason: DropReason, n: u64) {
        self.drops[reason.index()] += n;
    }

    /// Publishes to the shared counters (single writer: plain stores).
    pub(crate) fn publish(&self, shared: &CoreLoad) {
        shared.endpoints.store(self.endpoints, Relaxed);
        shared.packets_in.store(self.packets_in, Relaxed);
        shared.packets_out.store(self.packets_out, Relaxed);
        shared.bytes_in.store(self.bytes_in, Relaxed);
        shared.bytes_out.store(self.bytes_out, Relaxed);
        for (a, v) in shared.drops.iter().zip(self.drops) {
            a.store(v, Relaxed);
        }
        shared.events_dropped.store(self.events_dropped, Relaxed);
        shared.bad_commands.store(self.bad_commands, Relaxed);
        shared.busy_ns.store(self.busy_ns, Relaxed);
        shared.cpu_ns.store(self.cpu_ns, Relaxed);
        shared.wakeups.store(self.wakeups, Relaxed);
        shared.dtmf_digits.store(self.dtmf_digits, Relaxed);
        shared.dtmf_malformed.store(self.dtmf_malformed, Relaxed);
        shared.xcode_bridges.store(self.xcode_bridges, Relaxed);
        shared.xcode_decoded.store(self.xcode_decoded, Relaxed);
        shared.xcode_encoded.store(self.xcode_encoded, Relaxed);
        shared.xcode_concealed.store(self.xcode_concealed, Relaxed);
        shared.xcode_dropped.store(self.xcode_dropped, Relaxed);
        shared.kernel_handoffs.store(self.kernel_handoffs, Relaxed);
        shared.kernel_packets.store(self.kernel_packets, Relaxed);
        shared.kernel_bytes.store(self.kernel_bytes, Relaxed);
        shared.kernel_errors.store(self.kernel_errors, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_counters_are_visible_in_snapshots() {
        let shared = CoreLoad::default();
        let mut local = LocalCounters {
            packets_in: 10,
            dtmf_digits: 3,
            dtmf_malformed: 1,
            xcode_bridges: 2,
            xcode_decoded: 100,
            xcode_encoded: 99,
            xcode_concealed: 3,
            xcode_dropped: 4,
            ..Default::default()
        };
        local.drop(DropReason::Stranger);
        local.drop_many(DropReason::Malformed, 3);
        local.publish(&shared);
        shared.sessions.fetch_add(2, Relaxed);
        let snap = shared.snapshot();
        assert_eq!(snap.packets_in, 10);
        assert_eq!(snap.dropped(DropReason::Stranger), 1);
        assert_eq!(snap.dropped(DropReason::Malformed), 3);
        assert_eq!(snap.dropped_total(), 4);
        assert_eq!(snap.sessions, 2);
        assert_eq!((snap.dtmf_digits, snap.dtmf_malformed), (3, 1));
        assert_eq!(
            (
                snap.xcode_bridges,
                snap.xcode_decoded,
                snap.xcode_encoded,
                snap.xcode_concealed,
                snap.xcode_dropped
            ),
            (2, 100, 99, 3, 4)
        );
        assert_eq!(std::mem::align_of::<CoreLoad>(), 128);
        let labels: Vec<_> = DropReason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), DROP_REASONS);
    }
}
