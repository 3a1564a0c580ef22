//! Network delay statistics that drive the jitter buffer's target delay.
//!
//! For every packet the *transit* `arrival_time − rtp_timestamp` (both in RTP clock units) is
//! recorded. Over the last `window` packets:
//! * `min_transit` is the fastest packet — the reference "zero extra delay" point;
//! * the `quantile` (default 95 %) of `transit − min_transit` is the delay that covers that
//!   share of packets;
//! * the target delay is that quantile plus one frame (the playout clock may run up to ¾
//!   frame early relative to the ideal schedule before it stretches), clamped to the
//!   configured bounds, and never below the initial delay until 16 packets have been seen.
//!
//! RFC 3550's interarrival jitter (the smoothed mean of |ΔD|, gain 1/16) is also maintained,
//! for reporting (RTCP) — the percentile is used for the target because bursty networks make
//! the mean underestimate the tail.

/// Sliding-window delay estimator (allocated once).
#[derive(Debug, Clone)]
pub(crate) struct DelayEstimator {
    window: Vec<i64>,
    scratch: Vec<i64>,
    len: usize,
    pos: usize,
    quantile: f64,
    frame: i64,
    min_target: i64,
    max_target: i64,
    initial: i64,
    min_transit: i64,
    target: i64,
    /// RFC 3550 interarrival jitter, in RTP clock units.
    jitter: f64,
    last_transit: Option<i64>,
}

impl DelayEstimator {
    /// All delays in RTP clock units.
    pub(crate) fn new(
        window: usize,
        quantile: f64,
        frame: i64,
        min_target: i64,
        max_target: i64,
        initial: i64,
    ) -> Self {
        let window = window.max(1);
        Self {
            window: vec![0; window],
            scratch: vec![0; window],
            len: 0,
            pos: 0,
            quantile: quantile.clamp(0.0, 1.0),
            frame,
            min_target,
            max_target,
            initial,
            min_transit: 0,
            target: initial,
            jitter: 0.0,
            last_transit: None,
        }
    }

    /// Forgets the transit history (the RTP timeline changed) but keeps the jitter estimate.
    pub(crate) fn new_timeline(&mut self) {
        self.len = 0;
        self.pos = 0;
        self.last_transit = None;
        self.target = self.target.max(self.initial);
    }

    /// Records one packet's transit time.
    pub(crate) fn update(&mut self, transit: i64) {
        if let Some(last) = self.last_transit {
            let d = transit.saturating_sub(last).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
        self.window[self.pos] = transit;
        self.pos = (self.pos + 1) % self.window.len();
        self.len = (self.len + 1).min(self.window.len());

        let samples = &mut self.scratch[..self.len];
        samples.copy_from_slice(&self.window[..self.len]);
        let min = samples.iter().copied().min().unwrap_or(transit);
        let k = ((self.len - 1) as f64 * self.quantile).round() as usize;
        let (_, q, _) = samples.select_nth_unstable(k.min(self.len - 1));
        let spread = q.saturating_sub(min);
        let mut target = spread.saturating_add(self.frame);
        if self.len < 16 {
            target = target.max(self.initial);
        }
        self.min_transit = min;
        self.target = target.clamp(self.min_target, self.max_target);
    }

    /// Whether any transit has been recorded on the current timeline.
    pub(crate) fn has_data(&self) -> bool {
        self.len > 0
    }

    /// Fastest transit in the window.
    pub(crate) fn min_transit(&self) -> i64 {
        self.min_transit
    }

    /// Target extra delay above the fastest transit.
    pub(crate) fn target(&self) -> i64 {
        self.target
    }

    /// RFC 3550 interarrival jitter in RTP clock units.
    pub(crate) fn jitter(&self) -> f64 {
        self.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_follows_the_tail_of_the_delay_distribution() {
        // Frames of 160 units; delays cycle 0..=99 units extra.
        let mut e = DelayEstimator::new(100, 0.95, 160, 160, 8000, 480);
        for i in 0..300 {
            e.update(1000 + (i * 37) % 100);
        }
        assert_eq!(e.min_transit(), 1000);
        // 95th percentile of 0..=99 is ~94, plus one frame.
        assert!((250..=260).contains(&e.target()), "target {}", e.target());
        // Uniform spread 0..100: mean |ΔD| ≈ 33 for random order; this sequence steps 37/63.
        assert!(
            e.jitter() > 30.0 && e.jitter() < 70.0,
            "jitter {}",
            e.jitter()
        );
    }

    #[test]
    fn clamps_and_initial_floor() {
        let mut e = DelayEstimator::new(64, 0.95, 160, 320, 1600, 960);
        e.update(5);
        assert_eq!(e.target(), 960, "initial delay holds until 16 packets");
        for _ in 0..20 {
            e.update(5);
        }
        assert_eq!(e.target(), 320, "clamped to the minimum");
        for i in 0..64 {
            e.update(if i % 2 == 0 { 5 } else { 100_000 });
        }
        assert_eq!(e.target(), 1600, "clamped to the maximum");
        e.new_timeline();
        assert!(!e.has_data());
        assert_eq!(e.target(), 1600);
    }
}
