//! The transcoding bridge: two endpoints whose parties share no codec.
//!
//! Each direction is terminated: the packets a party sends go into a decoding jitter buffer
//! (`warden-dsp`, with Opus FEC/PLC or G.711 concealment on loss) on the packet path; every
//! 20 ms the core's timer pops one frame, resamples it to the other party's rate, encodes it
//! in the other party's codec and sends it with the bridge's own SSRC, sequence numbers and
//! timestamps. Codec state is built once by [`Command::Transcode`](warden_shared::Command)
//! and dropped when the bridge ends; nothing on the packet or timer path allocates.
//!
//! Plain relay never comes here: an endpoint without transcoding state takes the normal path.

use std::time::Duration;

use warden_dsp::{
    Codec, CodecParams, FrameKind, InsertOutcome, JitterConfig, PcmJitterBuffer, Resampler,
};
use warden_rtp_proto::RtpPacket;
use warden_shared::{ErrorCode, LegFormat, WireCodec};

use crate::load::{DropReason, LocalCounters};
use crate::relay::PacketPath;
use crate::sys::Batch;

/// Frame duration of the bridge (the pacing of what it sends).
pub(crate) const FRAME: Duration = Duration::from_millis(20);
/// Ticks run to catch up after a late wake-up before the schedule is reset.
const MAX_CATCH_UP: u32 = 5;
const RTP_HEADER: usize = 12;
/// Most 20 ms frames in one outgoing packet (60 ms).
const MAX_FRAMES_PER_PACKET: u16 = 3;

/// 20 ms frames per packet sent to a party: its ptime when that is 20, 40 or 60 ms (Opus
/// packets stay at 20 ms: its frames cannot simply be concatenated).
fn frames_per_packet(f: &LegFormat) -> usize {
    if f.codec == WireCodec::Opus {
        return 1;
    }
    usize::from((f.ptime_ms / 20).clamp(1, MAX_FRAMES_PER_PACKET))
}

/// Decoder parameters for what a party speaks.
pub(crate) fn params(f: &LegFormat) -> Result<CodecParams, ErrorCode> {
    Ok(match f.codec {
        WireCodec::Pcmu => CodecParams::pcmu(),
        WireCodec::Pcma => CodecParams::pcma(),
        WireCodec::G722 => CodecParams::g722(),
        WireCodec::Opus => CodecParams::opus(48_000),
        WireCodec::L16 => match f.clock_rate {
            8000 | 16_000 | 48_000 => CodecParams::l16(f.clock_rate),
            _ => return Err(ErrorCode::InvalidRemote),
        },
    })
}

/// What the packet path did with a packet for a transcoding endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ingest {
    /// Stored in the jitter buffer.
    Buffered,
    /// A `telephone-event` packet, rewritten in place into the bridge's outgoing stream:
    /// send it on to the other party.
    Relay,
    /// Not the negotiated voice or event payload type (or not RTP at all).
    Ignored,
}

/// Counters of one direction.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XcodeCounters {
    pub(crate) ingested: u64,
    pub(crate) ignored: u64,
    pub(crate) events: u64,
    pub(crate) sent: u64,
    pub(crate) concealed: u64,
    pub(crate) errors: u64,
    /// Frames decoded from the party's packets.
    pub(crate) decoded: u64,
    /// Frames encoded for the other party.
    pub(crate) encoded: u64,
    /// Voice packets the jitter buffer refused (duplicate, late, out of reach, too large).
    pub(crate) dropped: u64,
}

impl XcodeCounters {
    /// Adds what changed since `before` to the core's counters.
    fn publish_since(&self, before: &XcodeCounters, core: &mut LocalCounters) {
        core.xcode_decoded += self.decoded - before.decoded;
        core.xcode_encoded += self.encoded - before.encoded;
        core.xcode_concealed += self.concealed - before.concealed;
        core.xcode_dropped += (self.dropped + self.ignored + self.errors)
            - (before.dropped + before.ignored + before.errors);
    }
}

/// One direction of a transcoding bridge, owned by the endpoint whose party it decodes.
pub(crate) struct Xcode {
    pt_in: u8,
    jb: PcmJitterBuffer,
    resampler: Resampler,
    enc: Codec,
    resampled: Vec<i16>,
    fifo: Vec<i16>,
    fifo_len: usize,
    out_frame: usize,
    pt_out: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    ts_step: u32,
    /// The next packet sent starts a talk-spurt.
    marker: bool,
    /// 20 ms frames per packet, frames already in the packet being built, its payload
    /// length so far and its timestamp.
    frames: usize,
    pending: usize,
    payload_len: usize,
    packet_ts: u32,
    /// `telephone-event` payload types (in, out) when both legs have one.
    events: Option<(u8, u8)>,
    /// RTP timestamp of the last event received, and the one it was given outgoing.
    event_ts: Option<(u32, u32)>,
    packet: Vec<u8>,
    /// The decoded party at 8 kHz for a recording of the call (only while one runs).
    to_record: Resampler,
    recorded: Vec<i16>,
    recorded_len: usize,
    /// 8 kHz prompt or tone frames played to the other party instead of this party's
    /// voice, resampled to the encoder's rate.
    from_prompt: Resampler,
    /// RTCP with the party this direction decodes.
    pub(crate) rtcp: rtcp::LegRtcp,
    pub(crate) counters: XcodeCounters,
}

impl Xcode {
    /// Decodes `from` and encodes `to`, sending with `ssrc` from sequence `seq` and
    /// timestamp `ts`.
    pub(crate) fn new(
        from: &LegFormat,
        to: &LegFormat,
        ssrc: u32,
        seq: u16,
        ts: u32,
    ) -> Result<Self, ErrorCode> {
        let dec = Codec::new(params(from)?).map_err(|_| ErrorCode::InvalidRemote)?;
        let enc = Codec::new(params(to)?).map_err(|_| ErrorCode::InvalidRemote)?;
        let jb = PcmJitterBuffer::new(dec, JitterConfig::new(params_clock(from)))
            .map_err(|_| ErrorCode::InvalidRemote)?;
        let in_rate = jb.codec().sample_rate();
        let resampler =
            Resampler::new(in_rate, enc.sample_rate()).map_err(|_| ErrorCode::InvalidRemote)?;
        let out_frame = enc.samples_per_frame();
        let in_frame = (in_rate / 50) as usize;
        let to_record = Resampler::new(in_rate, 8000).map_err(|_| ErrorCode::InvalidRemote)?;
        let from_prompt =
            Resampler::new(8000, enc.sample_rate()).map_err(|_| ErrorCode::InvalidRemote)?;
        let resampled_len = resampler
            .max_output_len(in_frame)
            .max(from_prompt.max_output_len(crate::record::FRAME));
        Ok(Self {
            pt_in: from.payload_type,
            resampled: vec![0; resampled_len],
            recorded: vec![0; to_record.max_output_len(in_frame).max(crate::record::FRAME)],
            recorded_len: 0,
            to_record,
            from_prompt,
            rtcp: rtcp::LegRtcp::new(ssrc ^ ts),
            fifo: vec![0; out_frame * 4],
            fifo_len: 0,
            out_frame,
            pt_out: to.payload_type & 0x7f,
            ssrc,
            seq,
            ts,
            ts_step: enc.timestamp_step(),
            marker: true,
            frames: frames_per_packet(to),
            pending: 0,
            payload_len: 0,
            packet_ts: ts,
            events: from
                .telephone_event
                .zip(to.telephone_event)
                .map(|(i, o)| (i, o & 0x7f)),
            event_ts: None,
            packet: vec![0; RTP_HEADER + enc.max_payload_len() * frames_per_packet(to)],
            jb,
            resampler,
            enc,
            counters: XcodeCounters::default(),
        })
    }

    /// Packet path: one datagram the party sent. Voice goes into the jitter buffer;
    /// `telephone-event` is rewritten in place (payload type, the bridge's SSRC, sequence
    /// number and timestamp) to be relayed.
    pub(crate) fn ingest(&mut self, now_ms: u64, bytes: &mut [u8]) -> Ingest {
        let Ok(p) = RtpPacket::parse(bytes) else {
            self.counters.ignored += 1;
            return Ingest::Ignored;
        };
        let plain = p.header_len() == RTP_HEADER && p.padding_len() == 0;
        if let Some((_, te_out)) = self.events.filter(|(i, _)| *i == p.payload_type() && plain) {
            let ts_in = p.timestamp();
            let marker = p.marker();
            let ts_out = match self.event_ts {
                Some((i, o)) if i == ts_in => o,
                // A new event starts at the outgoing stream's current time.
                _ => self.ts,
            };
            self.event_ts = Some((ts_in, ts_out));
            let h = &mut bytes[..RTP_HEADER];
            h[0] = 0x80;
            h[1] = te_out | if marker { 0x80 } else { 0 };
            h[2..4].copy_from_slice(&self.seq.to_be_bytes());
            h[4..8].copy_from_slice(&ts_out.to_be_bytes());
            h[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
            self.seq = self.seq.wrapping_add(1);
            self.counters.events += 1;
            return Ingest::Relay;
        }
        if p.payload_type() != self.pt_in {
            self.counters.ignored += 1;
            return Ingest::Ignored;
        }
        let outcome = self.jb.insert(
            now_ms,
            p.sequence(),
            p.timestamp(),
            p.ssrc(),
            p.marker(),
            p.payload(),
        );
        if !matches!(outcome, InsertOutcome::Buffered | InsertOutcome::Resynced) {
            self.counters.dropped += 1;
        }
        self.counters.ingested += 1;
        Ingest::Buffered
    }

    /// Timer: the next 20 ms for the other party. Returns the RTP packet to send, if any
    /// (nothing while the party's stream has not started or is in a long gap).
    pub(crate) fn tick(&mut self, now_ms: u64) -> Option<&[u8]> {
        let len = self.step(now_ms, false, None)?;
        self.packet.get(..len)
    }

    /// The stream sent to the other party: SSRC, RTP time now, packets sent.
    pub(crate) fn stream(&self) -> (u32, u32, u64) {
        (self.ssrc, self.ts, self.counters.sent)
    }

    /// The packet built by the last [`step`](Self::step) that returned `len`.
    pub(crate) fn packet(&self, len: usize) -> &[u8] {
        self.packet.get(..len).unwrap_or_default()
    }

    /// The decoded party at 8 kHz from the last [`step`](Self::step) asked to record (one
    /// 20 ms frame, silence while the party is silent).
    pub(crate) fn recorded(&self) -> &[i16] {
        self.recorded.get(..self.recorded_len).unwrap_or_default()
    }

    /// Timer: the next 20 ms. The party's frame is popped (and kept at 8 kHz for
    /// [`recorded`](Self::recorded) when `record`); what is encoded for the other party is
    /// that frame, or `prompt` (20 ms at 8 kHz) when one is played to the other party.
    /// Returns the length of the RTP packet to send, if any.
    pub(crate) fn step(
        &mut self,
        now_ms: u64,
        record: bool,
        prompt: Option<&[i16]>,
    ) -> Option<usize> {
        let frame = self.jb.pop(now_ms);
        let mut kind = frame.kind;
        if kind == FrameKind::Decoded {
            self.counters.decoded += 1;
        }
        self.recorded_len = 0;
        if record {
            if kind == FrameKind::Silence {
                self.recorded[..crate::record::FRAME].fill(0);
                self.recorded_len = crate::record::FRAME;
            } else {
                match self.to_record.process(frame.pcm, &mut self.recorded) {
                    Ok(n) => self.recorded_len = n,
                    Err(_) => self.counters.errors += 1,
                }
            }
        }
        let converted = match prompt {
            Some(pcm) => {
                kind = FrameKind::Decoded;
                self.from_prompt.process(pcm, &mut self.resampled)
            }
            None => self.resampler.process(frame.pcm, &mut self.resampled),
        };
        let n = match converted {
            Ok(n) => n,
            Err(_) => {
                self.counters.errors += 1;
                0
            }
        };
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(self.ts_step);
        if kind == FrameKind::Silence {
            self.fifo_len = 0;
            self.marker = true;
            self.pending = 0;
            self.payload_len = 0;
            return None;
        }
        if kind != FrameKind::Decoded {
            self.counters.concealed += 1;
        }
        let free = self.fifo.len() - self.fifo_len;
        let take = n.min(free);
        self.fifo[self.fifo_len..self.fifo_len + take].copy_from_slice(&self.resampled[..take]);
        self.fifo_len += take;
        if self.fifo_len < self.out_frame {
            return None;
        }
        if self.pending == 0 {
            self.packet_ts = ts;
        }
        let start = RTP_HEADER + self.payload_len;
        let out = self.packet.get_mut(start..).unwrap_or_default();
        let len = match self.enc.encode(&self.fifo[..self.out_frame], out) {
            Ok(len) => len,
            Err(_) => {
                self.counters.errors += 1;
                self.fifo_len = 0;
                self.pending = 0;
                self.payload_len = 0;
                return None;
            }
        };
        self.counters.encoded += 1;
        self.fifo.copy_within(self.out_frame..self.fifo_len, 0);
        self.fifo_len -= self.out_frame;
        self.payload_len += len;
        self.pending += 1;
        if self.pending < self.frames {
            return None;
        }
        let total = RTP_HEADER + self.payload_len;
        self.pending = 0;
        self.payload_len = 0;
        let h = &mut self.packet[..RTP_HEADER];
        h[0] = 0x80;
        h[1] = self.pt_out | if self.marker { 0x80 } else { 0 };
        h[2..4].copy_from_slice(&self.seq.to_be_bytes());
        h[4..8].copy_from_slice(&self.packet_ts.to_be_bytes());
        h[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.marker = false;
        self.counters.sent += 1;
        Some(total)
    }
}

/// RTP clock of what a party sends.
fn params_clock(f: &LegFormat) -> u32 {
    match f.codec {
        WireCodec::Pcmu | WireCodec::Pcma | WireCodec::G722 => 8000,
        WireCodec::Opus => 48_000,
        WireCodec::L16 => f.clock_rate,
    }
}

impl PacketPath<'_> {
    /// Packet path hook: voice for a transcoding endpoint goes into its jitter buffer,
    /// `telephone-event` is rewritten in place and queued for the peer; nothing else is
    /// relayed. Returns false for endpoints that relay.
    pub(crate) fn transcoded(&mut self, batch: &mut Batch, i: usize, slot: u32, rtp: bool) -> bool {
        let Some(x) = self
            .table
            .slot_mut(slot)
            .and_then(|e| e.xcode.as_deref_mut())
        else {
            return false;
        };
        let Some((bytes, _, _)) = batch.datagram(i) else {
            return true;
        };
        let now_ms = self.now_ns / 1_000_000;
        if !rtp {
            // RTCP of a terminated stream describes packets the other party never sees:
            // the bridge consumes it (it reports to each party itself).
            let peer = self.table.slot_mut(slot).and_then(|e| e.peer);
            let Some((a, b)) = peer.and_then(|p| self.table.pair_mut(slot, p)) else {
                return true;
            };
            let bridge_ssrc = b.xcode.as_deref().map_or(0, |x| x.stream().0);
            if let (Some(x), Some((bytes, _, _))) = (a.xcode.as_deref_mut(), batch.datagram(i)) {
                x.rtcp.on_rtcp(bytes, bridge_ssrc, self.now_ns, unix_ns());
            }
            return true;
        }
        let before = x.counters;
        let outcome = x.ingest(now_ms, bytes);
        x.counters.publish_since(&before, self.counters);
        let len = bytes.len();
        match outcome {
            Ingest::Buffered => {}
            Ingest::Ignored => self.counters.drop(DropReason::Rewrite),
            Ingest::Relay => {
                let peer = self.table.slot_mut(slot).and_then(|e| e.peer);
                let Some((a, b)) = peer.and_then(|p| self.table.pair_mut(slot, p)) else {
                    self.counters.drop(DropReason::NoRoute);
                    return true;
                };
                if !a.direction.receives() || !b.direction.sends() {
                    self.counters.drop(DropReason::Direction);
                    return true;
                }
                match b.rtp_destination() {
                    Some(dest) => {
                        b.packets_sent += 1;
                        b.bytes_sent += len.saturating_sub(RTP_HEADER) as u64;
                        batch.queue_send(i, len, b.rtp_fd, dest);
                    }
                    None => self.counters.drop(DropReason::NoRoute),
                }
            }
        }
        true
    }
}

/// One direction of the transcoding bridge without sockets, for benchmarks: the same
/// packet-path and timer-path code the core runs.
#[doc(hidden)]
pub struct FramePath(Xcode);

impl FramePath {
    /// Decodes `from`, encodes `to`.
    pub fn new(from: LegFormat, to: LegFormat) -> Result<Self, ErrorCode> {
        Xcode::new(&from, &to, 0x5eed_5eed, 0, 0).map(FramePath)
    }

    /// The packet path for one received RTP packet; true when it was buffered.
    pub fn ingest(&mut self, now_ms: u64, packet: &mut [u8]) -> bool {
        self.0.ingest(now_ms, packet) == Ingest::Buffered
    }

    /// The timer path for one 20 ms frame; the length of the RTP packet built, if any.
    pub fn tick(&mut self, now_ms: u64) -> Option<usize> {
        self.0.tick(now_ms).map(<[u8]>::len)
    }

    /// As [`tick`](Self::tick), also keeping the decoded frame at 8 kHz for a recording
    /// (returned: the number of samples kept).
    pub fn tick_recorded(&mut self, now_ms: u64) -> (Option<usize>, usize) {
        let len = self.0.step(now_ms, true, None);
        (len, self.0.recorded().len())
    }
}

mod rtcp;
mod schedule;

pub(crate) use schedule::{unix_ns, Taps, XcodeSet};

#[cfg(test)]
mod tests;
