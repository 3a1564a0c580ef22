//! Simulated time for tests: scripted phones exchange messages with the B2BUA over a
//! virtual network, a scripted glue answers its actions, and the clock jumps from deadline
//! to deadline.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use warden_sip_proto::{parse_message, Message, Method};

mod ua;

pub(crate) use ua::Ua;

use crate::{
    Action, AuthVerdict, B2bua, CallEvent, CallId, CallRecord, Config, Flow, ForwardRules, Leg,
    LegCodec, Location, MediaAddrs, MediaDirection, Party, RemoteMedia, Reply, Target, Transmit,
    Transport, VoiceCodec,
};

/// The B2BUA's SIP address in the simulation.
pub(crate) const SERVER: &str = "192.0.2.1:5060";

/// The caller's offer.
pub(crate) const ALICE_SDP: &str =
    "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n\
t=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

/// The callee's answer.
pub(crate) const BOB_SDP: &str = "v=0\r\no=bob 7 7 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\n\
t=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

/// The media plane's endpoints in the simulation.
pub(crate) fn media_addrs() -> MediaAddrs {
    MediaAddrs {
        a: "192.0.2.1:30000".parse().unwrap(),
        b: "192.0.2.1:30002".parse().unwrap(),
    }
}

/// Parses a message (tests only).
pub(crate) fn parse(bytes: &Bytes) -> Message<'_> {
    parse_message(bytes).unwrap()
}

/// True when `bytes` is a request with this method.
pub(crate) fn is_request(bytes: &Bytes, method: Method<'_>) -> bool {
    parse_message(bytes).is_ok_and(|m| m.method() == Some(method))
}

/// True when `bytes` is a response with this status to this method.
pub(crate) fn is_response(bytes: &Bytes, status: u16, method: Method<'_>) -> bool {
    parse_message(bytes)
        .is_ok_and(|m| m.status() == Some(status) && m.cseq().is_some_and(|c| c.method == method))
}

/// Picks the transmits a simulated network loses.
pub(crate) type LossFilter = Box<dyn Fn(&Transmit) -> bool>;

/// An extension in the simulated directory.
pub(crate) struct Entry {
    pub(crate) party: Party,
    pub(crate) enabled: bool,
    pub(crate) contacts: Vec<SocketAddr>,
    /// Its busy and no-answer forwarding.
    pub(crate) forward: ForwardRules,
}

/// The simulation.
pub(crate) struct Sim {
    pub(crate) b2bua: B2bua,
    pub(crate) start: Instant,
    pub(crate) now: Instant,
    pub(crate) server: SocketAddr,
    pub(crate) inboxes: HashMap<SocketAddr, VecDeque<Bytes>>,
    pub(crate) directory: HashMap<String, Entry>,
    /// What the media plane answers to OpenMedia (`None`: it fails).
    pub(crate) media: Option<MediaAddrs>,
    /// Ask for credentials (`response="good"` passes).
    pub(crate) require_auth: bool,
    /// Leave actions unanswered (to interleave other inputs).
    pub(crate) hold_actions: bool,
    pub(crate) pending: VecDeque<Action>,
    pub(crate) media_log: Vec<(CallId, Leg, Option<RemoteMedia>, MediaDirection)>,
    /// Transcoding bridges asked for: (call, caller's codec, callee's codec).
    pub(crate) transcodes: Vec<(CallId, LegCodec, LegCodec)>,
    pub(crate) events: Vec<CallEvent>,
    /// Voicemail answers asked for: (call, mailbox, codec).
    pub(crate) voicemails: Vec<(CallId, String, VoiceCodec)>,
    pub(crate) records: Vec<CallRecord>,
    /// Transmits matching one of these are lost (each filter drops at most `n` messages).
    pub(crate) losses: Vec<(LossFilter, usize)>,
    /// Every transmit, with its time since start.
    pub(crate) sent: Vec<(Duration, Transmit)>,
}

impl Sim {
    pub(crate) fn new() -> Self {
        Self::with_config(Config {
            domain: "pbx.test".into(),
            ..Config::default()
        })
    }

    pub(crate) fn with_config(config: Config) -> Self {
        let start = Instant::now();
        Sim {
            b2bua: B2bua::new(config, 7),
            start,
            now: start,
            server: SERVER.parse().unwrap(),
            inboxes: HashMap::new(),
            directory: HashMap::new(),
            media: Some(media_addrs()),
            require_auth: false,
            hold_actions: false,
            pending: VecDeque::new(),
            media_log: Vec::new(),
            transcodes: Vec::new(),
            events: Vec::new(),
            voicemails: Vec::new(),
            records: Vec::new(),
            losses: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Adds an extension registered at `contacts`.
    pub(crate) fn extension(&mut self, number: &str, contacts: &[SocketAddr]) {
        self.directory.insert(
            number.to_string(),
            Entry {
                party: Party {
                    number: number.to_string(),
                    display_name: format!("Ext {number}"),
                    max_calls: None,
                },
                enabled: true,
                contacts: contacts.to_vec(),
                forward: ForwardRules::default(),
            },
        );
    }

    fn flow(&self, from: SocketAddr) -> Flow {
        Flow {
            transport: Transport::Udp,
            local: self.server,
            peer: from,
            conn: None,
        }
    }

    /// A phone at `from` sends `bytes` to the B2BUA.
    pub(crate) fn send(&mut self, from: SocketAddr, bytes: &Bytes) {
        let msg = parse(bytes);
        let flow = self.flow(from);
        if msg.is_request() {
            self.b2bua.handle_request(self.now, &msg, flow);
        } else {
            self.b2bua.handle_response(self.now, &msg);
        }
        self.settle();
    }

    /// Delivers every output and answers every action until nothing moves.
    pub(crate) fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.b2bua.poll_transmit() {
                moved = true;
                self.deliver(t);
            }
            while let Some(a) = self.b2bua.poll_action() {
                moved = true;
                self.pending.push_back(a);
            }
            if !self.hold_actions {
                while let Some(a) = self.pending.pop_front() {
                    moved = true;
                    self.act(a);
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn deliver(&mut self, t: Transmit) {
        self.sent.push((self.now - self.start, t.clone()));
        for (filter, left) in &mut self.losses {
            if *left > 0 && filter(&t) {
                *left -= 1;
                return;
            }
        }
        self.inboxes
            .entry(t.dest.to)
            .or_default()
            .push_back(t.bytes);
    }

    /// Answers one action like the glue would.
    pub(crate) fn act(&mut self, action: Action) {
        let now = self.now;
        match action {
            Action::Authenticate { call, request } => {
                let ok = !self.require_auth
                    || request
                        .authorization
                        .iter()
                        .any(|v| v.contains("response=\"good\""));
                let verdict = if ok {
                    let party = self
                        .directory
                        .get(&request.user)
                        .map(|e| e.party.clone())
                        .unwrap_or(Party {
                            number: request.user.clone(),
                            display_name: String::new(),
                            max_calls: None,
                        });
                    AuthVerdict::Authenticated(party)
                } else {
                    AuthVerdict::Rejected(Reply {
                        status: 407,
                        reason: "Proxy Authentication Required".into(),
                        headers: vec![(
                            "Proxy-Authenticate".into(),
                            "Digest realm=\"pbx.test\", nonce=\"n1\"".into(),
                        )],
                    })
                };
                let _ = self.b2bua.on_authenticated(now, call, verdict);
            }
            Action::Locate { call, number } => {
                let location = match self.directory.get(&number) {
                    None => Location::Unknown,
                    Some(e) if !e.enabled => Location::Disabled(e.party.clone()),
                    Some(e) => Location::Found {
                        party: e.party.clone(),
                        targets: e
                            .contacts
                            .iter()
                            .map(|c| Target {
                                uri: format!("sip:{number}@{c}"),
                                flow: self.flow(*c),
                            })
                            .collect(),
                        forward: e.forward.clone(),
                    },
                };
                let _ = self.b2bua.on_located(now, call, location);
            }
            Action::OpenMedia { call } => {
                let _ = self.b2bua.on_media_opened(now, call, self.media);
            }
            Action::Media {
                call,
                leg,
                remote,
                direction,
            } => self.media_log.push((call, leg, remote, direction)),
            Action::Event(e) => self.events.push(e),
            Action::Finished { record, .. } => self.records.push(record),
            Action::Transcode { call, a, b } => self.transcodes.push((call, a, b)),
            Action::Voicemail {
                call,
                mailbox,
                codec,
                ..
            } => self.voicemails.push((call, mailbox, codec)),
        }
    }

    /// Moves the clock by `d`, firing every deadline on the way.
    pub(crate) fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(next) = self.b2bua.poll_timeout() {
            if next > target {
                break;
            }
            assert!(next >= self.now, "deadline in the past");
            self.now = next;
            self.b2bua.handle_timeout(self.now);
            self.settle();
        }
        self.now = target;
    }

    /// Takes the first message in `to`'s inbox that matches.
    pub(crate) fn take(&mut self, to: SocketAddr, pred: impl Fn(&Bytes) -> bool) -> Option<Bytes> {
        let inbox = self.inboxes.get_mut(&to)?;
        let pos = inbox.iter().position(pred)?;
        inbox.remove(pos)
    }

    /// Takes the first request with this method sent to `to`, or panics with the inbox.
    pub(crate) fn expect_request(&mut self, to: SocketAddr, method: Method<'_>) -> Bytes {
        match self.take(to, |b| is_request(b, method)) {
            Some(b) => b,
            None => panic!("no {method} for {to}; inbox: {}", self.dump(to)),
        }
    }

    /// Takes the first response with this status and method sent to `to`, or panics.
    pub(crate) fn expect_response(
        &mut self,
        to: SocketAddr,
        status: u16,
        method: Method<'_>,
    ) -> Bytes {
        match self.take(to, |b| is_response(b, status, method)) {
            Some(b) => b,
            None => panic!("no {status} to {method} for {to}; inbox: {}", self.dump(to)),
        }
    }

    /// The first lines of the messages waiting for `to`.
    pub(crate) fn dump(&self, to: SocketAddr) -> String {
        self.inboxes
            .get(&to)
            .map(|q| {
                q.iter()
                    .map(|b| {
                        String::from_utf8_lossy(b)
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .unwrap_or_default()
    }

    /// True when nothing waits for `to` (ignoring 100 Trying).
    pub(crate) fn quiet(&self, to: SocketAddr) -> bool {
        self.inboxes.get(&to).is_none_or(|q| {
            q.iter()
                .all(|b| parse_message(b).is_ok_and(|m| m.status() == Some(100)))
        })
    }

    /// The media commands of a call for one leg, in order.
    pub(crate) fn media_for(&self, leg: Leg) -> Vec<(Option<RemoteMedia>, MediaDirection)> {
        self.media_log
            .iter()
            .filter(|(_, l, _, _)| *l == leg)
            .map(|(_, _, r, d)| (*r, *d))
            .collect()
    }
}

/// The SDP body of a message, as text.
pub(crate) fn body(bytes: &Bytes) -> String {
    String::from_utf8_lossy(parse(bytes).body()).into_owned()
}
