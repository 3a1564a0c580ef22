#![no_main]
// URI parsing must not panic; a parsed URI is equivalent to itself and
// displays as its input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(uri) = warden_sip_proto::parse_uri(s) {
            assert!(uri.equivalent(&uri), "URI not equivalent to itself");
            assert_eq!(uri.to_string(), s);
            let _ = uri.user_decoded();
        }
    }
});
