#![no_main]
use warden_shared::{Command, Event, Frame};

fn round_trip(frame: &Frame) {
    if let Ok(cmd) = Command::decode(frame) {
        assert_eq!(Command::decode(&cmd.encode()), Ok(cmd));
        // Recording and playback commands (0x50..=0x5f): a prompt name that decodes is
        // always a plain file stem.
        if let Command::PlayPrompt { prompt, .. } = cmd {
            assert!(!prompt.as_str().is_empty());
            assert!(!prompt.as_str().contains(['/', '.', '\\']));
        }
    }
    if let Ok(event) = Event::decode(frame) {
        assert_eq!(Event::decode(&event.encode()), Ok(event));
    }
}

// Decoding arbitrary frames never panics, and whatever decodes re-encodes to the same value.
// The same bytes are tried again under a DTMF tag (0x40..=0x4f) so those layouts get
// explored without the fuzzer having to find the tag first.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let frame = Frame::from_slice(data);
    round_trip(&frame);
    let mut dtmf = frame;
    dtmf.0[0] = 0x40 | (dtmf.0[0] & 0x0f);
    round_trip(&dtmf);
});
