//! DTMF detection on an endpoint's received stream: RFC 4733 telephone-events through the
//! `warden-dsp` receiver (one report per press despite retransmitted end packets, long
//! presses joined) and in-band tones in G.711 audio through the `warden-dsp` detector.
//!
//! A [`DtmfTap`] is allocated when the control plane asks for detection (`SetDtmf`) and then
//! works without allocating: the G.711 payload is decoded in fixed chunks into a buffer
//! owned by the tap. Endpoints that did not ask pay one `Option` check per packet. The
//! packets themselves are relayed unchanged by the caller.

use warden_dsp::codec::g711;
use warden_dsp::dtmf::{DtmfEvent, InbandEvent};
use warden_dsp::{DtmfDetector, DtmfReceiver};
use warden_rtp_proto::RtpPacket;
use warden_shared::{DtmfDigit, DtmfSource, DtmfSpec, EndpointHandle, ErrorCode, Event};

use crate::endpoint::EndpointTable;
use crate::load::LocalCounters;
use crate::notify::Notifier;

/// An RFC 4733 event with no packets for this long is ended (its end packets were lost).
const EVENT_TIMEOUT_MS: u64 = 800;
/// Samples decoded at a time for the in-band detector.
const CHUNK: usize = 160;

/// Per-endpoint DTMF state.
pub(crate) struct DtmfTap {
    spec: DtmfSpec,
    receiver: DtmfReceiver,
    detector: DtmfDetector,
    pcm: [i16; CHUNK],
}

impl DtmfTap {
    /// Whether the tap listens to the audio itself (in-band detection in G.711).
    pub(crate) fn listens_to_audio(&self) -> bool {
        self.spec.pcmu_pt.is_some() || self.spec.pcma_pt.is_some()
    }

    /// The telephone-event payload type the tap reads (RFC 4733).
    pub(crate) fn event_pt(&self) -> Option<u8> {
        self.spec.telephone_event_pt
    }

    /// A tap for `spec`; `None` when the spec detects nothing.
    pub(crate) fn new(spec: DtmfSpec) -> Option<Box<Self>> {
        spec.is_active().then(|| {
            let rate = match spec.telephone_event_rate {
                0 => 8000,
                r => r,
            };
            Box::new(Self {
                spec,
                receiver: DtmfReceiver::new(rate, EVENT_TIMEOUT_MS),
                detector: DtmfDetector::new(),
                pcm: [0; CHUNK],
            })
        })
    }

    pub(crate) fn spec(&self) -> DtmfSpec {
        self.spec
    }

    /// Feeds one received RTP packet (already validated by the relay) that arrived at
    /// `now_ms`; reports digits through `emit`. Returns false for a telephone-event whose
    /// payload does not parse.
    pub(crate) fn on_rtp(
        &mut self,
        bytes: &[u8],
        now_ms: u64,
        mut emit: impl FnMut(DtmfDigit),
    ) -> bool {
        let Ok(p) = RtpPacket::parse(bytes) else {
            return true;
        };
        let pt = p.payload_type();
        if Some(pt) == self.spec.telephone_event_pt {
            let result = self
                .receiver
                .on_packet(now_ms, p.timestamp(), p.payload(), |e| {
                    rfc4733(e, &mut emit)
                });
            return result.is_ok();
        }
        if Some(pt) == self.spec.pcmu_pt {
            self.inband(p.payload(), false, &mut emit);
        } else if Some(pt) == self.spec.pcma_pt {
            self.inband(p.payload(), true, &mut emit);
        }
        true
    }

    fn inband(&mut self, payload: &[u8], alaw: bool, emit: &mut impl FnMut(DtmfDigit)) {
        for codes in payload.chunks(CHUNK) {
            let n = if alaw {
                g711::decode_alaw(codes, &mut self.pcm)
            } else {
                g711::decode_ulaw(codes, &mut self.pcm)
            };
            let pcm = self.pcm.get(..n).unwrap_or_default();
            self.detector.process(pcm, |e| {
                let (digit, ended, duration_ms) = match e {
                    InbandEvent::Began { digit, .. } => (digit, false, 0),
                    InbandEvent::Ended { digit, duration_ms } => (digit, true, duration_ms),
                };
                emit(DtmfDigit {
                    event: digit.event(),
                    source: DtmfSource::Inband,
                    ended,
                    duration_ms: clamp_ms(duration_ms),
                });
            });
        }
    }

    /// Ends an RFC 4733 event whose packets stopped (called from housekeeping).
    pub(crate) fn poll(&mut self, now_ms: u64, mut emit: impl FnMut(DtmfDigit)) {
        self.receiver.poll(now_ms, |e| rfc4733(e, &mut emit));
    }
}

/// The relay's hook: feeds a packet to the endpoint's tap, queues its reports and counts
/// key presses and unreadable telephone-events.
#[inline]
pub(crate) fn feed(
    tap: &mut DtmfTap,
    endpoint: EndpointHandle,
    bytes: &[u8],
    now_ns: u64,
    notifier: &mut Notifier,
    counters: &mut LocalCounters,
) {
    let ok = tap.on_rtp(bytes, now_ns / 1_000_000, |digit| {
        tracing::trace!(event = digit.event, ended = digit.ended, "dtmf digit");
        counters.dtmf_digits += u64::from(digit.ended);
        notifier.send(&Event::Dtmf { endpoint, digit });
    });
    if !ok {
        counters.dtmf_malformed += 1;
    }
}

/// Applies `SetDtmf`: a new tap for a changed spec (detection state restarts), none for
/// the default spec, nothing for the spec already in force.
pub(crate) fn configure(
    table: &mut EndpointTable,
    endpoint: EndpointHandle,
    spec: DtmfSpec,
) -> Result<(), ErrorCode> {
    let ep = table.get_mut(endpoint).ok_or(ErrorCode::UnknownEndpoint)?;
    if ep.dtmf.as_ref().map(|t| t.spec()) != Some(spec) {
        ep.dtmf = DtmfTap::new(spec);
    }
    Ok(())
}

/// Ends RFC 4733 events whose packets stopped, on every endpoint with a tap.
pub(crate) fn poll_all(
    table: &mut EndpointTable,
    now_ms: u64,
    notifier: &mut Notifier,
    counters: &mut LocalCounters,
) {
    for (endpoint, ep) in table.iter_mut() {
        if let Some(tap) = ep.dtmf.as_deref_mut() {
            tap.poll(now_ms, |digit| {
                counters.dtmf_digits += u64::from(digit.ended);
                notifier.send(&Event::Dtmf { endpoint, digit })
            });
        }
    }
}

fn clamp_ms(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

/// Maps a receiver report to a digit report; events 16 and up (not DTMF) are ignored.
fn rfc4733(e: DtmfEvent, emit: &mut impl FnMut(DtmfDigit)) {
    let (event, ended, duration_ms) = match e {
        DtmfEvent::Began { event, .. } => (event, false, 0),
        DtmfEvent::Ended {
            event, duration_ms, ..
        } => (event, true, duration_ms),
    };
    if event < 16 {
        emit(DtmfDigit {
            event,
            source: DtmfSource::Rfc4733,
            ended,
            duration_ms: clamp_ms(duration_ms),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_dsp::dtmf::Digit;
    use warden_dsp::{DtmfGenerator, ToneGenerator, ToneSpec};

    fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn ended(digits: &[DtmfDigit]) -> String {
        digits
            .iter()
            .filter(|d| d.ended)
            .map(DtmfDigit::to_char)
            .collect()
    }

    #[test]
    fn nothing_to_detect_needs_no_tap() {
        assert!(DtmfTap::new(DtmfSpec::default()).is_none());
    }

    #[test]
    fn telephone_events_give_one_report_per_press() {
        let mut tap = DtmfTap::new(DtmfSpec {
            telephone_event_pt: Some(101),
            telephone_event_rate: 8000,
            ..DtmfSpec::default()
        })
        .unwrap();
        let generator = DtmfGenerator::new(8000, 10);
        let mut out = Vec::new();
        let mut seq = 0u16;
        let mut ts = 1000u32;
        for (i, c) in "19#*D".chars().enumerate() {
            let base_ms = i as u64 * 400;
            for pkt in generator.packets(Digit::from_char(c).unwrap(), ts, 120) {
                seq = seq.wrapping_add(1);
                let bytes = rtp(101, seq, pkt.ts, pkt.marker, &pkt.payload);
                tap.on_rtp(&bytes, base_ms + pkt.offset_ms, |d| out.push(d));
            }
            // Voice packets on another payload type are not looked at.
            tap.on_rtp(&rtp(0, seq, ts, false, &[0xff; 160]), base_ms + 200, |d| {
                out.push(d)
            });
            ts = ts.wrapping_add(3200);
        }
        assert_eq!(ended(&out), "19#*D");
        assert_eq!(out.iter().filter(|d| !d.ended).count(), 5);
        assert!(out.iter().all(|d| d.source == DtmfSource::Rfc4733));
        let d = out.iter().find(|d| d.ended).unwrap();
        assert!((110..=130).contains(&d.duration_ms), "{d:?}");

        // A truncated payload is refused, not reported.
        let n = out.len();
        assert!(!tap.on_rtp(&rtp(101, 99, 1, false, &[1, 2]), 5000, |d| out.push(d)));
        assert_eq!(out.len(), n);
    }

    #[test]
    fn a_press_whose_end_packets_are_lost_ends_on_poll() {
        let mut tap = DtmfTap::new(DtmfSpec {
            telephone_event_pt: Some(96),
            ..DtmfSpec::default()
        })
        .unwrap();
        let mut out = Vec::new();
        let start = [7u8, 10, 0, 0];
        tap.on_rtp(&rtp(96, 1, 500, true, &start), 0, |d| out.push(d));
        tap.on_rtp(&rtp(96, 2, 500, false, &[7, 10, 1, 0x40]), 40, |d| {
            out.push(d)
        });
        tap.poll(100, |d| out.push(d));
        assert_eq!(ended(&out), "");
        tap.poll(40 + EVENT_TIMEOUT_MS, |d| out.push(d));
        assert_eq!(ended(&out), "7");
    }

    fn tones(digits: &str, law_alaw: bool) -> Vec<Vec<u8>> {
        let mut pcm = Vec::new();
        for c in digits.chars() {
            let mut g =
                ToneGenerator::new(ToneSpec::dtmf(Digit::from_char(c).unwrap(), 80), 8000).unwrap();
            let mut frame = [0i16; 640];
            g.next_frame(&mut frame);
            pcm.extend_from_slice(&frame[..]);
            pcm.extend(std::iter::repeat_n(0i16, 640));
        }
        pcm.chunks(160)
            .map(|c| {
                let mut out = vec![0u8; c.len()];
                if law_alaw {
                    g711::encode_alaw(c, &mut out);
                } else {
                    g711::encode_ulaw(c, &mut out);
                }
                out
            })
            .collect()
    }

    #[test]
    fn inband_tones_in_pcmu_and_pcma_are_detected() {
        for (alaw, pt) in [(false, 0u8), (true, 8u8)] {
            let spec = DtmfSpec {
                pcmu_pt: Some(0),
                pcma_pt: Some(8),
                ..DtmfSpec::default()
            };
            let mut tap = DtmfTap::new(spec).unwrap();
            let mut out = Vec::new();
            for (i, payload) in tones("0123456789*#ABCD", alaw).iter().enumerate() {
                let bytes = rtp(pt, i as u16, i as u32 * 160, false, payload);
                tap.on_rtp(&bytes, i as u64 * 20, |d| out.push(d));
            }
            assert_eq!(ended(&out), "0123456789*#ABCD", "alaw={alaw}");
            assert!(out.iter().all(|d| d.source == DtmfSource::Inband));
            assert!(out
                .iter()
                .filter(|d| d.ended)
                .all(|d| (50..=100).contains(&d.duration_ms)));
        }
    }

    #[test]
    fn silence_and_garbage_report_nothing() {
        let mut tap = DtmfTap::new(DtmfSpec {
            pcmu_pt: Some(0),
            ..DtmfSpec::default()
        })
        .unwrap();
        let mut out = Vec::new();
        for i in 0..50u16 {
            tap.on_rtp(
                &rtp(0, i, u32::from(i) * 160, false, &[0xff; 160]),
                0,
                |d| out.push(d),
            );
        }
        tap.on_rtp(&[0x80, 0], 0, |d| out.push(d));
        tap.on_rtp(&[], 0, |d| out.push(d));
        assert!(out.is_empty());
    }
}
