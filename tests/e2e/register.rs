//! Registrar end to end: digest auth, bans, refresh, removal, expiry, persistence.

use std::time::Duration;

use crate::harness::{
    options_request, udp_exchange, Backend, Sip, Warden, EXT, EXT2, SECRET, SECRET2,
};

fn register_at(w: &Warden, port: u16, ext: &str, secret: &str, expires: u32) {
    let exp = expires.to_string();
    let run = w.sipp_at(
        "127.0.0.1",
        port,
        "register_auth.xml",
        Sip::Udp,
        &[
            "-s", ext, "-au", ext, "-ap", secret, "-set", "expires", &exp,
        ],
    );
    assert!(
        run.ok(),
        "register {ext} from port {port} failed:\n{}\nserver log:\n{}",
        run.explain(),
        w.log()
    );
}

fn register(w: &Warden, t: Sip, ext: &str, secret: &str, expires: u32) {
    let exp = expires.to_string();
    let run = w.sipp(
        "register_auth.xml",
        t,
        &[
            "-s", ext, "-au", ext, "-ap", secret, "-set", "expires", &exp,
        ],
    );
    assert!(
        run.ok(),
        "register {ext} over {t:?} on {:?} failed:\n{}\nserver log:\n{}",
        w.backend,
        run.explain(),
        w.log()
    );
}

#[test]
fn register_with_the_right_credentials() {
    for backend in Backend::all() {
        let w = Warden::start("register_ok", backend, "").unwrap();
        for t in Sip::both() {
            register(&w, t, EXT, SECRET, 300);
        }
        assert!(w.metric(r#"warden_registrations_total{reason="registered"}"#) >= 2.0);
        // Both algorithms are challenged (RFC 8760), in the configured order (MD5 first for
        // SIPp), and the 200 lists the binding with the granted expiry.
        let run = w.sipp(
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s", EXT2, "-au", EXT2, "-ap", SECRET2, "-set", "expires", "120",
            ],
        );
        assert!(run.ok(), "{}", run.explain());
        let msgs = run.messages();
        let sha = msgs.find("algorithm=SHA-256").expect("SHA-256 challenge");
        let md5 = msgs.find("algorithm=MD5").expect("MD5 challenge");
        assert!(md5 < sha, "the configured order is kept");
        assert!(
            msgs.contains(";expires=120"),
            "200 lists the binding with its expiry:\n{msgs}"
        );
    }
}

#[test]
fn wrong_password_is_challenged_then_refused_then_banned() {
    for backend in Backend::all() {
        let w = Warden::start(
            "wrong_password",
            backend,
            "  security: { auth_failures_before_throttle: 1, auth_failures_before_ban: 2, ban_secs: 3 }",
        )
        .unwrap();
        for t in Sip::both() {
            // A fresh source address per transport so the first run's ban doesn't mask the second.
            let ip = if t == Sip::Udp {
                "127.0.0.2"
            } else {
                "127.0.0.3"
            };
            let run = w.sipp_from(
                ip,
                "register_wrong_password.xml",
                t,
                &["-s", EXT, "-au", EXT, "-ap", "not-the-password"],
            );
            assert!(
                run.ok(),
                "401, 401, 403 expected over {t:?}:\n{}\nserver log:\n{}",
                run.explain(),
                w.log()
            );
            // One more failure crosses the ban threshold: the source now gets no answer at all.
            let bogus = |port: u16| {
                format!(
                    "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch=z9hG4bKban{port};rport\r\n\
                     From: <sip:{EXT}@127.0.0.1>;tag=b{port}\r\nTo: <sip:{EXT}@127.0.0.1>\r\nCall-ID: ban{port}\r\n\
                     CSeq: 1 REGISTER\r\nContact: <sip:{EXT}@{ip}:{port}>\r\n\
                     Authorization: Digest username=\"{EXT}\", realm=\"pbx.test\", nonce=\"x\", uri=\"sip:127.0.0.1\", response=\"00000000000000000000000000000000\"\r\n\
                     Content-Length: 0\r\n\r\n"
                )
                .into_bytes()
            };
            if t == Sip::Udp {
                let reply = udp_exchange(ip, w.sip_addr(), bogus, Duration::from_secs(2));
                assert!(
                    reply
                        .as_deref()
                        .is_some_and(|r| r.starts_with("SIP/2.0 403")),
                    "third failure: 403, got {reply:?}"
                );
                let probe = udp_exchange(
                    ip,
                    w.sip_addr(),
                    |p| options_request(w.sip_addr(), ip, p, "probe1"),
                    Duration::from_secs(1),
                );
                assert!(
                    probe.is_none(),
                    "a banned source must get no answer, got {probe:?}"
                );
                // Another source is unaffected.
                let other = udp_exchange(
                    "127.0.0.4",
                    w.sip_addr(),
                    |p| options_request(w.sip_addr(), "127.0.0.4", p, "probe2"),
                    Duration::from_secs(2),
                );
                assert!(other.is_some_and(|r| r.starts_with("SIP/2.0 200")));
                // The ban expires (ban_secs: 3).
                std::thread::sleep(Duration::from_secs(4));
                let after = udp_exchange(
                    ip,
                    w.sip_addr(),
                    |p| options_request(w.sip_addr(), ip, p, "probe3"),
                    Duration::from_secs(2),
                );
                assert!(
                    after.is_some_and(|r| r.starts_with("SIP/2.0 200")),
                    "ban should have expired"
                );
            }
        }
        assert!(w.metric("warden_bans_total") >= 1.0, "bans counted");
        assert!(w.metric(r#"warden_auth_failures_total{reason="bad_password"}"#) >= 4.0);
        assert!(w.metric(r#"warden_sip_dropped_total{reason="banned"}"#) >= 1.0);
        assert!(
            w.log().contains("source banned"),
            "a log line names the ban"
        );
    }
}

#[test]
fn unknown_user_is_refused_like_a_wrong_password() {
    for backend in Backend::all() {
        let w = Warden::start("unknown_user", backend, "").unwrap();
        let run = w.sipp(
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s",
                "4242",
                "-au",
                "4242",
                "-ap",
                "whatever-pass",
                "-set",
                "expires",
                "60",
            ],
        );
        assert!(!run.ok(), "an unknown user must not register");
        let msgs = run.messages();
        assert!(
            msgs.matches("SIP/2.0 401").count() >= 2,
            "challenged again, not told the user is unknown:\n{msgs}"
        );
        assert!(w.metric(r#"warden_auth_failures_total{reason="unknown_user"}"#) >= 1.0);
    }
}

#[test]
fn reregister_unregister_and_wildcard() {
    for backend in Backend::all() {
        let w = Warden::start("reregister", backend, "").unwrap();
        let phone = crate::harness::free_port();
        register_at(&w, phone, EXT, SECRET, 300);
        register_at(&w, phone, EXT, SECRET, 600);
        assert!(
            w.metric(r#"warden_registrations_total{reason="refreshed"}"#) >= 1.0,
            "second REGISTER refreshes"
        );
        let q = w.sipp(
            "register_query.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(q.ok(), "query lists the binding:\n{}", q.explain());
        let contacts = q.final_contacts();
        assert_eq!(
            contacts.len(),
            1,
            "one binding after a refresh: {contacts:?}"
        );
        assert!(
            contacts[0].starts_with(&format!("<sip:{EXT}@127.0.0.1:{phone};")),
            "{contacts:?}"
        );
        assert!(
            contacts[0].contains(";expires=6"),
            "the refresh set the new expiry: {contacts:?}"
        );
        // Unregister with Expires: 0.
        let run = w.sipp_at(
            "127.0.0.1",
            phone,
            "unregister.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(run.ok(), "unregister:\n{}", run.explain());
        assert!(w.metric(r#"warden_registrations_total{reason="unregistered"}"#) >= 1.0);
        let q = w.sipp(
            "register_query.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(
            !q.ok(),
            "no binding may be listed after unregistering:\n{}",
            q.messages()
        );
        // Contact: * removes every binding of the AOR.
        register(&w, Sip::Udp, EXT, SECRET, 300);
        register(&w, Sip::Tcp, EXT, SECRET, 300);
        let run = w.sipp(
            "unregister_all.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(run.ok(), "{}", run.explain());
        let q = w.sipp(
            "register_query.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(
            !q.ok(),
            "Contact: * must remove all bindings:\n{}",
            q.messages()
        );
    }
}

#[test]
fn too_brief_expiry_gets_423() {
    let w = Warden::start(
        "too_brief",
        Backend::Sqlite,
        "  registrar: { min_expires: 60, digest_algorithms: [MD5, SHA-256] }",
    )
    .unwrap();
    let run = w.sipp(
        "register_too_brief.xml",
        Sip::Udp,
        &["-s", EXT, "-au", EXT, "-ap", SECRET],
    );
    assert!(
        run.ok(),
        "423 with Min-Expires expected:\n{}",
        run.explain()
    );
}

#[test]
fn bindings_expire_and_are_swept() {
    for backend in Backend::all() {
        let w = Warden::start("expiry", backend, "  registrar: { min_expires: 1, sweep_interval_secs: 1, digest_algorithms: [MD5, SHA-256] }").unwrap();
        register(&w, Sip::Udp, EXT, SECRET, 2);
        std::thread::sleep(Duration::from_millis(3500));
        let q = w.sipp(
            "register_query.xml",
            Sip::Udp,
            &["-s", EXT, "-au", EXT, "-ap", SECRET],
        );
        assert!(
            !q.ok(),
            "an expired binding must not be listed:\n{}",
            q.messages()
        );
        assert!(
            w.metric("warden_bindings_swept_total") >= 1.0,
            "the sweeper removed it"
        );
    }
}

#[test]
fn a_binding_survives_a_restart() {
    for backend in Backend::all() {
        let mut w = Warden::start("restart", backend, "").unwrap();
        register(&w, Sip::Tcp, EXT2, SECRET2, 3600);
        w.restart().unwrap();
        let q = w.sipp(
            "register_query.xml",
            Sip::Udp,
            &["-s", EXT2, "-au", EXT2, "-ap", SECRET2],
        );
        assert!(
            q.ok(),
            "binding lost across restart:\n{}\n{}",
            q.explain(),
            w.log()
        );
        let contacts = q.final_contacts();
        assert!(
            contacts.iter().any(|c| c.contains("transport=TCP")),
            "the TCP binding survived: {contacts:?}"
        );
        assert!(
            w.metric("warden_registrations_active") >= 1.0,
            "the start-up sweep counts surviving bindings"
        );
    }
}
