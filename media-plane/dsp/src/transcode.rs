//! Codec A → PCM → resample → codec B, for legs that share no codec (e.g. PCMU 8 kHz ↔ Opus
//! 48 kHz).
//!
//! Decoded audio goes through a streaming [`Resampler`] into a fixed-size FIFO; every full
//! 20 ms of PCM at the output rate is encoded on [`Transcoder::pull`]. Packets that carry more
//! than 20 ms (Opus up to 120 ms) simply leave several frames in the FIFO. Lost input frames
//! are concealed (or rebuilt from Opus FEC) by the decoding side before re-encoding.

use crate::codec::{Codec, CodecParams};
use crate::error::DspError;
use crate::resample::Resampler;

/// FIFO capacity in 20 ms frames (a 120 ms Opus packet plus slack).
const FIFO_FRAMES: usize = 8;

/// One direction of a transcoded call leg pair.
#[derive(Debug)]
pub struct Transcoder {
    dec: Codec,
    enc: Codec,
    resampler: Resampler,
    /// Decoder output (up to 120 ms at the input rate).
    decoded: Vec<i16>,
    /// Resampler output for one decode.
    resampled: Vec<i16>,
    fifo: Vec<i16>,
    fifo_len: usize,
    out_frame: usize,
    overflows: u64,
}

impl Transcoder {
    /// A transcoder decoding `from` and encoding `to`.
    pub fn new(from: CodecParams, to: CodecParams) -> Result<Self, DspError> {
        let dec = Codec::new(from)?;
        let enc = Codec::new(to)?;
        let resampler = Resampler::new(dec.sample_rate(), enc.sample_rate())?;
        let in_max = dec.samples_per_frame() * 6;
        let out_frame = enc.samples_per_frame();
        Ok(Self {
            resampled: vec![0; resampler.max_output_len(in_max)],
            decoded: vec![0; in_max],
            dec,
            enc,
            resampler,
            fifo: vec![0; out_frame * FIFO_FRAMES],
            fifo_len: 0,
            out_frame,
            overflows: 0,
        })
    }

    /// The decoding side.
    #[must_use]
    pub fn decoder(&self) -> &Codec {
        &self.dec
    }

    /// The encoding side.
    #[must_use]
    pub fn encoder(&self) -> &Codec {
        &self.enc
    }

    /// Samples dropped because the FIFO was full (the caller did not pull).
    #[must_use]
    pub fn overflows(&self) -> u64 {
        self.overflows
    }

    /// Decodes one input payload into the FIFO.
    pub fn push(&mut self, payload: &[u8]) -> Result<(), DspError> {
        let n = self.dec.decode(payload, &mut self.decoded)?;
        self.feed(n)
    }

    /// Accounts for one lost input frame: Opus FEC from `next` when given, else PLC.
    pub fn push_lost(&mut self, next: Option<&[u8]>) -> Result<(), DspError> {
        let n = match next {
            Some(p) => self
                .dec
                .decode_fec(p, &mut self.decoded)
                .unwrap_or_else(|_| self.dec.conceal(&mut self.decoded)),
            None => self.dec.conceal(&mut self.decoded),
        };
        self.feed(n)
    }

    fn feed(&mut self, n: usize) -> Result<(), DspError> {
        let n = n.min(self.decoded.len());
        let m = self
            .resampler
            .process(&self.decoded[..n], &mut self.resampled)?;
        let free = self.fifo.len() - self.fifo_len;
        if m > free {
            // Drop the oldest audio to keep latency bounded.
            let drop = (m - free).min(self.fifo_len);
            self.fifo.copy_within(drop..self.fifo_len, 0);
            self.fifo_len -= drop;
            self.overflows += drop as u64;
        }
        let take = m.min(self.fifo.len() - self.fifo_len);
        self.fifo[self.fifo_len..self.fifo_len + take].copy_from_slice(&self.resampled[..take]);
        self.fifo_len += take;
        Ok(())
    }

    /// Encodes the next 20 ms if the FIFO holds it; returns the payload length.
    pub fn pull(&mut self, out: &mut [u8]) -> Result<Option<usize>, DspError> {
        if self.fifo_len < self.out_frame {
            return Ok(None);
        }
        let n = self.enc.encode(&self.fifo[..self.out_frame], out)?;
        self.fifo.copy_within(self.out_frame..self.fifo_len, 0);
        self.fifo_len -= self.out_frame;
        Ok(Some(n))
    }

    /// `push` then `pull`: one payload in, at most one payload out.
    pub fn transcode(&mut self, payload: &[u8], out: &mut [u8]) -> Result<Option<usize>, DspError> {
        self.push(payload)?;
        self.pull(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsig::{aligned_snr, speech_like, tone};

    fn encode_all(params: CodecParams, pcm: &[i16]) -> Vec<Vec<u8>> {
        let mut c = Codec::new(params).unwrap();
        let frame = c.samples_per_frame();
        let mut buf = vec![0u8; c.max_payload_len()];
        pcm.chunks_exact(frame)
            .map(|f| {
                let n = c.encode(f, &mut buf).unwrap();
                buf[..n].to_vec()
            })
            .collect()
    }

    fn decode_all(params: CodecParams, packets: &[Vec<u8>]) -> Vec<i16> {
        let mut c = Codec::new(params).unwrap();
        let mut out = Vec::new();
        let mut pcm = vec![0i16; c.samples_per_frame() * 6];
        for p in packets {
            let n = c.decode(p, &mut pcm).unwrap();
            out.extend_from_slice(&pcm[..n]);
        }
        out
    }

    #[test]
    fn pcmu_to_opus48_and_back() {
        let input = tone(8000, 800.0, 8000.0, 8000 * 3);
        let pcmu = encode_all(CodecParams::pcmu(), &input);
        let mut t = Transcoder::new(CodecParams::pcmu(), CodecParams::opus(48_000)).unwrap();
        let mut opus_packets = Vec::new();
        let mut buf = [0u8; 1275];
        for p in &pcmu {
            if let Some(n) = t.transcode(p, &mut buf).unwrap() {
                opus_packets.push(buf[..n].to_vec());
            }
        }
        assert_eq!(
            opus_packets.len(),
            pcmu.len(),
            "one output frame per input frame"
        );
        let mut back = Transcoder::new(CodecParams::opus(48_000), CodecParams::pcmu()).unwrap();
        let mut pcmu_again = Vec::new();
        for p in &opus_packets {
            if let Some(n) = back.transcode(p, &mut buf).unwrap() {
                pcmu_again.push(buf[..n].to_vec());
            }
        }
        let out = decode_all(CodecParams::pcmu(), &pcmu_again);
        let (_, snr) = aligned_snr(&input, &out, 1200);
        assert!(snr > 10.0, "PCMU→Opus→PCMU SNR {snr:.1} dB");
    }

    #[test]
    fn g722_to_pcma_keeps_speech() {
        let input = speech_like(16_000, 16_000 * 2);
        let g722 = encode_all(CodecParams::g722(), &input);
        let mut t = Transcoder::new(CodecParams::g722(), CodecParams::pcma()).unwrap();
        let mut out_packets = Vec::new();
        let mut buf = [0u8; 160];
        for p in &g722 {
            if let Some(n) = t.transcode(p, &mut buf).unwrap() {
                assert_eq!(n, 160);
                out_packets.push(buf[..n].to_vec());
            }
        }
        let out = decode_all(CodecParams::pcma(), &out_packets);
        // Compare against the input band-limited the same way (16 → 8 kHz).
        let mut r = Resampler::new(16_000, 8000).unwrap();
        let mut reference = vec![0i16; r.max_output_len(input.len())];
        let n = r.process(&input, &mut reference).unwrap();
        let (_, snr) = aligned_snr(&reference[..n], &out, 100);
        assert!(snr > 15.0, "G.722→PCMA SNR {snr:.1} dB");
    }

    #[test]
    fn big_packets_losses_and_overflow() {
        let mut t = Transcoder::new(CodecParams::l16(48_000), CodecParams::pcmu()).unwrap();
        // A 60 ms L16 packet yields three PCMU frames.
        let big = vec![0u8; 2 * 2880];
        t.push(&big).unwrap();
        let mut buf = [0u8; 160];
        let mut frames = 0;
        while t.pull(&mut buf).unwrap().is_some() {
            frames += 1;
        }
        assert_eq!(frames, 3);
        t.push_lost(None).unwrap();
        assert!(t.pull(&mut buf).unwrap().is_some());
        // Without pulls the FIFO stays bounded and counts what it dropped.
        let frame = vec![0u8; 1920];
        for _ in 0..20 {
            t.push(&frame).unwrap();
        }
        assert!(t.overflows() > 0);
        assert!(t.push(&[1, 2, 3]).is_err());
        assert!(Transcoder::new(CodecParams::pcmu(), CodecParams::l16(44_100)).is_err());
    }
}
