#![no_main]
//! RTCP: validate a compound both ways, decode every packet and walk every iterator,
//! then rewrite SSRCs on a copy and check the result still decodes identically in
//! shape.

use warden_rtp_proto::rtcp::{rewrite_ssrcs, RtcpCompound, RtcpView};

fn walk(compound: &RtcpCompound<'_>) -> usize {
    let mut n = 0;
    for packet in compound.iter() {
        let _ = packet.body();
        match packet.view() {
            Ok(RtcpView::SenderReport(sr)) => n += sr.reports.count(),
            Ok(RtcpView::ReceiverReport(rr)) => n += rr.reports.count(),
            Ok(RtcpView::Sdes(sdes)) => {
                for chunk in sdes.chunks() {
                    n += chunk.items().count();
                }
            }
            Ok(RtcpView::Bye(bye)) => n += bye.sources.count(),
            Ok(RtcpView::App(app)) => n += app.data.len(),
            Ok(RtcpView::TransportFeedback(fb) | RtcpView::PayloadFeedback(fb)) => {
                n += fb.fci.len()
            }
            Ok(RtcpView::Other(p)) => n += p.as_bytes().len(),
            Err(_) => n += 1_000_000,
        }
    }
    n
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(c) = RtcpCompound::parse(data) {
        walk(&c);
    }
    if let Ok(c) = RtcpCompound::parse_reduced_size(data) {
        let before = walk(&c);
        let mut copy = data.to_vec();
        if rewrite_ssrcs(&mut copy, |_, s| s ^ 0x5A5A_5A5A).is_ok() {
            let after = RtcpCompound::parse_reduced_size(&copy).map(|c| walk(&c));
            assert_eq!(after, Ok(before));
        } else {
            assert_eq!(copy, data);
        }
    }
});
