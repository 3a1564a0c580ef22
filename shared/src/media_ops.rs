//! Call recording and prompt playback: the value types of their commands and events (tags
//! `0x50..=0x5f`) and their frame layouts.

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::types::{EndpointHandle, RequestId};

pub(crate) const CMD_START_RECORDING: u8 = 0x50;
pub(crate) const CMD_STOP_RECORDING: u8 = 0x51;
pub(crate) const CMD_PLAY_PROMPT: u8 = 0x52;
pub(crate) const CMD_PLAY_TONE: u8 = 0x53;
pub(crate) const CMD_STOP_PLAYBACK: u8 = 0x54;
pub(crate) const CMD_SET_VOICE_PT: u8 = 0x55;

pub(crate) const EVT_PLAYBACK_DONE: u8 = 0x50;
pub(crate) const EVT_RECORDING_DONE: u8 = 0x51;

/// Longest prompt name carried over the ring.
pub const PROMPT_NAME_MAX: usize = 32;

/// The WAV file name a recording with id `id` gets inside the media plane's recording
/// directory. Both planes derive it the same way; paths never travel over the ring.
pub fn recording_file_name(id: u64) -> String {
    format!("rec-{id:016x}.wav")
}

/// How the two legs of a call are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordMode {
    /// Two channels: the first leg (caller) left, the second (callee) right.
    Stereo,
    /// Both legs mixed into one channel.
    Mono,
}

/// The name of a prompt (a WAV file `<name>.wav` in the prompts directory): 1 to
/// [`PROMPT_NAME_MAX`] bytes of ASCII letters, digits, `-` and `_`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PromptName {
    len: u8,
    bytes: [u8; PROMPT_NAME_MAX],
}

impl PromptName {
    /// Validates `name`; `None` when it is empty, too long or has other characters (so it
    /// can never name a path outside the prompts directory).
    pub fn new(name: &str) -> Option<Self> {
        let raw = name.as_bytes();
        if raw.is_empty()
            || raw.len() > PROMPT_NAME_MAX
            || !raw
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return None;
        }
        let mut bytes = [0u8; PROMPT_NAME_MAX];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Self {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for PromptName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PromptName({:?})", self.as_str())
    }
}

impl Writer {
    pub(crate) fn prompt(&mut self, name: &PromptName) {
        self.u8(name.len);
        for b in name.bytes {
            self.u8(b);
        }
    }

    pub(crate) fn record_mode(&mut self, mode: RecordMode) {
        self.u8(match mode {
            RecordMode::Stereo => 1,
            RecordMode::Mono => 2,
        });
    }
}

impl Reader<'_> {
    pub(crate) fn prompt(&mut self) -> Result<PromptName, DecodeError> {
        let bad = DecodeError::InvalidField { field: "prompt" };
        let len = usize::from(self.u8("prompt")?);
        let mut bytes = [0u8; PROMPT_NAME_MAX];
        for b in &mut bytes {
            *b = self.u8("prompt")?;
        }
        let name = bytes.get(..len).ok_or(bad)?;
        let name = std::str::from_utf8(name).map_err(|_| bad)?;
        let parsed = PromptName::new(name).ok_or(bad)?;
        // Bytes after the name must be zero, so a frame has one valid encoding.
        if parsed.bytes != bytes {
            return Err(bad);
        }
        Ok(parsed)
    }

    pub(crate) fn record_mode(&mut self) -> Result<RecordMode, DecodeError> {
        match self.u8("mode")? {
            1 => Ok(RecordMode::Stereo),
            2 => Ok(RecordMode::Mono),
            _ => Err(DecodeError::InvalidField { field: "mode" }),
        }
    }

    pub(crate) fn freqs(&mut self) -> Result<[u16; 2], DecodeError> {
        let f = [self.u16("freqs")?, self.u16("freqs")?];
        if f[0] == 0 || f[0] > 4000 || f[1] > 4000 {
            return Err(DecodeError::InvalidField { field: "freqs" });
        }
        Ok(f)
    }
}

/// Writer for a command carrying only a request id and an endpoint.
pub(crate) fn simple(tag: u8, req: RequestId, endpoint: EndpointHandle) -> Writer {
    let mut w = Writer::new(tag);
    w.req(req);
    w.endpoint(endpoint);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_names_are_restricted() {
        assert_eq!(PromptName::new("goodbye").unwrap().as_str(), "goodbye");
        assert!(PromptName::new("tone_1-a").is_some());
        assert!(PromptName::new(&"x".repeat(PROMPT_NAME_MAX)).is_some());
        for bad in ["", "../etc/passwd", "a b", "é", "a.wav", &"x".repeat(33)] {
            assert!(PromptName::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn file_names_come_from_the_id_only() {
        assert_eq!(recording_file_name(0x1f), "rec-000000000000001f.wav");
        assert_ne!(recording_file_name(1), recording_file_name(2));
    }
}
