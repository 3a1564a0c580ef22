#![no_main]
use warden_shared::{Command, Event, Frame};

// Decoding arbitrary frames never panics, and whatever decodes re-encodes to the same value.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let frame = Frame::from_slice(data);
    if let Ok(cmd) = Command::decode(&frame) {
        let again = cmd.encode();
        assert_eq!(Command::decode(&again), Ok(cmd));
        assert_eq!(
            cmd.request_id(),
            Command::decode(&again).map(|c| c.request_id()).unwrap()
        );
        // Transcoding commands keep to their tag range (0x60..=0x6f).
        if let Command::Transcode {
            a_format, b_format, ..
        } = cmd
        {
            assert!((0x60..=0x6f).contains(&again.0[0]));
            assert!(a_format.payload_type < 128 && b_format.payload_type < 128);
        }
    }
    if let Ok(event) = Event::decode(&frame) {
        assert_eq!(Event::decode(&event.encode()), Ok(event));
    }
});
