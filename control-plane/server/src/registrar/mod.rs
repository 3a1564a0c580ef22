//! The registrar (RFC 3261 §10): digest authentication, then binding updates in the database.
//!
//! The SIP core extracts a [`RegisterRequest`] from the parsed message; [`Registrar::handle`]
//! decides, touches storage, and returns a [`Reply`] that the core serialises. No parser types
//! cross this boundary, which keeps the rules testable without building SIP text.

mod auth;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tracing::{debug, info};
use warden_config::RegistrarConfig;
use warden_storage::{NewBinding, Store};

pub(crate) use auth::{AuthInput, AuthOutcome, Authenticator, Challenger};

use crate::events::{EventBus, PbxEvent};
use crate::metrics::Metrics;

/// One Contact of a REGISTER.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContactSpec {
    /// The contact URI as sent (without angle brackets).
    pub(crate) uri: String,
    /// The `expires` contact parameter.
    pub(crate) expires: Option<u32>,
    /// The `q` parameter in thousandths.
    pub(crate) q_millis: Option<u16>,
}

/// The Contact header field(s) of a REGISTER.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Contacts {
    /// No Contact: a query for the current bindings.
    None,
    /// `Contact: *`, which is only valid with `Expires: 0` (remove all).
    Wildcard,
    /// Zero or more contacts.
    List(Vec<ContactSpec>),
}

/// What the registrar needs from a REGISTER, owned.
#[derive(Clone, Debug)]
pub(crate) struct RegisterRequest {
    /// The user part of the To URI (the address of record).
    pub(crate) aor: String,
    /// The Request-URI as sent (for the digest `uri` check).
    pub(crate) request_uri: String,
    /// Contacts.
    pub(crate) contacts: Contacts,
    /// The Expires header, if any.
    pub(crate) expires: Option<u32>,
    /// Call-ID.
    pub(crate) call_id: String,
    /// CSeq number.
    pub(crate) cseq: u32,
    /// All Authorization header values.
    pub(crate) authorization: Vec<String>,
    /// Where the request came from (the binding is reachable there: NAT).
    pub(crate) source: SocketAddr,
    /// "UDP" or "TCP".
    pub(crate) transport: &'static str,
    /// User-Agent, if any.
    pub(crate) user_agent: Option<String>,
}

/// The response the core should send.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: u16,
    /// Reason phrase.
    pub(crate) reason: &'static str,
    /// Extra header fields (name, value), in order.
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: u16, reason: &'static str) -> Self {
        Reply {
            status,
            reason,
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// The registrar.
pub(crate) struct Registrar {
    config: RegistrarConfig,
    store: Store,
    auth: Authenticator,
    events: EventBus,
}

impl Registrar {
    pub(crate) fn new(
        config: RegistrarConfig,
        store: Store,
        auth: Authenticator,
        events: EventBus,
    ) -> Self {
        Registrar {
            config,
            store,
            auth,
            events,
        }
    }

    /// The authenticator, shared with other request handlers (the B2BUA challenges INVITEs).
    pub(crate) fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Handles a REGISTER. Storage failures become 500 with Retry-After.
    pub(crate) async fn handle(&self, req: &RegisterRequest, metrics: &Metrics) -> Reply {
        match self.handle_inner(req, metrics).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!(error = %e, aor = %req.aor, "registrar storage failure");
                Reply::new(500, "Server Internal Error").header("Retry-After", "5")
            }
        }
    }

    async fn handle_inner(
        &self,
        req: &RegisterRequest,
        metrics: &Metrics,
    ) -> Result<Reply, warden_storage::StorageError> {
        // The first REGISTER of a phone carries no credentials: challenge it without touching
        // the database.
        if !self.auth.has_credentials(&req.authorization) {
            return Ok(self.auth.challenge(false));
        }
        let extension = self.store.get_extension(&req.aor).await?;
        let secret = extension
            .as_ref()
            .filter(|e| e.enabled)
            .map(|e| e.secret.as_str());
        match self.auth.authenticate(req, "REGISTER", secret, metrics) {
            AuthOutcome::Authenticated => {}
            AuthOutcome::Reject(reply) => return Ok(reply),
        }
        // Authenticated implies the extension exists and the user name equals the AOR.
        let now = SystemTime::now();
        let now_utc = DateTime::<Utc>::from(now);
        let current = match &req.contacts {
            Contacts::None => {
                metrics.registrations.get_or_create(&reason("query")).inc();
                self.store.bindings_for(&req.aor, now_utc).await?
            }
            Contacts::Wildcard => {
                if req.expires != Some(0) {
                    return Ok(Reply::new(400, "Wildcard Contact Requires Expires 0"));
                }
                let removed = self.store.remove_all_bindings(&req.aor).await?;
                info!(aor = %req.aor, removed, "all bindings removed");
                self.events.publish(PbxEvent::Unregistered {
                    aor: req.aor.clone(),
                    contact: None,
                    reason: "phone",
                });
                metrics
                    .registrations
                    .get_or_create(&reason("unregistered"))
                    .inc();
                Vec::new()
            }
            Contacts::List(list) => {
                // Validate every contact first (§10.3 step 6), then apply them all.
                let mut plan = Vec::with_capacity(list.len());
                for c in list {
                    let requested = c
                        .expires
                        .or(req.expires)
                        .unwrap_or(self.config.default_expires);
                    if requested != 0 && requested < self.config.min_expires {
                        return Ok(Reply::new(423, "Interval Too Brief")
                            .header("Min-Expires", self.config.min_expires.to_string()));
                    }
                    plan.push((c, requested.min(self.config.max_expires)));
                }
                let mut current = self.store.bindings_for(&req.aor, now_utc).await?;
                for (c, _) in &plan {
                    // §10.3 step 7: same Call-ID with a CSeq not higher is out of order.
                    if let Some(b) = current.iter().find(|b| b.contact_uri == c.uri) {
                        if b.call_id == req.call_id && req.cseq <= b.cseq {
                            return Ok(
                                Reply::new(500, "Out Of Order Request").header("Retry-After", "1")
                            );
                        }
                    }
                }
                for (c, expires) in plan {
                    let existing = current.iter().position(|b| b.contact_uri == c.uri);
                    if expires == 0 {
                        self.store.remove_binding(&req.aor, &c.uri).await?;
                        if let Some(i) = existing {
                            current.remove(i);
                        }
                        metrics
                            .registrations
                            .get_or_create(&reason("unregistered"))
                            .inc();
                        debug!(aor = %req.aor, contact = %c.uri, "binding removed");
                        self.events.publish(PbxEvent::Unregistered {
                            aor: req.aor.clone(),
                            contact: Some(c.uri.clone()),
                            reason: "phone",
                        });
                        continue;
                    }
                    let expires_at = now_utc + Duration::from_secs(u64::from(expires));
                    let stored = self
                        .store
                        .upsert_binding(&NewBinding {
                            aor: req.aor.clone(),
                            contact_uri: c.uri.clone(),
                            q: c.q_millis.map(|q| f64::from(q) / 1000.0),
                            expires_at,
                            call_id: req.call_id.clone(),
                            cseq: req.cseq,
                            source: req.source.to_string(),
                            transport: req.transport.to_string(),
                            user_agent: req.user_agent.clone(),
                            path: None,
                            instance_id: None,
                        })
                        .await?;
                    let outcome = match existing {
                        Some(i) => {
                            current[i] = stored;
                            "refreshed"
                        }
                        None => {
                            current.push(stored);
                            "registered"
                        }
                    };
                    metrics.registrations.get_or_create(&reason(outcome)).inc();
                    debug!(aor = %req.aor, contact = %c.uri, expires, outcome, "binding stored");
                    self.events.publish(PbxEvent::Registered {
                        aor: req.aor.clone(),
                        contact: c.uri.clone(),
                        source: req.source,
                        expires,
                    });
                }
                current
            }
        };
        // The reply lists every binding of the AOR now (§10.3 step 8).
        let mut reply = Reply::new(200, "OK");
        for b in &current {
            // Rounded up: a binding granted for 120 s reads 120 in the reply, not 119.
            let remaining = ((b.expires_at - now_utc).num_milliseconds().max(0) + 999) / 1000;
            let q = b.q.map(|q| format!(";q={q:.3}")).unwrap_or_default();
            reply = reply.header(
                "Contact",
                format!("<{}>;expires={remaining}{q}", b.contact_uri),
            );
        }
        reply = reply.header("Date", httpdate(now));
        Ok(reply)
    }

    /// Deletes expired bindings; returns how many went.
    pub(crate) async fn sweep(
        &self,
        metrics: &Metrics,
    ) -> Result<u64, warden_storage::StorageError> {
        let now = DateTime::<Utc>::from(SystemTime::now());
        let n = self.store.sweep_expired(now).await?;
        if n > 0 {
            metrics.bindings_swept.inc_by(n);
            debug!(removed = n, "expired bindings swept");
        }
        metrics.set_bindings_active(self.store.count_bindings(now).await?);
        self.auth.sweep();
        Ok(n)
    }
}

fn reason(r: &'static str) -> crate::metrics::ReasonLabels {
    crate::metrics::ReasonLabels { reason: r }
}

/// RFC 7231 IMF-fixdate, as SIP's Date header wants (RFC 3261 §20.17).
fn httpdate(t: SystemTime) -> String {
    let dt = DateTime::<Utc>::from(t);
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Seconds since the Unix epoch (nonces embed it).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
