//! The crate's error type.

/// Why an `Authorization` / `Proxy-Authorization` header value was rejected.
///
/// Every variant carries only static data so the error is cheap to build on a
/// hot path and never echoes attacker-controlled bytes into logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The value does not start with the `Digest` scheme (e.g. `Basic ...`).
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// The parameter list is syntactically malformed.
    #[error("malformed digest parameters at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset in the header value where parsing failed.
        offset: usize,
        /// Short description of what was expected.
        reason: &'static str,
    },
    /// A known parameter appeared more than once.
    #[error("duplicate digest parameter `{0}`")]
    DuplicateParam(&'static str),
    /// A parameter required by the digest scheme is absent.
    #[error("missing digest parameter `{0}`")]
    MissingParam(&'static str),
    /// A parameter is present but its value is not acceptable.
    #[error("invalid value for digest parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter name (lower case).
        name: &'static str,
        /// Short description of the problem.
        reason: &'static str,
    },
    /// The `algorithm` is not one of MD5, MD5-sess, SHA-256, SHA-256-sess.
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    /// The `qop` is not `auth` (e.g. `auth-int`, which is never offered).
    #[error("unsupported digest qop")]
    UnsupportedQop,
    /// The client sent `userhash=true`, which is never offered.
    #[error("userhash is not supported")]
    UnsupportedUserhash,
}
