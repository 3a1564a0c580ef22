//! DTMF end to end: a SIPp caller through the real server presses keys as RFC 4733
//! telephone-events (sent from the test's RTP socket, built here byte by byte), as in-band
//! G.711 tones (synthesized by sox, packetized here), and as SIP INFO
//! `application/dtmf-relay` / `application/dtmf` (from a SIPp scenario); and SIPp itself
//! plays both kinds of key presses from pcap files. Each test checks
//! what an operator sees: the `warden_dtmf_digits_total{source}` counters and the server's
//! `dtmf digit` log lines, which must name exactly the digits sent, in order, with the
//! call's SIP Call-ID and the leg of the party that pressed them.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::support::*;
use crate::harness::{Backend, Sip, Warden, EXT2};

/// One `dtmf digit` log line: (leg, digit, source).
type Logged = (String, char, String);

/// The `dtmf digit` lines of the server log for the call with SIP Call-ID `call_id`.
fn logged_digits(w: &Warden, call_id: &str) -> Vec<Logged> {
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(&format!(" {key}="))? + key.len() + 2;
        let rest = &line[at..];
        let value = rest.split(' ').next().unwrap_or_default();
        Some(value.trim_matches('"').to_string())
    };
    w.log()
        .lines()
        .filter(|l| l.contains("dtmf digit"))
        .filter(|l| field(l, "call_id").as_deref() == Some(call_id))
        .map(|l| {
            (
                field(l, "leg").unwrap_or_default(),
                field(l, "digit")
                    .and_then(|d| d.chars().next())
                    .unwrap_or('?'),
                field(l, "source").unwrap_or_default(),
            )
        })
        .collect()
}

fn expected(digits: &str, leg: &str, source: &str) -> Vec<Logged> {
    digits
        .chars()
        .map(|d| (leg.to_string(), d, source.to_string()))
        .collect()
}

fn digits_counted(w: &Warden, source: &str) -> f64 {
    w.metric(&format!("warden_dtmf_digits_total{{source=\"{source}\"}}"))
}

/// The sum of a per-core media counter over the cores (`name{cpu="…"} value` lines).
fn media_counter(w: &Warden, name: &str) -> f64 {
    let Ok((_, body)) = w.http_get("/metrics") else {
        return 0.0;
    };
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// An RTP packet of the test's caller (one SSRC throughout).
fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    crate::audio::rtp(pt, marker, seq, ts, 0x5EED_D7F0, payload)
}

/// RFC 4733 event code of a keypad character.
fn event_code(c: char) -> u8 {
    match c {
        '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => c as u8 - b'A' + 12,
        _ => panic!("not a DTMF key: {c}"),
    }
}

/// `digits` as a phone sends them (RFC 4733 §2.5), one packet per 20 ms: per key, 20 ms PCMU
/// silence packets, then packets sharing the key's timestamp with a growing duration (the
/// first with the marker bit), then three end packets.
fn rfc4733_packets(digits: &str) -> Vec<Vec<u8>> {
    let (mut seq, mut ts, mut out) = (1000u16, 16_000u32, Vec::new());
    for c in digits.chars() {
        for _ in 0..5 {
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            out.push(rtp_packet(0, false, seq, ts, &[0xff; 160]));
        }
        let event = event_code(c);
        for step in 1..=6u16 {
            seq = seq.wrapping_add(1);
            let duration = (step * 160).to_be_bytes();
            let payload = [event, 10, duration[0], duration[1]];
            out.push(rtp_packet(101, step == 1, seq, ts, &payload));
        }
        for _ in 0..3 {
            seq = seq.wrapping_add(1);
            let payload = [event, 0x80 | 10, 0x03, 0xc0]; // end, 960 ticks = 120 ms
            out.push(rtp_packet(101, false, seq, ts, &payload));
        }
        ts = ts.wrapping_add(960);
    }
    out
}

/// Sends packets 20 ms apart; returns how many.
fn send_paced(sock: &UdpSocket, to: SocketAddr, packets: &[Vec<u8>]) -> usize {
    for p in packets {
        sock.send_to(p, to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    packets.len()
}

/// Sends `digits` as RFC 4733 telephone-events (see [`rfc4733_packets`]).
fn send_rfc4733(sock: &UdpSocket, to: SocketAddr, digits: &str) -> usize {
    send_paced(sock, to, &rfc4733_packets(digits))
}

/// Low and high DTMF frequencies of a key.
fn tones_of(c: char) -> (u32, u32) {
    let code = usize::from(event_code(c));
    let (row, col) = match code {
        1..=9 => ((code - 1) / 3, (code - 1) % 3),
        0 => (3, 1),
        10 => (3, 0),
        11 => (3, 2),
        _ => (code - 12, 3),
    };
    ([697, 770, 852, 941][row], [1209, 1336, 1477, 1633][col])
}

/// µ-law audio of `digits`: 100 ms of each key's two tones (synthesized by sox), 100 ms of
/// silence after each.
fn inband_audio(dir: &Path, digits: &str) -> Vec<u8> {
    let mut audio = vec![0xffu8; 800];
    for (i, c) in digits.chars().enumerate() {
        let (lo, hi) = tones_of(c);
        let file = dir.join(format!("key{i}.ul"));
        let status = Command::new("sox")
            .args([
                "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", "-t", "raw",
            ])
            .arg(&file)
            .args([
                "synth",
                "0.1",
                "sine",
                &lo.to_string(),
                "sine",
                &hi.to_string(),
            ])
            .args(["channels", "1", "gain", "-6"])
            .status()
            .expect("sox runs");
        assert!(status.success(), "sox failed for {c}");
        let tone = std::fs::read(&file).unwrap();
        assert_eq!(tone.len(), 800, "100 ms at 8 kHz");
        audio.extend_from_slice(&tone);
        audio.extend(std::iter::repeat_n(0xffu8, 800));
    }
    audio
}

/// µ-law `audio` as 20 ms PCMU packets.
fn pcmu_packets(audio: &[u8]) -> Vec<Vec<u8>> {
    audio
        .chunks(160)
        .enumerate()
        .map(|(i, frame)| rtp_packet(0, i == 0, 500 + i as u16, 8000 + i as u32 * 160, frame))
        .collect()
}

/// Sends µ-law `audio` as 20 ms PCMU packets.
fn send_pcmu(sock: &UdpSocket, to: SocketAddr, audio: &[u8]) -> usize {
    send_paced(sock, to, &pcmu_packets(audio))
}

fn finish(w: &Warden, caller: &mut Sipp, callee: &mut Sipp) -> String {
    assert!(
        caller.wait(Duration::from_secs(30)),
        "caller:\n{}\n{}",
        caller.explain(),
        w.log()
    );
    assert!(
        callee.wait(Duration::from_secs(10)),
        "callee:\n{}",
        callee.explain()
    );
    records(w, 1)[0].record.call_id.clone()
}

#[test]
fn rfc4733_key_presses_become_dtmf_events_of_the_right_leg() {
    for backend in Backend::all() {
        let w = start("dtmf_rfc4733", backend);
        let setup = CallSetup::new(&w);
        let MediaCall {
            ta,
            tb,
            mut caller,
            mut callee,
            a_ep,
            b_ep,
        } = setup.media_call(&w, "uas_answer.xml", "call_uac.xml", &["-d", "3000"]);
        std::thread::sleep(Duration::from_millis(200));
        let digits = "159#0*";
        send_rfc4733(&ta, a_ep, digits);
        // The callee presses a key too: its leg is b.
        send_rfc4733(&tb, b_ep, "A");
        // A telephone-event too short to read: counted by the core, relayed anyway.
        ta.send_to(&rtp_packet(101, false, 9, 9, &[1, 2]), a_ep)
            .unwrap();
        assert!(
            wait_for(
                || digits_counted(&w, "rfc4733") >= digits.len() as f64 + 1.0,
                Duration::from_secs(5)
            ),
            "digits counted: {}\n{}",
            digits_counted(&w, "rfc4733"),
            w.log()
        );
        // The telephone-events went on to the callee unchanged (payload type 101).
        let mut at_b = Vec::new();
        drain(&tb, &mut at_b);
        let events = at_b.iter().filter(|(_, pt, _)| *pt == 101).count();
        assert!(
            events >= digits.len() * 9 - 3,
            "callee got {events} of {} telephone-event packets",
            digits.len() * 9
        );
        assert!(
            wait_for(
                || media_counter(&w, "warden_media_dtmf_malformed_total") == 1.0
                    && media_counter(&w, "warden_media_dtmf_digits_total")
                        == digits.len() as f64 + 1.0,
                Duration::from_secs(3)
            ),
            "media core counters:\n{}",
            w.http_get("/metrics").unwrap_or_default().1
        );

        let call_id = finish(&w, &mut caller, &mut callee);
        let mut want = expected(digits, "a", "rfc4733");
        want.extend(expected("A", "b", "rfc4733"));
        assert_eq!(logged_digits(&w, &call_id), want);
        assert_eq!(digits_counted(&w, "rfc4733"), digits.len() as f64 + 1.0);
        assert_eq!(digits_counted(&w, "inband"), 0.0);
    }
}

#[test]
fn inband_tones_of_a_caller_without_telephone_event_become_dtmf_events() {
    for backend in Backend::all() {
        let w = start("dtmf_inband", backend);
        let setup = CallSetup::new(&w);
        let audio = inband_audio(&setup.file(""), "7*3D");
        let (ta, tb) = (socket(), socket());
        let mut callee = setup.callee(&w, "uas_answer.xml", tb.local_addr().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_pcmu.xml",
            EXT2,
            Sip::Udp,
            ta.local_addr().unwrap(),
            &["-d", "3000"],
        );
        let a_ep = setup.media_addr("caller.addr", Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(200));
        let sent = send_pcmu(&ta, a_ep, &audio);
        assert!(
            wait_for(
                || digits_counted(&w, "inband") >= 4.0,
                Duration::from_secs(5)
            ),
            "digits counted: {}\n{}",
            digits_counted(&w, "inband"),
            w.log()
        );
        let mut at_b = Vec::new();
        drain(&tb, &mut at_b);
        assert!(
            at_b.iter().filter(|(_, pt, _)| *pt == 0).count() >= sent - 3,
            "the audio went on to the callee"
        );
        assert!(wait_for(
            || media_counter(&w, "warden_media_dtmf_digits_total") == 4.0,
            Duration::from_secs(3)
        ));

        let call_id = finish(&w, &mut caller, &mut callee);
        assert_eq!(logged_digits(&w, &call_id), expected("7*3D", "a", "inband"));
        assert_eq!(digits_counted(&w, "inband"), 4.0);
        assert_eq!(digits_counted(&w, "rfc4733"), 0.0);
    }
}

#[test]
fn sip_info_dtmf_is_relayed_and_becomes_dtmf_events() {
    for backend in Backend::all() {
        let w = start("dtmf_info", backend);
        let setup = CallSetup::new(&w);
        let mut callee = setup.callee(
            &w,
            "uas_answer_info.xml",
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        let mut caller = setup.caller(
            &w,
            "call_uac_info.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        // Both SIPp sides end only if every INFO was relayed and answered 200.
        let call_id = finish(&w, &mut caller, &mut callee);
        let relayed = callee.messages();
        assert!(
            relayed.contains("Signal=hello"),
            "the unreadable body was relayed too"
        );
        assert_eq!(logged_digits(&w, &call_id), expected("1#94", "a", "info"));
        assert_eq!(digits_counted(&w, "info"), 4.0);
        assert_eq!(w.metric("warden_dtmf_info_malformed_total"), 1.0);
    }
}

/// Barge-in: a tone is playing to the caller; the caller presses a key (RFC 4733) and the
/// playback stops at once, reported as stopped, while the digit is still reported.
#[test]
fn a_key_press_stops_the_prompt_playing_to_that_party() {
    for backend in Backend::all() {
        let w = start("dtmf_barge_in", backend);
        let token = admin_token(&w);
        let setup = CallSetup::new(&w);
        let MediaCall {
            ta,
            tb,
            mut caller,
            mut callee,
            a_ep,
            b_ep,
        } = setup.media_call(&w, "uas_answer.xml", "call_uac.xml", &["-d", "4000"]);
        assert!(
            wait_for(
                || live_calls(&w, &token)
                    .iter()
                    .any(|c| c["state"] == "answered"),
                Duration::from_secs(10)
            ),
            "no answered call\n{}",
            w.log()
        );
        let id = live_calls(&w, &token)[0]["id"].as_str().unwrap().to_owned();
        // Both phones send a packet first, so each leg's codec is known to the media plane.
        ta.send_to(&rtp_packet(0, true, 1, 160, &[0xff; 160]), a_ep)
            .unwrap();
        tb.send_to(&rtp_packet(0, true, 1, 160, &[0xff; 160]), b_ep)
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let (status, body) = http(
            &w,
            "POST",
            &format!("/api/v1/calls/{id}/play"),
            Some(&token),
            Some(r#"{"tone_hz": 1000, "duration_ms": 10000, "leg": "caller"}"#),
        );
        assert_eq!(status, 202, "{body}");
        let state = || -> String {
            let (_, body) = http(
                &w,
                "GET",
                &format!("/api/v1/calls/{id}/play"),
                Some(&token),
                None,
            );
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            v.as_array()
                .and_then(|a| a.iter().find(|p| p["leg"] == "caller"))
                .and_then(|p| p["state"].as_str())
                .unwrap_or("")
                .to_owned()
        };
        std::thread::sleep(Duration::from_millis(300));
        let mut at_a = Vec::new();
        drain(&ta, &mut at_a);
        let played = |got: &[(SocketAddr, u8, Vec<u8>)]| {
            got.iter()
                .filter(|(_, pt, p)| *pt == 0 && p.len() == 160)
                .count()
        };
        assert!(played(&at_a) >= 5, "the tone plays to the caller");
        assert_eq!(state(), "playing");

        send_rfc4733(&ta, a_ep, "5");
        assert!(
            wait_for(|| state() == "stopped", Duration::from_secs(2)),
            "state {}\n{}",
            state(),
            w.log()
        );
        std::thread::sleep(Duration::from_millis(100));
        drain(&ta, &mut Vec::new());
        std::thread::sleep(Duration::from_millis(400));
        let mut after = Vec::new();
        drain(&ta, &mut after);
        assert_eq!(played(&after), 0, "nothing plays after the key press");
        assert!(w.log().contains("playback stopped by a key press"));

        let call_id = finish(&w, &mut caller, &mut callee);
        assert_eq!(logged_digits(&w, &call_id), expected("5", "a", "rfc4733"));
    }
}

/// The caller is SIPp itself playing a pcap file once the call is answered: first RFC 4733
/// telephone-events (a caller offering telephone-event), then in-band tones (a caller
/// offering PCMU only). The control plane gets exactly the digits in the files.
#[test]
fn sipp_playing_dtmf_from_pcap_files_is_heard_by_the_control_plane() {
    for backend in Backend::all() {
        let w = start("dtmf_pcap", backend);
        let setup = CallSetup::new(&w);
        let calls = [
            (
                "call_uac_pcap.xml",
                rfc4733_packets("28#"),
                "28#",
                "rfc4733",
            ),
            (
                "call_uac_pcmu_pcap.xml",
                pcmu_packets(&inband_audio(&setup.file(""), "5B")),
                "5B",
                "inband",
            ),
        ];
        for (n, (scenario, packets, digits, source)) in calls.into_iter().enumerate() {
            write_pcap_packets(&setup.file("g711.pcap"), &packets);
            let tb = socket();
            let mut callee = setup.callee(&w, "uas_answer.xml", tb.local_addr().unwrap(), &[]);
            let seconds = packets.len() as u64 * 20 + 1500;
            let mut caller = setup.caller(
                &w,
                scenario,
                EXT2,
                Sip::Udp,
                "127.0.0.1:9".parse().unwrap(),
                &["-d", &seconds.to_string()],
            );
            assert!(
                caller.wait(Duration::from_secs(30)),
                "caller:\n{}\n{}",
                caller.explain(),
                w.log()
            );
            assert!(
                callee.wait(Duration::from_secs(10)),
                "callee:\n{}",
                callee.explain()
            );
            let call_id = records(&w, n + 1)[n].record.call_id.clone();
            assert_eq!(
                logged_digits(&w, &call_id),
                expected(digits, "a", source),
                "{scenario}"
            );
        }
        assert_eq!(digits_counted(&w, "rfc4733"), 3.0);
        assert_eq!(digits_counted(&w, "inband"), 2.0);
    }
}
