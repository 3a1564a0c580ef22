//! Voicemail: a call that would fail busy, unanswered or unregistered is answered by the
//! B2BUA for the callee's box; the message ends with the caller's BYE, the longest length
//! (we send BYE) or a key press.

use std::time::Duration;

use warden_sip_proto::Method;

use super::{assert_clean, dial, setup};
use crate::sim::{body, is_request, parse, Sim, Ua, ALICE_SDP};
use crate::{CallEvent, CallPhase, Disposition, HangupSide, Leg, MediaDirection, VoiceCodec};
use crate::{CallRecord, VoicemailRule};

fn with_voicemail(sim: &mut Sim, number: &str, no_answer: u64, max: u64) {
    sim.directory.get_mut(number).unwrap().forward.voicemail = Some(VoicemailRule {
        no_answer: Duration::from_secs(no_answer),
        max_message: Duration::from_secs(max),
    });
}

/// Alice gets the voicemail's 200 (G.711 only, the media plane's caller endpoint) and ACKs.
fn alice_gets_voicemail(sim: &mut Sim, alice: &mut Ua) {
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    let sdp = body(&ok);
    assert!(sdp.contains("m=audio 30000 RTP/AVP 0 101"), "{sdp}");
    assert!(!sdp.contains("PCMA"), "one voice codec: {sdp}");
    sim.send(alice.addr, &alice.ack(&ok));
    let (call, mailbox, codec) = sim.voicemails.last().cloned().expect("voicemail action");
    assert_eq!((mailbox.as_str(), codec), ("1002", VoiceCodec::Pcmu));
    let media = sim.media_for(Leg::A);
    assert_eq!(media.last().map(|m| m.1), Some(MediaDirection::SendRecv));
    assert!(
        media.last().and_then(|m| m.0).is_some(),
        "pointed at the caller"
    );
    let info = sim.b2bua.call(call).expect("live call");
    assert_eq!(info.phase, CallPhase::Answered);
    assert!(sim
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::Answered { call: c, .. } if *c == call)));
}

fn only_record(sim: &Sim) -> &CallRecord {
    assert_eq!(sim.records.len(), 1);
    let r = &sim.records[0];
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.callee, "1002");
    assert!(r.answered_at.is_some());
    r
}

#[test]
fn busy_goes_to_voicemail_and_the_callers_bye_ends_the_message() {
    let (mut sim, mut alice, mut bob) = setup();
    with_voicemail(&mut sim, "1002", 20, 60);
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    alice_gets_voicemail(&mut sim, &mut alice);
    let call = sim.voicemails[0].0;
    sim.b2bua.on_voicemail_recording(sim.now, call).unwrap();
    sim.advance(Duration::from_secs(5));
    sim.send(alice.addr, &alice.request(Method::Bye, None, &[]));
    sim.expect_response(alice.addr, 200, Method::Bye);
    let r = only_record(&sim);
    assert_eq!(r.hangup_cause, "voicemail, BYE (voicemail on busy)");
    assert_eq!(r.hangup_side, Some(HangupSide::Caller));
    assert_eq!(r.codec.as_deref(), Some("PCMU"));
    assert!(sim.quiet(bob.addr));
    assert_clean(&mut sim);
}

#[test]
fn no_answer_goes_to_voicemail_and_the_longest_length_sends_bye() {
    let (mut sim, mut alice, mut bob) = setup();
    with_voicemail(&mut sim, "1002", 15, 30);
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.advance(Duration::from_millis(14_900));
    assert!(sim
        .take(bob.addr, |b| is_request(b, Method::Cancel))
        .is_none());
    sim.advance(Duration::from_millis(100));
    let cancel = sim.expect_request(bob.addr, Method::Cancel);
    alice_gets_voicemail(&mut sim, &mut alice);
    sim.send(bob.addr, &bob.respond(&cancel, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&binv, 487, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);

    // The greeting takes 4 s; the message may then last 30 s.
    sim.advance(Duration::from_secs(4));
    let call = sim.voicemails[0].0;
    sim.b2bua.on_voicemail_recording(sim.now, call).unwrap();
    sim.advance(Duration::from_millis(29_900));
    assert!(sim
        .take(alice.addr, |b| is_request(b, Method::Bye))
        .is_none());
    sim.advance(Duration::from_millis(100));
    let bye = sim.expect_request(alice.addr, Method::Bye);
    sim.send(alice.addr, &alice.respond(&bye, 200, None, &[]));
    let r = only_record(&sim);
    assert_eq!(
        r.hangup_cause,
        "voicemail, longest message length (voicemail on no answer)"
    );
    assert_eq!(r.hangup_side, Some(HangupSide::System));
    assert_eq!(r.ended_at - r.answered_at.unwrap(), Duration::from_secs(34));
    assert_clean(&mut sim);
}

#[test]
fn an_unregistered_callee_goes_straight_to_voicemail_and_a_key_press_ends_it() {
    let (mut sim, mut alice, bob) = setup();
    sim.directory.get_mut("1002").unwrap().contacts.clear();
    with_voicemail(&mut sim, "1002", 20, 60);
    let inv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &inv);
    alice_gets_voicemail(&mut sim, &mut alice);
    assert!(sim.quiet(bob.addr));
    let call = sim.voicemails[0].0;
    sim.b2bua.on_voicemail_recording(sim.now, call).unwrap();
    sim.advance(Duration::from_secs(3));
    sim.b2bua.end_voicemail(sim.now, call).unwrap();
    sim.settle();
    let bye = sim.expect_request(alice.addr, Method::Bye);
    assert_eq!(parse(&bye).call_id(), parse(&inv).call_id());
    sim.send(alice.addr, &alice.respond(&bye, 200, None, &[]));
    let r = only_record(&sim);
    assert_eq!(
        r.hangup_cause,
        "voicemail, message ended by key press (voicemail on not registered)"
    );
    assert_clean(&mut sim);
}

#[test]
fn busy_forwarding_applies_before_voicemail() {
    let (mut sim, mut alice, mut bob) = setup();
    let mut carol = Ua::new("1003", "10.0.0.3:5060");
    sim.extension("1003", &[carol.addr]);
    with_voicemail(&mut sim, "1002", 20, 60);
    sim.directory.get_mut("1002").unwrap().forward.on_busy = Some("1003".into());
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let cinv = sim.expect_request(carol.addr, Method::Invite);
    // Carol is busy too: the forwarded call fails, without voicemail.
    sim.send(carol.addr, &carol.respond(&cinv, 486, None, &[]));
    sim.expect_request(carol.addr, Method::Ack);
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert!(sim.voicemails.is_empty());
    assert_eq!(sim.records[0].disposition, Disposition::Busy);
    assert_clean(&mut sim);
}

#[test]
fn a_caller_without_g711_gets_the_busy_answer_and_a_pcma_caller_gets_pcma() {
    let (mut sim, mut alice, mut bob) = setup();
    with_voicemail(&mut sim, "1002", 20, 60);
    let opus = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
    sim.send(alice.addr, &alice.invite("1002", Some(opus), &[]));
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert!(sim.voicemails.is_empty(), "the recorder takes G.711 only");
    assert_eq!(sim.records[0].disposition, Disposition::Busy);

    let pcma = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 8 9\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n";
    let mut carol = Ua::new("1003", "10.0.0.3:5060");
    sim.extension("1003", &[carol.addr]);
    sim.expect_request(bob.addr, Method::Ack);
    sim.send(carol.addr, &carol.invite("1002", Some(pcma), &[]));
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 486, None, &[]));
    let ok = sim.expect_response(carol.addr, 200, Method::Invite);
    let sdp = body(&ok);
    assert!(sdp.contains("m=audio 30000 RTP/AVP 8\r\n"), "{sdp}");
    assert!(!sdp.contains("G722"), "{sdp}");
    assert_eq!(sim.voicemails[0].2, VoiceCodec::Pcma);
    sim.send(carol.addr, &carol.ack(&ok));
    sim.send(carol.addr, &carol.request(Method::Bye, None, &[]));
    sim.expect_response(carol.addr, 200, Method::Bye);
    assert_clean(&mut sim);
}
