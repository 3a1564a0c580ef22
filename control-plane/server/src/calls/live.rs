//! The live-calls registry the API and the dashboard read: list, count, hang up by id.

use std::future::Future;
use std::pin::Pin;

use warden_b2bua::{CallId, Leg};
use warden_media::StreamStats;

use super::{worker, Calls};
use crate::api::{CallControl, CallLeg, HangupError, LegQuality, LiveCall, MediaOp, MediaOpFuture};

impl Calls {
    /// The quality of what the media plane last reported receiving from `leg`'s party.
    fn leg_quality(&self, call: CallId, leg: Leg) -> Option<LegQuality> {
        let endpoints = self.calls.lock().ok()?.get(&call)?.endpoints?;
        let endpoint = match leg {
            Leg::A => endpoints.0,
            Leg::B => endpoints.1,
        };
        let stats = self.stats.lock().ok()?.get(&endpoint).copied()?;
        leg_quality(&stats)
    }
}

/// The API's figures for one endpoint's statistics; `None` before the first packet.
fn leg_quality(s: &StreamStats) -> Option<LegQuality> {
    let q = worker::quality(s)?;
    Some(LegQuality {
        packets_received: s.packets_received,
        packets_lost: s.packets_lost,
        packets_sent: s.packets_sent,
        loss_pct: q.loss_pct,
        jitter_ms: q.jitter_ms,
        mos: q.mos,
    })
}

impl CallControl for Calls {
    fn directory_changed(&self, number: &str) {
        self.directory.forget_number(number);
    }

    fn list(&self) -> Vec<LiveCall> {
        let infos = self.b2bua.lock().map(|b| b.calls()).unwrap_or_default();
        infos
            .into_iter()
            .map(|c| LiveCall {
                id: c.id.to_string(),
                caller: c.caller.clone(),
                callee: c.callee.clone(),
                state: c.phase.as_str().to_string(),
                started_at: self.utc(c.started_at),
                answered_at: c.answered_at.map(|a| self.utc(a)),
                codec: c.codec.clone(),
                media_core: self
                    .calls
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&c.id).and_then(|m| m.core))
                    .and_then(|core| u32::try_from(core).ok()),
                legs: c
                    .legs
                    .iter()
                    .map(|l| CallLeg {
                        call_id: l.call_id.clone(),
                        party: l.party.clone(),
                        remote: l.remote.map(|r| r.to_string()),
                        codec: c.codec.clone(),
                        quality: self.leg_quality(c.id, l.leg),
                    })
                    .collect(),
            })
            .collect()
    }

    fn hangup<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), HangupError>> + Send + 'a>> {
        Box::pin(async move {
            let call = CallId::parse(id).ok_or(HangupError::NotFound)?;
            let mut found = false;
            self.input(|b, now| found = b.hang_up(now, call).is_ok());
            if found {
                Ok(())
            } else {
                Err(HangupError::NotFound)
            }
        })
    }

    fn calls_started(&self) -> u64 {
        self.metrics.calls.started_total()
    }

    fn media_op<'a>(&'a self, id: &'a str, op: MediaOp) -> MediaOpFuture<'a> {
        self.media_op_boxed(id, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_quality_from_media_statistics() {
        assert_eq!(
            leg_quality(&StreamStats::default()),
            None,
            "nothing received yet"
        );
        let s = StreamStats {
            packets_received: 250,
            packets_lost: 0,
            packets_sent: 249,
            jitter_us: 1500,
            mos_x100: 441,
            ..StreamStats::default()
        };
        let q = leg_quality(&s).unwrap();
        assert_eq!(
            (q.packets_received, q.packets_lost, q.packets_sent),
            (250, 0, 249)
        );
        assert_eq!((q.loss_pct, q.jitter_ms, q.mos), (0.0, 1.5, 4.41));
    }
}
