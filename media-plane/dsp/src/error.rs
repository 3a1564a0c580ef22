//! The crate's single error type.

/// Everything that can go wrong in `warden-dsp`.
///
/// Malformed input (a truncated RTP payload, a garbage WAV file, an odd-length L16 frame)
/// always surfaces as one of these values, never as a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// A sample rate this component does not support (the media plane uses 8, 16 and 48 kHz).
    #[error("unsupported sample rate {0} Hz")]
    UnsupportedRate(u32),
    /// A configuration value outside its documented range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// Which parameter was rejected.
        name: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The caller's output buffer cannot hold the result.
    #[error("output buffer too small: need {needed}, got {got}")]
    OutputTooSmall {
        /// Minimum length required.
        needed: usize,
        /// Length provided.
        got: usize,
    },
    /// The input frame does not have the length the codec expects (one 20 ms frame).
    #[error("input frame has {got} samples, expected {expected}")]
    FrameLength {
        /// Expected number of samples.
        expected: usize,
        /// Number of samples provided.
        got: usize,
    },
    /// A payload or header is shorter than its format requires.
    #[error("truncated input: need {needed} bytes, got {got}")]
    Truncated {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A payload is structurally invalid (reason is a fixed description).
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
    /// libopus reported an error (corrupt packet, bad configuration).
    #[error("opus: {0}")]
    Opus(#[from] opus::Error),
    /// The data is not a RIFF/WAVE file.
    #[error("not a RIFF/WAVE file")]
    NotWav,
    /// A WAV file lacks a required chunk.
    #[error("WAV file has no {0} chunk")]
    WavMissingChunk(&'static str),
    /// A WAV file uses an encoding this crate does not read (only 16-bit PCM, 1 or 2 channels,
    /// 8/16/48 kHz).
    #[error(
        "unsupported WAV format: tag {format_tag}, {bits_per_sample} bits, {channels} channels, \
         {sample_rate} Hz"
    )]
    WavUnsupported {
        /// `wFormatTag` (1 = PCM, 0xFFFE = extensible).
        format_tag: u16,
        /// Bits per sample.
        bits_per_sample: u16,
        /// Channel count.
        channels: u16,
        /// Sample rate in Hz.
        sample_rate: u32,
    },
    /// Writing a WAV stream to the caller's sink failed.
    #[error("WAV write failed: {0}")]
    Io(#[from] std::io::Error),
}
