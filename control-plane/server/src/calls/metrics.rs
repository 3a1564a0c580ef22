//! Call metrics: active calls, calls started, answered, failed and ended by disposition,
//! calls per second.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Window over which calls per second are averaged, in one-second ticks.
const RATE_WINDOW: usize = 10;

/// Labels of the ended-calls counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DispositionLabels {
    /// `answered`, `busy`, `no_answer`, `failed`, `cancelled`.
    pub(crate) disposition: &'static str,
}

/// Call metrics, registered under `warden_calls_*`.
#[derive(Default)]
pub(crate) struct CallMetrics {
    active: Gauge<i64, AtomicI64>,
    started: Counter,
    answered: Counter,
    failed: Counter,
    ended: Family<DispositionLabels, Counter>,
    per_second: Gauge<f64, AtomicU64>,
    started_total: AtomicU64,
    window: Mutex<VecDeque<u64>>,
    /// DTMF digits by source, unreadable INFO bodies.
    pub(crate) dtmf: super::dtmf::DtmfMetrics,
}

impl CallMetrics {
    /// Registers every metric.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register("calls_active", "Calls in progress", self.active.clone());
        registry.register(
            "calls_started",
            "Calls placed by authenticated callers",
            self.started.clone(),
        );
        registry.register("calls_answered", "Calls answered", self.answered.clone());
        registry.register(
            "calls_failed",
            "Calls that ended with the failed disposition",
            self.failed.clone(),
        );
        registry.register(
            "calls_ended",
            "Calls ended, by disposition",
            self.ended.clone(),
        );
        registry.register(
            "calls_per_second",
            "Calls started per second over the last ten seconds",
            self.per_second.clone(),
        );
        self.dtmf.register(registry);
    }

    pub(crate) fn call_started(&self) {
        self.started.inc();
        self.active.inc();
        self.started_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn call_answered(&self) {
        self.answered.inc();
    }

    /// A call ended; `was_started` is false for calls that never passed authentication.
    pub(crate) fn call_ended(&self, disposition: &'static str, was_started: bool) {
        if was_started {
            self.active.dec();
        }
        if disposition == "failed" {
            self.failed.inc();
        }
        self.ended
            .get_or_create(&DispositionLabels { disposition })
            .inc();
    }

    /// Calls started since the process started.
    pub(crate) fn started_total(&self) -> u64 {
        self.started_total.load(Ordering::Relaxed)
    }

    /// One-second tick: updates the calls-per-second gauge.
    pub(crate) fn tick(&self) {
        let total = self.started_total();
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        w.push_back(total);
        if w.len() > RATE_WINDOW + 1 {
            w.pop_front();
        }
        let (first, n) = (
            w.front().copied().unwrap_or(total),
            w.len().saturating_sub(1),
        );
        let rate = if n == 0 {
            0.0
        } else {
            total.saturating_sub(first) as f64 / n as f64
        };
        self.per_second.set(rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rate() {
        let m = CallMetrics::default();
        let mut registry = Registry::with_prefix("warden");
        m.register(&mut registry);
        m.tick();
        for _ in 0..20 {
            m.call_started();
        }
        m.call_answered();
        m.call_ended("answered", true);
        m.call_ended("failed", true);
        m.call_ended("cancelled", false);
        m.tick();
        m.tick();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("warden_calls_active 18\n"), "{text}");
        assert!(text.contains("warden_calls_started_total 20\n"), "{text}");
        assert!(text.contains("warden_calls_failed_total 1\n"), "{text}");
        assert!(
            text.contains(r#"warden_calls_ended_total{disposition="cancelled"} 1"#),
            "{text}"
        );
        assert!(text.contains("warden_calls_per_second 10.0\n"), "{text}");
        assert_eq!(m.started_total(), 20);
    }
}
