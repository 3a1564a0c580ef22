//! The media plane on loopback recording a bridged call to WAV and playing tones and
//! prompts into an endpoint, with real UDP "phones".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::time::timeout;
use warden_dsp::{Codec, CodecParams, ToneGenerator, ToneSpec, Wav};
use warden_media::{
    recording_file_name, EngineConfig, ErrorCode, MediaError, MediaEvent, MediaPlane, PromptName,
    RecordMode, RemoteSpec,
};

fn config(ports: (u16, u16), dir: &std::path::Path) -> EngineConfig {
    let mut cfg = support::config(ports);
    cfg.recording_dir = dir.join("recordings");
    cfg.prompts_dir = Some(dir.join("prompts"));
    cfg
}

fn goertzel(x: &[i16], rate: f64, f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - c * s1 * s2
}

/// The strongest of the candidate frequencies in `x`.
fn dominant(x: &[i16], candidates: &[f64]) -> f64 {
    candidates
        .iter()
        .copied()
        .max_by(|a, b| goertzel(x, 8000.0, *a).total_cmp(&goertzel(x, 8000.0, *b)))
        .unwrap()
}

const CANDIDATES: [f64; 6] = [300.0, 440.0, 700.0, 1000.0, 1400.0, 2000.0];

/// Sends `secs` of a PCMU tone from `sock` to `to`, paced at 20 ms.
async fn send_tone(sock: &UdpSocket, to: SocketAddr, hz: f64, ssrc: u32, frames: u16) {
    let mut tone = ToneGenerator::new(
        ToneSpec {
            freqs: [hz, 0.0],
            level_dbm0: -10.0,
            cadence: [(0, 0); 4],
            repeat: true,
        },
        8000,
    )
    .unwrap();
    let mut codec = Codec::new(CodecParams::pcmu()).unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for seq in 0..frames {
        tick.tick().await;
        let mut pcm = [0i16; 160];
        tone.next_frame(&mut pcm);
        let mut pkt = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        pkt[2..4].copy_from_slice(&seq.to_be_bytes());
        pkt[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        pkt[8..12].copy_from_slice(&ssrc.to_be_bytes());
        let mut payload = [0u8; 160];
        let n = codec.encode(&pcm, &mut payload).unwrap();
        pkt.extend_from_slice(&payload[..n]);
        sock.send_to(&pkt, to).await.unwrap();
    }
}

async fn next_event(
    events: &mut broadcast::Receiver<MediaEvent>,
    wait: Duration,
    want: impl Fn(&MediaEvent) -> bool,
) -> Option<MediaEvent> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match timeout(left, events.recv()).await {
            Ok(Ok(ev)) if want(&ev) => return Some(ev),
            Ok(Ok(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_call_is_recorded_in_stereo_caller_left_callee_right() {
    let dir = tempfile::tempdir().unwrap();
    let plane = MediaPlane::start(config((41400, 41419), dir.path())).unwrap();
    let mut events = plane.subscribe();
    let (a, b, alice, bob) = support::bridged(&plane).await;
    plane
        .start_recording(a.id, b.id, 77, RecordMode::Stereo)
        .await
        .unwrap();
    assert!(matches!(
        plane
            .start_recording(b.id, a.id, 78, RecordMode::Mono)
            .await,
        Err(MediaError::Refused(ErrorCode::AlreadyRecording))
    ));

    // 2 s of 440 Hz from the caller and 1000 Hz from the callee, at the same time.
    tokio::join!(
        send_tone(&alice, a.rtp, 440.0, 0xA, 100),
        send_tone(&bob, b.rtp, 1000.0, 0xB, 100)
    );
    // Destroying a leg ends the recording (as at call end).
    plane.destroy(a.id).await.unwrap();
    let done = next_event(&mut events, Duration::from_secs(3), |e| {
        matches!(e, MediaEvent::RecordingDone { .. })
    })
    .await
    .expect("recording closed");
    let MediaEvent::RecordingDone {
        id,
        data_bytes,
        failed,
        ..
    } = done
    else {
        unreachable!()
    };
    assert_eq!((id, failed), (77, false));
    let bytes = std::fs::read(dir.path().join("recordings").join(recording_file_name(77))).unwrap();
    let wav = Wav::parse(&bytes).unwrap();
    assert_eq!(wav.format().channels, 2);
    assert_eq!(wav.format().sample_rate, 8000);
    assert_eq!(bytes.len() as u64, 44 + data_bytes, "header sizes patched");
    // About 2 s (the jitter buffer delays the start by a few frames).
    assert!(
        (1.6..=2.6).contains(&(wav.duration_ms() as f64 / 1000.0)),
        "{}",
        wav.duration_ms()
    );
    let samples: Vec<i16> = wav.samples().collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(dominant(&left, &CANDIDATES), 440.0);
    assert_eq!(dominant(&right, &CANDIDATES), 1000.0);
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_and_prompts_play_paced_and_stop_on_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
    // A 16 kHz, 700 Hz prompt of 0.6 s.
    let mut tone = ToneGenerator::new(
        ToneSpec {
            freqs: [700.0, 0.0],
            level_dbm0: -10.0,
            cadence: [(0, 0); 4],
            repeat: true,
        },
        16000,
    )
    .unwrap();
    let mut pcm = vec![0i16; 9600];
    tone.next_frame(&mut pcm);
    let mut w = warden_dsp::WavWriter::new(
        std::fs::File::create(dir.path().join("prompts/hello.wav")).unwrap(),
        warden_dsp::WavFormat::mono(16000),
    )
    .unwrap();
    w.write_samples(&pcm).unwrap();
    w.finish().unwrap();

    let plane = MediaPlane::start(config((41420, 41439), dir.path())).unwrap();
    let mut events = plane.subscribe();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    plane
        .set_remote(a.id, RemoteSpec::new(phone.local_addr().unwrap()))
        .await
        .unwrap();

    // A 1000 Hz tone for 400 ms: 20 packets, 20 ms apart, then a completion event.
    plane.play_tone(a.id, [1000, 0], 400).await.unwrap();
    let mut decoder = Codec::new(CodecParams::pcmu()).unwrap();
    let mut audio = Vec::new();
    let mut arrivals = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok((n, from))) =
        timeout(Duration::from_millis(300), phone.recv_from(&mut buf)).await
    {
        assert_eq!(from, a.rtp);
        assert_eq!(buf[1] & 0x7f, 0, "PCMU by default");
        arrivals.push(Instant::now());
        let mut out = [0i16; 160];
        decoder.decode(&buf[12..n], &mut out).unwrap();
        audio.extend_from_slice(&out);
    }
    assert_eq!(arrivals.len(), 20);
    assert_eq!(dominant(&audio, &CANDIDATES), 1000.0);
    let span = arrivals[19].duration_since(arrivals[0]).as_secs_f64() * 1000.0;
    assert!(
        (340.0..=700.0).contains(&span),
        "19 intervals of 20 ms took {span} ms"
    );
    let done = next_event(&mut events, Duration::from_secs(1), |e| {
        matches!(e, MediaEvent::PlaybackDone { .. })
    })
    .await
    .expect("completion event");
    assert!(matches!(
        done,
        MediaEvent::PlaybackDone {
            interrupted: false,
            frames: 20,
            ..
        }
    ));

    // The prompt, resampled from 16 kHz, stopped after a few packets (barge-in).
    plane
        .play_prompt(a.id, PromptName::new("hello").unwrap())
        .await
        .unwrap();
    let mut audio = Vec::new();
    for _ in 0..10 {
        let (n, _) = timeout(Duration::from_secs(1), phone.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let mut out = [0i16; 160];
        decoder.decode(&buf[12..n], &mut out).unwrap();
        audio.extend_from_slice(&out);
    }
    assert_eq!(dominant(&audio[320..], &CANDIDATES), 700.0);
    plane.stop_playback(a.id).await.unwrap();
    let done = next_event(&mut events, Duration::from_secs(1), |e| {
        matches!(e, MediaEvent::PlaybackDone { .. })
    })
    .await
    .expect("stop event");
    let MediaEvent::PlaybackDone {
        interrupted,
        frames,
        ..
    } = done
    else {
        unreachable!()
    };
    assert!(interrupted);
    assert!((10..30).contains(&frames), "stopped early: {frames}");
    // Nothing more arrives, and stopping again is refused.
    while timeout(Duration::from_millis(100), phone.recv_from(&mut buf))
        .await
        .is_ok()
    {}
    assert!(
        timeout(Duration::from_millis(200), phone.recv_from(&mut buf))
            .await
            .is_err()
    );
    assert!(matches!(
        plane.stop_playback(a.id).await,
        Err(MediaError::Refused(ErrorCode::NotActive))
    ));
    assert!(matches!(
        plane
            .play_prompt(a.id, PromptName::new("missing").unwrap())
            .await,
        Err(MediaError::Refused(ErrorCode::UnknownPrompt))
    ));
    plane.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_recordings_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let plane = MediaPlane::start(config((41440, 41459), dir.path())).unwrap();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let b = plane.create_endpoint(session).await.unwrap();
    let alice = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    plane
        .set_remote(a.id, RemoteSpec::new(alice.local_addr().unwrap()))
        .await
        .unwrap();
    plane.bridge(a.id, b.id).await.unwrap();
    plane
        .start_recording(a.id, b.id, 5, RecordMode::Mono)
        .await
        .unwrap();
    send_tone(&alice, a.rtp, 440.0, 0xA, 30).await;
    plane.shutdown();
    let bytes = std::fs::read(dir.path().join("recordings").join(recording_file_name(5))).unwrap();
    let data_len = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]);
    assert_eq!(
        u64::from(data_len) + 44,
        bytes.len() as u64,
        "sizes patched at shutdown"
    );
    let wav = Wav::parse(&bytes).unwrap();
    assert_eq!(wav.format().channels, 1);
    assert!(wav.duration_ms() >= 400, "{}", wav.duration_ms());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_goes_out_in_the_agreed_codec_until_the_phone_sends_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let plane = MediaPlane::start(config((41460, 41479), dir.path())).unwrap();
    let session = plane.open_session();
    let a = plane.create_endpoint(session).await.unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    plane
        .set_remote(a.id, RemoteSpec::new(phone.local_addr().unwrap()))
        .await
        .unwrap();
    let receive = |want_pt: u8, params: CodecParams| {
        let phone = &phone;
        async move {
            let mut decoder = Codec::new(params).unwrap();
            let (mut audio, mut buf) = (Vec::new(), [0u8; 2048]);
            while let Ok(Ok((n, _))) =
                timeout(Duration::from_millis(300), phone.recv_from(&mut buf)).await
            {
                assert_eq!(buf[1] & 0x7f, want_pt);
                let mut out = [0i16; 160];
                decoder.decode(&buf[12..n], &mut out).unwrap();
                audio.extend_from_slice(&out);
            }
            audio
        }
    };

    // The phone agreed to PCMA and has sent nothing yet: the tone goes out as PCMA.
    plane.set_voice_pt(a.id, 8).await.unwrap();
    plane.play_tone(a.id, [1000, 0], 200).await.unwrap();
    let audio = receive(8, CodecParams::pcma()).await;
    assert_eq!(audio.len(), 10 * 160);
    assert_eq!(dominant(&audio, &CANDIDATES), 1000.0);

    // Once it sends PCMU, that decides (and a later hint does not override it).
    let mut pkt = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7];
    pkt.extend_from_slice(&[0xff; 160]);
    phone.send_to(&pkt, a.rtp).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    plane.set_voice_pt(a.id, 8).await.unwrap();
    plane.play_tone(a.id, [1000, 0], 200).await.unwrap();
    let audio = receive(0, CodecParams::pcmu()).await;
    assert_eq!(dominant(&audio, &CANDIDATES), 1000.0);
    plane.shutdown();
}
