//! DTMF over the rings (tags `0x40..=0x4f`): the control plane tells a core which payload
//! types of an endpoint's received stream carry digits ([`DtmfSpec`], command
//! `SetDtmf`), and the core reports each digit it recognises (event `Dtmf`).

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;

pub(crate) const TAG_SET_DTMF: u8 = 0x40;
pub(crate) const TAG_DTMF: u8 = 0x40;

/// Wire value of "no payload type" (payload types are 7-bit).
const NO_PT: u8 = 0xff;

/// Which payload types of an endpoint's received RTP carry DTMF. The default detects
/// nothing (and costs nothing per packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DtmfSpec {
    /// Payload type of RFC 4733 `telephone-event` packets.
    pub telephone_event_pt: Option<u8>,
    /// Clock rate of `telephone-event` (0 means 8000 Hz).
    pub telephone_event_rate: u32,
    /// Payload type of G.711 µ-law audio to run the in-band detector on.
    pub pcmu_pt: Option<u8>,
    /// Payload type of G.711 A-law audio to run the in-band detector on.
    pub pcma_pt: Option<u8>,
}

impl DtmfSpec {
    /// Whether anything is to be detected.
    pub fn is_active(&self) -> bool {
        self.telephone_event_pt.is_some() || self.pcmu_pt.is_some() || self.pcma_pt.is_some()
    }
}

/// How a digit reached the media plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the G.711 audio.
    Inband,
}

impl DtmfSource {
    /// Lower-case name (`rfc4733`, `inband`).
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfSource::Rfc4733 => "rfc4733",
            DtmfSource::Inband => "inband",
        }
    }
}

/// One digit report of an endpoint's received stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    /// RFC 4733 event code, 0–15 (`0-9`, `*`, `#`, `A-D`).
    pub event: u8,
    /// Where it came from.
    pub source: DtmfSource,
    /// False when the key went down, true when it was released.
    pub ended: bool,
    /// How long it was held (when `ended`; 0 otherwise).
    pub duration_ms: u32,
}

impl DtmfDigit {
    /// The keypad character of the event code.
    pub fn to_char(&self) -> char {
        b"0123456789*#ABCD"
            .get(usize::from(self.event))
            .map_or('?', |&b| b as char)
    }
}

fn put_pt(w: &mut Writer, pt: Option<u8>) {
    w.u8(pt.unwrap_or(NO_PT));
}

fn get_pt(r: &mut Reader<'_>, field: &'static str) -> Result<Option<u8>, DecodeError> {
    match r.u8(field)? {
        NO_PT => Ok(None),
        pt if pt < 128 => Ok(Some(pt)),
        _ => Err(DecodeError::InvalidField { field }),
    }
}

pub(crate) fn write_spec(w: &mut Writer, spec: &DtmfSpec) {
    put_pt(w, spec.telephone_event_pt);
    w.u32(spec.telephone_event_rate);
    put_pt(w, spec.pcmu_pt);
    put_pt(w, spec.pcma_pt);
}

pub(crate) fn read_spec(r: &mut Reader<'_>) -> Result<DtmfSpec, DecodeError> {
    Ok(DtmfSpec {
        telephone_event_pt: get_pt(r, "dtmf.telephone_event_pt")?,
        telephone_event_rate: r.u32("dtmf.telephone_event_rate")?,
        pcmu_pt: get_pt(r, "dtmf.pcmu_pt")?,
        pcma_pt: get_pt(r, "dtmf.pcma_pt")?,
    })
}

pub(crate) fn write_digit(w: &mut Writer, d: &DtmfDigit) {
    w.u8(d.event);
    w.u8(match d.source {
        DtmfSource::Rfc4733 => 1,
        DtmfSource::Inband => 2,
    });
    w.bool(d.ended);
    w.u32(d.duration_ms);
}

pub(crate) fn read_digit(r: &mut Reader<'_>) -> Result<DtmfDigit, DecodeError> {
    let event = r.u8("dtmf.event")?;
    if event > 15 {
        return Err(DecodeError::InvalidField {
            field: "dtmf.event",
        });
    }
    let source = match r.u8("dtmf.source")? {
        1 => DtmfSource::Rfc4733,
        2 => DtmfSource::Inband,
        _ => {
            return Err(DecodeError::InvalidField {
                field: "dtmf.source",
            })
        }
    };
    Ok(DtmfDigit {
        event,
        source,
        ended: r.bool("dtmf.ended")?,
        duration_ms: r.u32("dtmf.duration_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, EndpointHandle, Event, RequestId};

    fn ep() -> EndpointHandle {
        EndpointHandle {
            slot: 3,
            generation: 8,
        }
    }

    #[test]
    fn dtmf_command_and_event_round_trip() {
        let specs = [
            DtmfSpec::default(),
            DtmfSpec {
                telephone_event_pt: Some(101),
                telephone_event_rate: 8000,
                pcmu_pt: None,
                pcma_pt: None,
            },
            DtmfSpec {
                telephone_event_pt: None,
                telephone_event_rate: 0,
                pcmu_pt: Some(0),
                pcma_pt: Some(127),
            },
        ];
        for spec in specs {
            let cmd = Command::SetDtmf {
                req: RequestId(42),
                endpoint: ep(),
                spec,
            };
            let frame = cmd.encode();
            assert_eq!(frame.0[0], TAG_SET_DTMF);
            assert_eq!(Command::decode(&frame), Ok(cmd));
        }
        for (event, source, ended, duration_ms) in [
            (0, DtmfSource::Rfc4733, false, 0),
            (15, DtmfSource::Inband, true, u32::MAX),
            (11, DtmfSource::Rfc4733, true, 120),
        ] {
            let e = Event::Dtmf {
                endpoint: ep(),
                digit: DtmfDigit {
                    event,
                    source,
                    ended,
                    duration_ms,
                },
            };
            let frame = e.encode();
            assert_eq!(frame.0[0], TAG_DTMF);
            assert_eq!(Event::decode(&frame), Ok(e));
            assert_eq!(e.request_id(), None);
        }
        assert!(!DtmfSpec::default().is_active());
        assert!(specs[1].is_active() && specs[2].is_active());
    }

    #[test]
    fn bad_dtmf_fields_are_rejected() {
        let good = Command::SetDtmf {
            req: RequestId(1),
            endpoint: ep(),
            spec: DtmfSpec {
                telephone_event_pt: Some(101),
                ..DtmfSpec::default()
            },
        }
        .encode();
        let mut bad = good;
        bad.0[1 + 8 + 8] = 128; // a payload type above 127 that is not "none"
        assert_eq!(
            Command::decode(&bad),
            Err(DecodeError::InvalidField {
                field: "dtmf.telephone_event_pt"
            })
        );
        let digit = Event::Dtmf {
            endpoint: ep(),
            digit: DtmfDigit {
                event: 5,
                source: DtmfSource::Inband,
                ended: false,
                duration_ms: 0,
            },
        }
        .encode();
        let mut bad = digit;
        bad.0[1 + 8 + 8] = 16; // not a DTMF event code
        assert!(Event::decode(&bad).is_err());
        let mut bad = digit;
        bad.0[1 + 8 + 8 + 1] = 3; // unknown source
        assert!(Event::decode(&bad).is_err());
        let mut bad = digit;
        bad.0[1] = 9; // a notification carries no request id
        assert!(Event::decode(&bad).is_err());
        let d = DtmfDigit {
            event: 11,
            source: DtmfSource::Rfc4733,
            ended: true,
            duration_ms: 1,
        };
        assert_eq!(d.to_char(), '#');
        assert_eq!(DtmfSource::Inband.as_str(), "inband");
    }
}
