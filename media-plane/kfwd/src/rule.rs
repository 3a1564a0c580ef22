//! The flow map's key and value: what the control of a forwarded direction writes, and
//! what the program counts back.
//!
//! Addresses and ports are kept in network order, exactly as they sit in the packet, so
//! the program compares and copies them without swapping. Everything else is host order.

use std::net::{Ipv4Addr, SocketAddrV4};

/// Bytes of a [`FlowKey`] in the map.
pub const KEY_SIZE: usize = 8;
/// Bytes of a rule in the map.
pub const VALUE_SIZE: usize = 200;
/// Payload-type table entry meaning "not forwarded in the kernel".
pub const NO_PT: u8 = 0xff;

// Offsets into the value, shared with the program.
pub(crate) const V_IN_SSRC: i16 = 0;
pub(crate) const V_OUT_SSRC: i16 = 4;
pub(crate) const V_SRC_IP: i16 = 8;
pub(crate) const V_DST_IP: i16 = 12;
/// Source port then destination port: one 32-bit word in packet order.
pub(crate) const V_PORTS: i16 = 16;
pub(crate) const V_SEQ_OFF: i16 = 20;
pub(crate) const V_LAST_SEQ: i16 = 22;
pub(crate) const V_TS_OFF: i16 = 24;
pub(crate) const V_CLOCK: i16 = 28;
pub(crate) const V_PACKETS: i16 = 32;
pub(crate) const V_BYTES: i16 = 40;
pub(crate) const V_LAST_NS: i16 = 48;
pub(crate) const V_LAST_TS: i16 = 56;
pub(crate) const V_JITTER: i16 = 60;
pub(crate) const V_EXT_MAX: i16 = 64;
/// Interface to send out of (0: hand to the local stack).
pub(crate) const V_EGRESS: i16 = 68;
pub(crate) const V_PT_MAP: i16 = 72;

/// Which packets a rule takes: RTP from `source` to local port `local_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The sender (the latched address of the receiving endpoint's party).
    pub source: SocketAddrV4,
    /// The endpoint's own RTP port.
    pub local_port: u16,
}

impl FlowKey {
    pub(crate) fn to_bytes(self) -> [u8; KEY_SIZE] {
        let mut key = [0u8; KEY_SIZE];
        key[0..4].copy_from_slice(&self.source.ip().octets());
        key[4..6].copy_from_slice(&self.source.port().to_be_bytes());
        key[6..8].copy_from_slice(&self.local_port.to_be_bytes());
        key
    }
}

/// Where the receive statistics stood when the direction was handed to the kernel; the
/// program continues from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seed {
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub highest_seq_ext: u32,
    /// Arrival of the last packet, in `CLOCK_MONOTONIC` nanoseconds (0: none yet).
    pub last_arrival_ns: u64,
    /// RTP timestamp of the last packet.
    pub last_ts: u32,
    /// Interarrival jitter in timestamp units, times 16 (RFC 3550 A.8).
    pub jitter_x16: u32,
}

/// One forwarded direction: RTP from the key's source with SSRC `in_ssrc` is rewritten
/// and sent from `source` to `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The only SSRC taken; anything else goes up to the media core.
    pub in_ssrc: u32,
    /// The SSRC the destination sees.
    pub out_ssrc: u32,
    /// Added to the sequence number and timestamp.
    pub seq_offset: u16,
    pub ts_offset: u32,
    /// RTP clock rate, for jitter.
    pub clock_rate: u32,
    /// Our address and port to send from; `None` keeps the address the packet came to.
    pub source_ip: Option<Ipv4Addr>,
    pub source_port: u16,
    pub destination: SocketAddrV4,
    /// The interface index to send out of when the destination is not on this host (see
    /// [`crate::egress_of`]); `None` hands the packet to the local stack.
    pub egress: Option<u32>,
    /// Output payload type per input payload type, [`NO_PT`] for those left to the core.
    pub payload_types: [u8; 128],
    pub seed: Seed,
}

impl Rule {
    pub(crate) fn to_bytes(&self) -> [u8; VALUE_SIZE] {
        let mut v = [0u8; VALUE_SIZE];
        let mut put = |off: i16, bytes: &[u8]| {
            let at = off as usize;
            v[at..at + bytes.len()].copy_from_slice(bytes);
        };
        put(V_IN_SSRC, &self.in_ssrc.to_be_bytes());
        put(V_OUT_SSRC, &self.out_ssrc.to_be_bytes());
        put(V_SRC_IP, &self.source_ip.map_or([0; 4], |ip| ip.octets()));
        put(V_DST_IP, &self.destination.ip().octets());
        put(V_PORTS, &self.source_port.to_be_bytes());
        put(V_PORTS + 2, &self.destination.port().to_be_bytes());
        put(V_SEQ_OFF, &self.seq_offset.to_ne_bytes());
        put(
            V_LAST_SEQ,
            &(self.seed.highest_seq_ext as u16).to_ne_bytes(),
        );
        put(V_TS_OFF, &self.ts_offset.to_ne_bytes());
        put(V_CLOCK, &self.clock_rate.to_ne_bytes());
        put(V_LAST_NS, &self.seed.last_arrival_ns.to_ne_bytes());
        put(V_LAST_TS, &self.seed.last_ts.to_ne_bytes());
        put(V_JITTER, &self.seed.jitter_x16.to_ne_bytes());
        put(V_EXT_MAX, &self.seed.highest_seq_ext.to_ne_bytes());
        put(V_EGRESS, &self.egress.unwrap_or(0).to_ne_bytes());
        put(V_PT_MAP, &self.payload_types);
        v
    }
}

/// What the program counted for a rule since it was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowState {
    /// Packets forwarded.
    pub packets: u64,
    /// Their payload bytes (after the 12-byte RTP header).
    pub payload_bytes: u64,
    /// Extended highest sequence number received.
    pub highest_seq_ext: u32,
    /// Arrival of the last forwarded packet, `CLOCK_MONOTONIC` nanoseconds.
    pub last_arrival_ns: u64,
    /// Input RTP timestamp of the last forwarded packet.
    pub last_ts: u32,
    /// Interarrival jitter in timestamp units, times 16.
    pub jitter_x16: u32,
}

impl FlowState {
    pub(crate) fn from_bytes(v: &[u8; VALUE_SIZE]) -> Self {
        let u32_at = |off: i16| {
            let at = off as usize;
            u32::from_ne_bytes([v[at], v[at + 1], v[at + 2], v[at + 3]])
        };
        let u64_at = |off: i16| u64::from(u32_at(off)) | (u64::from(u32_at(off + 4)) << 32);
        Self {
            packets: u64_at(V_PACKETS),
            payload_bytes: u64_at(V_BYTES),
            highest_seq_ext: u32_at(V_EXT_MAX),
            last_arrival_ns: u64_at(V_LAST_NS),
            last_ts: u32_at(V_LAST_TS),
            jitter_x16: u32_at(V_JITTER),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_addresses_in_packet_order() {
        let key = FlowKey {
            source: SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 0x1234),
            local_port: 0x5678,
        };
        assert_eq!(key.to_bytes(), [10, 1, 2, 3, 0x12, 0x34, 0x56, 0x78]);
    }

    #[test]
    fn a_fresh_rule_reads_back_as_its_seed() {
        let rule = Rule {
            in_ssrc: 1,
            out_ssrc: 2,
            seq_offset: 3,
            ts_offset: 4,
            clock_rate: 8000,
            source_ip: None,
            source_port: 40000,
            destination: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000),
            egress: None,
            payload_types: [NO_PT; 128],
            seed: Seed {
                highest_seq_ext: 0x1_0005,
                last_arrival_ns: 77,
                last_ts: 160,
                jitter_x16: 32,
            },
        };
        let state = FlowState::from_bytes(&rule.to_bytes());
        assert_eq!(state.packets, 0);
        assert_eq!(state.highest_seq_ext, 0x1_0005);
        assert_eq!(state.last_arrival_ns, 77);
        assert_eq!(state.last_ts, 160);
        assert_eq!(state.jitter_x16, 32);
    }
}
