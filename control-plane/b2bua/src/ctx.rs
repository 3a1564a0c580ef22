//! What a call's handlers may touch: the clock reading of the current input, the
//! transaction layer, the output queues, the random source and the routing index.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use rand::rngs::StdRng;
use tracing::debug;
use warden_sip_proto::{parse_message, Message};
use warden_sip_txn::{TransactionLayer, TxId};

use crate::config::Config;
use crate::ids::{CallId, Dest, Flow, Leg};
use crate::io::{Action, Transmit};
use crate::msg;

/// What a client transaction of a call is for.
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    /// The INVITE to contact `n` of the callee.
    Branch(usize),
    /// A request whose answer changes nothing (CANCEL, BYE, PRACK).
    Fire,
    /// A request relayed from the other leg: its answer goes back on `server`.
    Relay(Relay),
    /// A session refresh we sent on a leg.
    Refresh(Leg),
}

/// A request relayed from one leg to the other.
#[derive(Clone, Debug)]
pub(crate) struct Relay {
    /// The leg the request came from.
    pub(crate) from: Leg,
    /// Its server transaction.
    pub(crate) server: TxId,
    /// The request as received (to build the response).
    pub(crate) request: Bytes,
    /// Where the request came from.
    pub(crate) source: std::net::SocketAddr,
    /// True when it carried an offer (re-INVITE or UPDATE with SDP).
    pub(crate) offer: bool,
    /// True when the request we sent is an INVITE (its 2xx needs our ACK).
    pub(crate) sent_invite: bool,
    /// True when the request we received is an INVITE (our 2xx waits for its ACK).
    pub(crate) got_invite: bool,
}

/// Output queues.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) actions: VecDeque<Action>,
}

/// Key of a dialog: Call-ID and our tag.
pub(crate) type DialogKey = (String, String);

/// Routing of arriving messages to calls.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Dialogs (early or confirmed) by Call-ID and our tag.
    pub(crate) dialogs: HashMap<DialogKey, (CallId, Leg)>,
    /// Client transactions of calls.
    pub(crate) txs: HashMap<TxId, (CallId, Purpose)>,
    /// The caller's INVITE server transactions (for CANCEL).
    pub(crate) invites: HashMap<TxId, CallId>,
    /// Our INVITE requests, to build the ACK of a non-2xx final response.
    pub(crate) client_invites: HashMap<TxId, Bytes>,
}

/// The context of one input, lent to a call's handlers.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) config: &'a Config,
    pub(crate) txl: &'a mut TransactionLayer<Dest>,
    pub(crate) out: &'a mut Outputs,
    pub(crate) rng: &'a mut StdRng,
    pub(crate) index: &'a mut Index,
}

impl Ctx<'_> {
    /// Queues an action for the glue.
    pub(crate) fn action(&mut self, action: Action) {
        self.out.actions.push_back(action);
    }

    /// Sends bytes outside any transaction (ACK for 2xx, 2xx retransmissions).
    pub(crate) fn transmit(&mut self, dest: Dest, bytes: Bytes) {
        self.out.transmits.push_back(Transmit {
            dest,
            bytes,
            tx: None,
        });
    }

    /// A new branch.
    pub(crate) fn branch(&mut self) -> String {
        msg::branch(self.rng)
    }

    /// A new random token.
    pub(crate) fn token(&mut self, bytes: usize) -> String {
        msg::token(self.rng, bytes)
    }

    /// Our Via on `flow` with `branch`.
    pub(crate) fn via(&self, flow: &Flow, branch: &str) -> String {
        msg::via(flow, self.config.advertise_ip, branch)
    }

    /// Answers a server transaction.
    pub(crate) fn respond(&mut self, tx: TxId, status: u16, bytes: Bytes) {
        if let Err(e) = self.txl.send_response(self.now, tx, status, bytes) {
            debug!(error = %e, %tx, status, "response not accepted by the transaction");
        }
    }

    /// Answers the request `request` (raw bytes, from `source`) on `tx` with a short
    /// response: no body, optional extra headers.
    pub(crate) fn reply(
        &mut self,
        tx: TxId,
        request: &[u8],
        source: std::net::SocketAddr,
        status: u16,
        reason: &str,
        headers: Vec<(&str, String)>,
    ) {
        let server = self.config.user_agent.clone();
        let spec = msg::ResponseSpec {
            status,
            reason,
            to_tag: None,
            source,
            headers,
            server: &server,
            body: None,
        };
        if let Some(bytes) = spec.to_bytes(request) {
            self.respond(tx, status, bytes);
        }
    }

    /// Starts a client transaction for a request of call `call` and files its purpose.
    pub(crate) fn send_request(
        &mut self,
        call: CallId,
        purpose: Purpose,
        dest: Dest,
        bytes: Bytes,
    ) -> Option<TxId> {
        let key = parse_message(&bytes)
            .ok()
            .as_ref()
            .and_then(msg::request_key)?;
        let invite = key.method.is_invite();
        match self.txl.send_request(
            self.now,
            key,
            dest,
            dest.flow.transport.is_reliable(),
            bytes.clone(),
        ) {
            Ok(tx) => {
                self.index.txs.insert(tx, (call, purpose));
                if invite {
                    self.index.client_invites.insert(tx, bytes);
                }
                Some(tx)
            }
            Err(e) => {
                debug!(error = %e, %call, "request not accepted by the transaction layer");
                None
            }
        }
    }
}

/// Reads a stored request back; it parsed once, so it parses again.
pub(crate) fn reparse(bytes: &[u8]) -> Option<Message<'_>> {
    parse_message(bytes).ok()
}
