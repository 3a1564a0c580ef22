//! Delayed offer (RFC 3261 §13.2.1, RFC 3264): an INVITE without SDP. We offer the callee
//! what the media plane knows, offer the caller the callee's answer in our 2xx, and take the
//! caller's answer from its ACK.

use std::time::Duration;

use bytes::Bytes;
use warden_sip_proto::Method;

use super::{assert_clean, setup};
use crate::sim::{body, Sim, Ua, ALICE_SDP, BOB_SDP};
use crate::{Disposition, HangupSide, Leg};

/// Alice calls Bob without SDP; Bob rings and answers. Returns the INVITE Bob got and the
/// 200 Alice got.
fn answered_without_offer(sim: &mut Sim, alice: &mut Ua, bob: &mut Ua) -> (Bytes, Bytes) {
    let inv = alice.invite("1002", None, &[]);
    sim.send(alice.addr, &inv);
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    let ringing = sim.expect_response(alice.addr, 180, Method::Invite);
    assert!(body(&ringing).is_empty(), "no early media without an offer");
    sim.advance(Duration::from_secs(2));
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    (binv, ok)
}

#[test]
fn the_callers_answer_comes_in_its_ack() {
    let (mut sim, mut alice, mut bob) = setup();
    let (binv, ok) = answered_without_offer(&mut sim, &mut alice, &mut bob);

    // The callee was offered every codec the media plane knows, at our address.
    let offer = body(&binv);
    assert!(offer.contains("c=IN IP4 192.0.2.1\r\n"), "{offer}");
    assert!(
        offer.contains("m=audio 30002 RTP/AVP 0 8 9 111 101"),
        "{offer}"
    );
    assert!(!offer.contains("0.0.0.0"), "{offer}");

    // Our 2xx offers the caller what the callee chose, at the caller's endpoint.
    let ours = body(&ok);
    assert!(ours.contains("c=IN IP4 192.0.2.1\r\n"), "{ours}");
    assert!(ours.contains("m=audio 30000 RTP/AVP 0 101\r\n"), "{ours}");
    assert!(!ours.contains("10.0.0.2"), "{ours}");
    // Until the answer, the caller's endpoint points nowhere.
    assert!(sim.media_for(Leg::A).is_empty());
    assert_eq!(
        sim.media_for(Leg::B).last().unwrap().0.unwrap().rtp,
        "10.0.0.2:6000".parse().unwrap()
    );

    sim.send(alice.addr, &alice.ack_with(&ok, Some(ALICE_SDP)));
    let a = sim.media_for(Leg::A);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0.unwrap().rtp, "10.0.0.1:4000".parse().unwrap());
    // A retransmitted ACK changes nothing.
    sim.send(alice.addr, &alice.ack_with(&ok, Some(ALICE_SDP)));
    assert_eq!(sim.media_for(Leg::A).len(), 1);

    sim.advance(Duration::from_secs(5));
    sim.send(alice.addr, &alice.request(Method::Bye, None, &[]));
    sim.expect_response(alice.addr, 200, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.codec.as_deref(), Some("PCMU"));
    assert_eq!(r.hangup_side, Some(HangupSide::Caller));
    assert_clean(&mut sim);
}

#[test]
fn an_ack_without_an_answer_ends_the_call_on_both_legs() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, ok) = answered_without_offer(&mut sim, &mut alice, &mut bob);
    sim.send(alice.addr, &alice.ack(&ok));
    let abye = sim.expect_request(alice.addr, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    sim.send(alice.addr, &alice.respond(&abye, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));
    assert!(sim.media_for(Leg::A).is_empty());
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.hangup_side, Some(HangupSide::System));
    assert_eq!(r.hangup_cause, "no SDP answer in the caller's ACK");
    assert_clean(&mut sim);
}

#[test]
fn an_answer_refusing_the_offered_codec_ends_the_call() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, ok) = answered_without_offer(&mut sim, &mut alice, &mut bob);
    // PCMA only, where PCMU was offered.
    let pcma = ALICE_SDP
        .replace("RTP/AVP 0 8 101", "RTP/AVP 8")
        .replace("a=rtpmap:0 PCMU/8000\r\n", "");
    sim.send(alice.addr, &alice.ack_with(&ok, Some(&pcma)));
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_request(bob.addr, Method::Bye);
    assert!(sim.media_for(Leg::A).is_empty());
    assert_eq!(
        sim.records[0].hangup_cause,
        "the caller's answer accepts no offered codec"
    );
}
