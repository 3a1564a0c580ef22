//! Session timers (RFC 4028), the maximum duration, shutdown and hang-up by id.

use std::time::Duration;

use warden_sip_proto::Method;

use super::{answered, assert_clean, dial, header, setup};
use crate::sim::{body, parse, Sim, Ua, BOB_SDP};
use crate::{Config, Disposition, HangupSide};

fn sim_with(config: Config) -> (Sim, Ua, Ua) {
    let mut sim = Sim::with_config(Config {
        domain: "pbx.test".into(),
        ..config
    });
    let alice = Ua::new("1001", "10.0.0.1:5060");
    let bob = Ua::new("1002", "10.0.0.2:5060");
    sim.extension("1001", &[alice.addr]);
    sim.extension("1002", &[bob.addr]);
    (sim, alice, bob)
}

#[test]
fn session_timers_refresh_one_leg_and_expire_the_other() {
    let (mut sim, mut alice, mut bob) = sim_with(Config {
        session_expires: Duration::from_secs(120),
        ..Config::default()
    });
    let (_, binv) = dial(&mut sim, &mut alice, &bob);
    assert_eq!(header(&binv, "Session-Expires"), "120");
    assert_eq!(header(&binv, "Min-SE"), "90");
    // Bob supports timers and will refresh himself.
    let ok = bob.respond(
        &binv,
        200,
        Some(BOB_SDP),
        &[
            ("Session-Expires", "120;refresher=uas"),
            ("Require", "timer"),
        ],
    );
    sim.send(bob.addr, &ok);
    sim.expect_request(bob.addr, Method::Ack);
    let aok = sim.expect_response(alice.addr, 200, Method::Invite);
    // Alice said nothing about timers: we refresh her leg.
    assert_eq!(header(&aok, "Session-Expires"), "120;refresher=uas");
    assert_eq!(header(&aok, "Require"), "");
    sim.send(alice.addr, &alice.ack(&aok));

    sim.advance(Duration::from_secs(59));
    assert!(sim
        .take(alice.addr, |b| crate::sim::is_request(b, Method::Invite))
        .is_none());
    sim.advance(Duration::from_secs(1));
    // Alice did not say she accepts UPDATE: the refresh is a re-INVITE with the same SDP.
    let refresh = sim.expect_request(alice.addr, Method::Invite);
    assert_eq!(body(&refresh), body(&aok));
    assert_eq!(header(&refresh, "Session-Expires"), "120;refresher=uac");
    sim.send(
        alice.addr,
        &alice.respond(&refresh, 200, Some(crate::sim::ALICE_SDP), &[]),
    );
    sim.expect_request(alice.addr, Method::Ack);
    assert!(
        sim.quiet(bob.addr),
        "refreshing one leg does not touch the other: {}",
        sim.dump(bob.addr)
    );

    // Bob refreshes once, in time.
    let upd = bob.request(
        Method::Update,
        None,
        &[("Session-Expires", "120;refresher=uac")],
    );
    sim.advance(Duration::from_secs(10));
    sim.send(bob.addr, &upd);
    let uok = sim.expect_response(bob.addr, 200, Method::Update);
    assert_eq!(header(&uok, "Session-Expires"), "120;refresher=uac");
    // Alice's leg keeps being refreshed by us every 60 s...
    sim.advance(Duration::from_secs(50));
    let refresh = sim.expect_request(alice.addr, Method::Invite);
    sim.send(
        alice.addr,
        &alice.respond(&refresh, 200, Some(crate::sim::ALICE_SDP), &[]),
    );
    // ...but Bob never refreshes again: his session expires 120 - 32 s after his refresh.
    sim.advance(Duration::from_secs(37));
    assert!(sim.records.is_empty());
    sim.advance(Duration::from_secs(1));
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_request(bob.addr, Method::Bye);
    let r = &sim.records[0];
    assert_eq!(r.hangup_cause, "session expired");
    assert_eq!(r.hangup_side, Some(HangupSide::System));
}

#[test]
fn session_timer_refresh_uses_update_when_allowed() {
    let (mut sim, mut alice, mut bob) = sim_with(Config {
        session_expires: Duration::from_secs(100),
        ..Config::default()
    });
    alice
        .invite_headers
        .push(("Allow".into(), "INVITE, ACK, BYE, UPDATE".into()));
    alice
        .invite_headers
        .push(("Supported".into(), "timer".into()));
    alice
        .invite_headers
        .push(("Session-Expires".into(), "100;refresher=uas".into()));
    let (_, aok) = answered(&mut sim, &mut alice, &mut bob);
    assert_eq!(header(&aok, "Require"), "timer");
    assert_eq!(header(&aok, "Session-Expires"), "100;refresher=uas");
    sim.advance(Duration::from_secs(50));
    let upd = sim.expect_request(alice.addr, Method::Update);
    assert!(body(&upd).is_empty());
    sim.send(alice.addr, &alice.respond(&upd, 200, None, &[]));
    // Bob's 200 had no Session-Expires: we refresh his leg at our interval, by re-INVITE.
    let brefresh = sim.expect_request(bob.addr, Method::Invite);
    assert_eq!(header(&brefresh, "Session-Expires"), "100;refresher=uac");
    sim.send(bob.addr, &bob.respond(&brefresh, 200, Some(BOB_SDP), &[]));
    sim.expect_request(bob.addr, Method::Ack);
    // A failed refresh ends the call.
    sim.advance(Duration::from_secs(50));
    let upd = sim.expect_request(alice.addr, Method::Update);
    sim.send(alice.addr, &alice.respond(&upd, 481, None, &[]));
    sim.expect_request(bob.addr, Method::Bye);
    assert!(sim.records[0]
        .hangup_cause
        .starts_with("session refresh failed"));
}

#[test]
fn maximum_duration_hangs_up() {
    let (mut sim, mut alice, mut bob) = sim_with(Config {
        max_duration: Duration::from_secs(10),
        session_expires: Duration::ZERO,
        ..Config::default()
    });
    let (binv, aok) = answered(&mut sim, &mut alice, &mut bob);
    assert_eq!(header(&aok, "Session-Expires"), "", "session timers off");
    assert_eq!(header(&binv, "Session-Expires"), "");
    sim.advance(Duration::from_secs(10));
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_request(bob.addr, Method::Bye);
    let r = &sim.records[0];
    assert_eq!(r.hangup_cause, "maximum duration");
    assert_eq!(r.ended_at - r.answered_at.unwrap(), Duration::from_secs(10));
}

#[test]
fn shutdown_writes_a_record_for_every_call_in_flight() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let mut carol = Ua::new("1003", "10.0.0.3:5060");
    let dave = Ua::new("1004", "10.0.0.4:5060");
    sim.extension("1003", &[carol.addr]);
    sim.extension("1004", &[dave.addr]);
    sim.send(
        carol.addr,
        &carol.invite("1004", Some(crate::sim::ALICE_SDP), &[]),
    );
    sim.expect_request(dave.addr, Method::Invite);
    assert_eq!(sim.b2bua.active_calls(), 2);
    sim.b2bua.shutdown(sim.now);
    sim.settle();
    assert_eq!(sim.records.len(), 2);
    assert!(sim.records.iter().all(|r| r.hangup_cause == "shutdown"));
    let answered = sim.records.iter().find(|r| r.caller == "1001").unwrap();
    assert_eq!(answered.disposition, Disposition::Answered);
    sim.expect_request(alice.addr, Method::Bye);
    sim.expect_request(bob.addr, Method::Bye);
    sim.expect_response(carol.addr, 503, Method::Invite);
    assert_eq!(sim.b2bua.active_calls(), 0);
}

#[test]
fn hang_up_by_id() {
    let (mut sim, mut alice, mut bob) = setup();
    answered(&mut sim, &mut alice, &mut bob);
    let id = sim.b2bua.calls()[0].id;
    assert_eq!(crate::CallId::parse(&id.to_string()), Some(id));
    sim.b2bua.hang_up(sim.now, id).unwrap();
    sim.settle();
    let abye = sim.expect_request(alice.addr, Method::Bye);
    let bbye = sim.expect_request(bob.addr, Method::Bye);
    assert_ne!(parse(&abye).call_id(), parse(&bbye).call_id());
    sim.send(alice.addr, &alice.respond(&abye, 200, None, &[]));
    sim.send(bob.addr, &bob.respond(&bbye, 200, None, &[]));
    assert_eq!(sim.records[0].hangup_cause, "hangup by administrator");
    // A BYE crossing ours is still answered.
    sim.send(alice.addr, &alice.request(Method::Bye, None, &[]));
    sim.expect_response(alice.addr, 200, Method::Bye);
    assert_clean(&mut sim);
}
