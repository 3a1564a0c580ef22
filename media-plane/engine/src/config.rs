//! Media plane configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::MediaError;

/// How the media plane runs; the control plane maps its YAML `media:` section onto this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// CPU ids to run one pinned media core on each.
    pub cores: Vec<usize>,
    /// Address advertised in SDP for the endpoints' ports.
    pub address: IpAddr,
    /// Address the RTP sockets bind to.
    pub bind: IpAddr,
    /// Inclusive UDP port range for RTP (even) and RTCP (odd) ports.
    pub rtp_ports: (u16, u16),
    /// Silence after which an `RtpTimeout` event is raised (zero disables it).
    pub rtp_timeout: Duration,
    /// io_uring buffer memory per core (locked memory; three rings per core register it).
    pub io_memory_bytes: usize,
    /// Period of unsolicited statistics reports (zero disables them).
    pub stats_interval: Duration,
    /// Frames per ring (commands and events, per core).
    pub ring_capacity: usize,
    /// Directory recordings are written to (created on first use).
    pub recording_dir: PathBuf,
    /// Directory of `<name>.wav` prompts, loaded at start (`None`: no prompts).
    pub prompts_dir: Option<PathBuf>,
    /// Shortest time between two wake-ups of a busy core (zero: wake on every packet).
    /// Packets that arrive meanwhile wait in their sockets and are taken in one pass, so a
    /// core carrying many calls pays for one sleep and one wake-up per interval instead of
    /// one per packet, at the price of up to this much added delay.
    pub wake_interval: Duration,
    /// Whether plain RTP directions are forwarded in the kernel (`warden-kfwd`).
    pub kernel_forwarding: KernelForwarding,
    /// Interfaces the forwarding program attaches to (empty: every interface present at
    /// start).
    pub kernel_interfaces: Vec<String>,
}

/// In-kernel forwarding of plain RTP directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelForwarding {
    /// Every packet is relayed by the media cores.
    Off,
    /// Used when the kernel allows it (Linux 6.6, `CAP_BPF` and `CAP_NET_ADMIN`);
    /// otherwise the cores relay everything, with one warning at start.
    #[default]
    Auto,
    /// Used, and the media plane does not start without it.
    Required,
}

/// Longest allowed [`EngineConfig::wake_interval`]: one 20 ms packet time.
pub const MAX_WAKE_INTERVAL: Duration = Duration::from_millis(20);

impl EngineConfig {
    /// Defaults: every CPU but the first (CPU 0 on a one-CPU machine), bind to all addresses,
    /// ports 30000-39999, 30 s RTP timeout, 512 KiB io_uring memory, 5 s stats, 1 ms
    /// between wake-ups.
    pub fn new(address: IpAddr) -> Self {
        Self {
            cores: default_cores(),
            address,
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            rtp_ports: (30000, 39999),
            rtp_timeout: Duration::from_secs(30),
            io_memory_bytes: 512 * 1024,
            stats_interval: Duration::from_secs(5),
            ring_capacity: 4096,
            recording_dir: PathBuf::from("data/recordings"),
            prompts_dir: None,
            wake_interval: Duration::from_millis(1),
            kernel_forwarding: KernelForwarding::Auto,
            kernel_interfaces: Vec::new(),
        }
    }

    /// Bytes of locked memory the cores will pin (glommio registers `io_memory` with each of
    /// its three rings, rounded up to at least 64 KiB), plus glommio's own minimum.
    pub fn memlock_needed(&self) -> u64 {
        let per_ring = (self.io_memory_bytes.div_ceil(4096) * 4096).max(65536) as u64;
        self.cores.len() as u64 * 3 * per_ring + 512 * 1024
    }

    pub(crate) fn validate(&self) -> Result<(), MediaError> {
        let bad = |field, reason: &str| {
            Err(MediaError::Config {
                field,
                reason: reason.to_string(),
            })
        };
        if self.cores.is_empty() {
            return bad("cores", "at least one core is needed");
        }
        let mut sorted = self.cores.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.cores.len() {
            return bad("cores", "a CPU is listed twice");
        }
        let (lo, hi) = self.rtp_ports;
        if lo == 0 || lo > hi {
            return bad("rtp_ports", "need 0 < first <= last");
        }
        let pairs = port_pairs(self.rtp_ports).count();
        if pairs < self.cores.len() {
            return bad("rtp_ports", "fewer even/odd port pairs than cores");
        }
        if self.wake_interval > MAX_WAKE_INTERVAL {
            return bad("wake_interval", "at most 20 ms (one packet time)");
        }
        if self.ring_capacity < 2 {
            return bad("ring_capacity", "must be at least 2");
        }
        if self.address.is_unspecified() {
            return bad("address", "the advertised address must be a real address");
        }
        if self.address.is_ipv4() != self.bind.is_ipv4() && !self.bind.is_unspecified() {
            return bad("bind", "bind and advertised address families differ");
        }
        Ok(())
    }

    /// The even RTP ports of core `index` (a contiguous share of the range).
    /// Port pairs of all cores together.
    pub(crate) fn port_pairs(&self) -> usize {
        port_pairs(self.rtp_ports).count()
    }

    pub(crate) fn core_ports(&self, index: usize) -> Vec<u16> {
        let all: Vec<u16> = port_pairs(self.rtp_ports).collect();
        let n = self.cores.len().max(1);
        let per = all.len() / n;
        let extra = all.len() % n;
        let start = index * per + index.min(extra);
        let len = per + usize::from(index < extra);
        all.get(start..start + len)
            .map(<[u16]>::to_vec)
            .unwrap_or_default()
    }
}

/// Even ports `p` of the range whose `p + 1` is also in it.
fn port_pairs((lo, hi): (u16, u16)) -> impl Iterator<Item = u16> {
    let first = lo.saturating_add(lo % 2);
    let range: RangeInclusive<u32> = u32::from(first)..=u32::from(hi);
    range
        .step_by(2)
        .filter(move |p| *p < u32::from(hi))
        .filter_map(|p| u16::try_from(p).ok())
}

/// Every online CPU but the first; CPU 0 alone on a one-CPU machine.
pub fn default_cores() -> Vec<usize> {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    if n <= 1 {
        vec![0]
    } else {
        (1..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> EngineConfig {
        EngineConfig::new("127.0.0.1".parse().unwrap())
    }

    #[test]
    fn ports_are_split_in_even_pairs_across_cores() {
        let mut c = cfg();
        c.rtp_ports = (10001, 10010);
        c.cores = vec![1, 2, 3];
        // Pairs: 10002/3, 10004/5, 10006/7, 10008/9 (10010 has no odd partner).
        assert_eq!(c.core_ports(0), vec![10002, 10004]);
        assert_eq!(c.core_ports(1), vec![10006]);
        assert_eq!(c.core_ports(2), vec![10008]);
        assert!(c.validate().is_ok());
        c.rtp_ports = (10002, 10003);
        assert!(c.validate().is_err());
        c.cores = vec![0];
        assert_eq!(c.core_ports(0), vec![10002]);
        c.rtp_ports = (65534, 65535);
        assert_eq!(c.core_ports(0), vec![65534]);
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = cfg();
        c.cores = vec![];
        assert!(matches!(
            c.validate(),
            Err(MediaError::Config { field: "cores", .. })
        ));
        c.cores = vec![1, 1];
        assert!(matches!(
            c.validate(),
            Err(MediaError::Config { field: "cores", .. })
        ));
        c.cores = vec![0];
        c.rtp_ports = (5, 4);
        assert!(matches!(
            c.validate(),
            Err(MediaError::Config {
                field: "rtp_ports",
                ..
            })
        ));
        c.rtp_ports = (30000, 30001);
        c.wake_interval = MAX_WAKE_INTERVAL + Duration::from_micros(1);
        assert!(matches!(
            c.validate(),
            Err(MediaError::Config {
                field: "wake_interval",
                ..
            })
        ));
        c.wake_interval = MAX_WAKE_INTERVAL;
        assert!(c.validate().is_ok());
        c.address = "0.0.0.0".parse().unwrap();
        assert!(matches!(
            c.validate(),
            Err(MediaError::Config {
                field: "address",
                ..
            })
        ));
    }

    #[test]
    fn memlock_estimate_scales_with_cores() {
        let mut c = cfg();
        c.cores = vec![0];
        c.io_memory_bytes = 1 << 20;
        assert_eq!(c.memlock_needed(), 3 * (1 << 20) + 512 * 1024);
        c.cores = vec![0, 1];
        c.io_memory_bytes = 1;
        assert_eq!(c.memlock_needed(), 2 * 3 * 65536 + 512 * 1024);
        assert!(!default_cores().is_empty());
    }
}
