#![no_main]
//! Random operation sequences against the transaction layer: nothing panics,
//! deadlines never lie in the past after `handle_timeout`, every transaction
//! terminates exactly once, and all of them end once they get final
//! responses and time runs far enough.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use warden_sip_txn::{
    Bytes, ClientResponse, Config, Event, Method, RequestKey, ResponseKey, ServerRequest,
    TransactionLayer, TxId, TxState,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Advance {
        millis: u16,
    },
    Fire,
    Request {
        method: u8,
        branch: u8,
        sent_by: u8,
        legacy: bool,
        to_tag: Option<u8>,
        cseq: u8,
        reliable: bool,
    },
    SendRequest {
        method: u8,
        branch: u8,
        reliable: bool,
    },
    Response {
        branch: u8,
        method: u8,
        status: u16,
    },
    SendResponse {
        tx: u8,
        status: u16,
        tag: Option<u8>,
    },
    SetAck {
        tx: u8,
    },
    TransportError {
        tx: u8,
    },
}

fn method(n: u8) -> Method {
    match n % 6 {
        0 => Method::Invite,
        1 => Method::Ack,
        2 => Method::Cancel,
        3 => Method::Bye,
        4 => Method::Options,
        _ => Method::Other("X".into()),
    }
}

fn branch(n: u8, legacy: bool) -> String {
    if legacy {
        format!("{}", n % 4)
    } else {
        format!("z9hG4bK{}", n % 8)
    }
}

struct Harness {
    layer: TransactionLayer<u8>,
    now: Instant,
    ids: Vec<TxId>,
    clients: HashMap<TxId, ResponseKey>,
    terminated: HashSet<TxId>,
}

impl Harness {
    fn pick(&self, n: u8) -> Option<TxId> {
        (!self.ids.is_empty()).then(|| self.ids[usize::from(n) % self.ids.len()])
    }

    fn note(&mut self, tx: TxId) {
        if !self.ids.contains(&tx) {
            self.ids.push(tx);
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.layer.poll_transmit() {
            assert!(
                self.ids.contains(&t.tx),
                "transmit for an unknown transaction"
            );
        }
        while let Some(e) = self.layer.poll_event() {
            if let Event::Terminated(tx) = e {
                assert!(self.terminated.insert(tx), "terminated twice");
                assert!(self.layer.state(tx).is_none(), "terminated but still live");
            }
        }
        assert_eq!(self.layer.counts().total(), self.layer.len());
    }

    fn fire(&mut self) -> bool {
        let Some(at) = self.layer.poll_timeout() else {
            return false;
        };
        self.now = self.now.max(at);
        self.layer.handle_timeout(self.now);
        if let Some(next) = self.layer.poll_timeout() {
            assert!(next > self.now, "deadline not after handle_timeout");
        }
        self.drain();
        true
    }

    fn run_out(&mut self) {
        for _ in 0..10_000 {
            if !self.fire() {
                return;
            }
        }
        panic!("timers never ran out");
    }

    fn apply(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Advance { millis } => {
                self.now += Duration::from_millis(u64::from(millis));
                self.layer.handle_timeout(self.now);
                if let Some(next) = self.layer.poll_timeout() {
                    assert!(next > self.now, "deadline not after handle_timeout");
                }
            }
            Op::Fire => {
                self.fire();
            }
            Op::Request {
                method: m,
                branch: b,
                sent_by,
                legacy,
                to_tag,
                cseq,
                reliable,
            } => {
                let key = RequestKey {
                    method: method(m),
                    branch: branch(b, legacy),
                    sent_by: format!("host{}:5060", sent_by % 2),
                    call_id: "call".into(),
                    from_tag: Some("f".into()),
                    to_tag: to_tag.map(|t| format!("t{}", t % 2)),
                    cseq: u32::from(cseq % 3),
                    request_uri: "sip:a@b".into(),
                    top_via: format!("SIP/2.0/UDP host{}", sent_by % 2),
                };
                match self.layer.on_request(now, key, sent_by, reliable) {
                    ServerRequest::New { tx, .. } | ServerRequest::Merged { tx, .. } => {
                        self.note(tx)
                    }
                    ServerRequest::CancelTarget {
                        cancel_tx,
                        invite_tx,
                    } => {
                        self.note(cancel_tx);
                        assert!(invite_tx.is_none_or(|t| self.ids.contains(&t)));
                    }
                    ServerRequest::Retransmission(tx)
                    | ServerRequest::AckForNon2xx(tx)
                    | ServerRequest::Ack2xx(tx) => assert!(self.ids.contains(&tx)),
                    ServerRequest::StrayAck => {}
                }
            }
            Op::SendRequest {
                method: m,
                branch: b,
                reliable,
            } => {
                let key = RequestKey {
                    method: method(m),
                    branch: branch(b, false),
                    sent_by: "me:5060".into(),
                    call_id: "out".into(),
                    from_tag: Some("me".into()),
                    to_tag: None,
                    cseq: 1,
                    request_uri: "sip:x@y".into(),
                    top_via: "SIP/2.0/UDP me".into(),
                };
                let rk = ResponseKey::new(key.branch.clone(), key.method.clone());
                if let Ok(tx) =
                    self.layer
                        .send_request(now, key, 9, reliable, Bytes::from_static(b"req"))
                {
                    self.note(tx);
                    self.clients.insert(tx, rk);
                }
            }
            Op::Response {
                branch: b,
                method: m,
                status,
            } => {
                let key = ResponseKey::new(branch(b, false), method(m));
                let _ = self.layer.on_response(now, &key, status);
            }
            Op::SendResponse { tx, status, tag } => {
                if let Some(tx) = self.pick(tx) {
                    let bytes = Bytes::from_static(b"resp");
                    let _ = match tag {
                        Some(t) => self.layer.send_response_with_to_tag(
                            now,
                            tx,
                            status,
                            &format!("t{}", t % 2),
                            bytes,
                        ),
                        None => self.layer.send_response(now, tx, status, bytes),
                    };
                }
            }
            Op::SetAck { tx } => {
                if let Some(tx) = self.pick(tx) {
                    let _ = self.layer.set_ack(tx, Bytes::from_static(b"ack"));
                }
            }
            Op::TransportError { tx } => {
                if let Some(tx) = self.pick(tx) {
                    let _ = self.layer.on_transport_error(now, tx);
                }
            }
        }
        self.drain();
    }
}

libfuzzer_sys::fuzz_target!(|ops: Vec<Op>| {
    let mut h = Harness {
        layer: TransactionLayer::new(Config::default()),
        now: Instant::now(),
        ids: Vec::new(),
        clients: HashMap::new(),
        terminated: HashSet::new(),
    };
    for op in ops.into_iter().take(512) {
        h.apply(op);
    }
    h.run_out();
    // Only states that wait for the TU or the peer without a timer remain.
    let live: Vec<TxId> = h
        .ids
        .iter()
        .copied()
        .filter(|tx| h.layer.state(*tx).is_some())
        .collect();
    for tx in &live {
        let state = h.layer.state(*tx);
        assert!(
            matches!(state, Some(TxState::Proceeding | TxState::Trying)),
            "{state:?} without timer"
        );
    }
    // Final responses end everything once the timers run out.
    let now = h.now;
    for tx in live {
        if let Some(key) = h.clients.get(&tx) {
            if let Ok(ClientResponse::DeliverNeedsAck(_)) = h.layer.on_response(now, key, 500) {
                h.layer.set_ack(tx, Bytes::from_static(b"ack")).unwrap();
            }
        } else {
            h.layer
                .send_response(now, tx, 500, Bytes::from_static(b"500"))
                .unwrap();
        }
    }
    h.drain();
    h.run_out();
    assert!(h.layer.is_empty(), "{} transactions left", h.layer.len());
});
