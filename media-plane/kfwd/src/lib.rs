//! In-kernel RTP forwarding for the media plane.
//!
//! A media core relays the first packets of every direction itself: it latches the
//! sender, learns its SSRC and builds its statistics. Once a direction is plain (same
//! codec, no recording, DTMF detection, transcoding or prompt), the core hands it to the
//! kernel: it writes a [`Rule`] into the flow map, and an eBPF program on the ingress of
//! the host's interfaces rewrites and forwards that direction's RTP without waking the
//! core. Anything the program does not recognise (RTCP, a new SSRC, reordering) still goes
//! to the core, which takes the direction back ([`Forwarder::remove`]) with the program's
//! counters and goes on from there.
//!
//! The program is assembled here from eBPF instructions (no compiler or object file is
//! involved) and attached with TCX links, which need Linux 6.6 and `CAP_BPF` plus
//! `CAP_NET_ADMIN`.

mod error;
mod forwarder;
mod insn;
mod program;
mod route;
mod rule;
mod sys;

pub use error::KfwdError;
pub use forwarder::{Forwarder, Verdict};
pub use insn::AsmError;
pub use route::{Egress, Routes};
pub use rule::{FlowKey, FlowState, Rule, Seed, KEY_SIZE, NO_PT, VALUE_SIZE};
pub use sys::monotonic_ns;
