//! Reading parsed messages into the owned values the call logic keeps, and writing the
//! requests and responses it sends.

use std::fmt::Write as _;
use std::net::IpAddr;

use bytes::Bytes;
use rand::Rng;
use warden_sip_proto::{parse_message, response_to, Message, Method, RequestBuilder, Uri};
use warden_sip_txn::{RequestKey, ResponseKey};

use crate::ids::Flow;
use crate::sdp::Sdp;

/// Branch prefix of the B2BUA's own requests (after the RFC 3261 magic cookie).
pub(crate) const BRANCH_PREFIX: &str = "z9hG4bKwb";

/// The transaction layer's name for a method.
pub(crate) fn txn_method(m: Method<'_>) -> warden_sip_txn::Method {
    warden_sip_txn::Method::from_token(m.as_str())
}

/// The transaction-matching key of a request; `None` when a required header is missing.
pub fn request_key(msg: &Message<'_>) -> Option<RequestKey> {
    let method = msg.method()?;
    let via = msg.top_via()?;
    let cseq = msg.cseq()?;
    let sent_by = match via.port {
        Some(p) => format!("{}:{p}", via.host),
        None => via.host.to_string(),
    };
    Some(RequestKey {
        method: txn_method(method),
        branch: via.branch().unwrap_or("").to_string(),
        sent_by,
        call_id: msg.call_id()?.to_string(),
        from_tag: msg.from().and_then(|f| f.tag()).map(str::to_string),
        to_tag: msg.to().and_then(|t| t.tag()).map(str::to_string),
        cseq: cseq.seq,
        request_uri: msg
            .request_uri()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default(),
        top_via: via.as_str().to_string(),
    })
}

/// The client-transaction key of a response.
pub(crate) fn response_key(msg: &Message<'_>) -> Option<ResponseKey> {
    if !msg.is_response() {
        return None;
    }
    let branch = msg.top_via()?.branch()?;
    let cseq = msg.cseq()?;
    Some(ResponseKey::new(branch, txn_method(cseq.method)))
}

/// The user part of a URI, with escapes decoded.
pub(crate) fn user_of(uri: &Uri<'_>) -> Option<String> {
    let raw = uri.user_decoded()?;
    let user = String::from_utf8(raw.into_owned()).ok()?;
    (!user.is_empty()).then_some(user)
}

/// True when a Supported/Require-style header lists `tag`.
pub(crate) fn lists(msg: &Message<'_>, header: &str, tag: &str) -> bool {
    msg.header_values(header)
        .any(|v| v.trim().eq_ignore_ascii_case(tag))
}

/// The option tags of Require that the B2BUA does not support.
pub(crate) fn unsupported_requirements(msg: &Message<'_>) -> Vec<String> {
    const SUPPORTED: [&str; 4] = ["100rel", "timer", "path", "outbound"];
    msg.header_values("Require")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .collect()
}

/// Who refreshes a session (RFC 4028).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refresher {
    /// The user agent client of the dialog's INVITE.
    Uac,
    /// The user agent server.
    Uas,
}

/// A `Session-Expires` header: the interval and, when given, the refresher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionExpires {
    pub(crate) secs: u32,
    pub(crate) refresher: Option<Refresher>,
}

/// Reads `Session-Expires` (compact form `x`).
pub(crate) fn session_expires(msg: &Message<'_>) -> Option<SessionExpires> {
    let raw = msg.header("Session-Expires").or_else(|| msg.header("x"))?;
    let mut parts = raw.split(';');
    let secs = parts.next()?.trim().parse().ok()?;
    let mut refresher = None;
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            if k.trim().eq_ignore_ascii_case("refresher") {
                refresher = match v.trim().to_ascii_lowercase().as_str() {
                    "uac" => Some(Refresher::Uac),
                    "uas" => Some(Refresher::Uas),
                    _ => None,
                };
            }
        }
    }
    Some(SessionExpires { secs, refresher })
}

/// Reads `Min-SE`.
pub(crate) fn min_se(msg: &Message<'_>) -> Option<u32> {
    msg.header("Min-SE")?.split(';').next()?.trim().parse().ok()
}

/// Reads `RSeq`.
pub(crate) fn rseq(msg: &Message<'_>) -> Option<u32> {
    msg.header("RSeq")?.trim().parse().ok()
}

/// Reads `RAck` as (response number, CSeq number).
pub(crate) fn rack(msg: &Message<'_>) -> Option<(u32, u32)> {
    let raw = msg.header("RAck")?;
    let mut it = raw.split_whitespace();
    let rseq = it.next()?.parse().ok()?;
    let cseq = it.next()?.parse().ok()?;
    Some((rseq, cseq))
}

/// A header value without its `tag` parameter.
pub(crate) fn strip_tag(value: &str) -> String {
    let Some(na) = warden_sip_proto::NameAddr::parse(value) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(value.len());
    if let Some(d) = na.display_name_raw() {
        out.push_str(d);
        out.push(' ');
    }
    let _ = write!(out, "<{}>", na.uri.as_str());
    for p in na.params.iter() {
        if p.name.eq_ignore_ascii_case("tag") {
            continue;
        }
        out.push(';');
        out.push_str(p.name);
        if let Some(v) = p.value {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// A random lower-case hex token of `2 * bytes` characters.
pub(crate) fn token(rng: &mut impl Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let _ = write!(s, "{:02x}", rng.gen::<u8>());
    }
    s
}

/// A new branch for one of our requests.
pub(crate) fn branch(rng: &mut impl Rng) -> String {
    format!("{BRANCH_PREFIX}{}", token(rng, 8))
}

/// The host:port we write in Via and Contact for a flow.
pub(crate) fn sent_by(flow: &Flow, advertise: Option<IpAddr>) -> String {
    let ip = match (flow.local.ip(), advertise) {
        (ip, Some(adv)) if ip.is_unspecified() => adv,
        (ip, _) => ip,
    };
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{}", flow.local.port()),
        IpAddr::V6(v6) => format!("[{v6}]:{}", flow.local.port()),
    }
}

/// Our Contact header value on a flow.
pub(crate) fn contact(user: &str, flow: &Flow, advertise: Option<IpAddr>) -> String {
    let transport = if flow.transport.is_reliable() {
        ";transport=tcp"
    } else {
        ""
    };
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
        .collect();
    let user = if user.is_empty() {
        "warden".to_string()
    } else {
        user
    };
    format!("<sip:{user}@{}{transport}>", sent_by(flow, advertise))
}

/// Everything needed to write a request.
pub(crate) struct RequestSpec<'a> {
    pub(crate) method: Method<'a>,
    pub(crate) uri: &'a str,
    pub(crate) via: String,
    pub(crate) max_forwards: u8,
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: u32,
    pub(crate) routes: &'a [String],
    pub(crate) contact: Option<&'a str>,
    pub(crate) headers: Vec<(&'a str, String)>,
    pub(crate) user_agent: &'a str,
    pub(crate) body: Option<(&'a str, Vec<u8>)>,
}

impl RequestSpec<'_> {
    /// Serialises the request.
    pub(crate) fn to_bytes(&self) -> Bytes {
        let mut b = RequestBuilder::new(self.method, self.uri)
            .header("Via", self.via.as_str())
            .header("Max-Forwards", self.max_forwards.to_string())
            .header("From", self.from)
            .header("To", self.to)
            .header("Call-ID", self.call_id)
            .header("CSeq", format!("{} {}", self.cseq, self.method.as_str()));
        for r in self.routes {
            b = b.header("Route", r.as_str());
        }
        if let Some(c) = self.contact {
            b = b.header("Contact", c);
        }
        for (n, v) in &self.headers {
            b = b.header(*n, v.as_str());
        }
        b = b.header("User-Agent", self.user_agent);
        if let Some((ct, body)) = &self.body {
            b = b.body(*ct, body.as_slice());
        }
        Bytes::from(b.to_bytes())
    }
}

/// The Via header value of our request on `flow` with `branch`.
pub(crate) fn via(flow: &Flow, advertise: Option<IpAddr>, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {};branch={branch};rport",
        flow.transport.as_str(),
        sent_by(flow, advertise)
    )
}

/// A response to the request in `request` (its raw bytes), with our To tag when given.
pub(crate) struct ResponseSpec<'a> {
    pub(crate) status: u16,
    pub(crate) reason: &'a str,
    pub(crate) to_tag: Option<&'a str>,
    pub(crate) source: std::net::SocketAddr,
    pub(crate) headers: Vec<(&'a str, String)>,
    pub(crate) server: &'a str,
    pub(crate) body: Option<(&'a str, Vec<u8>)>,
}

impl ResponseSpec<'_> {
    /// Serialises the response to `request`; `None` if the stored request no longer parses
    /// (it always does: it was parsed when it arrived).
    pub(crate) fn to_bytes(&self, request: &[u8]) -> Option<Bytes> {
        let req = parse_message(request).ok()?;
        let mut b =
            response_to(&req, self.status, self.reason.to_string()).received_from(self.source);
        if let Some(tag) = self.to_tag {
            b = b.to_tag(tag.to_string());
        }
        for (n, v) in &self.headers {
            b = b.header(n.to_string(), v.clone());
        }
        b = b.header("Server", self.server.to_string());
        if let Some((ct, body)) = &self.body {
            b = b.body(ct.to_string(), body.clone());
        }
        Some(Bytes::from(b.to_bytes()))
    }
}

/// An SDP body.
pub(crate) fn sdp_body(sd: &Sdp) -> (&'static str, Vec<u8>) {
    ("application/sdp", sd.to_bytes())
}

/// The methods a dialog of ours accepts.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, OPTIONS, MESSAGE, NOTIFY";

/// Option tags we support.
pub(crate) const SUPPORTED: &str = "100rel, timer";

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rand::SeedableRng;

    use super::*;
    use crate::ids::Transport;

    const INVITE: &str = "INVITE sip:1002@pbx.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
From: \"Alice\" <sip:1001@pbx.test>;tag=a1\r\n\
To: <sip:1002@pbx.test>\r\n\
Call-ID: c1@10.0.0.1\r\n\
CSeq: 7 INVITE\r\n\
Supported: timer, 100rel\r\n\
Require: 100rel, foo\r\n\
Session-Expires: 600;refresher=uac\r\n\
Min-SE: 120\r\n\
RAck: 5 7 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    fn flow(local: &str, transport: Transport) -> Flow {
        Flow {
            transport,
            local: local.parse().unwrap(),
            peer: "10.0.0.1:5060".parse().unwrap(),
            conn: None,
        }
    }

    #[test]
    fn reads_keys_tags_and_extension_headers() {
        let m = parse_message(INVITE.as_bytes()).unwrap();
        let key = request_key(&m).unwrap();
        assert_eq!(key.branch, "z9hG4bKabc");
        assert_eq!(key.sent_by, "10.0.0.1:5060");
        assert_eq!(key.from_tag.as_deref(), Some("a1"));
        assert_eq!(key.cseq, 7);
        assert!(lists(&m, "Supported", "TIMER"));
        assert!(lists(&m, "Require", "100rel"));
        assert_eq!(unsupported_requirements(&m), ["foo"]);
        assert_eq!(
            session_expires(&m),
            Some(SessionExpires {
                secs: 600,
                refresher: Some(Refresher::Uac)
            })
        );
        assert_eq!(min_se(&m), Some(120));
        assert_eq!(rack(&m), Some((5, 7)));
        assert_eq!(rseq(&m), None);
        assert_eq!(user_of(m.request_uri().unwrap()).as_deref(), Some("1002"));
        assert_eq!(
            strip_tag("\"Alice\" <sip:1001@pbx.test>;tag=a1;x=y"),
            "\"Alice\" <sip:1001@pbx.test>;x=y"
        );
    }

    #[test]
    fn writes_requests_and_responses_that_parse_back() {
        let f = flow("0.0.0.0:5060", Transport::Tcp);
        let adv = Some("203.0.113.1".parse().unwrap());
        assert_eq!(sent_by(&f, adv), "203.0.113.1:5060");
        assert_eq!(
            contact("10 02", &f, adv),
            "<sip:1002@203.0.113.1:5060;transport=tcp>"
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let b = branch(&mut rng);
        assert!(b.starts_with(BRANCH_PREFIX) && b.len() == BRANCH_PREFIX.len() + 16);
        let routes = vec!["<sip:proxy.example;lr>".to_string()];
        let bytes = RequestSpec {
            method: Method::Bye,
            uri: "sip:1002@10.0.0.2:5062",
            via: via(&f, adv, &b),
            max_forwards: 70,
            from: "<sip:1001@pbx.test>;tag=x",
            to: "<sip:1002@pbx.test>;tag=y",
            call_id: "cid",
            cseq: 3,
            routes: &routes,
            contact: None,
            headers: vec![("Reason", "SIP;cause=200".into())],
            user_agent: "Warden",
            body: None,
        }
        .to_bytes();
        let m = parse_message(&bytes).unwrap();
        assert_eq!(m.method(), Some(Method::Bye));
        assert_eq!(m.top_via().unwrap().branch(), Some(b.as_str()));
        assert_eq!(m.cseq().unwrap().seq, 3);
        assert_eq!(m.routes().count(), 1);
        assert_eq!(response_key(&m), None, "a request has no response key");

        let src: SocketAddr = "10.0.0.9:7000".parse().unwrap();
        let resp = ResponseSpec {
            status: 180,
            reason: "Ringing",
            to_tag: Some("t9"),
            source: src,
            headers: vec![("Contact", "<sip:x@y>".into())],
            server: "Warden",
            body: None,
        }
        .to_bytes(INVITE.as_bytes())
        .unwrap();
        let r = parse_message(&resp).unwrap();
        assert_eq!(r.status(), Some(180));
        assert_eq!(r.to().unwrap().tag(), Some("t9"));
        assert_eq!(r.top_via().unwrap().received(), Some(src.ip()));
        let key = response_key(&r).unwrap();
        assert_eq!(key.branch, "z9hG4bKabc");
    }
}
