//! Caller-filled matching keys: the few header values the transaction layer
//! needs, extracted from a parsed message by the caller.

use std::fmt;

/// The branch prefix that marks an RFC 3261 compliant Via branch.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A SIP request method (case-sensitive, as on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `INVITE`: uses the INVITE transaction state machines.
    Invite,
    /// `ACK`: never creates a transaction of its own.
    Ack,
    /// `BYE`.
    Bye,
    /// `CANCEL`: has its own non-INVITE transaction.
    Cancel,
    /// `REGISTER`.
    Register,
    /// `OPTIONS`.
    Options,
    /// `INFO`.
    Info,
    /// `UPDATE`.
    Update,
    /// `PRACK`.
    Prack,
    /// `SUBSCRIBE`.
    Subscribe,
    /// `NOTIFY`.
    Notify,
    /// `REFER`.
    Refer,
    /// `MESSAGE`.
    Message,
    /// `PUBLISH`.
    Publish,
    /// Any other extension method token.
    Other(String),
}

impl Method {
    /// Maps a method token to a [`Method`]; unknown tokens become [`Method::Other`].
    pub fn from_token(token: &str) -> Self {
        match token {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "OPTIONS" => Self::Options,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "PRACK" => Self::Prack,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            "REFER" => Self::Refer,
            "MESSAGE" => Self::Message,
            "PUBLISH" => Self::Publish,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method token as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Prack => "PRACK",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Refer => "REFER",
            Self::Message => "MESSAGE",
            Self::Publish => "PUBLISH",
            Self::Other(token) => token,
        }
    }

    /// True for `INVITE`.
    pub fn is_invite(&self) -> bool {
        matches!(self, Self::Invite)
    }

    /// True for `ACK`.
    pub fn is_ack(&self) -> bool {
        matches!(self, Self::Ack)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values of a request that transaction matching looks at.
///
/// The caller fills it from the parsed request; the layer never parses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// The request method (the CSeq method is the same for requests).
    pub method: Method,
    /// The `branch` parameter of the top Via (empty when absent).
    pub branch: String,
    /// The sent-by (`host[:port]`) of the top Via; compared ignoring ASCII case.
    pub sent_by: String,
    /// The Call-ID value.
    pub call_id: String,
    /// The From tag, if any.
    pub from_tag: Option<String>,
    /// The To tag, if any (absent on out-of-dialog requests).
    pub to_tag: Option<String>,
    /// The CSeq sequence number.
    pub cseq: u32,
    /// The Request-URI as received (used by the RFC 2543 fallback only).
    pub request_uri: String,
    /// The raw top Via header value (used by the RFC 2543 fallback only).
    pub top_via: String,
}

impl RequestKey {
    /// True when the branch starts with the RFC 3261 magic cookie, so that
    /// branch-based matching applies; otherwise the RFC 2543 rules apply.
    pub fn has_magic_cookie(&self) -> bool {
        self.branch.starts_with(MAGIC_COOKIE)
    }
}

/// The values of a response that client transaction matching looks at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResponseKey {
    /// The `branch` parameter of the top Via of the response.
    pub branch: String,
    /// The method in the CSeq header of the response.
    pub cseq_method: Method,
}

impl ResponseKey {
    /// Builds a response key from its branch and CSeq method.
    pub fn new(branch: impl Into<String>, cseq_method: Method) -> Self {
        Self {
            branch: branch.into(),
            cseq_method,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_tokens_round_trip() {
        for token in [
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "REGISTER",
            "OPTIONS",
            "INFO",
            "UPDATE",
            "PRACK",
            "SUBSCRIBE",
            "NOTIFY",
            "REFER",
            "MESSAGE",
            "PUBLISH",
            "FOO",
        ] {
            assert_eq!(Method::from_token(token).as_str(), token);
        }
        assert_eq!(Method::from_token("FOO"), Method::Other("FOO".into()));
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::from_token("invite"), Method::Other("invite".into()));
        assert!(!Method::from_token("invite").is_invite());
    }

    #[test]
    fn magic_cookie_detection() {
        let mut key = RequestKey {
            method: Method::Options,
            branch: "z9hG4bK776asdhds".into(),
            sent_by: "a.example.com:5060".into(),
            call_id: "c".into(),
            from_tag: None,
            to_tag: None,
            cseq: 1,
            request_uri: "sip:b@example.com".into(),
            top_via: "SIP/2.0/UDP a.example.com:5060".into(),
        };
        assert!(key.has_magic_cookie());
        key.branch = "Z9HG4BK776".into();
        assert!(!key.has_magic_cookie());
        key.branch.clear();
        assert!(!key.has_magic_cookie());
    }
}
