#![no_main]
//! Random operation sequences against the B2BUA: scripted phones send INVITEs, answers,
//! cancels, in-dialog requests and raw bytes; the glue answers its questions in any order
//! (or never); time jumps; sends fail. Nothing panics, deadlines never lie in the past, every
//! call ends at most once with a consistent record, and after shutdown and enough time
//! nothing is left: no call, no transaction, no routing entry.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use warden_b2bua::{
    Action, AuthVerdict, B2bua, CallEvent, CallId, Config, Flow, ForwardRules, Leg, Location,
    MediaAddrs, Party, Reply, Target, Transport, TxId,
};
use warden_sip_proto::{parse_message, response_to, Method, RequestBuilder};

#[derive(Arbitrary, Debug)]
enum Op {
    Invite { phone: u8, callee: u8, sdp: u8, extra: u8 },
    Reply { phone: u8, pick: u8, status: u8, sdp: u8, reliable: bool },
    InDialog { phone: u8, method: u8, sdp: u8 },
    Cancel { phone: u8 },
    Ack { phone: u8 },
    Raw { phone: u8, data: Vec<u8> },
    Glue { pick: u8, verdict: u8 },
    RtpTimeout { call: u8, callee_leg: bool },
    HangUp { call: u8 },
    TransportError { pick: u8 },
    Advance { millis: u16 },
    Fire,
}

const PHONES: usize = 4;
const SERVER: &str = "192.0.2.1:5060";

fn sdp(kind: u8, version: u8) -> Option<String> {
    let dir = ["sendrecv", "sendonly", "recvonly", "inactive"][usize::from(version % 4)];
    match kind % 6 {
        0 => None,
        1 => Some("v=0\r\nbroken".into()),
        2 => Some("v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nt=0 0\r\nm=video 5 RTP/AVP 31\r\n".into()),
        3 => Some(format!(
            "v=0\r\no=- 1 {version} IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
        )),
        _ => Some(format!(
            "v=0\r\no=- 7 {version} IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na={dir}\r\n"
        )),
    }
}

struct Phone {
    addr: SocketAddr,
    number: String,
    /// Messages the B2BUA sent to this phone (bounded).
    inbox: Vec<Vec<u8>>,
    invite: Option<Vec<u8>>,
    /// Call-ID, our header, the peer's header, target.
    dialog: Option<(String, String, String, String)>,
    cseq: u32,
    seq: u32,
}

struct Harness {
    b2bua: B2bua,
    now: Instant,
    phones: Vec<Phone>,
    pending: Vec<Action>,
    txs: Vec<TxId>,
    calls: Vec<CallId>,
    finished: HashSet<CallId>,
    ended: HashSet<CallId>,
}

impl Harness {
    fn new() -> Self {
        let phones = (0..PHONES)
            .map(|i| Phone {
                addr: format!("10.0.0.{}:5060", i + 1).parse().unwrap(),
                number: format!("100{i}"),
                inbox: Vec::new(),
                invite: None,
                dialog: None,
                cseq: 1,
                seq: 0,
            })
            .collect();
        let config = Config {
            domain: "pbx.test".into(),
            ring_timeout: Duration::from_secs(20),
            session_expires: Duration::from_secs(120),
            max_duration: Duration::from_secs(600),
            ..Config::default()
        };
        Harness {
            b2bua: B2bua::new(config, 1),
            now: Instant::now(),
            phones,
            pending: Vec::new(),
            txs: Vec::new(),
            calls: Vec::new(),
            finished: HashSet::new(),
            ended: HashSet::new(),
        }
    }

    fn flow(&self, peer: SocketAddr) -> Flow {
        Flow {
            transport: Transport::Udp,
            local: SERVER.parse().unwrap(),
            peer,
            conn: None,
        }
    }

    fn send(&mut self, phone: usize, bytes: &[u8]) {
        let Ok(msg) = parse_message(bytes) else {
            return;
        };
        let flow = self.flow(self.phones[phone].addr);
        if msg.is_request() {
            self.b2bua.handle_request(self.now, &msg, flow);
        } else {
            self.b2bua.handle_response(self.now, &msg);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(t) = self.b2bua.poll_transmit() {
            if let Some(tx) = t.tx {
                if self.txs.len() < 64 {
                    self.txs.push(tx);
                }
            }
            if let Some(p) = self.phones.iter_mut().find(|p| p.addr == t.dest.to) {
                if p.inbox.len() < 32 {
                    p.inbox.push(t.bytes.to_vec());
                }
            }
        }
        while let Some(a) = self.b2bua.poll_action() {
            match a {
                Action::Event(CallEvent::Started { call, .. }) => self.calls.push(call),
                Action::Event(CallEvent::Ended { call, .. }) => {
                    assert!(self.ended.insert(call), "call {call} ended twice");
                }
                Action::Finished { call, record } => {
                    assert!(self.finished.insert(call), "call {call} recorded twice");
                    assert!(record.ended_at >= record.started_at);
                    if let Some(a) = record.answered_at {
                        assert!(a >= record.started_at && a <= record.ended_at);
                    }
                }
                Action::Event(_)
                | Action::Media { .. }
                | Action::Transcode { .. }
                | Action::Voicemail { .. } => {}
                other => self.pending.push(other),
            }
        }
        assert!(self.b2bua.active_calls() <= self.b2bua.len());
    }

    fn fire(&mut self) -> bool {
        let Some(at) = self.b2bua.poll_timeout() else {
            return false;
        };
        self.now = self.now.max(at);
        self.b2bua.handle_timeout(self.now);
        if let Some(next) = self.b2bua.poll_timeout() {
            assert!(next > self.now, "deadline not after handle_timeout");
        }
        self.drain();
        true
    }

    fn phone(&self, n: u8) -> usize {
        usize::from(n) % PHONES
    }

    fn request(&mut self, i: usize, method: Method<'_>, body: Option<String>, extra: &[(&str, &str)]) -> Option<Vec<u8>> {
        let p = &mut self.phones[i];
        let (call_id, local, remote, target) = p.dialog.clone()?;
        p.seq += 1;
        p.cseq += 1;
        let mut b = RequestBuilder::new(method, target)
            .header("Via", format!("SIP/2.0/UDP {};branch=z9hG4bKf{}x{};rport", p.addr, i, p.seq))
            .header("Max-Forwards", "70")
            .header("From", local)
            .header("To", remote)
            .header("Call-ID", call_id)
            .header("CSeq", format!("{} {}", p.cseq, method.as_str()))
            .header("Contact", format!("<sip:{}@{}>", p.number, p.addr));
        for (n, v) in extra {
            b = b.header(n.to_string(), v.to_string());
        }
        if let Some(s) = body {
            b = b.body("application/sdp", s.into_bytes());
        }
        Some(b.to_bytes())
    }

    fn apply(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Invite { phone, callee, sdp: kind, extra } => {
                let i = self.phone(phone);
                let p = &mut self.phones[i];
                p.seq += 1;
                p.cseq = 1;
                let callee = format!("100{}", callee % 5);
                p.dialog = Some((
                    format!("c{}-{}", i, p.seq),
                    format!("<sip:{}@pbx.test>;tag=f{}{}", p.number, i, p.seq),
                    format!("<sip:{callee}@pbx.test>"),
                    format!("sip:{callee}@pbx.test"),
                ));
                let extras: &[(&str, &str)] = match extra % 5 {
                    0 => &[],
                    1 => &[("Supported", "100rel, timer")],
                    2 => &[("Require", "100rel")],
                    3 => &[("Session-Expires", "60")],
                    _ => &[("Session-Expires", "200;refresher=uac"), ("Supported", "timer")],
                };
                let auth = [("Proxy-Authorization", "Digest username=\"x\"")];
                let mut all: Vec<(&str, &str)> = extras.to_vec();
                if extra & 0x80 != 0 {
                    all.extend_from_slice(&auth);
                }
                if let Some(bytes) = self.request(i, Method::Invite, sdp(kind, 1), &all) {
                    self.phones[i].invite = Some(bytes.clone());
                    self.send(i, &bytes);
                }
            }
            Op::Reply { phone, pick, status, sdp: kind, reliable } => {
                let i = self.phone(phone);
                let requests: Vec<Vec<u8>> = self.phones[i]
                    .inbox
                    .iter()
                    .filter(|b| parse_message(b).is_ok_and(|m| m.is_request()))
                    .cloned()
                    .collect();
                if requests.is_empty() {
                    return;
                }
                let req = requests[usize::from(pick) % requests.len()].clone();
                let Ok(m) = parse_message(&req) else { return };
                let status = [100, 180, 183, 200, 486, 487, 603, 481, 503, 408][usize::from(status) % 10];
                let mut b = response_to(&m, status, "X").to_tag(format!("u{i}"));
                if (101..300).contains(&status) {
                    b = b.header("Contact", format!("<sip:{}@{}>", self.phones[i].number, self.phones[i].addr));
                }
                if reliable && (101..200).contains(&status) {
                    b = b.header("Require", "100rel").header("RSeq", format!("{}", pick % 3 + 1));
                }
                if status == 200 {
                    b = b.header("Session-Expires", "90;refresher=uas");
                }
                if let Some(s) = sdp(kind, 2) {
                    b = b.body("application/sdp", s.into_bytes());
                }
                if m.method() == Some(Method::Invite) && m.to().and_then(|t| t.tag()).is_none() {
                    let p = &mut self.phones[i];
                    p.dialog = Some((
                        m.call_id().unwrap_or("").to_string(),
                        format!("{};tag=u{i}", m.header("To").unwrap_or_default()),
                        m.header("From").unwrap_or_default().into_owned(),
                        m.contacts()
                            .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()))
                            .unwrap_or_else(|| "sip:x@192.0.2.1".into()),
                    ));
                    p.cseq = 100;
                }
                let bytes = b.to_bytes();
                self.send(i, &bytes);
            }
            Op::InDialog { phone, method, sdp: kind } => {
                let i = self.phone(phone);
                let method = [
                    Method::Bye,
                    Method::Invite,
                    Method::Update,
                    Method::Info,
                    Method::Options,
                    Method::Prack,
                    Method::Message,
                    Method::Refer,
                ][usize::from(method) % 8];
                let rack = [("RAck", "1 1 INVITE")];
                let extra: &[(&str, &str)] = if method == Method::Prack { &rack } else { &[] };
                if let Some(bytes) = self.request(i, method, sdp(kind, kind), extra) {
                    self.send(i, &bytes);
                }
            }
            Op::Cancel { phone } => {
                let i = self.phone(phone);
                let Some(inv) = self.phones[i].invite.clone() else { return };
                let Ok(m) = parse_message(&inv) else { return };
                let (Some(uri), Some(via), Some(from), Some(to), Some(cid), Some(cseq)) = (
                    m.request_uri(),
                    m.header("Via"),
                    m.header("From"),
                    m.header("To"),
                    m.call_id(),
                    m.cseq(),
                ) else {
                    return;
                };
                let bytes = RequestBuilder::new(Method::Cancel, uri.as_str().to_string())
                    .header("Via", via.into_owned())
                    .header("Max-Forwards", "70")
                    .header("From", from.into_owned())
                    .header("To", to.into_owned())
                    .header("Call-ID", cid.to_string())
                    .header("CSeq", format!("{} CANCEL", cseq.seq))
                    .to_bytes();
                self.send(i, &bytes);
            }
            Op::Ack { phone } => {
                let i = self.phone(phone);
                let ok = self.phones[i].inbox.iter().rev().find_map(|b| {
                    let m = parse_message(b).ok()?;
                    (m.status().is_some_and(|s| (200..300).contains(&s))
                        && m.cseq().is_some_and(|c| c.method == Method::Invite))
                    .then(|| (m.header("To").map(|t| t.into_owned()), m.cseq().map(|c| c.seq)))
                });
                if let Some((Some(to), Some(cseq))) = ok {
                    if let Some(d) = self.phones[i].dialog.as_mut() {
                        d.2 = to;
                    }
                    let saved = self.phones[i].cseq;
                    self.phones[i].cseq = cseq.saturating_sub(1);
                    if let Some(bytes) = self.request(i, Method::Ack, None, &[]) {
                        self.send(i, &bytes);
                    }
                    self.phones[i].cseq = saved;
                }
            }
            Op::Raw { phone, data } => {
                let i = self.phone(phone);
                self.send(i, &data);
            }
            Op::Glue { pick, verdict } => {
                if self.pending.is_empty() {
                    return;
                }
                let a = self.pending.remove(usize::from(pick) % self.pending.len());
                match a {
                    Action::Authenticate { call, request } => {
                        let v = if verdict % 3 == 0 {
                            AuthVerdict::Rejected(Reply {
                                status: 407,
                                reason: "Proxy Authentication Required".into(),
                                headers: vec![("Proxy-Authenticate".into(), "Digest realm=\"x\"".into())],
                            })
                        } else {
                            AuthVerdict::Authenticated(Party {
                                number: request.user,
                                display_name: "F".into(),
                                max_calls: (verdict % 5 == 1).then_some(1),
                            })
                        };
                        let _ = self.b2bua.on_authenticated(now, call, v);
                    }
                    Action::Locate { call, number } => {
                        let party = Party {
                            number: number.clone(),
                            display_name: String::new(),
                            max_calls: (verdict % 7 == 1).then_some(1),
                        };
                        let targets: Vec<Target> = self
                            .phones
                            .iter()
                            .filter(|p| p.number == number || verdict % 4 == 3)
                            .map(|p| Target {
                                uri: format!("sip:{}@{}", p.number, p.addr),
                                flow: self.flow(p.addr),
                            })
                            .collect();
                        // Busy and no-answer forwarding to another phone, now and then.
                        let other = self
                            .phones
                            .get(usize::from(verdict) % self.phones.len().max(1))
                            .map(|p| p.number.clone());
                        let forward = ForwardRules {
                            on_busy: other.clone().filter(|_| verdict % 3 == 0),
                            on_no_answer: other
                                .filter(|_| verdict % 6 == 2)
                                .map(|n| (n, Duration::from_secs(u64::from(verdict % 12)))),
                            voicemail: (verdict % 4 == 1).then(|| warden_b2bua::VoicemailRule {
                                no_answer: Duration::from_secs(u64::from(verdict % 9)),
                                max_message: Duration::from_secs(u64::from(verdict % 7)),
                            }),
                        };
                        let loc = match verdict % 5 {
                            0 => Location::Unknown,
                            1 => Location::Disabled(party),
                            _ => Location::Found {
                                party,
                                targets,
                                forward,
                            },
                        };
                        let _ = self.b2bua.on_located(now, call, loc);
                    }
                    Action::OpenMedia { call } => {
                        let media = (verdict % 4 != 0).then(|| MediaAddrs {
                            a: "192.0.2.1:30000".parse().unwrap(),
                            b: "192.0.2.1:30002".parse().unwrap(),
                        });
                        let _ = self.b2bua.on_media_opened(now, call, media);
                    }
                    _ => {}
                }
                self.drain();
            }
            Op::RtpTimeout { call, callee_leg } => {
                if let Some(&id) = self.calls.get(usize::from(call) % self.calls.len().max(1)) {
                    let leg = if callee_leg { Leg::B } else { Leg::A };
                    let _ = self.b2bua.on_rtp_timeout(now, id, leg);
                    self.drain();
                }
            }
            Op::HangUp { call } => {
                if let Some(&id) = self.calls.get(usize::from(call) % self.calls.len().max(1)) {
                    // Odd calls: the voicemail inputs (ignored by calls not in voicemail).
                    if call % 2 == 1 {
                        let _ = self.b2bua.on_voicemail_recording(now, id);
                        let _ = self.b2bua.end_voicemail(now, id);
                    }
                    let _ = self.b2bua.hang_up(now, id);
                    self.drain();
                }
            }
            Op::TransportError { pick } => {
                if !self.txs.is_empty() {
                    let tx = self.txs[usize::from(pick) % self.txs.len()];
                    self.b2bua.on_transport_error(now, tx);
                    self.drain();
                }
            }
            Op::Advance { millis } => {
                let target = self.now + Duration::from_millis(u64::from(millis) * 10);
                while self.b2bua.poll_timeout().is_some_and(|at| at <= target) {
                    self.fire();
                }
                self.now = target;
            }
            Op::Fire => {
                self.fire();
            }
        }
    }
}

libfuzzer_sys::fuzz_target!(|ops: Vec<Op>| {
    let mut h = Harness::new();
    for op in ops.into_iter().take(200) {
        h.apply(op);
    }
    // Shutdown ends every live call; then time runs out and everything goes.
    h.b2bua.shutdown(h.now);
    h.drain();
    assert_eq!(h.b2bua.active_calls(), 0, "live calls after shutdown");
    for _ in 0..100_000 {
        if !h.fire() {
            break;
        }
    }
    assert!(h.b2bua.poll_timeout().is_none(), "timers never ran out");
    assert!(h.b2bua.is_empty(), "calls left: {}", h.b2bua.len());
    assert_eq!(h.b2bua.transactions(), 0, "transactions left");
    assert_eq!(h.b2bua.index_entries(), 0, "routing entries left");
    assert_eq!(h.finished, h.ended, "every ended call has exactly one record");
});
