//! RIFF/WAVE 16-bit PCM: a tolerant reader over `&[u8]` and crash-safe writers.

mod reader;
mod writer;

pub use reader::Wav;
pub use writer::{encode_samples, header_for, size_fields, WavWriter, HEADER_LEN};

/// Sample rate and channel count of 16-bit PCM audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WavFormat {
    /// 8000, 16000 or 48000 Hz.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo, interleaved left/right).
    pub channels: u16,
}

impl WavFormat {
    /// Mono at `sample_rate`.
    #[must_use]
    pub const fn mono(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            channels: 1,
        }
    }

    /// Stereo at `sample_rate`.
    #[must_use]
    pub const fn stereo(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            channels: 2,
        }
    }

    /// Bytes per sample frame (all channels).
    #[must_use]
    pub const fn block_align(&self) -> u16 {
        self.channels * 2
    }

    pub(crate) fn supported(&self) -> bool {
        matches!(self.sample_rate, 8000 | 16_000 | 48_000) && matches!(self.channels, 1 | 2)
    }
}
