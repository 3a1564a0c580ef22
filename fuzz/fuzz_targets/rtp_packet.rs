#![no_main]
//! RTP path: classify, parse (all accessors), rewrite a copy, and feed sequence
//! statistics from the input read as 8-byte (seq, ts, arrival) records.

use warden_rtp_proto::stats::quality::Codec;
use warden_rtp_proto::{classify, RecvStats, RewriterConfig, RtpPacket, SsrcMode, StreamRewriter};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    if let Ok(p) = RtpPacket::parse(data) {
        assert_eq!(
            p.header_len() + p.payload().len() + p.padding_len(),
            data.len()
        );
        let _ = p.csrcs().count();
        if let Some(ext) = p.extension() {
            for element in ext.elements() {
                let _ = element;
            }
        }
        let mut copy = data.to_vec();
        let mut rewriter = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(7), 8000));
        assert!(rewriter.rewrite(&mut copy, 0).is_ok());
        let again = RtpPacket::parse(&copy).map(|q| q.payload().len());
        assert_eq!(again, Ok(p.payload().len()));
    }
    let mut stats = RecvStats::new(8000);
    let mut arrival = 0u64;
    let mut rewriter = StreamRewriter::new(RewriterConfig::new(SsrcMode::Fixed(9), 48_000));
    let mut packet = [0x80u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for rec in data.chunks_exact(8) {
        let seq = u16::from_be_bytes([rec[0], rec[1]]);
        let ts = u32::from_be_bytes([rec[2], rec[3], rec[4], rec[5]]);
        arrival = arrival.wrapping_add(u64::from(u16::from_be_bytes([rec[6], rec[7]])) * 1000);
        let _ = stats.on_packet(seq, ts, arrival, rec.len());
        packet[1] = rec[7] & 0x7F;
        packet[2..4].copy_from_slice(&rec[0..2]);
        packet[4..8].copy_from_slice(&rec[2..6]);
        packet[11] = rec[6] & 0x03;
        let _ = rewriter.rewrite(&mut packet, arrival);
    }
    let s = stats.snapshot();
    let _ = s.quality(Codec::Opus, Some(s.jitter_ms));
    let _ = stats.report_block(1, 0, 0);
});
