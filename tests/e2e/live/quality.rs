//! Per-leg media quality of live calls: real RTP through a call, read back from
//! `GET /api/v1/calls` while the call is up.

use std::net::UdpSocket;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::harness::{Backend, Warden, EXT, EXT2, SECRET2};

/// The quality of each leg of the first live call, once every leg has some.
fn leg_qualities(w: &Warden, token: &str) -> Option<Vec<Value>> {
    let calls = live_calls(w, token);
    let legs = calls.first()?["legs"].as_array()?.clone();
    let q: Vec<Value> = legs.iter().map(|l| l["quality"].clone()).collect();
    (q.len() == 2
        && q.iter()
            .all(|q| q["packets_received"].as_u64().is_some_and(|n| n >= 100)))
    .then_some(q)
}

#[test]
fn live_calls_list_per_leg_rtp_quality() {
    for backend in Backend::all() {
        let w = Warden::start("live_call_quality", backend, "").unwrap();
        let token = admin_token(&w);
        let files = MediaFiles::new();
        let port = register(&w, EXT2, SECRET2);
        let ta = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tb = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut b = callee(&w, &files, port, tb.local_addr().unwrap());
        let mut a = caller(
            &w,
            &files,
            "call_uac.xml",
            EXT2,
            ta.local_addr().unwrap(),
            &["-d", "10000"],
        );
        let a_ep = files.addr("caller.addr", Duration::from_secs(10));
        let b_ep = files.addr("callee.addr", Duration::from_secs(10));

        // Both phones send a clean 20 ms PCMU stream for 9 s (the media plane reports
        // statistics every 5 s).
        let sender = std::thread::spawn(move || {
            for seq in 0..450u16 {
                let _ = ta.send_to(&rtp(seq, 0x1111_1111, b"A2B"), a_ep);
                let _ = tb.send_to(&rtp(seq, 0x2222_2222, b"B2A"), b_ep);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut seen = None;
        assert!(
            wait_for(
                || {
                    seen = leg_qualities(&w, &token);
                    seen.is_some()
                },
                Duration::from_secs(9)
            ),
            "no per-leg quality in the live calls: {:?}\n{}",
            live_calls(&w, &token),
            w.log()
        );
        let call = live_calls(&w, &token).remove(0);
        assert_eq!(call["legs"][0]["party"], EXT, "caller's leg first: {call}");
        for q in seen.unwrap() {
            eprintln!("{:?}: leg quality {q}", w.backend);
            assert_eq!(q["packets_lost"], 0, "{q}");
            assert_eq!(q["loss_pct"], 0.0, "{q}");
            assert!(q["packets_sent"].as_u64().is_some_and(|n| n >= 100), "{q}");
            let jitter = q["jitter_ms"].as_f64().unwrap();
            assert!(
                (0.0..20.0).contains(&jitter),
                "jitter {jitter} ms on loopback: {q}"
            );
            let mos = q["mos"].as_f64().unwrap();
            assert!(
                (4.0..=4.5).contains(&mos),
                "MOS {mos} of a clean G.711 stream: {q}"
            );
        }
        sender.join().unwrap();
        assert!(a.wait(Duration::from_secs(20)), "caller:\n{}", a.explain());
        assert!(b.wait(Duration::from_secs(10)), "callee:\n{}", b.explain());
    }
}
