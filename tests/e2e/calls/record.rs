//! Call recording and prompt playback end to end: SIPp places the call through the real
//! server, the test's own sockets play the phones' RTP (G.711 tones), and the WAV file, the
//! call record and the RTP a leg receives are checked, on SQLite and PostgreSQL.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::*;
use crate::audio::{dominant, power, read_wav, rtp, ulaw_decode};
use crate::harness::{Backend, Warden};

/// A short PCMU packet (10 samples of silence).
fn keepalive_packet(seq: u16, ssrc: u32) -> Vec<u8> {
    rtp(0, false, seq, u32::from(seq) * 160, ssrc, &[0xff; 10])
}

/// RTP received on `sock` within `within`: (arrival, source, payload type, payload).
fn receive(sock: &UdpSocket, within: Duration) -> Vec<(Instant, SocketAddr, u8, Vec<u8>)> {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            // 20 ms of G.711; the keep-alive packets of the other phone are shorter.
            if n == 12 + 160 {
                got.push((Instant::now(), from, buf[1] & 0x7f, buf[12..n].to_vec()));
            }
        }
    }
    got
}

pub(super) fn answered_call_id(w: &Warden, token: &str) -> String {
    assert!(
        wait_for(
            || live_calls(w, token)
                .iter()
                .any(|c| c["state"] == "answered"),
            Duration::from_secs(10)
        ),
        "no answered call\n{}",
        w.log()
    );
    live_calls(w, token)[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn recorded_call_has_the_caller_left_and_the_callee_right() {
    for backend in Backend::all() {
        let w = Warden::start("call_record", backend, "calls:\n  record: all\n").unwrap();
        let setup = CallSetup::new(&w);
        let MediaCall {
            ta,
            tb,
            mut caller,
            mut callee,
            a_ep,
            b_ep,
        } = setup.media_call(&w, "uas_answer.xml", "call_uac.xml", &["-d", "3500"]);
        // The caller says 440 Hz, the callee 1000 Hz, both at once, for 2.4 s.
        let start = Instant::now();
        for seq in 0..120u16 {
            ta.send_to(&crate::audio::pcmu_tone_packet(seq, 0xCA11, 440.0), a_ep)
                .unwrap();
            tb.send_to(&crate::audio::pcmu_tone_packet(seq, 0xCA1E, 1000.0), b_ep)
                .unwrap();
            let next = start + Duration::from_millis(20 * (u64::from(seq) + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        finish(&mut caller, &mut callee);

        let r = records(&w, 1).remove(0).record;
        let path = r
            .recording_path
            .clone()
            .unwrap_or_else(|| panic!("no recording in {r:?}\n{}", w.log()));
        assert!(
            Path::new(&path).starts_with(w.dir.path().join("recordings")),
            "{path} is under <data_dir>/recordings"
        );
        let ms = r.recording_ms.expect("recorded length");
        assert!(
            (1500..=r.billable_ms + 200).contains(&ms),
            "recorded {ms} ms of a {} ms call",
            r.billable_ms
        );
        let (channels, samples) = read_wav(Path::new(&path));
        assert_eq!(channels, 2, "stereo by default");
        assert_eq!(samples.len() as u64 / 16, ms, "length matches the record");
        let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(dominant(&left), 440.0, "caller on the left");
        assert_eq!(dominant(&right), 1000.0, "callee on the right");
        // Not a mix: each channel holds one party.
        assert!(power(&left, 8000, 440.0) > 20.0 * power(&left, 8000, 1000.0));
        assert!(power(&right, 8000, 1000.0) > 20.0 * power(&right, 8000, 440.0));

        // The API shows the recording in the call history and the CSV export.
        let token = admin_token(&w);
        let (status, body) = http(&w, "GET", "/api/v1/call-records", Some(&token), None);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["items"][0]["recording_path"], path.as_str());
        assert_eq!(v["items"][0]["recorded"], true);
    }
}

#[test]
fn api_plays_prompts_and_tones_into_a_leg_and_records_on_request() {
    for backend in Backend::all() {
        let mut w = Warden::start("call_play", backend, "").unwrap();
        // The default prompt set, loaded at start from <data_dir>/prompts.
        let made = std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-prompts.sh"),
        )
        .arg(w.dir.path().join("prompts"))
        .output()
        .unwrap();
        assert!(made.status.success(), "{made:?}");
        w.restart().unwrap();
        let token = admin_token(&w);
        let setup = CallSetup::new(&w);
        let MediaCall {
            ta,
            tb,
            mut caller,
            mut callee,
            a_ep,
            b_ep,
        } = setup.media_call(&w, "uas_answer.xml", "call_uac.xml", &["-d", "8000"]);
        let id = answered_call_id(&w, &token);
        // Both phones send short PCMU packets now and then (no RTP timeout, and the leg's
        // codec is known); they are told apart from played audio by their length.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let keepalive = {
            let (ta, tb, stop) = (
                ta.try_clone().unwrap(),
                tb.try_clone().unwrap(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let mut seq = 0u16;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = ta.send_to(&keepalive_packet(seq, 0xA), a_ep);
                    let _ = tb.send_to(&keepalive_packet(seq, 0xB), b_ep);
                    seq = seq.wrapping_add(1);
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };
        std::thread::sleep(Duration::from_millis(100));

        // A 1000 Hz tone for one second into the callee's leg.
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play"),
            Some(&token),
            Some(r#"{"tone_hz": 1000, "duration_ms": 1000, "leg": "callee"}"#),
        );
        assert_eq!(status, 202, "{body}");
        let got = receive(&tb, Duration::from_millis(2500));
        assert_eq!(got.len(), 50, "one packet per 20 ms for 1 s\n{}", w.log());
        assert!(got
            .iter()
            .all(|(_, src, pt, p)| *src == b_ep && *pt == 0 && p.len() == 160));
        let pcm: Vec<i16> = got
            .iter()
            .flat_map(|(_, _, _, p)| p.iter().map(|b| ulaw_decode(*b)))
            .collect();
        assert_eq!(dominant(&pcm), 1000.0);
        // Paced, not sent in a burst: 49 intervals of 20 ms (980 ms). The upper bound leaves
        // room for a machine busy with other tests; a burst would take a few milliseconds.
        let span = got[49].0.duration_since(got[0].0).as_secs_f64() * 1000.0;
        assert!(
            (900.0..=1500.0).contains(&span),
            "49 intervals of 20 ms took {span:.0} ms"
        );
        // The completion event reached the control plane.
        let status_of = |leg: &str| -> Value {
            let (status, body) = http(
                &w,
                "GET",
                &format!("/api/v1/calls/{id}/play"),
                Some(&token),
                None,
            );
            assert_eq!(status, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .find(|p| p["leg"] == leg)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert!(
            wait_for(
                || status_of("callee")["state"] == "finished",
                Duration::from_secs(2)
            ),
            "{:?}",
            status_of("callee")
        );
        assert_eq!(status_of("callee")["frames"], 50);

        // A spoken prompt, stopped after a few packets as a digit would stop it.
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play"),
            Some(&token),
            Some(r#"{"prompt": "goodbye", "leg": "callee"}"#),
        );
        assert_eq!(status, 202, "{body}");
        let first = receive(&tb, Duration::from_millis(200));
        assert!(first.len() >= 5, "the prompt plays: {}", first.len());
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play/stop"),
            Some(&token),
            Some(r#"{"leg": "callee"}"#),
        );
        assert_eq!(status, 204, "{body}");
        assert!(wait_for(
            || status_of("callee")["state"] == "stopped",
            Duration::from_secs(2)
        ));
        let _ = receive(&tb, Duration::from_millis(100));
        assert!(
            receive(&tb, Duration::from_millis(300)).is_empty(),
            "nothing more after the stop"
        );
        let (status, _) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play/stop"),
            Some(&token),
            Some(r#"{"leg": "callee"}"#),
        );
        assert_eq!(status, 409, "nothing left to stop");
        let (status, _) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play"),
            Some(&token),
            Some(r#"{"prompt": "no-such-prompt", "leg": "caller"}"#),
        );
        assert_eq!(status, 409, "unknown prompt");

        // Recording on request, mixed to one channel; a second request is refused.
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/record"),
            Some(&token),
            Some(r#"{"mode": "mono"}"#),
        );
        assert_eq!(status, 200, "{body}");
        let recording: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(recording["mode"], "mono");
        let (status, _) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/record"),
            Some(&token),
            None,
        );
        assert_eq!(status, 409, "already recorded");

        let hung_up = caller.wait(Duration::from_secs(20));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        keepalive.join().unwrap();
        assert!(hung_up, "caller:\n{}", caller.explain());
        assert!(
            callee.wait(Duration::from_secs(10)),
            "callee:\n{}",
            callee.explain()
        );
        let r = &records(&w, 1)[0].record;
        assert_eq!(r.hangup_cause.as_deref(), Some("BYE"), "{r:?}");
        let path = r.recording_path.clone().expect("recorded through the API");
        assert_eq!(Some(path.as_str()), recording["path"].as_str());
        let (channels, samples) = read_wav(Path::new(&path));
        assert_eq!(channels, 1, "mono as asked");
        assert_eq!(Some(samples.len() as u64 / 8), r.recording_ms);
    }
}
