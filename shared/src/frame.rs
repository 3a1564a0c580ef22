//! The fixed-size frame that travels through the rings.

/// Size in bytes of one ring frame (two cache lines).
pub const FRAME_LEN: usize = 128;

/// One fixed-size message slot: plain bytes, `Copy`, no heap and no `Drop`.
///
/// Frames are produced by `Command::encode`/`Event::encode` and validated by the matching
/// `decode`; a frame built from arbitrary bytes is safe to decode (it yields an error).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame(pub [u8; FRAME_LEN]);

impl Frame {
    /// An all-zero frame.
    pub const fn zeroed() -> Self {
        Self([0; FRAME_LEN])
    }

    /// The raw bytes of the frame.
    pub fn as_bytes(&self) -> &[u8; FRAME_LEN] {
        &self.0
    }

    /// Builds a frame from the first [`FRAME_LEN`] bytes of `bytes`, zero-padding a short input.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut frame = Self::zeroed();
        let n = bytes.len().min(FRAME_LEN);
        frame.0[..n].copy_from_slice(&bytes[..n]);
        frame
    }
}

impl Default for Frame {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame(tag={:#04x})", self.0[0])
    }
}
