#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly
//! The RFC 4475 torture messages (tests/data/rfc4475, byte-exact copies).
//!
//! * §3.1.1 valid messages parse, pass `validate_request`, round-trip
//!   through `Message::write`, and their tricky fields have the right value.
//! * §3.1.2 invalid messages are rejected by `parse_message` with an error
//!   naming the problem; for requests the salvage path still yields what a
//!   `400 Bad Request` needs.
//! * §3.2.1 (transaction layer), §3.3.x (application layer) and §3.4.1
//!   (RFC 2543 syntax) messages are syntactically valid and parse; where
//!   RFC 4475 expects the receiving element to answer 400, that check is in
//!   `validate_request` (missing or repeated single-instance headers).
//!
//! Everything is also fed through the stream deframer in small chunks and
//! through the salvage path, and none of it may panic.

use std::path::PathBuf;

use warden_sip_proto::sdp;
use warden_sip_proto::{
    parse_message, salvage_for_error_response, validate_request, Deframer, Host, Message, Method,
    ParseError, RPort, Scheme, Transport,
};

const VALID: [&str; 13] = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
];

const ODD: [&str; 17] = [
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "mcl01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
    "inv2543",
];

fn load(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(format!("{name}.dat"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn round_trip(m: &Message<'_>) {
    let out = m.to_bytes();
    let again = parse_message(&out).unwrap_or_else(|e| panic!("reparse failed: {e}"));
    assert!(again.same_content(m), "round trip changed the message");
}

fn user(uri: &warden_sip_proto::Uri<'_>) -> Vec<u8> {
    uri.user_decoded().unwrap().into_owned()
}

#[test]
fn all_49_files_are_present() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let count = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "dat")
        })
        .count();
    assert_eq!(count, 49);
}

#[test]
fn valid_messages_parse_validate_and_round_trip() {
    for name in VALID {
        let buf = load(name);
        let m = parse_message(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(validate_request(&m), Ok(()), "{name}");
        round_trip(&m);
        if m.content_type().is_some_and(|c| c.is_sdp()) {
            sdp::parse(m.body()).unwrap_or_else(|e| panic!("{name} SDP: {e}"));
        }
    }
}

#[test]
fn wsinv_whitespace_folding_and_escapes() {
    let buf = load("wsinv");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.method(), Some(Method::Invite));
    assert!(m.request_uri().unwrap().params.contains("unknownparam"));
    assert_eq!(m.to().unwrap().tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name().unwrap(), "J Rosenberg \\\"");
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(from.uri.user, Some("jdrosen"));
    assert_eq!(m.max_forwards(), Some(68));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    let vias: Vec<_> = m.vias().collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, Host::V4("192.0.2.2".parse().unwrap()));
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(vias[1].transport, Transport::Tcp);
    assert_eq!(vias[1].host, Host::Domain("spindle.example.com"));
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host, Host::V4("192.168.255.111".parse().unwrap()));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.header("Subject").unwrap(), "");
    assert_eq!(
        m.header("newfangledheader").unwrap(),
        "newfangled value continued newfangled value"
    );
    assert_eq!(
        m.header("UnknownHeaderWithUnusualValue").unwrap(),
        ";;,,;;,;"
    );
    let route = m.routes().next().unwrap();
    assert!(route.uri.lr());
    assert_eq!(route.uri.params.value("unknownwith"), Some("value"));
    let contact = m.contacts().next().unwrap();
    let c = contact.addr().unwrap();
    assert_eq!(c.display_name().unwrap(), "Quoted string \"\"");
    assert_eq!(c.params.value("newparam"), Some("newvalue"));
    assert!(c.params.contains("secondparam"));
    assert_eq!(contact.q(), Some(0.33));
    assert_eq!(m.body().len(), 150);
}

#[test]
fn intmeth_unusual_characters() {
    let buf = load("intmeth");
    let m = parse_message(&buf).unwrap();
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(Method::Extension(method)));
    assert_eq!(m.cseq().unwrap().method.as_str(), method);
    let uri = m.request_uri().unwrap();
    assert_eq!(
        uri.user,
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password,
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(
        m.to().unwrap().display_name().unwrap(),
        "BEL:\x07 NUL:\0 DEL:\x7f"
    );
    let from = m.from().unwrap();
    assert_eq!(
        from.display_name().unwrap(),
        "token1~` token2'+_ token3*%!.-"
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        from.params.value("fromParam''~+*_!.-%"),
        Some("\"работающий\"")
    );
    assert_eq!(
        m.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(
        m.header("extensionHeader-!.%*+_`'~").unwrap(),
        "\u{FEFF}大停電"
    );
    assert_eq!(m.max_forwards(), Some(255));
}

#[test]
fn escapes_in_uris() {
    let buf = load("esc01");
    let m = parse_message(&buf).unwrap();
    assert_eq!(user(m.request_uri().unwrap()), b"sips:user@example.com");
    assert_eq!(user(&m.to().unwrap().uri), b"user");
    assert_eq!(user(&m.from().unwrap().uri), b"I have spaces");
    let c = m.contacts().next().unwrap();
    let uri = c.addr().unwrap().uri;
    assert_eq!(user(&uri), b"caller");
    assert_eq!(uri.params.iter().count(), 2);

    let buf = load("escnull");
    let m = parse_message(&buf).unwrap();
    assert_eq!(user(&m.to().unwrap().uri), b"null-\0-null");
    let users: Vec<_> = m.contacts().map(|c| user(&c.addr().unwrap().uri)).collect();
    assert_eq!(users, [b"\0".to_vec(), b"\0\0".to_vec()]);

    let buf = load("esc02");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.method(), Some(Method::Extension("RE%47IST%45R")));
    assert_eq!(m.to().unwrap().display_name().unwrap(), "%Z%45");
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    // "C%6Fntact" is another header name, not an escaped Contact.
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(
        m.header("C%6Fntact").unwrap(),
        "<sip:alias2@host2.example.com>"
    );
}

#[test]
fn display_names_and_long_values() {
    let buf = load("lwsdisp");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.from().unwrap().display_name().unwrap(), "caller");

    let buf = load("longreq");
    let m = parse_message(&buf).unwrap();
    let to = m.to().unwrap();
    assert!(to
        .display_name()
        .unwrap()
        .starts_with("I have a user name of extremeextreme"));
    assert_eq!(to.uri.port, Some(6000));
    assert!(to
        .uri
        .params
        .value("unknownparam1")
        .unwrap()
        .starts_with("verylonglong"));
    assert_eq!(m.from().unwrap().tag().unwrap().len(), 155);
    assert!(m.call_id().unwrap().ends_with("reallylongcallid"));
    let vias: Vec<_> = m.vias().collect();
    assert_eq!(vias.len(), 34);
    assert_eq!(vias[0].host, Host::Domain("sip33.example.com"));
    assert_eq!(vias[32].host, Host::Domain("sip1.example.com"));
    assert_eq!(vias[33].received(), Some("192.0.2.5".parse().unwrap()));
    assert!(vias[33].branch().unwrap().len() > 100);
    assert_eq!(m.body().len(), 150);
}

#[test]
fn datagram_trailing_octets_and_uri_user_semicolons() {
    let buf = load("dblreq");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.method(), Some(Method::Register));
    assert_eq!(m.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    assert!(m.body().is_empty());

    let buf = load("semiuri");
    let m = parse_message(&buf).unwrap();
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.user, Some("user;par=u%40example.net"));
    assert!(uri.params.is_empty());
    assert_eq!(uri.host, Some(Host::Domain("example.com")));
    assert_eq!(m.header_values("Accept").count(), 6);
}

#[test]
fn transports_multipart_and_reasons() {
    let buf = load("transports");
    let m = parse_message(&buf).unwrap();
    let t: Vec<_> = m.vias().map(|v| v.transport).collect();
    assert_eq!(
        t,
        [
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other("UNKNOWN"),
            Transport::Tcp
        ]
    );

    let buf = load("mpart01");
    let m = parse_message(&buf).unwrap();
    let ct = m.content_type().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.params.value("boundary"), Some("7a9cbec02ceef655"));
    assert_eq!(m.body().len(), 553);
    assert_eq!(m.top_via().unwrap().rport(), Some(RPort::Requested));

    let buf = load("unreason");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.status(), Some(200));
    let reason = m.reason().unwrap();
    assert!(reason.starts_with("= 2**3 * 5**2 "));
    assert!(reason.ends_with("но сто девяносто девять - простое"));

    let buf = load("noreason");
    let m = parse_message(&buf).unwrap();
    assert_eq!((m.status(), m.reason()), (Some(100), Some("")));
}

#[test]
fn invalid_messages_are_rejected_with_a_named_error() {
    let cases: [(&str, ParseError); 19] = [
        ("badinv01", ParseError::BadHeader { name: "Via" }),
        (
            "clerr",
            ParseError::ContentLengthMismatch {
                declared: 9999,
                available: 154,
            },
        ),
        ("ncl", ParseError::BadContentLength),
        ("scalar02", ParseError::BadCSeq),
        ("scalarlg", ParseError::BadCSeq),
        ("quotbal", ParseError::BadHeader { name: "To" }),
        ("ltgtruri", ParseError::BadRequestUri),
        ("lwsruri", ParseError::BadStartLine),
        ("lwsstart", ParseError::BadStartLine),
        ("trws", ParseError::BadStartLine),
        ("escruri", ParseError::BadRequestUri),
        ("baddate", ParseError::BadHeader { name: "Date" }),
        ("regbadct", ParseError::BadHeader { name: "Contact" }),
        ("badaspec", ParseError::BadHeader { name: "To" }),
        ("baddn", ParseError::BadHeader { name: "From" }),
        ("badvers", ParseError::BadVersion),
        ("mismatch01", ParseError::CSeqMethodMismatch),
        ("mismatch02", ParseError::CSeqMethodMismatch),
        ("bigcode", ParseError::BadStatusCode),
    ];
    for (name, want) in cases {
        let buf = load(name);
        let err = parse_message(&buf)
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert_eq!(err, want, "{name}");
        let salvaged = salvage_for_error_response(&buf);
        if buf.starts_with(b"SIP/2.0") {
            assert!(salvaged.is_none(), "{name}: responses are never answered");
            continue;
        }
        // Every invalid request can still be answered.
        let s = salvaged.unwrap_or_else(|| panic!("{name}: nothing salvaged"));
        assert!(
            !s.vias.is_empty() && s.call_id.is_some() && s.cseq.is_some(),
            "{name}"
        );
        let resp = s
            .response(err.status_code(), err.reason_phrase())
            .to_tag("w1")
            .to_bytes();
        let text = String::from_utf8(resp).unwrap();
        let expected_status = if name == "badvers" {
            "SIP/2.0 505 "
        } else {
            "SIP/2.0 400 "
        };
        assert!(text.starts_with(expected_status), "{name}: {text}");
        assert!(
            text.contains(&format!("Call-ID: {}", s.call_id.as_deref().unwrap())),
            "{name}"
        );
    }
}

#[test]
fn higher_layer_cases_parse() {
    for name in ODD {
        let buf = load(name);
        let m = parse_message(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        round_trip(&m);
        let verdict = validate_request(&m);
        match name {
            "insuf" => assert_eq!(verdict, Err(ParseError::MissingHeader("To"))),
            "multi01" => assert_eq!(verdict, Err(ParseError::DuplicateHeader("From"))),
            "mcl01" => assert_eq!(verdict, Err(ParseError::DuplicateHeader("Content-Length"))),
            _ => assert_eq!(verdict, Ok(()), "{name}"),
        }
    }
}

#[test]
fn higher_layer_details() {
    let buf = load("badbranch");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK"));

    let buf = load("unkscm");
    let m = parse_message(&buf).unwrap();
    assert_eq!(
        m.request_uri().unwrap().scheme,
        Scheme::Other("nobodyKnowsThisScheme")
    );

    let buf = load("novelsc");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.request_uri().unwrap().scheme, Scheme::Other("soap.beep"));

    let buf = load("unksm2");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.to().unwrap().uri.scheme, Scheme::Other("isbn"));
    assert_eq!(m.from().unwrap().uri.scheme, Scheme::Other("http"));
    assert_eq!(
        m.contacts().next().unwrap().addr().unwrap().uri.scheme,
        Scheme::Other("name")
    );

    let buf = load("bext01");
    let m = parse_message(&buf).unwrap();
    let req: Vec<_> = m.header_values("Require").collect();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    assert_eq!(m.header_values("Proxy-Require").count(), 2);

    let buf = load("invut");
    let m = parse_message(&buf).unwrap();
    assert!(m.content_type().unwrap().is("application", "unknownformat"));

    let buf = load("regaut01");
    let m = parse_message(&buf).unwrap();
    assert_eq!(
        m.header("Authorization").unwrap(),
        "NoOneKnowsThisScheme opaque-data=here"
    );

    let buf = load("bcast");
    let m = parse_message(&buf).unwrap();
    assert_eq!(
        m.vias().nth(1).unwrap().host,
        Host::V4("255.255.255.255".parse().unwrap())
    );

    let buf = load("zeromf");
    assert_eq!(parse_message(&buf).unwrap().max_forwards(), Some(0));

    let buf = load("cparam01");
    let m = parse_message(&buf).unwrap();
    let c = *m.contacts().next().unwrap().addr().unwrap();
    assert!(c.params.contains("unknownparam") && c.uri.params.is_empty());

    let buf = load("cparam02");
    let m = parse_message(&buf).unwrap();
    let c = *m.contacts().next().unwrap().addr().unwrap();
    assert!(c.uri.params.contains("unknownparam") && c.params.is_empty());

    let buf = load("regescrt");
    let m = parse_message(&buf).unwrap();
    let c = *m.contacts().next().unwrap().addr().unwrap();
    assert_eq!(c.uri.headers, Some("Route=%3Csip:sip.example.com%3E"));

    let buf = load("sdp01");
    let m = parse_message(&buf).unwrap();
    assert_eq!(m.header("Accept").unwrap(), "text/nobodyKnowsThis");
    assert_eq!(sdp::parse(m.body()).unwrap().media.len(), 2);

    let buf = load("inv2543");
    let m = parse_message(&buf).unwrap();
    let via = m.top_via().unwrap();
    assert_eq!(
        (via.branch(), via.host),
        (None, Host::Domain("iftgw.example.com"))
    );
    assert_eq!(m.max_forwards(), None);
    assert_eq!(m.from().unwrap().tag(), None);
    assert_eq!(
        m.record_routes().next().unwrap().uri.maddr(),
        Some("ss1.example.com")
    );
    assert!(m.contacts().next().is_none());
}

#[test]
fn no_panics_anywhere() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "dat") {
            continue;
        }
        let buf = std::fs::read(&path).unwrap();
        if let Ok(m) = parse_message(&buf) {
            let _ = validate_request(&m);
            let _ = m.to_bytes();
            let _ = sdp::parse(m.body());
        }
        let _ = salvage_for_error_response(&buf);
        for cut in 0..buf.len() {
            let _ = parse_message(&buf[..cut]);
            let _ = salvage_for_error_response(&buf[..cut]);
        }
        for chunk in [1, 7, 64] {
            let mut d = Deframer::new(64 * 1024);
            for piece in buf.chunks(chunk) {
                d.push(piece);
                while let Ok(Some(frame)) = d.next_message() {
                    let _ = parse_message(&frame);
                }
            }
        }
    }
}
