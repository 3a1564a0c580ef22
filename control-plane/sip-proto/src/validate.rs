//! Checks above the syntax level, and the salvage path that lets a server
//! answer an unparsable request with `400 Bad Request`.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::builder::{Response, ResponseBuilder};
use crate::header::HeaderKind;
use crate::message::Message;
use crate::text::{split_commas, unfold};
use crate::ParseError;

/// Headers that may appear at most once in a request.
const SINGLE: [HeaderKind; 7] = [
    HeaderKind::From,
    HeaderKind::To,
    HeaderKind::CallId,
    HeaderKind::CSeq,
    HeaderKind::MaxForwards,
    HeaderKind::ContentLength,
    HeaderKind::ContentType,
];

/// Checks what [`crate::parse_message`] leaves to the element receiving a
/// request (RFC 3261 §8.1.1 and §8.2): the mandatory To, From, Call-ID,
/// CSeq and Via are present, and none of To, From, Call-ID, CSeq,
/// Max-Forwards, Content-Length, Content-Type appears twice. A missing
/// Max-Forwards is tolerated. Responses pass unchecked.
///
/// The error names the problem; answer it with
/// [`ParseError::reason_phrase`] and a 400.
pub fn validate_request(msg: &Message<'_>) -> Result<(), ParseError> {
    if !msg.is_request() {
        return Ok(());
    }
    for (kind, name) in [
        (HeaderKind::To, "To"),
        (HeaderKind::From, "From"),
        (HeaderKind::CallId, "Call-ID"),
        (HeaderKind::CSeq, "CSeq"),
        (HeaderKind::Via, "Via"),
    ] {
        if msg.first(kind).is_none() {
            return Err(ParseError::MissingHeader(name));
        }
    }
    for kind in SINGLE {
        if msg.all_headers().iter().filter(|h| h.kind == kind).count() > 1 {
            return Err(ParseError::DuplicateHeader(
                kind.canonical_name().unwrap_or("header"),
            ));
        }
    }
    Ok(())
}

/// The raw header values of an unparsable request, enough to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged<'a> {
    /// The method token of the Request-Line.
    pub method: &'a str,
    /// Every Via entry, top first (unfolded, not validated).
    pub vias: SmallVec<[Cow<'a, str>; 4]>,
    /// The From value.
    pub from: Option<Cow<'a, str>>,
    /// The To value.
    pub to: Option<Cow<'a, str>>,
    /// The Call-ID value.
    pub call_id: Option<Cow<'a, str>>,
    /// The CSeq value.
    pub cseq: Option<Cow<'a, str>>,
}

impl<'a> Salvaged<'a> {
    /// A response carrying the salvaged Via, From, To, Call-ID and CSeq.
    pub fn response(&self, status: u16, reason: impl Into<Cow<'a, str>>) -> ResponseBuilder<'a> {
        let mut b = Response::builder(status, reason);
        b.vias = self.vias.clone();
        b.from = self.from.clone();
        b.to = self.to.clone();
        b.call_id = self.call_id.clone();
        b.cseq = self.cseq.clone();
        b
    }
}

/// When [`crate::parse_message`] fails on a request, extracts leniently the
/// raw Via, From, To, Call-ID and CSeq values so that the server can answer
/// `400 Bad Request` (use [`ParseError::reason_phrase`] as reason).
///
/// Returns `None` when the start line does not look like a request (a
/// response, or garbage), when the method is ACK (an ACK is never
/// answered), or when there is no Via to send the response to.
pub fn salvage_for_error_response(buf: &[u8]) -> Option<Salvaged<'_>> {
    let mut data = buf;
    while let Some(rest) = data.strip_prefix(b"\r\n") {
        data = rest;
    }
    let mut lines = Lines { rest: data };
    let start = lines.next()?;
    let start = std::str::from_utf8(start).ok()?;
    let (method, _) = start.split_once(' ')?;
    if method.is_empty()
        || !crate::text::is_token(method)
        || method.eq_ignore_ascii_case("SIP/2.0")
        || method == "ACK"
    {
        return None;
    }
    let mut s = Salvaged {
        method,
        vias: SmallVec::new(),
        from: None,
        to: None,
        call_id: None,
        cseq: None,
    };
    for line in lines {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let kind = HeaderKind::from_name(name.trim_end_matches([' ', '\t']));
        let slot = match kind {
            HeaderKind::Via => {
                s.vias
                    .extend(split_commas(value).filter(|v| !v.is_empty()).map(unfold));
                continue;
            }
            HeaderKind::From => &mut s.from,
            HeaderKind::To => &mut s.to,
            HeaderKind::CallId => &mut s.call_id,
            HeaderKind::CSeq => &mut s.cseq,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(unfold(value));
        }
    }
    (!s.vias.is_empty()).then_some(s)
}

/// Iterates over the logical lines of a header section (folds joined,
/// CRLF or bare LF accepted, stops at the first empty line).
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let b = self.rest;
        let mut end = 0;
        loop {
            let Some(nl) = memchr::memchr(b'\n', b.get(end..)?).map(|n| end + n) else {
                // Unterminated last line.
                if end >= b.len() {
                    return None;
                }
                self.rest = &[];
                return b.get(..b.len()).filter(|l| !l.is_empty());
            };
            let next = b.get(nl + 1).copied();
            if matches!(next, Some(b' ' | b'\t')) && nl > 0 {
                end = nl + 1;
                continue;
            }
            let line = b.get(..nl)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.rest = b.get(nl + 1..).unwrap_or_default();
            return (!line.is_empty()).then_some(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_message;

    const BASE: &str = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";

    #[test]
    fn mandatory_headers() {
        let m = parse_message(BASE.as_bytes()).unwrap();
        assert_eq!(validate_request(&m), Ok(()));
        for (line, name) in [
            ("To: <sip:a@b>\r\n", "To"),
            ("From: <sip:c@d>;tag=1\r\n", "From"),
            ("Call-ID: x\r\n", "Call-ID"),
            ("CSeq: 1 OPTIONS\r\n", "CSeq"),
            ("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "Via"),
        ] {
            let text = BASE.replace(line, "");
            let m = parse_message(text.as_bytes()).unwrap();
            assert_eq!(validate_request(&m), Err(ParseError::MissingHeader(name)));
        }
        let resp = parse_message(b"SIP/2.0 200 OK\r\n\r\n").unwrap();
        assert_eq!(validate_request(&resp), Ok(()));
    }

    #[test]
    fn duplicates_of_single_headers() {
        for (extra, name) in [
            ("Call-ID: y\r\n", "Call-ID"),
            ("t: <sip:e@f>\r\n", "To"),
            ("Max-Forwards: 1\r\nMax-Forwards: 2\r\n", "Max-Forwards"),
            ("l: 0\r\nContent-Length: 0\r\n", "Content-Length"),
        ] {
            let text = BASE.replace("\r\n\r\n", &format!("\r\n{extra}\r\n"));
            let m = parse_message(text.as_bytes()).unwrap();
            let err = validate_request(&m).unwrap_err();
            assert_eq!(err, ParseError::DuplicateHeader(name));
            assert!(err.reason_phrase().contains(name));
        }
    }

    #[test]
    fn salvage_collects_raw_values() {
        let text = b"INVITE sip:a@b SIP/2.0 junk\r\nv: SIP/2.0/UDP h1;branch=z9hG4bK1,\r\n SIP/2.0/UDP h2\r\n\
Via: SIP/2.0/UDP h3\r\nf: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\ni: id\r\nCSeq: 9 INVITE\r\n\
X: \xff\r\n\r\nbody";
        let buf = &text[..];
        assert!(parse_message(buf).is_err());
        let s = salvage_for_error_response(buf).unwrap();
        assert_eq!(s.method, "INVITE");
        assert_eq!(
            s.vias.as_slice(),
            [
                "SIP/2.0/UDP h1;branch=z9hG4bK1",
                "SIP/2.0/UDP h2",
                "SIP/2.0/UDP h3"
            ]
        );
        assert_eq!(s.from.as_deref(), Some("<sip:c@d>;tag=1"));
        assert_eq!(s.to.as_deref(), Some("<sip:a@b>"));
        assert_eq!(s.call_id.as_deref(), Some("id"));
        assert_eq!(s.cseq.as_deref(), Some("9 INVITE"));

        let err = parse_message(buf).unwrap_err();
        let resp = s
            .response(err.status_code(), err.reason_phrase())
            .to_tag("t1")
            .to_bytes();
        let resp = parse_message(&resp).unwrap();
        assert_eq!(resp.status(), Some(400));
        assert_eq!(resp.reason(), Some("Bad Request - invalid UTF-8"));
        assert_eq!(resp.vias().count(), 3);
        assert_eq!(resp.call_id(), Some("id"));
        assert_eq!(resp.to().unwrap().tag(), Some("t1"));
        assert_eq!(resp.header("CSeq").unwrap(), "9 INVITE");
    }

    #[test]
    fn salvage_refuses_responses_acks_and_viales() {
        assert!(
            salvage_for_error_response(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n").is_none()
        );
        assert!(
            salvage_for_error_response(b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n")
                .is_none()
        );
        assert!(salvage_for_error_response(b"INVITE sip:a@b SIP/2.0\r\nTo: x\r\n\r\n").is_none());
        assert!(salvage_for_error_response(b"\xff\xfe garbage").is_none());
        assert!(salvage_for_error_response(b"").is_none());
        let s = salvage_for_error_response(b"BYE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h").unwrap();
        assert_eq!(s.vias.as_slice(), ["SIP/2.0/UDP h"]);
    }
}
