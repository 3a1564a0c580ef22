//! Call flows in simulated time: a caller, the B2BUA and one or more callee phones.

mod basic;
mod cancel;
mod delayed;
mod dialogs;
mod fork;
mod forward;
mod timers;
mod transcode;
mod voicemail;

use std::time::Duration;

use bytes::Bytes;
use warden_sip_proto::Method;

use crate::sim::{parse, Sim, Ua, ALICE_SDP, BOB_SDP};

/// A simulation with Alice (1001) and Bob (1002) registered.
pub(crate) fn setup() -> (Sim, Ua, Ua) {
    let mut sim = Sim::new();
    let alice = Ua::new("1001", "10.0.0.1:5060");
    let bob = Ua::new("1002", "10.0.0.2:5060");
    sim.extension("1001", &[alice.addr]);
    sim.extension("1002", &[bob.addr]);
    (sim, alice, bob)
}

/// Alice calls Bob; returns Alice's INVITE and the INVITE Bob got.
pub(crate) fn dial(sim: &mut Sim, alice: &mut Ua, bob: &Ua) -> (Bytes, Bytes) {
    let inv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &inv);
    let binv = sim.expect_request(bob.addr, Method::Invite);
    (inv, binv)
}

/// Alice calls Bob, Bob rings and answers, Alice ACKs. Returns the INVITE Bob got and
/// the 200 Alice got.
pub(crate) fn answered(sim: &mut Sim, alice: &mut Ua, bob: &mut Ua) -> (Bytes, Bytes) {
    let (_, binv) = dial(sim, alice, bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(alice.addr, &alice.ack(&ok));
    (binv, ok)
}

/// After the linger time nothing is left: no call, transaction or index entry.
pub(crate) fn assert_clean(sim: &mut Sim) {
    sim.advance(Duration::from_secs(70));
    assert!(sim.b2bua.is_empty(), "calls left: {}", sim.b2bua.len());
    assert_eq!(sim.b2bua.transactions(), 0, "transactions left");
    assert_eq!(sim.b2bua.index_entries(), 0, "index entries left");
    assert_eq!(sim.b2bua.poll_timeout(), None);
}

/// A header of a message, or "".
pub(crate) fn header(bytes: &Bytes, name: &str) -> String {
    parse(bytes)
        .header(name)
        .map(|v| v.into_owned())
        .unwrap_or_default()
}
