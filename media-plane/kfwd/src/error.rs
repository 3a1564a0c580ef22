//! Errors of the in-kernel forwarder.

use std::io;

/// Why the forwarder could not start or could not change a rule.
#[derive(Debug, thiserror::Error)]
pub enum KfwdError {
    /// The flow map could not be created (no `CAP_BPF`, or no memory for it).
    #[error("creating the flow map failed: {0}")]
    Map(#[source] io::Error),
    /// The program could not be assembled (a bug in this crate).
    #[error("assembling the forwarding program failed: {0}")]
    Assemble(#[from] crate::insn::AsmError),
    /// The kernel's verifier rejected the program; the log says why.
    #[error("the kernel refused the forwarding program: {error}\n{log}")]
    Load {
        #[source]
        error: io::Error,
        log: String,
    },
    /// A named interface does not exist.
    #[error("no network interface named {0:?}")]
    NoInterface(String),
    /// The program could not be attached to an interface (TCX needs Linux 6.6).
    #[error("attaching to interface {interface:?} failed: {error}")]
    Attach {
        interface: String,
        #[source]
        error: io::Error,
    },
    /// A map operation failed (the map is full, or the map is gone).
    #[error("flow map operation failed: {0}")]
    Rule(#[source] io::Error),
}
