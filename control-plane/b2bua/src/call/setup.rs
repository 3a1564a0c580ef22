//! Before the callee is called: the caller's credentials, the callee's contacts and limits,
//! and the media endpoints.

use crate::ctx::Ctx;
use crate::io::{Action, AuthVerdict, CallEvent, Disposition, Location, MediaAddrs, Target};

use super::{ringing, voicemail, CallData, CallLimits, State};

/// Waiting for the media plane; the callee's contacts are known.
#[derive(Debug)]
pub(crate) struct OpeningMedia {
    targets: Vec<Target>,
}

/// The glue's verdict on the caller's credentials.
pub(crate) fn authenticated(d: &mut CallData, ctx: &mut Ctx<'_>, verdict: AuthVerdict) -> State {
    match verdict {
        AuthVerdict::Rejected(reply) => {
            let headers = reply
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            d.a.reject(ctx, reply.status, &reply.reason, headers);
            // Not a call: the caller was not authenticated (a challenge comes first on
            // every call), so no record is written.
            State::Gone
        }
        AuthVerdict::Authenticated(party) => {
            d.caller_party = Some(party);
            ctx.action(Action::Event(CallEvent::Started {
                call: d.id,
                caller: d.caller.clone(),
                callee: d.callee.clone(),
                call_id: d.a.call_id.clone(),
            }));
            ctx.action(Action::Locate {
                call: d.id,
                number: d.callee.clone(),
            });
            State::Locating
        }
    }
}

/// The glue's answer about the callee, with the calls the two parties already have.
pub(crate) fn located(
    d: &mut CallData,
    ctx: &mut Ctx<'_>,
    location: Location,
    limits: CallLimits,
) -> State {
    let (party, targets) = match location {
        Location::Unknown => return d.fail(ctx, 404, "Not Found", Disposition::Failed),
        Location::Disabled(party) => {
            d.callee_party = Some(party);
            return d.fail(ctx, 480, "Temporarily Unavailable", Disposition::Failed);
        }
        Location::Found {
            party,
            targets,
            forward,
        } => {
            d.forward = forward;
            (party, targets)
        }
    };
    let over = |max: Option<u32>, n: usize| max.is_some_and(|m| n >= m as usize);
    let caller_max = d.caller_party.as_ref().and_then(|p| p.max_calls);
    let callee_max = party.max_calls;
    d.callee_party = Some(party);
    if over(caller_max, limits.caller_calls) {
        return d.fail(ctx, 403, "Call Limit Reached", Disposition::Failed);
    }
    if over(callee_max, limits.callee_calls) {
        return d.fail(ctx, 486, "Busy Here", Disposition::Busy);
    }
    if targets.is_empty() && d.forward.voicemail.is_none() {
        return d.fail(ctx, 480, "Temporarily Unavailable", Disposition::Failed);
    }
    d.counted = true;
    d.media_requested = true;
    ctx.action(Action::OpenMedia { call: d.id });
    State::OpeningMedia(OpeningMedia { targets })
}

impl OpeningMedia {
    /// The media plane answered: call the callee's contacts, or fail with 503.
    pub(crate) fn opened(
        self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        media: Option<MediaAddrs>,
    ) -> State {
        let Some(addrs) = media else {
            return d.fail(ctx, 503, "Service Unavailable", Disposition::Failed);
        };
        d.media = Some(addrs);
        if self.targets.is_empty() {
            // Not registered, with a voicemail box (see `located`).
            if voicemail::possible(d) {
                return voicemail::answer(d, ctx, Vec::new(), "not registered");
            }
            return d.fail(ctx, 480, "Temporarily Unavailable", Disposition::Failed);
        }
        // The caller's endpoint is pointed at the caller when media first flows towards it
        // (early media or the answer), so its RTP timeout starts then.
        ringing::start(d, ctx, self.targets, addrs)
    }
}
