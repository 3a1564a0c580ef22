//! Response and request builders.
//!
//! Text given to the builders is written as is, except that CR and LF are
//! replaced by spaces so that no caller-supplied value can inject a line.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use smallvec::SmallVec;

use crate::header::HeaderKind;
use crate::message::Message;
use crate::method::Method;
use crate::name_addr::NameAddr;
use crate::uri::Host;
use crate::via::{RPort, Via};
use crate::write::{push_body, push_header, push_text};

type Fields<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Entry point for building responses: `Response::builder(200, "OK")`.
#[derive(Debug, Clone, Copy)]
pub struct Response;

impl Response {
    /// A response with no header copied from a request. Prefer
    /// [`response_to`] when answering a request.
    pub fn builder<'a>(status: u16, reason: impl Into<Cow<'a, str>>) -> ResponseBuilder<'a> {
        ResponseBuilder {
            status,
            reason: reason.into(),
            vias: SmallVec::new(),
            from: None,
            to: None,
            to_tag: None,
            call_id: None,
            cseq: None,
            source: None,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// Starts a response to `request`: copies every Via (one field per entry,
/// in order), From, To, Call-ID and CSeq.
pub fn response_to<'a>(
    request: &Message<'a>,
    status: u16,
    reason: impl Into<Cow<'a, str>>,
) -> ResponseBuilder<'a> {
    let mut b = Response::builder(status, reason);
    b.vias = request
        .list(HeaderKind::Via)
        .map(crate::text::unfold)
        .collect();
    let first = |k: HeaderKind| request.first(k).map(|h| h.value());
    b.from = first(HeaderKind::From);
    b.to = first(HeaderKind::To);
    b.call_id = first(HeaderKind::CallId);
    b.cseq = first(HeaderKind::CSeq);
    b
}

/// Builds a response. Created by [`Response::builder`], [`response_to`] or
/// [`crate::Salvaged::response`].
#[derive(Debug, Clone)]
pub struct ResponseBuilder<'a> {
    status: u16,
    reason: Cow<'a, str>,
    pub(crate) vias: SmallVec<[Cow<'a, str>; 4]>,
    pub(crate) from: Option<Cow<'a, str>>,
    pub(crate) to: Option<Cow<'a, str>>,
    to_tag: Option<Cow<'a, str>>,
    pub(crate) call_id: Option<Cow<'a, str>>,
    pub(crate) cseq: Option<Cow<'a, str>>,
    source: Option<SocketAddr>,
    headers: Fields<'a>,
    body: Option<(Cow<'a, str>, Cow<'a, [u8]>)>,
}

impl<'a> ResponseBuilder<'a> {
    /// Adds `;tag=` to the To header if it has no tag yet.
    pub fn to_tag(mut self, tag: impl Into<Cow<'a, str>>) -> Self {
        self.to_tag = Some(tag.into());
        self
    }

    /// Records the address the request came from: on the top Via,
    /// `received=` is added when the sent-by host differs from the source
    /// address (RFC 3261 §18.2.1) and a valueless `rport` is filled with the
    /// source port, together with `received=` (RFC 3581).
    pub fn received_from(mut self, source: SocketAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// Appends a header field.
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(
        mut self,
        content_type: impl Into<Cow<'a, str>>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Serialises the response, computing Content-Length.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SIP/2.0 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        push_text(out, &self.reason);
        out.extend_from_slice(b"\r\n");
        for (n, via) in self.vias.iter().enumerate() {
            match (n, self.source) {
                (0, Some(src)) => push_header(out, "Via", &stamp_via(via, src)),
                _ => push_header(out, "Via", via),
            }
        }
        if let Some(from) = &self.from {
            push_header(out, "From", from);
        }
        if let Some(to) = &self.to {
            match &self.to_tag {
                Some(tag) if !has_tag(to) => {
                    push_header(out, "To", &format!("{to};tag={tag}"));
                }
                _ => push_header(out, "To", to),
            }
        }
        if let Some(id) = &self.call_id {
            push_header(out, "Call-ID", id);
        }
        if let Some(cseq) = &self.cseq {
            push_header(out, "CSeq", cseq);
        }
        for (n, v) in &self.headers {
            push_header(out, n, v);
        }
        match &self.body {
            Some((ct, body)) => push_body(out, Some(ct), body),
            None => push_body(out, None, &[]),
        }
    }

    /// [`ResponseBuilder::write`] into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write(&mut out);
        out
    }
}

fn has_tag(to: &str) -> bool {
    match NameAddr::parse(to) {
        Some(na) => na.tag().is_some(),
        None => to.to_ascii_lowercase().contains("tag="),
    }
}

/// Rewrites a Via entry with `received` and `rport` for `src`. An entry
/// that does not parse is returned unchanged.
fn stamp_via(via: &str, src: SocketAddr) -> Cow<'_, str> {
    let Some(parsed) = Via::parse(via) else {
        return Cow::Borrowed(via);
    };
    let ip = src.ip();
    let same_host = match (parsed.host, ip) {
        (Host::V4(a), IpAddr::V4(b)) => a == b,
        (Host::V6(a), IpAddr::V6(b)) => a == b,
        _ => false,
    };
    let fill_rport = parsed.rport() == Some(RPort::Requested);
    let add_received = fill_rport || !same_host;
    if !add_received {
        return Cow::Borrowed(via);
    }
    let mut out = String::with_capacity(via.len() + 48);
    out.push_str(parsed.head());
    for p in parsed.params.iter() {
        let drop = p.name.eq_ignore_ascii_case("received")
            || (fill_rport && p.name.eq_ignore_ascii_case("rport"));
        if drop {
            continue;
        }
        out.push(';');
        out.push_str(p.name);
        if let Some(v) = p.value {
            out.push('=');
            out.push_str(v);
        }
    }
    let _ = write!(out, ";received={ip}");
    if fill_rport {
        let _ = write!(out, ";rport={}", src.port());
    }
    Cow::Owned(out)
}

/// Builds a request (for the B2BUA and for locally originated requests).
#[derive(Debug, Clone)]
pub struct RequestBuilder<'a> {
    method: Method<'a>,
    uri: Cow<'a, str>,
    headers: Fields<'a>,
    body: Option<(Cow<'a, str>, Cow<'a, [u8]>)>,
}

impl<'a> RequestBuilder<'a> {
    /// A request line `METHOD uri SIP/2.0`.
    pub fn new(method: Method<'a>, uri: impl Into<Cow<'a, str>>) -> Self {
        Self {
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Appends a header field (written in the order added).
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(
        mut self,
        content_type: impl Into<Cow<'a, str>>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    /// Serialises the request, computing Content-Length. Spaces in the URI
    /// are replaced by `%20` so the Request-Line keeps three elements.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        for c in self.uri.bytes() {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    out.extend_from_slice(format!("%{c:02X}").as_bytes())
                }
                c => out.push(c),
            }
        }
        out.extend_from_slice(b" SIP/2.0\r\n");
        for (n, v) in &self.headers {
            push_header(out, n, v);
        }
        match &self.body {
            Some((ct, body)) => push_body(out, Some(ct), body),
            None => push_body(out, None, &[]),
        }
    }

    /// [`RequestBuilder::write`] into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_message;

    const REQ: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP p.example.com;branch=z9hG4bK0\r\n\
Via: SIP/2.0/UDP q.example.com\r\n  ;branch=z9hG4bKq\r\n\
From: Alice <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1@example.com\r\n\
CSeq: 5 INVITE\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn response_copies_dialog_headers_and_stamps_via() {
        let req = parse_message(REQ.as_bytes()).unwrap();
        let src: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let bytes = response_to(&req, 180, "Ringing")
            .to_tag("b2")
            .received_from(src)
            .header("Server", "warden")
            .to_bytes();
        let resp = parse_message(&bytes).unwrap();
        assert_eq!((resp.status(), resp.reason()), (Some(180), Some("Ringing")));
        let vias: Vec<_> = resp.vias().collect();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].received(), Some(src.ip()));
        assert_eq!(vias[0].rport(), Some(RPort::Value(40000)));
        assert_eq!(vias[0].branch(), Some("z9hG4bK1"));
        assert_eq!(vias[1].branch(), Some("z9hG4bK0"));
        assert_eq!(vias[2].branch(), Some("z9hG4bKq"));
        assert_eq!(resp.from().unwrap().tag(), Some("a1"));
        assert_eq!(resp.to().unwrap().tag(), Some("b2"));
        assert_eq!(resp.call_id(), Some("c1@example.com"));
        assert_eq!(resp.cseq(), req.cseq());
        assert_eq!(resp.header("server").unwrap(), "warden");
        assert_eq!(resp.content_length(), Some(0));
        assert_eq!(resp.header("Max-Forwards"), None);
    }

    #[test]
    fn received_only_when_needed() {
        let req = parse_message(REQ.as_bytes()).unwrap();
        // Same address, rport requested: received is still added (RFC 3581).
        let same: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let bytes = response_to(&req, 200, "OK").received_from(same).to_bytes();
        let resp = parse_message(&bytes).unwrap();
        let top = resp.top_via().unwrap();
        assert_eq!(top.received(), Some(same.ip()));
        assert_eq!(top.rport(), Some(RPort::Value(5060)));

        // No rport and same address: the Via is left alone.
        let text = REQ.replace(";rport", "");
        let req = parse_message(text.as_bytes()).unwrap();
        let bytes = response_to(&req, 200, "OK").received_from(same).to_bytes();
        let resp = parse_message(&bytes).unwrap();
        assert_eq!(
            resp.top_via().unwrap().as_str(),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"
        );

        // Different address, no rport: received only; an old received is replaced.
        let text = REQ.replace(";rport", ";received=10.0.0.1");
        let req = parse_message(text.as_bytes()).unwrap();
        let other: SocketAddr = "[2001:db8::5]:7000".parse().unwrap();
        let bytes = response_to(&req, 200, "OK").received_from(other).to_bytes();
        let resp = parse_message(&bytes).unwrap();
        let top = resp.top_via().unwrap();
        assert_eq!(top.received(), Some(other.ip()));
        assert_eq!(top.rport(), None);
        assert_eq!(
            top.params.iter().filter(|p| p.name == "received").count(),
            1
        );
    }

    #[test]
    fn existing_to_tag_is_kept() {
        let text = REQ.replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>;tag=x9",
        );
        let req = parse_message(text.as_bytes()).unwrap();
        let resp_bytes = response_to(&req, 200, "OK").to_tag("new").to_bytes();
        let resp = parse_message(&resp_bytes).unwrap();
        assert_eq!(resp.to().unwrap().tag(), Some("x9"));
        assert_eq!(resp.to().unwrap().params.iter().count(), 1);
    }

    #[test]
    fn body_sets_type_and_length() {
        let req = parse_message(REQ.as_bytes()).unwrap();
        let body = b"v=0\r\n".to_vec();
        let bytes = response_to(&req, 200, "OK")
            .body("application/sdp", body.clone())
            .to_bytes();
        let resp = parse_message(&bytes).unwrap();
        assert!(resp.content_type().unwrap().is_sdp());
        assert_eq!(resp.content_length(), Some(body.len()));
        assert_eq!(resp.body(), &body[..]);
    }

    #[test]
    fn text_cannot_inject_lines() {
        let bytes = Response::builder(400, "Bad\r\nX-Evil: 1")
            .header("X-A", "v\r\nX-Evil: 2")
            .to_bytes();
        let resp = parse_message(&bytes).unwrap();
        assert_eq!(resp.reason(), Some("Bad  X-Evil: 1"));
        assert_eq!(resp.header("X-Evil"), None);
        assert_eq!(resp.header("X-A").unwrap(), "v  X-Evil: 2");
    }

    #[test]
    fn request_builder_round_trips() {
        let bytes = RequestBuilder::new(Method::Invite, "sip:carol@example.com")
            .header("Via", "SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKb2b")
            .header("Max-Forwards", "70")
            .header("From", "<sip:b2bua@example.com>;tag=f1")
            .header("To", "<sip:carol@example.com>")
            .header("Call-ID", "b2b-1")
            .header("CSeq", "1 INVITE")
            .body("application/sdp", &b"v=0\r\n"[..])
            .to_bytes();
        let req = parse_message(&bytes).unwrap();
        assert_eq!(req.method(), Some(Method::Invite));
        assert_eq!(req.request_uri().unwrap().user, Some("carol"));
        assert_eq!(req.top_via().unwrap().branch(), Some("z9hG4bKb2b"));
        assert_eq!(req.body(), b"v=0\r\n");
        assert!(crate::validate_request(&req).is_ok());
        let odd = RequestBuilder::new(Method::Extension("FOO"), "sip:a b@c").to_bytes();
        assert!(odd.starts_with(b"FOO sip:a%20b@c SIP/2.0\r\n"));
    }
}
