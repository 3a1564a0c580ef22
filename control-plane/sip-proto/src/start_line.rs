//! The start line: Request-Line or Status-Line.

use crate::method::Method;
use crate::text::{find_byte, split_once_byte};
use crate::uri::{parse_uri, Scheme, Uri};
use crate::ParseError;

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP/2.0`
    Request {
        /// The method.
        method: Method<'a>,
        /// The Request-URI.
        uri: Uri<'a>,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`
    Response {
        /// The status code (100–699).
        status: u16,
        /// The reason phrase (may be empty).
        reason: &'a str,
    },
}

/// Parses a Request-Line or a Status-Line (exactly one SP between elements).
pub(crate) fn parse_start_line(line: &str) -> Result<StartLine<'_>, ParseError> {
    let is_response = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_response {
        let (version, rest) = split_once_byte(line, b' ').ok_or(ParseError::BadStartLine)?;
        check_version(version)?;
        let (code, reason) = split_once_byte(rest, b' ').ok_or(ParseError::BadStartLine)?;
        let status = (code.len() == 3)
            .then(|| crate::text::parse_u32(code))
            .flatten()
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (100..=699).contains(c))
            .ok_or(ParseError::BadStatusCode)?;
        if reason.bytes().any(|c| c < 0x20 && c != b'\t') {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response { status, reason });
    }
    let (method, rest) = split_once_byte(line, b' ').ok_or(ParseError::BadStartLine)?;
    let (uri, version) = split_once_byte(rest, b' ').ok_or(ParseError::BadStartLine)?;
    if method.is_empty()
        || uri.is_empty()
        || version.is_empty()
        || find_byte(version, b' ').is_some()
    {
        return Err(ParseError::BadStartLine);
    }
    let method = Method::parse(method).ok_or(ParseError::BadMethod)?;
    check_version(version)?;
    let uri = parse_uri(uri).map_err(|_| ParseError::BadRequestUri)?;
    if matches!(uri.scheme, Scheme::Sip | Scheme::Sips) && uri.headers.is_some() {
        return Err(ParseError::BadRequestUri);
    }
    Ok(StartLine::Request { method, uri })
}

fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && v.get(4..).is_some_and(|n| {
            split_once_byte(n, b'.').is_some_and(|(a, b)| {
                crate::text::parse_u32(a).is_some() && crate::text::parse_u32(b).is_some()
            })
        });
    Err(if well_formed {
        ParseError::BadVersion
    } else {
        ParseError::BadStartLine
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_message;

    #[test]
    fn start_line_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", ParseError::BadStartLine),
            (b"INVITE sip:a@b SIP/2.0 \r\n\r\n", ParseError::BadStartLine),
            (b"INVITE sip:a@b\r\n\r\n", ParseError::BadStartLine),
            (
                b"INVITE sip:a@b; lr SIP/2.0\r\n\r\n",
                ParseError::BadStartLine,
            ),
            (
                b"INVITE <sip:a@b> SIP/2.0\r\n\r\n",
                ParseError::BadRequestUri,
            ),
            (
                b"INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n",
                ParseError::BadRequestUri,
            ),
            (b"IN<VITE sip:a@b SIP/2.0\r\n\r\n", ParseError::BadMethod),
            (b"INVITE sip:a@b SIP/7.0\r\n\r\n", ParseError::BadVersion),
            (b"INVITE sip:a@b HTTP/1.1\r\n\r\n", ParseError::BadStartLine),
            (b"SIP/2.0 4294967301 Big\r\n\r\n", ParseError::BadStatusCode),
            (b"SIP/2.0 099 Low\r\n\r\n", ParseError::BadStatusCode),
            (b"SIP/2.0 700 High\r\n\r\n", ParseError::BadStatusCode),
            (b"SIP/2.0 200\r\n\r\n", ParseError::BadStartLine),
            (b"SIP/3.0 200 OK\r\n\r\n", ParseError::BadVersion),
            (b"SIP/2.0 200 O\x01K\r\n\r\n", ParseError::BadStartLine),
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
    fn responses_with_empty_and_utf8_reasons() {
        let m = parse_message(b"SIP/2.0 100 \r\n\r\n").unwrap();
        assert_eq!((m.status(), m.reason()), (Some(100), Some("")));
        assert_eq!(m.method(), None);
        let m = parse_message("SIP/2.0 200 Très bien\r\n\r\n".as_bytes()).unwrap();
        assert_eq!(m.reason(), Some("Très bien"));
        assert!(m.is_response());
    }
}
