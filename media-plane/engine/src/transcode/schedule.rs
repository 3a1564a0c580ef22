//! The 20 ms schedule of a core's transcoding bridges: each due frame of every bridge is
//! popped, encoded and sent (or a prompt playing to the other party instead), the recording
//! fed, and each party's RTCP report sent when due.

use std::time::Instant;

use warden_shared::EndpointHandle;

use super::{rtcp, FRAME, MAX_CATCH_UP, RTP_HEADER};
use crate::endpoint::EndpointTable;
use crate::load::{DropReason, LocalCounters};
use crate::playback::Playbacks;
use crate::record::Recorders;
use crate::sys;

/// The core's transcoding endpoints and their shared 20 ms schedule.
pub(crate) struct XcodeSet {
    /// Slots of endpoints holding an [`Xcode`] (both ends of every bridge).
    slots: Vec<u32>,
    next: Option<Instant>,
    /// Playbacks into a bridged endpoint that ended on this schedule (reported by the core).
    pub(crate) finished: Vec<EndpointHandle>,
}

/// What else the bridge's frames feed or carry: the core's recordings and playbacks.
pub(crate) struct Taps<'a> {
    pub(crate) recorders: &'a mut Recorders,
    pub(crate) playbacks: &'a mut Playbacks,
}

impl XcodeSet {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            slots: Vec::with_capacity(n),
            next: None,
            finished: Vec::with_capacity(4),
        }
    }

    /// When the next frame is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Starts tracking `slot` (its endpoint now holds an [`Xcode`]).
    pub(crate) fn add(&mut self, slot: u32, now: Instant) {
        if !self.slots.contains(&slot) {
            self.slots.push(slot);
        }
        if self.next.is_none() {
            self.next = Some(now + FRAME);
        }
    }

    /// Stops tracking `slot`.
    pub(crate) fn remove(&mut self, slot: u32) {
        self.slots.retain(|&s| s != slot);
        if self.slots.is_empty() {
            self.next = None;
        }
    }

    /// Timer: every due 20 ms frame of every bridge, encoded and sent.
    pub(crate) fn run(
        &mut self,
        table: &mut EndpointTable,
        counters: &mut LocalCounters,
        taps: &mut Taps<'_>,
        now: Instant,
        epoch: Instant,
    ) {
        counters.xcode_bridges = (self.slots.len() / 2) as u64;
        let mut rounds = 0;
        while let Some(due) = self.next.filter(|d| *d <= now) {
            rounds += 1;
            if rounds > MAX_CATCH_UP {
                self.next = Some(now + FRAME);
                break;
            }
            let now_ms = due.saturating_duration_since(epoch).as_millis() as u64;
            for &slot in &self.slots {
                send_frame(table, counters, taps, &mut self.finished, slot, now_ms);
            }
            let now_ns = due.saturating_duration_since(epoch).as_nanos() as u64;
            for &slot in &self.slots {
                send_report(table, counters, slot, now_ns);
            }
            self.next = Some(due + FRAME);
        }
    }
}

/// Wall-clock time for NTP timestamps (read only when RTCP is sent or received).
pub(crate) fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The bridge's RTCP report to endpoint `slot`'s party, when due.
fn send_report(table: &mut EndpointTable, counters: &mut LocalCounters, slot: u32, now_ns: u64) {
    let Some(peer) = table.slot_mut(slot).and_then(|e| e.peer) else {
        return;
    };
    let Some((a, b)) = table.pair_mut(slot, peer) else {
        return;
    };
    let (Some(x), Some(to_party)) = (a.xcode.as_deref_mut(), b.xcode.as_deref()) else {
        return;
    };
    if !x.rtcp.due(now_ns) {
        return;
    }
    let (ssrc, ts, sent) = to_party.stream();
    let mut out = [0u8; rtcp::REPORT_MAX];
    let party = a.ssrc;
    let written = x.rtcp.write_report(
        (ssrc, ts, sent, a.bytes_sent),
        &mut a.recv,
        party,
        now_ns,
        unix_ns(),
        &mut out,
    );
    let (Some(len), Some((fd, dest))) = (written, a.rtcp_route()) else {
        return;
    };
    match sys::send_to(fd, &out[..len], dest) {
        Ok(n) => {
            counters.packets_out += 1;
            counters.bytes_out += n as u64;
            a.rtcp_sent = a.rtcp_sent.saturating_add(1);
        }
        Err(_) => counters.drop(DropReason::SendFailed),
    }
}

/// One frame from endpoint `slot`'s party to its peer's party (or of the prompt playing to
/// the peer's party instead).
fn send_frame(
    table: &mut EndpointTable,
    counters: &mut LocalCounters,
    taps: &mut Taps<'_>,
    finished: &mut Vec<EndpointHandle>,
    slot: u32,
    now_ms: u64,
) {
    let Some(peer) = table.slot_mut(slot).and_then(|e| e.peer) else {
        return;
    };
    let Some((a, b)) = table.pair_mut(slot, peer) else {
        return;
    };
    let Some(x) = a.xcode.as_deref_mut() else {
        return;
    };
    let mut prompt = [0i16; crate::record::FRAME];
    let mut playing = false;
    // A playback started before the bridge sends G.711 on its own: the party's frames are
    // then not sent (the prompt replaces them, as on a relayed call).
    let mut replaced = false;
    if b.playing {
        match taps
            .playbacks
            .by_endpoint
            .iter_mut()
            .find(|(h, _)| h.slot == peer)
        {
            Some((h, p)) if p.bridged => {
                playing = p.next_pcm(&mut prompt);
                if !playing && !finished.contains(h) {
                    finished.push(*h);
                }
            }
            Some(_) => replaced = true,
            None => {}
        }
    }
    let before = x.counters;
    let len = x.step(now_ms, a.tap.is_some(), playing.then_some(&prompt[..]));
    x.counters.publish_since(&before, counters);
    if let Some(tap) = a.tap {
        taps.recorders.on_pcm(tap, x.recorded());
    }
    let Some(len) = len.filter(|_| !replaced) else {
        return;
    };
    let packet = x.packet(len);
    if !(a.direction.receives() || playing) || !b.direction.sends() {
        counters.drop(DropReason::Direction);
        return;
    }
    let Some(dest) = b.rtp_destination() else {
        counters.drop(DropReason::NoRoute);
        return;
    };
    match sys::send_to(b.rtp_fd, packet, dest) {
        Ok(n) => {
            counters.packets_out += 1;
            counters.bytes_out += n as u64;
            b.packets_sent += 1;
            b.bytes_sent += (n - RTP_HEADER.min(n)) as u64;
        }
        Err(_) => counters.drop(DropReason::SendFailed),
    }
}
