//! The database side of placing a call: the caller's credentials and the callee's
//! extension and registered contacts, after the callee's unconditional forwarding, with its
//! busy and no-answer forwarding (applied by the B2BUA while ringing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tracing::{error, info, warn};
use warden_b2bua::{
    AuthRequest, AuthVerdict, CallId, ForwardRules, Location, Party, Reply, Target, VoicemailRule,
};
use warden_storage::{Binding, Extension, Forwarding};

use super::{flows, Calls};
use crate::registrar::{AuthInput, AuthOutcome, Challenger};
use crate::transport::Transport;

/// Longest chain of unconditional forwards followed for one call.
const MAX_FORWARDS: usize = 5;

fn party(ext: &Extension) -> Party {
    Party {
        number: ext.number.clone(),
        display_name: ext.display_name.clone(),
        max_calls: ext.max_concurrent_calls,
    }
}

fn reply(r: crate::registrar::Reply) -> Reply {
    Reply {
        status: r.status,
        reason: r.reason.to_string(),
        headers: r
            .headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    }
}

/// The busy and no-answer rules of a forwarding entry.
fn conditional(f: Forwarding) -> ForwardRules {
    ForwardRules {
        on_busy: f.busy,
        on_no_answer: f
            .no_answer
            .map(|to| (to, Duration::from_secs(u64::from(f.no_answer_secs)))),
        voicemail: None,
    }
}

fn storage_failure() -> AuthVerdict {
    AuthVerdict::Rejected(Reply {
        status: 500,
        reason: "Server Internal Error".into(),
        headers: vec![("Retry-After".into(), "5".into())],
    })
}

impl Calls {
    /// Checks the caller's digest credentials (407 challenges) against its extension.
    pub(super) async fn authenticate(self: Arc<Self>, call: CallId, req: AuthRequest) {
        let verdict = if !self.auth.has_credentials(&req.authorization) {
            // The first INVITE of a call carries no credentials: challenge without a lookup.
            AuthVerdict::Rejected(reply(self.auth.challenge_as(false, Challenger::Proxy)))
        } else {
            match self.directory.extension(&self.store, &req.user).await {
                Err(e) => {
                    error!(error = %e, %call, "caller lookup failed");
                    storage_failure()
                }
                Ok(ext) => {
                    let ext = ext.filter(|e| e.enabled);
                    let input = AuthInput {
                        user: &req.user,
                        request_uri: &req.request_uri,
                        authorization: &req.authorization,
                        source: req.source,
                        method: req.method,
                        challenger: Challenger::Proxy,
                    };
                    let secret = ext.as_ref().map(|e| e.secret.as_str());
                    match (self.auth.check(&input, secret, &self.metrics), ext) {
                        (AuthOutcome::Authenticated, Some(ext)) => {
                            AuthVerdict::Authenticated(party(&ext))
                        }
                        (AuthOutcome::Authenticated, None) => storage_failure(),
                        (AuthOutcome::Reject(r), _) => AuthVerdict::Rejected(reply(r)),
                    }
                }
            }
        };
        self.input(|b, now| {
            let _ = b.on_authenticated(now, call, verdict);
        });
    }

    /// Follows unconditional forwarding from `ext` (up to [`MAX_FORWARDS`] hops, never back
    /// to a number already visited) to the enabled extension the call should ring, with
    /// that extension's busy and no-answer rules. A missing or disabled target, or a lookup
    /// failure, stops the chain where it is.
    async fn forwarded(&self, call: CallId, ext: Extension) -> (Extension, ForwardRules) {
        let mut ext = ext;
        let mut rules = ForwardRules::default();
        let mut visited = vec![ext.number.clone()];
        while visited.len() <= MAX_FORWARDS {
            let target = match self.directory.forwarding(&self.store, &ext.number).await {
                Ok(mut f) => {
                    let always = f.always.take();
                    rules = conditional(f);
                    always
                }
                Err(e) => {
                    error!(error = %e, %call, "forwarding lookup failed");
                    None
                }
            };
            let Some(target) = target else { break };
            if visited.contains(&target) {
                warn!(%call, from = %ext.number, to = %target, "forwarding loop ignored");
                break;
            }
            match self.directory.extension(&self.store, &target).await {
                Ok(Some(next)) if next.enabled => {
                    info!(%call, from = %ext.number, to = %target, "call forwarded");
                    visited.push(target);
                    ext = next;
                    rules = ForwardRules::default();
                }
                Ok(_) => {
                    warn!(%call, from = %ext.number, to = %target, "forwarding target missing or disabled");
                    break;
                }
                Err(e) => {
                    error!(error = %e, %call, "forwarding target lookup failed");
                    break;
                }
            }
        }
        (ext, rules)
    }

    /// Finds the callee's extension (after forwarding) and the contacts it can be reached at.
    pub(super) async fn locate(self: Arc<Self>, call: CallId, number: String) {
        let found = match self.directory.extension(&self.store, &number).await {
            Ok(Some(ext)) if ext.enabled => Ok(Some(self.forwarded(call, ext).await)),
            other => other.map(|e| e.map(|e| (e, ForwardRules::default()))),
        };
        let found = match found {
            Ok(Some((ext, forward))) if ext.enabled => {
                let forward = self.with_voicemail(call, &ext.number, forward).await;
                Ok(Some((ext, forward)))
            }
            other => other,
        };
        let location = match found {
            Err(e) => {
                error!(error = %e, %call, "callee lookup failed");
                Location::Unknown
            }
            Ok(None) => Location::Unknown,
            Ok(Some((ext, _))) if !ext.enabled => Location::Disabled(party(&ext)),
            Ok(Some((ext, forward))) => match self
                .directory
                .bindings(&self.store, &ext.number, Utc::now())
                .await
            {
                Ok(bindings) => Location::Found {
                    party: party(&ext),
                    targets: bindings.iter().filter_map(|b| self.target(b)).collect(),
                    forward,
                },
                Err(e) => {
                    error!(error = %e, %call, "bindings lookup failed");
                    Location::Found {
                        party: party(&ext),
                        targets: Vec::new(),
                        forward,
                    }
                }
            },
        };
        self.input(|b, now| {
            let _ = b.on_located(now, call, location);
        });
    }

    /// Adds the voicemail box of `number` to its rules: it answers after the no-answer
    /// forwarding delay (`call_forwarding.no_answer_secs`, default 20 s).
    async fn with_voicemail(
        &self,
        call: CallId,
        number: &str,
        rules: ForwardRules,
    ) -> ForwardRules {
        let vm = match self.directory.voicemail_box(&self.store, number).await {
            Ok(b) if b.enabled => b,
            Ok(_) => return rules,
            Err(e) => {
                error!(error = %e, %call, "voicemail box lookup failed");
                return rules;
            }
        };
        let no_answer = match self.directory.forwarding(&self.store, number).await {
            Ok(f) => f.no_answer_secs,
            Err(_) => warden_storage::DEFAULT_NO_ANSWER_SECS,
        };
        ForwardRules {
            voicemail: Some(VoicemailRule {
                no_answer: Duration::from_secs(u64::from(no_answer)),
                max_message: Duration::from_secs(u64::from(vm.max_message_secs)),
            }),
            ..rules
        }
    }

    /// A registered contact as a call target: reached at the address and over the
    /// transport its REGISTER came from.
    fn target(&self, binding: &Binding) -> Option<Target> {
        let Ok(peer) = binding.source.parse::<SocketAddr>() else {
            warn!(aor = %binding.aor, source = %binding.source, "binding with an unusable source");
            return None;
        };
        let transport = if binding.transport.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let flow = self.flows.route(peer, transport)?;
        Some(Target {
            uri: binding.contact_uri.clone(),
            flow: flows::to_b2b(flow),
        })
    }
}
