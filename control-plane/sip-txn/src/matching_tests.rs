//! Layer-level tests: request and response matching, merged requests,
//! CANCEL, the RFC 2543 fallback, errors, and bookkeeping.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sim::{invite_key, ms, request_key, Sim};
use crate::{
    ClientResponse, Config, Event, Method, RequestKey, ResponseKey, ServerRequest,
    TransactionLayer, TxError, TxId, TxKind, TxState,
};

fn no_merge() -> Config {
    Config {
        detect_merged_requests: false,
        ..Config::default()
    }
}

fn new_tx(verdict: ServerRequest) -> TxId {
    match verdict {
        ServerRequest::New { tx, .. } => tx,
        other => panic!("expected a new transaction, got {other:?}"),
    }
}

fn recv(sim: &mut Sim, key: RequestKey) -> ServerRequest {
    sim.layer.on_request(sim.now, key, "peer", false)
}

fn respond(sim: &mut Sim, tx: TxId, status: u16) {
    sim.layer
        .send_response(
            sim.now,
            tx,
            status,
            Bytes::from(format!("SIP/2.0 {status}")),
        )
        .unwrap();
}

fn legacy_invite() -> RequestKey {
    let mut key = invite_key("");
    key.top_via = "SIP/2.0/UDP old.example.com:5060".into();
    key
}

#[test]
fn rfc3261_match_needs_branch_sent_by_and_method() {
    let mut sim = Sim::with_config(no_merge());
    let tx = new_tx(recv(&mut sim, invite_key("z9hG4bKa")));
    assert_eq!(
        recv(&mut sim, invite_key("z9hG4bKa")),
        ServerRequest::Retransmission(tx)
    );
    // sent-by compares without ASCII case.
    let mut upper = invite_key("z9hG4bKa");
    upper.sent_by = upper.sent_by.to_ascii_uppercase();
    assert_eq!(recv(&mut sim, upper), ServerRequest::Retransmission(tx));
    // Fields outside the RFC 3261 rule do not matter.
    let mut other_uri = invite_key("z9hG4bKa");
    other_uri.request_uri = "sip:carol@example.com".into();
    assert_eq!(recv(&mut sim, other_uri), ServerRequest::Retransmission(tx));

    let mut other_host = invite_key("z9hG4bKa");
    other_host.sent_by = "other.example.com:5060".into();
    let t2 = new_tx(recv(&mut sim, other_host));
    let t3 = new_tx(recv(&mut sim, invite_key("z9hG4bKb")));
    let t4 = new_tx(recv(&mut sim, request_key(Method::Options, "z9hG4bKa")));
    let mut ids = vec![tx, t2, t3, t4];
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert_eq!(sim.layer.counts().server_invite, 3);
    assert_eq!(sim.layer.counts().server_non_invite, 1);
    assert_eq!(sim.layer.kind(t4), Some(TxKind::ServerNonInvite));
}

#[test]
fn ack_matches_the_invite_transaction_by_branch() {
    let mut sim = Sim::new();
    let tx = new_tx(recv(&mut sim, invite_key("z9hG4bKa")));
    respond(&mut sim, tx, 404);
    assert_eq!(
        recv(&mut sim, request_key(Method::Ack, "z9hG4bKother")),
        ServerRequest::StrayAck
    );
    assert_eq!(sim.layer.state(tx), Some(TxState::Completed));
    let mut ack = request_key(Method::Ack, "z9hG4bKa");
    ack.to_tag = Some("srv".into());
    assert_eq!(recv(&mut sim, ack), ServerRequest::AckForNon2xx(tx));
    assert_eq!(sim.layer.state(tx), Some(TxState::Confirmed));
}

#[test]
fn cancel_has_its_own_transaction_and_finds_the_invite() {
    let mut sim = Sim::new();
    let invite = new_tx(recv(&mut sim, invite_key("z9hG4bKa")));
    respond(&mut sim, invite, 180);
    let (cancel, target) = match recv(&mut sim, request_key(Method::Cancel, "z9hG4bKa")) {
        ServerRequest::CancelTarget {
            cancel_tx,
            invite_tx,
        } => (cancel_tx, invite_tx),
        other => panic!("unexpected {other:?}"),
    };
    assert_ne!(cancel, invite);
    assert_eq!(target, Some(invite));
    assert_eq!(sim.layer.kind(cancel), Some(TxKind::ServerNonInvite));
    assert_eq!(
        recv(&mut sim, request_key(Method::Cancel, "z9hG4bKa")),
        ServerRequest::Retransmission(cancel)
    );
    // The TU answers the CANCEL and the INVITE independently.
    respond(&mut sim, cancel, 200);
    respond(&mut sim, invite, 487);
    assert_eq!(sim.layer.state(cancel), Some(TxState::Completed));
    assert_eq!(sim.layer.state(invite), Some(TxState::Completed));
    assert_eq!(
        recv(&mut sim, request_key(Method::Ack, "z9hG4bKa")),
        ServerRequest::AckForNon2xx(invite)
    );

    let unknown = recv(&mut sim, request_key(Method::Cancel, "z9hG4bKzzz"));
    assert!(matches!(
        unknown,
        ServerRequest::CancelTarget {
            invite_tx: None,
            ..
        }
    ));
}

#[test]
fn rfc2543_fallback_matches_on_dialog_fields_and_top_via() {
    let mut sim = Sim::with_config(no_merge());
    let tx = new_tx(recv(&mut sim, legacy_invite()));
    assert_eq!(
        recv(&mut sim, legacy_invite()),
        ServerRequest::Retransmission(tx)
    );
    let variants: [fn(&mut RequestKey); 5] = [
        |k| k.request_uri = "sip:carol@example.com".into(),
        |k| k.from_tag = Some("other".into()),
        |k| k.call_id = "other-call".into(),
        |k| k.cseq = 2,
        |k| k.top_via = "SIP/2.0/UDP elsewhere:5060".into(),
    ];
    for change in variants {
        let mut key = legacy_invite();
        change(&mut key);
        let other = new_tx(recv(&mut sim, key));
        assert_ne!(other, tx);
    }
    let mut tagged = legacy_invite();
    tagged.to_tag = Some("dialog".into());
    assert_ne!(new_tx(recv(&mut sim, tagged)), tx);
}

#[test]
fn rfc2543_ack_must_carry_the_to_tag_of_the_response() {
    let mut sim = Sim::new();
    let tx = new_tx(recv(&mut sim, legacy_invite()));
    sim.layer
        .send_response_with_to_tag(sim.now, tx, 486, "srv-tag", Bytes::from_static(b"486"))
        .unwrap();
    let ack = |tag: Option<&str>| {
        let mut key = legacy_invite();
        key.method = Method::Ack;
        key.to_tag = tag.map(str::to_owned);
        key
    };
    assert_eq!(recv(&mut sim, ack(None)), ServerRequest::StrayAck);
    assert_eq!(recv(&mut sim, ack(Some("wrong"))), ServerRequest::StrayAck);
    assert_eq!(
        recv(&mut sim, ack(Some("srv-tag"))),
        ServerRequest::AckForNon2xx(tx)
    );
}

#[test]
fn rfc2543_ack_without_recorded_tag_and_cancel() {
    let mut sim = Sim::new();
    let tx = new_tx(recv(&mut sim, legacy_invite()));
    let mut cancel = legacy_invite();
    cancel.method = Method::Cancel;
    assert!(matches!(
        recv(&mut sim, cancel),
        ServerRequest::CancelTarget { invite_tx: Some(t), .. } if t == tx
    ));
    respond(&mut sim, tx, 487);
    let mut ack = legacy_invite();
    ack.method = Method::Ack;
    ack.to_tag = Some("anything".into());
    assert_eq!(recv(&mut sim, ack), ServerRequest::AckForNon2xx(tx));
}

#[test]
fn merged_request_gets_its_own_transaction_for_a_482() {
    let mut sim = Sim::new();
    let original = new_tx(recv(&mut sim, invite_key("z9hG4bKpath1")));
    let merged = match recv(&mut sim, invite_key("z9hG4bKpath2")) {
        ServerRequest::Merged { tx, original: o } => {
            assert_eq!(o, original);
            tx
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        recv(&mut sim, invite_key("z9hG4bKpath2")),
        ServerRequest::Retransmission(merged)
    );
    respond(&mut sim, merged, 482);
    assert_eq!(sim.layer.state(original), Some(TxState::Proceeding));
    // A third path is still merged against the first transaction.
    assert!(matches!(
        recv(&mut sim, invite_key("z9hG4bKpath3")),
        ServerRequest::Merged { original: o, .. } if o == original
    ));
    // In-dialog requests (To tag) and other CSeqs are not merged.
    let mut in_dialog = invite_key("z9hG4bKpath4");
    in_dialog.to_tag = Some("t".into());
    new_tx(recv(&mut sim, in_dialog));
    let mut next_cseq = invite_key("z9hG4bKpath5");
    next_cseq.cseq = 2;
    new_tx(recv(&mut sim, next_cseq));
}

#[test]
fn merged_detection_ends_with_the_original_and_can_be_disabled() {
    let mut sim = Sim::new();
    let original = new_tx(recv(&mut sim, request_key(Method::Options, "z9hG4bK1")));
    respond(&mut sim, original, 200);
    sim.run_to_idle();
    assert!(sim.layer.is_empty());
    new_tx(recv(&mut sim, request_key(Method::Options, "z9hG4bK2")));

    let mut off = Sim::with_config(no_merge());
    new_tx(recv(&mut off, invite_key("z9hG4bKpath1")));
    new_tx(recv(&mut off, invite_key("z9hG4bKpath2")));
}

#[test]
fn client_matching_uses_branch_and_cseq_method() {
    let mut sim = Sim::new();
    let now = sim.now;
    let invite = sim
        .layer
        .send_request(
            now,
            invite_key("z9hG4bKc"),
            "peer",
            false,
            Bytes::from_static(b"I"),
        )
        .unwrap();
    let cancel = sim
        .layer
        .send_request(
            now,
            request_key(Method::Cancel, "z9hG4bKc"),
            "peer",
            false,
            Bytes::from_static(b"C"),
        )
        .unwrap();
    assert_ne!(invite, cancel);
    let on = |sim: &mut Sim, branch: &str, method: Method, status: u16| {
        sim.layer
            .on_response(now, &ResponseKey::new(branch, method), status)
            .unwrap()
    };
    assert_eq!(
        on(&mut sim, "z9hG4bKc", Method::Bye, 200),
        ClientResponse::Stray
    );
    assert_eq!(
        on(&mut sim, "z9hG4bKx", Method::Invite, 200),
        ClientResponse::Stray
    );
    assert_eq!(
        on(&mut sim, "z9hG4bKc", Method::Cancel, 200),
        ClientResponse::Deliver(cancel)
    );
    assert_eq!(
        on(&mut sim, "z9hG4bKc", Method::Invite, 487),
        ClientResponse::DeliverNeedsAck(invite)
    );
    assert_eq!(
        sim.layer.send_request(
            now,
            invite_key("z9hG4bKc"),
            "peer",
            false,
            Bytes::from_static(b"I")
        ),
        Err(TxError::DuplicateTransaction {
            branch: "z9hG4bKc".into(),
            method: Method::Invite
        })
    );
    assert_eq!(
        sim.layer.send_request(
            now,
            request_key(Method::Ack, "z9hG4bKc"),
            "peer",
            false,
            Bytes::from_static(b"A")
        ),
        Err(TxError::AckIsNotATransaction)
    );
}

#[test]
fn misuse_is_reported_not_panicked() {
    let mut sim = Sim::new();
    let now = sim.now;
    let server = new_tx(recv(&mut sim, request_key(Method::Bye, "z9hG4bKs")));
    let client = sim
        .layer
        .send_request(now, invite_key("z9hG4bKc"), "peer", false, Bytes::new())
        .unwrap();
    let unknown = TxId(999);
    for status in [0, 99, 700, u16::MAX] {
        assert_eq!(
            sim.layer.send_response(now, server, status, Bytes::new()),
            Err(TxError::InvalidStatus(status))
        );
        assert_eq!(
            sim.layer
                .on_response(now, &ResponseKey::new("z9hG4bKc", Method::Invite), status),
            Err(TxError::InvalidStatus(status))
        );
    }
    assert_eq!(
        sim.layer.send_response(now, unknown, 200, Bytes::new()),
        Err(TxError::UnknownTransaction(unknown))
    );
    assert!(matches!(
        sim.layer.send_response(now, client, 200, Bytes::new()),
        Err(TxError::WrongKind {
            kind: TxKind::ClientInvite,
            ..
        })
    ));
    assert!(matches!(
        sim.layer.set_ack(server, Bytes::new()),
        Err(TxError::WrongKind { .. })
    ));
    assert!(matches!(
        sim.layer.set_ack(client, Bytes::new()),
        Err(TxError::InvalidState {
            state: TxState::Calling,
            ..
        })
    ));
    assert_eq!(
        sim.layer.on_transport_error(now, unknown),
        Err(TxError::UnknownTransaction(unknown))
    );
    let err = TxError::InvalidStatus(42).to_string();
    assert!(err.contains("42"));
}

#[test]
fn transport_error_ends_the_transaction_and_frees_its_keys() {
    let mut sim = Sim::new();
    let now = sim.now;
    let client = sim
        .layer
        .send_request(now, invite_key("z9hG4bKc"), "peer", false, Bytes::new())
        .unwrap();
    let server = new_tx(recv(&mut sim, invite_key("z9hG4bKs")));
    sim.layer.on_transport_error(now, client).unwrap();
    sim.layer.on_transport_error(now, server).unwrap();
    sim.drain();
    assert_eq!(
        sim.events,
        vec![
            (0, Event::TransportError(client)),
            (0, Event::Terminated(client)),
            (0, Event::TransportError(server)),
            (0, Event::Terminated(server)),
        ]
    );
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.index_entries(), 0);
    assert_eq!(sim.layer.poll_timeout(), None);
    assert_eq!(sim.layer.counts().total(), 0);
    assert_eq!(
        sim.layer
            .on_response(now, &ResponseKey::new("z9hG4bKc", Method::Invite), 200),
        Ok(ClientResponse::Stray)
    );
}

#[test]
fn transmits_go_to_the_transaction_peer() {
    let mut layer: TransactionLayer<(u8, bool)> = TransactionLayer::new(Config::default());
    let now = Instant::now();
    let tx = layer
        .send_request(
            now,
            invite_key("z9hG4bKc"),
            (7, false),
            false,
            Bytes::from_static(b"x"),
        )
        .unwrap();
    let t = layer.poll_transmit().unwrap();
    assert_eq!((t.tx, t.to, &t.bytes[..]), (tx, (7, false), &b"x"[..]));
    assert_eq!(layer.peer(tx), Some(&(7, false)));
    assert_eq!(layer.is_reliable(tx), Some(false));
    assert!(layer.poll_transmit().is_none());
}

/// Many interleaved transactions: the O(1) `poll_timeout` always equals a
/// full scan, stale queue entries stay bounded, and everything drains.
#[test]
fn deadline_queue_agrees_with_a_full_scan_under_load() {
    let mut sim = Sim::new();
    let mut servers = Vec::new();
    for i in 0..3_000u32 {
        let at = ms(u64::from(i % 97) * 13);
        if sim.start + at > sim.now {
            sim.run_until(at);
        }
        let branch = format!("z9hG4bK{i}");
        let mut key = if i % 2 == 0 {
            invite_key(&branch)
        } else {
            request_key(Method::Options, &branch)
        };
        key.call_id = format!("call-{i}");
        match i % 3 {
            0 => {
                sim.layer
                    .send_request(sim.now, key, "peer", i % 5 == 0, Bytes::new())
                    .unwrap();
            }
            _ => servers.push(new_tx(sim.layer.on_request(
                sim.now,
                key,
                "peer",
                i % 7 == 0,
            ))),
        }
        assert_eq!(sim.layer.poll_timeout(), sim.layer.scan_next_timeout());
    }
    for (n, tx) in servers.iter().enumerate() {
        respond(&mut sim, *tx, if n % 2 == 0 { 486 } else { 200 });
        assert_eq!(sim.layer.poll_timeout(), sim.layer.scan_next_timeout());
    }
    while sim.step() {
        assert_eq!(sim.layer.poll_timeout(), sim.layer.scan_next_timeout());
        assert!(sim.layer.queue_len() <= 2 * sim.layer.len() + 1024 + 1);
    }
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.index_entries(), 0);
    assert_eq!(sim.layer.counts().total(), 0);
    let terminated = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Terminated(_)))
        .count();
    assert_eq!(terminated, 3_000);
    assert!(sim.now - sim.start < Duration::from_secs(60));
}
