//! [`Forwarder`]: the flow map, the program that reads it, and its attachments.

use std::os::fd::OwnedFd;

use crate::error::KfwdError;
use crate::rule::{FlowKey, FlowState, Rule, KEY_SIZE, VALUE_SIZE};
use crate::{program, sys};

/// The in-kernel forwarder of one process. Rules may be changed from any thread; the
/// program detaches when the forwarder is dropped (or the process ends).
#[derive(Debug)]
pub struct Forwarder {
    map: OwnedFd,
    prog: OwnedFd,
    /// TCX links, one per interface: (interface, link).
    links: Vec<(String, OwnedFd)>,
}

impl Forwarder {
    /// Creates the flow map (`capacity` rules) and loads the program, attached nowhere.
    pub fn load(capacity: u32) -> Result<Self, KfwdError> {
        let map = sys::create_hash_map(
            "warden_flows",
            KEY_SIZE as u32,
            VALUE_SIZE as u32,
            capacity.max(1),
        )
        .map_err(KfwdError::Map)?;
        let insns = program::build(std::os::fd::AsRawFd::as_raw_fd(&map))?;
        let prog = sys::load_sched_cls("warden_rtp", &insns)
            .map_err(|(error, log)| KfwdError::Load { error, log })?;
        Ok(Self {
            map,
            prog,
            links: Vec::new(),
        })
    }

    /// Attaches the program to the ingress of the named interfaces, or of every
    /// interface when `names` is empty.
    pub fn attach(&mut self, names: &[String]) -> Result<(), KfwdError> {
        let all = sys::interfaces();
        let chosen: Vec<(u32, String)> = if names.is_empty() {
            all
        } else {
            names
                .iter()
                .map(|n| {
                    all.iter()
                        .find(|(_, name)| name == n)
                        .cloned()
                        .ok_or_else(|| KfwdError::NoInterface(n.clone()))
                })
                .collect::<Result<_, _>>()?
        };
        for (index, name) in chosen {
            let link =
                sys::attach_tcx_ingress(&self.prog, index).map_err(|error| KfwdError::Attach {
                    interface: name.clone(),
                    error,
                })?;
            self.links.push((name, link));
        }
        Ok(())
    }

    /// The interfaces the program is attached to.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|(n, _)| n.as_str())
    }

    /// Installs (or replaces) the rule for `key`.
    pub fn insert(&self, key: FlowKey, rule: &Rule) -> Result<(), KfwdError> {
        sys::map_update(&self.map, &key.to_bytes(), &rule.to_bytes()).map_err(KfwdError::Rule)
    }

    /// What the rule for `key` has counted so far, leaving it in place.
    pub fn peek(&self, key: FlowKey) -> Result<Option<FlowState>, KfwdError> {
        let mut value = [0u8; VALUE_SIZE];
        let found =
            sys::map_lookup(&self.map, &key.to_bytes(), &mut value).map_err(KfwdError::Rule)?;
        Ok(found.then(|| FlowState::from_bytes(&value)))
    }

    /// Removes the rule for `key` and returns what it counted, in one step: no packet
    /// is counted after the returned state.
    pub fn remove(&self, key: FlowKey) -> Result<Option<FlowState>, KfwdError> {
        let mut value = [0u8; VALUE_SIZE];
        let found = sys::map_lookup_and_delete(&self.map, &key.to_bytes(), &mut value)
            .map_err(KfwdError::Rule)?;
        Ok(found.then(|| FlowState::from_bytes(&value)))
    }

    /// Runs the program once on an Ethernet frame, as if it had arrived on the loopback
    /// interface; returns the verdict and the frame as the program left it. For tests.
    #[doc(hidden)]
    pub fn test_run(&self, frame: &[u8]) -> std::io::Result<(Verdict, Vec<u8>)> {
        let (code, out) = sys::test_run(&self.prog, frame)?;
        let verdict = match code {
            0 => Verdict::Deliver,
            7 => Verdict::Redirect,
            -1 => Verdict::NotOurs,
            other => Verdict::Other(other),
        };
        Ok((verdict, out))
    }
}

/// What the program decided about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rewritten and handed to the local stack.
    Deliver,
    /// Rewritten and sent out of another interface.
    Redirect,
    /// Left unchanged for the media core.
    NotOurs,
    /// Anything else (a bug).
    Other(i32),
}
