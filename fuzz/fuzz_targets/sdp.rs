#![no_main]
// SDP parsing must not panic; a parsed description round-trips through the
// serialiser.
use warden_sip_proto::sdp;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = sdp::parse(data) {
        for m in &sd.media {
            let _ = (m.rtpmaps().count(), m.fmtps().count(), m.ptime(), m.rtcp(), m.rtcp_mux());
            let _ = m.effective_direction(&sd);
        }
        let text = sd.to_string();
        let again = sdp::parse_str(&text).expect("serialised SDP must reparse");
        assert_eq!(again, sd);
    }
});
