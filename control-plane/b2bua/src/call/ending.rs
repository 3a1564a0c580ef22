//! An ended call, kept for a while: a 2xx crossing our CANCEL is ACKed and hung up, a copy
//! of the winning 2xx gets our ACK again, and a BYE crossing ours is answered 200.

use bytes::Bytes;
use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose};
use crate::ids::Dest;

use super::branch::{late_response, Branch};
use super::{Answer, CallData, State};

/// The fork that answered, and our ACK to its 2xx.
#[derive(Debug)]
pub(crate) struct Winner {
    pub(crate) idx: usize,
    pub(crate) tag: String,
    pub(crate) ack: Bytes,
    pub(crate) dest: Dest,
}

/// Over; absorbing late messages until the linger timer.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    branches: Vec<Branch>,
    winner: Option<Winner>,
}

impl Ending {
    pub(crate) fn new(branches: Vec<Branch>, winner: Option<Winner>) -> Self {
        Ending { branches, winner }
    }

    pub(crate) fn branches(&self) -> &[Branch] {
        &self.branches
    }

    pub(crate) fn branches_mut(&mut self) -> &mut [Branch] {
        &mut self.branches
    }

    pub(crate) fn on_response(
        mut self,
        d: &mut CallData,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        answer: Answer<'_, '_>,
    ) -> State {
        match purpose {
            Purpose::Branch(idx) => {
                let winner = self.winner.as_ref().map(|w| (w.idx, w.tag.as_str()));
                if late_response(d, ctx, &mut self.branches, idx, &answer, winner) {
                    if let Some(w) = &self.winner {
                        ctx.transmit(w.dest, w.ack.clone());
                    }
                }
            }
            // A request relayed before the call ended: its sender still needs an answer.
            Purpose::Relay(relay) if answer.status >= 200 => {
                ctx.reply(
                    relay.server,
                    &relay.request,
                    relay.source,
                    481,
                    "Call/Transaction Does Not Exist",
                    Vec::new(),
                );
            }
            _ => {}
        }
        State::Ending(self)
    }

    pub(crate) fn on_request(
        self,
        ctx: &mut Ctx<'_>,
        tx: TxId,
        msg: &Message<'_>,
        reply: Dest,
    ) -> State {
        let (status, reason) = match msg.method() {
            // Our BYE and theirs crossed: the call is over either way.
            Some(Method::Bye) => (200, "OK"),
            _ => (481, "Call/Transaction Does Not Exist"),
        };
        ctx.reply(
            tx,
            msg.as_bytes(),
            reply.flow.peer,
            status,
            reason,
            Vec::new(),
        );
        State::Ending(self)
    }
}
