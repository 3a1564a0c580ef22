//! DTMF of calls: which payload types the media plane watches on each leg, digits from the
//! media plane (RFC 4733, in-band) and from SIP INFO (`application/dtmf-relay`,
//! `application/dtmf`), published as one `CallEvent::Dtmf` per key press, logged and
//! counted by source.
//!
//! Detection per leg: RFC 4733 when both parties' SDP have `telephone-event` (the answer
//! keeps it only then), else in-band tones on the leg's G.711 payload types.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tracing::{debug, info};
use warden_b2bua::{CallId, DtmfFormats, Leg};
use warden_media::{DtmfDigit, DtmfSpec, EndpointId};

use super::Calls;
use crate::events::CallEvent;

/// Labels of the digit counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SourceLabels {
    /// `rfc4733`, `inband` or `info`.
    pub(crate) source: &'static str,
}

/// DTMF metrics: `warden_dtmf_digits_total{source}`, `warden_dtmf_info_malformed_total`.
#[derive(Default)]
pub(crate) struct DtmfMetrics {
    digits: Family<SourceLabels, Counter>,
    info_malformed: Counter,
}

impl DtmfMetrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "dtmf_digits",
            "DTMF key presses seen in calls, by source (rfc4733, inband, info)",
            self.digits.clone(),
        );
        registry.register(
            "dtmf_info_malformed",
            "SIP INFO DTMF bodies that could not be read (relayed anyway)",
            self.info_malformed.clone(),
        );
    }
}

/// The DTMF formats each party offered and the detection in force on its endpoint.
#[derive(Default)]
pub(super) struct DtmfLegs {
    formats: [Option<DtmfFormats>; 2],
    applied: [DtmfSpec; 2],
}

fn index(leg: Leg) -> usize {
    match leg {
        Leg::A => 0,
        Leg::B => 1,
    }
}

/// What to detect on the endpoint facing a party with formats `own`, when the other party
/// has `other`.
pub(super) fn spec_for(own: Option<DtmfFormats>, other: Option<DtmfFormats>) -> DtmfSpec {
    let Some(own) = own else {
        return DtmfSpec::default();
    };
    let negotiated = other.is_some_and(|o| o.telephone_event.is_some());
    match own.telephone_event {
        Some(pt) if negotiated => DtmfSpec {
            telephone_event_pt: Some(pt),
            telephone_event_rate: own.telephone_event_rate,
            pcmu_pt: None,
            pcma_pt: None,
        },
        _ => DtmfSpec {
            telephone_event_pt: None,
            telephone_event_rate: 0,
            pcmu_pt: own.pcmu,
            pcma_pt: own.pcma,
        },
    }
}

impl DtmfLegs {
    /// Notes a party's formats (from a media update).
    pub(super) fn note(&mut self, leg: Leg, formats: DtmfFormats) {
        self.formats[index(leg)] = Some(formats);
    }

    /// Gives leg `to` the formats of leg `from` (a party talking to the PBX itself).
    pub(super) fn mirror(&mut self, from: Leg, to: Leg) {
        self.formats[index(to)] = self.formats[index(from)];
    }

    /// The legs whose detection must change, with the new spec (and records it as applied).
    pub(super) fn changes(&mut self) -> Vec<(Leg, DtmfSpec)> {
        let mut out = Vec::new();
        for (leg, other) in [(Leg::A, Leg::B), (Leg::B, Leg::A)] {
            let spec = spec_for(self.formats[index(leg)], self.formats[index(other)]);
            if spec != self.applied[index(leg)] {
                self.applied[index(leg)] = spec;
                out.push((leg, spec));
            }
        }
        out
    }
}

/// A DTMF INFO body that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InfoError {
    /// No `Signal=` line (dtmf-relay) or no digit (dtmf).
    #[error("no signal")]
    NoSignal,
    /// The signal is not one of 0-9 * # A-D (or event codes 10-15).
    #[error("unknown signal")]
    BadSignal,
    /// `Duration=` is not a number of milliseconds.
    #[error("bad duration")]
    BadDuration,
}

/// Whether an INFO Content-Type carries DTMF: `application/dtmf-relay` or
/// `application/dtmf` (parameters ignored).
pub(super) fn is_dtmf_info(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/dtmf-relay")
        || essence.eq_ignore_ascii_case("application/dtmf")
}

fn signal(text: &str) -> Result<char, InfoError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InfoError::NoSignal);
    }
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        let c = c.to_ascii_uppercase();
        if matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') {
            return Ok(c);
        }
        return Err(InfoError::BadSignal);
    }
    // Some phones send the RFC 4733 event code: 10 for *, 11 for #, 12-15 for A-D.
    match text.parse::<u8>() {
        Ok(code @ 10..=15) => Ok(char::from(b"*#ABCD"[usize::from(code - 10)])),
        _ => Err(InfoError::BadSignal),
    }
}

/// Reads a DTMF INFO body: `application/dtmf-relay` (`Signal=5` and optional
/// `Duration=160` lines, case-insensitive keys) or `application/dtmf` (the digit alone).
/// Returns the digit and the duration in milliseconds when given.
pub(super) fn parse_info(
    content_type: &str,
    body: &[u8],
) -> Result<(char, Option<u32>), InfoError> {
    let text = std::str::from_utf8(body).map_err(|_| InfoError::NoSignal)?;
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/dtmf") {
        return signal(text).map(|d| (d, None));
    }
    let (mut digit, mut duration) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.eq_ignore_ascii_case("signal") {
            digit = Some(signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            let ms = value
                .trim()
                .parse::<u32>()
                .map_err(|_| InfoError::BadDuration)?;
            duration = Some(ms);
        }
    }
    Ok((digit.ok_or(InfoError::NoSignal)?, duration))
}

impl Calls {
    /// A digit report from the media plane: published when the key is released.
    pub(super) fn media_dtmf(&self, endpoint: EndpointId, digit: DtmfDigit) {
        if !digit.ended {
            return;
        }
        let owner = self
            .endpoints
            .lock()
            .ok()
            .and_then(|e| e.get(&endpoint).copied());
        if let Some((call, leg)) = owner {
            self.publish_dtmf(
                call,
                leg,
                digit.to_char(),
                digit.source.as_str(),
                Some(digit.duration_ms),
            );
        }
    }

    /// An INFO with a body from a party: DTMF bodies become digits, unreadable ones are
    /// counted (the INFO itself was relayed either way). Returns whether it was a digit.
    pub(super) fn info_dtmf(
        &self,
        call: CallId,
        leg: Leg,
        content_type: &str,
        body: &[u8],
    ) -> bool {
        if !is_dtmf_info(content_type) {
            return false;
        }
        match parse_info(content_type, body) {
            Ok((digit, duration)) => {
                self.publish_dtmf(call, leg, digit, "info", duration);
                true
            }
            Err(error) => {
                self.metrics.calls.dtmf.info_malformed.inc();
                debug!(%call, leg = leg.as_str(), %error, "dtmf info body not understood");
                false
            }
        }
    }

    fn publish_dtmf(
        &self,
        call: CallId,
        leg: Leg,
        digit: char,
        source: &'static str,
        duration_ms: Option<u32>,
    ) {
        let call_id = self
            .parties
            .lock()
            .ok()
            .and_then(|p| p.get(&call).map(|p| p.call_id.clone()))
            .unwrap_or_default();
        self.metrics
            .calls
            .dtmf
            .digits
            .get_or_create(&SourceLabels { source })
            .inc();
        info!(%call, %call_id, leg = leg.as_str(), %digit, source, duration_ms, "dtmf digit");
        self.voicemail_digit(call, leg, digit);
        self.events.publish_call(CallEvent::Dtmf {
            call: call.to_string(),
            call_id,
            leg: leg.as_str(),
            digit,
            source,
            duration_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats(te: Option<u8>) -> DtmfFormats {
        DtmfFormats {
            telephone_event: te,
            telephone_event_rate: 8000,
            pcmu: Some(0),
            pcma: Some(8),
        }
    }

    #[test]
    fn telephone_event_only_when_both_parties_have_it() {
        let rfc = spec_for(Some(formats(Some(101))), Some(formats(Some(96))));
        assert_eq!(rfc.telephone_event_pt, Some(101));
        assert_eq!((rfc.pcmu_pt, rfc.pcma_pt), (None, None));
        for other in [Some(formats(None)), None] {
            let inband = spec_for(Some(formats(Some(101))), other);
            assert_eq!(inband.telephone_event_pt, None);
            assert_eq!((inband.pcmu_pt, inband.pcma_pt), (Some(0), Some(8)));
        }
        assert_eq!(spec_for(None, Some(formats(Some(1)))), DtmfSpec::default());
    }

    #[test]
    fn changes_are_reported_once() {
        let mut legs = DtmfLegs::default();
        assert!(legs.changes().is_empty());
        legs.note(Leg::B, formats(Some(96)));
        let first = legs.changes();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, Leg::B);
        assert_eq!(first[0].1.pcmu_pt, Some(0));
        legs.note(Leg::A, formats(Some(101)));
        let second = legs.changes();
        assert_eq!(second.len(), 2, "{second:?}");
        assert!(second.iter().all(|(_, s)| s.telephone_event_pt.is_some()));
        legs.note(Leg::A, formats(Some(101)));
        assert!(legs.changes().is_empty());
    }

    #[test]
    fn dtmf_relay_bodies() {
        let ct = "application/dtmf-relay";
        assert_eq!(
            parse_info(ct, b"Signal=5\r\nDuration=160\r\n"),
            Ok(('5', Some(160)))
        );
        assert_eq!(
            parse_info(ct, b"signal= #\nduration = 250"),
            Ok(('#', Some(250)))
        );
        assert_eq!(parse_info(ct, b"Signal=*"), Ok(('*', None)));
        assert_eq!(parse_info(ct, b"Signal=d\r\n"), Ok(('D', None)));
        assert_eq!(parse_info(ct, b"Signal=11\r\n"), Ok(('#', None)));
        assert_eq!(parse_info(ct, b"Signal=10\r\n"), Ok(('*', None)));
        assert_eq!(
            parse_info("Application/DTMF-Relay; charset=x", b"Signal=0"),
            Ok(('0', None))
        );
        assert_eq!(parse_info("application/dtmf", b"7\r\n"), Ok(('7', None)));
    }

    #[test]
    fn garbage_bodies_are_errors_not_panics() {
        let ct = "application/dtmf-relay";
        assert_eq!(parse_info(ct, b""), Err(InfoError::NoSignal));
        assert_eq!(parse_info(ct, b"Duration=100"), Err(InfoError::NoSignal));
        assert_eq!(parse_info(ct, b"Signal=X"), Err(InfoError::BadSignal));
        assert_eq!(parse_info(ct, b"Signal=16"), Err(InfoError::BadSignal));
        assert_eq!(parse_info(ct, b"Signal=55"), Err(InfoError::BadSignal));
        assert_eq!(parse_info(ct, b"Signal="), Err(InfoError::NoSignal));
        assert_eq!(
            parse_info(ct, b"Signal=1\nDuration=-5"),
            Err(InfoError::BadDuration)
        );
        assert_eq!(
            parse_info(ct, &[0xff, 0xfe, b'=']),
            Err(InfoError::NoSignal)
        );
        assert_eq!(parse_info("application/dtmf", b"12"), Ok(('A', None)));
        assert_eq!(
            parse_info("application/dtmf", b"xyz"),
            Err(InfoError::BadSignal)
        );
        assert!(is_dtmf_info("application/dtmf-relay"));
        assert!(!is_dtmf_info("application/media_control+xml"));
    }
}
