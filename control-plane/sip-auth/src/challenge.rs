//! `WWW-Authenticate` / `Proxy-Authenticate` challenges.
//!
//! Following RFC 8760 the registrar sends two challenges in one response, the
//! preferred SHA-256 first and MD5 second (for the many phones that only know
//! MD5); [`Challenge::pair`] builds them. Both carry the same nonce: nonces
//! here do not depend on the algorithm. `qop="auth"` is always offered; old
//! RFC 2069 clients ignore it and are still accepted (see [`crate::verify`]).

use std::fmt;

use crate::{Algorithm, Qop};

/// One digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection realm (usually the domain).
    pub realm: String,
    /// A nonce from [`NonceManager::issue`](crate::NonceManager::issue).
    pub nonce: String,
    /// An opaque value the client must echo, if wanted.
    pub opaque: Option<String>,
    /// The algorithm offered.
    pub algorithm: Algorithm,
    /// The quality of protection offered (`None` omits the parameter).
    pub qop: Option<Qop>,
    /// Whether the previous nonce was merely stale (the client should retry
    /// with the same password without asking the user).
    pub stale: bool,
}

impl Challenge {
    /// A challenge offering `algorithm` with `qop="auth"`, no opaque, not stale.
    pub fn new(realm: impl Into<String>, nonce: impl Into<String>, algorithm: Algorithm) -> Self {
        Self {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm,
            qop: Some(Qop::Auth),
            stale: false,
        }
    }

    /// The two challenges to send, in order: SHA-256, then MD5.
    pub fn pair(realm: &str, nonce: &str, opaque: Option<&str>, stale: bool) -> [Challenge; 2] {
        [Algorithm::Sha256, Algorithm::Md5].map(|algorithm| Challenge {
            opaque: opaque.map(str::to_owned),
            stale,
            ..Challenge::new(realm, nonce, algorithm)
        })
    }

    /// The header value, e.g.
    /// `Digest realm="pbx.example", nonce="...", algorithm=SHA-256, qop="auth"`.
    ///
    /// Quotes and backslashes in quoted values are escaped; control characters
    /// (which a quoted string cannot carry) are dropped.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

/// Writes `value` as a quoted string.
fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Challenge {
    /// Formats the header value (see [`Challenge::to_header_value`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest realm=")?;
        write_quoted(f, &self.realm)?;
        f.write_str(", nonce=")?;
        write_quoted(f, &self.nonce)?;
        if let Some(opaque) = &self.opaque {
            f.write_str(", opaque=")?;
            write_quoted(f, opaque)?;
        }
        write!(f, ", algorithm={}", self.algorithm.as_str())?;
        if let Some(qop) = self.qop {
            write!(f, ", qop=\"{}\"", qop.as_str())?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_order_and_format() {
        let [first, second] = Challenge::pair("pbx.example", "abc", None, false);
        assert_eq!(
            first.to_header_value(),
            r#"Digest realm="pbx.example", nonce="abc", algorithm=SHA-256, qop="auth""#
        );
        assert_eq!(
            second.to_header_value(),
            r#"Digest realm="pbx.example", nonce="abc", algorithm=MD5, qop="auth""#
        );
    }

    #[test]
    fn opaque_stale_and_escaping() {
        let [c, _] = Challenge::pair("a \"b\" \\c\r\n", "n", Some("op"), true);
        assert_eq!(
            c.to_header_value(),
            r#"Digest realm="a \"b\" \\c", nonce="n", opaque="op", algorithm=SHA-256, qop="auth", stale=true"#
        );
        let legacy = Challenge {
            qop: None,
            ..Challenge::new("r", "n", Algorithm::Md5)
        };
        assert_eq!(
            legacy.to_string(),
            r#"Digest realm="r", nonce="n", algorithm=MD5"#
        );
    }

    #[test]
    fn credentials_parser_reads_back_quoted_values() {
        // A client echoing the challenge's realm and nonce gets the same text back.
        let c = Challenge::new("we\"ird\\realm", "n0", Algorithm::Sha256);
        let header =
            c.to_header_value()
                .replacen("Digest ", "Digest username=u, uri=x, response=r, ", 1);
        let header = header.replace(", algorithm=SHA-256, qop=\"auth\"", "");
        let creds = crate::parse_authorization(&header).unwrap();
        assert_eq!(creds.realm, "we\"ird\\realm");
        assert_eq!(creds.nonce, "n0");
    }
}
