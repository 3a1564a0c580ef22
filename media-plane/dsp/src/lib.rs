//! Sans-IO audio DSP for the media plane: codecs, resampling, jitter buffer, DTMF, tones, WAV.
//!
//! Everything here is pure computation on caller-provided buffers: no clock reads (time is an
//! argument), no sockets or files, no threads. Per-frame paths do not allocate once a
//! component is constructed, and no input — network payloads, WAV bytes — can make them
//! panic: malformed input yields a [`DspError`].
//!
//! * [`codec`]: G.711 (SIMD, bit-exact), G.722, Opus, L16 behind [`Codec`];
//!   [`Transcoder`] bridges legs without a common codec.
//! * [`resample`]: streaming polyphase conversion between 8, 16 and 48 kHz.
//! * [`jitter`]: adaptive jitter buffer with loss concealment and resynchronisation.
//! * [`dtmf`]: RFC 4733 events and in-band Goertzel detection.
//! * [`wav`], [`player`], [`tones`]: prompts, recordings and call-progress tones.
//! * [`mix`]: saturating N-way mixing and stereo interleaving.

pub mod codec;
pub mod dtmf;
mod error;
pub mod jitter;
pub mod mix;
pub mod player;
pub mod resample;
pub mod tones;
pub mod transcode;
pub mod wav;

#[cfg(test)]
mod testsig;

pub use codec::{Codec, CodecKind, CodecParams};
pub use dtmf::{Digit, DtmfDetector, DtmfGenerator, DtmfReceiver, TelephoneEvent};
pub use error::DspError;
pub use jitter::{
    Frame, FrameKind, InsertOutcome, JitterBuffer, JitterConfig, JitterStats, PcmJitterBuffer,
    Playout,
};
pub use player::{Player, PlayerState};
pub use resample::Resampler;
pub use tones::{ToneGenerator, ToneSpec};
pub use transcode::Transcoder;
pub use wav::{Wav, WavFormat, WavWriter};
