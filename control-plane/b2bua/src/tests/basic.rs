//! Answer, hang-up from either side, failures before and after routing, authentication,
//! RTP timeout.

use std::time::Duration;

use warden_sip_proto::Method;

use super::{answered, assert_clean, dial, header, setup};
use crate::sim::{body, parse, Ua, ALICE_SDP, BOB_SDP};
use crate::{CallEvent, CallPhase, Disposition, HangupSide, Leg, MediaDirection};

#[test]
fn answered_call_anchors_media_and_caller_hangs_up() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);

    // The callee's INVITE is a new dialog, sent to the registered contact.
    let b = parse(&binv);
    assert_eq!(b.request_uri().unwrap().as_str(), "sip:1002@10.0.0.2:5060");
    assert_ne!(b.call_id(), parse(&ainv).call_id());
    assert_eq!(
        header(&binv, "From").split(";tag=").next(),
        Some("\"Ext 1001\" <sip:1001@pbx.test>")
    );
    assert_eq!(b.to().unwrap().tag(), None);
    assert_eq!(b.max_forwards(), Some(69));
    let offer = body(&binv);
    assert!(offer.contains("c=IN IP4 192.0.2.1\r\n"), "{offer}");
    // The caller's formats first, then the transcodable codecs it lacks.
    assert!(
        offer.contains("m=audio 30002 RTP/AVP 0 8 101 96 9 97\r\n"),
        "{offer}"
    );
    assert!(
        !offer.contains("10.0.0.1"),
        "the caller's address must not leak: {offer}"
    );

    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    let ringing = sim.expect_response(alice.addr, 180, Method::Invite);
    let a_tag = parse(&ringing).to().unwrap().tag().unwrap().to_string();
    assert_eq!(sim.b2bua.calls()[0].phase, CallPhase::Ringing);

    sim.advance(Duration::from_secs(3));
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    let ack = sim.expect_request(bob.addr, Method::Ack);
    let ack = parse(&ack);
    assert_eq!(ack.cseq().unwrap().seq, 1);
    assert_eq!(ack.to().unwrap().tag(), Some("u1002"));
    assert_eq!(
        ack.request_uri().unwrap().as_str(),
        "sip:1002@10.0.0.2:5060"
    );

    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    assert_eq!(
        parse(&ok).to().unwrap().tag(),
        Some(a_tag.as_str()),
        "one To tag on the caller's leg"
    );
    let answer = body(&ok);
    assert!(answer.contains("c=IN IP4 192.0.2.1\r\n"), "{answer}");
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 0 101\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("a=rtpmap:101 telephone-event/8000"),
        "{answer}"
    );
    assert!(!answer.contains("10.0.0.2"), "{answer}");
    sim.send(alice.addr, &alice.ack(&ok));

    // Media: the caller's endpoint points at the caller, the callee's at the callee.
    let a = sim.media_for(Leg::A);
    let b = sim.media_for(Leg::B);
    assert_eq!(
        a.last().unwrap().0.unwrap().rtp,
        "10.0.0.1:4000".parse().unwrap()
    );
    assert_eq!(
        b.last().unwrap().0.unwrap().rtp,
        "10.0.0.2:6000".parse().unwrap()
    );
    assert!(a
        .iter()
        .chain(b.iter())
        .all(|(_, d)| *d == MediaDirection::SendRecv));
    let info = &sim.b2bua.calls()[0];
    assert_eq!(info.phase, CallPhase::Answered);
    assert_eq!(info.codec.as_deref(), Some("PCMU"));
    assert_eq!(info.legs.len(), 2);

    sim.advance(Duration::from_secs(30));
    let bye = alice.request(Method::Bye, None, &[]);
    sim.send(alice.addr, &bye);
    sim.expect_response(alice.addr, 200, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    let m = parse(&bbye);
    assert_eq!(m.to().unwrap().tag(), Some("u1002"));
    assert_eq!(m.cseq().unwrap().seq, 2);
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));

    assert_eq!(sim.records.len(), 1);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.hangup_side, Some(HangupSide::Caller));
    assert_eq!(r.hangup_cause, "BYE");
    assert_eq!(r.codec.as_deref(), Some("PCMU"));
    assert_eq!(r.call_id, parse(&ainv).call_id().unwrap());
    assert_eq!(
        r.answered_at.unwrap() - r.started_at,
        Duration::from_secs(3)
    );
    assert_eq!(r.ended_at - r.answered_at.unwrap(), Duration::from_secs(30));
    let kinds: Vec<&str> = sim
        .events
        .iter()
        .map(|e| match e {
            CallEvent::Started { .. } => "started",
            CallEvent::Ringing { .. } => "ringing",
            CallEvent::Answered { .. } => "answered",
            CallEvent::Ended { .. } => "ended",
            CallEvent::Info { .. } => "info",
        })
        .collect();
    assert_eq!(kinds, ["started", "ringing", "answered", "ended"]);
    assert_eq!(sim.b2bua.active_calls(), 0);
    assert_clean(&mut sim);
}

#[test]
fn callee_hangs_up() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, ok) = answered(&mut sim, &mut alice, &mut bob);
    let bye = bob.request(Method::Bye, None, &[]);
    sim.send(bob.addr, &bye);
    sim.expect_response(bob.addr, 200, Method::Bye);
    let abye = sim.expect_request(alice.addr, Method::Bye);
    let m = parse(&abye);
    // In the caller's dialog our side is the To of its INVITE with our tag.
    assert_eq!(m.request_uri().unwrap().as_str(), "sip:1001@10.0.0.1:5060");
    assert_eq!(m.from().unwrap().tag(), parse(&ok).to().unwrap().tag());
    assert_eq!(m.to().unwrap().tag(), Some("t10011"));
    assert_eq!(m.call_id(), Some(alice.call_id.as_str()));
    sim.send(alice.addr, &alice.respond(&abye, 200, None, &[]));
    let r = &sim.records[0];
    assert_eq!(
        (r.disposition, r.hangup_side),
        (Disposition::Answered, Some(HangupSide::Callee))
    );
    assert_clean(&mut sim);
}

#[test]
fn busy_is_relayed_and_acked() {
    let (mut sim, mut alice, mut bob) = setup();
    let (ainv, binv) = dial(&mut sim, &mut alice, &bob);
    let busy = bob.respond(&binv, 486, None, &[]);
    sim.send(bob.addr, &busy);
    let ack = sim.expect_request(bob.addr, Method::Ack);
    assert_eq!(
        parse(&ack).top_via().unwrap().branch(),
        parse(&binv).top_via().unwrap().branch(),
        "the ACK of a non-2xx is part of the INVITE transaction"
    );
    let resp = sim.expect_response(alice.addr, 486, Method::Invite);
    sim.send(alice.addr, &alice.ack_failure(&ainv, &resp));
    // A copy of the 486 gets the same ACK again, nothing else.
    sim.send(bob.addr, &busy);
    sim.expect_request(bob.addr, Method::Ack);
    assert!(sim.quiet(alice.addr));
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Busy);
    assert_eq!(r.hangup_cause, "486 Busy Here");
    assert_eq!(r.hangup_side, Some(HangupSide::Callee));
    assert_eq!(r.answered_at, None);
    assert_clean(&mut sim);
}

#[test]
fn unknown_unregistered_and_disabled_callees() {
    let (mut sim, mut alice, _) = setup();
    sim.extension("1003", &[]);
    sim.extension("1004", &["10.0.0.4:5060".parse().unwrap()]);
    sim.directory.get_mut("1004").unwrap().enabled = false;
    for (number, status, reason) in [
        ("1999", 404, "404 Not Found"),
        ("1003", 480, "480 Temporarily Unavailable"),
        ("1004", 480, "480 Temporarily Unavailable"),
    ] {
        sim.send(alice.addr, &alice.invite(number, Some(ALICE_SDP), &[]));
        sim.expect_response(alice.addr, status, Method::Invite);
        let r = sim.records.last().unwrap();
        assert_eq!(
            (r.callee.as_str(), r.disposition),
            (number, Disposition::Failed)
        );
        assert_eq!(r.hangup_cause, reason);
    }
    assert_eq!(sim.records.len(), 3);
    assert!(
        sim.media_log.is_empty(),
        "no media for calls that go nowhere"
    );
    assert_clean(&mut sim);
}

#[test]
fn concurrent_call_limits() {
    let (mut sim, mut alice, mut bob) = setup();
    sim.directory.get_mut("1002").unwrap().party.max_calls = Some(1);
    answered(&mut sim, &mut alice, &mut bob);
    let mut carol = Ua::new("1003", "10.0.0.3:5060");
    sim.extension("1003", &[carol.addr]);
    sim.send(carol.addr, &carol.invite("1002", Some(ALICE_SDP), &[]));
    sim.expect_response(carol.addr, 486, Method::Invite);
    assert_eq!(sim.records.last().unwrap().disposition, Disposition::Busy);
    // The caller's own limit.
    sim.directory.get_mut("1003").unwrap().party.max_calls = Some(0);
    sim.send(carol.addr, &carol.invite("1001", Some(ALICE_SDP), &[]));
    sim.expect_response(carol.addr, 403, Method::Invite);
    assert_eq!(sim.b2bua.active_calls(), 1);
}

#[test]
fn caller_is_challenged_first() {
    let (mut sim, mut alice, bob) = setup();
    sim.require_auth = true;
    let inv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &inv);
    let challenge = sim.expect_response(alice.addr, 407, Method::Invite);
    assert!(header(&challenge, "Proxy-Authenticate").starts_with("Digest realm=\"pbx.test\""));
    sim.send(alice.addr, &alice.ack_failure(&inv, &challenge));
    assert!(sim.records.is_empty(), "a challenge is not a call");
    assert!(sim.quiet(bob.addr));
    let auth = "Digest username=\"1001\", realm=\"pbx.test\", nonce=\"n1\", uri=\"sip:1002@pbx.test\", response=\"good\"";
    sim.send(
        alice.addr,
        &alice.reinvite_with(Some(ALICE_SDP), &[("Proxy-Authorization", auth)]),
    );
    sim.expect_request(bob.addr, Method::Invite);
    assert!(matches!(sim.events[0], CallEvent::Started { .. }));
}

const VIDEO_ONLY: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";

#[test]
fn bad_invites_are_refused_before_any_call() {
    let (mut sim, mut alice, _) = setup();
    type Case<'a> = (Option<&'a str>, Vec<(&'a str, &'a str)>, u16);
    let cases: [Case<'_>; 5] = [
        // No audio to anchor (an INVITE without SDP is a delayed offer: tests/delayed.rs).
        (Some(VIDEO_ONLY), vec![], 488),
        (Some("v=0\r\nnonsense"), vec![], 400),
        (Some(ALICE_SDP), vec![("Require", "foo")], 420),
        (Some(ALICE_SDP), vec![("Session-Expires", "30")], 422),
        (Some(ALICE_SDP), vec![("Max-Forwards", "0")], 483),
    ];
    for (sdp, extra, status) in cases {
        let mut extra = extra;
        if status == 483 {
            // Replace the default Max-Forwards by building the INVITE by hand.
            extra.clear();
            let inv = alice.invite("1002", sdp, &extra);
            let text = String::from_utf8_lossy(&inv).replace("Max-Forwards: 70", "Max-Forwards: 0");
            sim.send(alice.addr, &bytes::Bytes::from(text));
        } else {
            sim.send(alice.addr, &alice.invite("1002", sdp, &extra));
        }
        let resp = sim.expect_response(alice.addr, status, Method::Invite);
        if status == 420 {
            assert_eq!(header(&resp, "Unsupported"), "foo");
        }
        if status == 422 {
            assert_eq!(header(&resp, "Min-SE"), "90");
        }
    }
    assert!(sim.records.is_empty());
    assert!(sim.b2bua.is_empty());
}

#[test]
fn media_failure_gives_503_and_a_record() {
    let (mut sim, mut alice, bob) = setup();
    sim.media = None;
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    sim.expect_response(alice.addr, 503, Method::Invite);
    assert!(sim.quiet(bob.addr));
    assert_eq!(sim.records[0].disposition, Disposition::Failed);
}

#[test]
fn rtp_timeout_ends_an_answered_call_only() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    let id = sim.b2bua.calls()[0].id;
    // Before the answer, media silence means nothing.
    sim.b2bua.on_rtp_timeout(sim.now, id, Leg::A).unwrap();
    sim.settle();
    assert!(sim.records.is_empty());
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(alice.addr, &alice.ack(&ok));
    sim.b2bua.on_rtp_timeout(sim.now, id, Leg::B).unwrap();
    sim.settle();
    let abye = sim.expect_request(alice.addr, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    sim.send(alice.addr, &alice.respond(&abye, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.hangup_side, Some(HangupSide::System));
    assert_eq!(r.hangup_cause, "RTP timeout (b)");
    assert!(
        sim.b2bua.on_rtp_timeout(sim.now, id, Leg::A).is_ok(),
        "ending calls ignore it"
    );
    assert_clean(&mut sim);
}

#[test]
fn lost_2xx_is_retransmitted_until_the_ack() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    let to_alice = alice.addr;
    sim.losses.push((
        Box::new(move |t| {
            t.dest.to == to_alice && crate::sim::is_response(&t.bytes, 200, Method::Invite)
        }),
        2,
    ));
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_response(
            b,
            200,
            Method::Invite
        ))
        .is_none());
    sim.advance(Duration::from_millis(500));
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_response(
            b,
            200,
            Method::Invite
        ))
        .is_none());
    sim.advance(Duration::from_millis(1000));
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(alice.addr, &alice.ack(&ok));
    sim.advance(Duration::from_secs(10));
    assert!(
        sim.take(alice.addr, |b| crate::sim::is_response(
            b,
            200,
            Method::Invite
        ))
        .is_none(),
        "no more copies after the ACK"
    );
    assert!(sim.records.is_empty());
}

#[test]
fn missing_ack_ends_the_call() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(BOB_SDP), &[]));
    sim.advance(Duration::from_secs(40));
    let copies = sim.inboxes[&alice.addr]
        .iter()
        .filter(|b| crate::sim::is_response(b, 200, Method::Invite))
        .count();
    assert!(
        copies >= 7,
        "2xx re-sent with T1 doubling capped at T2, got {copies}"
    );
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_request(bob.addr, Method::Bye);
    assert_eq!(sim.records[0].hangup_cause, "no ACK");
}

#[test]
fn the_caller_gets_100_trying_only_when_nothing_answers_within_200_ms() {
    let (mut sim, mut alice, mut bob) = setup();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.advance(Duration::from_millis(199));
    assert!(
        !sim.dump(alice.addr).contains("100 Trying"),
        "{}",
        sim.dump(alice.addr)
    );
    sim.advance(Duration::from_millis(1));
    sim.expect_response(alice.addr, 100, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);

    // A callee that rings at once: the caller hears its ringing and no 100.
    let (mut sim, mut alice, mut bob) = setup();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.advance(Duration::from_millis(20));
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.advance(Duration::from_secs(1));
    assert!(
        !sim.dump(alice.addr).contains("100 Trying"),
        "{}",
        sim.dump(alice.addr)
    );
}
