//! Call lifecycle events on the live-events stream, for a real SIPp call.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::harness::{Backend, Warden, EXT, EXT2, SECRET2};

fn of_call<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["call"] == id).collect()
}

#[test]
fn call_started_ringing_answered_and_ended_reach_the_event_stream() {
    for backend in Backend::all() {
        let w = Warden::start("live_call_events", backend, "").unwrap();
        let token = admin_token(&w);
        let mut events = EventStream::open(&w, &token);
        events.until("hello", |e| !e.is_empty());
        let files = MediaFiles::new();
        let port = register(&w, EXT2, SECRET2);
        let nowhere = "127.0.0.1:9".parse().unwrap();
        let mut b = callee(&w, &files, port, nowhere);
        let mut a = caller(&w, &files, "call_uac.xml", EXT2, nowhere, &["-d", "1500"]);

        // The start carries the call's id; while the call is up a `calls` snapshot lists it.
        let started = events.until("call", |l| l.iter().any(|e| e["kind"] == "started"));
        let started = started
            .iter()
            .find(|e| e["kind"] == "started")
            .unwrap()
            .clone();
        let id = started["call"].as_str().unwrap().to_owned();
        assert_eq!(
            (started["caller"].as_str(), started["callee"].as_str()),
            (Some(EXT), Some(EXT2))
        );
        let sip_call_id = started["call_id"].as_str().unwrap().to_owned();
        assert!(!sip_call_id.is_empty());
        events.until("calls", |l| {
            l.iter().any(|c| {
                c["calls"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["id"] == id.as_str()))
            })
        });

        // Then ringing, answered and ended, in that order, for the same call.
        let all = events.until("call", |l| {
            l.iter()
                .any(|e| e["kind"] == "ended" && e["call"] == id.as_str())
        });
        let mine = of_call(&all, &id);
        let kinds: Vec<_> = mine.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["started", "ringing", "answered", "ended"],
            "{all:?}"
        );
        assert_eq!(mine[2]["codec"], "PCMU");
        let ended = mine[3];
        assert_eq!(ended["disposition"], "answered");
        assert_eq!(ended["side"], "caller");
        assert_eq!(ended["cause"], "BYE");
        assert_eq!(
            (ended["caller"].as_str(), ended["callee"].as_str()),
            (Some(EXT), Some(EXT2))
        );

        // The live list empties.
        events.until("calls", |l| {
            l.iter()
                .any(|c| c["calls"].as_array().is_some_and(|cs| !cs.is_empty()))
                && l.last()
                    .is_some_and(|c| c["calls"].as_array().is_some_and(Vec::is_empty))
        });

        assert!(a.wait(Duration::from_secs(20)), "caller:\n{}", a.explain());
        assert!(b.wait(Duration::from_secs(10)), "callee:\n{}", b.explain());

        // The record of the call (written as the call ends) has the Call-ID the start event
        // named.
        let mut page = Value::Null;
        let found = wait_for(
            || {
                let (status, v) = http(
                    &w,
                    "GET",
                    &format!("/api/v1/call-records?number={EXT2}"),
                    Some(&token),
                    None,
                );
                page = v;
                status == 200 && page["total"] == 1
            },
            Duration::from_secs(10),
        );
        assert!(found, "no call record: {page}");
        assert_eq!(page["items"][0]["call_id"], sip_call_id.as_str(), "{page}");
    }
}
