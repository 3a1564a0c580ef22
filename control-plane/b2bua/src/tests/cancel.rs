//! CANCEL in every state: before routing, while ringing, racing the callee's 200 either
//! way, and the ring timer.

use std::time::Duration;

use warden_sip_proto::Method;

use super::{assert_clean, dial, setup};
use crate::sim::{is_response, parse, ALICE_SDP, BOB_SDP};
use crate::{Disposition, HangupSide};

#[test]
fn cancel_while_ringing_gives_487_and_cancels_the_callee() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_response(alice.addr, 200, Method::Cancel);
    let term = sim.expect_response(alice.addr, 487, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &term));
    let bcancel = sim.expect_request(bob.addr, Method::Cancel);
    assert_eq!(
        parse(&bcancel).top_via().unwrap().branch(),
        parse(&binv).top_via().unwrap().branch(),
        "CANCEL repeats the INVITE's branch"
    );
    sim.send(bob.addr, &bob.respond(&bcancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 487, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Cancelled);
    assert_eq!(r.hangup_side, Some(HangupSide::Caller));
    assert_eq!(sim.records.len(), 1);
    assert_clean(&mut sim);
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_response(alice.addr, 487, Method::Invite);
    // RFC 3261 §9.1: no CANCEL before a provisional response.
    assert!(sim
        .take(bob.addr, |b| crate::sim::is_request(b, Method::Cancel))
        .is_none());
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_request(bob.addr, Method::Cancel);
    assert!(sim
        .take(alice.addr, |b| is_response(b, 180, Method::Invite))
        .is_none());
}

#[test]
fn cancel_during_setup_needs_no_callee() {
    let (mut sim, mut alice, bob) = setup();
    sim.hold_actions = true;
    let inv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &inv);
    sim.send(alice.addr, &alice.cancel(&inv));
    sim.expect_response(alice.addr, 487, Method::Invite);
    sim.hold_actions = false;
    sim.settle();
    assert!(sim.quiet(bob.addr));
    assert_eq!(sim.records.len(), 1);
    assert_eq!(sim.records[0].disposition, Disposition::Cancelled);
}

#[test]
fn cancel_wins_the_race_with_200() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    // The caller's CANCEL is handled first; the callee's 200 was already on its way.
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_response(alice.addr, 487, Method::Invite);
    let bcancel = sim.expect_request(bob.addr, Method::Cancel);
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    // Too late for the callee: ACK and hang up its dialog.
    sim.expect_request(bob.addr, Method::Ack);
    let bye = sim.expect_request(bob.addr, Method::Bye);
    assert_eq!(parse(&bye).to().unwrap().tag(), Some("u1002"));
    sim.send(bob.addr, &bob.respond(&bcancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&bye, 200, None, &[]));
    assert!(sim
        .take(alice.addr, |b| is_response(b, 200, Method::Invite))
        .is_none());
    assert_eq!(sim.records.len(), 1);
    assert_eq!(sim.records[0].disposition, Disposition::Cancelled);
    assert_eq!(sim.records[0].answered_at, None);
    assert_clean(&mut sim);
}

#[test]
fn answer_wins_the_race_with_cancel() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    // The caller's CANCEL crossed our 200: it has no effect.
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_response(alice.addr, 200, Method::Cancel);
    assert!(sim
        .take(alice.addr, |b| is_response(b, 487, Method::Invite))
        .is_none());
    assert!(sim
        .take(bob.addr, |b| crate::sim::is_request(b, Method::Cancel))
        .is_none());
    // The caller accepts the 200, then hangs up.
    sim.send(alice.addr, &alice.ack(&ok));
    sim.send(alice.addr, &alice.request(Method::Bye, None, &[]));
    sim.expect_request(bob.addr, Method::Bye);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert!(r.answered_at.is_some());
}

#[test]
fn ring_timeout_gives_480_and_cancels() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.advance(Duration::from_secs(59));
    assert!(sim
        .take(bob.addr, |b| crate::sim::is_request(b, Method::Cancel))
        .is_none());
    sim.advance(Duration::from_secs(1));
    let cancel = sim.expect_request(bob.addr, Method::Cancel);
    let resp = sim.expect_response(alice.addr, 480, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    sim.send(bob.addr, &bob.respond(&cancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 487, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::NoAnswer);
    assert_eq!(r.hangup_cause, "ring timeout");
    assert_eq!(r.ended_at - r.started_at, Duration::from_secs(60));
    assert_clean(&mut sim);
}

#[test]
fn unreachable_callee_times_out_with_408() {
    let (mut sim, mut alice, bob) = setup();
    let (ainv, _) = dial(&mut sim, &mut alice, &bob);
    // No response at all: Timer B (64*T1) ends the fork before the ring timer.
    sim.advance(Duration::from_secs(33));
    let resp = sim.expect_response(alice.addr, 408, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Failed);
    assert_eq!(r.hangup_side, Some(HangupSide::System));
}

#[test]
fn administrator_hangs_up_a_ringing_call() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    let id = sim.b2bua.calls()[0].id;
    sim.b2bua.hang_up(sim.now, id).unwrap();
    sim.settle();
    sim.expect_response(alice.addr, 503, Method::Invite);
    sim.expect_request(bob.addr, Method::Cancel);
    assert_eq!(sim.records[0].hangup_side, Some(HangupSide::System));
    assert!(sim.b2bua.hang_up(sim.now, id).is_err(), "already ended");
}

#[test]
fn a_callee_that_ignores_our_cancel_is_given_up() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_request(bob.addr, Method::Cancel);
    // The callee never answers the CANCEL nor the INVITE: after 64*T1 the INVITE is
    // abandoned (RFC 3261 §9.1) and nothing is left behind.
    assert_clean(&mut sim);
    assert_eq!(sim.records.len(), 1);
}
