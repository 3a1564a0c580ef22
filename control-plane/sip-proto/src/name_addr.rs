//! `name-addr / addr-spec` with header parameters: the value grammar of
//! From, To, Contact, Route, Record-Route, Refer-To and friends.

use std::borrow::Cow;

use crate::params::{header_params_with, Params};
use crate::text::{is_lws_byte, is_token_byte, quoted_string, sws, trim_lws, unquote};
use crate::uri::{parse_uri, Uri};

/// An address with optional display name and header parameters, e.g.
/// `"Alice" <sip:alice@example.com>;tag=1928301774`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    display: Option<&'a str>,
    /// The URI (between `<>` in the name-addr form).
    pub uri: Uri<'a>,
    /// Header parameters after the address (tag, expires, q, ...).
    pub params: Params<'a>,
    tag: Option<&'a str>,
    bracketed: bool,
    raw: &'a str,
}

impl<'a> NameAddr<'a> {
    /// Parses one `(name-addr / addr-spec) *(SEMI param)` element.
    ///
    /// In the addr-spec form (no angle brackets) everything after the first
    /// `;` is a header parameter, and a URI containing `?` or `,` is
    /// rejected: such URIs must be enclosed in `<>`.
    pub fn parse(s: &'a str) -> Option<Self> {
        Self::parse_with(s, |_, _| true)
    }

    /// [`NameAddr::parse`] with a check of every header parameter.
    pub(crate) fn parse_with(
        s: &'a str,
        mut check: impl FnMut(&'a str, Option<&'a str>) -> bool,
    ) -> Option<Self> {
        let raw = trim_lws(s);
        let b = raw.as_bytes();
        let (display, after_display) = if b.first() == Some(&b'"') {
            let (rest, q) = quoted_string(raw).ok()?;
            let rest = sws(rest);
            if !rest.starts_with('<') {
                return None;
            }
            (Some(q), rest)
        } else {
            match memchr::memchr(b'<', b) {
                Some(pos)
                    if b.iter()
                        .take(pos)
                        .all(|&c| is_token_byte(c) || is_lws_byte(c)) =>
                {
                    let prefix = trim_lws(raw.get(..pos)?);
                    let display = (!prefix.is_empty()).then_some(prefix);
                    (display, raw.get(pos..)?)
                }
                _ => (None, raw),
            }
        };
        let (uri, rest, bracketed) = if let Some(inner) = after_display.strip_prefix('<') {
            let end = crate::text::find_byte(inner, b'>')?;
            let uri = parse_uri(inner.get(..end)?).ok()?;
            (uri, inner.get(end + 1..)?, true)
        } else {
            let end = crate::text::find_byte(after_display, b';').unwrap_or(after_display.len());
            let text = after_display
                .get(..end)?
                .trim_end_matches([' ', '\t', '\r', '\n']);
            if memchr::memchr2(b'?', b',', text.as_bytes()).is_some() {
                return None;
            }
            (
                parse_uri(text).ok()?,
                after_display.get(text.len()..)?,
                false,
            )
        };
        let mut tag = None;
        let (rest, params) = header_params_with(rest, |n, v| {
            if n.eq_ignore_ascii_case("tag") {
                tag = tag.or(v);
            }
            check(n, v)
        })?;
        if !sws(rest).is_empty() {
            return None;
        }
        Some(Self {
            display,
            uri,
            params,
            tag,
            bracketed,
            raw,
        })
    }

    /// The display name, with quotes removed, escapes resolved and folds
    /// replaced by a space.
    pub fn display_name(&self) -> Option<Cow<'a, str>> {
        self.display.map(unquote)
    }

    /// The display name exactly as written (with quotes if quoted).
    pub fn display_name_raw(&self) -> Option<&'a str> {
        self.display
    }

    /// True if the address was written in the `<...>` form.
    pub fn is_bracketed(&self) -> bool {
        self.bracketed
    }

    /// The whole element as written (trimmed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    /// The `expires` parameter (Contact), in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.params
            .value("expires")
            .and_then(crate::text::parse_u32)
    }

    /// The `q` parameter (Contact) as a number between 0 and 1.
    pub fn q(&self) -> Option<f32> {
        self.params
            .value("q")
            .and_then(parse_qvalue)
            .map(|m| f32::from(m) / 1000.0)
    }

    /// The `q` parameter in thousandths (0..=1000), exact.
    pub fn q_millis(&self) -> Option<u16> {
        self.params.value("q").and_then(parse_qvalue)
    }
}

/// Parses a qvalue (`0[.ddd]` or `1[.000]`) into thousandths.
pub(crate) fn parse_qvalue(s: &str) -> Option<u16> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut millis: u16 = 0;
    for (n, c) in frac.bytes().enumerate() {
        let weight = [100u16, 10, 1].get(n).copied()?;
        millis += u16::from(c - b'0') * weight;
    }
    match int {
        "0" => Some(millis),
        "1" if millis == 0 => Some(1000),
        _ => None,
    }
}

/// One element of a Contact header: an address or the `*` wildcard.
// Boxing the address would allocate for every contact; values are short-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *` (only valid in a REGISTER with `Expires: 0`).
    Wildcard,
    /// A contact address with its parameters.
    Addr(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// Parses one Contact element, validating `expires` and `q`.
    pub fn parse(s: &'a str) -> Option<Self> {
        if trim_lws(s) == "*" {
            return Some(Self::Wildcard);
        }
        let na = NameAddr::parse_with(s, |n, v| {
            if n.eq_ignore_ascii_case("expires") {
                v.and_then(crate::text::parse_u32).is_some()
            } else if n.eq_ignore_ascii_case("q") {
                v.and_then(parse_qvalue).is_some()
            } else {
                true
            }
        })?;
        Some(Self::Addr(na))
    }

    /// The address, unless this is the wildcard.
    pub fn addr(&self) -> Option<&NameAddr<'a>> {
        match self {
            Self::Wildcard => None,
            Self::Addr(a) => Some(a),
        }
    }

    /// True for the `*` wildcard.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Self::Wildcard)
    }

    /// The `expires` parameter of an address.
    pub fn expires(&self) -> Option<u32> {
        self.addr().and_then(NameAddr::expires)
    }

    /// The `q` parameter of an address.
    pub fn q(&self) -> Option<f32> {
        self.addr().and_then(NameAddr::q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::{Host, Scheme};

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse("\"Alice A.\" <sip:alice@example.com>;tag=1928301774").unwrap();
        assert_eq!(a.display_name().unwrap(), "Alice A.");
        assert_eq!(a.uri.user, Some("alice"));
        assert_eq!(a.tag(), Some("1928301774"));
        assert!(a.is_bracketed());

        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name().unwrap(), "caller");
        assert_eq!(a.tag(), Some("323"));

        let a = NameAddr::parse("token1~` token2'+_ <sip:m@example.com>").unwrap();
        assert_eq!(a.display_name_raw(), Some("token1~` token2'+_"));

        let a = NameAddr::parse("sip:bob@example.com ;   tag    = 1918181833n").unwrap();
        assert!(!a.is_bracketed());
        assert_eq!(a.display_name(), None);
        assert_eq!(a.uri.host, Some(Host::Domain("example.com")));
        assert_eq!(a.tag(), Some("1918181833n"));
        assert!(a.uri.params.is_empty());

        let a = NameAddr::parse("<sip:b@example.com;lr;transport=tcp>;x=y").unwrap();
        assert!(a.uri.lr());
        assert_eq!(a.uri.transport(), Some("tcp"));
        assert_eq!(a.params.value("x"), Some("y"));
    }

    #[test]
    fn escaped_display_names() {
        let a = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.display_name().unwrap(), "J Rosenberg \\\"");
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = NameAddr::parse("\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@example.com>").unwrap();
        assert_eq!(a.display_name().unwrap(), "BEL:\x07 NUL:\0 DEL:\x7f");
    }

    #[test]
    fn other_schemes() {
        let a = NameAddr::parse("<http://www.example.com>;tag=3234233").unwrap();
        assert_eq!(a.uri.scheme, Scheme::Other("http"));
        let a = NameAddr::parse("isbn:2983792873").unwrap();
        assert_eq!(a.uri.opaque(), "2983792873");
    }

    #[test]
    fn rejected_addresses() {
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b",
            "<sip:a@b> junk",
            "",
        ] {
            assert!(NameAddr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contacts_and_params() {
        let c = Contact::parse("<sip:a@b>;expires=3600;q=0.7").unwrap();
        assert_eq!(c.expires(), Some(3600));
        assert_eq!(c.q(), Some(0.7));
        assert_eq!(c.addr().unwrap().q_millis(), Some(700));
        assert!(Contact::parse(" * ").unwrap().is_wildcard());
        assert_eq!(Contact::parse("*").unwrap().expires(), None);
        assert!(Contact::parse("<sip:a@b>;expires=280297596632815").is_none());
        assert!(Contact::parse("<sip:a@b>;q=1.5").is_none());
        assert!(Contact::parse("<sip:a@b>;q=0.1234").is_none());
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.33"), Some(330));
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("1.001"), None);
    }
}
