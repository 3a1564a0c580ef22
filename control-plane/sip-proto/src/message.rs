//! The zero-copy SIP message and its parser.
//!
//! [`parse_message`] splits the start line and the header fields with
//! memchr, canonicalises header names, checks the syntax of the headers a
//! SIP element relies on (Via, From, To, Call-ID, CSeq, Contact, Route,
//! Record-Route, Content-Length, Content-Type, Max-Forwards, Expires, Date)
//! and frames the body by Content-Length. Typed values of the most used
//! headers are cached; the rest are parsed on access.

use smallvec::SmallVec;

use crate::header::{Header, HeaderKind};
use crate::name_addr::{Contact, NameAddr};
use crate::start_line::parse_start_line;
pub use crate::start_line::StartLine;
use crate::text::split_commas;
use crate::typed::{self, CSeq, MediaType};
use crate::via::Via;
use crate::ParseError;

/// Most header fields a message may have.
pub const MAX_HEADERS: usize = 256;

/// Inline capacity of the header list; more spill to the heap.
const INLINE_HEADERS: usize = 16;

/// Typed values of frequently used headers, filled while validating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cache<'a> {
    pub(crate) top_via: Option<Via<'a>>,
    pub(crate) from: Option<NameAddr<'a>>,
    pub(crate) to: Option<NameAddr<'a>>,
    pub(crate) call_id: Option<&'a str>,
    pub(crate) cseq: Option<CSeq<'a>>,
    pub(crate) content_length: Option<usize>,
    pub(crate) max_forwards: Option<u8>,
    pub(crate) expires: Option<u32>,
}

/// A parsed SIP request or response borrowing from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) start: StartLine<'a>,
    pub(crate) start_raw: &'a str,
    pub(crate) headers: SmallVec<[Header<'a>; INLINE_HEADERS]>,
    pub(crate) body: &'a [u8],
    pub(crate) cache: Cache<'a>,
}

/// Parses a SIP message received as one datagram (or cut out of a stream
/// by the [`crate::Deframer`]).
///
/// Leading empty lines are ignored. The body is the number of bytes given
/// by Content-Length; bytes after it are ignored (RFC 3261 §18.3). Without
/// Content-Length the body is the rest of the buffer. A buffer that ends
/// right after the last header line, without the empty line, is accepted
/// with an empty body.
pub fn parse_message(buf: &[u8]) -> Result<Message<'_>, ParseError> {
    let mut data = buf;
    while let Some(rest) = data.strip_prefix(b"\r\n") {
        data = rest;
    }
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    // Built in place and filled step by step: the struct is large.
    let mut msg = Message {
        buf,
        start: StartLine::Response {
            status: 0,
            reason: "",
        },
        start_raw: "",
        headers: SmallVec::new(),
        body: &[],
        cache: Cache::default(),
    };
    let (start_raw, body_start) = split_head(data, &mut msg.headers)?;
    msg.start_raw = start_raw;
    msg.start = parse_start_line(start_raw)?;
    for h in &msg.headers {
        check_header(h, &mut msg.cache)?;
    }
    let rest = data.get(body_start..).unwrap_or_default();
    msg.body = match msg.cache.content_length {
        Some(n) => rest.get(..n).ok_or(ParseError::ContentLengthMismatch {
            declared: n,
            available: rest.len(),
        })?,
        None => rest,
    };
    if let (StartLine::Request { method, .. }, Some(cseq)) = (&msg.start, &msg.cache.cseq) {
        if cseq.method != *method {
            return Err(ParseError::CSeqMethodMismatch);
        }
    }
    Ok(msg)
}

/// Byte offsets of a header field: name start, name end, value start,
/// value end, folded.
type Span = (usize, usize, usize, usize, bool);

/// Splits the header section into the start line and the header fields,
/// joining folded lines, and returns the start line and the offset of the
/// body. CR and LF may only appear together as a line ending. The header
/// section is checked to be UTF-8 in one pass once its end is known.
fn split_head<'a>(
    data: &'a [u8],
    headers: &mut SmallVec<[Header<'a>; INLINE_HEADERS]>,
) -> Result<(&'a str, usize), ParseError> {
    let mut spans: SmallVec<[Span; INLINE_HEADERS]> = SmallVec::new();
    let mut pos = 0usize;
    let mut start_end = None;
    let mut head_end = 0usize;
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            // The buffer ends right after a header line: no body.
            head_end = pos;
            break;
        }
        let cr = find_line_end(rest)
            .map(|n| pos + n)
            .ok_or(ParseError::Truncated)?;
        match (data.get(cr), data.get(cr + 1)) {
            (Some(b'\r'), Some(b'\n')) => {}
            (Some(b'\r'), None) => return Err(ParseError::Truncated),
            _ => return Err(ParseError::BadLineEnding),
        }
        let line = data.get(pos..cr).unwrap_or_default();
        let line_start = pos;
        pos = cr + 2;
        if line.is_empty() {
            break;
        }
        head_end = cr;
        if start_end.is_none() {
            start_end = Some(cr);
            continue;
        }
        match line.first() {
            Some(b' ' | b'\t') => match spans.last_mut() {
                Some(span) => {
                    span.3 = cr;
                    span.4 = true;
                }
                None => return Err(ParseError::BadHeaderLine),
            },
            _ => {
                if spans.len() >= MAX_HEADERS {
                    return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS });
                }
                // header-name *(SP / HTAB) ":"
                let name_len = crate::chars::span(line, crate::chars::TOKEN);
                let colon = name_len
                    + line
                        .get(name_len..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|&&c| c == b' ' || c == b'\t')
                        .count();
                if name_len == 0 || line.get(colon) != Some(&b':') {
                    return Err(ParseError::BadHeaderLine);
                }
                spans.push((
                    line_start,
                    line_start + name_len,
                    line_start + colon + 1,
                    cr,
                    false,
                ));
            }
        }
    }
    let head = data.get(..head_end).ok_or(ParseError::Truncated)?;
    let head = std::str::from_utf8(head).map_err(|_| ParseError::InvalidUtf8)?;
    headers.reserve_exact(spans.len().saturating_sub(INLINE_HEADERS));
    for (ns, ne, vs, ve, folded) in spans {
        let (Some(name), Some(raw)) = (head.get(ns..ne), head.get(vs..ve)) else {
            return Err(ParseError::BadHeaderLine);
        };
        headers.push(Header::new(name, crate::text::trim_lws(raw), folded));
    }
    let start = head
        .get(..start_end.ok_or(ParseError::Empty)?)
        .ok_or(ParseError::Empty)?;
    Ok((start, pos))
}

/// Offset of the first CR or LF, eight bytes at a time.
#[inline]
fn find_line_end(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let chunks = b.chunks_exact(8);
    let tail = chunks.remainder();
    let mut offset = 0;
    for chunk in chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // The lowest flagged byte is always a true match.
        let m = has_zero(w ^ (ONES * u64::from(b'\r'))) | has_zero(w ^ (ONES * u64::from(b'\n')));
        if m != 0 {
            return Some(offset + (m.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    tail.iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .map(|p| offset + p)
}

/// Checks the syntax of one header and fills the cache.
fn check_header<'a>(h: &Header<'a>, cache: &mut Cache<'a>) -> Result<(), ParseError> {
    let raw = h.raw_value();
    let bad = || ParseError::BadHeader {
        name: h.name_static(),
    };
    match h.kind {
        HeaderKind::Via => {
            for item in split_commas(raw) {
                let via = Via::parse(item).ok_or_else(bad)?;
                cache.top_via.get_or_insert(via);
            }
        }
        HeaderKind::From | HeaderKind::To => {
            let na = NameAddr::parse(raw).ok_or_else(bad)?;
            let slot = if h.kind == HeaderKind::From {
                &mut cache.from
            } else {
                &mut cache.to
            };
            slot.get_or_insert(na);
        }
        HeaderKind::Contact => {
            for item in split_commas(raw) {
                Contact::parse(item).ok_or_else(bad)?;
            }
        }
        HeaderKind::Route | HeaderKind::RecordRoute | HeaderKind::Path => {
            for item in split_commas(raw) {
                NameAddr::parse(item).ok_or_else(bad)?;
            }
        }
        HeaderKind::CallId => {
            let id = typed::parse_call_id(raw).ok_or_else(bad)?;
            cache.call_id.get_or_insert(id);
        }
        HeaderKind::CSeq => {
            let cseq = CSeq::parse(raw).ok_or(ParseError::BadCSeq)?;
            cache.cseq.get_or_insert(cseq);
        }
        HeaderKind::ContentLength => {
            let n = typed::parse_content_length(raw).ok_or(ParseError::BadContentLength)?;
            cache.content_length.get_or_insert(n);
        }
        HeaderKind::MaxForwards => {
            let n = typed::parse_max_forwards(raw).ok_or_else(bad)?;
            cache.max_forwards.get_or_insert(n);
        }
        HeaderKind::Expires => {
            let n = typed::parse_expires(raw).ok_or_else(bad)?;
            cache.expires.get_or_insert(n);
        }
        HeaderKind::MinExpires => {
            typed::parse_expires(raw).ok_or_else(bad)?;
        }
        HeaderKind::ContentType => {
            MediaType::parse(raw).ok_or_else(bad)?;
        }
        HeaderKind::Date if !typed::valid_date(raw) => return Err(bad()),
        _ => {}
    }
    Ok(())
}

impl Header<'_> {
    /// The canonical name of a known header (`"header"` for others; only
    /// used for known headers in errors).
    fn name_static(&self) -> &'static str {
        self.kind.canonical_name().unwrap_or("header")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn parses_a_request() {
        let m = parse_message(INVITE.as_bytes()).unwrap();
        assert!(m.is_request());
        assert_eq!(m.method(), Some(Method::Invite));
        assert_eq!(m.request_uri().unwrap().user, Some("bob"));
        assert_eq!(m.all_headers().len(), 9);
        assert_eq!(m.body(), b"v=0\n");
        assert_eq!(
            m.start_line_str(),
            "INVITE sip:bob@biloxi.example.com SIP/2.0"
        );
    }

    #[test]
    fn body_is_cut_at_content_length_and_trailing_bytes_ignored() {
        let mut buf = INVITE.as_bytes().to_vec();
        buf.extend_from_slice(b"garbage after the body");
        let m = parse_message(&buf).unwrap();
        assert_eq!(m.body(), b"v=0\n");
    }

    #[test]
    fn content_length_larger_than_body_is_rejected() {
        let text = INVITE.replace("Content-Length: 4", "Content-Length: 5");
        assert_eq!(
            parse_message(text.as_bytes()).unwrap_err(),
            ParseError::ContentLengthMismatch {
                declared: 5,
                available: 4
            }
        );
    }

    #[test]
    fn missing_content_length_takes_the_rest() {
        let text = INVITE.replace("Content-Length: 4\r\n", "");
        let m = parse_message(text.as_bytes()).unwrap();
        assert_eq!(m.content_length(), None);
        assert_eq!(m.body(), b"v=0\n");
    }

    #[test]
    fn leading_empty_lines_and_missing_final_empty_line() {
        let m = parse_message(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n").unwrap();
        assert_eq!(m.call_id(), Some("x"));
        assert!(m.body().is_empty());
        assert_eq!(parse_message(b"\r\n\r\n").unwrap_err(), ParseError::Empty);
        assert_eq!(parse_message(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x").unwrap_err(),
            ParseError::Truncated
        );
    }

    #[test]
    fn line_ending_and_encoding_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (
                b"OPTIONS sip:a@b SIP/2.0\nCall-ID: x\r\n\r\n",
                ParseError::BadLineEnding,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\ry\r\n\r\n",
                ParseError::BadLineEnding,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\ny\r\n\r\n",
                ParseError::BadLineEnding,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n",
                ParseError::InvalidUtf8,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\n continued\r\n\r\n",
                ParseError::BadHeaderLine,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
                ParseError::BadHeaderLine,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
                ParseError::BadHeaderLine,
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n",
                ParseError::BadHeaderLine,
            ),
        ];
        for (buf, want) in cases {
            assert_eq!(
                parse_message(buf).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn header_syntax_errors_name_the_header() {
        for (line, want) in [
            ("Via: SIP/2.0/UDP", ParseError::BadHeader { name: "Via" }),
            ("v: SIP/2.0/UDP h;;", ParseError::BadHeader { name: "Via" }),
            (
                "From: \"x <sip:a@b>",
                ParseError::BadHeader { name: "From" },
            ),
            ("t: a b c", ParseError::BadHeader { name: "To" }),
            ("Call-ID: a b", ParseError::BadHeader { name: "Call-ID" }),
            ("CSeq: 1", ParseError::BadCSeq),
            ("Content-Length: -1", ParseError::BadContentLength),
            (
                "Max-Forwards: 256",
                ParseError::BadHeader {
                    name: "Max-Forwards",
                },
            ),
            (
                "Expires: 4294967296",
                ParseError::BadHeader { name: "Expires" },
            ),
            (
                "Contact: <sip:a@b>;q=2",
                ParseError::BadHeader { name: "Contact" },
            ),
            ("Route: <sip:a@b", ParseError::BadHeader { name: "Route" }),
            (
                "Content-Type: sdp",
                ParseError::BadHeader {
                    name: "Content-Type",
                },
            ),
            ("Date: yesterday", ParseError::BadHeader { name: "Date" }),
        ] {
            let text = format!("OPTIONS sip:a@b SIP/2.0\r\n{line}\r\n\r\n");
            assert_eq!(parse_message(text.as_bytes()).unwrap_err(), want, "{line}");
        }
    }

    #[test]
    fn cseq_method_must_match_request_method() {
        let text = INVITE.replace("CSeq: 314159 INVITE", "CSeq: 314159 OPTIONS");
        assert_eq!(
            parse_message(text.as_bytes()).unwrap_err(),
            ParseError::CSeqMethodMismatch
        );
        let resp = b"SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n";
        assert!(parse_message(resp).is_ok());
    }

    #[test]
    fn line_end_search_matches_a_naive_scan() {
        let alphabet = [b'a', b'\r', b'\n', 0x8d, 0x8a, 0x0c, 0x0e, 0xff, 0x00, 0x0b];
        let mut state = 12345u32;
        for len in 0..40 {
            for _ in 0..50 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        // Mostly 'a', sometimes a tricky byte.
                        let r = (state >> 16) as usize;
                        if r % 4 == 0 {
                            alphabet[r % alphabet.len()]
                        } else {
                            b'a'
                        }
                    })
                    .collect();
                let naive = buf.iter().position(|&c| c == b'\r' || c == b'\n');
                assert_eq!(find_line_end(&buf), naive, "{buf:?}");
            }
        }
    }

    #[test]
    fn header_count_is_capped() {
        let mut text = String::from("OPTIONS sip:a@b SIP/2.0\r\n");
        for n in 0..=MAX_HEADERS {
            text.push_str(&format!("X-{n}: y\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(
            parse_message(text.as_bytes()).unwrap_err(),
            ParseError::TooManyHeaders { limit: MAX_HEADERS }
        );
    }
}
