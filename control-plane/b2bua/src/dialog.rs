//! One confirmed dialog of a call (RFC 3261 §12): the identifiers, sequence numbers, route
//! and target of the requests sent in it, and the offer/answer state of its media.

use warden_sip_proto::{Message, Method};

use crate::ids::{Dest, Flow};
use crate::msg::{self, Refresher, RequestSpec};
use crate::sdp::{LocalSdp, PartyMedia, Sdp};

/// A session timer on one leg (RFC 4028).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    /// The session interval, in seconds.
    pub(crate) secs: u32,
    /// True when the B2BUA refreshes; otherwise it waits for the party's refresh.
    pub(crate) we_refresh: bool,
}

/// A dialog with one party.
#[derive(Clone, Debug)]
pub(crate) struct Dialog {
    pub(crate) call_id: String,
    pub(crate) remote_tag: String,
    /// Our From/To header value, with our tag.
    pub(crate) local: String,
    /// The party's header value, with its tag.
    pub(crate) remote: String,
    pub(crate) local_cseq: u32,
    pub(crate) remote_cseq: u32,
    /// The party's Contact URI: the Request-URI of our requests.
    pub(crate) target: String,
    /// Route set, in the order Route headers are written.
    pub(crate) routes: Vec<String>,
    /// Where the party is reached.
    pub(crate) flow: Flow,
    /// Our Contact header value.
    pub(crate) contact: String,
    /// The party accepts UPDATE.
    pub(crate) allows_update: bool,
    /// The party supports session timers.
    pub(crate) supports_timer: bool,
    /// What we sent.
    pub(crate) sdp: LocalSdp,
    /// The party's last description.
    pub(crate) remote_sdp: Option<Sdp>,
    /// The party's media as last negotiated.
    pub(crate) media: Option<PartyMedia>,
    /// The session timer, if one was negotiated.
    pub(crate) session: Option<Session>,
}

impl Dialog {
    /// Where requests in this dialog go.
    pub(crate) fn dest(&self) -> Dest {
        Dest::peer_of(self.flow)
    }

    /// A request in this dialog with the next CSeq (or `cseq` when given, for ACK).
    pub(crate) fn request<'a>(
        &'a mut self,
        method: Method<'a>,
        via: String,
        cseq: Option<u32>,
        user_agent: &'a str,
    ) -> RequestSpec<'a> {
        let cseq = match cseq {
            Some(n) => n,
            None => {
                self.local_cseq = self.local_cseq.wrapping_add(1);
                self.local_cseq
            }
        };
        let contact = matches!(method, Method::Invite | Method::Update).then_some(&*self.contact);
        RequestSpec {
            method,
            uri: &self.target,
            via,
            max_forwards: 70,
            from: &self.local,
            to: &self.remote,
            call_id: &self.call_id,
            cseq,
            routes: &self.routes,
            contact,
            headers: Vec::new(),
            user_agent,
            body: None,
        }
    }

    /// Checks a request's CSeq against the last one from the party (RFC 3261 §12.2.2): a
    /// lower number is out of order. ACK and CANCEL carry the INVITE's number.
    pub(crate) fn accept_cseq(&mut self, msg: &Message<'_>) -> bool {
        let Some(cseq) = msg.cseq() else {
            return false;
        };
        if matches!(cseq.method, Method::Ack | Method::Cancel) {
            return true;
        }
        if cseq.seq < self.remote_cseq {
            return false;
        }
        self.remote_cseq = cseq.seq;
        true
    }

    /// Takes a new remote target from a Contact of a target-refresh request or its 2xx.
    pub(crate) fn refresh_target(&mut self, msg: &Message<'_>) {
        if let Some(uri) = msg
            .contacts()
            .find_map(|c| c.addr().map(|a| a.uri.as_str().to_string()))
        {
            self.target = uri;
        }
    }

    /// The `Session-Expires` value for a response or refresh: who refreshes, written from
    /// the point of view of `uac_is_party` (true when the party sent the request).
    pub(crate) fn session_header(&self, uac_is_party: bool) -> Option<String> {
        let s = self.session?;
        // The party refreshes unless we do; express it relative to this transaction.
        let party_refreshes = !s.we_refresh;
        let refresher = if party_refreshes == uac_is_party {
            Refresher::Uac
        } else {
            Refresher::Uas
        };
        let name = match refresher {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        };
        Some(format!("{};refresher={name}", s.secs))
    }

    /// Reads the party's Allow/Supported from a message.
    pub(crate) fn learn_capabilities(&mut self, msg: &Message<'_>) {
        if msg.header("Allow").is_some() {
            self.allows_update = msg::lists(msg, "Allow", "UPDATE");
        }
        if msg::lists(msg, "Supported", "timer") || msg::lists(msg, "Require", "timer") {
            self.supports_timer = true;
        }
    }
}
