#![no_main]
use warden_sip_auth::{parse_authorization, verify, Secret};

// Parsing any UTF-8 header value never panics, and neither does verifying what parsed.
libfuzzer_sys::fuzz_target!(|data: &str| {
    if let Ok(creds) = parse_authorization(data) {
        let _ = verify(&creds, "REGISTER", Secret::Password("secret"), &creds.realm);
        let _ = verify(&creds, "REGISTER", Secret::Ha1(&creds.response), &creds.realm);
    }
});
