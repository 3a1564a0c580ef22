//! Legs without a common codec: the offer to the callee gains the transcodable codecs, an
//! answer with none of the caller's is transcoded, a common codec is still relayed, and
//! nothing transcodable is refused with 488.

use warden_sip_proto::Method;

use super::{answered, dial, setup};
use crate::sim::{body, Sim, Ua, ALICE_SDP};
use crate::{Disposition, Leg, VoiceCodec};

const PCMU_ONLY: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

const OPUS_ONLY: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\n";

fn answer(m: &str) -> String {
    format!("v=0\r\no=bob 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n{m}")
}

/// Alice calls Bob with `offer`; Bob answers `bob_sdp`. Returns Bob's INVITE body and
/// Alice's final response.
fn call(
    sim: &mut Sim,
    alice: &mut Ua,
    bob: &mut Ua,
    offer: &str,
    bob_sdp: &str,
) -> (String, bytes::Bytes) {
    let inv = alice.invite("1002", Some(offer), &[]);
    sim.send(alice.addr, &inv);
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(bob_sdp), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let fin = sim
        .take(alice.addr, |b| {
            crate::sim::parse(b).status().is_some_and(|s| s >= 200)
        })
        .expect("a final response to the caller");
    (body(&binv), fin)
}

#[test]
fn pcmu_caller_and_opus_only_callee_are_transcoded() {
    let (mut sim, mut alice, mut bob) = setup();
    let bob_sdp = answer(
        "m=audio 6000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n",
    );
    let (offer, ok) = call(&mut sim, &mut alice, &mut bob, PCMU_ONLY, &bob_sdp);
    assert!(
        offer.contains("m=audio 30002 RTP/AVP 0 101 96 9 8 97\r\n"),
        "{offer}"
    );
    assert!(offer.contains("a=rtpmap:96 opus/48000/2\r\n"), "{offer}");
    assert_eq!(crate::sim::parse(&ok).status(), Some(200));
    let a_answer = body(&ok);
    assert!(
        a_answer.contains("m=audio 30000 RTP/AVP 0 101\r\n"),
        "the caller keeps its own codec: {a_answer}"
    );
    assert!(!a_answer.contains("opus"), "{a_answer}");
    sim.send(alice.addr, &alice.ack(&ok));

    assert_eq!(sim.transcodes.len(), 1);
    let (_, a, b) = sim.transcodes[0];
    assert_eq!(
        (a.codec, a.payload_type, a.clock_rate),
        (VoiceCodec::Pcmu, 0, 8000)
    );
    assert_eq!(
        (b.codec, b.payload_type, b.clock_rate),
        (VoiceCodec::Opus, 96, 48_000)
    );
    assert_eq!(
        (a.telephone_event, b.telephone_event),
        (Some(101), Some(101))
    );
    assert_eq!((a.ptime_ms, b.ptime_ms), (20, 20));
    // Each endpoint points at its party, with that party's clock.
    let bm = sim.media_for(Leg::B);
    let remote = bm.last().unwrap().0.unwrap();
    assert_eq!(remote.rtp, "10.0.0.2:6000".parse().unwrap());
    assert_eq!(remote.clock_rate, 48_000);
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMU<->opus"));

    let bye = alice.request(Method::Bye, None, &[]);
    sim.send(alice.addr, &bye);
    sim.expect_response(alice.addr, 200, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));
    assert_eq!(sim.records[0].codec.as_deref(), Some("PCMU<->opus"));
    assert_eq!(sim.records[0].disposition, Disposition::Answered);
}

#[test]
fn opus_caller_and_pcma_callee_are_transcoded() {
    let (mut sim, mut alice, mut bob) = setup();
    let bob_sdp = answer("m=audio 6000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n");
    let (offer, ok) = call(&mut sim, &mut alice, &mut bob, OPUS_ONLY, &bob_sdp);
    assert!(
        offer.contains("m=audio 30002 RTP/AVP 111 9 0 8 96\r\n"),
        "{offer}"
    );
    let a_answer = body(&ok);
    assert!(
        a_answer.contains("m=audio 30000 RTP/AVP 111\r\n"),
        "{a_answer}"
    );
    assert!(
        a_answer.contains("a=rtpmap:111 opus/48000/2\r\n"),
        "{a_answer}"
    );
    assert!(!a_answer.contains("PCMA"), "{a_answer}");
    let (_, a, b) = sim.transcodes[0];
    assert_eq!(
        (a.codec, a.payload_type, a.clock_rate),
        (VoiceCodec::Opus, 111, 48_000)
    );
    assert_eq!(
        (b.codec, b.payload_type, b.clock_rate),
        (VoiceCodec::Pcma, 8, 8000)
    );
    // Only one side has telephone-event: neither leg relays it.
    assert_eq!((a.telephone_event, b.telephone_event), (None, None));
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("opus<->PCMA"));
    let am = sim.media_for(Leg::A);
    assert_eq!(am.last().unwrap().0.unwrap().clock_rate, 48_000);
}

#[test]
fn a_common_codec_is_relayed_as_before() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, ok) = answered(&mut sim, &mut alice, &mut bob);
    assert!(sim.transcodes.is_empty());
    assert!(body(&ok).contains("m=audio 30000 RTP/AVP 0 101\r\n"));
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMU"));

    // A callee preferring an added codec but also keeping the caller's: still relayed,
    // the added codec dropped from the answer.
    let (mut sim, mut alice, bob) = setup();
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    let mut bob = bob;
    let both =
        answer("m=audio 6000 RTP/AVP 96 8\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:8 PCMA/8000\r\n");
    sim.send(bob.addr, &bob.respond(&binv, 200, Some(&both), &[]));
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    let text = body(&ok);
    assert!(text.contains("m=audio 30000 RTP/AVP 8\r\n"), "{text}");
    assert!(sim.transcodes.is_empty());
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMA"));
    let _ = ALICE_SDP;
}

#[test]
fn nothing_transcodable_is_refused_with_488() {
    let (mut sim, mut alice, mut bob) = setup();
    let g729 = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    let bob_sdp = answer("m=audio 6000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n");
    let (offer, fin) = call(&mut sim, &mut alice, &mut bob, g729, &bob_sdp);
    assert!(
        offer.contains("m=audio 30002 RTP/AVP 18\r\n"),
        "nothing added without a transcodable codec: {offer}"
    );
    assert_eq!(crate::sim::parse(&fin).status(), Some(488));
    sim.expect_request(bob.addr, Method::Bye);
    assert!(sim.transcodes.is_empty());
    assert_eq!(sim.records[0].disposition, Disposition::Failed);
    assert_eq!(sim.records[0].hangup_cause, "488 Not Acceptable Here");
}

#[test]
fn transcoding_can_be_turned_off() {
    let mut sim = Sim::with_config(crate::Config {
        domain: "pbx.test".into(),
        transcoding: false,
        ..crate::Config::default()
    });
    let mut alice = Ua::new("1001", "10.0.0.1:5060");
    let mut bob = Ua::new("1002", "10.0.0.2:5060");
    sim.extension("1001", &[alice.addr]);
    sim.extension("1002", &[bob.addr]);
    let bob_sdp = answer("m=audio 6000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n");
    let (offer, fin) = call(&mut sim, &mut alice, &mut bob, PCMU_ONLY, &bob_sdp);
    assert!(offer.contains("m=audio 30002 RTP/AVP 0 101\r\n"), "{offer}");
    assert_eq!(crate::sim::parse(&fin).status(), Some(488));
}

#[test]
fn mid_call_offers_of_a_transcoded_call_stay_transcoded() {
    let (mut sim, mut alice, mut bob) = setup();
    let bob_sdp = answer("m=audio 6000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n");
    let (_, ok) = call(&mut sim, &mut alice, &mut bob, PCMU_ONLY, &bob_sdp);
    sim.send(alice.addr, &alice.ack(&ok));
    assert_eq!(sim.transcodes.len(), 1);

    // The caller holds with its own codec; the callee answers in Opus.
    let hold = PCMU_ONLY.replace("o=alice 1 1", "o=alice 1 2") + "a=sendonly\r\n";
    sim.send(alice.addr, &alice.request(Method::Invite, Some(&hold), &[]));
    let breinv = sim.expect_request(bob.addr, Method::Invite);
    let offer = body(&breinv);
    assert!(offer.contains("a=rtpmap:96 opus/48000/2\r\n"), "{offer}");
    assert!(offer.contains("a=sendonly\r\n"), "{offer}");
    let held = bob_sdp.replace("o=bob 7 7", "o=bob 7 8") + "a=recvonly\r\n";
    sim.send(bob.addr, &bob.respond(&breinv, 200, Some(&held), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    let text = body(&aok);
    assert!(text.contains("m=audio 30000 RTP/AVP 0\r\n"), "{text}");
    assert!(text.contains("a=recvonly\r\n"), "{text}");
    sim.send(alice.addr, &alice.ack(&aok));
    assert_eq!(sim.transcodes.len(), 2);
    let (_, a, b) = sim.transcodes[1];
    assert_eq!((a.codec, b.codec), (VoiceCodec::Pcmu, VoiceCodec::Opus));
    assert_eq!(
        sim.media_for(Leg::B).last().unwrap().1,
        crate::MediaDirection::SendOnly
    );

    // The callee re-offers in Opus; the caller answers PCMU; the legs keep their order.
    let resume = bob_sdp.replace("o=bob 7 7", "o=bob 7 9");
    sim.send(bob.addr, &bob.request(Method::Invite, Some(&resume), &[]));
    let areinv = sim.expect_request(alice.addr, Method::Invite);
    let offer = body(&areinv);
    assert!(
        offer.contains("m=audio 30000 RTP/AVP 96 9 0 8 97\r\n"),
        "{offer}"
    );
    let mine = PCMU_ONLY.replace("o=alice 1 1", "o=alice 1 3");
    sim.send(alice.addr, &alice.respond(&areinv, 200, Some(&mine), &[]));
    let bok = sim.expect_response(bob.addr, 200, Method::Invite);
    let text = body(&bok);
    assert!(text.contains("m=audio 30002 RTP/AVP 96\r\n"), "{text}");
    assert!(!text.contains("PCMU"), "{text}");
    let (_, a, b) = sim.transcodes[2];
    assert_eq!((a.codec, b.codec), (VoiceCodec::Pcmu, VoiceCodec::Opus));
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMU<->opus"));
}

#[test]
fn early_media_without_a_common_codec_is_transcoded_too() {
    let (mut sim, mut alice, mut bob) = setup();
    let bob_sdp = answer("m=audio 6000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n");
    let inv = alice.invite("1002", Some(PCMU_ONLY), &[]);
    sim.send(alice.addr, &inv);
    let binv = sim.expect_request(bob.addr, Method::Invite);
    sim.send(bob.addr, &bob.respond(&binv, 183, Some(&bob_sdp), &[]));
    let progress = sim.expect_response(alice.addr, 183, Method::Invite);
    let text = body(&progress);
    assert!(text.contains("m=audio 30000 RTP/AVP 0\r\n"), "{text}");
    assert!(!text.contains("opus"), "{text}");
    assert_eq!(sim.transcodes.len(), 1, "ringback is transcoded");
    let bm = sim.media_for(Leg::B);
    assert_eq!(bm.last().unwrap().0.unwrap().clock_rate, 48_000);
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMU<->opus"));

    sim.send(bob.addr, &bob.respond(&binv, 200, Some(&bob_sdp), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    let text = body(&ok);
    assert!(text.contains("m=audio 30000 RTP/AVP 0\r\n"), "{text}");
    assert_eq!(sim.transcodes.len(), 2);
    let (_, a, b) = sim.transcodes[1];
    assert_eq!((a.codec, b.codec), (VoiceCodec::Pcmu, VoiceCodec::Opus));
}
