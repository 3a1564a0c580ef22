#![no_main]
// Parse, serialise the parse result, reparse: the reparse must succeed and
// carry the same start line, headers and body. The validation and salvage
// paths must never panic either.
use warden_sip_proto::{parse_message, salvage_for_error_response, validate_request};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match parse_message(data) {
        Ok(msg) => {
            let _ = validate_request(&msg);
            let _ = msg.vias().count();
            let _ = msg.contacts().count();
            let _ = msg.routes().count();
            let _ = msg.header_values("Supported").count();
            let out = msg.to_bytes();
            let again = parse_message(&out).expect("serialised message must reparse");
            assert!(again.same_content(&msg), "round trip changed the message");
        }
        Err(_) => {
            if let Some(s) = salvage_for_error_response(data) {
                let _ = s.response(400, "Bad Request").to_tag("x").to_bytes();
            }
        }
    }
});
