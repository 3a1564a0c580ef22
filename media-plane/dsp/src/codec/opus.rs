//! Opus through libopus (the `opus` crate, libopus 1.6 bundled; see the crate README for why).
//!
//! One encoder and one decoder per leg, mono, 20 ms frames. In-band FEC is decoded from the
//! packet that follows a loss; plain loss is concealed by libopus' own PLC.

use crate::error::DspError;

/// Opus encoder/decoder pair for one leg.
pub(crate) struct OpusCodec {
    enc: opus::Encoder,
    dec: opus::Decoder,
    frame: usize,
}

impl std::fmt::Debug for OpusCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusCodec")
            .field("frame", &self.frame)
            .finish()
    }
}

impl OpusCodec {
    /// Creates the pair at `rate` (8/16/48 kHz) and `bitrate` bit/s, with in-band FEC tuned
    /// for `loss_percent` when `fec` is set.
    pub(crate) fn new(
        rate: u32,
        bitrate: u32,
        fec: bool,
        loss_percent: u8,
    ) -> Result<Self, DspError> {
        if !matches!(rate, 8000 | 16_000 | 48_000) {
            return Err(DspError::UnsupportedRate(rate));
        }
        if !(6_000..=510_000).contains(&bitrate) {
            return Err(DspError::InvalidParameter {
                name: "bitrate",
                reason: "Opus bitrate must be 6000..=510000 bit/s",
            });
        }
        let mut enc = opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Voip)?;
        enc.set_bitrate(opus::Bitrate::Bits(bitrate as i32))?;
        enc.set_inband_fec(fec)?;
        enc.set_packet_loss_perc(i32::from(loss_percent.min(100)))?;
        let dec = opus::Decoder::new(rate, opus::Channels::Mono)?;
        Ok(Self {
            enc,
            dec,
            frame: (rate / 50) as usize,
        })
    }

    /// Encoder lookahead in samples (the codec's algorithmic delay beyond the frame).
    pub(crate) fn lookahead(&mut self) -> usize {
        self.enc.get_lookahead().map_or(0, |v| v.max(0) as usize)
    }

    pub(crate) fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, DspError> {
        if pcm.len() != self.frame {
            return Err(DspError::FrameLength {
                expected: self.frame,
                got: pcm.len(),
            });
        }
        Ok(self.enc.encode(pcm, out)?)
    }

    pub(crate) fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DspError> {
        if payload.is_empty() {
            return Err(DspError::Malformed("empty Opus payload"));
        }
        Ok(self.dec.decode(payload, out, false)?)
    }

    /// Recovers the frame before `next` from `next`'s in-band FEC data (or PLC when it has
    /// none); writes exactly one frame.
    pub(crate) fn decode_fec(&mut self, next: &[u8], out: &mut [i16]) -> Result<usize, DspError> {
        let Some(frame) = out.get_mut(..self.frame) else {
            return Err(DspError::OutputTooSmall {
                needed: self.frame,
                got: out.len(),
            });
        };
        if next.is_empty() {
            return Err(DspError::Malformed("empty Opus payload"));
        }
        Ok(self.dec.decode(next, frame, true)?)
    }

    /// libopus packet-loss concealment for one frame.
    pub(crate) fn conceal(&mut self, out: &mut [i16]) -> usize {
        let n = self.frame.min(out.len());
        let frame = &mut out[..n];
        match self.dec.decode(&[], frame, false) {
            Ok(written) => written,
            Err(_) => {
                frame.fill(0);
                n
            }
        }
    }
}
