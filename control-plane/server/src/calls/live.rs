//! The live-calls registry the API and the dashboard read: list, count, hang up by id.

use std::future::Future;
use std::pin::Pin;

use warden_b2bua::CallId;

use super::Calls;
use crate::api::{CallControl, CallLeg, HangupError, LiveCall, MediaOp, MediaOpFuture};

impl CallControl for Calls {
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
                        // The API does not export its quality type yet; the per-leg figures
                        // are in the call record and in `warden_media_*` metrics.
                        quality: None,
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
