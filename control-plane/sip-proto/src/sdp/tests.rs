use std::borrow::Cow;

use super::*;
use crate::SdpError;

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 atlanta.example.com\r\n\
s=-\r\n\
i=A call\r\n\
u=http://www.example.com/seminars/sdp.pdf\r\n\
e=j.doe@example.com (Jane Doe)\r\n\
p=+1 617 555-6011\r\n\
c=IN IP4 192.0.2.10\r\n\
b=CT:128\r\n\
t=2873397496 2873404696\r\n\
r=7d 1h 0 25h\r\n\
z=2882844526 -1h 2898848070 0\r\n\
k=prompt\r\n\
a=recvonly\r\n\
a=tool:warden\r\n\
m=audio 49170 RTP/AVP 0 8 96 101\r\n\
i=voice\r\n\
c=IN IP4 192.0.2.11\r\n\
b=AS:64\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 minptime=10;useinbandfec=1\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:40\r\n\
a=rtcp:53020 IN IP4 192.0.2.11\r\n\
a=rtcp-mux\r\n\
a=sendonly\r\n\
m=video 51372/2 RTP/AVP 31 32\r\n\
a=rtpmap:31 H261/90000\r\n\
m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 224.2.1.1/127/3\r\n\
c=IN IP6 ff15::101/3\r\n";

#[test]
fn parses_every_line_type() {
    let sd = parse_str(OFFER).unwrap();
    assert_eq!(sd.origin.username, "alice");
    assert_eq!(sd.origin.session_id, "2890844526");
    assert_eq!(sd.origin.session_version, 2890844526);
    assert_eq!(sd.origin.address, "atlanta.example.com");
    assert_eq!(sd.session_name, "-");
    assert_eq!(sd.info.as_deref(), Some("A call"));
    assert_eq!(
        sd.uri.as_deref(),
        Some("http://www.example.com/seminars/sdp.pdf")
    );
    assert_eq!(sd.emails, [Cow::Borrowed("j.doe@example.com (Jane Doe)")]);
    assert_eq!(sd.phones, [Cow::Borrowed("+1 617 555-6011")]);
    assert_eq!(sd.connection.as_ref().unwrap().address, "192.0.2.10");
    assert_eq!(sd.bandwidths[0].kind, "CT");
    assert_eq!(sd.bandwidths[0].value, 128);
    assert_eq!(
        (sd.times[0].start, sd.times[0].stop),
        (2873397496, 2873404696)
    );
    assert_eq!(sd.times[0].repeats, [Cow::Borrowed("7d 1h 0 25h")]);
    assert_eq!(sd.zone.as_deref(), Some("2882844526 -1h 2898848070 0"));
    assert_eq!(sd.key.as_deref(), Some("prompt"));
    assert_eq!(sd.attribute("tool"), Some("warden"));
    assert_eq!(sd.direction(), Some(Direction::RecvOnly));
    assert_eq!(sd.media.len(), 3);

    let audio = &sd.media[0];
    assert_eq!(audio.media, "audio");
    assert_eq!(audio.port, 49170);
    assert_eq!(audio.protocol, "RTP/AVP");
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [0, 8, 96, 101]);
    assert_eq!(audio.info.as_deref(), Some("voice"));
    assert_eq!(audio.connections[0].address, "192.0.2.11");
    assert_eq!(audio.bandwidths[0].value, 64);
    let opus = audio.rtpmap(96).unwrap();
    assert_eq!(
        (opus.encoding, opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    let pcmu = audio.rtpmap(0).unwrap();
    assert_eq!(
        (pcmu.encoding, pcmu.clock_rate, pcmu.channels),
        ("PCMU", 8000, None)
    );
    assert!(audio.rtpmap(8).is_none());
    assert_eq!(audio.rtpmaps().count(), 3);
    assert_eq!(audio.fmtp(101).unwrap().params, "0-16");
    assert_eq!(audio.fmtp(96).unwrap().param("useinbandfec"), Some("1"));
    assert_eq!(audio.ptime(), Some(20));
    assert_eq!(audio.maxptime(), Some(40));
    let rtcp = audio.rtcp().unwrap();
    assert_eq!(rtcp.port, 53020);
    assert_eq!(rtcp.address, Some(("IN", "IP4", "192.0.2.11")));
    assert!(audio.rtcp_mux());
    assert_eq!(audio.direction(), Some(Direction::SendOnly));
    assert_eq!(audio.effective_direction(&sd), Direction::SendOnly);

    let video = &sd.media[1];
    assert_eq!((video.port, video.port_count), (51372, Some(2)));
    assert!(!video.rtcp_mux());
    assert_eq!(video.ptime(), None);
    assert_eq!(video.effective_direction(&sd), Direction::RecvOnly);

    let app = &sd.media[2];
    assert_eq!(app.port, 0);
    assert_eq!(app.formats, [Cow::Borrowed("webrtc-datachannel")]);
    assert_eq!(app.payload_types().count(), 0);
    let c4 = &app.connections[0];
    assert_eq!(
        (c4.address.as_ref(), c4.ttl, c4.count),
        ("224.2.1.1", Some(127), Some(3))
    );
    let c6 = &app.connections[1];
    assert_eq!(
        (c6.address.as_ref(), c6.ttl, c6.count),
        ("ff15::101", None, Some(3))
    );
}

#[test]
fn round_trips_exactly() {
    let sd = parse_str(OFFER).unwrap();
    assert_eq!(sd.to_string(), OFFER);
    let bytes = sd.to_bytes();
    let again = parse(&bytes).unwrap();
    assert_eq!(again, sd);
}

#[test]
fn lf_only_and_trailing_blank_lines_are_accepted() {
    let text = "v=0\no=- 1 2 IN IP4 10.0.0.1\ns=x\nt=0 0\nm=audio 4000 RTP/AVP 0\n\n";
    let sd = parse_str(text).unwrap();
    assert_eq!(sd.media[0].port, 4000);
    assert_eq!(parse_str(&sd.to_string()).unwrap(), sd);
}

#[test]
fn rewrite_connection_and_port_then_own() {
    let owned = {
        let text = OFFER.to_string();
        let mut sd = parse_str(&text).unwrap();
        sd.connection.as_mut().unwrap().address = Cow::Owned("203.0.113.7".into());
        sd.media[0].port = 30000;
        sd.media[0].connections.clear();
        sd.media[0].set_direction(Direction::SendRecv);
        sd.origin.session_version += 1;
        sd.into_owned()
    };
    let text = owned.to_string();
    let sd = parse_str(&text).unwrap();
    assert_eq!(sd.connection.unwrap().address, "203.0.113.7");
    assert_eq!(sd.media[0].port, 30000);
    assert!(sd.media[0].connections.is_empty());
    assert_eq!(sd.media[0].direction(), Some(Direction::SendRecv));
    assert_eq!(sd.origin.session_version, 2890844527);
}

#[test]
fn rejects_malformed_descriptions() {
    let ok = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n";
    assert!(parse_str(ok).is_ok());
    let cases: &[(&str, SdpError)] = &[
        ("", SdpError::Empty),
        (
            "o=- 1 1 IN IP4 h\r\n",
            SdpError::OutOfOrder {
                letter: 'o',
                line: 1,
            },
        ),
        ("v=1\r\n", SdpError::BadVersion),
        ("v=0\r\ns=-\r\nt=0 0\r\n", SdpError::Missing('o')),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n",
            SdpError::Missing('s'),
        ),
        ("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", SdpError::Missing('t')),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm =video 3227 RTP/AVP 31\r\n",
            SdpError::BadLine { line: 5 },
        ),
        (
            "v=0\r\nx=1\r\n",
            SdpError::UnknownType {
                letter: 'x',
                line: 2,
            },
        ),
        (
            "v=0\r\no=- x 1 IN IP4 h\r\n",
            SdpError::BadValue {
                letter: 'o',
                line: 2,
            },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4\r\n",
            SdpError::BadValue {
                letter: 'o',
                line: 2,
            },
        ),
        (
            "v=0\r\nr=1d\r\n",
            SdpError::OutOfOrder {
                letter: 'r',
                line: 2,
            },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\no=- 1 1 IN IP4 h\r\n",
            SdpError::OutOfOrder {
                letter: 'o',
                line: 3,
            },
        ),
        (
            "v=0\r\nm=audio 1 RTP/AVP 0\r\n",
            SdpError::OutOfOrder {
                letter: 'm',
                line: 2,
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_str(text).unwrap_err(), *want, "{text:?}");
    }
    for m in [
        "m=audio 70000 RTP/AVP 0",
        "m=audio 4000 RTP/AVP",
        "m=audio x RTP/AVP 0",
        "m=audio 4000/ RTP/AVP 0",
        "m=audio  4000 RTP/AVP 0",
    ] {
        let text = format!("{ok}{m}\r\n");
        assert!(
            matches!(
                parse_str(&text),
                Err(SdpError::BadValue { letter: 'm', .. })
            ),
            "{m}"
        );
    }
    for c in [
        "c=IN IP4",
        "c=IN IP4 224.2.1.1/300",
        "c=IN IP6 ff15::1/1/2",
        "c=IN IP4 a/b",
    ] {
        let text = format!("{ok}{c}\r\n");
        assert!(parse_str(&text).is_err(), "{c}");
    }
    let text = format!("{ok}m=audio 1 RTP/AVP 0\r\nt=0 0\r\n");
    assert!(matches!(
        parse_str(&text),
        Err(SdpError::OutOfOrder { letter: 't', .. })
    ));
    assert_eq!(parse(b"v=0\xff").unwrap_err(), SdpError::InvalidUtf8);
    let bare_cr = format!("{ok}k=prompt\r\x02ecvonly\r\n");
    assert_eq!(
        parse_str(&bare_cr).unwrap_err(),
        SdpError::BadLine { line: 5 }
    );
    let nul = format!("{ok}a=x\0y\r\n");
    assert_eq!(parse_str(&nul).unwrap_err(), SdpError::BadLine { line: 5 });
}

#[test]
fn typed_attribute_parsers() {
    assert_eq!(
        RtpMap::parse("8 PCMA/8000"),
        Some(RtpMap {
            payload_type: 8,
            encoding: "PCMA",
            clock_rate: 8000,
            channels: None
        })
    );
    assert!(RtpMap::parse("128 X/8000").is_none());
    assert!(RtpMap::parse("8 PCMA").is_none());
    assert!(RtpMap::parse("8 PCMA/8000/1/2").is_none());
    assert!(Fmtp::parse("101").is_none());
    assert_eq!(RtcpAttr::parse("9").unwrap().address, None);
    assert!(RtcpAttr::parse("9 IN IP4").is_none());
    assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
    assert_eq!(Direction::Inactive.reversed(), Direction::Inactive);
}
