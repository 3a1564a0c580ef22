//! What the four transaction state machines share: the step context, the
//! reasons a transaction ends, and the dispatch over the four kinds.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::client_invite::ClientInvite;
use crate::client_non_invite::ClientNonInvite;
use crate::server_invite::ServerInvite;
use crate::server_non_invite::ServerNonInvite;
use crate::timer::{TimerKind, TimerTable};
use crate::{ClientResponse, Config, ServerRequest, TxError, TxId};

/// The four kinds of transaction of RFC 3261 section 17.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// INVITE client transaction (figure 5).
    ClientInvite,
    /// Non-INVITE client transaction (figure 6).
    ClientNonInvite,
    /// INVITE server transaction (figure 7, with the RFC 6026 Accepted state).
    ServerInvite,
    /// Non-INVITE server transaction (figure 8).
    ServerNonInvite,
}

/// The state of a transaction, for introspection and error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxState {
    /// INVITE client: request sent, no response yet.
    Calling,
    /// Non-INVITE: request sent (client) or received (server), no response yet.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response (non-2xx for INVITE) was received or sent.
    Completed,
    /// INVITE server: the ACK for a non-2xx final response was received.
    Confirmed,
    /// INVITE (RFC 6026): a 2xx final response was received or sent.
    Accepted,
    /// The transaction has ended.
    Terminated,
}

impl fmt::Display for TxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why a transaction reached the Terminated state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Termination {
    /// Normal end of the state machine.
    Normal,
    /// Timer B or F fired: no final response.
    Timeout,
    /// Timer H fired: no ACK for a non-2xx final response.
    AckTimeout,
    /// The transport reported a failure.
    TransportError,
}

/// The placeholder and final state of every machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Terminated {
    pub(crate) reason: Termination,
}

impl Default for Terminated {
    fn default() -> Self {
        Self {
            reason: Termination::Normal,
        }
    }
}

/// Everything a transition may touch: the clock, the configuration, the
/// transaction's timers and its outgoing messages.
pub(crate) struct Ctx<'a> {
    pub(crate) tx: TxId,
    pub(crate) now: Instant,
    pub(crate) config: &'a Config,
    pub(crate) reliable: bool,
    pub(crate) timers: &'a mut TimerTable,
    pub(crate) sends: &'a mut Vec<Bytes>,
}

impl Ctx<'_> {
    /// Queues `bytes` for the transaction's peer.
    pub(crate) fn send(&mut self, bytes: &Bytes) {
        self.sends.push(bytes.clone());
    }

    /// Arms `kind` with its configured duration.
    pub(crate) fn arm(&mut self, kind: TimerKind) {
        let after = self.config.duration(kind, self.reliable);
        self.timers.set(kind, self.now, after);
    }

    /// Arms `kind` to fire `after` from now.
    pub(crate) fn arm_after(&mut self, kind: TimerKind, after: Duration) {
        self.timers.set(kind, self.now, after);
    }

    /// Disarms `kind`.
    pub(crate) fn stop(&mut self, kind: TimerKind) {
        self.timers.stop(kind);
    }

    /// The error for an operation the current state does not allow.
    pub(crate) fn invalid(&self, state: TxState, operation: &'static str) -> TxError {
        TxError::InvalidState {
            tx: self.tx,
            state,
            operation,
        }
    }
}

/// Runs a consuming transition on the state stored in `slot`.
pub(crate) fn step<S: Default, R>(slot: &mut S, transition: impl FnOnce(S) -> (S, R)) -> R {
    let (next, result) = transition(std::mem::take(slot));
    *slot = next;
    result
}

/// One transaction's state machine, whichever its kind.
// The variant names are the RFC's names for the four machines.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
pub(crate) enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    pub(crate) fn kind(&self) -> TxKind {
        match self {
            Self::ClientInvite(_) => TxKind::ClientInvite,
            Self::ClientNonInvite(_) => TxKind::ClientNonInvite,
            Self::ServerInvite(_) => TxKind::ServerInvite,
            Self::ServerNonInvite(_) => TxKind::ServerNonInvite,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Self::ClientInvite(m) => m.state(),
            Self::ClientNonInvite(m) => m.state(),
            Self::ServerInvite(m) => m.state(),
            Self::ServerNonInvite(m) => m.state(),
        }
    }

    /// `Some(reason)` once the machine reached Terminated.
    pub(crate) fn termination(&self) -> Option<Termination> {
        match self {
            Self::ClientInvite(ClientInvite::Terminated(t))
            | Self::ClientNonInvite(ClientNonInvite::Terminated(t))
            | Self::ServerInvite(ServerInvite::Terminated(t))
            | Self::ServerNonInvite(ServerNonInvite::Terminated(t)) => Some(t.reason),
            _ => None,
        }
    }

    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        match self {
            Self::ClientInvite(m) => step(m, |s| (s.on_timer(ctx, kind), ())),
            Self::ClientNonInvite(m) => step(m, |s| (s.on_timer(ctx, kind), ())),
            Self::ServerInvite(m) => step(m, |s| (s.on_timer(ctx, kind), ())),
            Self::ServerNonInvite(m) => step(m, |s| (s.on_timer(ctx, kind), ())),
        }
    }

    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, status: u16) -> ClientResponse {
        match self {
            Self::ClientInvite(m) => step(m, |s| s.on_response(ctx, status)),
            Self::ClientNonInvite(m) => step(m, |s| s.on_response(ctx, status)),
            // Server transactions are never indexed for responses.
            Self::ServerInvite(_) | Self::ServerNonInvite(_) => ClientResponse::Stray,
        }
    }

    pub(crate) fn set_ack(&mut self, ctx: &mut Ctx<'_>, ack: Bytes) -> Result<(), TxError> {
        match self {
            Self::ClientInvite(m) => m.set_ack(ctx, ack),
            _ => Err(TxError::WrongKind {
                tx: ctx.tx,
                kind: self.kind(),
                operation: "set_ack",
            }),
        }
    }

    /// A retransmission of the request that created a server transaction.
    pub(crate) fn on_request_retransmit(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Self::ServerInvite(m) => m.on_request_retransmit(ctx),
            Self::ServerNonInvite(m) => m.on_request_retransmit(ctx),
            Self::ClientInvite(_) | Self::ClientNonInvite(_) => {}
        }
    }

    /// An ACK that matched this (INVITE server) transaction.
    pub(crate) fn on_ack(&mut self, ctx: &mut Ctx<'_>) -> ServerRequest {
        match self {
            Self::ServerInvite(m) => step(m, |s| s.on_ack(ctx)),
            _ => ServerRequest::StrayAck,
        }
    }

    pub(crate) fn send_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: u16,
        bytes: Bytes,
    ) -> Result<(), TxError> {
        match self {
            Self::ServerInvite(m) => step(m, |s| s.send_response(ctx, status, bytes)),
            Self::ServerNonInvite(m) => step(m, |s| s.send_response(ctx, status, bytes)),
            _ => Err(TxError::WrongKind {
                tx: ctx.tx,
                kind: self.kind(),
                operation: "send_response",
            }),
        }
    }

    pub(crate) fn defer_trying(&mut self, ctx: &mut Ctx<'_>, trying: Bytes) -> Result<(), TxError> {
        match self {
            Self::ServerInvite(m) => step(m, |s| s.defer_trying(ctx, trying)),
            _ => Err(TxError::WrongKind {
                tx: ctx.tx,
                kind: self.kind(),
                operation: "defer_trying",
            }),
        }
    }

    /// Ends the transaction at once (transport failure).
    pub(crate) fn abort(&mut self, reason: Termination) {
        let terminated = Terminated { reason };
        match self {
            Self::ClientInvite(m) => *m = ClientInvite::Terminated(terminated),
            Self::ClientNonInvite(m) => *m = ClientNonInvite::Terminated(terminated),
            Self::ServerInvite(m) => *m = ServerInvite::Terminated(terminated),
            Self::ServerNonInvite(m) => *m = ServerNonInvite::Terminated(terminated),
        }
    }
}

/// Response classes, as the state machines branch on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Provisional,
    Success,
    Failure,
}

impl Class {
    /// Classifies a status code already checked to be in 100..=699.
    pub(crate) fn of(status: u16) -> Self {
        match status {
            0..=199 => Self::Provisional,
            200..=299 => Self::Success,
            _ => Self::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Class::of(100), Class::Provisional);
        assert_eq!(Class::of(183), Class::Provisional);
        assert_eq!(Class::of(200), Class::Success);
        assert_eq!(Class::of(299), Class::Success);
        assert_eq!(Class::of(300), Class::Failure);
        assert_eq!(Class::of(699), Class::Failure);
    }

    #[test]
    fn step_replaces_the_state() {
        #[derive(Default, Debug, PartialEq)]
        enum S {
            #[default]
            A,
            B,
        }
        let mut s = S::A;
        let r = step(&mut s, |old| {
            assert_eq!(old, S::A);
            (S::B, 7)
        });
        assert_eq!((s, r), (S::B, 7));
    }
}
