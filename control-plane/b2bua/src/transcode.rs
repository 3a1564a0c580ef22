//! Offer/answer for legs that share no codec: the offer to the callee carries the caller's
//! formats plus the voice codecs the media plane can transcode that the caller lacks; when
//! the callee answers with one the caller did not offer, the caller is answered with its own
//! best codec and the call is bridged in transcoding mode.
//!
//! An answer that keeps a codec of the caller is relayed as before ([`crate::sdp::intersect`]);
//! only an answer with nothing in common is transcoded, and only between codecs the media
//! plane has (PCMU, PCMA, G722, opus/48000/2, L16). `telephone-event` is kept on both legs
//! when both have it.

use std::borrow::Cow;

use warden_sip_proto::sdp::{Attribute, MediaDescription};

use crate::io::{LegCodec, VoiceCodec};
use crate::sdp::{self, audio_index, encoding, NoCommonCodec, Sdp};

/// What the offer to the callee adds, in this order, when the caller lacks it:
/// (encoding name, clock rate, channels, static payload type).
const ADDED: [(&str, u32, Option<u16>, Option<u8>); 5] = [
    ("opus", 48_000, Some(2), None),
    ("G722", 8000, None, Some(9)),
    ("PCMU", 8000, None, Some(0)),
    ("PCMA", 8000, None, Some(8)),
    ("L16", 16_000, None, None),
];

/// The transcodable codec with this encoding name and RTP clock rate.
pub(crate) fn voice_codec(name: &str, clock_rate: u32) -> Option<VoiceCodec> {
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    match clock_rate {
        8000 if is("PCMU") => Some(VoiceCodec::Pcmu),
        8000 if is("PCMA") => Some(VoiceCodec::Pcma),
        8000 if is("G722") => Some(VoiceCodec::G722),
        48_000 if is("opus") => Some(VoiceCodec::Opus),
        8000 | 16_000 | 48_000 if is("L16") => Some(VoiceCodec::L16),
        _ => None,
    }
}

/// The first transcodable voice format of a stream: payload type, codec, clock rate.
fn first_transcodable(m: &MediaDescription<'_>) -> Option<(u8, VoiceCodec, u32)> {
    m.payload_types().find_map(|pt| {
        let (name, clock) = encoding(m, pt)?;
        voice_codec(&name, clock).map(|c| (pt, c, clock))
    })
}

/// The `telephone-event/8000` payload type of a stream.
fn telephone_event(m: &MediaDescription<'_>) -> Option<u8> {
    m.payload_types().find(|&pt| {
        encoding(m, pt).is_some_and(|(n, c)| n.eq_ignore_ascii_case("telephone-event") && c == 8000)
    })
}

fn has(m: &MediaDescription<'_>, name: &str, clock: u32) -> bool {
    m.payload_types()
        .any(|pt| encoding(m, pt).is_some_and(|(n, c)| n.eq_ignore_ascii_case(name) && c == clock))
}

/// The caller's offer extended with the transcodable codecs it lacks (after its own, so a
/// callee honouring the offerer's preference picks a common codec). Unchanged when the
/// caller has no transcodable codec: there would be nothing to transcode from.
pub(crate) fn extend_offer(offer: &Sdp) -> Sdp {
    let mut out = offer.clone();
    let Some(m) = audio_index(offer).and_then(|i| out.media.get_mut(i)) else {
        return out;
    };
    if first_transcodable(m).is_none() {
        return out;
    }
    for (name, clock, channels, static_pt) in ADDED {
        if has(m, name, clock) {
            continue;
        }
        let used: Vec<u8> = m.payload_types().collect();
        let pt = match static_pt {
            Some(pt) if !used.contains(&pt) => Some(pt),
            Some(_) => None,
            None => (96u8..=127).find(|pt| !used.contains(pt)),
        };
        let Some(pt) = pt else {
            continue;
        };
        m.formats.push(Cow::Owned(pt.to_string()));
        let value = match channels {
            Some(ch) => format!("{pt} {name}/{clock}/{ch}"),
            None => format!("{pt} {name}/{clock}"),
        };
        m.attributes.push(Attribute {
            name: Cow::Borrowed("rtpmap"),
            value: Some(Cow::Owned(value)),
        });
        if name == "opus" {
            m.attributes.push(Attribute {
                name: Cow::Borrowed("fmtp"),
                value: Some(Cow::Owned(format!("{pt} useinbandfec=1"))),
            });
        }
    }
    out
}

/// Keeps only the formats `keep` (and their rtpmap/fmtp attributes) on stream `idx`.
pub(crate) fn restrict(sd: &Sdp, idx: usize, keep: &[u8]) -> Sdp {
    let mut out = sd.clone();
    if let Some(m) = out.media.get_mut(idx) {
        m.formats
            .retain(|f| f.parse::<u8>().map_or(true, |pt| keep.contains(&pt)));
        m.attributes.retain(|a| match a.name.as_ref() {
            "rtpmap" | "fmtp" => a
                .value
                .as_deref()
                .and_then(|v| v.split(' ').next())
                .and_then(|pt| pt.parse::<u8>().ok())
                .is_none_or(|pt| keep.contains(&pt)),
            _ => true,
        });
    }
    out
}

/// A transcoded call: what each leg speaks and the descriptions of both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The callee's answer, cut to its codec (and telephone-event).
    pub(crate) b_answer: Sdp,
    /// The caller's offer cut to its best codec (and telephone-event): what the caller is
    /// answered with, once anchored.
    pub(crate) a_answer: Sdp,
    /// The caller's leg.
    pub(crate) a: LegCodec,
    /// The callee's leg.
    pub(crate) b: LegCodec,
}

impl Plan {
    /// The call's codec for records, e.g. `PCMU<->opus`.
    pub(crate) fn label(&self) -> String {
        format!("{}<->{}", self.a.codec.name(), self.b.codec.name())
    }
}

fn ptime(m: &MediaDescription<'_>) -> u16 {
    m.ptime()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .unwrap_or(20)
}

/// Plans transcoding between the caller's offer and a callee answer that shares no codec
/// with it. `None` when either side has no transcodable codec.
pub(crate) fn plan(a_offer: &Sdp, b_answer: &Sdp) -> Option<Plan> {
    let idx = audio_index(b_answer)?;
    let am = a_offer.media.get(idx)?;
    let bm = b_answer.media.get(idx)?;
    let (a_pt, a_codec, a_clock) = first_transcodable(am)?;
    let (b_pt, b_codec, b_clock) = first_transcodable(bm)?;
    let (a_te, b_te) = match (telephone_event(am), telephone_event(bm)) {
        (Some(a), Some(b)) => (Some(a), Some(b)),
        _ => (None, None),
    };
    let keep = |pt: u8, te: Option<u8>| -> Vec<u8> { std::iter::once(pt).chain(te).collect() };
    let mut a_answer = restrict(a_offer, idx, &keep(a_pt, a_te));
    if let Some(m) = a_answer.media.get_mut(idx) {
        // The bridge decodes 20 ms frames: ask the caller for 20 ms packets.
        m.attributes.retain(|a| a.name != "ptime");
        m.attributes.push(Attribute {
            name: Cow::Borrowed("ptime"),
            value: Some(Cow::Borrowed("20")),
        });
    }
    Some(Plan {
        b_answer: restrict(b_answer, idx, &keep(b_pt, b_te)),
        a_answer,
        a: LegCodec {
            codec: a_codec,
            payload_type: a_pt,
            clock_rate: a_clock,
            ptime_ms: ptime(am),
            telephone_event: a_te,
        },
        b: LegCodec {
            codec: b_codec,
            payload_type: b_pt,
            clock_rate: b_clock,
            ptime_ms: ptime(bm),
            telephone_event: b_te,
        },
    })
}

/// How an answer from the callee is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Negotiated {
    /// A codec in common: relay, the answer cut to the caller's offer.
    Relay(Box<Sdp>),
    /// Nothing in common but both sides transcodable.
    Transcode(Box<Plan>),
}

/// Matches the callee's answer against the caller's offer: relay when they share a voice
/// codec, transcode when they do not but both have a transcodable one, 488 otherwise.
pub(crate) fn negotiate(a_offer: &Sdp, b_answer: &Sdp) -> Result<Negotiated, NoCommonCodec> {
    match sdp::intersect(a_offer, b_answer) {
        Ok(cut) => Ok(Negotiated::Relay(Box::new(cut))),
        Err(NoCommonCodec) => plan(a_offer, b_answer)
            .map(|p| Negotiated::Transcode(Box::new(p)))
            .ok_or(NoCommonCodec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(text: &str) -> Sdp {
        warden_sip_proto::sdp::parse_str(text).unwrap().into_owned()
    }

    const HEAD: &str =
        "v=0\r\no=x 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n";

    fn with(m: &str) -> Sdp {
        sdp(&format!("{HEAD}{m}"))
    }

    #[test]
    fn the_offer_gains_the_transcodable_codecs_the_caller_lacks() {
        let a = with(
            "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n",
        );
        let text = extend_offer(&a).to_string();
        assert!(
            text.contains("m=audio 4000 RTP/AVP 0 101 96 9 8 97\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"), "{text}");
        assert!(text.contains("a=fmtp:96 useinbandfec=1\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:9 G722/8000\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:8 PCMA/8000\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:97 L16/16000\r\n"), "{text}");

        // Opus already there (another number): not added twice.
        let b = with("m=audio 4000 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\n");
        let text = extend_offer(&b).to_string();
        assert!(
            text.contains("m=audio 4000 RTP/AVP 111 0 9 8 96\r\n"),
            "{text}"
        );

        // Nothing transcodable: unchanged.
        let g729 = with("m=audio 4000 RTP/AVP 18\r\n");
        assert_eq!(extend_offer(&g729), g729);
    }

    #[test]
    fn plans_pick_each_sides_first_transcodable_codec() {
        let a = with(
            "m=audio 4000 RTP/AVP 18 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
a=ptime:30\r\n",
        );
        let b = with(
            "m=audio 6000 RTP/AVP 111 100\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\na=rtpmap:100 telephone-event/8000\r\n",
        );
        let Negotiated::Transcode(p) = negotiate(&a, &b).unwrap() else {
            panic!("expected transcoding");
        };
        assert_eq!(p.a.codec, VoiceCodec::Pcmu);
        assert_eq!(
            (p.a.payload_type, p.a.clock_rate, p.a.ptime_ms),
            (0, 8000, 30)
        );
        assert_eq!(p.a.telephone_event, Some(101));
        assert_eq!(p.b.codec, VoiceCodec::Opus);
        assert_eq!(
            (p.b.payload_type, p.b.clock_rate, p.b.ptime_ms),
            (111, 48_000, 20)
        );
        assert_eq!(p.b.telephone_event, Some(100));
        assert_eq!(p.label(), "PCMU<->opus");
        assert_eq!(p.a_answer.media[0].formats, ["0", "101"]);
        assert_eq!(p.a_answer.media[0].ptime(), Some(20), "20 ms asked for");
        assert_eq!(p.b_answer.media[0].formats, ["111", "100"]);

        // Without telephone-event on one side, neither leg keeps it.
        let b = with("m=audio 6000 RTP/AVP 8\r\n");
        let Negotiated::Transcode(p) = negotiate(&a, &b).unwrap() else {
            panic!("expected transcoding");
        };
        assert_eq!((p.a.telephone_event, p.b.telephone_event), (None, None));
        assert_eq!(p.a_answer.media[0].formats, ["0"]);

        // A common codec is relayed; nothing transcodable fails.
        let common = with("m=audio 6000 RTP/AVP 0\r\n");
        assert!(matches!(negotiate(&a, &common), Ok(Negotiated::Relay(_))));
        let g729 = with("m=audio 4000 RTP/AVP 18\r\n");
        assert_eq!(negotiate(&g729, &b), Err(NoCommonCodec));
        assert_eq!(voice_codec("L16", 44_100), None);
    }
}
