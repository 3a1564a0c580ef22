//! SIP protocol behaviour end to end: OPTIONS, bad input, retransmissions, merged requests,
//! TCP framing, and the RFC 4475 torture messages thrown at the running server.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use crate::harness::{options_request, udp_exchange, Backend, Sip, Warden};

#[test]
fn options_is_answered_over_udp_and_tcp() {
    let w = Warden::start("options", Backend::Sqlite, "").unwrap();
    for t in Sip::both() {
        let run = w.sipp("options.xml", t, &[]);
        assert!(
            run.ok(),
            "OPTIONS over {t:?}:\n{}\n{}",
            run.explain(),
            w.log()
        );
    }
    assert!(w.metric(r#"warden_sip_requests_total{direction="in",method="OPTIONS"}"#) >= 2.0);
    assert!(
        w.metric(r#"warden_sip_responses_total{direction="out",method="OPTIONS",status="200"}"#)
            >= 2.0
    );
}

#[test]
fn a_malformed_request_gets_400_naming_the_problem() {
    let w = Warden::start("malformed", Backend::Sqlite, "").unwrap();
    let reply = udp_exchange(
        "127.0.0.1",
        w.sip_addr(),
        |port| {
            format!(
                "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad1;rport\r\n\
                 From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: bad1\r\n\
                 CSeq: notanumber OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        },
        Duration::from_secs(2),
    )
    .expect("a 400 comes back");
    assert!(reply.starts_with("SIP/2.0 400 "), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("cseq"),
        "the reason names the header: {reply}"
    );
    assert!(
        reply.contains("Call-ID: bad1"),
        "the salvaged headers are echoed: {reply}"
    );
    assert!(w.metric(r#"warden_sip_parse_errors_total{transport="UDP"}"#) >= 1.0);
}

#[test]
fn a_retransmitted_request_gets_the_same_response_and_a_merged_one_gets_482() {
    let w = Warden::start("retransmit", Backend::Sqlite, "").unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let req = options_request(w.sip_addr(), "127.0.0.1", port, "rtx1");
    let mut buf = vec![0u8; 65535];
    sock.send_to(&req, w.sip_addr()).unwrap();
    let (n1, _) = sock.recv_from(&mut buf).unwrap();
    let first = buf[..n1].to_vec();
    sock.send_to(&req, w.sip_addr()).unwrap();
    let (n2, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(
        first,
        buf[..n2].to_vec(),
        "the transaction re-sends its stored response"
    );
    assert_eq!(
        w.metric(r#"warden_sip_responses_total{direction="out",method="OPTIONS",status="200"}"#),
        1.0,
        "the retransmission reached no transaction user"
    );
    // Same From tag, Call-ID and CSeq on another branch while the first transaction lives.
    let merged = String::from_utf8(req)
        .unwrap()
        .replace("z9hG4bKrtx1", "z9hG4bKrtx1other");
    sock.send_to(merged.as_bytes(), w.sip_addr()).unwrap();
    let (n3, _) = sock.recv_from(&mut buf).unwrap();
    let reply = String::from_utf8_lossy(&buf[..n3]);
    assert!(reply.starts_with("SIP/2.0 482"), "merged request: {reply}");
}

#[test]
fn tcp_framing_errors_close_only_that_connection() {
    let w = Warden::start("tcp_framing", Backend::Sqlite, "").unwrap();
    // Pipelined: two OPTIONS in one write, both answered on the same connection.
    let mut s = TcpStream::connect(w.sip_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let port = s.local_addr().unwrap().port();
    let mut two = options_request(w.sip_addr(), "127.0.0.1", port, "tcp1");
    two.extend(options_request(w.sip_addr(), "127.0.0.1", port, "tcp2"));
    let two = String::from_utf8(two)
        .unwrap()
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    s.write_all(two.as_bytes()).unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches("SIP/2.0 200").count() < 2 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // A message larger than sip.max_message_size closes the connection.
    let mut bad = TcpStream::connect(w.sip_addr()).unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let huge = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKbig\r\nContent-Length: 10000000\r\n\r\n";
    bad.write_all(huge.as_bytes()).unwrap();
    let n = bad.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "oversized message: connection closed without a reply");
    // The first connection and the server carry on.
    s.write_all(options_request(w.sip_addr(), "127.0.0.1", port, "tcp3").as_slice())
        .unwrap();
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"));
    assert!(w.metric(r#"warden_sip_parse_errors_total{transport="TCP"}"#) >= 1.0);
}

#[test]
fn rfc4475_torture_messages_never_take_the_server_down() {
    let w = Warden::start("torture", Backend::Sqlite, "").unwrap();
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("control-plane/sip-proto/tests/data/rfc4475");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("dat") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        sock.send_to(&bytes, w.sip_addr()).unwrap();
        sent += 1;
        // Over TCP too, each on its own connection.
        if let Ok(mut s) = TcpStream::connect(w.sip_addr()) {
            let _ = s.write_all(&bytes);
        }
    }
    assert_eq!(sent, 49, "all torture messages are in the test data");
    std::thread::sleep(Duration::from_millis(500));
    let (status, _) = w.http_get("/healthz").unwrap();
    assert_eq!(status, 200, "server alive after the torture messages");
    let errors = w.metric(r#"warden_sip_parse_errors_total{transport="UDP"}"#);
    assert!(
        errors >= 15.0,
        "the invalid messages are counted as parse errors, got {errors}"
    );
    // And it still answers.
    let reply = udp_exchange(
        "127.0.0.1",
        w.sip_addr(),
        |p| options_request(w.sip_addr(), "127.0.0.1", p, "after"),
        Duration::from_secs(2),
    );
    assert!(reply.is_some_and(|r| r.starts_with("SIP/2.0 200")));
}

#[test]
fn media_core_load_is_exported() {
    let w = Warden::start("media_metrics", Backend::Sqlite, "").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (_, body) = w.http_get("/metrics").unwrap();
    for family in [
        "warden_media_sessions{cpu=",
        "warden_media_packets_in_total{cpu=",
        "warden_media_busy_seconds_total{cpu=",
    ] {
        assert!(
            body.contains(family),
            "{family} missing from /metrics:\n{body}"
        );
    }
    assert!(
        body.contains(r#"warden_media_drops_total{cpu="#) && body.contains(r#"reason="stranger"}"#)
    );
}

#[test]
fn a_request_missing_a_mandatory_header_gets_400() {
    let w = Warden::start("missing_header", Backend::Sqlite, "").unwrap();
    // RFC 4475 §3.3.1 (insuf): no To header.
    let reply = udp_exchange(
        "127.0.0.1",
        w.sip_addr(),
        |port| {
            format!(
                "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKnoto;rport\r\n\
                 From: <sip:a@127.0.0.1>;tag=1\r\nCall-ID: noto\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        },
        Duration::from_secs(2),
    )
    .expect("a 400 comes back");
    assert!(reply.starts_with("SIP/2.0 400 "), "{reply}");
    assert!(
        reply.contains("To"),
        "the reason names the missing header: {reply}"
    );
}

#[test]
fn ipv6_registration_and_options_over_udp_and_tcp() {
    let w = Warden::start_dual_stack("ipv6", Backend::Sqlite).unwrap();
    // SIPp over IPv6 on both transports (OPTIONS: SIPp 3.6 writes an unbracketed IPv6 digest
    // uri, which Warden rightly refuses, so the registration below uses a hand-made phone).
    for t in Sip::both() {
        let port = crate::harness::free_port();
        let run = w.sipp_to(w.sip_addr_v6(), "::1", port, "options.xml", t, &[]);
        assert!(
            run.ok(),
            "OPTIONS over IPv6 {t:?}:\n{}\n{}",
            run.explain(),
            w.log()
        );
        assert!(
            run.messages().contains("received=::1"),
            "received names the IPv6 source"
        );
    }
    let mut phone = crate::digest::Phone::at("::1", w.sip_addr_v6());
    let ok = phone.register_with_sha256();
    assert!(
        ok.starts_with("SIP/2.0 200"),
        "IPv6 REGISTER:\n{ok}\n{}",
        w.log()
    );
    assert!(
        ok.contains("<sip:1001@[::1]:"),
        "the IPv6 contact is bound:\n{ok}"
    );
    // A raw OPTIONS over IPv6 UDP: the response comes back to the IPv6 source.
    let reply = udp_exchange(
        "::1",
        w.sip_addr_v6(),
        |p| {
            format!(
                "OPTIONS sip:[::1] SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:{p};branch=z9hG4bKv6;rport\r\n\
                 From: <sip:probe@[::1]>;tag=v6\r\nTo: <sip:[::1]>\r\nCall-ID: v6@[::1]\r\n\
                 CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        },
        Duration::from_secs(2),
    );
    assert!(reply.is_some_and(|r| r.starts_with("SIP/2.0 200")));
}

#[test]
fn a_flooding_source_is_rate_limited_and_others_are_not() {
    let w = Warden::start(
        "rate_limit",
        Backend::Sqlite,
        "  security: { rate_limit_per_sec: 5, rate_limit_burst: 5 }",
    )
    .unwrap();
    let sock = UdpSocket::bind("127.0.0.5:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    for i in 0..40 {
        let req = options_request(w.sip_addr(), "127.0.0.5", port, &format!("flood{i}"));
        sock.send_to(&req, w.sip_addr()).unwrap();
    }
    let mut answered = 0;
    let mut buf = vec![0u8; 65535];
    while sock.recv_from(&mut buf).is_ok() {
        answered += 1;
    }
    assert!(
        (5..=10).contains(&answered),
        "a burst of 5 and ~5/s pass, got {answered}"
    );
    assert!(w.metric(r#"warden_sip_dropped_total{reason="rate_limited"}"#) >= 30.0);
    // Another source is served.
    let other = udp_exchange(
        "127.0.0.6",
        w.sip_addr(),
        |p| options_request(w.sip_addr(), "127.0.0.6", p, "calm"),
        Duration::from_secs(2),
    );
    assert!(other.is_some_and(|r| r.starts_with("SIP/2.0 200")));
}
