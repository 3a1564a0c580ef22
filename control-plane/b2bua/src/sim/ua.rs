//! A scripted phone for the simulation.

use std::net::SocketAddr;

use bytes::Bytes;
use warden_sip_proto::{response_to, Method, RequestBuilder};

use super::parse;

/// A scripted phone: builds requests and responses for one dialog at a time.
pub(crate) struct Ua {
    pub(crate) user: String,
    pub(crate) addr: SocketAddr,
    seq: u32,
    pub(crate) cseq: u32,
    /// Call-ID, our header (with tag), the peer's header (with tag once known), target.
    pub(crate) call_id: String,
    pub(crate) local: String,
    pub(crate) remote: String,
    pub(crate) target: String,
    /// Extra headers added to every INVITE.
    pub(crate) invite_headers: Vec<(String, String)>,
}

impl Ua {
    pub(crate) fn new(user: &str, addr: &str) -> Self {
        Ua {
            user: user.to_string(),
            addr: addr.parse().unwrap(),
            seq: 0,
            cseq: 0,
            call_id: String::new(),
            local: String::new(),
            remote: String::new(),
            target: String::new(),
            invite_headers: Vec::new(),
        }
    }

    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn via(&mut self) -> String {
        let n = self.next();
        format!(
            "SIP/2.0/UDP {};branch=z9hG4bK{}x{n};rport",
            self.addr, self.user
        )
    }

    fn contact(&self) -> String {
        format!("<sip:{}@{}>", self.user, self.addr)
    }

    /// A new INVITE to `callee` with `sdp` (and `extra` headers).
    pub(crate) fn invite(
        &mut self,
        callee: &str,
        sdp: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Bytes {
        let n = self.next();
        self.call_id = format!("call{n}-{}@test", self.user);
        self.local = format!("<sip:{}@pbx.test>;tag=t{}{n}", self.user, self.user);
        self.remote = format!("<sip:{callee}@pbx.test>");
        self.target = format!("sip:{callee}@pbx.test");
        self.cseq = 1;
        self.build(Method::Invite, &self.target.clone(), sdp, extra, self.cseq)
    }

    /// The same INVITE again with new credentials (after a 407), CSeq + 1.
    pub(crate) fn reinvite_with(&mut self, sdp: Option<&str>, extra: &[(&str, &str)]) -> Bytes {
        self.cseq += 1;
        let target = self.target.clone();
        self.build(Method::Invite, &target, sdp, extra, self.cseq)
    }

    fn build(
        &mut self,
        method: Method<'_>,
        uri: &str,
        sdp: Option<&str>,
        extra: &[(&str, &str)],
        cseq: u32,
    ) -> Bytes {
        let via = self.via();
        let mut b = RequestBuilder::new(method, uri.to_string())
            .header("Via", via)
            .header("Max-Forwards", "70")
            .header("From", self.local.clone())
            .header("To", self.remote.clone())
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{cseq} {}", method.as_str()))
            .header("Contact", self.contact());
        if method == Method::Invite {
            for (n, v) in &self.invite_headers {
                b = b.header(n.clone(), v.clone());
            }
        }
        for (n, v) in extra {
            b = b.header(n.to_string(), v.to_string());
        }
        if let Some(s) = sdp {
            b = b.body("application/sdp", s.as_bytes().to_vec());
        }
        Bytes::from(b.to_bytes())
    }

    /// Notes the peer's tag and Contact from a response to our INVITE.
    pub(crate) fn learn(&mut self, response: &Bytes) {
        let m = parse(response);
        if let Some(to) = m.header("To") {
            self.remote = to.into_owned();
        }
        let contact = m
            .contacts()
            .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()));
        if let Some(c) = contact {
            self.target = c;
        }
    }

    /// ACK for a 2xx to our INVITE.
    pub(crate) fn ack(&mut self, response: &Bytes) -> Bytes {
        self.ack_with(response, None)
    }

    /// ACK for a 2xx to our INVITE, with an SDP answer (after a delayed offer).
    pub(crate) fn ack_with(&mut self, response: &Bytes, sdp: Option<&str>) -> Bytes {
        self.learn(response);
        let cseq = parse(response).cseq().unwrap().seq;
        let target = self.target.clone();
        self.build(Method::Ack, &target, sdp, &[], cseq)
    }

    /// CANCEL of our pending INVITE (same branch as `invite`).
    pub(crate) fn cancel(&self, invite: &Bytes) -> Bytes {
        let m = parse(invite);
        let b = RequestBuilder::new(
            Method::Cancel,
            m.request_uri().unwrap().as_str().to_string(),
        )
        .header("Via", m.header("Via").unwrap().into_owned())
        .header("Max-Forwards", "70")
        .header("From", m.header("From").unwrap().into_owned())
        .header("To", m.header("To").unwrap().into_owned())
        .header("Call-ID", m.call_id().unwrap().to_string())
        .header("CSeq", format!("{} CANCEL", m.cseq().unwrap().seq));
        Bytes::from(b.to_bytes())
    }

    /// A request in our current dialog.
    pub(crate) fn request(
        &mut self,
        method: Method<'_>,
        sdp: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Bytes {
        self.cseq += 1;
        let target = self.target.clone();
        self.build(method, &target, sdp, extra, self.cseq)
    }

    /// A response to `request`; for a dialog-creating INVITE the phone takes the UAS side of
    /// the dialog (its tag, the caller's From and Contact).
    pub(crate) fn respond(
        &mut self,
        request: &Bytes,
        status: u16,
        sdp: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Bytes {
        let m = parse(request);
        let reason = match status {
            100 => "Trying",
            180 => "Ringing",
            183 => "Session Progress",
            200 => "OK",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            603 => "Decline",
            _ => "Whatever",
        };
        let tag = format!("u{}", self.user);
        let mut b = response_to(&m, status, reason).to_tag(tag.clone());
        if m.method() == Some(Method::Invite) && m.to().and_then(|t| t.tag()).is_none() {
            self.call_id = m.call_id().unwrap().to_string();
            self.local = format!("{};tag={tag}", m.header("To").unwrap());
            self.remote = m.header("From").unwrap().into_owned();
            self.target = m
                .contacts()
                .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()))
                .unwrap();
            self.cseq = 100;
        }
        if (101..300).contains(&status) {
            b = b.header("Contact", self.contact());
        }
        for (n, v) in extra {
            b = b.header(n.to_string(), v.to_string());
        }
        if let Some(s) = sdp {
            b = b.body("application/sdp", s.as_bytes().to_vec());
        }
        Bytes::from(b.to_bytes())
    }

    /// The ACK the phone sends for a non-2xx response it got (what its transaction does).
    pub(crate) fn ack_failure(&self, invite: &Bytes, response: &Bytes) -> Bytes {
        let m = parse(invite);
        let r = parse(response);
        let b = RequestBuilder::new(Method::Ack, m.request_uri().unwrap().as_str().to_string())
            .header("Via", m.header("Via").unwrap().into_owned())
            .header("Max-Forwards", "70")
            .header("From", m.header("From").unwrap().into_owned())
            .header("To", r.header("To").unwrap().into_owned())
            .header("Call-ID", m.call_id().unwrap().to_string())
            .header("CSeq", format!("{} ACK", m.cseq().unwrap().seq));
        Bytes::from(b.to_bytes())
    }
}
