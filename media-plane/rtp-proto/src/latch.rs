//! Symmetric-RTP latching: learning where a NATed peer really sends from, and refusing
//! to let anyone else take the stream over.
//!
//! Rules (one `Latch` per receiving socket: one for RTP, and a separate one for RTCP
//! when it has its own port; with rtcp-mux the RTP latch covers both):
//!
//! 1. **Unlatched.** The first packet the caller accepted as valid RTP (parsed, or
//!    for an RTCP latch a valid compound, whose sender SSRC is passed) latches its
//!    source address and SSRC: [`LatchDecision::AcceptNewlyLatched`]. Any source may
//!    latch, because the address signalled in SDP is often a private one behind NAT.
//!    With [`LatchConfig::require_expected`] only the signalled address may latch
//!    and everything else (everything, if nothing is signalled) is rejected.
//! 2. **Latched.** Packets from the latched source are accepted whatever their SSRC
//!    (the address is what was verified; a new SSRC becomes the latched one).
//!    Packets from any other source are rejected and counted, so a third party
//!    cannot divert the stream.
//! 3. **Re-latch on silence.** A packet from a new source re-latches when the latched
//!    source has been silent for at least [`LatchConfig::relatch_after_silence_ns`]
//!    *and* the packet carries the latched SSRC: the same phone behind a NAT binding
//!    that changed. Not allowed with `require_expected`.
//! 4. **Re-latch on signalling.** [`Latch::set_expected`] with an address different
//!    from the previously signalled one (a re-INVITE moved the remote) returns to
//!    Unlatched with the new address, unless the stream is already latched to that
//!    very address. Repeating the same address changes nothing, so re-INVITEs that
//!    do not move the media cannot be used to reopen the latch.

/// Latching policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatchConfig {
    /// Silence of the latched source after which a packet with the same SSRC from a
    /// new address may re-latch, in nanoseconds.
    pub relatch_after_silence_ns: u64,
    /// Only the address signalled in SDP may latch (for peers known not to be behind
    /// NAT, such as trunks).
    pub require_expected: bool,
}

impl Default for LatchConfig {
    /// One second of silence, any source may latch first.
    fn default() -> Self {
        Self {
            relatch_after_silence_ns: 1_000_000_000,
            require_expected: false,
        }
    }
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LatchDecision {
    /// From the latched source: process it.
    Accept,
    /// This packet (re-)latched its source: process it and send to this source from
    /// now on.
    AcceptNewlyLatched,
    /// From a foreign source: drop it.
    Reject,
}

/// No source latched yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlatched<A> {
    /// The remote address signalled in SDP, if known.
    pub expected: Option<A>,
}

/// A source is latched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latched<A> {
    /// The latched source address.
    pub source: A,
    /// The SSRC last seen from that source.
    pub ssrc: u32,
    /// Time of the last packet accepted from the source, in nanoseconds.
    pub last_seen_ns: u64,
    /// The remote address signalled in SDP, if known.
    pub expected: Option<A>,
}

/// Latch state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchState<A> {
    /// Waiting for the first packet.
    Unlatched(Unlatched<A>),
    /// Locked onto one source.
    Latched(Latched<A>),
}

impl<A: Copy + Eq> Unlatched<A> {
    fn on_packet(
        self,
        from: A,
        ssrc: u32,
        now_ns: u64,
        cfg: &LatchConfig,
    ) -> (LatchState<A>, LatchDecision) {
        if cfg.require_expected && self.expected != Some(from) {
            return (LatchState::Unlatched(self), LatchDecision::Reject);
        }
        let latched = Latched {
            source: from,
            ssrc,
            last_seen_ns: now_ns,
            expected: self.expected,
        };
        (
            LatchState::Latched(latched),
            LatchDecision::AcceptNewlyLatched,
        )
    }

    fn set_expected(self, expected: A) -> LatchState<A> {
        LatchState::Unlatched(Unlatched {
            expected: Some(expected),
        })
    }
}

impl<A: Copy + Eq> Latched<A> {
    fn on_packet(
        mut self,
        from: A,
        ssrc: u32,
        now_ns: u64,
        cfg: &LatchConfig,
    ) -> (LatchState<A>, LatchDecision) {
        if from == self.source {
            self.ssrc = ssrc;
            self.last_seen_ns = self.last_seen_ns.max(now_ns);
            return (LatchState::Latched(self), LatchDecision::Accept);
        }
        let silent = now_ns.saturating_sub(self.last_seen_ns) >= cfg.relatch_after_silence_ns;
        if silent && ssrc == self.ssrc && !cfg.require_expected {
            let moved = Latched {
                source: from,
                last_seen_ns: now_ns,
                ..self
            };
            return (
                LatchState::Latched(moved),
                LatchDecision::AcceptNewlyLatched,
            );
        }
        (LatchState::Latched(self), LatchDecision::Reject)
    }

    fn set_expected(self, expected: A) -> LatchState<A> {
        if self.expected == Some(expected) || self.source == expected {
            return LatchState::Latched(Latched {
                expected: Some(expected),
                ..self
            });
        }
        LatchState::Unlatched(Unlatched {
            expected: Some(expected),
        })
    }
}

/// A symmetric-RTP latch for one receiving socket; `A` is the address type
/// (typically `SocketAddr`). See the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct Latch<A> {
    state: LatchState<A>,
    config: LatchConfig,
    rejected: u64,
    latches: u64,
}

impl<A: Copy + Eq> Latch<A> {
    /// Creates an unlatched latch, optionally knowing the address signalled in SDP.
    #[must_use]
    pub fn new(expected: Option<A>, config: LatchConfig) -> Self {
        Self {
            state: LatchState::Unlatched(Unlatched { expected }),
            config,
            rejected: 0,
            latches: 0,
        }
    }

    /// Decides on a packet from `from` carrying `ssrc`, received at `now_ns`.
    #[inline]
    pub fn on_packet(&mut self, from: A, ssrc: u32, now_ns: u64) -> LatchDecision {
        // Steady state: a packet from the latched source stays in the same state, so it
        // is updated in place instead of rebuilding the state value.
        if let LatchState::Latched(s) = &mut self.state {
            if s.source == from {
                s.ssrc = ssrc;
                s.last_seen_ns = s.last_seen_ns.max(now_ns);
                return LatchDecision::Accept;
            }
        }
        let (next, decision) = match self.state {
            LatchState::Unlatched(s) => s.on_packet(from, ssrc, now_ns, &self.config),
            LatchState::Latched(s) => s.on_packet(from, ssrc, now_ns, &self.config),
        };
        self.state = next;
        match decision {
            LatchDecision::Reject => self.rejected += 1,
            LatchDecision::AcceptNewlyLatched => self.latches += 1,
            LatchDecision::Accept => {}
        }
        decision
    }

    /// Records the remote address from a new SDP offer/answer (see rule 4).
    pub fn set_expected(&mut self, expected: A) {
        self.state = match self.state {
            LatchState::Unlatched(s) => s.set_expected(expected),
            LatchState::Latched(s) => s.set_expected(expected),
        };
    }

    /// Forgets the latched source, keeping the signalled address.
    pub fn reset(&mut self) {
        let expected = match self.state {
            LatchState::Unlatched(s) => s.expected,
            LatchState::Latched(s) => s.expected,
        };
        self.state = LatchState::Unlatched(Unlatched { expected });
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &LatchState<A> {
        &self.state
    }

    /// Where to send media to this peer: the latched source, else the signalled
    /// address.
    #[must_use]
    pub fn destination(&self) -> Option<A> {
        match self.state {
            LatchState::Unlatched(s) => s.expected,
            LatchState::Latched(s) => Some(s.source),
        }
    }

    /// The latched source, if one is latched.
    #[must_use]
    pub fn latched_source(&self) -> Option<A> {
        match self.state {
            LatchState::Unlatched(_) => None,
            LatchState::Latched(s) => Some(s.source),
        }
    }

    /// Packets rejected so far.
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Times a source was latched (first latch included).
    #[must_use]
    pub fn latches(&self) -> u64 {
        self.latches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LatchDecision::*;

    const SEC: u64 = 1_000_000_000;
    const SDP: u32 = 10;
    const NAT: u32 = 20;
    const EVIL: u32 = 30;

    fn latch() -> Latch<u32> {
        Latch::new(Some(SDP), LatchConfig::default())
    }

    #[test]
    fn first_packet_latches_any_source() {
        let mut l = latch();
        assert_eq!(l.destination(), Some(SDP));
        assert_eq!(l.on_packet(NAT, 0xAA, 0), AcceptNewlyLatched);
        assert_eq!(l.destination(), Some(NAT));
        assert_eq!(l.on_packet(NAT, 0xAA, 20), Accept);
        assert!(matches!(
            l.state(),
            LatchState::Latched(Latched {
                source: NAT,
                ssrc: 0xAA,
                last_seen_ns: 20,
                ..
            })
        ));
    }

    #[test]
    fn foreign_sources_cannot_hijack() {
        let mut l = latch();
        l.on_packet(NAT, 0xAA, 0);
        assert_eq!(l.on_packet(EVIL, 0xBB, 10), Reject);
        // Even with the right SSRC while the real source is active.
        assert_eq!(l.on_packet(EVIL, 0xAA, SEC / 2), Reject);
        assert_eq!(l.on_packet(NAT, 0xAA, SEC), Accept);
        // Silent long enough but the wrong SSRC.
        assert_eq!(l.on_packet(EVIL, 0xBB, 3 * SEC), Reject);
        // The SDP address is not privileged once latched.
        assert_eq!(l.on_packet(SDP, 0xBB, 3 * SEC), Reject);
        assert_eq!(l.rejected(), 4);
        assert_eq!(l.destination(), Some(NAT));
    }

    #[test]
    fn relatch_after_silence_with_same_ssrc() {
        let mut l = latch();
        l.on_packet(NAT, 0xAA, 0);
        let new_binding = 21;
        // Silence boundary: just short of one second is rejected, one second accepted.
        assert_eq!(l.on_packet(new_binding, 0xAA, SEC - 1), Reject);
        assert_eq!(l.on_packet(new_binding, 0xAA, SEC), AcceptNewlyLatched);
        assert_eq!(l.destination(), Some(new_binding));
        // The old binding is now foreign.
        assert_eq!(l.on_packet(NAT, 0xAA, SEC + 20), Reject);
        assert_eq!(l.latches(), 2);
    }

    #[test]
    fn ssrc_change_from_latched_source_is_followed() {
        let mut l = latch();
        l.on_packet(NAT, 0xAA, 0);
        assert_eq!(l.on_packet(NAT, 0xCC, 20), Accept);
        // Re-latch on silence now needs the new SSRC.
        assert_eq!(l.on_packet(22, 0xAA, 5 * SEC), Reject);
        assert_eq!(l.on_packet(22, 0xCC, 5 * SEC), AcceptNewlyLatched);
    }

    #[test]
    fn reinvite_with_new_address_unlatches() {
        let mut l = latch();
        l.on_packet(NAT, 0xAA, 0);
        // Same SDP again: nothing changes.
        l.set_expected(SDP);
        assert_eq!(l.on_packet(EVIL, 0xBB, 1), Reject);
        // Re-INVITE to the address already latched: stays latched.
        l.set_expected(NAT);
        assert_eq!(l.on_packet(NAT, 0xAA, 2), Accept);
        assert_eq!(l.on_packet(EVIL, 0xBB, 3), Reject);
        // Media moved: unlatch, next packet latches.
        l.set_expected(40);
        assert_eq!(l.destination(), Some(40));
        assert_eq!(l.on_packet(41, 0xDD, 4), AcceptNewlyLatched);
        assert_eq!(l.on_packet(NAT, 0xAA, 5), Reject);
    }

    #[test]
    fn strict_mode_only_latches_expected() {
        let cfg = LatchConfig {
            require_expected: true,
            ..LatchConfig::default()
        };
        let mut none: Latch<u32> = Latch::new(None, cfg);
        assert_eq!(none.on_packet(NAT, 1, 0), Reject);
        let mut l = Latch::new(Some(SDP), cfg);
        assert_eq!(l.on_packet(NAT, 1, 0), Reject);
        assert_eq!(l.on_packet(SDP, 1, 0), AcceptNewlyLatched);
        // No silence re-latch in strict mode.
        assert_eq!(l.on_packet(NAT, 1, 10 * SEC), Reject);
        l.reset();
        assert_eq!(l.destination(), Some(SDP));
        assert_eq!(l.on_packet(SDP, 2, 11 * SEC), AcceptNewlyLatched);
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let mut l = latch();
        l.on_packet(NAT, 0xAA, 5 * SEC);
        assert_eq!(l.on_packet(NAT, 0xAA, SEC), Accept);
        // last_seen stays at the latest time; a backwards `now` never counts as silence.
        assert_eq!(l.on_packet(21, 0xAA, 2 * SEC), Reject);
    }
}
