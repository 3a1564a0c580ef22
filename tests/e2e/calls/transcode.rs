//! Transcoding end to end: a SIPp caller offering only PCMU calls a SIPp callee answering
//! only opus/48000/2 through the real server. The test plays a 1 kHz PCMU tone from the
//! caller's media socket and a 440 Hz Opus tone from the callee's, decodes what each side
//! receives from the media plane (Opus with the `opus` crate, µ-law by hand) and checks the
//! dominant frequency and the level; a DTMF event (RFC 4733) from the caller reaches the
//! callee inside the bridge's Opus stream; the call record names both codecs.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use warden_storage::Disposition;

use super::support::*;
use crate::audio::{power, rtp, tone, ulaw_decode, ulaw_encode, AMPLITUDE};
use crate::harness::Backend;

const FRAMES: usize = 150;

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// What the callee's socket received: (source, payload type, SSRC, payload).
fn drain_with_ssrc(sock: &UdpSocket, into: &mut Vec<(SocketAddr, u8, u32, Vec<u8>)>) {
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        if n >= 12 {
            let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
            into.push((from, buf[1] & 0x7f, ssrc, buf[12..n].to_vec()));
        }
    }
}

/// Checks that `pcm` (at `rate`) is dominated by `freq` and has the level of the tone sent.
fn assert_tone(side: &str, pcm: &[i16], rate: u32, freq: f64, other: f64) {
    let at = power(pcm, rate, freq);
    for f in [other, 2.0 * freq, 3000.0, 250.0] {
        let p = power(pcm, rate, f);
        assert!(
            at > 50.0 * p,
            "{side}: {freq} Hz ({at:.3e}) does not dominate {f} Hz ({p:.3e})"
        );
    }
    let level = rms(pcm) / (AMPLITUDE / 2f64.sqrt());
    assert!(
        (0.5..1.5).contains(&level),
        "{side}: level {level:.2} of the tone sent"
    );
}

#[test]
fn pcmu_caller_and_opus_callee_hear_each_other_through_the_transcoder() {
    for backend in Backend::all() {
        let w = start("call_transcode", backend);
        let setup = CallSetup::new(&w);
        let MediaCall {
            ta,
            tb,
            mut caller,
            mut callee,
            a_ep,
            b_ep,
        } = setup.media_call(
            &w,
            "uas_answer_opus.xml",
            "call_uac_pcmu_te.xml",
            &["-d", "5000"],
        );
        assert_media_plane_addr(&w, a_ep);
        assert_media_plane_addr(&w, b_ep);

        // The caller offered 0 101; Warden added opus as the first free dynamic type.
        let opus_pt = 96;
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut opus_buf = [0u8; 1500];
        let (mut at_a, mut at_b) = (Vec::new(), Vec::new());
        let t0 = Instant::now();
        for i in 0..FRAMES {
            let pcmu: Vec<u8> = tone(8000, 1000.0, i * 160, 160)
                .into_iter()
                .map(ulaw_encode)
                .collect();
            let ts = i as u32;
            // Digit 5 for 60 ms in the middle (RFC 4733: marker first, end bit last).
            let seq = i as u16 + if i > 60 { 4 } else { 0 };
            ta.send_to(&rtp(0, false, seq, ts * 160, 0x1111_1111, &pcmu), a_ep)
                .unwrap();
            if i == 60 {
                for k in 0..4u16 {
                    let end = if k == 3 { 0x8a } else { 0x0a };
                    let dur = (160 * (k + 1)).min(480).to_be_bytes();
                    let pt = if k == 0 { 0x80 | 101 } else { 101 };
                    ta.send_to(
                        &rtp(
                            pt,
                            false,
                            seq + 1 + k,
                            ts * 160,
                            0x1111_1111,
                            &[5, end, dur[0], dur[1]],
                        ),
                        a_ep,
                    )
                    .unwrap();
                }
            }
            let n = enc
                .encode(&tone(48_000, 440.0, i * 960, 960), &mut opus_buf)
                .unwrap();
            tb.send_to(
                &rtp(
                    opus_pt,
                    false,
                    i as u16,
                    ts * 960,
                    0x2222_2222,
                    &opus_buf[..n],
                ),
                b_ep,
            )
            .unwrap();
            let next = t0 + Duration::from_millis(20 * (i as u64 + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            drain(&ta, &mut at_a);
            drain_with_ssrc(&tb, &mut at_b);
        }
        std::thread::sleep(Duration::from_millis(300));
        drain(&ta, &mut at_a);
        drain_with_ssrc(&tb, &mut at_b);

        let only = |got: &[(SocketAddr, u8, Vec<u8>)], from: SocketAddr, pt: u8| {
            got.iter()
                .filter(|(src, p, _)| *src == from && *p == pt)
                .map(|(_, _, payload)| payload.clone())
                .collect::<Vec<_>>()
        };
        // The callee gets Opus from its endpoint, carrying the caller's 1 kHz, and the
        // caller's digit in the same stream (same SSRC, telephone-event 101).
        let ssrcs: Vec<u32> = at_b
            .iter()
            .filter(|(src, pt, _, _)| *src == b_ep && *pt == opus_pt)
            .map(|(_, _, ssrc, _)| *ssrc)
            .collect();
        assert!(
            ssrcs.windows(2).all(|w| w[0] == w[1]),
            "one SSRC from the bridge"
        );
        let events: Vec<_> = at_b
            .iter()
            .filter(|(src, pt, _, _)| *src == b_ep && *pt == 101)
            .collect();
        assert_eq!(events.len(), 4, "the four event packets reach the callee");
        assert!(events
            .iter()
            .all(|(_, _, ssrc, p)| Some(ssrc) == ssrcs.first() && p[0] == 5));
        assert_eq!(events[3].3[1] & 0x80, 0x80, "the end bit is kept");
        let at_b: Vec<(SocketAddr, u8, Vec<u8>)> = at_b
            .into_iter()
            .map(|(src, pt, _, p)| (src, pt, p))
            .collect();
        let opus_in = only(&at_b, b_ep, opus_pt);
        assert!(
            opus_in.len() >= FRAMES - 20,
            "callee got {} Opus packets of {FRAMES} (all: {})\n{}",
            opus_in.len(),
            at_b.len(),
            w.log()
        );
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = Vec::new();
        let mut frame = [0i16; 5760];
        for p in &opus_in {
            let n = dec.decode(p, &mut frame, false).unwrap();
            pcm.extend_from_slice(&frame[..n]);
        }
        // Skip the jitter buffer's start and the codecs' ramp-up.
        assert_tone("callee", &pcm[48_000 / 4..], 48_000, 1000.0, 440.0);

        // The caller gets PCMU from its endpoint, carrying the callee's 440 Hz.
        let pcmu_in = only(&at_a, a_ep, 0);
        assert!(
            pcmu_in.len() >= FRAMES - 20,
            "caller got {} PCMU packets of {FRAMES}",
            pcmu_in.len()
        );
        assert!(pcmu_in.iter().all(|p| p.len() == 160), "20 ms of PCMU each");
        let pcm: Vec<i16> = pcmu_in.concat().into_iter().map(ulaw_decode).collect();
        assert_tone("caller", &pcm[8000 / 4..], 8000, 440.0, 1000.0);

        finish(&mut caller, &mut callee);
        // Each phone only ever saw its own codec in what Warden sent it.
        assert!(
            !caller.messages().contains("opus"),
            "the caller is answered with PCMU only"
        );
        assert!(callee.messages().contains("a=rtpmap:96 opus/48000/2"));

        let recs = records(&w, 1);
        let r = &recs[0].record;
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.codec.as_deref(), Some("PCMU<->opus"));
        for (side, q) in [("caller", r.caller_quality), ("callee", r.callee_quality)] {
            let q = q.unwrap_or_else(|| panic!("no {side} quality in {r:?}"));
            assert!(q.loss_pct < 5.0, "{side}: {q:?}");
        }
    }
}
