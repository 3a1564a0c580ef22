//! Digest response computation (RFC 3261 §22.4, RFC 7616, RFC 8760) and
//! constant-time verification.
//!
//! Supported: `MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`, with `qop=auth` or
//! with no `qop` at all (the RFC 2069 form still sent by some old phones, where
//! the response is `H(HA1:nonce:HA2)`). Accepting the legacy form is a
//! deliberate choice for compatibility; its replay protection comes from
//! [`crate::NonceManager`], which lets such a nonce be used only once. A
//! registrar that wants to refuse legacy clients checks
//! [`Credentials::qop`](crate::Credentials) itself.

use std::str::FromStr;

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AuthError, Credentials};

/// A digest algorithm, as named in the `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// `MD5` (the default when `algorithm` is absent).
    #[default]
    Md5,
    /// `MD5-sess`: HA1 also covers the server and client nonces.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant.
    pub fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Whether the underlying hash is SHA-256.
    fn is_sha256(self) -> bool {
        matches!(self, Self::Sha256 | Self::Sha256Sess)
    }

    /// Length of a hash in lower-case hex.
    fn hex_len(self) -> usize {
        if self.is_sha256() {
            64
        } else {
            32
        }
    }
}

impl FromStr for Algorithm {
    type Err = AuthError;

    /// Parses an algorithm name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or(AuthError::UnsupportedAlgorithm)
    }
}

/// Quality of protection. Only `auth` is supported (`auth-int` is never offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `qop=auth`: the response covers a client nonce and a nonce count.
    Auth,
}

impl Qop {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
        }
    }
}

/// What the server knows about the user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret<'a> {
    /// The plain-text password.
    Password(&'a str),
    /// A precomputed `H(username:realm:password)` in hex (either case), made with
    /// the hash of the credentials' algorithm (32 hex digits for MD5, 64 for
    /// SHA-256; see [`ha1_hex`]). For `-sess` algorithms this is still the plain
    /// HA1: the session part is derived here.
    Ha1(&'a str),
}

/// A hash in lower-case hex, kept on the stack.
pub(crate) struct HexDigest {
    buf: [u8; 64],
    len: usize,
}

impl HexDigest {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn from_raw(raw: &[u8]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 64];
        let mut len = 0;
        for byte in raw.iter().take(32) {
            buf[len] = HEX[usize::from(byte >> 4)];
            buf[len + 1] = HEX[usize::from(byte & 0x0f)];
            len += 2;
        }
        Self { buf, len }
    }

    /// Normalises hex text received from a client or a store: exactly `len`
    /// hex digits, folded to lower case. `None` if it is anything else.
    fn from_hex_text(text: &str, len: usize) -> Option<Self> {
        if text.len() != len || len > 64 {
            return None;
        }
        let mut buf = [0u8; 64];
        for (slot, byte) in buf.iter_mut().zip(text.bytes()) {
            if !byte.is_ascii_hexdigit() {
                return None;
            }
            *slot = byte.to_ascii_lowercase();
        }
        Some(Self { buf, len })
    }
}

/// Hashes `parts` joined by `:` with the algorithm's hash and returns lower-case hex.
fn hash_hex(algorithm: Algorithm, parts: &[&[u8]]) -> HexDigest {
    fn run<D: Digest>(parts: &[&[u8]]) -> HexDigest {
        let mut hasher = D::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                hasher.update(b":");
            }
            hasher.update(part);
        }
        HexDigest::from_raw(&hasher.finalize())
    }
    if algorithm.is_sha256() {
        run::<Sha256>(parts)
    } else {
        run::<Md5>(parts)
    }
}

/// Computes the plain HA1, `H(username:realm:password)`, in lower-case hex, for
/// storing instead of the password. `-sess` variants use the same value as their
/// base algorithm.
#[must_use]
pub fn ha1_hex(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    let digest = hash_hex(
        algorithm,
        &[username.as_bytes(), realm.as_bytes(), password.as_bytes()],
    );
    String::from_utf8_lossy(digest.as_bytes()).into_owned()
}

/// Computes the response the client should have sent, or `None` when the
/// credentials or the secret cannot produce one.
fn expected_response(
    creds: &Credentials<'_>,
    method: &str,
    secret: Secret<'_>,
) -> Option<HexDigest> {
    let alg = creds.algorithm;
    let base_ha1 = match secret {
        Secret::Password(password) => hash_hex(
            alg,
            &[
                creds.username.as_bytes(),
                creds.realm.as_bytes(),
                password.as_bytes(),
            ],
        ),
        Secret::Ha1(text) => HexDigest::from_hex_text(text, alg.hex_len())?,
    };
    let ha1 = if alg.is_sess() {
        let cnonce = creds.cnonce.as_deref()?;
        hash_hex(
            alg,
            &[
                base_ha1.as_bytes(),
                creds.nonce.as_bytes(),
                cnonce.as_bytes(),
            ],
        )
    } else {
        base_ha1
    };
    let ha2 = hash_hex(alg, &[method.as_bytes(), creds.uri.as_bytes()]);
    let response = match creds.qop {
        Some(qop) => {
            let nc = creds.nc.as_ref()?;
            let cnonce = creds.cnonce.as_deref()?;
            hash_hex(
                alg,
                &[
                    ha1.as_bytes(),
                    creds.nonce.as_bytes(),
                    nc.raw.as_bytes(),
                    cnonce.as_bytes(),
                    qop.as_str().as_bytes(),
                    ha2.as_bytes(),
                ],
            )
        }
        None => hash_hex(
            alg,
            &[ha1.as_bytes(), creds.nonce.as_bytes(), ha2.as_bytes()],
        ),
    };
    Some(response)
}

/// Checks a digest response.
///
/// Returns `true` only if the credentials' realm equals `expected_realm` and the
/// `response` matches the one computed from `secret` for `method` (the SIP
/// method of the request, e.g. `REGISTER`). The response comparison is
/// constant-time. The nonce, the `uri` (see [`uri_matches`]) and `opaque` are
/// the caller's to check.
#[must_use]
pub fn verify(
    creds: &Credentials<'_>,
    method: &str,
    secret: Secret<'_>,
    expected_realm: &str,
) -> bool {
    if creds.realm != expected_realm {
        return false;
    }
    let Some(expected) = expected_response(creds, method, secret) else {
        return false;
    };
    let Some(received) = HexDigest::from_hex_text(&creds.response, creds.algorithm.hex_len())
    else {
        return false;
    };
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}

/// Whether the `uri` parameter of the credentials designates the request URI.
///
/// The client hashes the URI exactly as it wrote it, so this compares the
/// texts: equal after trimming whitespace, ignoring ASCII case. It does not
/// implement the full SIP URI equivalence rules; a caller that needs them
/// compares parsed URIs instead.
#[must_use]
pub fn uri_matches(credentials_uri: &str, request_uri: &str) -> bool {
    credentials_uri
        .trim()
        .eq_ignore_ascii_case(request_uri.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_authorization;

    /// Independent computation with the hash crates directly.
    fn md5_hex(s: &str) -> String {
        hex_string(&Md5::digest(s.as_bytes()))
    }

    fn sha256_hex(s: &str) -> String {
        hex_string(&Sha256::digest(s.as_bytes()))
    }

    fn hex_string(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    const RFC2617: &str = r#"Digest username="Mufasa", realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth,
        nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1",
        opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    fn rfc7616(algorithm: &str, response: &str) -> String {
        format!(
            r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html",
            algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth,
            response="{response}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        )
    }

    #[test]
    fn rfc2617_md5_vector() {
        let creds = parse_authorization(RFC2617).unwrap();
        assert_eq!(creds.algorithm, Algorithm::Md5);
        assert!(verify(
            &creds,
            "GET",
            Secret::Password("Circle Of Life"),
            "testrealm@host.com"
        ));
        assert!(!verify(
            &creds,
            "GET",
            Secret::Password("Circle of Life"),
            "testrealm@host.com"
        ));
        assert!(!verify(
            &creds,
            "POST",
            Secret::Password("Circle Of Life"),
            "testrealm@host.com"
        ));
        assert!(!verify(
            &creds,
            "GET",
            Secret::Password("Circle Of Life"),
            "other"
        ));
    }

    #[test]
    fn rfc7616_md5_vector() {
        let header = rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec");
        let creds = parse_authorization(&header).unwrap();
        assert!(verify(
            &creds,
            "GET",
            Secret::Password("Circle of Life"),
            "http-auth@example.org"
        ));
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let header = rfc7616(
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        );
        let creds = parse_authorization(&header).unwrap();
        assert_eq!(creds.algorithm, Algorithm::Sha256);
        assert!(verify(
            &creds,
            "GET",
            Secret::Password("Circle of Life"),
            "http-auth@example.org"
        ));
        assert!(!verify(
            &creds,
            "GET",
            Secret::Password("circle of life"),
            "http-auth@example.org"
        ));
        // The MD5 response under the SHA-256 label must fail (length differs).
        let wrong = rfc7616("SHA-256", "8ca523f5e9506fed4657c9700eebdbec");
        let creds = parse_authorization(&wrong).unwrap();
        assert!(!verify(
            &creds,
            "GET",
            Secret::Password("Circle of Life"),
            "http-auth@example.org"
        ));
    }

    #[test]
    fn precomputed_ha1_verifies_and_upper_case_accepted() {
        let creds = parse_authorization(RFC2617).unwrap();
        let ha1 = ha1_hex(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert_eq!(ha1, md5_hex("Mufasa:testrealm@host.com:Circle Of Life"));
        assert!(verify(
            &creds,
            "GET",
            Secret::Ha1(&ha1),
            "testrealm@host.com"
        ));
        assert!(verify(
            &creds,
            "GET",
            Secret::Ha1(&ha1.to_uppercase()),
            "testrealm@host.com"
        ));
        // An SHA-256 HA1 cannot serve an MD5 response, and garbage is refused.
        let sha = ha1_hex(
            Algorithm::Sha256,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert_eq!(sha.len(), 64);
        assert!(!verify(
            &creds,
            "GET",
            Secret::Ha1(&sha),
            "testrealm@host.com"
        ));
        assert!(!verify(
            &creds,
            "GET",
            Secret::Ha1("zz"),
            "testrealm@host.com"
        ));
        // Upper-case response digits from the client are also accepted.
        let upper = RFC2617.replace(
            "6629fae49393a05397450978507c4ef1",
            "6629FAE49393A05397450978507C4EF1",
        );
        let creds = parse_authorization(&upper).unwrap();
        assert!(verify(
            &creds,
            "GET",
            Secret::Password("Circle Of Life"),
            "testrealm@host.com"
        ));
    }

    #[test]
    fn legacy_no_qop_response() {
        let ha1 = md5_hex("alice:pbx.example:s3cret");
        let ha2 = md5_hex("REGISTER:sip:pbx.example");
        let response = md5_hex(&format!("{ha1}:abc123:{ha2}"));
        let header = format!(
            r#"Digest username="alice",realm="pbx.example",nonce="abc123",uri="sip:pbx.example",response="{response}""#
        );
        let creds = parse_authorization(&header).unwrap();
        assert_eq!(creds.qop, None);
        assert!(verify(
            &creds,
            "REGISTER",
            Secret::Password("s3cret"),
            "pbx.example"
        ));
        assert!(!verify(
            &creds,
            "INVITE",
            Secret::Password("s3cret"),
            "pbx.example"
        ));
    }

    #[test]
    fn sha256_sess_response() {
        let base = sha256_hex("bob:pbx.example:pw");
        let ha1 = sha256_hex(&format!("{base}:n0nce:c1"));
        let ha2 = sha256_hex("INVITE:sip:200@pbx.example");
        let response = sha256_hex(&format!("{ha1}:n0nce:0000000a:c1:auth:{ha2}"));
        let header = format!(
            r#"Digest username="bob", realm="pbx.example", nonce="n0nce", uri="sip:200@pbx.example", algorithm=SHA-256-sess, qop=auth, nc=0000000a, cnonce="c1", response="{response}""#
        );
        let creds = parse_authorization(&header).unwrap();
        assert_eq!(creds.algorithm, Algorithm::Sha256Sess);
        assert_eq!(creds.nonce_count(), Some(10));
        assert!(verify(
            &creds,
            "INVITE",
            Secret::Password("pw"),
            "pbx.example"
        ));
        assert!(verify(&creds, "INVITE", Secret::Ha1(&base), "pbx.example"));
        assert!(!verify(
            &creds,
            "INVITE",
            Secret::Password("pw2"),
            "pbx.example"
        ));
    }

    #[test]
    fn md5_sess_response() {
        let base = md5_hex("bob:r:pw");
        let ha1 = md5_hex(&format!("{base}:n:c"));
        let ha2 = md5_hex("REGISTER:sip:r");
        let response = md5_hex(&format!("{ha1}:n:00000001:c:auth:{ha2}"));
        let header = format!(
            r#"Digest username="bob",realm="r",nonce="n",uri="sip:r",algorithm=md5-SESS,qop=auth,nc=00000001,cnonce="c",response="{response}""#
        );
        let creds = parse_authorization(&header).unwrap();
        assert_eq!(creds.algorithm, Algorithm::Md5Sess);
        assert!(verify(&creds, "REGISTER", Secret::Password("pw"), "r"));
    }

    #[test]
    fn algorithm_names() {
        for alg in [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ] {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
            assert_eq!(alg.as_str().to_lowercase().parse::<Algorithm>(), Ok(alg));
        }
        assert_eq!(
            "SHA-512-256".parse::<Algorithm>(),
            Err(AuthError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn uri_comparison() {
        assert!(uri_matches("sip:pbx.example", "sip:pbx.example"));
        assert!(uri_matches(" SIP:PBX.example ", "sip:pbx.example"));
        assert!(!uri_matches("sip:pbx.example:5061", "sip:pbx.example"));
    }
}
