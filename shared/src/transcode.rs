//! What a transcoding bridge needs to know about each leg (command tag `0x60`; the range
//! `0x60..=0x6f` belongs to transcoding).

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;

/// Tag of [`crate::Command::Transcode`].
pub(crate) const TAG_TRANSCODE: u8 = 0x60;

/// A voice codec the media plane decodes and encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireCodec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 (RTP clock 8 kHz, audio 16 kHz).
    G722,
    /// Opus (RTP clock 48 kHz).
    Opus,
    /// Linear 16-bit PCM at the clock rate.
    L16,
}

impl WireCodec {
    fn to_wire(self) -> u8 {
        match self {
            WireCodec::Pcmu => 1,
            WireCodec::Pcma => 2,
            WireCodec::G722 => 3,
            WireCodec::Opus => 4,
            WireCodec::L16 => 5,
        }
    }

    fn from_wire(b: u8) -> Option<Self> {
        Some(match b {
            1 => WireCodec::Pcmu,
            2 => WireCodec::Pcma,
            3 => WireCodec::G722,
            4 => WireCodec::Opus,
            5 => WireCodec::L16,
            _ => return None,
        })
    }
}

/// One leg of a transcoding bridge: the codec its party speaks on the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegFormat {
    /// The codec.
    pub codec: WireCodec,
    /// Its RTP payload type on this leg (0..=127).
    pub payload_type: u8,
    /// Its RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Packetization time in milliseconds.
    pub ptime_ms: u16,
    /// The `telephone-event` payload type on this leg, when both legs have one.
    pub telephone_event: Option<u8>,
}

/// `telephone_event` on the wire when absent.
const NO_PT: u8 = 0xff;

pub(crate) fn write(w: &mut Writer, f: &LegFormat) {
    w.u8(f.codec.to_wire());
    w.u8(f.payload_type);
    w.u32(f.clock_rate);
    w.u16(f.ptime_ms);
    w.u8(f.telephone_event.unwrap_or(NO_PT));
}

pub(crate) fn read(r: &mut Reader<'_>, field: &'static str) -> Result<LegFormat, DecodeError> {
    let bad = DecodeError::InvalidField { field };
    let codec = WireCodec::from_wire(r.u8(field)?).ok_or(bad)?;
    let payload_type = r.u8(field)?;
    let clock_rate = r.u32(field)?;
    let ptime_ms = r.u16(field)?;
    let telephone_event = match r.u8(field)? {
        NO_PT => None,
        pt if pt < 128 => Some(pt),
        _ => return Err(bad),
    };
    if payload_type >= 128 {
        return Err(bad);
    }
    Ok(LegFormat {
        codec,
        payload_type,
        clock_rate,
        ptime_ms,
        telephone_event,
    })
}
