//! A media core's doorbell: the control side rings it after queueing commands, the core
//! answers it before taking them. Only the first ring after an answer writes the eventfd
//! (a system call, and a wake-up when the core sleeps); the rings after it, until the core
//! answers, know the core is coming anyway.
//!
//! Ordering: both sides swap the flag (read-modify-write, `SeqCst`). A ring that finds the
//! flag set was followed, in the flag's order, by the core's answer, which reads what that
//! ring wrote and so sees every command queued before it. A ring that finds it clear writes
//! the eventfd.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::sys::EventFd;

pub(crate) struct Doorbell {
    fd: EventFd,
    rung: AtomicBool,
}

impl Doorbell {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self {
            fd: EventFd::new()?,
            rung: AtomicBool::new(false),
        })
    }

    /// Control side, after queueing: wakes the core unless a ring is still unanswered.
    pub(crate) fn ring(&self) {
        if !self.rung.swap(true, Ordering::SeqCst) {
            self.fd.signal();
        }
    }

    /// Core side, before taking commands: the next ring writes the eventfd again.
    pub(crate) fn answer(&self) {
        self.rung.swap(false, Ordering::SeqCst);
    }

    /// Core side, when the eventfd woke it: resets the eventfd's counter.
    pub(crate) fn drain(&self) {
        self.fd.drain();
    }

    /// The eventfd the core waits on.
    pub(crate) fn raw(&self) -> std::os::fd::RawFd {
        self.fd.raw()
    }

    /// Whether a ring is unanswered (tests).
    #[cfg(test)]
    fn is_rung(&self) -> bool {
        self.rung.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_the_first_ring_until_an_answer_writes_the_eventfd() {
        let bell = Doorbell::new().unwrap_or_else(|e| panic!("eventfd: {e}"));
        bell.ring();
        bell.ring();
        bell.ring();
        assert!(bell.is_rung());
        assert!(bell.fd.wait(Duration::ZERO), "the first ring woke");
        assert!(!bell.fd.wait(Duration::ZERO), "the others did not write");
        bell.answer();
        assert!(!bell.is_rung());
        bell.ring();
        assert!(
            bell.fd.wait(Duration::ZERO),
            "a ring after the answer wakes again"
        );
    }
}
