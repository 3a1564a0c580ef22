//! WAV writing: a 44-byte header whose sizes can be patched after every flush, so a crash
//! leaves a valid file holding everything up to the last flush.

use std::io::{Seek, SeekFrom, Write};

use super::WavFormat;
use crate::error::DspError;

/// Length of the canonical header written here.
pub const HEADER_LEN: usize = 44;
/// Largest data chunk a RIFF size field can describe.
const MAX_DATA: u64 = u32::MAX as u64 - 36;

/// The canonical 44-byte header for `data_len` bytes of 16-bit PCM in `format`.
#[must_use]
pub fn header_for(format: WavFormat, data_len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let rate = format.sample_rate;
    let align = format.block_align();
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&format.channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(align)).to_le_bytes());
    h[32..34].copy_from_slice(&align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// The two size fields to rewrite (file offset, bytes) once `data_len` bytes are written —
/// for callers that do their own (e.g. direct-I/O) file writes.
#[must_use]
pub fn size_fields(data_len: u32) -> [(u64, [u8; 4]); 2] {
    [
        (4, data_len.saturating_add(36).to_le_bytes()),
        (40, data_len.to_le_bytes()),
    ]
}

/// Little-endian encoding of `samples` into `out`; returns bytes written (whole samples that
/// fit).
pub fn encode_samples(samples: &[i16], out: &mut [u8]) -> usize {
    let mut n = 0;
    for (dst, s) in out.chunks_exact_mut(2).zip(samples) {
        dst.copy_from_slice(&s.to_le_bytes());
        n += 2;
    }
    n
}

/// Streaming WAV writer over any seekable sink.
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    format: WavFormat,
    data_len: u64,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes a header (sizes 0) at the sink's current position, which must be 0.
    pub fn new(mut inner: W, format: WavFormat) -> Result<Self, DspError> {
        if !format.supported() {
            return Err(DspError::InvalidParameter {
                name: "format",
                reason: "WAV writer supports 8/16/48 kHz, 1 or 2 channels",
            });
        }
        inner.write_all(&header_for(format, 0))?;
        Ok(Self {
            inner,
            format,
            data_len: 0,
        })
    }

    /// The format being written.
    #[must_use]
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Data bytes written so far.
    #[must_use]
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Appends interleaved samples (whole sample frames).
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), DspError> {
        if samples.len() % usize::from(self.format.channels) != 0 {
            return Err(DspError::InvalidParameter {
                name: "samples",
                reason: "not a whole number of sample frames",
            });
        }
        self.reserve(samples.len() as u64 * 2)?;
        let mut buf = [0u8; 1024];
        for chunk in samples.chunks(buf.len() / 2) {
            let n = encode_samples(chunk, &mut buf);
            self.inner.write_all(&buf[..n])?;
        }
        self.data_len += samples.len() as u64 * 2;
        Ok(())
    }

    /// Appends a stereo frame from separate channels (e.g. caller left, callee right); the
    /// shorter channel is padded with silence. Errors on a mono writer.
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), DspError> {
        if self.format.channels != 2 {
            return Err(DspError::InvalidParameter {
                name: "format",
                reason: "write_stereo needs a stereo writer",
            });
        }
        let frames = left.len().max(right.len());
        self.reserve(frames as u64 * 4)?;
        let mut buf = [0u8; 1024];
        let mut at = 0;
        while at < frames {
            let n = (frames - at).min(buf.len() / 4);
            for i in 0..n {
                let l = left.get(at + i).copied().unwrap_or(0);
                let r = right.get(at + i).copied().unwrap_or(0);
                buf[4 * i..4 * i + 2].copy_from_slice(&l.to_le_bytes());
                buf[4 * i + 2..4 * i + 4].copy_from_slice(&r.to_le_bytes());
            }
            self.inner.write_all(&buf[..4 * n])?;
            at += n;
        }
        self.data_len += frames as u64 * 4;
        Ok(())
    }

    fn reserve(&self, bytes: u64) -> Result<(), DspError> {
        if self.data_len + bytes > MAX_DATA {
            return Err(DspError::InvalidParameter {
                name: "data",
                reason: "WAV data would exceed the 4 GiB RIFF limit",
            });
        }
        Ok(())
    }

    /// Patches the RIFF and data sizes to cover everything written, then flushes the sink.
    pub fn flush(&mut self) -> Result<(), DspError> {
        let len = self.data_len as u32;
        for (offset, bytes) in size_fields(len) {
            self.inner.seek(SeekFrom::Start(offset))?;
            self.inner.write_all(&bytes)?;
        }
        self.inner
            .seek(SeekFrom::Start(HEADER_LEN as u64 + self.data_len))?;
        self.inner.flush()?;
        Ok(())
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> Result<W, DspError> {
        self.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
