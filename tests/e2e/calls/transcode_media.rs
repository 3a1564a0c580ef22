//! Recording and playback on a transcoded call: a SIPp caller offering only PCMU calls a
//! SIPp callee answering only opus/48000/2. The test's sockets play the phones' RTP (a PCMU
//! tone from the caller, an Opus tone from the callee); the recording must hold both parties
//! (the bridge's decoded PCM), and a tone played through the API into the Opus leg must
//! reach the callee's socket as Opus in the bridge's own stream.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::record::answered_call_id;
use super::support::*;
use crate::audio::{power, read_wav, rtp, tone, ulaw_encode};
use crate::harness::{Backend, Sip, Warden, EXT2};

/// The caller offered 0 101; Warden gave opus the first free dynamic type.
const OPUS_PT: u8 = 96;

/// Sends 20 ms from both phones: PCMU `caller_hz` from `ta`, Opus `callee_hz` from `tb`.
struct Phones {
    ta: UdpSocket,
    tb: UdpSocket,
    a_ep: SocketAddr,
    b_ep: SocketAddr,
    enc: opus::Encoder,
    frame: usize,
}

impl Phones {
    fn send(&mut self, caller_hz: f64, callee_hz: f64) {
        let i = self.frame;
        let pcmu: Vec<u8> = tone(8000, caller_hz, i * 160, 160)
            .into_iter()
            .map(ulaw_encode)
            .collect();
        let ts = i as u32;
        self.ta
            .send_to(
                &rtp(0, false, i as u16, ts * 160, 0x1111_1111, &pcmu),
                self.a_ep,
            )
            .unwrap();
        let mut buf = [0u8; 1500];
        let n = self
            .enc
            .encode(&tone(48_000, callee_hz, i * 960, 960), &mut buf)
            .unwrap();
        self.tb
            .send_to(
                &rtp(OPUS_PT, false, i as u16, ts * 960, 0x2222_2222, &buf[..n]),
                self.b_ep,
            )
            .unwrap();
        self.frame += 1;
    }
}

/// Places the transcoded call; returns the SIPp processes, the phones and the setup.
fn transcoded_call(w: &Warden, seconds: u32) -> (Sipp, Sipp, Phones) {
    let setup = CallSetup::new(w);
    let (ta, tb) = (socket(), socket());
    let callee = setup.callee(w, "uas_answer_opus.xml", tb.local_addr().unwrap(), &[]);
    let caller = setup.caller(
        w,
        "call_uac_pcmu_te.xml",
        EXT2,
        Sip::Udp,
        ta.local_addr().unwrap(),
        &["-d", &(seconds * 1000).to_string()],
    );
    let a_ep = setup.media_addr("caller.addr", Duration::from_secs(10));
    let b_ep = setup.media_addr("callee.addr", Duration::from_secs(10));
    let enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let phones = Phones {
        ta,
        tb,
        a_ep,
        b_ep,
        enc,
        frame: 0,
    };
    (caller, callee, phones)
}

/// Sum of a media metric over the cores (`/metrics`).
fn media_metric(w: &Warden, name: &str) -> f64 {
    let Ok((_, body)) = w.http_get("/metrics") else {
        return -1.0;
    };
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn pace(t0: Instant, frame: usize) {
    let next = t0 + Duration::from_millis(20 * frame as u64);
    std::thread::sleep(next.saturating_duration_since(Instant::now()));
}

fn hang_up(w: &Warden, mut caller: Sipp, mut callee: Sipp) {
    assert!(
        caller.wait(Duration::from_secs(20)),
        "caller:\n{}\n{}",
        caller.explain(),
        w.log()
    );
    assert!(
        callee.wait(Duration::from_secs(10)),
        "callee:\n{}",
        callee.explain()
    );
}

#[test]
fn recorded_transcoded_call_holds_the_pcmu_caller_left_and_the_opus_callee_right() {
    for backend in Backend::all() {
        let w = Warden::start("call_xcode_record", backend, "calls:\n  record: all\n").unwrap();
        let (caller, callee, mut phones) = transcoded_call(&w, 4);
        let t0 = Instant::now();
        for i in 0..150 {
            phones.send(440.0, 1000.0);
            pace(t0, i + 1);
        }
        // The core's transcoding counters, while the call is still up (copied every second).
        assert!(
            wait_for(
                || media_metric(&w, "warden_media_transcoding_bridges") == 1.0
                    && media_metric(&w, "warden_media_transcoding_frames_decoded_total") >= 200.0,
                Duration::from_secs(3)
            ),
            "bridges {} decoded {}",
            media_metric(&w, "warden_media_transcoding_bridges"),
            media_metric(&w, "warden_media_transcoding_frames_decoded_total")
        );
        let encoded = media_metric(&w, "warden_media_transcoding_frames_encoded_total");
        assert!(encoded >= 200.0, "{encoded} frames encoded");
        let concealed = media_metric(&w, "warden_media_transcoding_frames_concealed_total");
        assert!(concealed < 50.0, "{concealed} frames concealed on loopback");
        hang_up(&w, caller, callee);
        assert!(
            wait_for(
                || media_metric(&w, "warden_media_transcoding_bridges") == 0.0,
                Duration::from_secs(3)
            ),
            "the bridge is gone after the call"
        );

        let r = records(&w, 1).remove(0).record;
        assert_eq!(r.codec.as_deref(), Some("PCMU<->opus"));
        let path = r
            .recording_path
            .clone()
            .unwrap_or_else(|| panic!("no recording in {r:?}\n{}", w.log()));
        let (channels, samples) = read_wav(Path::new(&path));
        assert_eq!(channels, 2);
        let ms = r.recording_ms.expect("recorded length");
        assert!(ms >= 1500, "recorded {ms} ms\n{}", w.log());
        let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        for (side, x, hz, other) in [
            ("left (PCMU caller)", &left, 440.0, 1000.0),
            ("right (Opus callee)", &right, 1000.0, 440.0),
        ] {
            let at = power(x, 8000, hz);
            for f in [other, 2.0 * hz, 3000.0, 250.0] {
                let p = power(x, 8000, f);
                assert!(
                    at > 20.0 * p,
                    "{side}: {hz} Hz ({at:.3e}) does not dominate {f} Hz ({p:.3e})"
                );
            }
            // Most of the channel holds the tone (not a few frames of it).
            let loud = x.chunks(160).filter(|c| power(c, 8000, hz) > 1e9).count();
            assert!(
                loud * 160 * 10 > x.len() * 7,
                "{side}: {loud} loud frames of {}",
                x.len() / 160
            );
        }
    }
}

#[test]
fn a_tone_played_into_the_opus_leg_is_encoded_by_the_bridge() {
    for backend in Backend::all() {
        let w = start("call_xcode_play", backend);
        let token = admin_token(&w);
        let (caller, callee, mut phones) = transcoded_call(&w, 6);
        let tb = phones.tb.try_clone().unwrap();
        let b_ep = phones.b_ep;
        // (frame index when received, SSRC, Opus payload) of what reaches the callee.
        let mut got: Vec<(usize, u32, Vec<u8>)> = Vec::new();
        let mut buf = [0u8; 2048];
        let t0 = Instant::now();
        let mut played_at = None;
        for i in 0..220 {
            phones.send(440.0, 700.0);
            if i == 60 {
                let id = answered_call_id(&w, &token);
                let (status, body) = http(
                    &w,
                    "POST",
                    &format!("/api/v1/calls/{id}/play"),
                    Some(&token),
                    Some(r#"{"tone_hz": 1000, "duration_ms": 1000, "leg": "callee"}"#),
                );
                assert_eq!(status, 202, "{body}\n{}", w.log());
                played_at = Some((i, id));
            }
            pace(t0, i + 1);
            while let Ok((n, from)) = tb.recv_from(&mut buf) {
                if from == b_ep && n > 12 && buf[1] & 0x7f == OPUS_PT {
                    let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                    got.push((i, ssrc, buf[12..n].to_vec()));
                }
            }
        }
        let (at, id) = played_at.unwrap();
        assert!(
            got.windows(2).all(|w| w[0].1 == w[1].1),
            "the tone is sent in the bridge's one stream"
        );
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut frame = [0i16; 5760];
        let pcm: Vec<(usize, Vec<i16>)> = got
            .iter()
            .map(|(i, _, p)| {
                let n = dec.decode(p, &mut frame, false).unwrap();
                (*i, frame[..n].to_vec())
            })
            .collect();
        let window = |from: usize, to: usize| -> Vec<i16> {
            pcm.iter()
                .filter(|(i, _)| (from..to).contains(i))
                .flat_map(|(_, p)| p.iter().copied())
                .collect()
        };
        // Before: the caller's 440 Hz. During the second of tone: 1000 Hz instead of the
        // caller. After: the caller again.
        for (what, x, hz, other) in [
            ("before", window(30, at), 440.0, 1000.0),
            ("tone", window(at + 8, at + 45), 1000.0, 440.0),
            ("after", window(at + 70, 215), 440.0, 1000.0),
        ] {
            assert!(x.len() > 48_000 / 4, "{what}: {} samples", x.len());
            let (p, q) = (power(&x, 48_000, hz), power(&x, 48_000, other));
            assert!(
                p > 50.0 * q,
                "{what}: {hz} Hz ({p:.3e}) does not dominate {other} Hz ({q:.3e})"
            );
        }
        let (status, body) = http(
            &w,
            "GET",
            &format!("/api/v1/calls/{id}/play"),
            Some(&token),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let callee_play = v
            .as_array()
            .and_then(|a| a.iter().find(|p| p["leg"] == "callee"))
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(callee_play["state"], "finished", "{v}");
        assert_eq!(callee_play["frames"], 50, "{v}");
        hang_up(&w, caller, callee);
    }
}

#[test]
fn with_transcoding_off_a_call_without_a_common_codec_is_refused_with_488() {
    for backend in Backend::all() {
        let w = Warden::start("call_xcode_off", backend, "calls:\n  transcoding: false\n").unwrap();
        let setup = CallSetup::new(&w);
        let tb = socket();
        let mut callee = setup.callee(&w, "uas_answer_opus96.xml", tb.local_addr().unwrap(), &[]);
        let mut caller = setup.caller(
            &w,
            "call_uac_fail.xml",
            EXT2,
            Sip::Udp,
            "127.0.0.1:9".parse().unwrap(),
            &[],
        );
        finish(&mut caller, &mut callee);
        // The callee was offered the caller's codecs only (nothing added to transcode).
        let messages = callee.messages();
        let invite = messages.split("SIP/2.0 180").next().unwrap_or_default();
        assert!(
            invite.contains("m=audio") && !invite.contains("opus"),
            "{invite}"
        );
        assert!(
            caller
                .messages()
                .contains("SIP/2.0 488 Not Acceptable Here"),
            "488 to the caller:\n{}",
            caller.messages()
        );
        let r = records(&w, 1).remove(0).record;
        assert_eq!(r.disposition, warden_storage::Disposition::Failed, "{r:?}");
        assert_eq!(
            media_metric(&w, "warden_media_transcoding_frames_encoded_total"),
            0.0
        );
    }
}
