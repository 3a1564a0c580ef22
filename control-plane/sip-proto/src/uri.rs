//! URIs: `sip:`, `sips:` and `tel:` are parsed into their parts, any other
//! scheme is kept as an opaque absolute URI. Zero-copy: every part is a
//! slice of the input.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::chars::{self, HEADER, PARAM, PASSWORD, USERINFO};
use crate::params::Params;
use crate::text::{escapes_valid, parse_u32, split_once_byte};
use crate::ParseError;

/// The scheme of a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme<'a> {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other scheme, as written (without the colon).
    Other(&'a str),
}

impl Scheme<'_> {
    /// The scheme name, lower case for the known ones.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sip => "sip",
            Self::Sips => "sips",
            Self::Tel => "tel",
            Self::Other(s) => s,
        }
    }
}

/// The host part of a SIP URI or of a Via sent-by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name, as written.
    Domain(&'a str),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written as a `[...]` reference in URIs and Via).
    V6(Ipv6Addr),
}

impl Host<'_> {
    /// True if both hosts are equal (domain names compare case-insensitively).
    pub fn matches(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Self::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Self::V4(a), Host::V4(b)) => a == b,
            (Self::V6(a), Host::V6(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::V4(a) => write!(f, "{a}"),
            Self::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A parsed URI.
///
/// For `sip:`/`sips:` every field may be set. For `tel:` the number is in
/// [`Uri::user`] and `host` is `None`. For other schemes only the scheme and
/// the raw text are known ([`Uri::opaque`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The scheme.
    pub scheme: Scheme<'a>,
    /// The user part (still percent-escaped), or the number of a tel URI.
    pub user: Option<&'a str>,
    /// The password (still escaped).
    pub password: Option<&'a str>,
    /// The host.
    pub host: Option<Host<'a>>,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The `;` parameters.
    pub params: Params<'a>,
    /// The raw `?` headers (without the `?`).
    pub headers: Option<&'a str>,
    raw: &'a str,
}

impl<'a> Uri<'a> {
    /// The URI exactly as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The part after `scheme:`.
    pub fn opaque(&self) -> &'a str {
        self.raw.split_once(':').map_or("", |(_, r)| r)
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&'a str> {
        self.params.value("transport")
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    /// The `user` parameter (e.g. `phone`).
    pub fn user_param(&self) -> Option<&'a str> {
        self.params.value("user")
    }

    /// The `method` parameter.
    pub fn method_param(&self) -> Option<&'a str> {
        self.params.value("method")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| t.parse().ok())
    }

    /// True if the loose-routing `lr` parameter is present.
    pub fn lr(&self) -> bool {
        self.params.contains("lr")
    }

    /// The user part with its escapes decoded.
    pub fn user_decoded(&self) -> Option<std::borrow::Cow<'a, [u8]>> {
        self.user.map(crate::text::percent_decode)
    }

    /// True if this is a `sip:` or `sips:` URI.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// Parses a URI. The whole input must be the URI (no surrounding space).
pub fn parse_uri(s: &str) -> Result<Uri<'_>, ParseError> {
    let (rest, scheme) = scheme(s).map_err(|_| ParseError::BadUri)?;
    let rest = rest.strip_prefix(':').ok_or(ParseError::BadUri)?;
    let (kind, empty) = (classify(scheme), Params::default());
    let mut uri = Uri {
        scheme: kind,
        user: None,
        password: None,
        host: None,
        port: None,
        params: empty,
        headers: None,
        raw: s,
    };
    match kind {
        Scheme::Sip | Scheme::Sips => sip_parts(rest, &mut uri)?,
        Scheme::Tel => tel_parts(rest, &mut uri)?,
        Scheme::Other(_) => {
            let ok = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, b'<' | b'>' | b'"'));
            if !ok {
                return Err(ParseError::BadUri);
            }
        }
    }
    Ok(uri)
}

fn scheme(s: &str) -> nom::IResult<&str, &str, ()> {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(nom::Err::Error(()));
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        .count();
    match (s.get(..n), s.get(n..)) {
        (Some(scheme), Some(rest)) => Ok((rest, scheme)),
        _ => Err(nom::Err::Error(())),
    }
}

fn classify(scheme: &str) -> Scheme<'_> {
    if scheme.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else if scheme.eq_ignore_ascii_case("tel") {
        Scheme::Tel
    } else {
        Scheme::Other(scheme)
    }
}

fn sip_parts<'a>(rest: &'a str, uri: &mut Uri<'a>) -> Result<(), ParseError> {
    let bad = |_| ParseError::BadUri;
    let mut rest = rest;
    // userinfo: the longest run of user/password characters followed by '@'.
    let n = chars::span(rest.as_bytes(), USERINFO);
    if rest.as_bytes().get(n) == Some(&b'@') {
        let userinfo = rest.get(..n).unwrap_or_default();
        let (user, password) = match split_once_byte(userinfo, b':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if user.is_empty() || !escapes_valid(userinfo) {
            return Err(ParseError::BadUri);
        }
        if password.is_some_and(|p| !chars::all(p.as_bytes(), PASSWORD)) {
            return Err(ParseError::BadUri);
        }
        uri.user = Some(user);
        uri.password = password;
        rest = rest.get(n + 1..).unwrap_or_default();
    }
    let (r, host) = host(rest).map_err(bad)?;
    uri.host = Some(host);
    let r = match r.strip_prefix(':') {
        Some(p) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            let (port, r) = p.split_at(digits);
            uri.port = Some(parse_port(port).ok_or(ParseError::BadUri)?);
            r
        }
        None => r,
    };
    let (params, headers) = match split_once_byte(r, b'?') {
        Some((p, h)) => (p, Some(h)),
        None => (r, None),
    };
    uri.params = uri_params(params)?;
    if let Some(h) = headers {
        let ok = !h.is_empty()
            && h.split('&').all(|hdr| match hdr.split_once('=') {
                Some((n, v)) => {
                    !n.is_empty()
                        && chars::all(n.as_bytes(), HEADER)
                        && chars::all(v.as_bytes(), HEADER)
                }
                None => false,
            })
            && escapes_valid(h);
        if !ok {
            return Err(ParseError::BadUri);
        }
        uri.headers = Some(h);
    }
    Ok(())
}

/// Validates `*( ";" pname [ "=" pvalue ] )` and returns the list without
/// its leading `;`.
fn uri_params(s: &str) -> Result<Params<'_>, ParseError> {
    if s.is_empty() {
        return Ok(Params::default());
    }
    let list = s.strip_prefix(';').ok_or(ParseError::BadUri)?;
    let b = list.as_bytes();
    // Lengths of the name and value of the current parameter.
    let (mut name, mut value, mut in_value) = (0usize, 0usize, false);
    let mut i = 0;
    while i <= b.len() {
        match b.get(i) {
            None | Some(b';') => {
                if name == 0 || (in_value && value == 0) {
                    return Err(ParseError::BadUri);
                }
                (name, value, in_value) = (0, 0, false);
            }
            Some(b'=') if !in_value && name > 0 => in_value = true,
            Some(&c) if chars::is(c, PARAM) => {
                if c == b'%' {
                    let hex = |k: usize| b.get(k).is_some_and(u8::is_ascii_hexdigit);
                    if !hex(i + 1) || !hex(i + 2) {
                        return Err(ParseError::BadUri);
                    }
                    i += 2;
                }
                if in_value {
                    value += 1;
                } else {
                    name += 1;
                }
            }
            _ => return Err(ParseError::BadUri),
        }
        i += 1;
    }
    Ok(Params::from_raw(list))
}

/// Parses a host: an IPv6 reference, an IPv4 address or a domain name.
pub(crate) fn host(s: &str) -> nom::IResult<&str, Host<'_>, ()> {
    if let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']').ok_or(nom::Err::Error(()))?;
        let (addr, rest) = inner.split_at(end);
        let ip: Ipv6Addr = addr.parse().map_err(|_| nom::Err::Error(()))?;
        return Ok((rest.get(1..).unwrap_or_default(), Host::V6(ip)));
    }
    let b = s.as_bytes();
    let n = chars::span(b, chars::HOST);
    let name = s.get(..n).unwrap_or_default();
    let rest = s.get(n..).unwrap_or_default();
    match name.as_bytes().first() {
        None => return Err(nom::Err::Error(())),
        Some(c) if c.is_ascii_digit() && name.bytes().all(|c| c.is_ascii_digit() || c == b'.') => {
            let ip: Ipv4Addr = name.parse().map_err(|_| nom::Err::Error(()))?;
            return Ok((rest, Host::V4(ip)));
        }
        // No label may be empty or start with '-'.
        Some(b'-' | b'.') => return Err(nom::Err::Error(())),
        Some(_) if empty_or_dash_label(name.as_bytes()) => return Err(nom::Err::Error(())),
        Some(_) => {}
    }
    Ok((rest, Host::Domain(name)))
}

/// True if a label after a dot is empty or starts with '-'.
fn empty_or_dash_label(name: &[u8]) -> bool {
    let mut rest = name;
    while let Some(dot) = rest.iter().position(|&c| c == b'.') {
        rest = rest.get(dot + 1..).unwrap_or_default();
        if matches!(rest.first(), Some(b'.' | b'-')) {
            return true;
        }
    }
    false
}

/// Parses a port number (1*DIGIT, at most 65535).
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    parse_u32(s).and_then(|p| u16::try_from(p).ok())
}

fn tel_parts<'a>(rest: &'a str, uri: &mut Uri<'a>) -> Result<(), ParseError> {
    let (number, params) = match rest.find(';') {
        Some(p) => rest.split_at(p),
        None => (rest, ""),
    };
    let ok = !number.is_empty()
        && number.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#' | b'%')
        })
        && escapes_valid(number);
    if !ok {
        return Err(ParseError::BadUri);
    }
    uri.user = Some(number);
    uri.params = uri_params(params)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_sip_uri() {
        let u = parse_uri("sips:alice:secret@example.com:5061;transport=tcp;lr;maddr=239.255.255.1;ttl=15;method=REGISTER;user=phone;x=%41?subject=a%20b&priority=urgent").unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.password, Some("secret"));
        assert_eq!(u.host, Some(Host::Domain("example.com")));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.maddr(), Some("239.255.255.1"));
        assert_eq!(u.ttl(), Some(15));
        assert_eq!(u.method_param(), Some("REGISTER"));
        assert_eq!(u.user_param(), Some("phone"));
        assert_eq!(u.params.value("x"), Some("%41"));
        assert_eq!(u.headers, Some("subject=a%20b&priority=urgent"));
        assert_eq!(u.to_string(), u.as_str());
        assert!(u.is_sip());
    }

    #[test]
    fn hosts() {
        let u = parse_uri("sip:192.0.2.4").unwrap();
        assert_eq!(u.host, Some(Host::V4(Ipv4Addr::new(192, 0, 2, 4))));
        assert_eq!(u.user, None);
        let u = parse_uri("sip:bob@[2001:db8::10]:5070").unwrap();
        assert_eq!(u.host, Some(Host::V6("2001:db8::10".parse().unwrap())));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.host.unwrap().to_string(), "[2001:db8::10]");
        for bad in [
            "sip:[2001:db8::10",
            "sip:[zz::1]",
            "sip:1.2.3.999",
            "sip:a@",
            "sip:a@host:70000",
            "sip:a@host:",
            "sip:-bad.example.com",
            "sip:a b@host",
        ] {
            assert_eq!(parse_uri(bad), Err(ParseError::BadUri), "{bad}");
        }
    }

    #[test]
    fn escapes_and_odd_users() {
        let u = parse_uri("sip:sips%3Auser%40example.com@example.net").unwrap();
        assert_eq!(u.user, Some("sips%3Auser%40example.com"));
        assert_eq!(&*u.user_decoded().unwrap(), b"sips:user@example.com");
        let u = parse_uri("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user, Some("user;par=u%40example.net"));
        assert!(u.params.is_empty());
        let u = parse_uri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").unwrap();
        assert_eq!(
            u.user,
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password,
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(parse_uri("sip:%zz@host"), Err(ParseError::BadUri));
        let u = parse_uri("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31").unwrap();
        assert_eq!(u.params.iter().count(), 2);
    }

    #[test]
    fn tel_and_opaque() {
        let u = parse_uri("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user, Some("+1-201-555-0123"));
        assert_eq!(u.params.value("phone-context"), Some("example.com"));
        assert_eq!(u.host, None);
        let u = parse_uri("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme, Scheme::Other("soap.beep"));
        assert_eq!(u.opaque(), "//192.0.2.103:3002");
        assert!(parse_uri("nobodyKnowsThisScheme:totallyopaquecontent").is_ok());
        for bad in [
            "",
            ":x",
            "1sip:x",
            "sip",
            "tel:",
            "x:",
            "x:<a>",
            "<sip:a@b>",
            "urn:a b",
        ] {
            assert!(parse_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn params_are_strict_in_uris() {
        for bad in [
            "sip:a@b;",
            "sip:a@b;;x",
            "sip:a@b;x=",
            "sip:a@b; lr",
            "sip:a@b?",
            "sip:a@b?x",
        ] {
            assert!(parse_uri(bad).is_err(), "{bad}");
        }
    }
}
