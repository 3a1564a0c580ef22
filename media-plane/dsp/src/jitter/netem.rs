//! A tiny deterministic network emulator for the jitter-buffer tests: per-packet delay from a
//! base plus an exponential tail, random loss, duplication and reordering, all driven by a
//! seeded PRNG so every run is identical.

use crate::testsig::Rng;

/// Impairment settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Netem {
    /// Fixed one-way delay.
    pub base_ms: f64,
    /// Mean of the exponential extra delay.
    pub jitter_mean_ms: f64,
    /// Probability a packet is lost.
    pub loss: f64,
    /// Probability a delivered packet is delivered twice (independent delays).
    pub duplicate: f64,
    /// Probability a packet is held back by `reorder_ms` more (overtaken by later ones).
    pub reorder: f64,
    /// Extra delay of reordered packets.
    pub reorder_ms: f64,
}

impl Netem {
    pub(crate) fn clean(base_ms: f64) -> Self {
        Self {
            base_ms,
            jitter_mean_ms: 0.0,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_ms: 0.0,
        }
    }
}

/// A packet as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub send_ms: u64,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub marker: bool,
}

/// A packet as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub at_ms: u64,
    pub pkt: Sent,
}

/// What the emulator did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub arrivals: Vec<Arrival>,
    /// Indices (into the sent list) of lost packets.
    pub lost: Vec<usize>,
    /// Extra copies delivered.
    pub duplicates: usize,
}

/// Passes `sent` through the impairments with a fixed `seed`; arrivals sorted by time.
pub(crate) fn run(net: Netem, sent: &[Sent], seed: u64) -> Outcome {
    let mut rng = Rng::new(seed);
    let mut out = Outcome::default();
    for (i, p) in sent.iter().enumerate() {
        if rng.unit() < net.loss {
            out.lost.push(i);
            continue;
        }
        let copies = if rng.unit() < net.duplicate { 2 } else { 1 };
        out.duplicates += copies - 1;
        for _ in 0..copies {
            let mut delay = net.base_ms - net.jitter_mean_ms * (1.0 - rng.unit()).ln();
            if rng.unit() < net.reorder {
                delay += net.reorder_ms;
            }
            out.arrivals.push(Arrival {
                at_ms: p.send_ms + delay.round() as u64,
                pkt: *p,
            });
        }
    }
    out.arrivals.sort_by_key(|a| a.at_ms);
    out
}

/// A stream of `n` 20 ms packets starting at `start_ms`.
pub(crate) fn stream(
    n: usize,
    start_ms: u64,
    seq0: u16,
    ts0: u32,
    ssrc: u32,
    ts_step: u32,
) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent {
            send_ms: start_ms + 20 * i as u64,
            seq: seq0.wrapping_add(i as u16),
            ts: ts0.wrapping_add(ts_step.wrapping_mul(i as u32)),
            ssrc,
            marker: i == 0,
        })
        .collect()
}
