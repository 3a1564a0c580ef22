//! Busy and no-answer forwarding: the call is retargeted once, with the caller's leg and
//! media endpoint kept, the old forks retired (a late 2xx ACKed and hung up), and the best
//! failure relayed when the target cannot be called.

use std::time::Duration;

use bytes::Bytes;
use warden_sip_proto::Method;

use super::{assert_clean, dial, setup};
use crate::sim::{body, is_request, is_response, parse, Sim, Ua, ALICE_SDP, BOB_SDP};
use crate::{CallEvent, Disposition, HangupSide};

/// Alice (1001), Bob (1002) and Carol (1003), all registered.
fn three() -> (Sim, Ua, Ua, Ua) {
    let (mut sim, alice, bob) = setup();
    let carol = Ua::new("1003", "10.0.0.3:5060");
    sim.extension("1003", &[carol.addr]);
    (sim, alice, bob, carol)
}

fn on_busy(sim: &mut Sim, number: &str, to: &str) {
    sim.directory.get_mut(number).unwrap().forward.on_busy = Some(to.to_string());
}

fn on_no_answer(sim: &mut Sim, number: &str, to: &str, secs: u64) {
    sim.directory.get_mut(number).unwrap().forward.on_no_answer =
        Some((to.to_string(), Duration::from_secs(secs)));
}

/// Carol rings and answers the INVITE she got; Alice gets the 180 and the 200 and ACKs.
fn carol_answers(sim: &mut Sim, alice: &mut Ua, carol: &mut Ua, cinv: &Bytes) -> Bytes {
    sim.send(carol.addr, &carol.respond(cinv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.send(carol.addr, &carol.respond(cinv, 200, Some(BOB_SDP), &[]));
    sim.expect_request(carol.addr, Method::Ack);
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(alice.addr, &alice.ack(&ok));
    ok
}

/// Alice hangs up an answered call; returns the record's hangup cause.
fn alice_hangs_up(sim: &mut Sim, alice: &mut Ua, carol: &mut Ua) -> String {
    sim.send(alice.addr, &alice.request(Method::Bye, None, &[]));
    let bye = sim.expect_request(carol.addr, Method::Bye);
    sim.send(carol.addr, &carol.respond(&bye, 200, None, &[]));
    sim.expect_response(alice.addr, 200, Method::Bye);
    assert_eq!(sim.records.len(), 1);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.callee, "1002", "the record keeps the dialled number");
    assert_eq!(r.hangup_side, Some(HangupSide::Caller));
    r.hangup_cause.clone()
}

#[test]
fn busy_is_forwarded_and_answered_by_the_target() {
    let (mut sim, mut alice, mut bob, mut carol) = three();
    on_busy(&mut sim, "1002", "1003");
    // The caller authenticates first: the retarget keeps its 407-authenticated dialog.
    sim.require_auth = true;
    let inv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &inv);
    let challenge = sim.expect_response(alice.addr, 407, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&inv, &challenge));
    let auth = "Digest username=\"1001\", realm=\"pbx.test\", nonce=\"n1\", uri=\"sip:1002@pbx.test\", response=\"good\"";
    let ainv = alice.reinvite_with(Some(ALICE_SDP), &[("Proxy-Authorization", auth)]);
    sim.send(alice.addr, &ainv);
    let binv = sim.expect_request(bob.addr, Method::Invite);

    let busy = bob.respond(&binv, 486, None, &[]);
    sim.send(bob.addr, &busy);
    sim.expect_request(bob.addr, Method::Ack);
    assert!(
        sim.take(alice.addr, |b| is_response(b, 486, Method::Invite))
            .is_none(),
        "the busy answer is not relayed"
    );
    let forwarded = sim.expect_response(alice.addr, 181, Method::Invite);
    assert_eq!(parse(&forwarded).cseq().unwrap().seq, 2);
    let cinv = sim.expect_request(carol.addr, Method::Invite);
    let c = parse(&cinv);
    assert_eq!(c.request_uri().unwrap().as_str(), "sip:1003@10.0.0.3:5060");
    assert_eq!(
        c.call_id(),
        parse(&binv).call_id(),
        "the callee's leg stays"
    );
    assert!(
        body(&cinv).contains("m=audio 30002"),
        "same media endpoint: {}",
        body(&cinv)
    );

    let ok = carol_answers(&mut sim, &mut alice, &mut carol, &cinv);
    assert_eq!(
        parse(&ok).cseq().unwrap().seq,
        2,
        "the authenticated INVITE"
    );
    assert!(body(&ok).contains("m=audio 30000"));
    let calls = sim.b2bua.calls();
    assert_eq!(calls[0].callee, "1002");
    assert_eq!(calls[0].legs[1].remote, Some(carol.addr));
    let cause = alice_hangs_up(&mut sim, &mut alice, &mut carol);
    assert_eq!(cause, "BYE (forwarded on busy to 1003)");
    assert!(sim
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::Answered { .. })));
    assert_clean(&mut sim);
}

#[test]
fn no_answer_is_forwarded_after_the_rule_delay() {
    let (mut sim, mut alice, mut bob, mut carol) = three();
    on_no_answer(&mut sim, "1002", "1003", 20);
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.advance(Duration::from_millis(19_900));
    assert!(sim
        .take(bob.addr, |b| is_request(b, Method::Cancel))
        .is_none());
    assert!(sim.quiet(carol.addr));
    sim.advance(Duration::from_millis(100));
    let cancel = sim.expect_request(bob.addr, Method::Cancel);
    sim.expect_response(alice.addr, 181, Method::Invite);
    let cinv = sim.expect_request(carol.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&cancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 487, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    assert!(
        sim.take(alice.addr, |b| is_response(b, 487, Method::Invite))
            .is_none(),
        "the old fork's 487 is not relayed"
    );
    carol_answers(&mut sim, &mut alice, &mut carol, &cinv);
    assert!(sim.quiet(bob.addr));
    // The configured ring timeout (60 s) no longer applies once answered.
    sim.advance(Duration::from_secs(60));
    assert_eq!(sim.b2bua.active_calls(), 1);
    let cause = alice_hangs_up(&mut sim, &mut alice, &mut carol);
    assert_eq!(cause, "BYE (forwarded on no answer to 1003)");
    assert_clean(&mut sim);
}

#[test]
fn an_old_fork_answering_during_the_retarget_is_acked_and_hung_up() {
    let (mut sim, mut alice, mut bob, mut carol) = three();
    on_no_answer(&mut sim, "1002", "1003", 10);
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    // The glue is slow to locate the target: Bob answers, crossing our CANCEL.
    sim.hold_actions = true;
    sim.advance(Duration::from_secs(10));
    sim.expect_request(bob.addr, Method::Cancel);
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let bye = sim.expect_request(bob.addr, Method::Bye);
    assert_eq!(parse(&bye).to().unwrap().tag(), Some("u1002"));
    sim.send(bob.addr, &bob.respond(&bye, 200, None, &[]));
    assert!(sim
        .take(alice.addr, |b| is_response(b, 200, Method::Invite))
        .is_none());
    sim.hold_actions = false;
    sim.settle();
    let cinv = sim.expect_request(carol.addr, Method::Invite);
    carol_answers(&mut sim, &mut alice, &mut carol, &cinv);
    assert_eq!(sim.b2bua.calls()[0].legs[1].remote, Some(carol.addr));
    // A copy of Bob's 2xx after the answer: ACKed and hung up again, the call goes on.
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    assert!(sim.records.is_empty());
    assert_eq!(sim.b2bua.active_calls(), 1);
    let cause = alice_hangs_up(&mut sim, &mut alice, &mut carol);
    assert!(cause.contains("forwarded on no answer to 1003"), "{cause}");
}

#[test]
fn busy_target_not_registered_gives_the_busy_answer() {
    let (mut sim, mut alice, mut bob, _) = three();
    sim.directory.get_mut("1003").unwrap().contacts.clear();
    on_busy(&mut sim, "1002", "1003");
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_response(alice.addr, 181, Method::Invite);
    let resp = sim.expect_response(alice.addr, 486, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Busy);
    assert_eq!(r.hangup_cause, "486 Busy Here");
    assert_clean(&mut sim);
}

#[test]
fn no_answer_target_not_registered_gives_480() {
    let (mut sim, mut alice, mut bob, carol) = three();
    sim.directory.get_mut("1003").unwrap().contacts.clear();
    on_no_answer(&mut sim, "1002", "1003", 5);
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.advance(Duration::from_secs(5));
    let cancel = sim.expect_request(bob.addr, Method::Cancel);
    let resp = sim.expect_response(alice.addr, 480, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    sim.send(bob.addr, &bob.respond(&cancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 487, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    assert!(sim.quiet(carol.addr));
    assert_eq!(sim.records[0].disposition, Disposition::NoAnswer);
    assert_clean(&mut sim);
}

#[test]
fn the_target_busy_again_is_not_forwarded_twice() {
    let (mut sim, mut alice, mut bob, mut carol) = three();
    on_busy(&mut sim, "1002", "1003");
    on_busy(&mut sim, "1003", "1002");
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    let cinv = sim.expect_request(carol.addr, Method::Invite);
    sim.send(carol.addr, &carol.respond(&cinv, 486, None, &[]));
    sim.expect_request(carol.addr, Method::Ack);
    let resp = sim.expect_response(alice.addr, 486, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    assert!(sim
        .take(bob.addr, |b| is_request(b, Method::Invite))
        .is_none());
    assert_eq!(sim.records[0].disposition, Disposition::Busy);
    assert_eq!(
        sim.records[0].hangup_cause,
        "486 Busy Here (forwarded on busy to 1003)"
    );
    assert_clean(&mut sim);
}

#[test]
fn forwarding_back_to_the_caller_is_ignored() {
    let (mut sim, mut alice, mut bob, _) = three();
    on_busy(&mut sim, "1002", "1001");
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert!(sim
        .take(alice.addr, |b| is_response(b, 181, Method::Invite))
        .is_none());
    assert!(sim
        .take(alice.addr, |b| is_request(b, Method::Invite))
        .is_none());
}

#[test]
fn the_target_at_its_call_limit_is_not_called() {
    let (mut sim, mut alice, mut bob, mut carol) = three();
    sim.directory.get_mut("1003").unwrap().party.max_calls = Some(1);
    on_busy(&mut sim, "1002", "1003");
    // Dave (1004) is already calling Carol.
    let mut dave = Ua::new("1004", "10.0.0.4:5060");
    sim.extension("1004", &[dave.addr]);
    sim.send(dave.addr, &dave.invite("1003", Some(ALICE_SDP), &[]));
    let dinv = sim.expect_request(carol.addr, Method::Invite);
    sim.send(carol.addr, &carol.respond(&dinv, 180, None, &[]));
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert!(sim
        .take(carol.addr, |b| is_request(b, Method::Invite))
        .is_none());
    assert_eq!(sim.b2bua.active_calls(), 1, "Dave's call goes on");
}

#[test]
fn without_a_rule_busy_and_ring_timeout_are_unchanged() {
    let (mut sim, mut alice, mut bob, carol) = three();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert!(sim
        .take(alice.addr, |b| is_response(b, 181, Method::Invite))
        .is_none());
    assert_eq!(sim.records[0].hangup_cause, "486 Busy Here");

    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.advance(Duration::from_secs(59));
    assert!(sim
        .take(bob.addr, |b| is_request(b, Method::Cancel))
        .is_none());
    sim.advance(Duration::from_secs(1));
    sim.expect_request(bob.addr, Method::Cancel);
    sim.expect_response(alice.addr, 480, Method::Invite);
    assert_eq!(sim.records[1].disposition, Disposition::NoAnswer);
    assert!(sim.quiet(carol.addr));
}

#[test]
fn a_no_answer_rule_longer_than_the_ring_timeout_never_applies() {
    let (mut sim, mut alice, mut bob, carol) = three();
    on_no_answer(&mut sim, "1002", "1003", 90);
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.advance(Duration::from_secs(60));
    sim.expect_request(bob.addr, Method::Cancel);
    sim.expect_response(alice.addr, 480, Method::Invite);
    assert!(sim.quiet(carol.addr));
    assert_eq!(sim.records[0].hangup_cause, "ring timeout");
}

#[test]
fn the_caller_cancelling_while_the_target_is_located_ends_the_call() {
    let (mut sim, mut alice, mut bob, carol) = three();
    on_busy(&mut sim, "1002", "1003");
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    sim.hold_actions = true;
    sim.send(bob.addr, &bob.respond(&binv, 600, None, &[]));
    sim.expect_response(alice.addr, 181, Method::Invite);
    sim.send(alice.addr, &alice.cancel(&ainv));
    sim.expect_response(alice.addr, 200, Method::Cancel);
    let term = sim.expect_response(alice.addr, 487, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &term));
    // The late location is refused: the call is over.
    sim.hold_actions = false;
    sim.settle();
    assert!(sim.quiet(carol.addr));
    assert_eq!(sim.records.len(), 1);
    assert_eq!(sim.records[0].disposition, Disposition::Cancelled);
    assert_clean(&mut sim);
}
