//! One fork of a call: the INVITE to one registered contact of the callee, its CANCEL
//! (RFC 3261 §9.1: only after a provisional response, given up 64*T1 later), its early
//! dialog (PRACK of reliable provisional responses) and the late responses that arrive
//! after another fork answered or the call ended.

use std::time::Instant;

use warden_sip_proto::{Message, Method};
use warden_sip_txn::TxId;

use crate::ctx::{Ctx, Purpose};
use crate::dialog::Dialog;
use crate::ids::{CallId, Dest};
use crate::io::Target;
use crate::msg::RequestSpec;
use crate::sdp;

use super::{our_contact, send_ack, send_bye, values, Answer, BLeg, CallData};

/// Where a fork stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BranchState {
    /// INVITE sent, no response yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final non-2xx response (or a timeout) ended it.
    Failed(u16),
    /// It answered.
    Answered,
}

/// Whether we cancel a fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CancelState {
    /// Not cancelled.
    No,
    /// To cancel once a provisional response arrives (RFC 3261 §9.1).
    Pending,
    /// CANCEL sent.
    Sent,
}

/// One fork: the INVITE to one contact of the callee.
#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) target: Target,
    /// Our Via of the INVITE (a CANCEL repeats it).
    pub(crate) via: String,
    /// The INVITE's client transaction.
    pub(crate) tx: Option<TxId>,
    /// After our CANCEL, when to give the INVITE up if no final response came
    /// (RFC 3261 §9.1: 64*T1).
    pub(crate) give_up: Option<Instant>,
    pub(crate) state: BranchState,
    pub(crate) cancel: CancelState,
    pub(crate) last_rseq: Option<u32>,
    /// CSeq of the requests we send in this fork's early dialog (PRACK).
    pub(crate) next_cseq: u32,
    /// Early answer of this fork (already cut to the offer).
    pub(crate) early_sdp: Option<sdp::Sdp>,
}

impl Branch {
    pub(crate) fn open(&self) -> bool {
        matches!(self.state, BranchState::Calling | BranchState::Proceeding)
    }
}

/// Gives up the INVITE of every open fork whose CANCEL got no final response in time (or
/// every open fork when `all`): its transaction is ended, which the transaction layer
/// reports as a transport error.
pub(crate) fn give_up(branches: &mut [Branch], ctx: &mut Ctx<'_>, all: bool) {
    for branch in branches.iter_mut().filter(|b| b.open()) {
        let due = branch.give_up.is_some_and(|at| at <= ctx.now);
        if !(due || all) {
            continue;
        }
        if let Some(tx) = branch.tx {
            let _ = ctx.txl.on_transport_error(ctx.now, tx);
        }
        branch.state = BranchState::Failed(408);
        branch.give_up = None;
    }
}

/// The earliest give-up deadline of the open forks.
pub(crate) fn next_give_up(branches: &[Branch]) -> Option<Instant> {
    branches
        .iter()
        .filter(|b| b.open())
        .filter_map(|b| b.give_up)
        .min()
}

/// Sends CANCEL on a fork that got a provisional response, or marks it to be cancelled
/// when one arrives.
pub(crate) fn cancel_branch(call: CallId, b: &BLeg, branch: &mut Branch, ctx: &mut Ctx<'_>) {
    match (branch.state, branch.cancel) {
        (BranchState::Proceeding, CancelState::No | CancelState::Pending) => {
            let spec = RequestSpec {
                method: Method::Cancel,
                uri: &branch.target.uri,
                via: branch.via.clone(),
                max_forwards: 70,
                from: &b.from,
                to: &b.to,
                call_id: &b.call_id,
                cseq: b.cseq,
                routes: &[],
                contact: None,
                headers: Vec::new(),
                user_agent: &ctx.config.user_agent,
                body: None,
            };
            let bytes = spec.to_bytes();
            ctx.send_request(
                call,
                Purpose::Fire,
                Dest::peer_of(branch.target.flow),
                bytes,
            );
            branch.cancel = CancelState::Sent;
            branch.give_up = Some(ctx.now + ctx.config.txn.t1.saturating_mul(64));
        }
        (BranchState::Calling, CancelState::No) => branch.cancel = CancelState::Pending,
        _ => {}
    }
}

/// Cancels every open fork but `except`.
pub(crate) fn cancel_all(
    d: &CallData,
    ctx: &mut Ctx<'_>,
    branches: &mut [Branch],
    except: Option<usize>,
) {
    let Some(b) = d.b.as_ref() else {
        return;
    };
    for (i, branch) in branches.iter_mut().enumerate() {
        if Some(i) != except && branch.open() {
            cancel_branch(d.id, b, branch, ctx);
        }
    }
}

/// A dialog built from a fork's 2xx (or early response) on the callee's leg.
pub(crate) fn b_dialog(
    b: &BLeg,
    branch: &Branch,
    msg: &Message<'_>,
    ctx: &Ctx<'_>,
    caller: &str,
) -> Option<Dialog> {
    let remote = msg.header("To")?.into_owned();
    let remote_tag = msg.to()?.tag()?.to_string();
    let target = msg
        .contacts()
        .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()))
        .unwrap_or_else(|| branch.target.uri.clone());
    let mut routes = values(msg, "Record-Route");
    routes.reverse();
    let mut dialog = Dialog {
        call_id: b.call_id.clone(),
        remote_tag,
        local: b.from.clone(),
        remote,
        local_cseq: b.cseq,
        remote_cseq: 0,
        target,
        routes,
        flow: branch.target.flow,
        contact: our_contact(ctx, caller, &branch.target.flow),
        allows_update: false,
        supports_timer: false,
        sdp: b.sdp.clone(),
        remote_sdp: None,
        media: None,
        session: None,
    };
    dialog.learn_capabilities(msg);
    Some(dialog)
}

/// A 2xx from a fork we do not want (another fork won, or the call is over): ACK it and
/// hang that dialog up (RFC 3261 §13.2.2.4).
pub(crate) fn refuse_2xx(d: &CallData, ctx: &mut Ctx<'_>, branch: &Branch, msg: &Message<'_>) {
    let Some(b) = d.b.as_ref() else {
        return;
    };
    if let Some(mut dialog) = b_dialog(b, branch, msg, ctx, &d.caller) {
        send_ack(&mut dialog, ctx, b.cseq);
        send_bye(d.id, &mut dialog, ctx);
    }
}

/// A late response on a fork after the call was answered by another fork or ended.
pub(crate) fn late_response(
    d: &CallData,
    ctx: &mut Ctx<'_>,
    branches: &mut [Branch],
    idx: usize,
    answer: &Answer<'_, '_>,
    winner: Option<(usize, &str)>,
) -> bool {
    let Some(branch) = branches.get_mut(idx) else {
        return false;
    };
    match answer.status {
        100..=199 => {
            if branch.state == BranchState::Calling {
                branch.state = BranchState::Proceeding;
            }
            if branch.cancel == CancelState::Pending {
                if let Some(b) = d.b.as_ref() {
                    cancel_branch(d.id, b, branch, ctx);
                }
            }
            false
        }
        200..=299 => {
            let Some(msg) = answer.msg else {
                return false;
            };
            let tag = msg.to().and_then(|t| t.tag());
            if let Some((w, wtag)) = winner {
                if w == idx && tag == Some(wtag) {
                    return true; // a copy of the winning 2xx: re-send our ACK
                }
            }
            branch.state = BranchState::Failed(487);
            refuse_2xx(d, ctx, branch, msg);
            false
        }
        s => {
            branch.state = BranchState::Failed(s);
            false
        }
    }
}

/// PRACKs a reliable provisional response of a fork.
pub(crate) fn send_prack(
    call: CallId,
    b: &BLeg,
    branch: &mut Branch,
    msg: &Message<'_>,
    rseq: u32,
    ctx: &mut Ctx<'_>,
    _caller: &str,
) {
    let Some(to) = msg.header("To") else {
        return;
    };
    let target = msg
        .contacts()
        .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()))
        .unwrap_or_else(|| branch.target.uri.clone());
    let mut routes = values(msg, "Record-Route");
    routes.reverse();
    branch.next_cseq = branch.next_cseq.wrapping_add(1);
    let via_branch = ctx.branch();
    let spec = RequestSpec {
        method: Method::Prack,
        uri: &target,
        via: ctx.via(&branch.target.flow, &via_branch),
        max_forwards: 70,
        from: &b.from,
        to: &to,
        call_id: &b.call_id,
        cseq: branch.next_cseq,
        routes: &routes,
        contact: None,
        headers: vec![("RAck", format!("{rseq} {} INVITE", b.cseq))],
        user_agent: &ctx.config.user_agent,
        body: None,
    };
    let bytes = spec.to_bytes();
    ctx.send_request(
        call,
        Purpose::Fire,
        Dest::peer_of(branch.target.flow),
        bytes,
    );
}
