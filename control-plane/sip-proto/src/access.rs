//! Typed accessors of [`Message`].
//!
//! Every header the parser validated is guaranteed to parse again, so the
//! lazily parsing iterators below never meet a malformed element in a
//! message produced by [`crate::parse_message`].

use std::borrow::Cow;

use crate::header::{Header, HeaderKind};
use crate::message::{Message, StartLine};
use crate::method::Method;
use crate::name_addr::{Contact, NameAddr};
use crate::text::{split_commas, unfold};
use crate::typed::{CSeq, MediaType};
use crate::uri::Uri;
use crate::via::Via;

impl<'a> Message<'a> {
    /// The start line.
    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// True for a response.
    pub fn is_response(&self) -> bool {
        !self.is_request()
    }

    /// The method of a request (`None` for a response; see [`Message::cseq`]).
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&Uri<'a>> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response (may be empty).
    pub fn reason(&self) -> Option<&'a str> {
        match self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// All Via entries, top first, across repeated and comma-separated
    /// Via headers.
    pub fn vias(&self) -> impl Iterator<Item = Via<'a>> + '_ {
        self.list(HeaderKind::Via).filter_map(Via::parse)
    }

    /// The topmost Via entry.
    pub fn top_via(&self) -> Option<&Via<'a>> {
        self.cache.top_via.as_ref()
    }

    /// The From header (the first one if repeated).
    pub fn from(&self) -> Option<&NameAddr<'a>> {
        self.cache.from.as_ref()
    }

    /// The To header (the first one if repeated).
    pub fn to(&self) -> Option<&NameAddr<'a>> {
        self.cache.to.as_ref()
    }

    /// The Call-ID, trimmed.
    pub fn call_id(&self) -> Option<&'a str> {
        self.cache.call_id
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Option<CSeq<'a>> {
        self.cache.cseq
    }

    /// All Contact elements in order (an element may be the `*` wildcard).
    pub fn contacts(&self) -> impl Iterator<Item = Contact<'a>> + '_ {
        self.list(HeaderKind::Contact).filter_map(Contact::parse)
    }

    /// All Route entries, top first.
    pub fn routes(&self) -> impl Iterator<Item = NameAddr<'a>> + '_ {
        self.list(HeaderKind::Route).filter_map(NameAddr::parse)
    }

    /// All Record-Route entries, top first.
    pub fn record_routes(&self) -> impl Iterator<Item = NameAddr<'a>> + '_ {
        self.list(HeaderKind::RecordRoute)
            .filter_map(NameAddr::parse)
    }

    /// The Expires header, in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.cache.expires
    }

    /// The Max-Forwards header.
    pub fn max_forwards(&self) -> Option<u8> {
        self.cache.max_forwards
    }

    /// The Content-Length header (the first one if repeated).
    pub fn content_length(&self) -> Option<usize> {
        self.cache.content_length
    }

    /// The Content-Type header.
    pub fn content_type(&self) -> Option<MediaType<'a>> {
        self.first(HeaderKind::ContentType)
            .and_then(|h| MediaType::parse(h.raw_value()))
    }

    /// The first value of the named header, unfolded. The name is
    /// case-insensitive and may be a compact form (`"i"` finds Call-ID).
    pub fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        self.headers(name).next()
    }

    /// Every value of the named header, one per header field, in order.
    pub fn headers<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Cow<'a, str>> + 's {
        self.fields(name).map(|h| h.value())
    }

    /// Every element of the named header: values of list headers (Via,
    /// Contact, Route, Allow, Supported, ...) are split on commas outside
    /// quotes and angle brackets; other headers yield one value per field.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Cow<'a, str>> + 's {
        let split = HeaderKind::from_name(name).is_list();
        self.fields(name).flat_map(move |h| {
            let raw = h.raw_value();
            let (one, many) = if split {
                (None, Some(split_commas(raw)))
            } else {
                (Some(raw), None)
            };
            one.into_iter()
                .chain(many.into_iter().flatten())
                .map(unfold)
        })
    }

    /// The header fields with this name (case-insensitive, compact forms
    /// accepted).
    pub fn fields<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Header<'a>> + 's {
        let kind = HeaderKind::from_name(name);
        self.headers.iter().filter(move |h| {
            if kind == HeaderKind::Other {
                h.kind == HeaderKind::Other && h.name.eq_ignore_ascii_case(name)
            } else {
                h.kind == kind
            }
        })
    }

    /// All header fields in order.
    pub fn all_headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The body (exactly Content-Length bytes when the header is present).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The start line as received.
    pub fn start_line_str(&self) -> &'a str {
        self.start_raw
    }

    /// The buffer the message was parsed from.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn first(&self, kind: HeaderKind) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.kind == kind)
    }

    /// Raw elements of a known list header, across repeated fields.
    pub(crate) fn list(&self, kind: HeaderKind) -> impl Iterator<Item = &'a str> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.kind == kind)
            .flat_map(|h| split_commas(h.raw_value()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use crate::uri::Host;
    use crate::via::{RPort, Transport};
    use crate::{parse_message, Contact, Method};

    const REGISTER: &str = "REGISTER sip:registrar.example.com SIP/2.0\r\n\
v: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKnashds7;rport, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;received=192.0.2.99\r\n\
Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp;maddr=224.2.0.1;ttl=2\r\n\
Max-Forwards: 70\r\n\
t: \"Bob \\\"the builder\\\"\" <sip:bob@example.com>\r\n\
f: Bob <sip:bob@example.com>\r\n  ;tag=456248\r\n\
i: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
m: <sip:bob@[2001:db8::9]:5070;transport=tcp>;expires=3600;q=0.7,\r\n \"Mobile, Bob\" <sip:bob@192.0.2.4>;q=1\r\n\
Contact: sip:bob@home.example.com\r\n\
Expires: 7200\r\n\
Allow: INVITE, ACK,CANCEL\r\n\
k: path, outbound\r\n\
Supported: gruu\r\n\
Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
Record-Route: <sip:rr.example.com;lr>\r\n\
X-Folded: first\r\n\tsecond\r\n\
WWW-Authenticate: Digest realm=\"a,b\", nonce=\"x\"\r\n\
l: 0\r\n\
\r\n";

    #[test]
    fn request_accessors() {
        let m = parse_message(REGISTER.as_bytes()).unwrap();
        assert_eq!(m.method(), Some(Method::Register));
        assert_eq!(
            m.request_uri().unwrap().host,
            Some(Host::Domain("registrar.example.com"))
        );
        assert_eq!((m.status(), m.reason()), (None, None));
        assert_eq!(m.call_id(), Some("843817637684230@998sdasdh09"));
        let cseq = m.cseq().unwrap();
        assert_eq!((cseq.seq, cseq.method), (1826, Method::Register));
        assert_eq!(m.max_forwards(), Some(70));
        assert_eq!(m.expires(), Some(7200));
        assert_eq!(m.content_length(), Some(0));
        assert_eq!(m.content_type(), None);
        assert!(m.body().is_empty());
    }

    #[test]
    fn vias_across_lines_and_commas() {
        let m = parse_message(REGISTER.as_bytes()).unwrap();
        let vias: Vec<_> = m.vias().collect();
        assert_eq!(vias.len(), 3);
        let top = m.top_via().unwrap();
        assert_eq!(*top, vias[0]);
        assert_eq!(top.transport, Transport::Tcp);
        assert_eq!(
            top.host,
            Host::V6("2001:db8::9".parse::<Ipv6Addr>().unwrap())
        );
        assert_eq!(top.port, Some(5070));
        assert_eq!(top.branch(), Some("z9hG4bKnashds7"));
        assert_eq!(top.rport(), Some(RPort::Requested));
        assert_eq!(vias[1].received(), Some("192.0.2.99".parse().unwrap()));
        assert_eq!(vias[1].rport(), None);
        assert_eq!(vias[2].maddr(), Some("224.2.0.1"));
        assert_eq!(vias[2].ttl(), Some(2));
        assert_eq!(m.header_values("Via").count(), 3);
        assert_eq!(m.headers("via").count(), 2);
    }

    #[test]
    fn from_to_with_folds_and_escapes() {
        let m = parse_message(REGISTER.as_bytes()).unwrap();
        let to = m.to().unwrap();
        assert_eq!(to.display_name().unwrap(), "Bob \"the builder\"");
        assert_eq!(to.tag(), None);
        let from = m.from().unwrap();
        assert_eq!(from.display_name().unwrap(), "Bob");
        assert_eq!(from.tag(), Some("456248"));
        assert_eq!(from.uri.user, Some("bob"));
        assert_eq!(
            m.header("f").unwrap(),
            "Bob <sip:bob@example.com> ;tag=456248"
        );
        assert_eq!(m.header("X-FOLDED").unwrap(), "first second");
    }

    #[test]
    fn contacts_with_params_and_commas() {
        let m = parse_message(REGISTER.as_bytes()).unwrap();
        let contacts: Vec<_> = m.contacts().collect();
        assert_eq!(contacts.len(), 3);
        let c0 = contacts[0].addr().unwrap();
        assert_eq!(c0.uri.host, Some(Host::V6("2001:db8::9".parse().unwrap())));
        assert_eq!(c0.uri.transport(), Some("tcp"));
        assert_eq!(contacts[0].expires(), Some(3600));
        assert_eq!(contacts[0].q(), Some(0.7));
        assert_eq!(
            contacts[1].addr().unwrap().display_name().unwrap(),
            "Mobile, Bob"
        );
        assert_eq!(contacts[1].q(), Some(1.0));
        assert_eq!(contacts[1].expires(), None);
        assert!(!contacts[2].addr().unwrap().is_bracketed());
    }

    #[test]
    fn wildcard_contact() {
        let text = "REGISTER sip:r SIP/2.0\r\nContact: *\r\nExpires: 0\r\n\r\n";
        let m = parse_message(text.as_bytes()).unwrap();
        assert_eq!(m.contacts().collect::<Vec<_>>(), [Contact::Wildcard]);
        assert_eq!(m.expires(), Some(0));
    }

    #[test]
    fn generic_header_access_and_list_splitting() {
        let m = parse_message(REGISTER.as_bytes()).unwrap();
        let allow: Vec<_> = m.header_values("allow").collect();
        assert_eq!(allow, ["INVITE", "ACK", "CANCEL"]);
        let supported: Vec<_> = m.header_values("Supported").collect();
        assert_eq!(supported, ["path", "outbound", "gruu"]);
        // Not a list header: commas inside stay.
        let auth: Vec<_> = m.header_values("www-authenticate").collect();
        assert_eq!(auth.len(), 1);
        assert_eq!(m.header("Call-ID"), m.header("i"));
        assert_eq!(m.header("x-missing"), None);
        let routes: Vec<_> = m
            .routes()
            .map(|r| r.uri.host.unwrap().to_string())
            .collect();
        assert_eq!(routes, ["p1.example.com", "p2.example.com"]);
        assert!(m.record_routes().next().unwrap().uri.lr());
        let names: Vec<_> = m.all_headers().iter().map(|h| h.name).collect();
        assert_eq!(&names[..3], ["Via", "Via", "Max-Forwards"]);
        assert!(names.contains(&"Supported") && names.contains(&"Content-Length"));
        assert_eq!(m.fields("k").count(), 2);
    }

    #[test]
    fn response_accessors() {
        let text =
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 7 INVITE\r\n\
Content-Type: application/sdp;charset=utf-8\r\nContent-Length: 3\r\n\r\nabc";
        let m = parse_message(text.as_bytes()).unwrap();
        assert_eq!((m.status(), m.reason()), (Some(180), Some("Ringing")));
        assert_eq!(m.method(), None);
        assert!(m.request_uri().is_none());
        assert_eq!(m.cseq().unwrap().method, Method::Invite);
        let ct = m.content_type().unwrap();
        assert!(ct.is_sdp());
        assert_eq!(ct.params.value("charset"), Some("utf-8"));
        assert_eq!(m.body(), b"abc");
        assert_eq!(m.as_bytes(), text.as_bytes());
    }
}
