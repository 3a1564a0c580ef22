//! Busy and no-answer forwarding while ringing: the call is retargeted once to the
//! extension the callee's rule names. The caller's leg, its media endpoint and its dialog
//! state stay; the forks of the callee are retired (cancelled when still ringing, a late
//! 2xx ACKed and hung up) and new forks call the target's contacts, after the glue located
//! them ([`Action::Locate`] again, answered while ringing).

use tracing::{debug, info};

use crate::ctx::Ctx;
use crate::io::{Action, Location};
use crate::timers::CallTimer;

use super::branch::{cancel_all, Branch};
use super::ringing::{invite, Best, Ringing};
use super::{CallData, CallLimits, State};

/// Why a call is retargeted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    Busy,
    NoAnswer,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Busy => "busy",
            Why::NoAnswer => "no answer",
        }
    }
}

impl Ringing {
    /// Keeps `candidate` when it ranks better than the best response so far.
    pub(super) fn offer_best(&mut self, candidate: Best) {
        if self
            .best
            .as_ref()
            .is_none_or(|b| candidate.rank() < b.rank())
        {
            self.best = Some(candidate);
        }
    }

    /// The forks of the current target.
    pub(crate) fn current(&self) -> &[Branch] {
        self.branches.get(self.first..).unwrap_or_default()
    }

    /// True while waiting for the forwarding target's location.
    pub(crate) fn is_locating(&self) -> bool {
        self.locating.is_some()
    }

    /// The no-answer forwarding delay passed with the callee still ringing.
    pub(super) fn no_answer(self, d: &mut CallData, ctx: &mut Ctx<'_>) -> State {
        let Some((to, _)) = d.forward.on_no_answer.take() else {
            if self.locating.is_none() && super::voicemail::possible(d) {
                return super::voicemail::answer(d, ctx, self.branches, "no answer");
            }
            return State::Ringing(self);
        };
        if self.locating.is_some() {
            return State::Ringing(self);
        }
        self.retarget(d, ctx, to, Why::NoAnswer)
    }

    /// Retires the current forks and asks the glue for the location of `to`. Only one
    /// retarget per call: the rules are used up. A target that is the caller or the callee
    /// itself is ignored.
    pub(super) fn retarget(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        to: String,
        why: Why,
    ) -> State {
        d.forward = Default::default();
        d.timers.stop(CallTimer::ForwardNoAnswer);
        let callee = d.callee_party.as_ref().map(|p| p.number.as_str());
        if to == d.caller || callee == Some(to.as_str()) {
            debug!(call = %d.id, to = %to, "forwarding loop ignored");
            if self.current().iter().any(Branch::open) {
                return State::Ringing(self); // the callee keeps ringing
            }
            return self.give_up_forward(d, ctx);
        }
        if why == Why::NoAnswer {
            // Should the target fail, the caller hears that nobody answered.
            self.offer_best(Best {
                status: 480,
                reason: "Temporarily Unavailable".to_string(),
                generated: false,
            });
        }
        cancel_all(d, ctx, &mut self.branches, None);
        self.first = self.branches.len();
        self.locating = Some(why);
        debug!(call = %d.id, to = %to, why = why.as_str(), "retargeting the call");
        let reliable = d.a.wants_reliable(false);
        d.a.provisional(
            ctx,
            &mut d.timers,
            181,
            "Call Is Being Forwarded",
            None,
            reliable,
        );
        ctx.action(Action::Locate {
            call: d.id,
            number: to,
        });
        State::Ringing(self)
    }

    /// The glue located the forwarding target: call its contacts, or give the caller the
    /// best response so far when it cannot be called.
    pub(crate) fn located(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        location: Location,
        limits: CallLimits,
    ) -> State {
        let Some(why) = self.locating.take() else {
            return State::Ringing(self);
        };
        let Location::Found { party, targets, .. } = location else {
            debug!(call = %d.id, "forwarding target unknown or disabled");
            return self.give_up_forward(d, ctx);
        };
        let callee = d.callee_party.as_ref().map(|p| p.number.as_str());
        if party.number == d.caller || callee == Some(party.number.as_str()) {
            debug!(call = %d.id, to = %party.number, "forwarding loop ignored");
            return self.give_up_forward(d, ctx);
        }
        if party
            .max_calls
            .is_some_and(|m| limits.callee_calls >= m as usize)
        {
            self.offer_best(Best {
                status: 486,
                reason: "Busy Here".to_string(),
                generated: true,
            });
            return self.give_up_forward(d, ctx);
        }
        if targets.is_empty() {
            debug!(call = %d.id, to = %party.number, "forwarding target not registered");
            return self.give_up_forward(d, ctx);
        }
        let why = why.as_str();
        info!(call = %d.id, from = %d.callee, to = %party.number, why, "call forwarded");
        d.forwarded = Some(format!("forwarded on {why} to {}", party.number));
        d.callee_party = Some(party);
        let forks = invite(d, ctx, targets, self.branches.len());
        self.branches.extend(forks);
        if self.current().iter().any(Branch::open) {
            return State::Ringing(self);
        }
        self.offer_best(Best {
            status: 503,
            reason: "Service Unavailable".to_string(),
            generated: true,
        });
        self.give_up_forward(d, ctx)
    }

    /// The forward cannot be placed: the caller gets the best response of the callee.
    fn give_up_forward(self, d: &mut CallData, ctx: &mut Ctx<'_>) -> State {
        self.finish_best(d, ctx)
    }
}
