//! Voicemail end to end: 1002 has a box and answers busy; the caller (1001, SIPp with the
//! test's own RTP socket) is answered by Warden, hears the greeting and the beep from the
//! media plane, says 440 Hz for 3 s and hangs up. The message is stored with a WAV of the
//! caller's audio, which the `user` of 1002 lists and downloads; another user gets 403. A
//! second caller ends its message with `#` and is hung up on.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::audio::{dominant, pcmu_tone_packet, power, ulaw_decode, wav_samples};
use crate::harness::{Backend, Warden, EXT, EXT2, SECRET2};

/// `#` as a phone sends it in RFC 4733 (payload type 101, as offered by call_uac*.xml):
/// packets every 20 ms with a growing duration, then three end packets.
fn send_hash(sock: &UdpSocket, to: SocketAddr, ssrc: u32, mut seq: u16) {
    let ts = u32::from(seq) * 160;
    let mut send = |marker: bool, payload: [u8; 4]| {
        let mut p = vec![0x80, 101 | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&payload);
        sock.send_to(&p, to).unwrap();
        seq = seq.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(20));
    };
    for step in 1..=6u16 {
        let d = (step * 160).to_be_bytes();
        send(step == 1, [11, 10, d[0], d[1]]);
    }
    for _ in 0..3 {
        send(false, [11, 0x80 | 10, 0x03, 0xc0]);
    }
}

/// A GET returning status, Content-Type and the raw body (Connection: close).
fn download(w: &Warden, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", w.api_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, content_type, raw[split + 4..].to_vec())
}

/// 20 ms RTP packets received on `sock` until `quiet` passes without one (after at least
/// one arrived) or `within` ends: (source, payload type, payload).
fn receive_until_quiet(
    sock: &UdpSocket,
    quiet: Duration,
    within: Duration,
) -> Vec<(SocketAddr, u8, Vec<u8>)> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + within;
    let mut last = Instant::now();
    while Instant::now() < deadline {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if n == 12 + 160 => {
                got.push((from, buf[1] & 0x7f, buf[12..n].to_vec()));
                last = Instant::now();
            }
            _ => {
                if !got.is_empty() && last.elapsed() >= quiet {
                    break;
                }
            }
        }
    }
    got
}

fn create_user(w: &Warden, admin: &str, name: &str, ext: &str) -> String {
    let (status, v) = http(
        w,
        "POST",
        "/api/v1/users",
        Some(admin),
        Some(&format!(
            "{{\"username\":\"{name}\",\"password\":\"{name}-password\",\"role\":\"user\",\"extension\":\"{ext}\"}}"
        )),
    );
    assert_eq!(status, 201, "{v}");
    login(w, name, &format!("{name}-password"))
}

#[test]
fn busy_callee_with_voicemail_takes_a_message_the_user_downloads() {
    for backend in Backend::all() {
        let mut w = Warden::start("live_voicemail", backend, "").unwrap();
        let made = std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-prompts.sh"),
        )
        .arg(w.dir.path().join("prompts"))
        .output()
        .unwrap();
        assert!(made.status.success(), "{made:?}");
        w.restart().unwrap();
        let admin = admin_token(&w);
        let bob = create_user(&w, &admin, "bob", EXT2);
        let alice = create_user(&w, &admin, "alice", EXT);

        // Bob turns his voicemail on.
        let own = format!("/api/v1/extensions/{EXT2}/voicemail");
        let (status, v) = http(
            &w,
            "PUT",
            &own,
            Some(&bob),
            Some("{\"enabled\":true,\"max_message_secs\":60}"),
        );
        assert_eq!((status, v["enabled"].as_bool()), (200, Some(true)), "{v}");

        // 1002 answers busy; the caller is answered by voicemail.
        let port2 = register(&w, EXT2, SECRET2);
        let files = MediaFiles::new();
        let args = media_args("127.0.0.1:9".parse().unwrap(), files.file("callee.addr"));
        let mut bobs_phone = Phone::spawn(&w, "uas_busy.xml", port2, false, &args);
        std::thread::sleep(Duration::from_millis(300));
        let ta = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut a = caller(
            &w,
            &files,
            "call_uac.xml",
            EXT2,
            ta.local_addr().unwrap(),
            &["-d", "9000"],
        );
        let a_ep = files.addr("caller.addr", Duration::from_secs(10));
        let answered = Instant::now();

        // The greeting and the beep, from the media plane's endpoint, not silent.
        let heard = receive_until_quiet(&ta, Duration::from_millis(400), Duration::from_secs(8));
        let greeting_ms = answered.elapsed().as_millis();
        assert!(
            heard.len() >= 75,
            "greeting and beep: {} packets\n{}",
            heard.len(),
            w.log()
        );
        assert!(heard.iter().all(|(from, pt, _)| *from == a_ep && *pt == 0));
        let pcm: Vec<i16> = heard
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|b| ulaw_decode(*b)))
            .collect();
        let rms =
            (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt();
        assert!(rms > 300.0, "the greeting is not silent: rms {rms:.0}");
        let beep: Vec<i16> = heard[heard.len() - 15..]
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|b| ulaw_decode(*b)))
            .collect();
        assert_eq!(dominant(&beep), 1000.0, "the greeting ends with the beep");
        println!(
            "voicemail greeting: {} packets, rms {rms:.0}, quiet {greeting_ms} ms after the answer",
            heard.len()
        );

        // The caller speaks 440 Hz for 3 s, then hangs up.
        let start = Instant::now();
        for seq in 0..150u16 {
            ta.send_to(&pcmu_tone_packet(seq, 0xCA11, 440.0), a_ep)
                .unwrap();
            let next = start + Duration::from_millis(20 * (u64::from(seq) + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        assert!(
            a.wait(Duration::from_secs(20)),
            "caller:\n{}\n{}",
            a.explain(),
            w.log()
        );
        assert!(
            bobs_phone.wait(Duration::from_secs(10)),
            "1002 answered busy:\n{}",
            bobs_phone.explain()
        );

        // Bob lists the message and downloads it; Alice may not.
        let list = format!("/api/v1/extensions/{EXT2}/voicemail/messages");
        let mut msgs = Value::Null;
        assert!(
            wait_for(
                || {
                    msgs = http(&w, "GET", &list, Some(&bob), None).1;
                    msgs.as_array().is_some_and(|a| a.len() == 1)
                },
                Duration::from_secs(10)
            ),
            "messages: {msgs}\n{}",
            w.log()
        );
        let m = &msgs[0];
        assert_eq!(
            (m["caller"].as_str(), m["heard"].as_bool()),
            (Some(EXT), Some(false)),
            "{m}"
        );
        let duration = m["duration_ms"].as_u64().unwrap_or(0);
        assert!((2_800..=8_000).contains(&duration), "{m}");
        let id = m["id"].as_i64().unwrap();
        let audio = format!("{list}/{id}/audio");
        let (status, ctype, body) = download(&w, &audio, &bob);
        assert_eq!((status, ctype.as_str()), (200, "audio/wav"));
        let (channels, samples) = wav_samples(&body);
        assert_eq!(channels, 1, "mono, the caller only");
        assert_eq!(samples.len() as u64 / 8, duration, "length as stored");
        assert_eq!(dominant(&samples), 440.0, "what the caller said");
        assert!(
            power(&samples, 8000, 440.0) > 20.0 * power(&samples, 8000, 1000.0),
            "no beep in it"
        );
        assert_eq!(http(&w, "GET", &list, Some(&alice), None).0, 403);
        assert_eq!(download(&w, &audio, &alice).0, 403);

        // The call record: answered by voicemail, hung up by the caller.
        let mut page = Value::Null;
        assert!(wait_for(
            || {
                page = http(&w, "GET", "/api/v1/call-records", Some(&admin), None).1;
                page["total"] == 1
            },
            Duration::from_secs(10)
        ));
        let r = &page["items"][0];
        assert_eq!(
            (r["callee"].as_str(), r["disposition"].as_str()),
            (Some(EXT2), Some("answered")),
            "{r}"
        );
        assert_eq!(
            r["hangup_cause"], "voicemail, BYE (voicemail on busy)",
            "{r}"
        );

        // A second caller ends its message with # (RFC 4733): Warden hangs up.
        let files = MediaFiles::new();
        let args = media_args("127.0.0.1:9".parse().unwrap(), files.file("callee.addr"));
        let mut bobs_phone = Phone::spawn(&w, "uas_busy.xml", port2, false, &args);
        std::thread::sleep(Duration::from_millis(300));
        let ta = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut a = caller(
            &w,
            &files,
            "call_uac_wait_bye.xml",
            EXT2,
            ta.local_addr().unwrap(),
            &[],
        );
        let a_ep = files.addr("caller.addr", Duration::from_secs(10));
        let heard = receive_until_quiet(&ta, Duration::from_millis(400), Duration::from_secs(8));
        assert!(heard.len() >= 75, "greeting: {} packets", heard.len());
        let start = Instant::now();
        for seq in 0..75u16 {
            ta.send_to(&pcmu_tone_packet(seq, 0xCA12, 440.0), a_ep)
                .unwrap();
            let next = start + Duration::from_millis(20 * (u64::from(seq) + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        let pressed = Instant::now();
        send_hash(&ta, a_ep, 0xCA12, 75);
        assert!(
            a.wait(Duration::from_secs(15)),
            "the caller got Warden's BYE:\n{}\n{}",
            a.explain(),
            w.log()
        );
        println!("voicemail: BYE {:?} after # was pressed", pressed.elapsed());
        assert!(bobs_phone.wait(Duration::from_secs(10)));
        assert!(
            wait_for(
                || {
                    msgs = http(&w, "GET", &list, Some(&bob), None).1;
                    msgs.as_array().is_some_and(|a| a.len() == 2)
                },
                Duration::from_secs(10)
            ),
            "messages: {msgs}\n{}",
            w.log()
        );
        let newest = msgs[0]["duration_ms"].as_u64().unwrap_or(0);
        assert!((1_300..=3_500).contains(&newest), "{msgs}");
        assert!(wait_for(
            || {
                page = http(&w, "GET", "/api/v1/call-records", Some(&admin), None).1;
                page["total"] == 2
            },
            Duration::from_secs(10)
        ));
        let r = &page["items"][0];
        assert_eq!(
            (r["hangup_cause"].as_str(), r["hangup_side"].as_str()),
            (
                Some("voicemail, message ended by key press (voicemail on busy)"),
                Some("system")
            ),
            "{r}"
        );
    }
}
