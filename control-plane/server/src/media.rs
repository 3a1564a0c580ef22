//! The media plane as the control plane sees it: started from the `media:` configuration, its
//! per-core load exported to `/metrics`, and its handle shared with the call logic.
//!
//! Everything here runs on the control side; the media cores only see their rings.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use warden_config::Config;
use warden_media::{
    CoreLoadSnapshot, DropReason, EngineConfig, EventPump, KernelForwarding, MediaPlane, Pumped,
};

use crate::error::ControlError;

/// How often the per-core counters are copied into the metrics.
const METRICS_PERIOD: Duration = Duration::from_secs(1);

/// The CPU ids this process may use (what `media.cores` and `control_threads` are resolved
/// against).
pub fn available_cpus() -> Vec<usize> {
    (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
}

/// Maps the `media:` section onto the engine's configuration.
pub(crate) fn engine_config(config: &Config) -> EngineConfig {
    let m = &config.media;
    let available = available_cpus();
    let bind = match m.address {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    EngineConfig {
        cores: m.resolve_cores(&available),
        address: m.address,
        bind,
        rtp_ports: (m.rtp_ports.start, m.rtp_ports.end),
        rtp_timeout: Duration::from_secs(u64::from(m.rtp_timeout_secs)),
        io_memory_bytes: usize::try_from(m.io_memory_mib).unwrap_or(1) << 20,
        wake_interval: Duration::from_micros(u64::from(m.wake_interval_us)),
        kernel_forwarding: match m.kernel_forwarding {
            warden_config::KernelForwarding::Off => KernelForwarding::Off,
            warden_config::KernelForwarding::Auto => KernelForwarding::Auto,
            warden_config::KernelForwarding::Required => KernelForwarding::Required,
        },
        kernel_interfaces: m.kernel_interfaces.clone(),
        recording_dir: config.recording_dir(),
        prompts_dir: Some(config.prompts_dir()),
        ..EngineConfig::new(m.address)
    }
}

/// Starts the media plane (one pinned executor per configured core), with its event pump
/// as a task on the current runtime.
pub(crate) fn start(config: &Config) -> Result<MediaPlane, ControlError> {
    let engine = engine_config(config);
    let (plane, pump) = MediaPlane::start_with_pump(engine.clone())
        .map_err(|e| ControlError::Media(e.to_string()))?;
    spawn_pump(pump)?;
    tracing::info!(cores = ?engine.cores, address = %engine.address, ports = ?engine.rtp_ports, "media plane started");
    Ok(plane)
}

/// Runs the media plane's event pump as a task: a core's reply wakes this runtime directly
/// and completes its waiter here, with no thread in between.
fn spawn_pump(mut pump: EventPump) -> Result<(), ControlError> {
    // SAFETY: the bell owns (a share of) its eventfd, so the descriptor stays open and the
    // same for as long as the `AsyncFd` holds the bell.
    let bell = unsafe { AsyncFd::register_with_interest(pump.bell(), Interest::READABLE) }
        .map_err(|e| ControlError::Media(format!("media event bell: {e}")))?;
    tokio::spawn(async move {
        while pump.pump() != Pumped::Stopped {
            match bell.readable().await {
                // Cleared before the next pump resets the bell: a ring after that wakes us.
                Ok(mut ready) => ready.clear_ready(),
                Err(e) => {
                    tracing::error!(error = %e, "media event bell failed; media replies stop");
                    break;
                }
            }
        }
    });
    Ok(())
}

/// Labels of a per-core metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CoreLabels {
    /// The CPU the core is pinned to.
    pub(crate) cpu: u32,
}

/// Labels of a per-core drop counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DropLabels {
    /// The CPU the core is pinned to.
    pub(crate) cpu: u32,
    /// Why packets were dropped.
    pub(crate) reason: &'static str,
}

/// Per-core media metrics.
#[derive(Default)]
pub(crate) struct MediaMetrics {
    sessions: Family<CoreLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    endpoints: Family<CoreLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    packets_in: Family<CoreLabels, Counter<u64, AtomicU64>>,
    packets_out: Family<CoreLabels, Counter<u64, AtomicU64>>,
    bytes_in: Family<CoreLabels, Counter<u64, AtomicU64>>,
    bytes_out: Family<CoreLabels, Counter<u64, AtomicU64>>,
    drops: Family<DropLabels, Counter<u64, AtomicU64>>,
    busy: Family<CoreLabels, Counter<f64, AtomicU64>>,
    cpu_time: Family<CoreLabels, Counter<f64, AtomicU64>>,
    dtmf_digits: Family<CoreLabels, Counter<u64, AtomicU64>>,
    dtmf_malformed: Family<CoreLabels, Counter<u64, AtomicU64>>,
    xcode_bridges: Family<CoreLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    xcode_decoded: Family<CoreLabels, Counter<u64, AtomicU64>>,
    xcode_encoded: Family<CoreLabels, Counter<u64, AtomicU64>>,
    xcode_concealed: Family<CoreLabels, Counter<u64, AtomicU64>>,
    xcode_dropped: Family<CoreLabels, Counter<u64, AtomicU64>>,
    kernel_handoffs: Family<CoreLabels, Counter<u64, AtomicU64>>,
    kernel_packets: Family<CoreLabels, Counter<u64, AtomicU64>>,
    kernel_bytes: Family<CoreLabels, Counter<u64, AtomicU64>>,
    kernel_errors: Family<CoreLabels, Counter<u64, AtomicU64>>,
    /// The last interval's rates per core, for the API.
    latest: Mutex<Vec<crate::api::CoreLoad>>,
}

impl MediaMetrics {
    /// Registers every family under `warden_media_*`.
    pub(crate) fn register(self: &Arc<Self>, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("media");
        r.register(
            "sessions",
            "Call sessions placed on the core",
            self.sessions.clone(),
        );
        r.register(
            "endpoints",
            "Live RTP endpoints on the core",
            self.endpoints.clone(),
        );
        r.register(
            "packets_in",
            "Datagrams received by the core",
            self.packets_in.clone(),
        );
        r.register(
            "packets_out",
            "Datagrams sent by the core",
            self.packets_out.clone(),
        );
        r.register(
            "bytes_in",
            "Bytes received by the core",
            self.bytes_in.clone(),
        );
        r.register(
            "bytes_out",
            "Bytes sent by the core",
            self.bytes_out.clone(),
        );
        r.register(
            "drops",
            "Packets dropped by the core, by reason",
            self.drops.clone(),
        );
        r.register(
            "busy_seconds",
            "Time the core spent working",
            self.busy.clone(),
        );
        r.register(
            "cpu_seconds",
            "CPU time of the core's thread",
            self.cpu_time.clone(),
        );
        r.register(
            "dtmf_digits",
            "DTMF key presses detected by the core (RFC 4733 and in-band)",
            self.dtmf_digits.clone(),
        );
        r.register(
            "dtmf_malformed",
            "Telephone-event packets whose payload did not parse (relayed anyway)",
            self.dtmf_malformed.clone(),
        );
        r.register(
            "transcoding_bridges",
            "Transcoding bridges running on the core",
            self.xcode_bridges.clone(),
        );
        r.register(
            "transcoding_frames_decoded",
            "20 ms frames the core's transcoding bridges decoded from packets",
            self.xcode_decoded.clone(),
        );
        r.register(
            "transcoding_frames_encoded",
            "20 ms frames the core's transcoding bridges encoded",
            self.xcode_encoded.clone(),
        );
        r.register(
            "transcoding_frames_concealed",
            "20 ms frames the core's transcoding bridges concealed (loss, FEC, undecodable)",
            self.xcode_concealed.clone(),
        );
        r.register(
            "transcoding_dropped",
            "Packets the core's transcoding bridges did not play, and frames lost to codec errors",
            self.xcode_dropped.clone(),
        );
        r.register(
            "kernel_handoffs",
            "RTP directions the core handed to the in-kernel forwarder",
            self.kernel_handoffs.clone(),
        );
        r.register(
            "kernel_packets",
            "RTP packets the kernel forwarded for the core (counted when the core takes a direction back)",
            self.kernel_packets.clone(),
        );
        r.register(
            "kernel_payload_bytes",
            "Payload bytes of those packets",
            self.kernel_bytes.clone(),
        );
        r.register(
            "kernel_errors",
            "In-kernel forwarder map operations that failed",
            self.kernel_errors.clone(),
        );
    }

    /// Copies one snapshot per core into the metrics (counters advance by the difference) and
    /// keeps the interval's rates for the API. `elapsed` is the time between the snapshots.
    fn update(
        &self,
        cpus: &[usize],
        now: &[CoreLoadSnapshot],
        before: &[CoreLoadSnapshot],
        elapsed: Duration,
    ) {
        let secs_elapsed = elapsed.as_secs_f64().max(1e-3);
        let mut latest = Vec::with_capacity(now.len());
        for (i, snap) in now.iter().enumerate() {
            let cpu = u32::try_from(cpus.get(i).copied().unwrap_or(i)).unwrap_or(u32::MAX);
            let prev = before.get(i).copied().unwrap_or_default();
            let core = CoreLabels { cpu };
            let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.sessions.get_or_create(&core).set(gauge(snap.sessions));
            self.endpoints
                .get_or_create(&core)
                .set(gauge(snap.endpoints));
            self.packets_in
                .get_or_create(&core)
                .inc_by(snap.packets_in.saturating_sub(prev.packets_in));
            self.packets_out
                .get_or_create(&core)
                .inc_by(snap.packets_out.saturating_sub(prev.packets_out));
            self.bytes_in
                .get_or_create(&core)
                .inc_by(snap.bytes_in.saturating_sub(prev.bytes_in));
            self.bytes_out
                .get_or_create(&core)
                .inc_by(snap.bytes_out.saturating_sub(prev.bytes_out));
            for reason in DropReason::ALL {
                let d = snap.dropped(reason).saturating_sub(prev.dropped(reason));
                self.drops
                    .get_or_create(&DropLabels {
                        cpu,
                        reason: reason.label(),
                    })
                    .inc_by(d);
            }
            let secs = |ns: u64| ns as f64 / 1e9;
            self.busy
                .get_or_create(&core)
                .inc_by(secs(snap.busy_ns.saturating_sub(prev.busy_ns)));
            self.cpu_time
                .get_or_create(&core)
                .inc_by(secs(snap.cpu_ns.saturating_sub(prev.cpu_ns)));
            self.dtmf_digits
                .get_or_create(&core)
                .inc_by(snap.dtmf_digits.saturating_sub(prev.dtmf_digits));
            for (family, now, then) in [
                (
                    &self.kernel_handoffs,
                    snap.kernel_handoffs,
                    prev.kernel_handoffs,
                ),
                (
                    &self.kernel_packets,
                    snap.kernel_packets,
                    prev.kernel_packets,
                ),
                (&self.kernel_bytes, snap.kernel_bytes, prev.kernel_bytes),
                (&self.kernel_errors, snap.kernel_errors, prev.kernel_errors),
            ] {
                family.get_or_create(&core).inc_by(now.saturating_sub(then));
            }
            self.dtmf_malformed
                .get_or_create(&core)
                .inc_by(snap.dtmf_malformed.saturating_sub(prev.dtmf_malformed));
            self.xcode_bridges
                .get_or_create(&core)
                .set(gauge(snap.xcode_bridges));
            for (family, now, before) in [
                (&self.xcode_decoded, snap.xcode_decoded, prev.xcode_decoded),
                (&self.xcode_encoded, snap.xcode_encoded, prev.xcode_encoded),
                (
                    &self.xcode_concealed,
                    snap.xcode_concealed,
                    prev.xcode_concealed,
                ),
                (&self.xcode_dropped, snap.xcode_dropped, prev.xcode_dropped),
            ] {
                family
                    .get_or_create(&core)
                    .inc_by(now.saturating_sub(before));
            }
            let per_sec = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs_elapsed;
            latest.push(crate::api::CoreLoad {
                core: cpu,
                sessions: snap.sessions,
                packets_in_per_sec: per_sec(snap.packets_in, prev.packets_in),
                packets_out_per_sec: per_sec(snap.packets_out, prev.packets_out),
                dropped_total: snap.drops.iter().sum(),
                kernel_packets_total: snap.kernel_packets,
                busy_pct: (secs(snap.busy_ns.saturating_sub(prev.busy_ns)) / secs_elapsed * 100.0)
                    .min(100.0),
            });
        }
        if let Ok(mut l) = self.latest.lock() {
            *l = latest;
        }
    }
}

impl crate::api::MediaStats for MediaMetrics {
    fn cores(&self) -> Vec<crate::api::CoreLoad> {
        self.latest.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Copies the media plane's per-core load into the metrics every second.
pub(crate) fn spawn_metrics(plane: MediaPlane, metrics: Arc<MediaMetrics>) {
    tokio::spawn(async move {
        let cpus = plane.cpus();
        let mut before = vec![CoreLoadSnapshot::default(); cpus.len()];
        let mut then = Instant::now();
        let mut tick = tokio::time::interval(METRICS_PERIOD);
        loop {
            tick.tick().await;
            let now = plane.load();
            metrics.update(&cpus, &now, &before, then.elapsed());
            then = Instant::now();
            before = now;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_config_follows_the_media_section() {
        let mut config = Config::default();
        config.media.cores = Some(vec![0]);
        config.media.rtp_ports = warden_config::PortRange::new(20000, 20100).unwrap();
        config.media.rtp_timeout_secs = 7;
        config.media.io_memory_mib = 2;
        config.media.wake_interval_us = 1500;
        let e = engine_config(&config);
        assert_eq!(e.cores, vec![0]);
        assert_eq!(e.rtp_ports, (20000, 20100));
        assert_eq!(e.rtp_timeout, Duration::from_secs(7));
        assert_eq!(e.io_memory_bytes, 2 << 20);
        assert_eq!(e.wake_interval, Duration::from_micros(1500));
        // The largest interval the configuration accepts is one the media plane accepts.
        config.media.wake_interval_us = warden_config::MAX_WAKE_INTERVAL_US;
        assert_eq!(
            engine_config(&config).wake_interval,
            warden_media::MAX_WAKE_INTERVAL
        );
        assert_eq!(e.address, config.media.address);
        assert!(e.bind.is_unspecified());
    }

    #[test]
    fn counters_advance_by_the_difference_between_snapshots() {
        let m = Arc::new(MediaMetrics::default());
        let mut registry = Registry::with_prefix("warden");
        m.register(&mut registry);
        let first = CoreLoadSnapshot {
            packets_in: 10,
            sessions: 2,
            ..Default::default()
        };
        m.update(
            &[1],
            &[first],
            &[CoreLoadSnapshot::default()],
            Duration::from_secs(1),
        );
        let second = CoreLoadSnapshot {
            packets_in: 25,
            sessions: 1,
            busy_ns: 500_000_000,
            ..Default::default()
        };
        m.update(&[1], &[second], &[first], Duration::from_secs(1));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"warden_media_packets_in_total{cpu="1"} 25"#),
            "{text}"
        );
        assert!(
            text.contains(r#"warden_media_sessions{cpu="1"} 1"#),
            "{text}"
        );
        // The API sees the last interval as rates.
        let cores = crate::api::MediaStats::cores(&*m);
        assert_eq!(cores.len(), 1);
        assert_eq!(cores[0].core, 1);
        assert!((cores[0].packets_in_per_sec - 15.0).abs() < 1e-9);
        assert!((cores[0].busy_pct - 50.0).abs() < 1e-9);
    }
}
