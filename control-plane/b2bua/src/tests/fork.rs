//! Parallel forking to every contact of the callee, the best final response, and reliable
//! provisional responses with early media (RFC 3262).

use std::time::Duration;

use warden_sip_proto::Method;

use super::{assert_clean, header};
use crate::sim::{body, is_request, parse, Sim, Ua, ALICE_SDP, BOB_SDP};
use crate::{Disposition, Leg};

fn forked() -> (Sim, Ua, Ua, Ua) {
    let mut sim = Sim::new();
    let alice = Ua::new("1001", "10.0.0.1:5060");
    let desk = Ua::new("1002", "10.0.0.2:5060");
    let mobile = Ua::new("1002", "10.0.0.3:5070");
    sim.extension("1001", &[alice.addr]);
    sim.extension("1002", &[desk.addr, mobile.addr]);
    (sim, alice, desk, mobile)
}

#[test]
fn first_2xx_wins_and_the_other_fork_is_cancelled() {
    let (mut sim, mut alice, mut desk, mut mobile) = forked();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let d_inv = sim.expect_request(desk.addr, Method::Invite);
    let m_inv = sim.expect_request(mobile.addr, Method::Invite);
    let (d, m) = (parse(&d_inv), parse(&m_inv));
    assert_eq!(d.call_id(), m.call_id(), "one callee leg, two branches");
    assert_ne!(d.top_via().unwrap().branch(), m.top_via().unwrap().branch());
    assert_eq!(m.request_uri().unwrap().as_str(), "sip:1002@10.0.0.3:5070");
    sim.send(desk.addr, &desk.respond(&d_inv, 180, None, &[]));
    sim.send(mobile.addr, &mobile.respond(&m_inv, 180, None, &[]));
    sim.send(
        mobile.addr,
        &mobile.respond(&m_inv, 200, Some(BOB_SDP), &[]),
    );
    sim.expect_request(mobile.addr, Method::Ack);
    let cancel = sim.expect_request(desk.addr, Method::Cancel);
    sim.expect_response(alice.addr, 200, Method::Invite);
    sim.send(desk.addr, &desk.respond(&cancel, 200, None, &[]));
    sim.send(desk.addr, &desk.respond(&d_inv, 487, None, &[]));
    sim.expect_request(desk.addr, Method::Ack);
    assert_eq!(sim.b2bua.calls()[0].legs[1].remote, Some(mobile.addr));
    // The desk phone answered too, crossing our CANCEL: ACK it and hang it up.
    let late = desk.respond(&d_inv, 200, Some(BOB_SDP), &[]);
    sim.send(desk.addr, &late);
    // (The desk's INVITE transaction already completed with 487, so this 2xx is stray.)
    assert!(sim.records.is_empty(), "the call goes on");
    // A copy of the winning 2xx gets our ACK again.
    sim.send(
        mobile.addr,
        &mobile.respond(&m_inv, 200, Some(BOB_SDP), &[]),
    );
    sim.expect_request(mobile.addr, Method::Ack);
}

#[test]
fn a_second_2xx_from_another_fork_is_acked_and_hung_up() {
    let (mut sim, mut alice, mut desk, mut mobile) = forked();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let d_inv = sim.expect_request(desk.addr, Method::Invite);
    let m_inv = sim.expect_request(mobile.addr, Method::Invite);
    sim.send(desk.addr, &desk.respond(&d_inv, 180, None, &[]));
    sim.send(
        mobile.addr,
        &mobile.respond(&m_inv, 200, Some(BOB_SDP), &[]),
    );
    sim.expect_request(desk.addr, Method::Cancel);
    // The desk answered before it saw the CANCEL.
    sim.send(desk.addr, &desk.respond(&d_inv, 200, Some(BOB_SDP), &[]));
    sim.expect_request(desk.addr, Method::Ack);
    let bye = sim.expect_request(desk.addr, Method::Bye);
    assert_eq!(parse(&bye).to().unwrap().tag(), Some("u1002"));
    assert_eq!(sim.b2bua.active_calls(), 1);
    assert_eq!(
        sim.b2bua.calls()[0].legs[1].remote,
        Some(mobile.addr),
        "the first answer keeps the call"
    );
}

#[test]
fn best_response_when_every_fork_fails() {
    let (mut sim, mut alice, mut desk, mut mobile) = forked();
    let ainv = alice.invite("1002", Some(ALICE_SDP), &[]);
    sim.send(alice.addr, &ainv);
    let d_inv = sim.expect_request(desk.addr, Method::Invite);
    let m_inv = sim.expect_request(mobile.addr, Method::Invite);
    sim.send(desk.addr, &desk.respond(&d_inv, 503, None, &[]));
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_response(
            b,
            503,
            Method::Invite
        ))
        .is_none());
    sim.send(mobile.addr, &mobile.respond(&m_inv, 486, None, &[]));
    // The lowest class wins: 486 rather than 503.
    sim.expect_response(alice.addr, 486, Method::Invite);
    assert_eq!(sim.records[0].disposition, Disposition::Busy);
    assert_clean(&mut sim);
}

#[test]
fn all_5xx_become_500() {
    let (mut sim, mut alice, mut desk, mut mobile) = forked();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let d_inv = sim.expect_request(desk.addr, Method::Invite);
    let m_inv = sim.expect_request(mobile.addr, Method::Invite);
    sim.send(desk.addr, &desk.respond(&d_inv, 503, None, &[]));
    sim.send(mobile.addr, &mobile.respond(&m_inv, 503, None, &[]));
    sim.expect_response(alice.addr, 500, Method::Invite);
}

#[test]
fn a_6xx_ends_the_search_at_once() {
    let (mut sim, mut alice, mut desk, mut mobile) = forked();
    sim.send(alice.addr, &alice.invite("1002", Some(ALICE_SDP), &[]));
    let d_inv = sim.expect_request(desk.addr, Method::Invite);
    let m_inv = sim.expect_request(mobile.addr, Method::Invite);
    sim.send(mobile.addr, &mobile.respond(&m_inv, 180, None, &[]));
    sim.send(desk.addr, &desk.respond(&d_inv, 603, None, &[]));
    sim.expect_response(alice.addr, 603, Method::Invite);
    sim.expect_request(mobile.addr, Method::Cancel);
    assert_eq!(sim.records[0].disposition, Disposition::Busy);
}

#[test]
fn reliable_early_media_when_both_sides_support_it() {
    let (mut sim, mut alice, mut desk, _) = forked();
    sim.directory.get_mut("1002").unwrap().contacts.truncate(1);
    let ainv = alice.invite("1002", Some(ALICE_SDP), &[("Supported", "100rel")]);
    sim.send(alice.addr, &ainv);
    let binv = sim.expect_request(desk.addr, Method::Invite);
    assert!(
        header(&binv, "Supported").contains("100rel"),
        "offered only because the caller supports it"
    );
    let early = desk.respond(
        &binv,
        183,
        Some(BOB_SDP),
        &[("Require", "100rel"), ("RSeq", "1")],
    );
    sim.send(desk.addr, &early);
    let prack = sim.expect_request(desk.addr, Method::Prack);
    assert_eq!(header(&prack, "RAck"), "1 1 INVITE");
    assert_eq!(parse(&prack).to().unwrap().tag(), Some("u1002"));
    sim.send(desk.addr, &desk.respond(&prack, 200, None, &[]));
    // A copy of the same reliable 183 is not PRACKed again by us.
    sim.send(desk.addr, &early);
    assert!(sim
        .take(desk.addr, |b| is_request(b, Method::Prack))
        .is_none());

    let a183 = sim.expect_response(alice.addr, 183, Method::Invite);
    assert_eq!(header(&a183, "Require"), "100rel");
    let rseq = header(&a183, "RSeq");
    assert!(
        body(&a183).contains("m=audio 30000"),
        "early media anchored: {}",
        body(&a183)
    );
    let b_media = sim.media_for(Leg::B);
    assert_eq!(b_media[0].0.unwrap().rtp, "10.0.0.2:6000".parse().unwrap());

    // The callee answers before the caller PRACKs: our 2xx waits for the PRACK.
    sim.send(desk.addr, &desk.respond(&binv, 200, None, &[]));
    sim.expect_request(desk.addr, Method::Ack);
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_response(
            b,
            200,
            Method::Invite
        ))
        .is_none());
    alice.learn(&a183);
    let rack = format!("{rseq} 1 INVITE");
    let aprack = alice.request(Method::Prack, None, &[("RAck", &rack)]);
    sim.send(alice.addr, &aprack);
    sim.expect_response(alice.addr, 200, Method::Prack);
    let ok = sim.expect_response(alice.addr, 200, Method::Invite);
    assert!(body(&ok).contains("m=audio 30000"));
    sim.send(alice.addr, &alice.ack(&ok));
    assert_eq!(sim.b2bua.calls()[0].codec.as_deref(), Some("PCMU"));
}

#[test]
fn unacknowledged_reliable_provisional_is_retransmitted() {
    let (mut sim, mut alice, mut desk, _) = forked();
    sim.directory.get_mut("1002").unwrap().contacts.truncate(1);
    sim.send(
        alice.addr,
        &alice.invite("1002", Some(ALICE_SDP), &[("Require", "100rel")]),
    );
    let binv = sim.expect_request(desk.addr, Method::Invite);
    // The callee's 180 is unreliable, but the caller requires reliability.
    sim.send(desk.addr, &desk.respond(&binv, 180, None, &[]));
    sim.expect_response(alice.addr, 180, Method::Invite);
    sim.advance(Duration::from_millis(3600));
    let copies = sim.inboxes[&alice.addr]
        .iter()
        .filter(|b| crate::sim::is_response(b, 180, Method::Invite))
        .count();
    assert_eq!(copies, 3, "re-sent after 0.5, 1.5 and 3.5 s");
}

#[test]
fn a_held_2xx_is_replaced_by_an_error_when_the_call_ends_first() {
    let (mut sim, mut alice, mut desk, _) = forked();
    sim.directory.get_mut("1002").unwrap().contacts.truncate(1);
    sim.send(
        alice.addr,
        &alice.invite("1002", Some(ALICE_SDP), &[("Supported", "100rel")]),
    );
    let binv = sim.expect_request(desk.addr, Method::Invite);
    let early = desk.respond(
        &binv,
        183,
        Some(BOB_SDP),
        &[("Require", "100rel"), ("RSeq", "1")],
    );
    sim.send(desk.addr, &early);
    sim.expect_response(alice.addr, 183, Method::Invite);
    sim.send(desk.addr, &desk.respond(&binv, 200, None, &[]));
    sim.expect_request(desk.addr, Method::Ack);
    // Our 2xx waits for the caller's PRACK; meanwhile the callee hangs up.
    sim.send(desk.addr, &desk.request(Method::Bye, None, &[]));
    sim.expect_response(desk.addr, 200, Method::Bye);
    sim.expect_response(alice.addr, 500, Method::Invite);
    assert!(sim
        .take(alice.addr, |b| is_request(b, Method::Bye))
        .is_none());
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_response(
            b,
            200,
            Method::Invite
        ))
        .is_none());
    assert_clean(&mut sim);
}
