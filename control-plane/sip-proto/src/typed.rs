//! Small typed headers: CSeq, Call-ID, Content-Type, Date and the numeric
//! ones (Content-Length, Max-Forwards, Expires).

use crate::method::Method;
use crate::params::{header_params_with, Params};
use crate::text::{parse_u32, parse_u64, sep, sws, token, trim_lws};

/// The CSeq header: a sequence number and a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number (at most 2^32 - 1).
    pub seq: u32,
    /// Method.
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(s: &'a str) -> Option<Self> {
        let s = trim_lws(s);
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (num, rest) = s.split_at(digits);
        let method = sws(rest);
        if method.len() == rest.len() {
            return None; // LWS is mandatory
        }
        Some(Self {
            seq: parse_u32(num)?,
            method: Method::parse(method)?,
        })
    }
}

/// Validates a Call-ID (`word [ "@" word ]`) and returns it trimmed.
pub(crate) fn parse_call_id(s: &str) -> Option<&str> {
    use crate::chars::{span, WORD};
    let s = trim_lws(s);
    let b = s.as_bytes();
    let first = span(b, WORD);
    let end = match b.get(first) {
        Some(b'@') => {
            let second = span(b.get(first + 1..).unwrap_or_default(), WORD);
            (second > 0).then_some(first + 1 + second)?
        }
        _ => first,
    };
    (first > 0 && end == b.len()).then_some(s)
}

/// A media type (Content-Type, RFC 3261 §20.15), e.g. `application/sdp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// Top-level type, e.g. `application`.
    pub kind: &'a str,
    /// Subtype, e.g. `sdp`.
    pub subtype: &'a str,
    /// Parameters, e.g. `boundary=...`.
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// Parses `type SLASH subtype *(SEMI parameter)`.
    pub fn parse(s: &'a str) -> Option<Self> {
        let (rest, kind) = token(sws(s)).ok()?;
        let rest = sep(rest, b'/')?;
        let (rest, subtype) = token(rest).ok()?;
        let (rest, params) = header_params_with(rest, |_, _| true)?;
        sws(rest).is_empty().then_some(Self {
            kind,
            subtype,
            params,
        })
    }

    /// True if this is `type/subtype` (case-insensitive).
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// True for `application/sdp`.
    pub fn is_sdp(&self) -> bool {
        self.is("application", "sdp")
    }
}

/// Parses a Content-Length value.
pub(crate) fn parse_content_length(s: &str) -> Option<usize> {
    parse_u64(trim_lws(s)).and_then(|v| usize::try_from(v).ok())
}

/// Parses a Max-Forwards value (0..=255).
pub(crate) fn parse_max_forwards(s: &str) -> Option<u8> {
    parse_u32(trim_lws(s)).and_then(|v| u8::try_from(v).ok())
}

/// Parses an Expires value (delta-seconds, at most 2^32 - 1).
pub(crate) fn parse_expires(s: &str) -> Option<u32> {
    parse_u32(trim_lws(s))
}

/// Checks the `rfc1123-date` grammar of a Date header, e.g.
/// `Sat, 13 Nov 2010 23:29:00 GMT`. Only `GMT` is allowed as zone.
pub(crate) fn valid_date(s: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = trim_lws(s);
    let Some((day, rest)) = s.split_once(", ") else {
        return false;
    };
    let parts: smallvec::SmallVec<[&str; 6]> = rest.split(' ').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|c| c.is_ascii_digit());
    let time_ok = |t: &str| {
        let mut it = t.split(':');
        let ok = (0..3).all(|_| it.next().is_some_and(|p| digits(p, 2)));
        ok && it.next().is_none()
    };
    match parts.as_slice() {
        [dd, mon, yyyy, time, "GMT"] => {
            DAYS.contains(&day)
                && digits(dd, 2)
                && MONTHS.contains(mon)
                && digits(yyyy, 4)
                && time_ok(time)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parsing() {
        let c = CSeq::parse("0009\r\n  INVITE").unwrap();
        assert_eq!((c.seq, c.method), (9, Method::Invite));
        let c = CSeq::parse(" 4294967295 NEWMETHOD ").unwrap();
        assert_eq!(c.seq, u32::MAX);
        assert_eq!(c.method, Method::Extension("NEWMETHOD"));
        for bad in [
            "36893488147419103232 REGISTER",
            "1INVITE",
            "INVITE",
            "1 ",
            "-1 INVITE",
            "1 IN VITE",
        ] {
            assert!(CSeq::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn call_ids() {
        assert_eq!(
            parse_call_id(" a84b4c76e66710@pc33.atlanta.com "),
            Some("a84b4c76e66710@pc33.atlanta.com")
        );
        assert!(parse_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_some());
        assert!(parse_call_id("").is_none());
        assert!(parse_call_id("a b").is_none());
        assert!(parse_call_id("a@b@c").is_none());
        assert!(parse_call_id("@b").is_none());
    }

    #[test]
    fn media_types() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.is("Multipart", "MIXED"));
        assert_eq!(m.params.value("boundary"), Some("7a9cbec02ceef655"));
        assert!(MediaType::parse("application/sdp").unwrap().is_sdp());
        assert!(MediaType::parse("application").is_none());
        assert!(MediaType::parse("a/b c").is_none());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_content_length(" 150 "), Some(150));
        assert_eq!(parse_content_length("-999"), None);
        assert_eq!(parse_max_forwards("0068"), Some(68));
        assert_eq!(parse_max_forwards("255"), Some(255));
        assert_eq!(parse_max_forwards("300"), None);
        assert_eq!(parse_expires("4294967295"), Some(u32::MAX));
        assert_eq!(parse_expires("10000000000000000000000"), None);
    }

    #[test]
    fn dates() {
        assert!(valid_date("Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!valid_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!valid_date("Fri, 1 Jan 2010 16:00:00 GMT"));
        assert!(!valid_date("Fry, 01 Jan 2010 16:00:00 GMT"));
        assert!(!valid_date("Fri, 01 Jan 2010 16:00 GMT"));
        assert!(!valid_date(""));
    }
}
