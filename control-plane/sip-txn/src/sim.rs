//! Simulated-time test harness: a clock that jumps from deadline to
//! deadline, recording every transmit and event with its time offset.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{Config, Event, Method, RequestKey, TransactionLayer, Transmit};

/// Milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds.
pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A request key with the given method and branch; the rest is fixed.
pub(crate) fn request_key(method: Method, branch: &str) -> RequestKey {
    RequestKey {
        method,
        branch: branch.to_owned(),
        sent_by: "client.example.com:5060".to_owned(),
        call_id: "call-1@client.example.com".to_owned(),
        from_tag: Some("from-1".to_owned()),
        to_tag: None,
        cseq: 1,
        request_uri: "sip:bob@example.com".to_owned(),
        top_via: format!("SIP/2.0/UDP client.example.com:5060;branch={branch}"),
    }
}

/// An INVITE key with the given branch.
pub(crate) fn invite_key(branch: &str) -> RequestKey {
    request_key(Method::Invite, branch)
}

/// The layer under test plus a simulated clock and a log of its output.
pub(crate) struct Sim {
    pub(crate) layer: TransactionLayer<&'static str>,
    pub(crate) start: Instant,
    pub(crate) now: Instant,
    /// Every transmit, with the time (ms since start) it was collected.
    pub(crate) sent: Vec<(u64, Transmit<&'static str>)>,
    /// Every event, with the time (ms since start) it was collected.
    pub(crate) events: Vec<(u64, Event)>,
}

impl Sim {
    pub(crate) fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub(crate) fn with_config(config: Config) -> Self {
        let start = Instant::now();
        Self {
            layer: TransactionLayer::new(config),
            start,
            now: start,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.now.duration_since(self.start).as_millis()).unwrap()
    }

    /// Collects pending output, stamped with the current time.
    pub(crate) fn drain(&mut self) {
        let at = self.elapsed_ms();
        while let Some(t) = self.layer.poll_transmit() {
            self.sent.push((at, t));
        }
        while let Some(e) = self.layer.poll_event() {
            self.events.push((at, e));
        }
    }

    /// Jumps to the next deadline and fires it. False when there is none.
    pub(crate) fn step(&mut self) -> bool {
        self.drain();
        let Some(at) = self.layer.poll_timeout() else {
            return false;
        };
        assert!(at >= self.now, "deadline in the past");
        self.now = at;
        self.layer.handle_timeout(at);
        if let Some(next) = self.layer.poll_timeout() {
            assert!(next > at, "deadline not after handle_timeout");
        }
        self.drain();
        true
    }

    /// Fires every deadline up to `offset` from start, then sets the clock
    /// to exactly `offset`.
    pub(crate) fn run_until(&mut self, offset: Duration) {
        let target = self.start + offset;
        assert!(target >= self.now, "time goes forward only");
        self.drain();
        while self.layer.poll_timeout().is_some_and(|at| at <= target) {
            self.step();
        }
        self.now = target;
    }

    /// Fires deadlines until none is left.
    pub(crate) fn run_to_idle(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("layer never went idle");
    }

    /// Times (ms) at which exactly `bytes` was transmitted.
    pub(crate) fn sent_times(&self, bytes: &[u8]) -> Vec<u64> {
        self.sent
            .iter()
            .filter(|(_, t)| t.bytes == Bytes::copy_from_slice(bytes))
            .map(|(at, _)| *at)
            .collect()
    }
}
