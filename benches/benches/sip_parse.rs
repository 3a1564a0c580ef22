//! SIP parsing and serialisation: Warden's parser against rsip 0.4 on the
//! same messages, in the same criterion groups, so the ratio is visible.
//!
//! Parsing is measured the way a proxy uses it: parse, then read the top
//! Via branch, the From and To tags, the Call-ID and the CSeq.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rsip::prelude::*;
use warden_sip_proto::parse_message;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, UPDATE, PRACK\r\n\
Supported: replaces, timer, 100rel\r\n\
User-Agent: Example Phone 1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 253\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const REGISTER: &str = "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4:5060>;expires=3600\r\n\
User-Agent: Example Phone 1.0\r\n\
Content-Length: 0\r\n\
\r\n";

const OK_200: &str = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n\
Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n\
Record-Route: <sip:server10.biloxi.example.com;lr>, <sip:bigbox3.site3.atlanta.example.com;lr>\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:bob@192.0.2.4>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\
\r\n\
v=0\r\n\
o=bob 2808844564 2808844564 IN IP4 192.0.2.4\r\n\
s=-\r\n\
c=IN IP4 192.0.2.4\r\n\
t=0 0\r\n\
m=audio 3456 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// Warden: parse and read what a proxy needs.
fn warden_parse(buf: &[u8]) -> usize {
    let Ok(m) = parse_message(buf) else {
        return 0;
    };
    let branch = m.top_via().and_then(|v| v.branch()).map_or(0, str::len);
    let from = m.from().and_then(|f| f.tag()).map_or(0, str::len);
    let to = m.to().and_then(|t| t.tag()).map_or(0, str::len);
    let call_id = m.call_id().map_or(0, str::len);
    let cseq = m
        .cseq()
        .map_or(0, |c| c.seq as usize + c.method.as_str().len());
    branch + from + to + call_id + cseq + m.body().len()
}

/// rsip: the same work.
fn rsip_parse(buf: &[u8]) -> usize {
    let Ok(m) = rsip::SipMessage::try_from(buf) else {
        return 0;
    };
    let branch = m
        .via_header()
        .ok()
        .and_then(|v| v.typed().ok())
        .and_then(|v| v.branch().map(|b| b.to_string().len()))
        .unwrap_or(0);
    let from = m
        .from_header()
        .ok()
        .and_then(|f| f.tag().ok().flatten())
        .map_or(0, |t| t.value().len());
    let to = m
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .map_or(0, |t| t.value().len());
    let call_id = m.call_id_header().map_or(0, |c| c.value().len());
    let cseq = m
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(0, |c| c.seq as usize + c.method.to_string().len());
    branch + from + to + call_id + cseq + m.body().len()
}

fn parse(c: &mut Criterion) {
    for (name, msg) in [
        ("invite", INVITE),
        ("register", REGISTER),
        ("200_ok", OK_200),
    ] {
        let buf = msg.as_bytes();
        // Both parsers must accept the message, or the comparison is void.
        assert!(warden_parse(buf) > 0, "warden rejected {name}");
        assert!(rsip_parse(buf) > 0, "rsip rejected {name}");
        let mut g = c.benchmark_group(format!("sip_parse/{name}"));
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function("warden", |b| b.iter(|| warden_parse(black_box(buf))));
        g.bench_function("rsip", |b| b.iter(|| rsip_parse(black_box(buf))));
        g.finish();
    }
}

fn serialise(c: &mut Criterion) {
    for (name, msg) in [
        ("invite", INVITE),
        ("register", REGISTER),
        ("200_ok", OK_200),
    ] {
        let buf = msg.as_bytes();
        let (ours, theirs) = (parse_message(buf), rsip::SipMessage::try_from(buf));
        assert!(ours.is_ok() && theirs.is_ok(), "{name} not parsed");
        let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
            continue;
        };
        let mut g = c.benchmark_group(format!("sip_write/{name}"));
        g.throughput(Throughput::Bytes(buf.len() as u64));
        let mut out = Vec::with_capacity(2048);
        g.bench_function("warden", |b| {
            b.iter(|| {
                out.clear();
                black_box(&ours).write(&mut out);
                out.len()
            })
        });
        g.bench_function("rsip", |b| b.iter(|| black_box(&theirs).to_string().len()));
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = parse, serialise
}
criterion_main!(benches);
