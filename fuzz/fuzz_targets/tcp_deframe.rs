#![no_main]
// Feed the stream in chunks whose size comes from the first byte; every
// frame must respect the size limit and be safe to parse.
use warden_sip_proto::{parse_message, Deframer, Frame};

const MAX: usize = 4096;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else { return };
    let chunk = usize::from(first % 64) + 1;
    let mut d = Deframer::with_limits(1024, MAX);
    for piece in stream.chunks(chunk) {
        d.push(piece);
        loop {
            match d.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    assert!(m.len() <= MAX);
                    let _ = parse_message(&m);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
});
