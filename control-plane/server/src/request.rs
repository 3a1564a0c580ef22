//! Reading requests: the transaction key, RFC 3261 §8.2 checks, and the registrar's view of a
//! REGISTER. The only place that turns parser types into the owned values the TUs use.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use warden_sip_proto::{Contact, Message, Scheme};

use crate::registrar::{ContactSpec, Contacts, RegisterRequest};
use crate::transport::Flow;

/// The methods Warden answers.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, OPTIONS, MESSAGE, NOTIFY, REGISTER";

/// Option tags we support (RFC 3261 §8.2.2.3); anything else in Require gets 420.
const SUPPORTED: &[&str] = &["path", "outbound", "100rel", "timer"];

/// Headers of a 200 to OPTIONS (RFC 3261 §11.2).
pub(crate) fn options_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Allow", ALLOW.to_string()),
        ("Accept", "application/sdp".to_string()),
        ("Accept-Encoding", "identity".to_string()),
        ("Accept-Language", "en".to_string()),
        ("Supported", SUPPORTED.join(", ")),
    ]
}

/// The outcome of the generic request checks.
pub(crate) enum Check {
    /// Go on.
    Ok,
    /// Answer with this.
    Reject {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: &'static str,
        /// Extra headers.
        headers: Vec<(&'static str, String)>,
    },
}

/// RFC 3261 §8.2.1–8.2.2: URI scheme and required extensions.
pub(crate) fn check(msg: &Message<'_>) -> Check {
    if let Some(uri) = msg.request_uri() {
        if !matches!(uri.scheme, Scheme::Sip | Scheme::Sips) {
            return Check::Reject {
                status: 416,
                reason: "Unsupported URI Scheme",
                headers: Vec::new(),
            };
        }
    }
    let method = msg.method().map(|m| m.as_str()).unwrap_or("");
    if method != "ACK" && method != "CANCEL" {
        let unsupported: Vec<String> = msg
            .header_values("Require")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !unsupported.is_empty() {
            return Check::Reject {
                status: 420,
                reason: "Bad Extension",
                headers: vec![("Unsupported", unsupported.join(", "))],
            };
        }
    }
    Check::Ok
}

/// Extracts the registrar's view of a REGISTER, or the reason for a 400.
pub(crate) fn register(msg: &Message<'_>, flow: Flow) -> Result<RegisterRequest, &'static str> {
    let to = msg.to().ok_or("Missing To")?;
    let aor = to.uri.user.ok_or("To URI Has No User")?;
    let aor = warden_sip_proto::percent_decode(aor);
    let aor = String::from_utf8(aor.into_owned()).map_err(|_| "Bad AOR Encoding")?;
    let mut list = Vec::new();
    let mut wildcard = false;
    for c in msg.contacts() {
        match c {
            Contact::Wildcard => wildcard = true,
            Contact::Addr(a) => list.push(ContactSpec {
                uri: a.uri.as_str().to_string(),
                expires: a.expires(),
                q_millis: a.q_millis(),
            }),
        }
    }
    let contacts = match (wildcard, list.is_empty()) {
        (true, true) => Contacts::Wildcard,
        (true, false) => return Err("Wildcard Contact Mixed With Addresses"),
        (false, true) => Contacts::None,
        (false, false) => Contacts::List(list),
    };
    if msg.header_values("Contact").count() > 0 && matches!(contacts, Contacts::None) {
        return Err("Invalid Contact");
    }
    Ok(RegisterRequest {
        aor,
        request_uri: msg
            .request_uri()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default(),
        contacts,
        expires: msg.expires(),
        call_id: msg.call_id().unwrap_or_default().to_string(),
        cseq: msg.cseq().map(|c| c.seq).unwrap_or(0),
        authorization: msg
            .headers("Authorization")
            .map(|v| v.into_owned())
            .collect(),
        source: flow.peer,
        transport: flow.transport.as_str(),
        user_agent: msg.header("User-Agent").map(|v| v.into_owned()),
    })
}

/// A To tag for our responses: stable for a given request (so a stateless re-answer matches)
/// and unguessable across runs.
pub(crate) fn to_tag(msg: &Message<'_>) -> String {
    static SALT: OnceLock<u64> = OnceLock::new();
    let salt = *SALT.get_or_init(rand::random);
    let mut h = DefaultHasher::new();
    salt.hash(&mut h);
    msg.call_id().hash(&mut h);
    msg.from().and_then(|f| f.tag()).hash(&mut h);
    msg.top_via().and_then(|v| v.branch()).hash(&mut h);
    format!("{:016x}", h.finish())
}
