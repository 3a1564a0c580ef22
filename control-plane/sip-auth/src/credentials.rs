//! Parser for `Authorization` / `Proxy-Authorization` header values of the
//! `Digest` scheme.
//!
//! Accepted syntax, deliberately lenient where phones differ and strict where
//! ambiguity would be dangerous:
//!
//! * the scheme name is case-insensitive;
//! * parameters are `name = value`, separated by commas, with optional
//!   whitespace (SP, HTAB, CR, LF) around names, `=` and commas; empty list
//!   elements (`,,`) are skipped;
//! * parameter names are case-insensitive tokens;
//! * any value may be a token or a quoted string (`\` escapes the next
//!   character), whatever the RFC prescribes for that parameter;
//! * a known parameter given twice is an error; unknown parameters are ignored;
//! * `username`, `realm`, `nonce`, `uri` and `response` are required; with
//!   `qop`, `cnonce` and `nc` are required too; `nc` or `cnonce` without `qop` is
//!   an error, and `-sess` algorithms need `cnonce`.

use std::borrow::Cow;

use crate::{Algorithm, AuthError, Qop};

/// The nonce count (`nc`) sent with `qop=auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceCount<'a> {
    /// The numeric value.
    pub value: u32,
    /// The text as sent (it is hashed as-is).
    pub raw: Cow<'a, str>,
}

/// Digest credentials parsed from an `Authorization` header value.
///
/// Quoted-string values are unescaped; values without escapes borrow the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The user name.
    pub username: Cow<'a, str>,
    /// The realm the client answered for.
    pub realm: Cow<'a, str>,
    /// The server nonce being answered.
    pub nonce: Cow<'a, str>,
    /// The digest URI (should designate the request URI).
    pub uri: Cow<'a, str>,
    /// The response hash in hex.
    pub response: Cow<'a, str>,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The client nonce (present with `qop`).
    pub cnonce: Option<Cow<'a, str>>,
    /// The opaque value echoed back, if any.
    pub opaque: Option<Cow<'a, str>>,
    /// The quality of protection; `None` for RFC 2069 style clients.
    pub qop: Option<Qop>,
    /// The nonce count (present with `qop`).
    pub nc: Option<NonceCount<'a>>,
}

impl Credentials<'_> {
    /// The numeric nonce count, if any: the value to hand to
    /// [`NonceManager::check`](crate::NonceManager::check).
    pub fn nonce_count(&self) -> Option<u32> {
        self.nc.as_ref().map(|nc| nc.value)
    }
}

/// Parameter names this parser knows, in slot order.
const KNOWN: [&str; 11] = [
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "opaque",
    "qop",
    "nc",
    "userhash",
];
const USERNAME: usize = 0;
const REALM: usize = 1;
const NONCE: usize = 2;
const URI: usize = 3;
const RESPONSE: usize = 4;
const ALGORITHM: usize = 5;
const CNONCE: usize = 6;
const OPAQUE: usize = 7;
const QOP: usize = 8;
const NC: usize = 9;
const USERHASH: usize = 10;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte cursor over the header value. Every position it stops at follows an
/// ASCII byte, so slicing there is always on a character boundary.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    fn error(&self, reason: &'static str) -> AuthError {
        AuthError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    /// Reads a quoted string; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<Cow<'a, str>, AuthError> {
        let open = self.pos;
        let body = self.text.get(open + 1..).unwrap_or("");
        let mut owned: Option<String> = None;
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos = open + 1 + i + 1;
                    return Ok(match owned {
                        Some(s) => Cow::Owned(s),
                        None => Cow::Borrowed(body.get(..i).unwrap_or("")),
                    });
                }
                '\\' => {
                    let Some((_, escaped)) = chars.next() else {
                        break;
                    };
                    owned
                        .get_or_insert_with(|| body.get(..i).unwrap_or("").to_owned())
                        .push(escaped);
                }
                _ => {
                    if let Some(s) = owned.as_mut() {
                        s.push(c);
                    }
                }
            }
        }
        self.pos = self.text.len();
        Err(self.error("unterminated quoted string"))
    }

    /// Reads a value: a quoted string or a run of non-delimiter bytes.
    fn value(&mut self) -> Result<Cow<'a, str>, AuthError> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        let v = self.skip_while(|b| !is_ws(b) && b != b',' && b != b'"');
        if v.is_empty() {
            return Err(self.error("expected a parameter value"));
        }
        Ok(Cow::Borrowed(v))
    }
}

/// Parses a `Digest` credentials header value (without the header name).
///
/// See the module documentation for the accepted syntax. Runs in time linear in
/// the input and allocates only for quoted strings containing escapes.
///
/// # Errors
///
/// [`AuthError::NotDigest`] for another scheme, [`AuthError::Syntax`] for a
/// malformed list, and the other variants for missing, duplicate, invalid or
/// unsupported parameters.
pub fn parse_authorization(value: &str) -> Result<Credentials<'_>, AuthError> {
    let mut cur = Cursor {
        text: value,
        pos: 0,
    };
    cur.skip_while(is_ws);
    let scheme = cur.skip_while(is_tchar);
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(AuthError::NotDigest);
    }
    if cur.peek().is_some_and(|b| !is_ws(b) && b != b',') {
        return Err(cur.error("expected whitespace after the scheme"));
    }

    let mut slots: [Option<Cow<'_, str>>; KNOWN.len()] = Default::default();
    loop {
        cur.skip_while(|b| is_ws(b) || b == b',');
        if cur.peek().is_none() {
            break;
        }
        let name = cur.skip_while(is_tchar);
        if name.is_empty() {
            return Err(cur.error("expected a parameter name"));
        }
        cur.skip_while(is_ws);
        if cur.peek() != Some(b'=') {
            return Err(cur.error("expected '='"));
        }
        cur.pos += 1;
        cur.skip_while(is_ws);
        let value = cur.value()?;
        cur.skip_while(is_ws);
        if cur.peek().is_some_and(|b| b != b',') {
            return Err(cur.error("expected ',' between parameters"));
        }
        if let Some(slot) = KNOWN.iter().position(|k| k.eq_ignore_ascii_case(name)) {
            let known = KNOWN.get(slot).copied().unwrap_or("");
            match slots.get_mut(slot) {
                Some(Some(_)) => return Err(AuthError::DuplicateParam(known)),
                Some(entry) => *entry = Some(value),
                None => {}
            }
        }
    }
    build(slots)
}

/// Turns the collected parameters into validated credentials.
fn build(mut slots: [Option<Cow<'_, str>>; KNOWN.len()]) -> Result<Credentials<'_>, AuthError> {
    let mut take = |i: usize| slots.get_mut(i).and_then(Option::take);
    let mut required = |i: usize, name: &'static str| {
        let v = take(i).ok_or(AuthError::MissingParam(name))?;
        if v.is_empty() {
            return Err(AuthError::InvalidParam {
                name,
                reason: "empty value",
            });
        }
        Ok(v)
    };
    let username = required(USERNAME, "username")?;
    let realm = required(REALM, "realm")?;
    let nonce = required(NONCE, "nonce")?;
    let uri = required(URI, "uri")?;
    let response = required(RESPONSE, "response")?;
    let algorithm = match take(ALGORITHM) {
        Some(a) => a.parse::<Algorithm>()?,
        None => Algorithm::Md5,
    };
    let cnonce = take(CNONCE);
    let opaque = take(OPAQUE);
    let qop = match take(QOP) {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
        Some(q) if q.eq_ignore_ascii_case("auth-int") => return Err(AuthError::UnsupportedQop),
        Some(_) => {
            return Err(AuthError::InvalidParam {
                name: "qop",
                reason: "unknown qop value",
            })
        }
    };
    let nc = take(NC).map(parse_nc).transpose()?;
    if let Some(userhash) = take(USERHASH) {
        if userhash.eq_ignore_ascii_case("true") {
            return Err(AuthError::UnsupportedUserhash);
        }
    }
    if qop.is_some() {
        if nc.is_none() {
            return Err(AuthError::MissingParam("nc"));
        }
        if cnonce.is_none() {
            return Err(AuthError::MissingParam("cnonce"));
        }
    } else if nc.is_some() || cnonce.is_some() {
        return Err(AuthError::InvalidParam {
            name: "qop",
            reason: "nc or cnonce sent without qop",
        });
    }
    if algorithm.is_sess() && cnonce.is_none() {
        return Err(AuthError::MissingParam("cnonce"));
    }
    Ok(Credentials {
        username,
        realm,
        nonce,
        uri,
        response,
        algorithm,
        cnonce,
        opaque,
        qop,
        nc,
    })
}

/// Validates `nc`: one to eight hexadecimal digits.
fn parse_nc(raw: Cow<'_, str>) -> Result<NonceCount<'_>, AuthError> {
    let invalid = AuthError::InvalidParam {
        name: "nc",
        reason: "expected 1 to 8 hex digits",
    };
    if raw.is_empty() || raw.len() > 8 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid);
    }
    let value = u32::from_str_radix(&raw, 16).map_err(|_| invalid)?;
    Ok(NonceCount { value, raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC: &str = r#"Digest username="alice", realm="pbx.example", nonce="n1", uri="sip:pbx.example", response="0123456789abcdef0123456789abcdef""#;

    #[test]
    fn parses_minimal_legacy_form() {
        let c = parse_authorization(BASIC).unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.realm, "pbx.example");
        assert_eq!(c.nonce, "n1");
        assert_eq!(c.uri, "sip:pbx.example");
        assert_eq!(c.response, "0123456789abcdef0123456789abcdef");
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!(c.qop, None);
        assert_eq!(c.nc, None);
        assert_eq!(c.cnonce, None);
        assert_eq!(c.opaque, None);
        assert!(matches!(c.username, Cow::Borrowed(_)));
    }

    #[test]
    fn full_form_with_odd_spacing_case_and_tokens() {
        let h = "  dIgEsT\tUserName = \"bob\" ,REALM=pbx ,, Nonce= \"n\"\r\n ,uri=\"sip:x\",\
                 response=\"ab\",ALGORITHM=\"sha-256\", QOP=\"auth\", NC=0000001F, cnonce=c9, \
                 opaque=\"o\", extension=\"ignored, really\", other=tok ,";
        let c = parse_authorization(h).unwrap();
        assert_eq!(c.username, "bob");
        assert_eq!(c.realm, "pbx");
        assert_eq!(c.nonce, "n");
        assert_eq!(c.uri, "sip:x");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nonce_count(), Some(0x1f));
        assert_eq!(c.nc.as_ref().unwrap().raw, "0000001F");
        assert_eq!(c.cnonce.as_deref(), Some("c9"));
        assert_eq!(c.opaque.as_deref(), Some("o"));
    }

    #[test]
    fn quoted_string_escapes_and_unicode() {
        let h =
            r#"Digest username="a\"b\\c, d", realm="réalm ☎", nonce="n", uri="u", response="r""#;
        let c = parse_authorization(h).unwrap();
        assert_eq!(c.username, "a\"b\\c, d");
        assert!(matches!(c.username, Cow::Owned(_)));
        assert_eq!(c.realm, "réalm ☎");
        let h = "Digest username=\"x\\é\", realm=r, nonce=n, uri=u, response=r";
        assert_eq!(parse_authorization(h).unwrap().username, "xé");
    }

    #[test]
    fn scheme_errors() {
        assert_eq!(parse_authorization(""), Err(AuthError::NotDigest));
        assert_eq!(
            parse_authorization("Basic YWxhZGRpbjpvcGVu"),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            parse_authorization("Digestusername=x"),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            parse_authorization("Digest"),
            Err(AuthError::MissingParam("username"))
        );
        assert!(matches!(
            parse_authorization("Digest\"x\""),
            Err(AuthError::Syntax { .. })
        ));
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let cases = [
            ("Digest username", 15),
            ("Digest username=", 16),
            ("Digest username=\"abc", 20),
            ("Digest username=\"abc\\", 21),
            ("Digest username=a b", 18),
            ("Digest =x", 7),
            ("Digest username=\"a\"realm=b", 19),
            ("Digest username=a\"b\"", 17),
        ];
        for (input, offset) in cases {
            match parse_authorization(input) {
                Err(AuthError::Syntax { offset: o, .. }) => assert_eq!(o, offset, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn duplicates_rejected_case_insensitively() {
        let h = format!("{BASIC}, Realm=\"again\"");
        assert_eq!(
            parse_authorization(&h),
            Err(AuthError::DuplicateParam("realm"))
        );
        let h = format!("{BASIC}, foo=1, foo=2");
        assert!(
            parse_authorization(&h).is_ok(),
            "unknown duplicates ignored"
        );
    }

    #[test]
    fn missing_and_invalid_params() {
        let without = |name: &str| {
            BASIC
                .split(", ")
                .filter(|p| !p.starts_with(name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            parse_authorization(&without("response")),
            Err(AuthError::MissingParam("response"))
        );
        assert_eq!(
            parse_authorization(&without("uri")),
            Err(AuthError::MissingParam("uri"))
        );
        assert_eq!(
            parse_authorization(&BASIC.replace("\"n1\"", "\"\"")),
            Err(AuthError::InvalidParam {
                name: "nonce",
                reason: "empty value"
            })
        );
        // Yields the nonce count on success, so the result owns nothing borrowed.
        let with = |extra: &str| {
            parse_authorization(&format!("{BASIC}, {extra}")).map(|c| c.nonce_count())
        };
        assert_eq!(
            with("qop=auth, cnonce=c"),
            Err(AuthError::MissingParam("nc"))
        );
        assert_eq!(
            with("qop=auth, nc=1"),
            Err(AuthError::MissingParam("cnonce"))
        );
        assert!(matches!(
            with("nc=00000001"),
            Err(AuthError::InvalidParam { name: "qop", .. })
        ));
        assert_eq!(
            with("qop=auth-int, nc=1, cnonce=c"),
            Err(AuthError::UnsupportedQop)
        );
        assert!(matches!(
            with("qop=bogus"),
            Err(AuthError::InvalidParam { name: "qop", .. })
        ));
        assert_eq!(
            with("algorithm=SHA-512-256"),
            Err(AuthError::UnsupportedAlgorithm)
        );
        assert_eq!(
            with("algorithm=MD5-sess"),
            Err(AuthError::MissingParam("cnonce"))
        );
        assert_eq!(with("userhash=true"), Err(AuthError::UnsupportedUserhash));
        assert!(with("userhash=false").is_ok());
        for bad_nc in ["0x000001", "123456789", "\"\"", "zz"] {
            assert!(
                matches!(
                    with(&format!("qop=auth, cnonce=c, nc={bad_nc}")),
                    Err(AuthError::InvalidParam { name: "nc", .. })
                ),
                "{bad_nc}"
            );
        }
        assert_eq!(with("qop=auth, cnonce=c, nc=ffffffff"), Ok(Some(u32::MAX)));
    }

    #[test]
    fn never_panics_on_truncations() {
        let h = r#"Digest username="a\"é", realm="r", nonce="n", uri="u", response="r", qop=auth, nc=1, cnonce="c""#;
        for (i, _) in h.char_indices() {
            let _ = parse_authorization(&h[..i]);
        }
        assert!(parse_authorization(h).is_ok());
    }
}
