//! Prometheus metrics: one registry, typed handles for the hot paths (counters, no logs).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of a SIP request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// "in" or "out".
    pub direction: &'static str,
    /// The method, or "OTHER" for extension methods (bounded cardinality).
    pub method: &'static str,
}

/// Labels of a SIP response counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResponseLabels {
    /// "in" or "out".
    pub direction: &'static str,
    /// The CSeq method the response answers.
    pub method: &'static str,
    /// The status code.
    pub status: u16,
}

/// Labels with a single reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why it happened.
    pub reason: &'static str,
}

/// Labels with a transport.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// "UDP" or "TCP".
    pub transport: &'static str,
}

/// Every metric the control plane exports.
pub struct Metrics {
    registry: Registry,
    /// SIP requests in and out, by method.
    pub sip_requests: Family<RequestLabels, Counter>,
    /// SIP responses in and out, by method and status.
    pub sip_responses: Family<ResponseLabels, Counter>,
    /// Messages that failed to parse or frame, by transport.
    pub parse_errors: Family<TransportLabels, Counter>,
    /// Messages dropped before parsing, by reason (rate limit, ban).
    pub dropped: Family<ReasonLabels, Counter>,
    /// Successful REGISTER transactions, by outcome (registered, refreshed, unregistered, query).
    pub registrations: Family<ReasonLabels, Counter>,
    /// Current number of unexpired bindings.
    pub bindings_active: Gauge<i64, AtomicI64>,
    /// Authentication failures, by reason.
    pub auth_failures: Family<ReasonLabels, Counter>,
    /// Sources banned after repeated authentication failures.
    pub bans: Counter,
    /// Sources banned right now.
    pub bans_active: Gauge<i64, AtomicI64>,
    /// Expired bindings removed by the sweeper.
    pub bindings_swept: Counter,
    /// Per-core media plane load.
    pub(crate) media: Arc<crate::media::MediaMetrics>,
    /// Calls: active, started, answered, ended by disposition, per second.
    pub(crate) calls: Arc<crate::calls::CallMetrics>,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("warden");
        let m = Metrics {
            sip_requests: Family::default(),
            sip_responses: Family::default(),
            parse_errors: Family::default(),
            dropped: Family::default(),
            registrations: Family::default(),
            bindings_active: Gauge::default(),
            auth_failures: Family::default(),
            bans: Counter::default(),
            bans_active: Gauge::default(),
            bindings_swept: Counter::default(),
            media: Arc::default(),
            calls: Arc::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sip_requests",
            "SIP requests by direction and method",
            m.sip_requests.clone(),
        );
        registry.register(
            "sip_responses",
            "SIP responses by direction, CSeq method and status",
            m.sip_responses.clone(),
        );
        registry.register(
            "sip_parse_errors",
            "SIP messages that failed to parse or frame",
            m.parse_errors.clone(),
        );
        registry.register(
            "sip_dropped",
            "SIP messages dropped before parsing, by reason",
            m.dropped.clone(),
        );
        registry.register(
            "registrations",
            "Successful REGISTER transactions by outcome",
            m.registrations.clone(),
        );
        registry.register(
            "registrations_active",
            "Unexpired registration bindings",
            m.bindings_active.clone(),
        );
        registry.register(
            "auth_failures",
            "Digest authentication failures by reason",
            m.auth_failures.clone(),
        );
        registry.register(
            "bans",
            "Sources banned after repeated authentication failures",
            m.bans.clone(),
        );
        registry.register(
            "bans_active",
            "Sources banned right now",
            m.bans_active.clone(),
        );
        registry.register(
            "bindings_swept",
            "Expired bindings removed by the sweeper",
            m.bindings_swept.clone(),
        );
        m.media.register(&mut registry);
        m.calls.register(&mut registry);
        Arc::new(Metrics { registry, ..m })
    }

    /// Counts a request.
    pub fn request(&self, direction: &'static str, method: &str) {
        self.sip_requests
            .get_or_create(&RequestLabels {
                direction,
                method: method_label(method),
            })
            .inc();
    }

    /// Counts a response.
    pub fn response(&self, direction: &'static str, method: &str, status: u16) {
        self.sip_responses
            .get_or_create(&ResponseLabels {
                direction,
                method: method_label(method),
                status,
            })
            .inc();
    }

    /// Renders the OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Sets the active-bans gauge.
    pub fn set_bans_active(&self, n: usize) {
        self.bans_active.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets the active-bindings gauge.
    pub fn set_bindings_active(&self, n: u64) {
        self.bindings_active
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// Maps a method to a bounded set of label values.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 14] = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "REFER",
        "MESSAGE",
        "PUBLISH",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::new();
        m.request("in", "REGISTER");
        m.request("in", "FOO");
        m.response("out", "REGISTER", 401);
        let text = m.render();
        assert!(
            text.contains(r#"warden_sip_requests_total{direction="in",method="REGISTER"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"warden_sip_requests_total{direction="in",method="OTHER"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"warden_sip_responses_total{direction="out",method="REGISTER",status="401"} 1"#
            ),
            "{text}"
        );
    }
}
