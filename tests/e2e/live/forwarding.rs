//! Call forwarding set by a `user` account for its own extension, honoured by a real call:
//! 1001 dials 1002, which forwards every call to 1003 (which forwards back: a loop, ignored).

use std::time::Duration;

use super::*;
use crate::harness::{Backend, Warden, EXT, EXT2, SECRET2};

const EXT3: &str = "1003";
const SECRET3: &str = "secret-1003-pass";

#[test]
fn user_forwards_own_extension_and_the_call_reaches_the_target() {
    for backend in Backend::all() {
        let w = Warden::start("live_forwarding", backend, "").unwrap();
        let admin = admin_token(&w);
        let (status, v) = http(
            &w,
            "POST",
            "/api/v1/extensions",
            Some(&admin),
            Some(&format!(
                "{{\"number\":\"{EXT3}\",\"name\":\"Carol\",\"secret\":\"{SECRET3}\"}}"
            )),
        );
        assert_eq!(status, 201, "{v}");
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
