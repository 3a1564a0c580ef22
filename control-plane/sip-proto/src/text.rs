//! Lexical helpers shared by the header grammars: character classes,
//! whitespace (including line folds), tokens, quoted strings, unfolding,
//! comma splitting and percent-decoding.
//!
//! Header values handed to these helpers are raw slices of the message: a
//! folded value still contains its `CRLF WSP` sequences. The message parser
//! has already checked that CR and LF only occur in such folds, so skipping
//! "whitespace" here simply means skipping SP, HT, CR and LF.

use std::borrow::Cow;

use nom::IResult;

use crate::chars;

/// Result type of the internal nom parsers: errors carry no payload, the
/// caller maps them to a [`crate::ParseError`] naming the header.
pub(crate) type PResult<'a, T> = IResult<&'a str, T, ()>;

/// RFC 3261 `token` characters.
#[inline(always)]
pub(crate) fn is_token_byte(c: u8) -> bool {
    chars::is(c, chars::TOKEN)
}

/// Linear white space inside a raw header value (folds included).
#[inline(always)]
pub(crate) fn is_lws_byte(c: u8) -> bool {
    chars::is(c, chars::LWS)
}

/// Finds a byte: a plain loop for short strings, memchr for long ones.
#[inline]
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.len() < 48 {
        bytes.iter().position(|&c| c == b)
    } else {
        memchr::memchr(b, bytes)
    }
}

/// Splits around the first occurrence of an ASCII byte.
#[inline]
pub(crate) fn split_once_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let pos = find_byte(s, b)?;
    Some((s.get(..pos)?, s.get(pos + 1..)?))
}

/// Skips optional linear white space (SWS).
#[inline]
pub(crate) fn sws(i: &str) -> &str {
    i.get(chars::span(i.as_bytes(), chars::LWS)..)
        .unwrap_or_default()
}

/// Trims linear white space on both sides.
#[inline]
pub(crate) fn trim_lws(i: &str) -> &str {
    let b = i.as_bytes();
    let start = b.iter().take_while(|&&c| is_lws_byte(c)).count();
    let end = b.len() - b.iter().rev().take_while(|&&c| is_lws_byte(c)).count();
    i.get(start..end.max(start)).unwrap_or_default()
}

/// A non-empty token.
#[inline]
pub(crate) fn token(i: &str) -> PResult<'_, &str> {
    let n = chars::span(i.as_bytes(), chars::TOKEN);
    if n == 0 {
        return Err(nom::Err::Error(()));
    }
    match (i.get(..n), i.get(n..)) {
        (Some(t), Some(rest)) => Ok((rest, t)),
        _ => Err(nom::Err::Error(())),
    }
}

/// True if the whole string is a non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && chars::all(s.as_bytes(), chars::TOKEN)
}

/// Consumes `SWS c SWS` (the SEMI, COLON, EQUAL, SLASH, COMMA separators).
pub(crate) fn sep(i: &str, c: u8) -> Option<&str> {
    let rest = sws(i);
    match rest.as_bytes().first() {
        Some(&b) if b == c => rest.get(1..).map(sws),
        _ => None,
    }
}

/// A quoted string, returned with its surrounding quotes. Escapes are
/// validated (a backslash may quote any character except CR and LF).
pub(crate) fn quoted_string(i: &str) -> PResult<'_, &str> {
    let b = i.as_bytes();
    if b.first() != Some(&b'"') {
        return Err(nom::Err::Error(()));
    }
    let mut pos = 1;
    while let Some(&c) = b.get(pos) {
        match c {
            b'"' => {
                let (q, rest) = i.split_at(pos + 1);
                return Ok((rest, q));
            }
            b'\\' => match b.get(pos + 1) {
                Some(b'\r' | b'\n') | None => return Err(nom::Err::Error(())),
                Some(_) => pos += 2,
            },
            // qdtext: LWS, printable ASCII and any UTF-8 (already validated).
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            c if c < 0x20 || c == 0x7f => return Err(nom::Err::Error(())),
            _ => pos += 1,
        }
    }
    Err(nom::Err::Error(()))
}

/// Strips the quotes of a quoted string, resolves its quoted-pairs and
/// unfolds it. Input that is not quoted is only unfolded.
pub(crate) fn unquote(raw: &str) -> Cow<'_, str> {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return unfold(raw);
    };
    if !inner.bytes().any(|c| c == b'\\' || c == b'\r') {
        return Cow::Borrowed(inner);
    }
    let unfolded = unfold(inner);
    let mut out = String::with_capacity(unfolded.len());
    let mut chars = unfolded.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Replaces every line fold (`*WSP CRLF 1*WSP`) by a single space and trims
/// the value. Borrows when there is no fold.
pub fn unfold(raw: &str) -> Cow<'_, str> {
    let raw = trim_lws(raw);
    if !raw.as_bytes().contains(&b'\r') && !raw.as_bytes().contains(&b'\n') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    for (n, piece) in raw.split("\r\n").enumerate() {
        if n == 0 {
            out.push_str(piece.trim_end_matches([' ', '\t']));
        } else {
            let piece = piece.trim_start_matches([' ', '\t']);
            if !piece.is_empty() {
                let kept = out.trim_end_matches([' ', '\t']).len();
                out.truncate(kept);
                out.push(' ');
            }
            out.push_str(piece);
        }
    }
    Cow::Owned(out)
}

/// Splits a list header value on the commas that are outside quoted
/// strings and angle brackets. Items are trimmed; empty items are yielded
/// as empty strings so that callers can reject them.
pub(crate) fn split_commas(value: &str) -> CommaSplit<'_> {
    CommaSplit { rest: Some(value) }
}

/// Iterator returned by [`split_commas`].
#[derive(Debug, Clone)]
pub(crate) struct CommaSplit<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        if memchr::memchr(b',', b).is_none() {
            self.rest = None;
            return Some(trim_lws(s));
        }
        let mut in_quote = false;
        let mut in_angle = false;
        let mut pos = 0;
        while let Some(&c) = b.get(pos) {
            match c {
                b'\\' if in_quote => pos += 1,
                b'"' => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                b',' if !in_quote && !in_angle => {
                    self.rest = s.get(pos + 1..);
                    return s.get(..pos).map(trim_lws);
                }
                _ => {}
            }
            pos += 1;
        }
        self.rest = None;
        Some(trim_lws(s))
    }
}

/// Decodes `%HH` escapes. Invalid escapes are kept verbatim. Borrows when
/// the input has no `%`.
pub fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    if !s.as_bytes().contains(&b'%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut pos = 0;
    while let Some(&c) = b.get(pos) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(pos + 1).and_then(|&x| hex_val(x)),
                b.get(pos + 2).and_then(|&x| hex_val(x)),
            ) {
                out.push(h << 4 | l);
                pos += 3;
                continue;
            }
        }
        out.push(c);
        pos += 1;
    }
    Cow::Owned(out)
}

/// True if every `%` in `s` starts a valid `%HH` escape.
pub(crate) fn escapes_valid(s: &str) -> bool {
    let b = s.as_bytes();
    let mut pos = 0;
    while let Some(off) = b.get(pos..).and_then(|r| r.iter().position(|&c| c == b'%')) {
        let at = pos + off;
        let ok = b.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(at + 2).is_some_and(u8::is_ascii_hexdigit);
        if !ok {
            return false;
        }
        pos = at + 3;
    }
    true
}

const fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses a non-empty run of ASCII digits into a `u64`, rejecting overflow.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, c| {
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// Parses a non-empty run of ASCII digits into a `u32`, rejecting overflow.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_string_with_escapes() {
        let (rest, q) = quoted_string(r#""J Rosenberg \\\"" <sip:a@b>"#).unwrap();
        assert_eq!(q, r#""J Rosenberg \\\"""#);
        assert_eq!(rest, " <sip:a@b>");
        assert_eq!(unquote(q), r#"J Rosenberg \""#);
    }

    #[test]
    fn quoted_string_unterminated_or_bad() {
        assert!(quoted_string("\"abc").is_err());
        assert!(quoted_string("\"abc\\").is_err());
        assert!(quoted_string("abc\"").is_err());
        assert!(quoted_string("\"a\x07b\"").is_err());
        assert!(quoted_string("\"a\\\x07b\"").is_ok());
    }

    #[test]
    fn unfold_replaces_folds_with_one_space() {
        assert_eq!(unfold("abc"), "abc");
        assert!(matches!(unfold("  abc "), Cow::Borrowed("abc")));
        assert_eq!(
            unfold("newfangled value\r\n continued"),
            "newfangled value continued"
        );
        assert_eq!(unfold("a  \r\n\t  b\r\n c"), "a b c");
        assert_eq!(unfold("\r\n sip:x"), "sip:x");
    }

    #[test]
    fn comma_split_respects_quotes_and_angles() {
        let v: Vec<_> = split_commas(r#""Doe, J" <sip:a,b@h>;q=1 , <sip:c@d>,sip:e@f"#).collect();
        assert_eq!(v, [r#""Doe, J" <sip:a,b@h>;q=1"#, "<sip:c@d>", "sip:e@f"]);
        let v: Vec<_> = split_commas(r#""a\",b", x"#).collect();
        assert_eq!(v, [r#""a\",b""#, "x"]);
        let v: Vec<_> = split_commas("a,,b,").collect();
        assert_eq!(v, ["a", "", "b", ""]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(&*percent_decode("%75se%72"), b"user");
        assert_eq!(&*percent_decode("a%00b"), b"a\0b");
        assert_eq!(&*percent_decode("%Z%45"), b"%ZE");
        assert!(escapes_valid("a%41b%4a"));
        assert!(!escapes_valid("a%4"));
        assert!(!escapes_valid("%zz"));
    }

    #[test]
    fn numbers_reject_overflow() {
        assert_eq!(parse_u32("0009"), Some(9));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u64("36893488147419103232"), None);
    }
}
