//! Calls end to end: SIPp as caller and as callee through the real server, with real RTP
//! through the media plane, and the call records, on SQLite and PostgreSQL.
//!
//! Each test registers the callee (1002) with SIPp, starts a SIPp callee on the registered
//! port, and places the call with a SIPp caller (1001) that answers the 407 challenge. The
//! scenarios write the media address Warden put in the SDP they received to a file, so a
//! test can exchange RTP with the media plane from its own sockets and check where the
//! packets come from.

mod dtmf;
mod record;
mod support;
mod transcode;
mod transcode_media;

use std::time::{Duration, Instant};

use warden_storage::{Disposition, HangupSide};

use crate::harness::{Backend, Sip, EXT, EXT2};
use support::*;

#[test]
fn answered_call_relays_rtp_both_ways_through_the_media_plane() {
    for backend in Backend::all() {
        let w = start("call_rtp", backend);
        let setup = CallSetup::new(&w);
        let mut call = setup.media_call(&w, "uas_answer.xml", "call_uac.xml", &["-d", "3000"]);
        let (a_ep, b_ep) = (call.a_ep, call.b_ep);
        assert_media_plane_addr(&w, a_ep);
        assert_media_plane_addr(&w, b_ep);
        assert_ne!(a_ep, b_ep, "one endpoint per leg");

        // The phones send 50 packets each way; each side must get the other's, from the
        // endpoint the media plane allocated for it.
        let (at_a, at_b) = talk(&call, 50);
        let from_caller: Vec<_> = at_b
            .iter()
            .filter(|(_, _, p)| p.starts_with(b"A2B"))
            .collect();
        let from_callee: Vec<_> = at_a
            .iter()
            .filter(|(_, _, p)| p.starts_with(b"B2A"))
            .collect();
        assert!(
            from_caller.len() >= 45,
            "callee got {} of 50 packets\n{}",
            from_caller.len(),
            w.log()
        );
        assert!(
            from_callee.len() >= 45,
            "caller got {} of 50 packets",
            from_callee.len()
        );
        assert!(
            from_caller
                .iter()
                .all(|(src, pt, _)| *src == b_ep && *pt == 0),
            "the callee hears the media plane's callee-side endpoint only: {:?}",
            from_caller.iter().map(|p| p.0).collect::<Vec<_>>()
        );
        assert!(
            from_callee
                .iter()
                .all(|(src, pt, _)| *src == a_ep && *pt == 0),
            "the caller hears the media plane's caller-side endpoint only"
        );

        finish(&mut call.caller, &mut call.callee);
        // The caller's signalling never saw the callee's media address, nor the reverse.
        assert!(!call
            .caller
            .messages()
            .contains(&format!("m=audio {}", call.tb.local_addr().unwrap().port())));
        assert!(!call
            .callee
            .messages()
            .contains(&format!("m=audio {}", call.ta.local_addr().unwrap().port())));

        let recs = records(&w, 1);
        assert_eq!(recs.len(), 1, "one record per call");
        let r = &recs[0].record;
        assert_eq!((r.caller.as_str(), r.callee.as_str()), (EXT, EXT2));
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.hangup_side, Some(HangupSide::Caller));
        assert_eq!(r.hangup_cause.as_deref(), Some("BYE"));
        assert_eq!(r.codec.as_deref(), Some("PCMU"));
        assert!(r.answered_at.is_some());
        assert!(
            (2500..10_000).contains(&r.billable_ms),
            "talk time {} ms for a 3 s call",
            r.billable_ms
        );
        assert!(r.duration_ms >= r.billable_ms);
        for (side, q) in [("caller", r.caller_quality), ("callee", r.callee_quality)] {
            let q = q.unwrap_or_else(|| panic!("no {side} quality in {r:?}"));
            assert!(q.loss_pct < 5.0 && q.mos > 3.0, "{side}: {q:?}");
        }
        assert!(w.metric("warden_calls_answered_total") >= 1.0);
        assert!(w.metric("warden_calls_started_total") >= 1.0);
        assert_eq!(w.metric("warden_calls_active"), 0.0);
        if std::env::var("WARDEN_REQUIRE_BPF").as_deref() == Ok("1") {
            // After the 2-packet warm-up each direction went through the kernel; the
            // media core counted those packets when the call ended (published each second).
            let kernel = "warden_media_kernel_packets_total";
            let deadline = Instant::now() + Duration::from_secs(3);
            while w.metric_sum(kernel) < 40.0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(w.metric_sum("warden_media_kernel_handoffs_total"), 2.0);
            assert!(
                w.metric_sum(kernel) >= 40.0,
                "the kernel forwarded {} of the 100 packets",
                w.metric_sum(kernel)
            );
        }
    }
}

#[test]
fn a_caller_without_an_offer_answers_ours_in_its_ack_and_talks() {
    for backend in Backend::all() {
        let w = start("call_delayed", backend);
        let setup = CallSetup::new(&w);
        let mut call = setup.media_call(
            &w,
            "uas_answer.xml",
            "call_uac_delayed.xml",
            &["-d", "2000"],
        );
        let (a_ep, b_ep) = (call.a_ep, call.b_ep);
        assert_media_plane_addr(&w, a_ep);
        assert_media_plane_addr(&w, b_ep);

        // The caller's address came only in its ACK; RTP flows both ways once it is in.
        let (at_a, at_b) = talk(&call, 30);
        let heard = |got: &Heard, tag: &[u8], from| {
            got.iter()
                .filter(|(src, pt, p)| p.starts_with(tag) && *src == from && *pt == 0)
                .count()
        };
        assert!(
            heard(&at_b, b"A2B", b_ep) >= 25,
            "callee heard the caller\n{}",
            w.log()
        );
        assert!(heard(&at_a, b"B2A", a_ep) >= 25, "caller heard the callee");

        finish(&mut call.caller, &mut call.callee);
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.hangup_cause.as_deref(), Some("BYE"));
        assert_eq!(r.codec.as_deref(), Some("PCMU"));
    }
}

#[test]
fn g711_played_by_the_caller_reaches_the_callee_from_the_media_plane() {
    for backend in Backend::all() {
        let w = start("call_pcap", backend);
        let setup = CallSetup::new(&w);
        write_pcap(&setup.file("g711.pcap"), 100);
        let tb = socket();
        let mut callee = setup.callee(&w, "uas_answer.xml", tb.local_addr().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_pcap.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &["-d", "3500"],
        );
        let b_ep = setup.media_addr("callee.addr", Duration::from_secs(10));
        assert_media_plane_addr(&w, b_ep);
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(6);
        while Instant::now() < deadline {
            drain(&tb, &mut got);
            std::thread::sleep(Duration::from_millis(10));
        }
        finish(&mut caller, &mut callee);
        let audio: Vec<_> = got
            .iter()
            .filter(|(_, pt, p)| *pt == 0 && p.len() == 160 && p.starts_with(b"PCAP"))
            .collect();
        assert!(
            audio.len() >= 90,
            "the callee got {} of the 100 G.711 packets\n{}",
            audio.len(),
            w.log()
        );
        assert!(audio.iter().all(|(src, _, _)| *src == b_ep));
        let r = &records(&w, 1)[0].record;
        assert!(
            r.caller_quality.is_some_and(|q| q.mos > 3.0),
            "the media plane measured the caller's stream: {r:?}"
        );
    }
}

#[test]
fn callee_hangs_up_a_caller_on_tcp() {
    for backend in Backend::all() {
        let w = start("call_callee_bye", backend);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(
            &w,
            "uas_bye.xml",
            "127.0.0.1:9".parse().unwrap(),
            &["-d", "1000"],
        );
        let mut caller = setup.caller(
            &w,
            "call_uac_wait_bye.xml",
            EXT2,
            Sip::Tcp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        assert!(
            caller.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            caller.explain(),
            w.log()
        );
        assert!(
            callee.wait(Duration::from_secs(10)),
            "callee:\n{}",
            callee.explain()
        );
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.hangup_side, Some(HangupSide::Callee));
        assert!(r.billable_ms >= 800, "{r:?}");
    }
}

#[test]
fn busy_unknown_and_unregistered_callees() {
    for backend in Backend::all() {
        let w = start("call_failures", backend);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(&w, "uas_busy.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_fail.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        finish(&mut caller, &mut callee);
        assert!(
            caller.messages().contains("SIP/2.0 486 Busy Here"),
            "486 relayed:\n{}",
            caller.messages()
        );

        // An unknown number, then an extension with no registration.
        let mut unknown = setup.caller(
            &w,
            "call_uac_fail.xml",
            "1999",
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        assert!(
            unknown.wait(Duration::from_secs(20)),
            "{}",
            unknown.explain()
        );
        assert!(unknown.messages().contains("SIP/2.0 404 Not Found"));

        // 1001 exists but has no registration (the caller does not register).
        let mut unreg = setup.caller(
            &w,
            "call_uac_fail.xml",
            EXT,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        assert!(unreg.wait(Duration::from_secs(20)), "{}", unreg.explain());
        assert!(unreg
            .messages()
            .contains("SIP/2.0 480 Temporarily Unavailable"));

        let recs = records(&w, 3);
        let outcomes: Vec<(&str, Disposition, Option<&str>)> = recs
            .iter()
            .map(|r| {
                (
                    r.record.callee.as_str(),
                    r.record.disposition,
                    r.record.hangup_cause.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                (EXT2, Disposition::Busy, Some("486 Busy Here")),
                ("1999", Disposition::Failed, Some("404 Not Found")),
                (
                    EXT,
                    Disposition::Failed,
                    Some("480 Temporarily Unavailable")
                ),
            ]
        );
        assert!(w.metric("warden_calls_failed_total") >= 2.0);
    }
}

#[test]
fn caller_cancels_while_ringing() {
    for backend in Backend::all() {
        let w = start("call_cancel", backend);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(&w, "uas_ring.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_cancel.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        finish(&mut caller, &mut callee);
        assert!(
            callee.messages().contains("CANCEL sip:"),
            "the callee was cancelled"
        );
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.disposition, Disposition::Cancelled);
        assert_eq!(r.hangup_side, Some(HangupSide::Caller));
        assert_eq!(r.answered_at, None);
        assert_eq!(r.billable_ms, 0);
    }
}

#[test]
fn hold_and_resume_by_reinvite_reach_the_media_plane() {
    for backend in Backend::all() {
        let w = start("call_hold", backend);
        let token = admin_token(&w);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(&w, "uas_hold.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_hold.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &["-d", "2000"],
        );
        // While the caller holds (its pause), the API shows the call as held.
        let held = wait_for(
            || live_calls(&w, &token).iter().any(|c| c["state"] == "held"),
            Duration::from_secs(10),
        );
        assert!(
            held,
            "the live call never showed as held: {:?}",
            live_calls(&w, &token)
        );
        let call = live_calls(&w, &token).remove(0);
        assert_eq!(call["caller"], EXT);
        assert_eq!(call["legs"].as_array().map(Vec::len), Some(2));
        finish(&mut caller, &mut callee);
        // The media plane was told: the caller's endpoint stops sending to the caller, the
        // callee's stops accepting from the callee, then both go back to sendrecv.
        let log = w.log();
        for dir in ["RecvOnly", "SendOnly"] {
            assert!(
                log.contains(&format!("direction: {dir}")),
                "no {dir} command in the log"
            );
        }
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.disposition, Disposition::Answered);
    }
}

#[test]
fn rtp_timeout_hangs_up_both_legs() {
    for backend in Backend::all() {
        // The harness configures a 5 s RTP timeout.
        let w = start("call_rtp_timeout", backend);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(&w, "uas_answer.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_wait_bye.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        // Nobody sends RTP: the media plane reports the silence and both legs get BYE.
        assert!(
            caller.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            caller.explain(),
            w.log()
        );
        assert!(
            callee.wait(Duration::from_secs(10)),
            "callee:\n{}",
            callee.explain()
        );
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.hangup_side, Some(HangupSide::System));
        assert!(
            r.hangup_cause
                .as_deref()
                .is_some_and(|c| c.starts_with("RTP timeout")),
            "{r:?}"
        );
    }
}

#[test]
fn administrator_hangs_up_through_the_api() {
    for backend in Backend::all() {
        let w = start("call_api_hangup", backend);
        let token = admin_token(&w);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(&w, "uas_answer.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_wait_bye.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        assert!(wait_for(
            || live_calls(&w, &token)
                .iter()
                .any(|c| c["state"] == "answered"),
            Duration::from_secs(10)
        ));
        let id = live_calls(&w, &token)[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/hangup"),
            Some(&token),
            None,
        );
        assert_eq!(status, 204, "{body}");
        finish(&mut caller, &mut callee);
        let (status, _) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/hangup"),
            Some(&token),
            None,
        );
        assert_eq!(status, 404, "already ended");
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.hangup_cause.as_deref(), Some("hangup by administrator"));
        assert!(live_calls(&w, &token).is_empty());
    }
}

#[test]
fn calls_in_flight_get_a_record_at_shutdown() {
    for backend in Backend::all() {
        let mut w = start("call_shutdown", backend);
        let setup = CallSetup::new(&w);
        let _callee = setup.callee(&w, "uas_answer.xml", "127.0.0.1:9".parse().unwrap(), &[]);
        let _caller = setup.caller(
            &w,
            "call_uac_wait_bye.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        let _ = setup.media_addr("caller.addr", Duration::from_secs(10));
        w.stop();
        let recs = records(&w, 1);
        assert_eq!(recs.len(), 1, "the call in flight was recorded at shutdown");
        let r = &recs[0].record;
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.hangup_cause.as_deref(), Some("shutdown"));
        assert_eq!(r.hangup_side, Some(HangupSide::System));
    }
}
