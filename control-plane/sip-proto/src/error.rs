//! Error types of the crate.
//!
//! Three enums, one per input kind: [`ParseError`] for SIP messages and URIs,
//! [`FrameError`] for the stream deframer and [`SdpError`] for session
//! descriptions. Each variant says what is wrong, so that a server can name
//! the problem in the reason phrase of a `400 Bad Request`.

use std::borrow::Cow;

/// Why a SIP message (or a URI) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input holds nothing but (optional) empty lines.
    #[error("empty message")]
    Empty,
    /// The header section is not terminated by an empty line.
    #[error("message truncated: no end of header section")]
    Truncated,
    /// A line ends in a bare CR or a bare LF instead of CRLF.
    #[error("bare CR or LF in the header section")]
    BadLineEnding,
    /// The header section (or the start line) is not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    InvalidUtf8,
    /// The start line is neither a valid Request-Line nor a valid Status-Line
    /// (wrong number of elements, extra or missing spaces).
    #[error("malformed start line")]
    BadStartLine,
    /// The request method is not a token.
    #[error("malformed method")]
    BadMethod,
    /// The Request-URI is malformed, enclosed in `<>`, or carries `?headers`.
    #[error("malformed Request-URI")]
    BadRequestUri,
    /// The protocol version is not `SIP/2.0`.
    #[error("unsupported SIP version")]
    BadVersion,
    /// The status code is not three digits in the range 100–699.
    #[error("malformed status code")]
    BadStatusCode,
    /// A header line has no colon, or its name is not a token, or a
    /// continuation line appears before any header.
    #[error("malformed header line")]
    BadHeaderLine,
    /// The value of the named header does not follow its grammar.
    #[error("malformed {name} header")]
    BadHeader {
        /// Canonical name of the offending header.
        name: &'static str,
    },
    /// The CSeq header is malformed or its number does not fit in 32 bits.
    #[error("malformed CSeq header")]
    BadCSeq,
    /// The CSeq method differs from the method of the Request-Line.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// The Content-Length header is not a non-negative decimal number.
    #[error("malformed Content-Length header")]
    BadContentLength,
    /// The Content-Length header announces more bytes than the message holds.
    #[error("Content-Length {declared} exceeds the {available} body bytes present")]
    ContentLengthMismatch {
        /// Value of the Content-Length header.
        declared: usize,
        /// Number of bytes actually following the header section.
        available: usize,
    },
    /// A header required in every request is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that may appear only once appears several times.
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// The message has more header fields than the parser accepts.
    #[error("too many header fields (limit {limit})")]
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The message is larger than the caller's limit. Not produced by
    /// [`crate::parse_message`] itself: it lets a transport report an
    /// oversized (e.g. truncated) datagram with the same error type, and
    /// maps to `513 Message Too Large`.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size of the offending input.
        size: usize,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A URI does not follow the SIP, SIPS, tel or absolute-URI grammar.
    #[error("malformed URI")]
    BadUri,
}

impl ParseError {
    /// A short reason phrase for a `400 Bad Request` naming the problem,
    /// e.g. `Bad Request - malformed Via header`.
    ///
    /// The phrase contains only printable ASCII, so it is safe to put on a
    /// Status-Line as is.
    pub fn reason_phrase(&self) -> Cow<'static, str> {
        match self {
            Self::BadHeader { name } => {
                Cow::Owned(format!("Bad Request - malformed {name} header"))
            }
            Self::MissingHeader(name) => Cow::Owned(format!("Bad Request - missing {name} header")),
            Self::DuplicateHeader(name) => {
                Cow::Owned(format!("Bad Request - duplicate {name} header"))
            }
            Self::ContentLengthMismatch { .. } => {
                Cow::Borrowed("Bad Request - Content-Length exceeds the body")
            }
            Self::TooManyHeaders { .. } => Cow::Borrowed("Bad Request - too many header fields"),
            Self::TooLarge { .. } => Cow::Borrowed("Bad Request - message too large"),
            Self::Empty => Cow::Borrowed("Bad Request - empty message"),
            Self::Truncated => Cow::Borrowed("Bad Request - truncated message"),
            Self::BadLineEnding => Cow::Borrowed("Bad Request - bare CR or LF"),
            Self::InvalidUtf8 => Cow::Borrowed("Bad Request - invalid UTF-8"),
            Self::BadStartLine => Cow::Borrowed("Bad Request - malformed Request-Line"),
            Self::BadMethod => Cow::Borrowed("Bad Request - malformed method"),
            Self::BadRequestUri => Cow::Borrowed("Bad Request - malformed Request-URI"),
            Self::BadVersion => Cow::Borrowed("Bad Request - unsupported SIP version"),
            Self::BadStatusCode => Cow::Borrowed("Bad Request - malformed status code"),
            Self::BadHeaderLine => Cow::Borrowed("Bad Request - malformed header line"),
            Self::BadCSeq => Cow::Borrowed("Bad Request - malformed CSeq header"),
            Self::CSeqMethodMismatch => Cow::Borrowed("Bad Request - CSeq method mismatch"),
            Self::BadContentLength => Cow::Borrowed("Bad Request - malformed Content-Length"),
            Self::BadUri => Cow::Borrowed("Bad Request - malformed URI"),
        }
    }

    /// The status code a server should answer this error with when it
    /// concerns a request: 505 for an unsupported version, 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadVersion => 505,
            Self::TooLarge { .. } => 513,
            _ => 400,
        }
    }
}

/// Why the TCP/TLS stream deframer gave up. After any of these the stream
/// cannot be resynchronised and the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The header section grew past the configured limit without ending.
    #[error("header section exceeds {limit} bytes")]
    HeaderTooLarge {
        /// The configured header-section limit.
        limit: usize,
    },
    /// The message (headers plus announced body) exceeds the configured limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size the message would have.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A message on a stream carries no Content-Length header, so its end
    /// cannot be found.
    #[error("message on a stream transport without Content-Length")]
    MissingContentLength,
    /// The Content-Length header is not a non-negative decimal number.
    #[error("malformed Content-Length header")]
    BadContentLength,
    /// Several Content-Length headers disagree.
    #[error("conflicting Content-Length headers")]
    ConflictingContentLength,
    /// A previous error already poisoned the stream.
    #[error("stream already failed")]
    Poisoned,
}

/// Why a session description was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The description is not valid UTF-8.
    #[error("session description is not valid UTF-8")]
    InvalidUtf8,
    /// The description is empty.
    #[error("empty session description")]
    Empty,
    /// A line is not of the form `<letter>=<value>`.
    #[error("malformed line {line}")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// A line uses a type letter that SDP does not define.
    #[error("unknown type letter '{letter}' on line {line}")]
    UnknownType {
        /// The offending type letter.
        letter: char,
        /// 1-based line number.
        line: usize,
    },
    /// A line appears where the grammar does not allow it (e.g. `v=` not
    /// first, `r=` without `t=`, a second `o=`).
    #[error("'{letter}=' line out of order on line {line}")]
    OutOfOrder {
        /// The type letter of the misplaced line.
        letter: char,
        /// 1-based line number.
        line: usize,
    },
    /// A mandatory line (`v=`, `o=`, `s=` or `t=`) is missing.
    #[error("missing '{0}=' line")]
    Missing(char),
    /// The value of a line does not follow its grammar.
    #[error("malformed '{letter}=' value on line {line}")]
    BadValue {
        /// The type letter of the line.
        letter: char,
        /// 1-based line number.
        line: usize,
    },
    /// The version is not 0.
    #[error("unsupported SDP version")]
    BadVersion,
}
