//! Mid-call requests: hold and resume by re-INVITE and UPDATE, refreshes answered locally,
//! glare, INFO/OPTIONS relayed, unknown dialogs.

use warden_sip_proto::Method;

use super::{answered, header, setup};
use crate::sim::{body, is_request, parse, ALICE_SDP, BOB_SDP};
use crate::{CallEvent, CallPhase, Leg, MediaDirection};

fn with_direction(sdp: &str, version: u32, dir: &str) -> String {
    format!(
        "{}a={dir}\r\n",
        sdp.replace("o=alice 1 1", &format!("o=alice 1 {version}"))
            .replace("o=bob 7 7", &format!("o=bob 7 {version}"))
    )
}

#[test]
fn reinvite_hold_and_resume_reach_the_media_plane() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let first_b_offer_version = 1;

    // Alice puts Bob on hold.
    let hold = alice.request(
        Method::Invite,
        Some(&with_direction(ALICE_SDP, 2, "sendonly")),
        &[],
    );
    sim.send(alice.addr, &hold);
    let breinv = sim.expect_request(bob.addr, Method::Invite);
    let offer = body(&breinv);
    assert!(offer.contains("a=sendonly\r\n"), "{offer}");
    assert!(offer.contains("m=audio 30002 "), "{offer}");
    assert!(
        offer.contains(&format!(" {} IN IP4 192.0.2.1", first_b_offer_version + 1)),
        "version goes up: {offer}"
    );
    assert!(parse(&breinv).to().unwrap().tag() == Some("u1002"));
    let bok = bob.respond(
        &breinv,
        200,
        Some(&with_direction(BOB_SDP, 8, "recvonly")),
        &[],
    );
    sim.send(bob.addr, &bok);
    let back = sim.expect_request(bob.addr, Method::Ack);
    assert_eq!(
        parse(&back).cseq().unwrap().seq,
        parse(&breinv).cseq().unwrap().seq
    );
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    assert!(body(&aok).contains("a=recvonly\r\n"), "{}", body(&aok));
    assert!(body(&aok).contains("m=audio 30000 "));
    sim.send(alice.addr, &alice.ack(&aok));
    assert_eq!(
        sim.media_for(Leg::A).last().unwrap().1,
        MediaDirection::RecvOnly
    );
    assert_eq!(
        sim.media_for(Leg::B).last().unwrap().1,
        MediaDirection::SendOnly
    );
    assert_eq!(sim.b2bua.calls()[0].phase, CallPhase::Held);

    // And resumes.
    let resume = alice.request(
        Method::Invite,
        Some(&with_direction(ALICE_SDP, 3, "sendrecv")),
        &[],
    );
    sim.send(alice.addr, &resume);
    let breinv = sim.expect_request(bob.addr, Method::Invite);
    assert!(body(&breinv).contains("a=sendrecv\r\n"));
    sim.send(
        bob.addr,
        &bob.respond(
            &breinv,
            200,
            Some(&with_direction(BOB_SDP, 9, "sendrecv")),
            &[],
        ),
    );
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(alice.addr, &alice.ack(&aok));
    assert_eq!(
        sim.media_for(Leg::A).last().unwrap().1,
        MediaDirection::SendRecv
    );
    assert_eq!(
        sim.media_for(Leg::B).last().unwrap().1,
        MediaDirection::SendRecv
    );
    assert_eq!(sim.b2bua.calls()[0].phase, CallPhase::Answered);
    assert!(sim.records.is_empty());
}

#[test]
fn callee_holds_with_update() {
    let (mut sim, mut alice, mut bob) = setup();
    alice
        .invite_headers
        .push(("Allow".into(), "INVITE, ACK, BYE, CANCEL, UPDATE".into()));
    answered(&mut sim, &mut alice, &mut bob);
    let upd = bob.request(
        Method::Update,
        Some(&with_direction(BOB_SDP, 8, "inactive")),
        &[],
    );
    sim.send(bob.addr, &upd);
    // The caller allows UPDATE, so the offer goes on as an UPDATE.
    let aupd = sim.expect_request(alice.addr, Method::Update);
    assert!(body(&aupd).contains("a=inactive\r\n"));
    sim.send(
        alice.addr,
        &alice.respond(
            &aupd,
            200,
            Some(&with_direction(ALICE_SDP, 2, "inactive")),
            &[],
        ),
    );
    assert!(
        sim.take(alice.addr, |b| is_request(b, Method::Ack))
            .is_none(),
        "no ACK for UPDATE"
    );
    let ok = sim.expect_response(bob.addr, 200, Method::Update);
    assert!(body(&ok).contains("a=inactive\r\n"));
    assert_eq!(
        sim.media_for(Leg::A).last().unwrap().1,
        MediaDirection::Inactive
    );
    assert_eq!(
        sim.media_for(Leg::B).last().unwrap().1,
        MediaDirection::Inactive
    );
}

#[test]
fn refreshes_are_answered_without_bothering_the_other_side() {
    let (mut sim, mut alice, mut bob) = setup();
    let (_, ok) = answered(&mut sim, &mut alice, &mut bob);
    // Same SDP version: a refresh. Answered with what we sent before.
    let again = alice.request(Method::Invite, Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &again);
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    assert_eq!(body(&aok), body(&ok));
    sim.send(alice.addr, &alice.ack(&aok));
    // No offer at all: our last description is the offer.
    let empty = alice.request(Method::Invite, None, &[]);
    sim.send(alice.addr, &empty);
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    assert_eq!(body(&aok), body(&ok));
    sim.send(alice.addr, &alice.ack(&aok));
    let upd = alice.request(Method::Update, None, &[]);
    sim.send(alice.addr, &upd);
    let uok = sim.expect_response(alice.addr, 200, Method::Update);
    assert!(body(&uok).is_empty());
    assert!(
        sim.quiet(bob.addr),
        "nothing reached the callee: {}",
        sim.dump(bob.addr)
    );
}

#[test]
fn glare_gets_491() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    sim.send(
        alice.addr,
        &alice.request(
            Method::Invite,
            Some(&with_direction(ALICE_SDP, 2, "sendonly")),
            &[],
        ),
    );
    let breinv = sim.expect_request(bob.addr, Method::Invite);
    // Bob sends his own re-INVITE while ours is pending.
    let theirs = bob.request(
        Method::Invite,
        Some(&with_direction(BOB_SDP, 8, "sendonly")),
        &[],
    );
    sim.send(bob.addr, &theirs);
    sim.expect_response(bob.addr, 491, Method::Invite);
    // Bob refuses ours the same way; the caller hears 491 too.
    sim.send(bob.addr, &bob.respond(&breinv, 491, None, &[]));
    sim.expect_response(alice.addr, 491, Method::Invite);
    assert_eq!(sim.b2bua.active_calls(), 1);
}

#[test]
fn info_and_options_are_relayed() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let info = {
        let text = alice.request(
            Method::Info,
            None,
            &[("Content-Type", "application/dtmf-relay")],
        );
        // Add a body by hand (the helper only writes SDP bodies).
        let s = String::from_utf8_lossy(&text).replace(
            "Content-Length: 0\r\n\r\n",
            "Content-Length: 24\r\n\r\nSignal=5\r\nDuration=160\r\n",
        );
        bytes::Bytes::from(s)
    };
    sim.send(alice.addr, &info);
    let binfo = sim.expect_request(bob.addr, Method::Info);
    assert_eq!(parse(&binfo).body(), b"Signal=5\r\nDuration=160\r\n");
    assert_eq!(header(&binfo, "Content-Type"), "application/dtmf-relay");
    sim.send(bob.addr, &bob.respond(&binfo, 200, None, &[]));
    sim.expect_response(alice.addr, 200, Method::Info);
    // The body also reaches the glue (for DTMF events), once, from the caller's leg.
    let infos: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Info {
                leg,
                content_type,
                body,
                ..
            } => Some((*leg, content_type.clone(), body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        infos,
        [(
            Leg::A,
            "application/dtmf-relay".to_string(),
            b"Signal=5\r\nDuration=160\r\n".to_vec()
        )]
    );

    sim.send(bob.addr, &bob.request(Method::Options, None, &[]));
    let aopt = sim.expect_request(alice.addr, Method::Options);
    sim.send(alice.addr, &alice.respond(&aopt, 486, None, &[]));
    sim.expect_response(bob.addr, 486, Method::Options);

    sim.send(alice.addr, &alice.request(Method::Refer, None, &[]));
    sim.expect_response(alice.addr, 501, Method::Refer);
}

#[test]
fn relayed_request_without_answer_gets_408() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    sim.send(alice.addr, &alice.request(Method::Info, None, &[]));
    sim.expect_request(bob.addr, Method::Info);
    sim.advance(std::time::Duration::from_secs(33));
    sim.expect_response(alice.addr, 408, Method::Info);
}

#[test]
fn requests_outside_any_dialog_get_481() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let stray = {
        let bye = alice.request(Method::Bye, None, &[]);
        let text = String::from_utf8_lossy(&bye).replace(&alice.call_id, "other@test");
        bytes::Bytes::from(text)
    };
    sim.send(alice.addr, &stray);
    sim.expect_response(alice.addr, 481, Method::Bye);
    // An old CSeq in the right dialog.
    alice.cseq = 0;
    let old = alice.request(Method::Info, None, &[]);
    let old = String::from_utf8_lossy(&old).replace("CSeq: 1 INFO", "CSeq: 0 INFO");
    sim.send(alice.addr, &bytes::Bytes::from(old));
    sim.expect_response(alice.addr, 500, Method::Info);
    assert_eq!(sim.b2bua.active_calls(), 1);
}

#[test]
fn a_relayed_reinvite_still_pending_when_the_call_ends_is_answered_and_dropped() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let hold = alice.request(
        Method::Invite,
        Some(&with_direction(ALICE_SDP, 2, "sendonly")),
        &[],
    );
    sim.send(alice.addr, &hold);
    let breinv = sim.expect_request(bob.addr, Method::Invite);
    // Bob only says 180 to the re-INVITE, then hangs up.
    sim.send(bob.addr, &bob.respond(&breinv, 180, None, &[]));
    sim.send(bob.addr, &bob.request(Method::Bye, None, &[]));
    sim.expect_response(bob.addr, 200, Method::Bye);
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_response(alice.addr, 487, Method::Invite);
    super::assert_clean(&mut sim);
}
