//! WAV parsing over a byte slice: never panics, rejects what it cannot play with a reason.

use super::WavFormat;
use crate::error::DspError;

/// A parsed WAV file borrowing its sample data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wav<'a> {
    format: WavFormat,
    /// Little-endian interleaved samples, a whole number of sample frames.
    data: &'a [u8],
}

/// `WAVE_FORMAT_PCM` and `WAVE_FORMAT_EXTENSIBLE`.
const TAG_PCM: u16 = 1;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

impl<'a> Wav<'a> {
    /// Parses a RIFF/WAVE file: 16-bit PCM, mono or stereo, 8/16/48 kHz. Unknown chunks
    /// (LIST, fact, …) are skipped. A data chunk whose size is 0 or 0xFFFFFFFF (a streaming
    /// writer that never patched it) or runs past the end of the buffer (a truncated file)
    /// is taken to extend to the end of the buffer; a trailing partial sample frame is
    /// dropped.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DspError> {
        if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(DspError::NotWav);
        }
        let mut format = None;
        let mut data = None;
        let mut at = 12usize;
        while let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) {
            let body_start = at + 8;
            let available = bytes.len() - body_start.min(bytes.len());
            let size = size as usize;
            match id {
                b"fmt " => {
                    let body = &bytes[body_start..body_start + size.min(available)];
                    format = Some(Self::parse_fmt(body)?);
                }
                b"data" => {
                    let len = if size == 0 || size == u32::MAX as usize || size > available {
                        available
                    } else {
                        size
                    };
                    data = Some(&bytes[body_start..body_start + len]);
                }
                _ => {}
            }
            if data.is_some() && format.is_some() {
                break;
            }
            // Chunks are padded to an even length.
            at = match body_start
                .checked_add(size)
                .and_then(|e| e.checked_add(size & 1))
            {
                Some(next) if next > at => next,
                _ => break,
            };
        }
        let format = format.ok_or(DspError::WavMissingChunk("fmt"))?;
        let data = data.ok_or(DspError::WavMissingChunk("data"))?;
        let align = usize::from(format.block_align());
        Ok(Self {
            format,
            data: &data[..data.len() - data.len() % align],
        })
    }

    fn parse_fmt(body: &[u8]) -> Result<WavFormat, DspError> {
        let field = |at| {
            u16_at(body, at).ok_or(DspError::Truncated {
                needed: 16,
                got: body.len(),
            })
        };
        let tag = field(0)?;
        let channels = field(2)?;
        let sample_rate = u32_at(body, 4).ok_or(DspError::Truncated {
            needed: 16,
            got: body.len(),
        })?;
        let block_align = field(12)?;
        let bits = field(14)?;
        let unsupported = DspError::WavUnsupported {
            format_tag: tag,
            bits_per_sample: bits,
            channels,
            sample_rate,
        };
        let pcm = match tag {
            TAG_PCM => true,
            // Extensible: the sub-format GUID starts with the real tag at offset 24.
            TAG_EXTENSIBLE => u16_at(body, 24) == Some(TAG_PCM),
            _ => false,
        };
        let format = WavFormat {
            sample_rate,
            channels,
        };
        if !pcm || bits != 16 || !format.supported() || block_align != format.block_align() {
            return Err(unsupported);
        }
        Ok(format)
    }

    /// Sample rate and channels.
    #[must_use]
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Number of sample frames (samples per channel).
    #[must_use]
    pub fn frames(&self) -> usize {
        self.data.len() / usize::from(self.format.block_align())
    }

    /// Duration in milliseconds.
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        self.frames() as u64 * 1000 / u64::from(self.format.sample_rate)
    }

    /// Interleaved samples.
    pub fn samples(&self) -> impl Iterator<Item = i16> + 'a {
        self.data
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
    }

    /// The audio as mono (stereo channels averaged), e.g. to load a prompt.
    #[must_use]
    pub fn to_mono(&self) -> Vec<i16> {
        if self.format.channels == 1 {
            return self.samples().collect();
        }
        self.data
            .chunks_exact(4)
            .map(|b| {
                let l = i32::from(i16::from_le_bytes([b[0], b[1]]));
                let r = i32::from(i16::from_le_bytes([b[2], b[3]]));
                ((l + r) >> 1) as i16
            })
            .collect()
    }
}
