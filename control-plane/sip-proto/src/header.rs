//! Header names (canonical spelling, compact forms, case-insensitive
//! matching) and the zero-copy header field.

use std::borrow::Cow;

use crate::text::unfold;

macro_rules! header_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $canon:literal, $lower:literal, $list:literal; )*) => {
        /// The headers this crate knows by name. Anything else is
        /// [`HeaderKind::Other`] and keeps its name as written.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderKind {
            $( $(#[$doc])* $variant, )*
            /// A header this crate has no grammar for.
            Other,
        }

        impl HeaderKind {
            /// The canonical spelling (e.g. `Call-ID`, `CSeq`, `WWW-Authenticate`).
            pub fn canonical_name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($canon), )*
                    Self::Other => None,
                }
            }

            /// True for headers whose value is a comma-separated list that
            /// may be split into several header fields.
            pub fn is_list(self) -> bool {
                match self {
                    $( Self::$variant => $list, )*
                    Self::Other => false,
                }
            }

            /// Exact match on the canonical spelling (the usual case).
            fn from_canonical(name: &str) -> Option<Self> {
                match name {
                    $( $canon => Some(Self::$variant), )*
                    _ => None,
                }
            }

            fn from_lower(lower: &[u8]) -> Self {
                match lower {
                    $( $lower => Self::$variant, )*
                    _ => Self::Other,
                }
            }
        }

        /// Every known header with its canonical name.
        #[cfg(test)]
        const ALL: &[(HeaderKind, &str)] = &[ $( (HeaderKind::$variant, $canon), )* ];
    };
}

header_kinds! {
    /// Accept
    Accept => "Accept", b"accept", true;
    /// Accept-Encoding
    AcceptEncoding => "Accept-Encoding", b"accept-encoding", true;
    /// Accept-Language
    AcceptLanguage => "Accept-Language", b"accept-language", true;
    /// Alert-Info
    AlertInfo => "Alert-Info", b"alert-info", true;
    /// Allow
    Allow => "Allow", b"allow", true;
    /// Allow-Events (compact `u`)
    AllowEvents => "Allow-Events", b"allow-events", true;
    /// Authentication-Info
    AuthenticationInfo => "Authentication-Info", b"authentication-info", false;
    /// Authorization
    Authorization => "Authorization", b"authorization", false;
    /// Call-ID (compact `i`)
    CallId => "Call-ID", b"call-id", false;
    /// Call-Info
    CallInfo => "Call-Info", b"call-info", true;
    /// Contact (compact `m`)
    Contact => "Contact", b"contact", true;
    /// Content-Disposition
    ContentDisposition => "Content-Disposition", b"content-disposition", false;
    /// Content-Encoding (compact `e`)
    ContentEncoding => "Content-Encoding", b"content-encoding", true;
    /// Content-Language
    ContentLanguage => "Content-Language", b"content-language", true;
    /// Content-Length (compact `l`)
    ContentLength => "Content-Length", b"content-length", false;
    /// Content-Type (compact `c`)
    ContentType => "Content-Type", b"content-type", false;
    /// CSeq
    CSeq => "CSeq", b"cseq", false;
    /// Date
    Date => "Date", b"date", false;
    /// Error-Info
    ErrorInfo => "Error-Info", b"error-info", true;
    /// Event (compact `o`)
    Event => "Event", b"event", false;
    /// Expires
    Expires => "Expires", b"expires", false;
    /// From (compact `f`)
    From => "From", b"from", false;
    /// In-Reply-To
    InReplyTo => "In-Reply-To", b"in-reply-to", true;
    /// Max-Forwards
    MaxForwards => "Max-Forwards", b"max-forwards", false;
    /// MIME-Version
    MimeVersion => "MIME-Version", b"mime-version", false;
    /// Min-Expires
    MinExpires => "Min-Expires", b"min-expires", false;
    /// Min-SE
    MinSe => "Min-SE", b"min-se", false;
    /// Organization
    Organization => "Organization", b"organization", false;
    /// P-Asserted-Identity
    PAssertedIdentity => "P-Asserted-Identity", b"p-asserted-identity", true;
    /// Path
    Path => "Path", b"path", true;
    /// Priority
    Priority => "Priority", b"priority", false;
    /// Privacy
    Privacy => "Privacy", b"privacy", false;
    /// Proxy-Authenticate
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate", false;
    /// Proxy-Authorization
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization", false;
    /// Proxy-Require
    ProxyRequire => "Proxy-Require", b"proxy-require", true;
    /// RAck
    RAck => "RAck", b"rack", false;
    /// Reason
    Reason => "Reason", b"reason", true;
    /// Record-Route
    RecordRoute => "Record-Route", b"record-route", true;
    /// Refer-To (compact `r`)
    ReferTo => "Refer-To", b"refer-to", false;
    /// Referred-By (compact `b`)
    ReferredBy => "Referred-By", b"referred-by", false;
    /// Reply-To
    ReplyTo => "Reply-To", b"reply-to", false;
    /// Require
    Require => "Require", b"require", true;
    /// Retry-After
    RetryAfter => "Retry-After", b"retry-after", false;
    /// Route
    Route => "Route", b"route", true;
    /// RSeq
    RSeq => "RSeq", b"rseq", false;
    /// Server
    Server => "Server", b"server", false;
    /// Service-Route
    ServiceRoute => "Service-Route", b"service-route", true;
    /// Session-Expires (compact `x`)
    SessionExpires => "Session-Expires", b"session-expires", false;
    /// Subject (compact `s`)
    Subject => "Subject", b"subject", false;
    /// Subscription-State
    SubscriptionState => "Subscription-State", b"subscription-state", false;
    /// Supported (compact `k`)
    Supported => "Supported", b"supported", true;
    /// Timestamp
    Timestamp => "Timestamp", b"timestamp", false;
    /// To (compact `t`)
    To => "To", b"to", false;
    /// Unsupported
    Unsupported => "Unsupported", b"unsupported", true;
    /// User-Agent
    UserAgent => "User-Agent", b"user-agent", false;
    /// Via (compact `v`)
    Via => "Via", b"via", true;
    /// Warning
    Warning => "Warning", b"warning", true;
    /// WWW-Authenticate
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate", false;
}

impl HeaderKind {
    /// Classifies a header name: compact forms and any letter case map to
    /// the same kind.
    pub fn from_name(name: &str) -> Self {
        let b = name.as_bytes();
        if let [c] = b {
            return match c.to_ascii_lowercase() {
                b'i' => Self::CallId,
                b'm' => Self::Contact,
                b'f' => Self::From,
                b't' => Self::To,
                b'v' => Self::Via,
                b'l' => Self::ContentLength,
                b'c' => Self::ContentType,
                b'e' => Self::ContentEncoding,
                b'k' => Self::Supported,
                b's' => Self::Subject,
                b'o' => Self::Event,
                b'r' => Self::ReferTo,
                b'b' => Self::ReferredBy,
                b'u' => Self::AllowEvents,
                b'x' => Self::SessionExpires,
                _ => Self::Other,
            };
        }
        if let Some(kind) = Self::from_canonical(name) {
            return kind;
        }
        let mut buf = [0u8; 24];
        match buf.get_mut(..b.len()) {
            Some(dst) => {
                for (d, s) in dst.iter_mut().zip(b) {
                    *d = s.to_ascii_lowercase();
                }
                Self::from_lower(dst)
            }
            None => Self::Other,
        }
    }
}

/// One header field: its name (canonical for known headers, as written
/// otherwise) and its raw value.
///
/// The raw value is a slice of the message, trimmed, that still contains
/// the line folds of a folded header; [`Header::value`] unfolds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header name: canonical spelling for known headers (compact forms
    /// expanded), as written for others.
    pub name: &'a str,
    /// What header this is.
    pub kind: HeaderKind,
    raw: &'a str,
    folded: bool,
}

impl<'a> Header<'a> {
    /// Builds a header from a name as written and a raw value slice.
    pub(crate) fn new(name: &'a str, raw: &'a str, folded: bool) -> Self {
        let kind = HeaderKind::from_name(name);
        Self {
            name: kind.canonical_name().unwrap_or(name),
            kind,
            raw,
            folded,
        }
    }

    /// The value with line folds replaced by single spaces. Borrows unless
    /// the header was folded.
    pub fn value(&self) -> Cow<'a, str> {
        if self.folded {
            unfold(self.raw)
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The raw value (may contain `CRLF WSP` folds).
    pub fn raw_value(&self) -> &'a str {
        self.raw
    }

    /// True if the value spans several lines.
    pub fn is_folded(&self) -> bool {
        self.folded
    }

    /// True if this header has the given name (case-insensitive, compact
    /// forms accepted: `"v"` matches a Via).
    pub fn is(&self, name: &str) -> bool {
        let kind = HeaderKind::from_name(name);
        if kind == HeaderKind::Other {
            self.kind == HeaderKind::Other && self.name.eq_ignore_ascii_case(name)
        } else {
            self.kind == kind
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive_names() {
        for (name, kind) in [
            ("i", HeaderKind::CallId),
            ("I", HeaderKind::CallId),
            ("m", HeaderKind::Contact),
            ("f", HeaderKind::From),
            ("t", HeaderKind::To),
            ("V", HeaderKind::Via),
            ("l", HeaderKind::ContentLength),
            ("c", HeaderKind::ContentType),
            ("e", HeaderKind::ContentEncoding),
            ("k", HeaderKind::Supported),
            ("s", HeaderKind::Subject),
            ("o", HeaderKind::Event),
            ("r", HeaderKind::ReferTo),
            ("b", HeaderKind::ReferredBy),
            ("u", HeaderKind::AllowEvents),
            ("x", HeaderKind::SessionExpires),
            ("MaX-fOrWaRdS", HeaderKind::MaxForwards),
            ("call-id", HeaderKind::CallId),
            ("CSEQ", HeaderKind::CSeq),
            ("www-authenticate", HeaderKind::WwwAuthenticate),
            ("q", HeaderKind::Other),
            ("X-Custom", HeaderKind::Other),
            (
                "a-very-long-header-name-beyond-the-buffer",
                HeaderKind::Other,
            ),
        ] {
            assert_eq!(HeaderKind::from_name(name), kind, "{name}");
        }
        assert_eq!(HeaderKind::CallId.canonical_name(), Some("Call-ID"));
        // Every known name is found, in any case.
        for (kind, canon) in ALL {
            assert_eq!(HeaderKind::from_name(canon), *kind);
            assert_eq!(HeaderKind::from_name(&canon.to_ascii_uppercase()), *kind);
            assert_eq!(HeaderKind::from_name(&canon.to_ascii_lowercase()), *kind);
        }

        assert!(HeaderKind::Via.is_list());
        assert!(!HeaderKind::WwwAuthenticate.is_list());
    }

    #[test]
    fn header_value_and_matching() {
        let h = Header::new("v", "SIP/2.0/UDP a\r\n ;branch=z9hG4bK1", true);
        assert_eq!(h.name, "Via");
        assert_eq!(h.value(), "SIP/2.0/UDP a ;branch=z9hG4bK1");
        assert!(h.is("via") && h.is("V") && !h.is("Route"));
        let h = Header::new("X-Foo", "bar", false);
        assert_eq!(h.name, "X-Foo");
        assert!(h.is("x-foo") && !h.is("x-bar"));
        assert!(matches!(h.value(), Cow::Borrowed("bar")));
    }
}
