#![no_main]
use warden_shared::{Command, Event, Frame};

fn round_trip(frame: &Frame) {
    if let Ok(cmd) = Command::decode(frame) {
        let again = cmd.encode();
        assert_eq!(Command::decode(&again), Ok(cmd));
        assert_eq!(
            cmd.request_id(),
            Command::decode(&again).map(|c| c.request_id()).unwrap()
        );
        // Recording and playback commands (0x50..=0x5f): a prompt name that decodes is
        // always a plain file stem.
        if let Command::PlayPrompt { prompt, .. } = cmd {
            assert!(!prompt.as_str().is_empty());
            assert!(!prompt.as_str().contains(['/', '.', '\\']));
        }
        // Transcoding commands keep to their tag range (0x60..=0x6f).
        if let Command::Transcode {
            a_format, b_format, ..
        } = cmd
        {
            assert!((0x60..=0x6f).contains(&again.0[0]));
            assert!(a_format.payload_type < 128 && b_format.payload_type < 128);
        }
    }
    if let Ok(event) = Event::decode(frame) {
        assert_eq!(Event::decode(&event.encode()), Ok(event));
    }
}

// Decoding arbitrary frames never panics, and whatever decodes re-encodes to the same value.
// The same bytes are tried again under the DTMF (0x40..=0x4f), recording/playback
// (0x50..=0x5f) and transcoding (0x60..=0x6f) tags, so those layouts get explored without
// the fuzzer having to find the tag first.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let frame = Frame::from_slice(data);
    round_trip(&frame);
    for range in [0x40u8, 0x50, 0x60] {
        let mut f = frame;
        f.0[0] = range | (f.0[0] & 0x0f);
        round_trip(&f);
    }
});
