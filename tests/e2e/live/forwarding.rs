//! Call forwarding set by a `user` account for its own extension, honoured by a real call:
//! 1001 dials 1002, which forwards every call to 1003 (which forwards back: a loop, ignored).

use std::time::{Duration, Instant};

use super::*;
use crate::harness::{Backend, Warden, EXT, EXT2, SECRET2};

const EXT3: &str = "1003";
const SECRET3: &str = "secret-1003-pass";

/// Adds extension 1003 (Carol), the forwarding target.
fn add_carol(w: &Warden, admin: &str) {
    let (status, v) = http(
        w,
        "POST",
        "/api/v1/extensions",
        Some(admin),
        Some(&format!(
            "{{\"number\":\"{EXT3}\",\"name\":\"Carol\",\"secret\":\"{SECRET3}\"}}"
        )),
    );
    assert_eq!(status, 201, "{v}");
}

#[test]
fn user_forwards_own_extension_and_the_call_reaches_the_target() {
    for backend in Backend::all() {
        let w = Warden::start("live_forwarding", backend, "").unwrap();
        let admin = admin_token(&w);
        add_carol(&w, &admin);
        let (status, v) = http(
            &w,
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(&format!(
                "{{\"username\":\"bob\",\"password\":\"bob-password\",\"role\":\"user\",\"extension\":\"{EXT2}\"}}"
            )),
        );
        assert_eq!(status, 201, "{v}");
        let bob = login(&w, "bob", "bob-password");

        // Bob (extension 1002) may read and set his own forwarding, not another's, and sees
        // only his own call history.
        let own = format!("/api/v1/extensions/{EXT2}/forwarding");
        let (status, v) = http(&w, "GET", &own, Some(&bob), None);
        assert_eq!(
            (status, v["forward_always"].clone()),
            (200, Value::Null),
            "{v}"
        );
        let rule = format!("{{\"forward_always\":\"{EXT3}\"}}");
        let (status, v) = http(&w, "PUT", &own, Some(&bob), Some(&rule));
        assert_eq!(
            (status, v["forward_always"].as_str()),
            (200, Some(EXT3)),
            "{v}"
        );
        let other = format!("/api/v1/extensions/{EXT}/forwarding");
        assert_eq!(http(&w, "GET", &other, Some(&bob), None).0, 403);
        assert_eq!(http(&w, "PUT", &other, Some(&bob), Some(&rule)).0, 403);
        let (status, _) = http(
            &w,
            "GET",
            &format!("/api/v1/call-records?number={EXT}"),
            Some(&bob),
            None,
        );
        assert_eq!(status, 403, "another extension's history");
        let (status, v) = http(&w, "GET", &other, Some(&admin), None);
        assert_eq!(
            (status, v["forward_always"].clone()),
            (200, Value::Null),
            "{v}"
        );

        // 1003 forwarding back to 1002 would loop: the call stops at 1003.
        let back = format!("{{\"forward_always\":\"{EXT2}\"}}");
        let (status, v) = http(
            &w,
            "PUT",
            &format!("/api/v1/extensions/{EXT3}/forwarding"),
            Some(&admin),
            Some(&back),
        );
        assert_eq!(status, 200, "{v}");

        // Both 1002 and 1003 have a phone that would answer.
        let nowhere = "127.0.0.1:9".parse().unwrap();
        let (files2, files3) = (MediaFiles::new(), MediaFiles::new());
        let port2 = register(&w, EXT2, SECRET2);
        let port3 = register(&w, EXT3, SECRET3);
        let bobs_phone = callee(&w, &files2, port2, nowhere);
        let mut carols_phone = callee(&w, &files3, port3, nowhere);
        let mut a = caller(&w, &files2, "call_uac.xml", EXT2, nowhere, &["-d", "1000"]);
        assert!(
            a.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            a.explain(),
            w.log()
        );
        assert!(
            carols_phone.wait(Duration::from_secs(10)),
            "the forwarding target answered:\n{}",
            carols_phone.explain()
        );
        assert!(carols_phone.messages().contains("INVITE sip:"));
        assert!(w.log().contains("forwarding loop ignored"), "{}", w.log());
        assert!(
            !bobs_phone.messages().contains("INVITE sip:"),
            "the forwarded extension's phone must not ring:\n{}",
            bobs_phone.messages()
        );

        // The record is Bob's (the number dialled), answered; Bob sees it in his history.
        let mut page = Value::Null;
        let found = wait_for(
            || {
                page = http(&w, "GET", "/api/v1/call-records", Some(&bob), None).1;
                page["total"] == 1
            },
            Duration::from_secs(10),
        );
        assert!(found, "bob's history: {page}");
        let r = &page["items"][0];
        assert_eq!(
            (r["caller"].as_str(), r["callee"].as_str()),
            (Some(EXT), Some(EXT2)),
            "{r}"
        );
        assert_eq!(r["disposition"], "answered", "{r}");

        // With the rule removed, calls ring 1002 again.
        let (status, v) = http(&w, "PUT", &own, Some(&bob), Some("{}"));
        assert_eq!(
            (status, v["forward_always"].clone()),
            (200, Value::Null),
            "{v}"
        );
    }
}

/// 1002's phone with `scenario` (uas_busy.xml or uas_ring.xml) on its registered `port`.
fn busy_or_ringing(w: &Warden, files: &MediaFiles, scenario: &str, port: u16) -> Phone {
    let args = media_args("127.0.0.1:9".parse().unwrap(), files.file("callee.addr"));
    let phone = Phone::spawn(w, scenario, port, false, &args);
    std::thread::sleep(Duration::from_millis(300));
    phone
}

/// The newest call record an administrator sees, once there are `n`.
fn nth_record(w: &Warden, admin: &str, n: u64) -> Value {
    let mut page = Value::Null;
    let found = wait_for(
        || {
            page = http(w, "GET", "/api/v1/call-records", Some(admin), None).1;
            page["total"] == n
        },
        Duration::from_secs(10),
    );
    assert!(found, "call records: {page}");
    page["items"][0].clone()
}

#[test]
fn busy_and_no_answer_forwarding_reach_the_target() {
    for backend in Backend::all() {
        let w = Warden::start("live_forwarding_conditional", backend, "").unwrap();
        let admin = admin_token(&w);
        add_carol(&w, &admin);
        let rule = format!(
            "{{\"forward_busy\":\"{EXT3}\",\"forward_no_answer\":\"{EXT3}\",\"no_answer_secs\":5}}"
        );
        let (status, v) = http(
            &w,
            "PUT",
            &format!("/api/v1/extensions/{EXT2}/forwarding"),
            Some(&admin),
            Some(&rule),
        );
        assert_eq!(
            (
                status,
                v["forward_busy"].as_str(),
                v["no_answer_secs"].as_u64()
            ),
            (200, Some(EXT3), Some(5)),
            "{v}"
        );
        let nowhere = "127.0.0.1:9".parse().unwrap();
        let port2 = register(&w, EXT2, SECRET2);
        let port3 = register(&w, EXT3, SECRET3);

        // 1002 answers busy: the call is answered by 1003.
        let (files2, files3) = (MediaFiles::new(), MediaFiles::new());
        let mut bobs_phone = busy_or_ringing(&w, &files2, "uas_busy.xml", port2);
        let mut carols_phone = callee(&w, &files3, port3, nowhere);
        let mut a = caller(&w, &files2, "call_uac.xml", EXT2, nowhere, &["-d", "1000"]);
        assert!(
            a.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            a.explain(),
            w.log()
        );
        assert!(a.messages().contains("SIP/2.0 181 Call Is Being Forwarded"));
        assert!(
            !a.messages().contains("SIP/2.0 486"),
            "the busy answer is not relayed:\n{}",
            a.messages()
        );
        assert!(
            bobs_phone.wait(Duration::from_secs(10)),
            "1002 answered busy and got its ACK:\n{}",
            bobs_phone.explain()
        );
        assert!(
            carols_phone.wait(Duration::from_secs(10)),
            "the busy target answered:\n{}",
            carols_phone.explain()
        );
        let r = nth_record(&w, &admin, 1);
        assert_eq!(
            (r["callee"].as_str(), r["disposition"].as_str()),
            (Some(EXT2), Some("answered")),
            "{r}"
        );
        assert!(
            r["hangup_cause"]
                .as_str()
                .is_some_and(|c| c.contains("forwarded on busy to 1003")),
            "{r}"
        );

        // 1002 rings without answering: after the rule's 5 s it gets a CANCEL and 1003
        // answers.
        let (files2, files3) = (MediaFiles::new(), MediaFiles::new());
        let mut bobs_phone = busy_or_ringing(&w, &files2, "uas_ring.xml", port2);
        let mut carols_phone = callee(&w, &files3, port3, nowhere);
        let placed = Instant::now();
        let mut a = caller(&w, &files2, "call_uac.xml", EXT2, nowhere, &["-d", "1000"]);
        assert!(
            bobs_phone.wait(Duration::from_secs(20)),
            "1002 rang and was cancelled:\n{}\n{}",
            bobs_phone.explain(),
            w.log()
        );
        let cancelled_after = placed.elapsed();
        assert!(
            a.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            a.explain(),
            w.log()
        );
        assert!(
            carols_phone.wait(Duration::from_secs(10)),
            "the no-answer target answered:\n{}",
            carols_phone.explain()
        );
        assert!(bobs_phone.messages().contains("CANCEL sip:"));
        assert!(
            cancelled_after >= Duration::from_secs(5) && cancelled_after < Duration::from_secs(15),
            "1002 rang for {cancelled_after:?}"
        );
        println!("no-answer forward: 1002 cancelled {cancelled_after:?} after the call was placed");
        let r = nth_record(&w, &admin, 2);
        assert_eq!(
            (r["callee"].as_str(), r["disposition"].as_str()),
            (Some(EXT2), Some("answered")),
            "{r}"
        );
        assert!(
            r["hangup_cause"]
                .as_str()
                .is_some_and(|c| c.contains("forwarded on no answer to 1003")),
            "{r}"
        );
    }
}
